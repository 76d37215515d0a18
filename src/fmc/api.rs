//! The management center's answers as Cisco's API specification describes them, read tolerantly:
//! unknown fields are ignored, an item that cannot be read is skipped and counted (never the whole
//! answer), peer text is cut before it is kept, and the health alerts become one reading per
//! device and module (and row, when the alert's text names one).

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;

use crate::checklist::{API_MODULES, FmcStatus, Service, rows_named_in, service_of_row};

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

/// A device record: `id`, `name`, `healthStatus`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Device {
    pub(crate) uuid: String,
    pub(crate) name: String,
    pub(crate) health_status: Option<String>,
}

pub(crate) fn device(item: &Value) -> Option<Device> {
    let uuid = item.get("id")?.as_str()?;
    let name = item.get("name").and_then(Value::as_str).unwrap_or(uuid);
    Some(Device {
        uuid: clean(uuid, 64),
        name: clean(name, MAX_DEVICE_NAME_CHARS),
        health_status: item
            .get("healthStatus")
            .and_then(Value::as_str)
            .map(|s| clean(s, 16)),
    })
}

/// One health alert as the API gives it.
#[derive(Debug, Clone)]
pub(crate) struct Alert {
    pub(crate) device_uuid: String,
    pub(crate) module_id: &'static str,
    pub(crate) status: FmcStatus,
    pub(crate) timestamp: Option<i64>,
    pub(crate) text: String,
}

/// An alert item, if it names a device and a module this exporter reads.
pub(crate) fn alert(item: &Value) -> Option<Alert> {
    let module = item.get("moduleID")?.as_str()?;
    let module_id = API_MODULES.iter().find(|(id, _, _)| *id == module)?.0;
    let text = ["name", "description", "details"]
        .iter()
        .filter_map(|k| item.get(*k).and_then(Value::as_str))
        .filter(|s| !s.trim().is_empty())
        .collect::<Vec<_>>()
        .join(" · ");
    Some(Alert {
        device_uuid: clean(item.get("deviceUUID")?.as_str()?, 64),
        module_id,
        status: item
            .get("status")
            .and_then(Value::as_str)
            .map_or(FmcStatus::Unknown, FmcStatus::parse),
        timestamp: item.get("timestamp").and_then(Value::as_i64),
        text: clean(&text, 4 * MAX_TEXT_CHARS),
    })
}

/// What the management center says about one device's module (or one row of it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Health {
    pub(crate) device: String,
    pub(crate) module_id: &'static str,
    pub(crate) module_title: &'static str,
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
    let mut newest: HashMap<(String, &'static str), Alert> = HashMap::new();
    for alert in alerts {
        let key = (alert.device_uuid.clone(), alert.module_id);
        match newest.get(&key) {
            Some(kept) if kept.timestamp >= alert.timestamp => {}
            _ => {
                newest.insert(key, alert);
            }
        }
    }
    let mut out = Vec::new();
    for ((uuid, module_id), alert) in newest {
        let Some(device) = devices.iter().find(|d| d.uuid == uuid) else {
            continue;
        };
        let (_, module_title, service) = API_MODULES
            .iter()
            .find(|(id, _, _)| *id == module_id)
            .copied()
            .unwrap_or((module_id, module_id, None));
        let reading = |row: Option<&'static str>, status: FmcStatus, service| Health {
            device: device.name.clone(),
            module_id,
            module_title,
            row,
            service,
            status,
            timestamp: alert.timestamp,
            text: clean(&alert.text, MAX_TEXT_CHARS),
        };
        let named = if module_id == "THREAT_DATA_UPDATES" {
            rows_named_in(&alert.text)
        } else {
            Vec::new()
        };
        if named.is_empty() {
            out.push(reading(None, alert.status, service));
        }
        for (row, status) in named {
            out.push(reading(
                Some(row),
                status.unwrap_or(alert.status),
                service_of_row(row),
            ));
        }
    }
    out.sort_by(|a, b| (&a.device, a.module_id, a.row).cmp(&(&b.device, b.module_id, b.row)));
    out
}

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

    /// For the page: what the management center says, in words.
    pub(crate) fn describe(&self) -> String {
        let word = |v: Option<bool>, on: &str, off: &str| match v {
            Some(true) => on.to_string(),
            Some(false) => off.to_string(),
            None => "not reported".to_string(),
        };
        format!(
            "SecureX integration {}, cloud events {}",
            word(self.securex, "enabled", "disabled"),
            word(self.cloud_events, "sent", "not sent")
        )
    }
}

pub(crate) fn securex_enabled(items: &[Value]) -> Option<bool> {
    let flags: Vec<bool> = items
        .iter()
        .filter_map(|i| i.get("enabled").and_then(Value::as_bool))
        .collect();
    (!flags.is_empty()).then(|| flags.contains(&true))
}

pub(crate) fn cloud_events_sent(items: &[Value]) -> Option<bool> {
    let flags: Vec<bool> = items
        .iter()
        .flat_map(|i| {
            [
                "sendIntrusionEvents",
                "sendFileEvents",
                "sendConnectionEvents",
            ]
            .into_iter()
            .filter_map(|k| i.get(k).and_then(Value::as_bool))
        })
        .collect();
    (!flags.is_empty()).then(|| flags.contains(&true))
}

/// `DOMAINS` of the login answer: `[{"name": "Global", "uuid": "…"}, …]`.
pub(crate) fn domain_uuid(domains: &str, wanted: &str) -> Result<String, Vec<String>> {
    #[derive(Deserialize)]
    struct Domain {
        name: String,
        uuid: String,
    }
    let list: Vec<Domain> = serde_json::from_str(domains).unwrap_or_default();
    let wanted = wanted.trim().trim_end_matches('/');
    let matches = |name: &str| {
        name.eq_ignore_ascii_case(wanted) || name.eq_ignore_ascii_case(&format!("Global/{wanted}"))
    };
    list.iter()
        .find(|d| matches(&d.name))
        .map(|d| d.uuid.clone())
        .ok_or_else(|| list.iter().map(|d| clean(&d.name, 64)).collect())
}

/// Peer text made safe to keep and show: control characters become spaces, runs of spaces one,
/// at most `max` characters (an ellipsis marks a cut).
pub(crate) fn clean(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max * 4));
    let mut count = 0;
    let mut last_space = false;
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && last_space {
            continue;
        }
        if count == max {
            out.push('…');
            return out;
        }
        last_space = c == ' ';
        out.push(c);
        count += 1;
    }
    out.trim().to_string()
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
        let alerts: Vec<Alert> = items.iter().filter_map(alert).collect();
        assert_eq!(alerts.len(), 3, "CPU, no device and garbage are skipped");
        let health = health(alerts, &[dev("d1", "ftd-01"), dev("d2", "ftd-02")]);
        let summary: Vec<_> = health
            .iter()
            .map(|h| (h.device.as_str(), h.module_id, h.row, h.status, h.service))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    "ftd-01",
                    "THREAT_DATA_UPDATES",
                    Some("Cisco Cloud Configuration"),
                    FmcStatus::Red,
                    Some(Service::CiscoCloudConfiguration)
                ),
                (
                    "ftd-01",
                    "THREAT_DATA_UPDATES",
                    Some("Local Malware Analysis Signatures"),
                    FmcStatus::Green,
                    Some(Service::LocalMalwareAnalysisSignatures)
                ),
                (
                    "ftd-02",
                    "CONN_STATUS_AMP",
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
        assert_eq!(
            securex_enabled(&[json!({"enabled": false}), json!({"name": "x"})]),
            Some(false)
        );
        assert_eq!(
            cloud_events_sent(&[json!({"sendFileEvents": false, "sendConnectionEvents": true})]),
            Some(true)
        );
    }

    #[test]
    fn peer_text_is_cut_and_cleaned() {
        assert_eq!(clean("a\u{0}\n\nb", 10), "a b");
        assert_eq!(clean(&"x".repeat(100), 5), "xxxxx…");
        assert_eq!(
            error_text(
                br#"{"error":{"category":"FRAMEWORK","messages":[{"description":"Access token invalid."}],"severity":"ERROR"}}"#
            )
            .as_deref(),
            Some("Access token invalid.")
        );
        assert_eq!(error_text(b"<html>"), None);
        assert_eq!(
            domain_uuid(
                r#"[{"name":"Global","uuid":"g"},{"name":"Global/Branches","uuid":"b"}]"#,
                "branches"
            ),
            Ok("b".to_string())
        );
        assert_eq!(
            domain_uuid(r#"[{"name":"Global","uuid":"g"}]"#, "Lab"),
            Err(vec!["Global".to_string()])
        );
    }
}
