//! From the health alerts read to what the management center says: the newest alert per device
//! and module, split into one reading per row when the alert's text names rows, with the device's
//! name and domain (the management center's own record named as such).

use std::collections::HashMap;

use super::api::{
    Alert, Device, MANAGEMENT_CENTER, MANAGEMENT_CENTER_UUID, MAX_TEXT_CHARS, Uninterpreted,
};
use super::text::clean_lines;
use crate::checklist::{FmcModule, FmcStatus, Service, rows_named_in, service_of_row};

/// What the management center says about one device's module (or one row of it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Health {
    pub(crate) device: String,
    /// The domain the device was read in.
    pub(crate) domain: String,
    #[serde(rename = "module_id")]
    pub(crate) module: FmcModule,
    /// The row of "Threat Data Updates on Devices" the alert's text names, if any.
    pub(crate) row: Option<&'static str>,
    /// The exporter's row this reading speaks for, if any.
    #[serde(skip)]
    pub(crate) service: Option<Service>,
    pub(crate) status: FmcStatus,
    /// When the management center raised it (Unix seconds).
    pub(crate) timestamp: Option<i64>,
    /// The alert's own words, cut to [`MAX_TEXT_CHARS`].
    pub(crate) text: String,
}

/// The newest alert per device and module, then one reading per row its text names (each with
/// the status written after the row's name, else the alert's), or one for the whole module.
pub(crate) fn health(alerts: Vec<Alert>, devices: &[Device]) -> Vec<Health> {
    let newest = newest(
        alerts,
        |a| (a.device_uuid.clone(), a.module),
        |a| a.timestamp,
    );
    let mut out = Vec::new();
    for ((uuid, module), alert) in newest {
        let (name, domain) = match devices.iter().find(|d| d.uuid == uuid) {
            Some(device) => (device.name.clone(), device.domain.clone()),
            // The management center's own alerts (its own modules, and the rows of its own
            // Threat Data Updates) carry device "0".
            None if uuid == MANAGEMENT_CENTER_UUID => (
                MANAGEMENT_CENTER.to_string(),
                devices
                    .first()
                    .map(|d| d.domain.clone())
                    .unwrap_or_default(),
            ),
            None => continue,
        };
        let reading = |row: Option<&'static str>, status: FmcStatus, service| Health {
            device: name.clone(),
            domain: domain.clone(),
            module,
            row,
            service,
            status,
            timestamp: alert.timestamp,
            text: clean_lines(&alert.text, MAX_TEXT_CHARS),
        };
        let named = if module == FmcModule::ThreatDataUpdates {
            rows_named_in(&alert.text)
        } else {
            Vec::new()
        };
        if named.is_empty() {
            out.push(reading(None, alert.status, module.service()));
        }
        for (row, status) in named {
            out.push(reading(
                Some(row),
                status.unwrap_or(alert.status),
                service_of_row(row),
            ));
        }
    }
    out.sort_by(|a, b| (&a.device, a.module, a.row).cmp(&(&b.device, b.module, b.row)));
    out
}

/// The newest uninterpreted alert per device and module, with device names where known.
pub(crate) fn uninterpreted(found: Vec<Uninterpreted>, devices: &[Device]) -> Vec<Uninterpreted> {
    let newest = newest(
        found,
        |u| (u.device.clone(), u.module_id.clone()),
        |u| u.timestamp,
    );
    let mut out: Vec<Uninterpreted> = newest
        .into_values()
        .map(|mut item| {
            item.device = match devices.iter().find(|d| d.uuid == item.device) {
                Some(device) => device.name.clone(),
                None if item.device == MANAGEMENT_CENTER_UUID => MANAGEMENT_CENTER.to_string(),
                None => item.device,
            };
            item
        })
        .collect();
    out.sort_by(|a, b| (&a.device, &a.module_id).cmp(&(&b.device, &b.module_id)));
    out.truncate(MAX_UNINTERPRETED);
    out
}

/// How many uninterpreted alerts a reading keeps.
const MAX_UNINTERPRETED: usize = 64;

/// The newest item per key (by `timestamp`; of two alike, the first kept).
fn newest<T, K: std::hash::Hash + Eq>(
    items: Vec<T>,
    key: impl Fn(&T) -> K,
    timestamp: impl Fn(&T) -> Option<i64>,
) -> HashMap<K, T> {
    let mut newest: HashMap<K, T> = HashMap::new();
    for item in items {
        let key = key(&item);
        match newest.get(&key) {
            Some(kept) if timestamp(kept) >= timestamp(&item) => {}
            _ => {
                newest.insert(key, item);
            }
        }
    }
    newest
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fmc::api::{AlertRecord, records};

    fn dev(uuid: &str, name: &str) -> Device {
        Device {
            uuid: uuid.into(),
            name: name.into(),
            health_status: None,
            domain: "Global".into(),
        }
    }

    #[test]
    fn the_newest_alert_per_device_and_module_decides_and_rows_are_split() {
        let items = [
            json!({"moduleID": "THREAT_DATA_UPDATES", "deviceUUID": "d1", "status": "GREEN",
                   "timestamp": 100, "description": "Cisco Cloud Configuration - Success"}),
            json!({"moduleID": "THREAT_DATA_UPDATES", "deviceUUID": "d1", "status": "RED",
                   "timestamp": 200, "description": "Cisco Cloud Configuration - Failure, Local Malware Analysis Signatures - Success"}),
            json!({"moduleID": "CONN_STATUS_AMP", "deviceUUID": "d2", "status": "YELLOW", "timestamp": 5}),
            json!({"moduleID": "CPU", "deviceUUID": "d1", "status": "RED"}),
            json!({"moduleID": "CONN_STATUS_SSE", "status": "RED"}),
            json!("not an object"),
        ];
        let (records, unread) = records::<AlertRecord>(items.to_vec());
        assert_eq!(unread, 2, "no device and garbage are not records");
        let alerts: Vec<Alert> = records.into_iter().filter_map(|r| r.alert().ok()).collect();
        assert_eq!(
            alerts.len(),
            3,
            "CPU is a module this exporter does not read"
        );
        let health = health(alerts, &[dev("d1", "ftd-01"), dev("d2", "ftd-02")]);
        let summary: Vec<_> = health
            .iter()
            .map(|h| (h.device.as_str(), h.module, h.row, h.status, h.service))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "ftd-01",
                    FmcModule::ThreatDataUpdates,
                    Some("Cisco Cloud Configuration"),
                    FmcStatus::Red,
                    Some(Service::CiscoCloudConfiguration)
                ),
                (
                    "ftd-01",
                    FmcModule::ThreatDataUpdates,
                    Some("Local Malware Analysis Signatures"),
                    FmcStatus::Green,
                    Some(Service::LocalMalwareAnalysisSignatures)
                ),
                (
                    "ftd-02",
                    FmcModule::AmpConnectionStatus,
                    None,
                    FmcStatus::Yellow,
                    Some(Service::AmpConnectionStatus)
                ),
            ]
        );
    }
}
