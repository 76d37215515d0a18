//! The view model: one answer's rows and targets, with what failed, where, why and the remedy
//! (this failure's host and port filled in), built once and read by every renderer: `check`
//! (text and JSON), the status and step-by-step pages, and the metrics collector.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use super::account::account;
pub(crate) use super::cause::Cause;
use super::changed::{Changed, changed};
use super::fmc::{FmcSays, FmcSummary, fmc_says, integration};
use super::time::format_unix;
use super::{reason, rows, verdict};
use crate::checklist::{FIX, Reason, RowStatus, Service};
use crate::config::Config;
use crate::fmc::{FmcView, Integration};
use crate::probe::{
    Freshness, History, PathTrace, Prober, TargetOutcome, Tracer, stage_label, traceable,
};

/// Everything one answer shows.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// Where the configuration came from.
    pub(crate) source: String,
    /// True when no row is in failure.
    pub(crate) success: bool,
    /// When several rows fail for one reason at one stage: that cause, said once.
    pub(crate) common_cause: Option<String>,
    /// Why the rows read disabled, when they do: the configuration or the management center.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) integration_note: Option<String>,
    /// The management center's own verdict (`fmc:`), when one is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) fmc: Option<FmcSummary>,
    pub(crate) rows: Vec<RowView>,
    pub(crate) targets: Vec<TargetView>,
}

impl Report {
    /// The first line an engineer reads: how many rows fail, each cause once with the team that
    /// owns its fix, when the probes ran and from which host; or that every row succeeds.
    pub(crate) fn headline(&self) -> String {
        let probed = self
            .targets
            .iter()
            .map(|t| t.outcome.started_at)
            .max()
            .map_or_else(String::new, |at| {
                let secs = at
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                format!(
                    ", last probe {}",
                    format_unix(i64::try_from(secs).unwrap_or(i64::MAX))
                )
            });
        let from = host_name().map_or_else(String::new, |h| format!(", from {h}"));
        let observed = self.rows.len();
        let failing: Vec<&RowView> = self
            .rows
            .iter()
            .filter(|r| r.status == RowStatus::Failure)
            .collect();
        let disabled = self
            .rows
            .iter()
            .filter(|r| r.status == RowStatus::Disabled)
            .count();
        if failing.is_empty() {
            let verdict = match (observed, disabled == observed) {
                (0, _) => "No row is probed".to_string(),
                (1, true) => "The row reads disabled (cloud integration is off)".to_string(),
                (_, true) => {
                    format!("All {observed} rows read disabled (cloud integration is off)")
                }
                (1, false) => "The row succeeds".to_string(),
                (_, false) => format!("All {observed} rows succeed"),
            };
            return format!("{verdict}{probed}{from}.");
        }
        let mut causes: Vec<(Reason, Option<crate::checklist::Owner>)> = Vec::new();
        for cause in failing.iter().flat_map(|r| &r.failing) {
            if !causes.iter().any(|(r, _)| *r == cause.reason) {
                causes.push((cause.reason, cause.owner));
            }
        }
        let each: Vec<String> = causes
            .iter()
            .map(|(reason, owner)| match owner {
                Some(owner) => format!("{reason} ({FIX}: {})", owner.title()),
                None => reason.to_string(),
            })
            .collect();
        let fail = if observed == 1 {
            "1 of 1 row fails".to_string()
        } else {
            format!("{} of {observed} rows fail", failing.len())
        };
        format!("{fail}: {}{probed}{from}.", each.join("; "))
    }

    /// The view of these outcomes. With [`RowScope::Part`] (a scrape of one target) each row is
    /// that target's part of it, named by `part_of`, so Prometheus can put a row back together
    /// from one scrape per target. `fmc_integration` is cloud integration as the management
    /// center says it: off, the rows read disabled.
    pub(crate) fn build(
        config: &Config,
        outcomes: Vec<(Arc<TargetOutcome>, Freshness)>,
        scope: &RowScope,
        prober: &Prober,
        fmc_integration: Option<Integration>,
    ) -> Report {
        let (tracer, history) = (prober.tracer().as_ref(), prober.history().as_ref());
        let (cloud_integration_enabled, integration_note) = integration(config, fmc_integration);
        // Each row's deciding target, by name: its cause is the one its target view words.
        let decided: Vec<_> = rows(
            &outcomes.iter().map(|(o, _)| o.as_ref()),
            cloud_integration_enabled,
        )
        .into_iter()
        .map(|row| {
            (
                row.service,
                row.status,
                row.targets,
                row.decided_by.map(|(o, _)| o.target.name.clone()),
            )
        })
        .collect();
        let targets: Vec<TargetView> = outcomes
            .into_iter()
            .map(|(outcome, freshness)| TargetView::new(outcome, freshness, tracer, history))
            .collect();
        let rows: Vec<RowView> = decided
            .into_iter()
            .map(|(service, status, target_count, decider)| RowView {
                service,
                title: service.title(),
                status,
                decided_by: decider.and_then(|name| {
                    targets
                        .iter()
                        .find(|t| t.name == name)
                        .and_then(|t| t.cause.clone())
                }),
                failing: Vec::new(),
                target_count,
                part_of: match scope {
                    RowScope::Whole => None,
                    RowScope::Part(target) => Some(target.clone()),
                },
                fmc: Vec::new(),
            })
            .collect();
        let success = rows.iter().all(|r| r.status != RowStatus::Failure);
        let common_cause = common_cause(&rows);
        let mut rows = rows;
        for row in rows.iter_mut().filter(|r| r.status == RowStatus::Failure) {
            let mut failing: Vec<Cause> = targets
                .iter()
                .filter(|t| t.service == row.service)
                .filter_map(|t| t.cause.clone())
                .collect();
            let first = row.decided_by.as_ref().map(|c| c.target.clone());
            failing.sort_by_key(|c| Some(&c.target) != first.as_ref());
            row.failing = failing;
        }
        Report {
            source: config.source.clone(),
            success,
            common_cause,
            integration_note,
            fmc: None,
            rows,
            targets,
        }
    }

    /// Adds what the management center says, for the pages and `check` (a `/probe` scrape has no
    /// use for it): its verdict beside each row, and its summary.
    pub(crate) fn describe_fmc(&mut self, view: &FmcView) {
        for row in &mut self.rows {
            row.fmc = fmc_says(Some(view), row.service, row.title, &row.network_words());
        }
        let services: Vec<Service> = self.rows.iter().map(|r| r.service).collect();
        self.fmc = Some(FmcSummary::of(view, &services));
    }
}

/// Whether an answer's rows are whole (every target of the row was probed) or one target's part.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RowScope {
    Whole,
    /// The scrape probed this one target: its row is decided by it alone.
    Part(String),
}

/// One sentence when two or more rows fail for the same reason at the same stage (a resolver that
/// answers NXDOMAIN for every Cisco name, a firewall that drops every connection).
fn common_cause(rows: &[RowView]) -> Option<String> {
    let causes: Vec<&Cause> = rows
        .iter()
        .filter(|r| r.status == RowStatus::Failure)
        .filter_map(|r| r.decided_by.as_ref())
        .collect();
    let first = causes.first()?;
    let shared = causes
        .iter()
        .all(|c| c.reason == first.reason && c.stage == first.stage);
    (causes.len() >= 2 && shared).then(|| {
        format!(
            "{} rows fail for one cause, {} at the {} stage ({}): fix that first. {}",
            causes.len(),
            first.reason,
            first.stage,
            first.detail,
            first.remedy
        )
    })
}

/// One FMC row.
#[derive(Debug, Serialize)]
pub(crate) struct RowView {
    pub(crate) service: Service,
    pub(crate) title: &'static str,
    pub(crate) status: RowStatus,
    /// The target and stage whose failure decides the row (the earliest in the checklist).
    pub(crate) decided_by: Option<Cause>,
    /// Every failing target of the row with its cause, the deciding one first (the row fails for
    /// each of them: fixing the first alone does not clear it).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) failing: Vec<Cause>,
    /// How many targets the row was decided from.
    pub(crate) target_count: usize,
    /// The one target this row was decided from, when the scrape asked for one target: the
    /// series then carry `row_target`, and the rules put the row together (worst part wins).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) part_of: Option<String>,
    /// What the management center says about this row, per device (worst first).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) fmc: Vec<FmcSays>,
}

impl RowView {
    /// `2 of 3 targets fail: sse at dns (dns_nxdomain); amp at tcp/443 (tcp_timeout)`, when more
    /// than one target of the row fails.
    pub(crate) fn every_failing(&self) -> Option<String> {
        (self.failing.len() > 1).then(|| {
            let each: Vec<String> = self
                .failing
                .iter()
                .map(|c| format!("{} at {} ({})", c.target, c.step(), c.reason))
                .collect();
            format!(
                "{} of {} targets fail: {}",
                self.failing.len(),
                self.target_count,
                each.join("; ")
            )
        })
    }

    /// The network's verdict in a few words, for the line beside the FMC's.
    fn network_words(&self) -> String {
        match (self.status, &self.decided_by) {
            (RowStatus::Disabled, _) => "cloud integration disabled, not judged".to_string(),
            (_, Some(cause)) => match cause.port {
                Some(port) => format!("{} fails at {} on {port}", cause.host, cause.reason),
                None => format!("{} fails at {}", cause.host, cause.reason),
            },
            (_, None) => format!(
                "every stage ok ({} target{})",
                self.target_count,
                if self.target_count == 1 { "" } else { "s" }
            ),
        }
    }

    /// Why the row has its status: `ok`, the deciding failure, or integration disabled.
    pub(crate) fn reason(&self) -> Reason {
        match (&self.decided_by, self.status) {
            (_, RowStatus::Disabled) => Reason::CloudIntegrationDisabled,
            (Some(c), _) => c.reason,
            (None, _) => Reason::Ok,
        }
    }

    /// The next step for this row.
    pub(crate) fn remedy(&self) -> Cow<'static, str> {
        match (&self.decided_by, self.status) {
            (Some(c), RowStatus::Failure) => c.remedy.clone(),
            _ => Cow::Borrowed(self.reason().remedy()),
        }
    }
}

/// One target's outcome with its verdict.
#[derive(Debug, Serialize)]
pub(crate) struct TargetView {
    pub(crate) name: String,
    pub(crate) host: String,
    pub(crate) service: Service,
    pub(crate) success: bool,
    pub(crate) reason: Reason,
    pub(crate) remedy: Cow<'static, str>,
    #[serde(skip)]
    pub(crate) cause: Option<Cause>,
    #[serde(skip)]
    pub(crate) freshness: Freshness,
    /// Where the path breaks, for each failing step a trace explains (traced after an earlier
    /// probe failed the same way; empty until one finished).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) paths: Vec<PathView>,
    /// What differs from the target's last success, when it fails and succeeded before.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) changed: Option<Changed>,
    #[serde(flatten)]
    pub(crate) outcome: Arc<TargetOutcome>,
}

/// A failing step's path trace.
#[derive(Debug, Serialize)]
pub(crate) struct PathView {
    /// `tcp/8989`.
    pub(crate) step: String,
    pub(crate) summary: String,
    pub(crate) trace: Arc<PathTrace>,
}

impl TargetView {
    fn new(
        outcome: Arc<TargetOutcome>,
        freshness: Freshness,
        tracer: &Tracer,
        history: &History,
    ) -> TargetView {
        let cause = verdict(&outcome).map(|s| Cause::of(&outcome, s, tracer));
        let reason = reason(&outcome);
        let mut paths: Vec<PathView> = Vec::new();
        for stage in outcome
            .stages
            .iter()
            .filter(|s| traceable(s.stage, s.reason))
        {
            let Some(port) = stage.port else { continue };
            if paths.iter().any(|p| p.trace.destination.port() == port) {
                continue;
            }
            if let Some(trace) = tracer.latest(&outcome.target.name, port) {
                paths.push(PathView {
                    step: stage_label(stage.stage, stage.port),
                    summary: super::path::summary(&trace),
                    trace,
                });
            }
        }
        TargetView {
            name: outcome.target.name.clone(),
            host: outcome.target.host.clone(),
            service: outcome.target.service,
            success: cause.is_none(),
            reason,
            remedy: cause
                .as_ref()
                .map_or(Cow::Borrowed(reason.remedy()), |c| c.remedy.clone()),
            cause,
            freshness,
            paths,
            changed: changed(history, &outcome, tracer),
            outcome,
        }
    }

    /// The steps as recorded.
    pub(crate) fn steps(&self) -> Vec<StepView> {
        self.outcome
            .stages
            .iter()
            .enumerate()
            .map(|(index, s)| StepView {
                index,
                label: stage_label(s.stage, s.port),
                reason: s.reason,
                took: s.ran().then_some(s.duration),
                detail: account(&s.detail),
            })
            .collect()
    }
}

/// One recorded step for a person.
#[derive(Debug)]
pub(crate) struct StepView {
    /// Its place in the outcome's stages.
    pub(super) index: usize,
    /// `tcp/8989`.
    pub(crate) label: String,
    pub(crate) reason: Reason,
    /// How long it took, for steps that ran.
    pub(crate) took: Option<Duration>,
    pub(crate) detail: String,
}

/// This host's name, as the kernel has it (the page and `check` say where they ran); read once.
fn host_name() -> Option<&'static str> {
    static NAME: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    NAME.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
    })
    .as_deref()
}
