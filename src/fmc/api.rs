//! The management center's answers as Cisco's API specification describes them, read tolerantly:
//! unknown fields are ignored, an item that cannot be read is skipped and counted (never the whole
//! answer), and peer text is cut before it is kept (`health.rs` makes the alerts readings).

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::text::{clean, clean_lines, html_text};
use crate::checklist::{FmcModule, FmcStatus};

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
