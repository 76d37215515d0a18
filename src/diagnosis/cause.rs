//! Why a target or row fails: the step, the reason, the detail, and the remedy written for this
//! host, port, resolver and issuer.

use std::borrow::Cow;

use serde::Serialize;

use super::remedy::{RemedyFacts, remedy};
use crate::checklist::{Reason, Stage};
use crate::probe::{StageOutcome, TargetOutcome, stage_label};

/// Why a target or row fails: where, the reason, the remedy for this host and port.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Cause {
    pub(crate) target: String,
    #[serde(skip)]
    pub(crate) host: String,
    pub(crate) stage: Stage,
    pub(crate) port: Option<u16>,
    pub(crate) reason: Reason,
    pub(crate) remedy: Cow<'static, str>,
    pub(crate) detail: String,
}

impl Cause {
    pub(crate) fn of(outcome: &TargetOutcome, stage: &StageOutcome) -> Cause {
        let facts = RemedyFacts {
            host: &outcome.target.host,
            port: stage.port,
            dns_server: outcome.dns.as_ref().and_then(|d| d.server.as_deref()),
            issuer: outcome.tls.as_ref().map(|t| t.issuer.as_str()),
        };
        Cause {
            target: outcome.target.name.clone(),
            host: outcome.target.host.clone(),
            remedy: remedy(stage.reason, facts),
            stage: stage.stage,
            port: stage.port,
            reason: stage.reason,
            detail: stage.detail.clone(),
        }
    }

    /// `tcp/8989`.
    pub(crate) fn step(&self) -> String {
        stage_label(self.stage, self.port)
    }
}
