//! From outcomes to what people read: the verdict the probe decided for each target, put in words
//! (`cause.rs`), the FMC rows decided from their targets, and the view model (`view.rs`) that
//! every renderer reads: `check`'s text and JSON, the status and step-by-step pages, and the
//! metrics' row series.

mod account;
mod cause;
mod changed;
mod evidence;
mod fmc;
mod marks;
mod path;
mod remedy;
mod tables;
mod time;
mod transcript;
mod view;

use crate::checklist::{Reason, RowStatus, Service, checklist_rank};
use crate::probe::{OutcomeSink, TargetOutcome, Verdict};

pub(crate) use cause::configured_ca_only;
pub(crate) use fmc::{FmcSummary, uninterpreted_words};
pub(crate) use path::hop_words;
pub(crate) use remedy::plain;
pub(crate) use time::format_unix;
pub(crate) use view::{Report, RowScope, RowView, TargetView};

/// What explains a failing target, as the probe decided it from every fact it recorded.
pub(crate) fn verdict(outcome: &TargetOutcome) -> Option<&Verdict> {
    outcome.verdict.as_ref()
}

/// Addresses in words: `192.0.2.1, 192.0.2.2`.
fn addresses(ips: &[std::net::IpAddr]) -> String {
    ips.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The verdict's reason, `ok` when every stage passed.
pub(crate) fn reason(outcome: &TargetOutcome) -> Reason {
    verdict(outcome).map_or(Reason::Ok, |s| s.reason)
}

/// One FMC row decided from its targets: the target whose failure comes earliest in the
/// checklist decides it.
pub(crate) struct Row<'a> {
    pub(crate) service: Service,
    pub(crate) status: RowStatus,
    pub(crate) decided_by: Option<(&'a TargetOutcome, &'a Verdict)>,
    pub(crate) targets: usize,
}

/// The FMC rows for these outcomes, in table order. Only rows with at least one target appear.
/// With cloud integration disabled every row reports `Disabled` instead of its failure.
pub(crate) fn rows<'a>(
    outcomes: &(impl Iterator<Item = &'a TargetOutcome> + Clone),
    cloud_integration_enabled: bool,
) -> Vec<Row<'a>> {
    Service::ALL
        .into_iter()
        .filter_map(|service| {
            let members = outcomes.clone().filter(|o| o.target.service == service);
            let targets = members.clone().count();
            if targets == 0 {
                return None;
            }
            let decided_by = members
                .filter_map(|o| verdict(o).map(|stage| (o, stage)))
                .min_by_key(|(_, s)| checklist_rank(s.stage, s.reason));
            let status = match (&decided_by, cloud_integration_enabled) {
                (_, false) => RowStatus::Disabled,
                (None, true) => RowStatus::Success,
                (Some(_), true) => RowStatus::Failure,
            };
            Some(Row {
                service,
                status,
                decided_by,
                targets,
            })
        })
        .collect()
}

/// Logs one line per failed probe (target, stage, port, reason, detail; never a secret), then
/// hands the outcome on.
pub(crate) struct Logged<S>(pub(crate) S);

impl<S: OutcomeSink> OutcomeSink for Logged<S> {
    fn started(&self) {
        self.0.started();
    }

    fn record(&self, outcome: &TargetOutcome, ran: bool) {
        let target = &outcome.target;
        match verdict(outcome) {
            Some(failed) => tracing::warn!(
                probe = %target.name,
                host = %target.host,
                stage = %failed.stage,
                port = failed.port.map(|p| p.to_string()).unwrap_or_default(),
                reason = %failed.reason,
                detail = %cause::detail(outcome, failed),
                "probe failed"
            ),
            None => tracing::debug!(
                probe = %target.name,
                host = %target.host,
                duration_seconds = outcome.duration.as_secs_f64(),
                "probe succeeded"
            ),
        }
        self.0.record(outcome, ran);
    }
}

/// A sink that keeps nothing (`check` runs once).
pub(crate) struct Discard;

impl OutcomeSink for Discard {
    fn record(&self, _outcome: &TargetOutcome, _ran: bool) {}
}
