//! What one step of a probe recorded, as plain values: its outcome, each address it tried, what
//! a proxy answered. The recorder (`outcome.rs`) collects them and the verdict (`verdict/`)
//! reads them.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::detail::Detail;
use crate::checklist::{Reason, Stage};

/// The result of one step.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StageOutcome {
    pub(crate) stage: Stage,
    /// The port for TCP, proxy, TLS and HTTP stages.
    pub(crate) port: Option<u16>,
    pub(crate) reason: Reason,
    #[serde(serialize_with = "as_seconds")]
    pub(crate) duration: Duration,
    /// What happened, as typed facts (never carries a secret); written out in words.
    pub(crate) detail: Detail,
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

pub(super) fn as_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// One address of the name tried at one step: a TCP connect or a TLS handshake on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Attempt {
    pub(crate) stage: Stage,
    pub(crate) port: u16,
    pub(crate) address: IpAddr,
    pub(crate) reason: Reason,
}

/// What the proxy answered to CONNECT.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct ProxyFacts {
    /// The status of its last answer, when it answered.
    pub(crate) status: Option<u16>,
    /// The authentication schemes its challenge offered (`Digest`, `NTLM`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) schemes: Vec<String>,
}
