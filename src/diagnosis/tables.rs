//! The FMC's tables as a person reads them, on the page and in `check`: the probed rows failing
//! first, the rows not probed folded into one line per cause; the targets failing first.

use super::view::{Report, RowView, TargetView};
use crate::checklist::{Module, NOT_PROBED, RowStatus, Service, THREAT_DATA_UPDATES_ROWS};

/// One line of the FMC's tables, in the FMC's order: a row of "Threat Data Updates on Devices"
/// (observed through targets, or not observable from the network), then the other modules.
#[derive(Debug)]
pub(crate) struct FmcLine<'a> {
    pub(crate) module: Module,
    /// The name the FMC shows.
    pub(crate) title: &'static str,
    /// What the exporter saw; `None` for a row no target can stand for, or with no target.
    pub(crate) row: Option<&'a RowView>,
    /// Whether a target can stand for this row at all (false: the device's business).
    pub(crate) observable: bool,
}

impl FmcLine<'_> {
    /// Why a line has no status: nothing can stand for the row, or nothing configured does.
    pub(crate) fn why_not_probed(&self) -> &'static str {
        if self.observable {
            "no target configured for them"
        } else {
            "threat intelligence the management center pushes to the device"
        }
    }
}

/// One of the FMC's tables as the pages show it: the rows the exporter probes, failing first,
/// then the rows it does not probe folded into one line per cause.
pub(crate) struct FmcTable<'a> {
    pub(crate) module: Module,
    /// Failing rows first, then disabled, then succeeding ones, each in the FMC's order.
    pub(crate) lines: Vec<FmcLine<'a>>,
    /// The rows not probed: why, and their titles in the FMC's order.
    pub(crate) folded: Vec<(&'static str, Vec<&'static str>)>,
}

impl FmcTable<'_> {
    /// `Not probed (why): A, B, C`, one line per cause.
    pub(crate) fn folded_lines(&self) -> Vec<String> {
        self.folded
            .iter()
            .map(|(why, titles)| format!("{NOT_PROBED} ({why}): {}", titles.join(", ")))
            .collect()
    }
}

impl Report {
    /// The FMC's tables as it shows them: every row of "Threat Data Updates on Devices" in its
    /// order, then each other module the answer has a row for.
    fn fmc_lines(&self) -> Vec<FmcLine<'_>> {
        let find = |service: Service| self.rows.iter().find(|r| r.service == service);
        let mut lines: Vec<FmcLine<'_>> = THREAT_DATA_UPDATES_ROWS
            .iter()
            .map(|&(title, service)| FmcLine {
                module: Module::ThreatDataUpdates,
                title,
                row: service.and_then(find),
                observable: service.is_some(),
            })
            .collect();
        lines.extend(
            self.rows
                .iter()
                .filter(|r| r.service.module() != Module::ThreatDataUpdates)
                .map(|r| FmcLine {
                    module: r.service.module(),
                    title: r.title,
                    row: Some(r),
                    observable: true,
                }),
        );
        lines
    }

    /// The FMC's tables for a person: failing rows first, the rows not probed folded.
    pub(crate) fn fmc_tables(&self) -> Vec<FmcTable<'_>> {
        let mut tables: Vec<FmcTable<'_>> = Vec::new();
        for line in self.fmc_lines() {
            if tables.last().is_none_or(|t| t.module != line.module) {
                tables.push(FmcTable {
                    module: line.module,
                    lines: Vec::new(),
                    folded: Vec::new(),
                });
            }
            let Some(table) = tables.last_mut() else {
                continue;
            };
            if line.row.is_some() {
                table.lines.push(line);
                continue;
            }
            let why = line.why_not_probed();
            match table.folded.iter_mut().find(|(w, _)| *w == why) {
                Some((_, titles)) if titles.contains(&line.title) => {}
                Some((_, titles)) => titles.push(line.title),
                None => table.folded.push((why, vec![line.title])),
            }
        }
        for table in &mut tables {
            table
                .lines
                .sort_by_key(|l| l.row.map_or(3, |r| urgency(r.status)));
        }
        tables
    }

    /// The targets for a person: failing ones first, each group in the configuration's order.
    pub(crate) fn targets_failing_first(&self) -> Vec<&TargetView> {
        let mut targets: Vec<&TargetView> = self.targets.iter().collect();
        targets.sort_by_key(|t| t.success);
        targets
    }
}

/// Failing rows first, then disabled ones, then the rows that succeed.
fn urgency(status: RowStatus) -> u8 {
    match status {
        RowStatus::Failure => 0,
        RowStatus::Disabled => 1,
        RowStatus::Success => 2,
    }
}
