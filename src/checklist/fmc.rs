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
}
