//! The join: the management center's own words for a row beside the exporter's verdict, in one
//! sentence (`FMC: Cisco Cloud Configuration — Failure on ftd-01 · network: api-sse.cisco.com fails
//! at tcp_timeout on 8989`), and what the management center says about cloud integration.

use serde::Serialize;

use super::time::format_unix;
use crate::checklist::{FmcStatus, Service};
use crate::config::Config;
use crate::fmc::{FmcView, Health, Integration, Uninterpreted};

/// What the management center says, for every renderer.
#[derive(Debug, Serialize)]
pub(crate) struct FmcSummary {
    /// `https://fmc.example.com`.
    pub(crate) url: String,
    pub(crate) domain: String,
    /// Whether the last poll read everything.
    pub(crate) up: bool,
    /// Why the last poll failed (never carries a secret).
    pub(crate) error: Option<String>,
    /// Age of the reading shown, in seconds; `None` with no fresh reading.
    pub(crate) age_seconds: Option<f64>,
    pub(crate) devices: usize,
    /// Items of the last reading that could not be read (skipped, not fatal).
    pub(crate) skipped_items: usize,
    /// Configured device names the management center does not know.
    pub(crate) devices_not_found: Vec<String>,
    /// Cloud integration in the management center's settings, in words.
    pub(crate) integration: Option<String>,
    /// What it reports beside no row of this answer: modules no row stands for (licensing, URL
    /// filtering…), and rows no configured target stands for.
    pub(crate) other: Vec<Health>,
    /// Alerts of modules this exporter does not interpret, listed as such.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) not_interpreted: Vec<Uninterpreted>,
}

/// `CPU on ftd-01: Failure (red)`, for the page and `check`.
pub(crate) fn uninterpreted_words(item: &Uninterpreted) -> String {
    format!(
        "{} on {}: {} ({})",
        item.module_id,
        item.device,
        item.status.title(),
        item.status.as_str()
    )
}

impl FmcSummary {
    /// The summary of `view`; `rows` are the services this answer has a row for.
    pub(crate) fn of(view: &FmcView, rows: &[Service]) -> FmcSummary {
        let reading = view.fresh();
        FmcSummary {
            url: view.base.clone(),
            domain: view.domain.clone(),
            up: view.up,
            error: view.last_error.as_ref().map(|(_, text)| match view.held_until {
                // Refused credentials are held back, so the user is not locked out: say until when.
                Some(until) => format!(
                    "{text}; not tried again until its file (password or API token) changes, the configuration is reloaded, or {}, so that the management center does not lock the user out",
                    format_unix(
                        i64::try_from(
                            until
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap_or_default()
                                .as_secs()
                        )
                        .unwrap_or(i64::MAX)
                    )
                ),
                None => text.clone(),
            }),
            age_seconds: reading.map(|r| r.at.elapsed().unwrap_or_default().as_secs_f64()),
            devices: reading.map_or(0, |r| r.devices.len()),
            skipped_items: reading.map_or(0, |r| r.skipped_items),
            devices_not_found: reading
                .map(|r| r.devices_not_found.clone())
                .unwrap_or_default(),
            integration: reading.map(|r| integration_words(&r.integration)),
            not_interpreted: reading
                .map(|r| r.uninterpreted.clone())
                .unwrap_or_default(),
            other: reading
                .map(|r| {
                    r.health
                        .iter()
                        .filter(|h| h.service.is_none_or(|s| !rows.contains(&s)))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// One line for the page and `check`.
    pub(crate) fn headline(&self) -> String {
        let state = match (&self.error, self.age_seconds) {
            (None, Some(age)) => format!("read {age:.0} s ago, {} devices", self.devices),
            (Some(err), Some(age)) => {
                format!("last read {age:.0} s ago; the latest poll failed: {err}")
            }
            (Some(err), None) => format!("not read: {err}"),
            (None, None) => "not read yet".to_string(),
        };
        let skipped = match self.skipped_items {
            0 => String::new(),
            n => format!("; {n} items it sent could not be read and were skipped"),
        };
        format!("{} (domain {}): {state}{skipped}", self.url, self.domain)
    }
}

/// The management center's status of one row on one device.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FmcSays {
    pub(crate) device: String,
    pub(crate) status: FmcStatus,
    /// The module (and row) it comes from, as the management center names them.
    pub(crate) source: String,
    pub(crate) timestamp: Option<i64>,
    pub(crate) text: String,
    /// FMC's verdict beside the network's, in one sentence.
    pub(crate) beside: String,
}

/// The readings that speak for `service` (whose row the FMC calls `title`), worst first, each
/// with its sentence beside `network`, the network's verdict in a few words.
pub(crate) fn fmc_says(
    view: Option<&FmcView>,
    service: Service,
    title: &str,
    network: &str,
) -> Vec<FmcSays> {
    let Some(reading) = view.and_then(FmcView::fresh) else {
        return Vec::new();
    };
    // Several domains: a device is named with its domain (a name unique only within its domain
    // stays distinct).
    let several = reading.domains.len() > 1;
    let mut says: Vec<FmcSays> = reading
        .health
        .iter()
        .filter(|h| h.service == Some(service))
        .map(|h| FmcSays {
            device: if several {
                format!("{} ({})", h.device, h.domain)
            } else {
                h.device.clone()
            },
            status: h.status,
            source: match h.row {
                Some(r) => format!("{} — {r}", h.module.title()),
                None => h.module.title().to_string(),
            },
            timestamp: h.timestamp,
            text: h.text.clone(),
            beside: format!(
                "FMC: {title} — {} on {}{} · network: {network}",
                h.status.title(),
                h.device,
                if several {
                    format!(" ({})", h.domain)
                } else {
                    String::new()
                }
            ),
        })
        .collect();
    says.sort_by(|a, b| {
        (!a.status.is_failure(), &a.device).cmp(&(!b.status.is_failure(), &b.device))
    });
    says
}

/// Whether the rows are judged, and why not when they are not: the configuration says cloud
/// integration is off, or the management center's settings do (switched off on purpose).
pub(crate) fn integration(config: &Config, fmc: Option<Integration>) -> (bool, Option<String>) {
    if !config.cloud_integration_enabled {
        return (
            false,
            Some("Cloud integration is disabled in the configuration (`cloud_integration: disabled`): the Cisco Cloud Configuration alert is expected and nothing is judged.".to_string()),
        );
    }
    match fmc {
        Some(settings) if settings.says_off() => (
            false,
            Some(format!(
                "Cloud integration is disabled, as the management center says ({}): the Cisco Cloud Configuration alert is expected while it is off, and the rows read disabled.",
                integration_words(&settings)
            )),
        ),
        _ => (true, None),
    }
}

/// What the management center says of cloud integration, in words.
fn integration_words(integration: &Integration) -> String {
    let word = |v: Option<bool>, on: &'static str, off: &'static str| match v {
        Some(true) => on,
        Some(false) => off,
        None => "not reported",
    };
    format!(
        "SecureX integration {}, cloud events {}",
        word(integration.securex, "enabled", "disabled"),
        word(integration.cloud_events, "sent", "not sent")
    )
}
