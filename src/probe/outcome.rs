//! What a probe found, as plain values, and the recorder that builds it step by step. A snapshot of
//! the recorder is the outcome, whether the probe completed or a deadline cut it short.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio::time::Instant;

use super::dns::DnsFacts;
use super::http::HttpFacts;
use super::plan::{Step, plan};
use super::tls::TlsFacts;
use crate::checklist::{Reason, Stage};
use crate::config::Target;

/// The result of one step.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StageOutcome {
    pub(crate) stage: Stage,
    /// The port for TCP, proxy, TLS and HTTP stages.
    pub(crate) port: Option<u16>,
    pub(crate) reason: Reason,
    #[serde(serialize_with = "as_seconds")]
    pub(crate) duration: Duration,
    /// What happened, for a person (never carries a secret).
    pub(crate) detail: String,
}

impl StageOutcome {
    pub(crate) fn success(&self) -> bool {
        self.reason == Reason::Ok
    }

    /// Whether the stage ran and took time of its own (its duration means something).
    pub(crate) fn ran(&self) -> bool {
        self.stage != Stage::Clock
            && !matches!(self.reason, Reason::Skipped | Reason::BudgetExhausted)
    }
}

fn as_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

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
    pub(crate) dns: Option<DnsFacts>,
    pub(crate) tls: Option<TlsFacts>,
    pub(crate) http: Option<HttpFacts>,
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

struct Progress {
    slots: Vec<Slot>,
    dns: Option<DnsFacts>,
    tls: Option<TlsFacts>,
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
                dns: None,
                tls: None,
                http: None,
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
    pub(crate) fn finish(&self, i: usize, reason: Reason, detail: String) {
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

    pub(crate) fn set_dns(&self, facts: DnsFacts) {
        self.lock().dns = Some(facts);
    }

    pub(crate) fn set_tls(&self, facts: TlsFacts) {
        self.lock().tls = Some(facts);
    }

    pub(crate) fn set_http(&self, facts: HttpFacts) {
        self.lock().http = Some(facts);
    }

    /// The outcome as of now: running steps count as timed out, steps not begun as out of budget.
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
                    detail: "still running when the scrape's deadline passed".into(),
                },
                Slot::Waiting => StageOutcome {
                    stage: step.stage,
                    port: step.port,
                    reason: Reason::BudgetExhausted,
                    duration: Duration::ZERO,
                    detail: "not started before the scrape's deadline".into(),
                },
            })
            .collect();
        TargetOutcome {
            target: self.target.clone(),
            started_at: self.started_at,
            duration: now.saturating_duration_since(self.started),
            stages,
            dns: progress.dns.clone(),
            tls: progress.tls.clone(),
            http: progress.http.clone(),
        }
    }
}
