//! The management center's part of the status page: its verdict beside each row, and what it
//! says beyond the rows (connection, cloud integration, other modules).

use std::fmt::Write as _;

use super::html::html_escape;
use crate::diagnosis::{Report, RowView, uninterpreted_words};

/// Devices listed per row; more are counted.
const LISTED_DEVICES: usize = 20;

/// Table rows under `row`: what the management center says on each device (worst first).
pub(super) fn beside_row(body: &mut String, row: &RowView) {
    for says in row.fmc.iter().take(LISTED_DEVICES) {
        let _ = writeln!(
            body,
            "<tr class=\"fmc {}\"><td colspan=\"4\"><small>{}</small>{}</td></tr>",
            if says.status.is_failure() {
                "failure"
            } else {
                ""
            },
            html_escape(&says.beside),
            if says.text.is_empty() {
                String::new()
            } else {
                format!(
                    "<br><small class=\"said\">{}: “{}”</small>",
                    html_escape(&says.source),
                    html_escape(&says.text).replace('\n', "<br>")
                )
            }
        );
    }
    if row.fmc.len() > LISTED_DEVICES {
        let _ = writeln!(
            body,
            "<tr class=\"fmc\"><td colspan=\"4\"><small>and {} more devices</small></td></tr>",
            row.fmc.len() - LISTED_DEVICES
        );
    }
}

/// Why the rows read disabled (the configuration, or the management center), above the tables.
pub(super) fn integration_note(body: &mut String, report: &Report) {
    if let Some(note) = &report.integration_note {
        let _ = writeln!(body, "<p class=\"note\">{}</p>", html_escape(note));
    }
}

/// The management center's own section: connection, settings, and modules beyond the rows.
pub(super) fn section(body: &mut String, report: &Report) {
    let Some(fmc) = &report.fmc else {
        return;
    };
    let class = if fmc.up { "success" } else { "failure" };
    let _ = writeln!(
        body,
        "<h2>Management center</h2>\n<p class=\"fmc-state\"><span class=\"status {class}\">{}</span> {}</p>",
        if fmc.up { "read" } else { "not read" },
        html_escape(&fmc.headline())
    );
    if let Some(integration) = &fmc.integration {
        let _ = writeln!(
            body,
            "<p>Cloud integration in its settings: {}</p>",
            html_escape(integration)
        );
    }
    if !fmc.devices_not_found.is_empty() {
        let _ = writeln!(
            body,
            "<p class=\"note\">Devices in <code>fmc.devices</code> the management center does not know: {}</p>",
            html_escape(&fmc.devices_not_found.join(", "))
        );
    }
    if !fmc.other.is_empty() {
        body.push_str("<table class=\"fmc-other\"><thead><tr><th>Device</th><th>Health module</th><th>Status</th><th>What it says</th></tr></thead><tbody>\n");
        for h in &fmc.other {
            let _ = writeln!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td><small>{}</small></td></tr>",
                html_escape(&h.device),
                html_escape(h.module.title()),
                h.status.title(),
                html_escape(&h.text).replace('\n', "<br>")
            );
        }
        body.push_str("</tbody></table>\n");
    }
    if !fmc.not_interpreted.is_empty() {
        let each: Vec<String> = fmc
            .not_interpreted
            .iter()
            .map(|u| html_escape(&uninterpreted_words(u)))
            .collect();
        let _ = writeln!(
            body,
            "<p class=\"note\">Not interpreted here (health modules this exporter does not read): {}</p>",
            each.join("; ")
        );
    }
}
