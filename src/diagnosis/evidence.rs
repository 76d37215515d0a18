//! The one fact a failure rests on, in a few words that stay the same from scrape to scrape (no
//! timings, no addresses of a name that rotate): the resolver that did not answer, the proxy and
//! its status, the issuer of the certificate, the last hop that answered. It is a label of the
//! verdict series, so the alerts carry it into the page an on-call engineer gets.

use super::account::{account, os};
use super::addresses;
use super::marks::mark_words;
use super::path::brief;
use crate::checklist::Reason;
use crate::probe::{
    Detail, Evidence, HttpDetail, PathTrace, StepDetail, TargetOutcome, TcpDetail, Verdict,
    stage_label,
};

/// The evidence for `verdict`, with the path trace of its port when one was taken.
pub(crate) fn evidence(
    outcome: &TargetOutcome,
    verdict: &Verdict,
    trace: Option<&PathTrace>,
) -> String {
    let host = &outcome.target.host;
    let mut text = match &verdict.evidence {
        Evidence::Stage => stage(outcome, verdict),
        Evidence::Answer { server, .. } => {
            let from = server
                .as_deref()
                .map_or_else(String::new, |s| format!(" (resolver {s})"));
            format!("{host} resolves to {}{from}", addresses(&verdict.addresses))
        }
        Evidence::Schemes { offered } => format!(
            "proxy {} offers only {} authentication",
            proxy(outcome),
            offered.join(" and ")
        ),
        Evidence::StatusLine { line } => {
            format!("plain HTTP where TLS was due: \u{201c}{line}\u{201d}")
        }
        Evidence::Marks { status, marks } => {
            let marks: Vec<String> = marks.iter().map(mark_words).collect();
            if marks.is_empty() {
                format!("status {status} from a middlebox")
            } else {
                format!("status {status} with {}", marks.join("; "))
            }
        }
        Evidence::Addresses { failing, working } => format!(
            "{} of {} addresses of {host} fail",
            failing.len(),
            failing.len() + working
        ),
    };
    if let Some(trace) = trace {
        text.push_str("; ");
        text.push_str(&brief(trace));
    }
    text
}

/// The failing stage's own record, without what changes between scrapes.
fn stage(outcome: &TargetOutcome, verdict: &Verdict) -> String {
    let Some(step) = outcome
        .stages
        .iter()
        .find(|s| s.stage == verdict.stage && s.port == verdict.port)
    else {
        return String::new();
    };
    let issuer = outcome
        .tls
        .as_ref()
        .map(|t| t.issuer.as_str())
        .filter(|i| !i.is_empty());
    match &step.detail {
        Detail::Tcp(TcpDetail::Failed { addr, error }) => {
            format!("TCP {}: {}", addr.port(), os(*error))
        }
        Detail::Tcp(TcpDetail::Silent { addr }) => {
            format!("TCP {}: no answer (packets dropped)", addr.port())
        }
        Detail::Partial { failed, working } => format!(
            "{} of {} addresses fail",
            failed.len(),
            failed.len() + working
        ),
        Detail::Http(HttpDetail::SkewTooLarge { allowed, .. }) => format!(
            "the server's clock and this host's differ by more than {} s",
            allowed.as_secs()
        ),
        Detail::Tls(_) if is_certificate(verdict.reason) => match issuer {
            Some(issuer) => format!("certificate issued by {issuer}"),
            None => account(&step.detail),
        },
        Detail::Step(StepDetail::StillRunning | StepDetail::Deadline { .. }) => format!(
            "{}: no answer before the scrape's deadline",
            stage_label(verdict.stage, verdict.port)
        ),
        detail => account(detail),
    }
}

/// Reasons the certificate's issuer explains.
fn is_certificate(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::TlsCertUntrusted
            | Reason::TlsCertExpired
            | Reason::TlsHostnameMismatch
            | Reason::TlsCertInvalid
    )
}

fn proxy(outcome: &TargetOutcome) -> String {
    outcome
        .target
        .proxy
        .as_ref()
        .map_or_else(|| "(none configured)".to_string(), ToString::to_string)
}
