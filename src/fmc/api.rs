//! The management center's answers as Cisco's API specification describes them, read tolerantly:
//! unknown fields are ignored, an item that cannot be read is skipped and counted (never the whole
//! answer), peer text is cut before it is kept, and the health alerts become one reading per
//! device and module (and row, when the alert's text names one).

use std::collections::HashMap;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::text::{clean, clean_lines, html_text};
use crate::checklist::{FmcModule, FmcStatus, Service, rows_named_in, service_of_row};

/// Device names come from operators: cut to this many characters before they become labels.
pub(crate) const MAX_DEVICE_NAME_CHARS: usize = 64;
/// The alert text kept for the page, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 300;
/// Devices kept per reading; more are counted and left out (labels stay bounded).
pub(crate) const MAX_DEVICES: usize = 2000;

/// One page of a list: `items` and, when there are more, `paging.next` (a list of URLs).
#[derive(Debug, Deserialize)]
pub(crate) struct Page {
    #[serde(default)]
    pub(crate) items: Vec<Value>,
    #[serde(default)]
    pub(crate) paging: Option<Paging>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Paging {
    #[serde(default)]
    pub(crate) next: Vec<String>,
}

/// `{"error": {"severity", "category", "messages": [{"description"}]}}`: the descriptions, joined.
pub(crate) fn error_text(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Outer {
        error: Inner,
    }
    #[derive(Deserialize)]
    struct Inner {
        #[serde(default)]
        messages: Vec<Message>,
    }
    #[derive(Deserialize)]
    struct Message {
        description: Option<String>,
    }
    let outer: Outer = serde_json::from_slice(body).ok()?;
    let text: Vec<String> = outer
        .error
        .messages
        .into_iter()
        .filter_map(|m| m.description)
        .collect();
    (!text.is_empty()).then(|| clean(&text.join("; "), 200))
}

/// A field read tolerantly: its value when it has the expected type, nothing otherwise (a release
/// that changes a field's type costs that field, never the record).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Lenient<T> {
    Value(T),
    Other(serde::de::IgnoredAny),
}

impl<T> Lenient<T> {
    fn get(self) -> Option<T> {
        match self {
            Lenient::Value(v) => Some(v),
            Lenient::Other(_) => None,
        }
    }
}

fn lenient<T>(field: Option<Lenient<T>>) -> Option<T> {
    field.and_then(Lenient::get)
}

/// The records of a list that read as `T`, and how many did not.
pub(crate) fn records<T: DeserializeOwned>(items: Vec<Value>) -> (Vec<T>, usize) {
    let total = items.len();
    let read: Vec<T> = items
        .into_iter()
        .filter_map(|item| serde_json::from_value(item).ok())
        .collect();
    let unread = total - read.len();
    (read, unread)
}

/// A device record (`devices/devicerecords`), the fields read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeviceRecord {
    id: String,
    name: Option<Lenient<String>>,
    health_status: Option<Lenient<String>>,
}

/// A device: its UUID, its name as the management center shows it, and its overall health.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Device {
    pub(crate) uuid: String,
    pub(crate) name: String,
    pub(crate) health_status: Option<FmcStatus>,
    /// The domain it was read in (a name unique only within its domain stays distinct).
    pub(crate) domain: String,
}

impl From<DeviceRecord> for Device {
    fn from(record: DeviceRecord) -> Device {
        let name = lenient(record.name).unwrap_or_else(|| record.id.clone());
        Device {
            uuid: clean(&record.id, 64),
            name: clean(&name, MAX_DEVICE_NAME_CHARS),
            health_status: lenient(record.health_status).map(|s| FmcStatus::parse(&s)),
            domain: String::new(),
        }
    }
}

/// A health alert (`health/alerts?expanded=true`), the fields read.
#[derive(Debug, Deserialize)]
pub(crate) struct AlertRecord {
    #[serde(rename = "moduleID")]
    module_id: String,
    #[serde(rename = "deviceUUID")]
    device_uuid: String,
    status: Option<Lenient<String>>,
    timestamp: Option<Lenient<i64>>,
    name: Option<Lenient<String>>,
    description: Option<Lenient<String>>,
    details: Option<Lenient<String>>,
    /// The alert's parameters, as text (`HealthAlertModel.params`).
    params: Option<Lenient<String>>,
}

/// One health alert of a module this exporter reads.
#[derive(Debug, Clone)]
pub(crate) struct Alert {
    pub(crate) device_uuid: String,
    pub(crate) module: FmcModule,
    pub(crate) status: FmcStatus,
    pub(crate) timestamp: Option<i64>,
    pub(crate) text: String,
}

/// A health alert of a module this exporter does not interpret: kept and listed as such, never
/// dropped or fatal (a release may name a module this exporter does not know).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Uninterpreted {
    pub(crate) device: String,
    pub(crate) module_id: String,
    pub(crate) status: FmcStatus,
    #[serde(skip)]
    pub(crate) timestamp: Option<i64>,
}

/// The `deviceUUID` the management center gives its own health alerts.
pub(crate) const MANAGEMENT_CENTER_UUID: &str = "0";
/// How the management center's own record is named beside its devices.
pub(crate) const MANAGEMENT_CENTER: &str = "the management center itself";

impl AlertRecord {
    /// The alert, if its module is one this exporter reads; else what it is, uninterpreted.
    pub(crate) fn alert(self) -> Result<Alert, Uninterpreted> {
        let Some(module) = FmcModule::from_id(&self.module_id) else {
            return Err(Uninterpreted {
                device: clean(&self.device_uuid, 64),
                module_id: clean(&self.module_id, 64),
                status: lenient(self.status).map_or(FmcStatus::Unknown, |s| FmcStatus::parse(&s)),
                timestamp: lenient(self.timestamp),
            });
        };
        let text = [self.name, self.description, self.details, self.params]
            .into_iter()
            .filter_map(lenient)
            .map(|s| html_text(&s))
            .filter(|s| !s.trim().is_empty())
            .collect::<Vec<_>>()
            .join(" · ");
        Ok(Alert {
            device_uuid: clean(&self.device_uuid, 64),
            module,
            status: lenient(self.status).map_or(FmcStatus::Unknown, |s| FmcStatus::parse(&s)),
            timestamp: lenient(self.timestamp),
            text: clean_lines(&text, 4 * MAX_TEXT_CHARS),
        })
    }
}

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
    let mut newest: HashMap<(String, FmcModule), Alert> = HashMap::new();
    for alert in alerts {
        let key = (alert.device_uuid.clone(), alert.module);
        match newest.get(&key) {
            Some(kept) if kept.timestamp >= alert.timestamp => {}
            _ => {
                newest.insert(key, alert);
            }
        }
    }
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
    let mut newest: HashMap<(String, String), Uninterpreted> = HashMap::new();
    for item in found {
        let key = (item.device.clone(), item.module_id.clone());
        match newest.get(&key) {
            Some(kept) if kept.timestamp >= item.timestamp => {}
            _ => {
                newest.insert(key, item);
            }
        }
    }
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

/// Whether cloud integration is on, as the management center's settings say.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Integration {
    /// `SecureX` (Security Services Exchange) integration enabled: `securexconfigs[].enabled`.
    pub(crate) securex: Option<bool>,
    /// Any event sent to the cloud: `cloudeventsconfigs[].send*Events`.
    pub(crate) cloud_events: Option<bool>,
}

impl Integration {
    /// True when every setting the management center reports is off: the cloud configuration
    /// alert is then expected (cloud integration switched off on purpose).
    pub(crate) fn says_off(&self) -> bool {
        let known = [self.securex, self.cloud_events];
        known.iter().any(Option::is_some) && known.iter().all(|k| *k != Some(true))
    }
}

/// A `SecureX` (Security Services Exchange) integration setting, the field read.
#[derive(Debug, Deserialize)]
pub(crate) struct SecurexConfig {
    enabled: Option<Lenient<bool>>,
}

/// Whether `SecureX` integration is on: any setting enabled; `None` when none says.
pub(crate) fn securex_enabled(configs: Vec<SecurexConfig>) -> Option<bool> {
    let flags: Vec<bool> = configs
        .into_iter()
        .filter_map(|c| lenient(c.enabled))
        .collect();
    (!flags.is_empty()).then(|| flags.contains(&true))
}

/// A cloud events setting, the fields read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CloudEventsConfig {
    send_intrusion_events: Option<Lenient<bool>>,
    send_file_events: Option<Lenient<bool>>,
    send_connection_events: Option<Lenient<bool>>,
}

/// Whether any event goes to the cloud; `None` when no setting says.
pub(crate) fn cloud_events_sent(configs: Vec<CloudEventsConfig>) -> Option<bool> {
    let flags: Vec<bool> = configs
        .into_iter()
        .flat_map(|c| {
            [
                c.send_intrusion_events,
                c.send_file_events,
                c.send_connection_events,
            ]
        })
        .filter_map(lenient)
        .collect();
    (!flags.is_empty()).then(|| flags.contains(&true))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn integration_is_off_only_when_every_reported_setting_is_off() {
        let off = Integration {
            securex: Some(false),
            cloud_events: Some(false),
        };
        assert!(off.says_off());
        assert!(!Integration::default().says_off(), "nothing reported");
        assert!(
            !Integration {
                securex: Some(false),
                cloud_events: Some(true)
            }
            .says_off()
        );
        let (securex, _) = records(vec![json!({"enabled": false}), json!({"name": "x"})]);
        assert_eq!(securex_enabled(securex), Some(false));
        let (events, _) = records(vec![
            json!({"sendFileEvents": false, "sendConnectionEvents": true}),
            json!({"sendIntrusionEvents": "yes"}),
        ]);
        assert_eq!(cloud_events_sent(events), Some(true));
    }

    #[test]
    fn an_error_answer_gives_its_description() {
        assert_eq!(
            error_text(
                br#"{"error":{"category":"FRAMEWORK","messages":[{"description":"Access token invalid."}],"severity":"ERROR"}}"#
            )
            .as_deref(),
            Some("Access token invalid.")
        );
        assert_eq!(error_text(b"<html>"), None);
    }
}
