//! The management center's own verdict on `/metrics`: whether its API was read, errors by reason,
//! and from the last fresh reading the status of each device's module (and row) as a state set,
//! when the management center raised it, and whether cloud integration is on. Device names are
//! the FMC's, cut to 64 characters when read.

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::labels::Present;
use super::{gauge, names};
use crate::checklist::{FmcStatus, Service, row_label};
use crate::fmc::Fmc;
use crate::probe::unix_seconds;

#[derive(Debug)]
pub(super) struct FmcCollector(pub(super) Arc<Fmc>);

fn counter<'a>(
    encoder: &'a mut DescriptorEncoder,
    name: &'a str,
    help: &str,
) -> Result<prometheus_client::encoding::MetricEncoder<'a>, fmt::Error> {
    encoder.encode_descriptor(name, help, None, MetricType::Counter)
}

impl Collector for FmcCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        let Some(view) = self.0.view() else {
            return Ok(());
        };
        ConstGauge::new(i64::from(view.up)).encode(gauge(
            &mut encoder,
            names::FMC_UP,
            "Whether the last poll of the management center's REST API read everything (1) or failed (0); the reason is in firepower_cloud_fmc_last_error_info.",
        )?)?;
        if let Some((reason, _)) = &view.last_error {
            let mut e = gauge(
                &mut encoder,
                names::FMC_LAST_ERROR_INFO,
                "Present while the management center cannot be read: why (connect, timeout, tls, credentials_rejected, token_rejected, access_denied, rate_limited, http_status, malformed_response, response_too_large, token_missing, domain_unknown).",
            )?;
            ConstGauge::new(1).encode(e.encode_family(&Present([("reason", *reason)]))?)?;
        }
        if let Some(until) = view.held_until {
            ConstGauge::new(crate::probe::unix_seconds(until)).encode(gauge(
                &mut encoder,
                names::FMC_LOGIN_HELD_UNTIL,
                "Present while the management center's refusal of the credentials (401 at login, or 403) is held back: no login until this Unix time, the password file changing, or a reload, so that the management center does not lock the API user out.",
            )?)?;
        }
        let mut e = counter(
            &mut encoder,
            names::FMC_API_ERRORS,
            "Errors met reading the management center's REST API, by reason, including those recovered from within a poll (a renewed token, a 429 waited out).",
        )?;
        for (reason, count) in &view.errors {
            ConstCounter::new(*count).encode(e.encode_family(&Present([("reason", *reason)]))?)?;
        }
        let mut e = counter(
            &mut encoder,
            names::FMC_AUTHENTICATIONS,
            "Tokens obtained from the management center: login (generatetoken) or refresh (refreshtoken).",
        )?;
        for (kind, count) in [
            ("login", view.tally.logins),
            ("refresh", view.tally.refreshes),
        ] {
            ConstCounter::new(count).encode(e.encode_family(&Present([("kind", kind)]))?)?;
        }
        ConstCounter::new(view.tally.requests).encode(counter(
            &mut encoder,
            names::FMC_REQUESTS,
            "Requests sent to the management center's REST API (at most 60 a minute, half its limit).",
        )?)?;
        let Some(reading) = view.fresh() else {
            return Ok(());
        };
        ConstGauge::new(unix_seconds(reading.at)).encode(gauge(
            &mut encoder,
            names::FMC_LAST_SUCCESS,
            "When the management center was last read completely, as Unix seconds.",
        )?)?;
        ConstGauge::new(i64::try_from(reading.devices.len()).unwrap_or(i64::MAX)).encode(gauge(
            &mut encoder,
            names::FMC_DEVICES,
            "Devices read from the management center (after the fmc.devices filter).",
        )?)?;
        let integration = [
            ("securex", reading.integration.securex),
            ("cloud_events", reading.integration.cloud_events),
        ];
        if integration.iter().any(|(_, v)| v.is_some()) {
            let mut e = gauge(
                &mut encoder,
                names::FMC_CLOUD_INTEGRATION,
                "Cloud integration as the management center's settings say: securex (SecureX / SSE integration enabled) and cloud_events (any event sent to the cloud). All 0: the Cisco Cloud Configuration alert is expected.",
            )?;
            for (setting, value) in integration {
                if let Some(on) = value {
                    ConstGauge::new(i64::from(on))
                        .encode(e.encode_family(&Present([("setting", setting)]))?)?;
                }
            }
        }
        let rows: Vec<String> = reading
            .health
            .iter()
            .map(|h| h.row.map(row_label).unwrap_or_default())
            .collect();
        let mut e = gauge(
            &mut encoder,
            names::FMC_HEALTH_STATUS,
            "The management center's own health status per domain, device and module (fmc_module as its API names it; row when the alert's text names a row of Threat Data Updates on Devices; service: the exporter's row it speaks for), as a state set.",
        )?;
        for (h, row) in reading.health.iter().zip(&rows) {
            for status in FmcStatus::ALL {
                ConstGauge::new(i64::from(h.status == status)).encode(e.encode_family(
                    &Present([
                        ("domain", h.domain.as_str()),
                        ("device", h.device.as_str()),
                        ("fmc_module", h.module.id()),
                        ("row", row.as_str()),
                        (
                            "service",
                            h.service.map(Service::as_str).unwrap_or_default(),
                        ),
                        ("status", status.as_str()),
                    ]),
                )?)?;
            }
        }
        let mut e = gauge(
            &mut encoder,
            names::FMC_HEALTH_TIMESTAMP,
            "When the management center raised the health alert that gives the status, as Unix seconds.",
        )?;
        for (h, row) in reading.health.iter().zip(&rows) {
            if let Some(ts) = h.timestamp {
                ConstGauge::new(ts).encode(e.encode_family(&Present([
                    ("domain", h.domain.as_str()),
                    ("device", h.device.as_str()),
                    ("fmc_module", h.module.id()),
                    ("row", row.as_str()),
                ]))?)?;
            }
        }
        Ok(())
    }
}
