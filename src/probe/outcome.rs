//! What a probe found, as plain values, and the recorder that builds it step by step. A snapshot of
//! the recorder is the outcome, whether the probe completed or a deadline cut it short.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::time::Instant;

use super::detail::{Detail, StepDetail};
use super::facts::{Attempt, DnsFacts, HttpFacts, ProxyFacts, StageOutcome, TlsFacts, as_seconds};
use super::plan::{Step, plan};
use super::step::Fact;
use super::verdict::{Facts, Verdict, decide};
use crate::checklist::{Reason, Stage};
use crate::config::Target;

/// Everything one probe of one target found: one stage outcome per planned step, and the facts.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TargetOutcome {
    #[serde(skip)]
    pub(crate) target: Arc<Target>,
    /// When the probe started, as Unix seconds.
    #[serde(serialize_with = "as_unix_seconds")]
    pub(crate) started_at: SystemTime,
    #[serde(serialize_with = "as_seconds")]
    pub(crate) duration: Duration,
    pub(crate) stages: Vec<StageOutcome>,
    /// What explains the target when it fails, decided from every fact below.
    pub(crate) verdict: Option<Verdict>,
    pub(crate) dns: Option<DnsFacts>,
    /// Each address tried, per step and port.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) attempts: Vec<Attempt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) proxy: Option<ProxyFacts>,
    pub(crate) tls: Option<TlsFacts>,
    /// The first bytes the peer sent when the TLS handshake failed.
    #[serde(skip)]
    pub(crate) first_bytes: Option<Vec<u8>>,
    pub(crate) http: Option<HttpFacts>,
}

impl TargetOutcome {
    /// The facts the verdict reads.
    pub(crate) fn facts(&self) -> Facts<'_> {
        Facts {
            stages: &self.stages,
            dns: self.dns.as_ref(),
            attempts: &self.attempts,
            proxy: self.proxy.as_ref(),
            first_bytes: self.first_bytes.as_deref(),
            http: self.http.as_ref(),
        }
    }
}

fn as_unix_seconds<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(unix_seconds(*t))
}

/// Seconds since the Unix epoch (0 for a time before it).
pub(crate) fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A probe as it progresses.
pub(crate) struct Recorder {
    target: Arc<Target>,
    steps: Vec<Step>,
    started: Instant,
    started_at: SystemTime,
    progress: Mutex<Progress>,
}

#[derive(Default)]
struct Progress {
    slots: Vec<Slot>,
    dns: Option<DnsFacts>,
    attempts: Vec<Attempt>,
    proxy: Option<ProxyFacts>,
    tls: Option<TlsFacts>,
    first_bytes: Option<Vec<u8>>,
    http: Option<HttpFacts>,
}

enum Slot {
    Waiting,
    Running(Instant),
    Done(StageOutcome),
}

impl Recorder {
    pub(crate) fn new(target: Arc<Target>) -> Self {
        let steps = plan(&target);
        let slots = steps.iter().map(|_| Slot::Waiting).collect();
        Recorder {
            target,
            steps,
            started: Instant::now(),
            started_at: SystemTime::now(),
            progress: Mutex::new(Progress {
                slots,
                ..Progress::default()
            }),
        }
    }

    pub(crate) fn target(&self) -> &Arc<Target> {
        &self.target
    }

    pub(crate) fn steps(&self) -> &[Step] {
        &self.steps
    }

    fn lock(&self) -> MutexGuard<'_, Progress> {
        self.progress
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Step `i` starts now.
    pub(crate) fn begin(&self, i: usize) -> Instant {
        let now = Instant::now();
        self.lock().slots[i] = Slot::Running(now);
        now
    }

    /// Step `i` ended: its reason and detail, timed from `begin` (zero for a step that only
    /// judges facts already gathered, like the clock).
    pub(crate) fn finish(&self, i: usize, reason: Reason, detail: Detail) {
        let step = self.steps[i];
        let mut progress = self.lock();
        let duration = match progress.slots[i] {
            Slot::Running(started) if step.stage != Stage::Clock => started.elapsed(),
            _ => Duration::ZERO,
        };
        progress.slots[i] = Slot::Done(StageOutcome {
            stage: step.stage,
            port: step.port,
            reason,
            duration,
            detail,
        });
    }

    /// Keeps what a step found for the verdict.
    pub(crate) fn keep(&self, facts: Vec<Fact>) {
        let mut progress = self.lock();
        for fact in facts {
            match fact {
                Fact::Dns(facts) => progress.dns = Some(facts),
                Fact::Attempt(attempt) => progress.attempts.push(attempt),
                Fact::Proxy(facts) => progress.proxy = Some(facts),
                Fact::Tls(facts) => progress.tls = Some(facts),
                Fact::FirstBytes(bytes) => progress.first_bytes = Some(bytes),
                Fact::Http(facts) => progress.http = Some(facts),
            }
        }
    }

    /// The outcome as of now: running steps count as timed out, steps not begun as out of budget.
    /// The verdict is decided from every fact recorded, and the step it names carries its reason.
    pub(crate) fn snapshot(&self) -> TargetOutcome {
        let progress = self.lock();
        let now = Instant::now();
        let stages = self
            .steps
            .iter()
            .zip(&progress.slots)
            .map(|(step, slot)| match slot {
                Slot::Done(outcome) => outcome.clone(),
                Slot::Running(started) => StageOutcome {
                    stage: step.stage,
                    port: step.port,
                    reason: step.stage.timeout_reason(),
                    duration: now.saturating_duration_since(*started),
                    detail: StepDetail::StillRunning.into(),
                },
                Slot::Waiting => StageOutcome {
                    stage: step.stage,
                    port: step.port,
                    reason: Reason::BudgetExhausted,
                    duration: Duration::ZERO,
                    detail: StepDetail::NotStarted.into(),
                },
            })
            .collect();
        let mut attempts = progress.attempts.clone();
        // The same order whatever order the resolver gave the addresses in.
        attempts.sort_by_key(|a| (a.stage, a.port, a.address));
        let mut outcome = TargetOutcome {
            target: self.target.clone(),
            started_at: self.started_at,
            duration: now.saturating_duration_since(self.started),
            stages,
            verdict: None,
            dns: progress.dns.clone(),
            attempts,
            proxy: progress.proxy.clone(),
            tls: progress.tls.clone(),
            first_bytes: progress.first_bytes.clone(),
            http: progress.http.clone(),
        };
        outcome.verdict = decide(&outcome.facts());
        if let Some(verdict) = &outcome.verdict
            && let Some(step) = outcome.stages.iter_mut().find(|s| {
                s.stage == verdict.stage && (s.port == verdict.port || s.stage == Stage::Dns)
            })
        {
            step.reason = verdict.reason;
        }
        outcome
    }
}
