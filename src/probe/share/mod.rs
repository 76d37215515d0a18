//! Shares probe work between scrapes: a scrape that arrives while a target's probe is in flight
//! joins it (moving its deadline out when its own budget is longer), a result younger than the
//! target's `min_interval` is served again, and at most `max_concurrent_probes` run at once. So
//! an HA pair of Prometheus servers does not double the traffic to the Cisco cloud.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{BoxFuture, FutureExt, Shared};
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout, timeout_at};

use super::Clients;
use super::history::History;
use super::outcome::{Recorder, TargetOutcome};
use super::plan::Checklist;
use super::run::{Deadline, execute};
use super::step::Stages;
use super::tracer::Tracer;
use crate::config::{Config, Target};

/// How long a scrape waits past its deadline for a probe that ends at that same deadline: the
/// probe records and returns within microseconds of it.
const HAND_OVER_GRACE: Duration = Duration::from_millis(100);

/// Hears of every probe run: when it starts, and its outcome once.
pub(crate) trait OutcomeSink: Send + Sync {
    /// A probe run got its slot and starts.
    fn started(&self) {}
    /// A probe run finished (or was cut short by its deadline); `ran` says whether it had
    /// started (`started` was called) or never got a slot.
    fn record(&self, outcome: &TargetOutcome, ran: bool);
}

impl<T: OutcomeSink + ?Sized> OutcomeSink for Arc<T> {
    fn started(&self) {
        T::started(self);
    }

    fn record(&self, outcome: &TargetOutcome, ran: bool) {
        T::record(self, outcome, ran);
    }
}

/// How a scrape got its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Freshness {
    /// This scrape started the probe.
    Fresh,
    /// This scrape joined a probe already in flight.
    Joined,
    /// A result younger than `min_interval` was served again.
    Reused,
}

impl Freshness {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Freshness::Fresh => "fresh",
            Freshness::Joined => "joined",
            Freshness::Reused => "reused",
        }
    }
}

/// Probes the targets of one configuration.
pub(crate) struct Prober {
    config: Arc<Config>,
    clients: Arc<Clients>,
    slots: HashMap<String, Arc<Mutex<Slot>>>,
    limiter: Arc<Semaphore>,
    sink: Arc<dyn OutcomeSink>,
    tracer: Arc<Tracer>,
    history: Arc<History>,
    stages: Arc<dyn Stages>,
}

#[derive(Default)]
struct Slot {
    last: Option<(Instant, Arc<TargetOutcome>)>,
    inflight: Option<Inflight>,
}

#[derive(Clone)]
struct Inflight {
    result: Shared<BoxFuture<'static, Arc<TargetOutcome>>>,
    recorder: Arc<Recorder>,
    deadline: Arc<Deadline>,
}

impl Prober {
    pub(crate) fn new(
        config: Arc<Config>,
        clients: Arc<Clients>,
        sink: Arc<dyn OutcomeSink>,
    ) -> Self {
        Prober::with_stages(config, clients, sink, Arc::new(Checklist))
    }

    /// A prober whose steps run `stages` (the checklist's own, or stand-ins in tests).
    pub(crate) fn with_stages(
        config: Arc<Config>,
        clients: Arc<Clients>,
        sink: Arc<dyn OutcomeSink>,
        stages: Arc<dyn Stages>,
    ) -> Self {
        let slots = config
            .targets
            .iter()
            .map(|t| (t.name.clone(), Arc::new(Mutex::new(Slot::default()))))
            .collect();
        let limiter = Arc::new(Semaphore::new(config.max_concurrent_probes));
        let tracer = Arc::new(Tracer::new(config.path_trace));
        Prober {
            config,
            clients,
            slots,
            limiter,
            sink,
            tracer,
            history: Arc::new(History::default()),
            stages,
        }
    }

    /// This prober keeping each target's last success in `history` (a reload hands the running
    /// one over, so a failure after it still says what changed).
    #[must_use]
    pub(crate) fn keeping(mut self, history: Arc<History>) -> Self {
        self.history = history;
        self
    }

    /// Each target's last success.
    pub(crate) fn history(&self) -> &Arc<History> {
        &self.history
    }

    pub(crate) fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Where the path traces after failures are kept.
    pub(crate) fn tracer(&self) -> &Arc<Tracer> {
        &self.tracer
    }

    /// Probes every target; results come back in configuration order.
    pub(crate) async fn probe_all(
        &self,
        deadline: Instant,
    ) -> Vec<(Arc<TargetOutcome>, Freshness)> {
        self.probe_many(&self.config.targets, deadline).await
    }

    /// Probes `targets` concurrently, at most `max_concurrent_probes` at a time, so a scrape of
    /// thousands of targets holds that many probes in memory rather than all of them; results
    /// come back in the order given.
    pub(crate) async fn probe_many(
        &self,
        targets: &[Arc<Target>],
        deadline: Instant,
    ) -> Vec<(Arc<TargetOutcome>, Freshness)> {
        use futures_util::StreamExt;
        futures_util::stream::iter(targets.iter().cloned())
            .map(|t| async move { self.probe(&t, deadline).await })
            .buffered(self.config.max_concurrent_probes)
            .collect()
            .await
    }

    /// Probes one target, sharing a run in flight or a fresh-enough result. Never returns after
    /// `deadline` (give or take scheduling).
    pub(crate) async fn probe(
        &self,
        target: &Arc<Target>,
        deadline: Instant,
    ) -> (Arc<TargetOutcome>, Freshness) {
        let Some(slot) = self.slots.get(&target.name) else {
            // Not a target of this configuration: nothing is probed.
            let recorder = Recorder::new(target.clone());
            return (Arc::new(recorder.snapshot()), Freshness::Fresh);
        };
        let (run, freshness) = {
            let mut state = slot
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((finished, outcome)) = &state.last
                && finished.elapsed() < target.min_interval
            {
                return (outcome.clone(), Freshness::Reused);
            }
            match &state.inflight {
                Some(run) => {
                    run.deadline.extend(deadline);
                    (run.clone(), Freshness::Joined)
                }
                None => {
                    let run = self.spawn(target.clone(), slot.clone(), deadline);
                    state.inflight = Some(run.clone());
                    (run, Freshness::Fresh)
                }
            }
        };
        let outcome = match timeout_at(deadline, run.result.clone()).await {
            Ok(outcome) => outcome,
            // The run ends at this same deadline: take its result, which follows at once.
            Err(_) if run.deadline.at() <= deadline => {
                match timeout(HAND_OVER_GRACE, run.result.clone()).await {
                    Ok(outcome) => outcome,
                    Err(_) => Arc::new(run.recorder.snapshot()),
                }
            }
            // Joined a run with a later deadline than ours: report what it has measured so far.
            Err(_) => Arc::new(run.recorder.snapshot()),
        };
        (outcome, freshness)
    }

    fn spawn(&self, target: Arc<Target>, slot: Arc<Mutex<Slot>>, deadline: Instant) -> Inflight {
        let clients = self.clients.clone();
        let limiter = self.limiter.clone();
        let sink = self.sink.clone();
        let tracer = self.tracer.clone();
        let history = self.history.clone();
        let stages = self.stages.clone();
        let recorder = Arc::new(Recorder::new(target));
        let deadline = Arc::new(Deadline::new(deadline));
        let (task_recorder, task_deadline) = (recorder.clone(), deadline.clone());
        let handle = tokio::spawn(async move {
            let permit = tokio::select! {
                biased;
                permit = limiter.acquire_owned() => permit.ok(),
                () = task_deadline.passed() => None,
            };
            // A slot that frees at the deadline is no time to start in.
            let permit = permit.filter(|_| Instant::now() < task_deadline.at());
            let ran = permit.is_some();
            if let Some(_permit) = permit {
                sink.started();
                execute(&task_recorder, &clients, stages.as_ref(), &task_deadline).await;
            }
            let outcome = Arc::new(task_recorder.snapshot());
            sink.record(&outcome, ran);
            history.after(&outcome);
            // Traced in the background: the next scrape shows where the path breaks.
            tracer.after(&outcome);
            {
                let mut state = slot
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                state.inflight = None;
                state.last = Some((Instant::now(), outcome.clone()));
            }
            forget_after(slot, &outcome);
            outcome
        });
        let fallback = recorder.clone();
        let result = async move {
            match handle.await {
                Ok(outcome) => outcome,
                // The task panicked or was cancelled: report what was measured.
                Err(_) => Arc::new(fallback.snapshot()),
            }
        }
        .boxed()
        .shared();
        Inflight {
            result,
            recorder,
            deadline,
        }
    }
}

/// A result older than its target's `min_interval` is never served again: let it go then, so what
/// a target keeps between scrapes is its histograms and counters, not its last outcome. (Only a
/// weak reference waits, so the outcome lives no longer than the scrapes that hold it.)
fn forget_after(slot: Arc<Mutex<Slot>>, outcome: &Arc<TargetOutcome>) {
    let kept = Arc::downgrade(outcome);
    let min_interval = outcome.target.min_interval;
    tokio::spawn(async move {
        tokio::time::sleep(min_interval).await;
        let mut state = slot
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state
            .last
            .as_ref()
            .is_some_and(|(_, o)| std::ptr::eq(Arc::as_ptr(o), kept.as_ptr()))
        {
            state.last = None;
        }
    });
}

#[cfg(test)]
mod tests;
