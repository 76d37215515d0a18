//! The executor: walks a target's plan against the scrape's deadline. A step starts when the step
//! it needs has succeeded and takes that step's result (an address, a connection, a response);
//! when a step fails, everything that needs it is skipped. Every step is recorded through the one
//! [`Recorder`], and every failure that coincides with a deadline is that deadline's timeout.

use std::sync::Mutex;

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::Clients;
use super::detail::StepDetail;
use super::outcome::Recorder;
use super::plan::Step;
use super::step::{Carry, Input, Stages};
use crate::checklist::Reason;

/// A deadline that later scrapes may move further out (never nearer): a scrape with a longer
/// budget that joins a probe in flight lets it run to its own deadline.
pub(crate) struct Deadline {
    at: Mutex<Instant>,
    moved: Notify,
}

impl Deadline {
    pub(crate) fn new(at: Instant) -> Self {
        Deadline {
            at: Mutex::new(at),
            moved: Notify::new(),
        }
    }

    pub(crate) fn at(&self) -> Instant {
        *self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves the deadline to `to` when that is later.
    pub(crate) fn extend(&self, to: Instant) {
        let mut at = self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if to > *at {
            *at = to;
            self.moved.notify_waiters();
        }
    }

    /// Completes once the deadline, as it stands then, has passed.
    pub(crate) async fn passed(&self) {
        loop {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            let at = self.at();
            if Instant::now() >= at {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                () = moved => {}
            }
        }
    }
}

/// Runs `recorder`'s plan before `deadline`. Steps still running when it passes are dropped; the
/// recorder reports them as timed out.
pub(crate) async fn execute(
    recorder: &Recorder,
    clients: &Clients,
    stages: &dyn Stages,
    deadline: &Deadline,
) {
    let walk = Walk {
        recorder,
        clients,
        stages,
        deadline,
    };
    tokio::select! {
        biased;
        () = walk.walk() => {}
        () = deadline.passed() => {}
    }
}

/// One walk of a plan: the recorder, the shared clients, the stages that run and the deadline.
struct Walk<'a> {
    recorder: &'a Recorder,
    clients: &'a Clients,
    stages: &'a dyn Stages,
    deadline: &'a Deadline,
}

impl Walk<'_> {
    async fn walk(&self) {
        let steps = self.recorder.steps();
        let mut running: FuturesUnordered<BoxFuture<'_, (usize, Option<Carry>)>> =
            FuturesUnordered::new();
        for (i, step) in steps.iter().enumerate() {
            if step.after.is_none() {
                running.push(Box::pin(self.attempt(i, None)));
            }
        }
        while let Some((i, mut carry)) = running.next().await {
            // A step that ends at the deadline starts nothing: what waits is out of budget.
            if expired(self.deadline.at()) {
                return;
            }
            for (j, _) in steps.iter().enumerate().filter(|(_, s)| s.after == Some(i)) {
                match carry.as_mut().and_then(Carry::hand_over) {
                    Some(input) => running.push(Box::pin(self.attempt(j, Some(input)))),
                    None => skip(j, steps[i], self.recorder),
                }
            }
        }
    }

    /// Runs step `i` with what its dependency handed over, bounded by the stage's own timeout
    /// and by the scrape's deadline, and records what it found as it is.
    async fn attempt(&self, i: usize, carry: Option<Carry>) -> (usize, Option<Carry>) {
        let recorder = self.recorder;
        let step = recorder.steps()[i];
        let target = recorder.target();
        recorder.begin(i);
        let stage_deadline = Instant::now() + target.timeout;
        let input = Input {
            target,
            clients: self.clients,
            port: step.port.unwrap_or(0),
            carry,
            deadline: stage_deadline,
            scrape_deadline: self.deadline.at(),
        };
        let found = self.stages.run(step.stage, input).await;
        recorder.keep(found.facts);
        let (reason, detail) = match found.verdict {
            Ok(detail) => (Reason::Ok, detail),
            // A failure at a deadline is the deadline's doing, whatever a connection task cut by
            // the same deadline reported first (a closed connection, a reset): the stage timed
            // out. Not so for a step that hands something on: it completed (some addresses
            // answered).
            Err(e)
                if e.reason.is_failure()
                    && found.carry.is_none()
                    && expired(stage_deadline.min(self.deadline.at())) =>
            {
                let timeout = step.stage.timeout_reason();
                let detail = if e.reason == timeout {
                    e.detail
                } else {
                    StepDetail::Deadline {
                        stage: step.stage,
                        port: step.port,
                    }
                    .into()
                };
                (timeout, detail)
            }
            Err(e) => (e.reason, e.detail),
        };
        recorder.finish(i, reason, detail);
        (i, found.carry)
    }
}

/// Skips step `i` and every step that needs it, after `failed` handed over nothing.
fn skip(i: usize, failed: Step, recorder: &Recorder) {
    let why = StepDetail::Skipped {
        after: failed.stage,
        port: failed.port,
    };
    recorder.finish(i, Reason::Skipped, why.into());
    for (j, _) in recorder
        .steps()
        .iter()
        .enumerate()
        .filter(|(_, s)| s.after == Some(i))
    {
        skip(j, failed, recorder);
    }
}

fn expired(at: Instant) -> bool {
    Instant::now() >= at
}

#[cfg(test)]
mod tests;
