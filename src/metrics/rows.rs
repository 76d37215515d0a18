//! The FMC's vocabulary on `/probe`: the rows (status, state set, why) with the health module and
//! the name the FMC shows, and what each target stands for with where its host name comes from.

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

use super::labels::{Port, Present, Why};
use super::{gauge, names};
use crate::checklist::RowStatus;
use crate::diagnosis::{RowView, TargetView, plain};

/// Always 1 per target: the row or module it stands for, who talks to its host and where the
/// host name comes from (`secondary` or `troubleshooting_note` for names no Cisco product
/// document gives).
pub(super) fn encode_target_info(
    encoder: &mut DescriptorEncoder,
    targets: &[TargetView],
) -> Result<(), std::fmt::Error> {
    let mut e = gauge(
        encoder,
        names::TARGET_INFO,
        "Always 1: what the target stands for (service, module, title as the FMC names it), who talks to its host (used_by: device, management_center, both) and where the name comes from (source: cisco, secondary, troubleshooting_note, configured).",
    )?;
    for t in targets {
        let target = &t.outcome.target;
        ConstGauge::new(1).encode(e.encode_family(&Present([
            ("target", target.name.as_str()),
            ("host", target.host.as_str()),
            ("service", target.service.as_str()),
            ("module", target.service.module().as_str()),
            ("title", target.service.title()),
            ("used_by", target.used_by),
            ("source", target.source),
        ]))?)?;
    }
    Ok(())
}

/// The FMC rows: status, state set and why, labelled with the module and the FMC's name.
pub(super) fn encode_rows(
    encoder: &mut DescriptorEncoder,
    rows: &[RowView],
) -> Result<(), std::fmt::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    let mut e = gauge(
        encoder,
        names::SERVICE_SUCCESS,
        "The FMC health row (a row of Threat Data Updates on Devices, or the AMP Connection Status module) as the exporter sees it: 1 Success, 0 Failure. Absent while cloud integration is disabled.",
    )?;
    for row in rows.iter().filter(|r| r.status != RowStatus::Disabled) {
        let labels = [
            ("service", row.service.as_str()),
            ("module", row.service.module().as_str()),
            ("title", row.title),
        ];
        ConstGauge::new(i64::from(row.status == RowStatus::Success))
            .encode(e.encode_family(&(labels, part_label(row)))?)?;
    }
    let mut e = gauge(
        encoder,
        names::SERVICE_STATUS,
        "The FMC health row as a state set: 1 for the current status (success, failure or disabled), 0 for the others.",
    )?;
    for row in rows {
        for status in RowStatus::ALL {
            let labels = [
                ("service", row.service.as_str()),
                ("module", row.service.module().as_str()),
                ("title", row.title),
                ("status", status.as_str()),
            ];
            ConstGauge::new(i64::from(row.status == status))
                .encode(e.encode_family(&(labels, part_label(row)))?)?;
        }
    }
    let mut e = gauge(
        encoder,
        names::SERVICE_VERDICT,
        "Always 1: why the FMC row has its status: the target and stage that decide it (earliest in the checklist), the reason, the team that owns the fix (owner), the remedy and the evidence.",
    )?;
    for row in rows {
        let reason = row.reason();
        let cause = row
            .decided_by
            .as_ref()
            .filter(|_| row.status != RowStatus::Disabled);
        let remedy = row.remedy();
        let remedy = plain(&remedy);
        let why = Why {
            target: cause.map_or("", |c| c.target.as_str()),
            stage: cause.map(|c| c.stage),
            port: Port(cause.and_then(|c| c.port)),
            reason,
            remedy: &remedy,
            evidence: cause.map_or("", |c| c.evidence.as_str()),
        };
        let labels = [
            ("service", row.service.as_str()),
            ("module", row.service.module().as_str()),
            ("title", row.title),
        ];
        ConstGauge::new(1).encode(e.encode_family(&((labels, why), part_label(row)))?)?;
    }
    Ok(())
}

/// `row_target="NAME"` on the row series of a one-target scrape (none for a whole row): the
/// alerts' look-ups match it, and the dashboards put a row together from its parts.
fn part_label(row: &RowView) -> Present<'_, 1> {
    Present([("row_target", row.part_of.as_deref().unwrap_or(""))])
}
