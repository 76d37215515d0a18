//! Why a target or row fails: the step, the reason, the detail, and the remedy written for this
//! host, port, resolver and issuer.

use std::borrow::Cow;

use serde::Serialize;

use super::account::account;
use super::addresses;
use super::remedy::{RemedyFacts, remedy};
use std::fmt::Write as _;

use super::evidence::evidence;
use super::marks::mark_words;
use crate::checklist::{Owner, Reason, Stage};
use crate::probe::{Evidence, TargetOutcome, Tracer, Verdict, stage_label, traceable};

/// Why a target or row fails: where, the reason, the remedy for this host and port.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Cause {
    pub(crate) target: String,
    #[serde(skip)]
    pub(crate) host: String,
    pub(crate) stage: Stage,
    pub(crate) port: Option<u16>,
    pub(crate) reason: Reason,
    /// The team that owns the fix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) owner: Option<Owner>,
    pub(crate) remedy: Cow<'static, str>,
    pub(crate) detail: String,
    /// The one fact the failure rests on, in words that stay the same between scrapes.
    pub(crate) evidence: String,
}

impl Cause {
    /// The cause `verdict` gives `outcome`, with the latest path trace of its port (`tracer`).
    pub(crate) fn of(outcome: &TargetOutcome, verdict: &Verdict, tracer: &Tracer) -> Cause {
        let trace = verdict
            .port
            .filter(|_| traceable(verdict.stage, verdict.reason))
            .and_then(|port| tracer.latest(&outcome.target.name, port));
        let facts = RemedyFacts {
            host: &outcome.target.host,
            port: verdict.port,
            dns_server: outcome.dns.as_ref().and_then(|d| d.server.as_deref()),
            issuer: outcome.tls.as_ref().map(|t| t.issuer.as_str()),
            proxy: outcome.target.proxy.as_ref(),
            service: outcome.target.service,
        };
        Cause {
            target: outcome.target.name.clone(),
            host: outcome.target.host.clone(),
            remedy: remedy(verdict.reason, facts),
            stage: verdict.stage,
            port: verdict.port,
            reason: verdict.reason,
            owner: verdict.reason.owner(),
            detail: detail(outcome, verdict),
            evidence: evidence(outcome, verdict, trace.as_deref()),
        }
    }

    /// `tcp/8989`; `dns` for a DNS verdict (its port is the connection the answer explains).
    pub(crate) fn step(&self) -> String {
        match self.stage {
            Stage::Dns => self.stage.to_string(),
            _ => stage_label(self.stage, self.port),
        }
    }
}

/// What the verdict rests on, in words: the failing stage's own account, or the evidence a rule
/// drew from the facts of several stages.
pub(crate) fn detail(outcome: &TargetOutcome, verdict: &Verdict) -> String {
    let own = || {
        outcome
            .stages
            .iter()
            .find(|s| s.stage == verdict.stage && s.port == verdict.port)
            .map(|s| account(&s.detail))
            .unwrap_or_default()
    };
    let host = &outcome.target.host;
    match &verdict.evidence {
        Evidence::Stage => own(),
        Evidence::Answer { server, then } => {
            let from = server
                .as_deref()
                .map_or_else(String::new, |s| format!(" from {s}"));
            let answer = addresses(&verdict.addresses);
            match then {
                None => format!(
                    "{host}: the answer{from} is {answer}, a sinkhole: the name is blocked on purpose, so no connection was tried"
                ),
                Some(failed) => {
                    let how = match failed {
                        Reason::TcpRefused => "refused",
                        Reason::TcpTimeout => "unanswered",
                        _ => "unreachable",
                    };
                    let port = verdict
                        .port
                        .map_or_else(String::new, |p| format!(" on port {p}"));
                    format!(
                        "{host}: the answer{from} is {answer}, a loopback address of this host, where connections{port} are {how}: a sinkhole or a hosts-file entry, not a firewall"
                    )
                }
            }
        }
        Evidence::Schemes { offered } => {
            let proxy = outcome
                .target
                .proxy
                .as_ref()
                .map_or_else(String::new, |p| format!(" {p}"));
            format!(
                "the proxy{proxy} offers only {} authentication, which a Firepower device cannot answer (it answers Basic and Digest)",
                offered.join(" and ")
            )
        }
        Evidence::StatusLine { line } => {
            let port = verdict.port.unwrap_or(443);
            match &outcome.target.proxy {
                Some(proxy) => format!(
                    "plain HTTP came back through proxy {proxy} where the TLS handshake with {host}:{port} was due: \u{201c}{line}\u{201d} (the proxy or a filter behind it answered, not the Cisco cloud)"
                ),
                None => format!(
                    "plain HTTP answered on {host}:{port} where a TLS handshake was due: \u{201c}{line}\u{201d}"
                ),
            }
        }
        Evidence::Marks { status, marks } => {
            let mut text = format!("{host} answered {status}");
            if !marks.is_empty() {
                let marks: Vec<String> = marks.iter().map(mark_words).collect();
                let _ = write!(text, " with a middlebox's marks: {}", marks.join("; "));
            }
            if let Some(trust) = outcome.tls.as_ref().and_then(|t| t.trusted_via) {
                let _ = write!(text, " ({})", trust_words(trust));
            }
            text
        }
        Evidence::Addresses { failing, working } => {
            let each: Vec<String> = failing
                .iter()
                .map(|(ip, reason)| format!("{ip} ({reason})"))
                .collect();
            format!(
                "{} of {} addresses of {host} fail: {}; the device fails whenever it picks one of them",
                failing.len(),
                failing.len() + working,
                each.join(", ")
            )
        }
    }
}

/// When a verified chain was trusted only through the configured `tls.ca_file` (not the public
/// roots a Firepower device trusts): that, in words, for the page and `check`.
pub(crate) fn configured_ca_only(trust: Option<crate::probe::Trust>) -> Option<&'static str> {
    (trust == Some(crate::probe::Trust::ConfiguredCa)).then_some(
        "trusted only through the configured tls.ca_file, not the public roots the device trusts: the device fails where this passes",
    )
}

/// How a verified chain was trusted, in words.
pub(crate) fn trust_words(trust: crate::probe::Trust) -> &'static str {
    match trust {
        crate::probe::Trust::PublicRoots => "certificate chain trusted through the public roots",
        crate::probe::Trust::ConfiguredCa => {
            "certificate chain trusted only through the configured tls.ca_file, not the public roots the device trusts"
        }
    }
}
