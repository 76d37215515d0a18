//! The management center's words: its health modules and the rows of "Threat Data Updates on
//! Devices", named and ordered as the FMC shows them, and which of them a probed target can stand
//! for. Rows that depend on no network path the exporter can try (intelligence feeds the
//! management center pushes to the device) are listed, never invented: they stay the device's
//! business.

use std::fmt;

use serde::Serialize;

/// An FMC health module that has something to do with the Cisco cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Module {
    /// "Threat Data Updates on Devices": one row per kind of threat data.
    ThreatDataUpdates,
    /// "AMP Connection Status": whether the device reaches the AMP (malware) cloud.
    AmpConnectionStatus,
}

impl Module {
    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Module::ThreatDataUpdates => "threat_data_updates",
            Module::AmpConnectionStatus => "amp_connection_status",
        }
    }

    /// As the FMC's health monitor names it.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Module::ThreatDataUpdates => "Threat Data Updates on Devices",
            Module::AmpConnectionStatus => "AMP Connection Status",
        }
    }
}

/// The rows of "Threat Data Updates on Devices", in the FMC's order ("URL Category and
/// Reputation" appears twice there), with the service a target can stand for.
pub(crate) const THREAT_DATA_UPDATES_ROWS: [(&str, Option<Service>); 10] = [
    ("SI URL Lists and Feeds", None),
    ("URL Category and Reputation", None),
    ("Threat Configuration", None),
    ("SI SHA Lists (From TID)", None),
    ("SI Network Lists and Feeds", None),
    (
        "Local Malware Analysis Signatures",
        Some(Service::LocalMalwareAnalysisSignatures),
    ),
    (
        "Cisco Cloud Configuration",
        Some(Service::CiscoCloudConfiguration),
    ),
    ("SI DNS Lists and Feeds", None),
    ("URL Category and Reputation", None),
    ("AMP Dynamic Analysis", Some(Service::AmpDynamicAnalysis)),
];

/// What a target stands for: an FMC row (or a module without rows) that depends on the Cisco
/// cloud endpoints it probes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Service {
    LocalMalwareAnalysisSignatures,
    CiscoCloudConfiguration,
    AmpDynamicAnalysis,
    AmpConnectionStatus,
}

impl Service {
    /// In the FMC's order: the module's rows as its table lists them, then the other modules.
    pub(crate) const ALL: [Service; 4] = [
        Service::LocalMalwareAnalysisSignatures,
        Service::CiscoCloudConfiguration,
        Service::AmpDynamicAnalysis,
        Service::AmpConnectionStatus,
    ];

    /// The label value (and the `service:` of a target in the configuration).
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Service::LocalMalwareAnalysisSignatures => "local_malware_analysis_signatures",
            Service::CiscoCloudConfiguration => "cisco_cloud_configuration",
            Service::AmpDynamicAnalysis => "amp_dynamic_analysis",
            Service::AmpConnectionStatus => "amp_connection_status",
        }
    }

    /// As the FMC names it: the row, or the module for a module without rows.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Service::LocalMalwareAnalysisSignatures => "Local Malware Analysis Signatures",
            Service::CiscoCloudConfiguration => "Cisco Cloud Configuration",
            Service::AmpDynamicAnalysis => "AMP Dynamic Analysis",
            Service::AmpConnectionStatus => Module::AmpConnectionStatus.title(),
        }
    }

    /// The health module it belongs to.
    pub(crate) fn module(self) -> Module {
        match self {
            Service::AmpConnectionStatus => Module::AmpConnectionStatus,
            _ => Module::ThreatDataUpdates,
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Service> {
        Service::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// A name earlier releases used, with the service it means now.
    pub(crate) fn former_name(name: &str) -> Option<Service> {
        // "AMP Cloud Lookups" is no row of the FMC: malware cloud lookups are the AMP Connection
        // Status module's business.
        (name == "amp_cloud_lookups").then_some(Service::AmpConnectionStatus)
    }
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of one FMC row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RowStatus {
    Success,
    Failure,
    Disabled,
}

impl RowStatus {
    pub(crate) const ALL: [RowStatus; 3] =
        [RowStatus::Success, RowStatus::Failure, RowStatus::Disabled];

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RowStatus::Success => "success",
            RowStatus::Failure => "failure",
            RowStatus::Disabled => "disabled",
        }
    }

    /// As the FMC table shows it.
    pub(crate) fn title(self) -> &'static str {
        match self {
            RowStatus::Success => "Success",
            RowStatus::Failure => "Failure",
            RowStatus::Disabled => "Disabled",
        }
    }
}

/// The health modules read from the management center's REST API (`moduleID` of its health
/// alerts, from Cisco's published API specification), with the row of this exporter each speaks
/// for. `THREAT_DATA_UPDATES` speaks for the row its text names (see [`rows_named_in`]); the
/// others for one row each, or for none (read for the page only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub(crate) enum FmcModule {
    #[serde(rename = "THREAT_DATA_UPDATES")]
    ThreatDataUpdates,
    #[serde(rename = "CONN_STATUS_SSE")]
    SseConnectionStatus,
    #[serde(rename = "CONN_STATUS_AMP")]
    AmpConnectionStatus,
    #[serde(rename = "AMP_FOR_FIREPOWER_STATUS")]
    AmpForFirepowerStatus,
    #[serde(rename = "LOCAL_MALWARE_ANALYSIS")]
    LocalMalwareAnalysis,
    #[serde(rename = "SMART_LICENSE")]
    SmartLicense,
    #[serde(rename = "URLFILTER")]
    UrlFiltering,
    #[serde(rename = "SECURITY_INTELLIGENCE")]
    SecurityIntelligence,
}

impl FmcModule {
    pub(crate) const ALL: [FmcModule; 8] = [
        FmcModule::ThreatDataUpdates,
        FmcModule::SseConnectionStatus,
        FmcModule::AmpConnectionStatus,
        FmcModule::AmpForFirepowerStatus,
        FmcModule::LocalMalwareAnalysis,
        FmcModule::SmartLicense,
        FmcModule::UrlFiltering,
        FmcModule::SecurityIntelligence,
    ];

    /// The `moduleID` the API uses (also the `fmc_module` label value).
    pub(crate) fn id(self) -> &'static str {
        match self {
            FmcModule::ThreatDataUpdates => "THREAT_DATA_UPDATES",
            FmcModule::SseConnectionStatus => "CONN_STATUS_SSE",
            FmcModule::AmpConnectionStatus => "CONN_STATUS_AMP",
            FmcModule::AmpForFirepowerStatus => "AMP_FOR_FIREPOWER_STATUS",
            FmcModule::LocalMalwareAnalysis => "LOCAL_MALWARE_ANALYSIS",
            FmcModule::SmartLicense => "SMART_LICENSE",
            FmcModule::UrlFiltering => "URLFILTER",
            FmcModule::SecurityIntelligence => "SECURITY_INTELLIGENCE",
        }
    }

    /// The module as the management center's health monitor names it.
    pub(crate) fn title(self) -> &'static str {
        match self {
            FmcModule::ThreatDataUpdates => "Threat Data Updates on Devices",
            FmcModule::SseConnectionStatus => "SSE Connection Status",
            FmcModule::AmpConnectionStatus => "AMP Connection Status",
            FmcModule::AmpForFirepowerStatus => "AMP for Firepower Status",
            FmcModule::LocalMalwareAnalysis => "Local Malware Analysis",
            FmcModule::SmartLicense => "Smart License Monitor",
            FmcModule::UrlFiltering => "URL Filtering Monitor",
            FmcModule::SecurityIntelligence => "Security Intelligence",
        }
    }

    /// The row of this exporter the module speaks for as a whole (none for Threat Data Updates,
    /// whose rows its text names, and for modules read for the page only).
    pub(crate) fn service(self) -> Option<Service> {
        match self {
            FmcModule::SseConnectionStatus => Some(Service::CiscoCloudConfiguration),
            FmcModule::AmpConnectionStatus | FmcModule::AmpForFirepowerStatus => {
                Some(Service::AmpConnectionStatus)
            }
            FmcModule::LocalMalwareAnalysis => Some(Service::LocalMalwareAnalysisSignatures),
            FmcModule::ThreatDataUpdates
            | FmcModule::SmartLicense
            | FmcModule::UrlFiltering
            | FmcModule::SecurityIntelligence => None,
        }
    }

    /// The module of a `moduleID`; `None` for one this exporter does not read.
    pub(crate) fn from_id(id: &str) -> Option<FmcModule> {
        FmcModule::ALL.into_iter().find(|m| m.id() == id)
    }
}

/// The status of a health alert as the management center reports it (`status` of its health
/// alerts); `Unknown` for a word the specification does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FmcStatus {
    Green,
    Yellow,
    Red,
    Error,
    Disabled,
    Recovered,
    /// The cloud-delivered FMC's word for a failed check.
    Failed,
    Unknown,
}

impl FmcStatus {
    pub(crate) const ALL: [FmcStatus; 8] = [
        FmcStatus::Green,
        FmcStatus::Yellow,
        FmcStatus::Red,
        FmcStatus::Error,
        FmcStatus::Disabled,
        FmcStatus::Recovered,
        FmcStatus::Failed,
        FmcStatus::Unknown,
    ];

    pub(crate) fn parse(word: &str) -> FmcStatus {
        FmcStatus::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(word.trim()))
            .unwrap_or(FmcStatus::Unknown)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            FmcStatus::Green => "green",
            FmcStatus::Yellow => "yellow",
            FmcStatus::Red => "red",
            FmcStatus::Error => "error",
            FmcStatus::Disabled => "disabled",
            FmcStatus::Recovered => "recovered",
            FmcStatus::Failed => "failed",
            FmcStatus::Unknown => "unknown",
        }
    }

    /// The word the FMC's health page shows for this status in a row.
    pub(crate) fn title(self) -> &'static str {
        match self {
            FmcStatus::Green | FmcStatus::Recovered => "Success",
            FmcStatus::Yellow => "Warning",
            FmcStatus::Red | FmcStatus::Error | FmcStatus::Failed => "Failure",
            FmcStatus::Disabled => "Disabled",
            FmcStatus::Unknown => "Unknown",
        }
    }

    pub(crate) fn is_failure(self) -> bool {
        matches!(self, FmcStatus::Red | FmcStatus::Error | FmcStatus::Failed)
    }
}

/// The rows of "Threat Data Updates on Devices" a text names, each with the status word that
/// follows its name up to the next row's name (`Failure`, `Success`…), in the order they appear.
/// The FMC's API does not say how a row shows inside an alert, so the text is read tolerantly:
/// no row named is no row, never a guess.
pub(crate) fn rows_named_in(text: &str) -> Vec<(&'static str, Option<FmcStatus>)> {
    let lower = text.to_ascii_lowercase();
    let mut found: Vec<(usize, &'static str)> = Vec::new();
    for (title, _) in THREAT_DATA_UPDATES_ROWS {
        let needle = title.to_ascii_lowercase();
        if let Some(at) = lower.find(&needle)
            && !found.iter().any(|(_, t)| *t == title)
        {
            found.push((at, title));
        }
    }
    found.sort_unstable();
    let mut named = Vec::with_capacity(found.len());
    for (i, &(at, title)) in found.iter().enumerate() {
        let end = found.get(i + 1).map_or(lower.len(), |(next, _)| *next);
        let after = &lower[at + title.len()..end];
        let status = if after.contains("fail") || after.contains("error") {
            Some(FmcStatus::Red)
        } else if after.contains("success") || after.contains(" ok") {
            Some(FmcStatus::Green)
        } else if after.contains("disabled") {
            Some(FmcStatus::Disabled)
        } else {
            None
        };
        named.push((title, status));
    }
    named
}

/// The snake-case label of a row title ("Cisco Cloud Configuration" → `cisco_cloud_configuration`).
pub(crate) fn row_label(title: &str) -> String {
    title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join("_")
}

/// The row a title of "Threat Data Updates on Devices" stands for, if a target can stand for it.
pub(crate) fn service_of_row(title: &str) -> Option<Service> {
    THREAT_DATA_UPDATES_ROWS
        .iter()
        .find(|(t, _)| *t == title)
        .and_then(|(_, s)| *s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_service_is_named_once_in_the_fmc_vocabulary() {
        for service in Service::ALL {
            assert_eq!(Service::from_name(service.as_str()), Some(service));
            let rows = THREAT_DATA_UPDATES_ROWS
                .iter()
                .filter(|(_, s)| *s == Some(service))
                .count();
            match service.module() {
                Module::ThreatDataUpdates => assert_eq!(rows, 1, "{service}"),
                Module::AmpConnectionStatus => assert_eq!(rows, 0, "{service}"),
            }
        }
        assert_eq!(
            Service::former_name("amp_cloud_lookups"),
            Some(Service::AmpConnectionStatus)
        );
    }

    #[test]
    fn rows_are_found_in_the_text_of_an_alert_with_their_own_status() {
        let named = rows_named_in(
            "Cisco Cloud Configuration - Failure; Local Malware Analysis Signatures - Success",
        );
        assert_eq!(
            named,
            vec![
                ("Cisco Cloud Configuration", Some(FmcStatus::Red)),
                ("Local Malware Analysis Signatures", Some(FmcStatus::Green)),
            ]
        );
        assert!(rows_named_in("Disk usage 91%").is_empty());
        assert_eq!(
            rows_named_in("cisco cloud configuration"),
            vec![("Cisco Cloud Configuration", None)]
        );
        assert_eq!(
            row_label("SI SHA Lists (From TID)"),
            "si_sha_lists_from_tid"
        );
        assert_eq!(FmcStatus::parse("RED"), FmcStatus::Red);
        assert_eq!(FmcStatus::parse("purple"), FmcStatus::Unknown);
    }
}
