//! What changed since a target's last success, in words: for the page, `check` and its JSON, and
//! the `firepower_cloud_target_change_info` series the alerts read.

use serde::Serialize;

use super::addresses;
use super::time::format_unix;
use crate::probe::{Change, History, TargetOutcome, Tracer, changes, stage_label, traceable};

/// A failing target's differences from its last success.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Changed {
    /// When the last success was probed, as a UTC time.
    pub(crate) last_success: String,
    /// Each difference in words.
    pub(crate) changes: Vec<String>,
}

impl Changed {
    /// All the differences in one line.
    pub(crate) fn line(&self) -> String {
        format!(
            "Since the last success at {}: {}",
            self.last_success,
            self.changes.join("; ")
        )
    }
}

/// What changed for `outcome` (a failing probe) since its target's last success in `history`.
pub(crate) fn changed(
    history: &History,
    outcome: &TargetOutcome,
    tracer: &Tracer,
) -> Option<Changed> {
    let verdict = outcome.verdict.as_ref()?;
    let was = history.last_success(&outcome.target.name, &outcome.target.host)?;
    let trace = verdict
        .port
        .filter(|_| traceable(verdict.stage, verdict.reason))
        .and_then(|port| tracer.latest(&outcome.target.name, port));
    let changes: Vec<String> = changes(&was, outcome, trace.as_deref())
        .iter()
        .map(words)
        .collect();
    (!changes.is_empty()).then(|| Changed {
        last_success: format_unix(was.at),
        changes,
    })
}

fn words(change: &Change) -> String {
    match change {
        Change::DnsServer { was, now } => {
            format!("DNS answers now come from {now} (from {was} then)")
        }
        Change::Addresses { was, now } => format!(
            "the name now resolves to {} (to {} then)",
            addresses(now),
            addresses(was)
        ),
        Change::Issuer { was, now } => {
            format!("the certificate is now issued by {now} (by {was} then)")
        }
        Change::ProxyStatus { was, now } => {
            format!("the proxy now answers CONNECT with {now} (with {was} then)")
        }
        Change::Silent {
            port,
            after: Some((hop, addr)),
        } => format!("TCP {port} now goes silent after hop {hop} ({addr}); it opened then"),
        Change::Silent { port, after: None } => {
            format!("TCP {port} now gets no answer from any hop; it opened then")
        }
        Change::Fails { stage, port } => {
            format!("{} passed then and fails now", stage_label(*stage, *port))
        }
    }
}
