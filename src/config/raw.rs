//! The configuration file as written: serde structs that reject unknown fields and hold every value
//! as the operator typed it. `super::validate` turns them into the typed model.

use std::time::Duration;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    /// `us`, `eu` or `apjc`: which embedded target list to use when `targets` is absent.
    pub(crate) region: Option<String>,
    /// `enabled` (default) or `disabled`: cloud integration switched off on purpose.
    pub(crate) cloud_integration: Option<String>,
    /// How many targets may be probed at once, across all scrapes.
    pub(crate) max_concurrent_probes: Option<usize>,
    /// Settings every target inherits.
    #[serde(default)]
    pub(crate) defaults: RawSettings,
    pub(crate) targets: Option<Vec<RawTarget>>,
    /// Without `targets`: the region's embedded targets to leave out, by name.
    pub(crate) targets_disabled: Option<Vec<String>>,
    /// Without `targets`: targets added to the region's embedded list.
    pub(crate) targets_extra: Option<Vec<RawTarget>>,
    /// Where the path breaks: traces after a TCP failure.
    pub(crate) path_trace: Option<RawPathTrace>,
    /// The management center whose health alerts are read beside the probes.
    pub(crate) fmc: Option<RawFmc>,
}

/// `fmc:` of the configuration: where the management center's REST API is and how to log in.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFmc {
    /// `https://host[:port]`.
    pub(crate) url: Option<String>,
    pub(crate) username: Option<String>,
    /// A file whose first line is the password (the password never sits in this file).
    pub(crate) password_file: Option<String>,
    /// A cloud-delivered FMC: a file whose first line is its API token (instead of `username` and
    /// `password_file`).
    pub(crate) token_file: Option<String>,
    /// PEM file of the CA (or the self-signed certificate) the management center presents.
    pub(crate) ca_file: Option<String>,
    /// SHA-256 of the certificate the management center presents, hex (colons allowed).
    pub(crate) fingerprint_sha256: Option<String>,
    /// Accept any certificate: logged loudly at every start.
    pub(crate) insecure_skip_verify: Option<bool>,
    /// Domain name as the FMC shows it (`Global`, `Global/Branches`).
    pub(crate) domain: Option<String>,
    /// Several domains, each read with its devices (`all`: every domain the user can see).
    pub(crate) domains: Option<Vec<String>>,
    /// An HTTP proxy to reach the management center through (a cloud-delivered FMC from a
    /// network without a direct way out).
    pub(crate) proxy: Option<RawProxy>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) poll_interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) timeout: Option<Duration>,
    /// Device names as the FMC shows them; absent: every device of the domain.
    pub(crate) devices: Option<Vec<String>>,
}

/// `path_trace:` of the configuration.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPathTrace {
    pub(crate) enabled: Option<bool>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) interval: Option<Duration>,
    pub(crate) max_hops: Option<u8>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) hop_timeout: Option<Duration>,
    pub(crate) max_concurrent: Option<usize>,
}

/// Settings a target can set itself or inherit from `defaults`.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSettings {
    #[serde(default, with = "humantime_serde")]
    pub(crate) timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) min_interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) max_clock_skew: Option<Duration>,
    pub(crate) ip_preference: Option<IpPreference>,
    pub(crate) dns: Option<RawDns>,
    pub(crate) tls: Option<RawTls>,
    pub(crate) http: Option<RawHttp>,
    pub(crate) proxy: Option<RawProxy>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDns {
    /// `ip` or `ip:port`; absent or empty means the system resolver (`resolv_conf`).
    pub(crate) servers: Option<Vec<String>>,
    pub(crate) protocol: Option<DnsProtocol>,
    /// The resolver file used when no servers are given.
    pub(crate) resolv_conf: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub(crate) server_name: Option<String>,
    pub(crate) ca_file: Option<String>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHttp {
    pub(crate) path: Option<String>,
    pub(crate) expected_status: Option<Vec<u16>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProxy {
    /// `http://[user[:password]@]host:port`; an empty string disables an inherited proxy.
    pub(crate) url: Option<String>,
    /// A file whose first line is the proxy password (keeps it out of the config file).
    pub(crate) password_file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTarget {
    pub(crate) name: String,
    pub(crate) host: String,
    pub(crate) service: String,
    /// Where the host name comes from: `cisco` (a Cisco document), `secondary` (another source
    /// only), `troubleshooting_note` (Cisco's troubleshooting note for this alert only); absent
    /// for your own targets.
    pub(crate) source: Option<Provenance>,
    /// Who talks to the host: `device`, `management_center` or `both`.
    pub(crate) used_by: Option<UsedBy>,
    pub(crate) checks: Option<Vec<Check>>,
    pub(crate) tcp_ports: Option<Vec<u16>>,
    pub(crate) tls_port: Option<u16>,
    // The settings below mirror `RawSettings`: serde cannot deny unknown fields through `flatten`.
    #[serde(default, with = "humantime_serde")]
    pub(crate) timeout: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) min_interval: Option<Duration>,
    #[serde(default, with = "humantime_serde")]
    pub(crate) max_clock_skew: Option<Duration>,
    pub(crate) ip_preference: Option<IpPreference>,
    pub(crate) dns: Option<RawDns>,
    pub(crate) tls: Option<RawTls>,
    pub(crate) http: Option<RawHttp>,
    pub(crate) proxy: Option<RawProxy>,
}

impl RawTarget {
    /// The target's own settings, before inheritance.
    pub(crate) fn settings(&self) -> RawSettings {
        RawSettings {
            timeout: self.timeout,
            min_interval: self.min_interval,
            max_clock_skew: self.max_clock_skew,
            ip_preference: self.ip_preference,
            dns: self.dns.clone(),
            tls: self.tls.clone(),
            http: self.http.clone(),
            proxy: self.proxy.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Check {
    Dns,
    Tcp,
    Tls,
    Http,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum IpPreference {
    /// IPv4 first, IPv6 when the name has no A record.
    #[default]
    Ipv4,
    /// IPv6 first, IPv4 when the name has no AAAA record.
    Ipv6,
    Ipv4Only,
    Ipv6Only,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DnsProtocol {
    #[default]
    Udp,
    Tcp,
}

impl RawSettings {
    /// Field by field: what `self` sets wins, the rest comes from `parent`.
    pub(crate) fn inherit(&self, parent: &RawSettings) -> RawSettings {
        fn section<T: Clone>(
            own: Option<&T>,
            parent: Option<&T>,
            merge: impl Fn(&T, &T) -> T,
        ) -> Option<T> {
            match (own, parent) {
                (Some(o), Some(p)) => Some(merge(o, p)),
                (Some(o), None) => Some(o.clone()),
                (None, p) => p.cloned(),
            }
        }
        RawSettings {
            timeout: self.timeout.or(parent.timeout),
            min_interval: self.min_interval.or(parent.min_interval),
            max_clock_skew: self.max_clock_skew.or(parent.max_clock_skew),
            ip_preference: self.ip_preference.or(parent.ip_preference),
            dns: section(self.dns.as_ref(), parent.dns.as_ref(), |o, p| RawDns {
                servers: o.servers.clone().or_else(|| p.servers.clone()),
                protocol: o.protocol.or(p.protocol),
                resolv_conf: o.resolv_conf.clone().or_else(|| p.resolv_conf.clone()),
            }),
            tls: section(self.tls.as_ref(), parent.tls.as_ref(), |o, p| RawTls {
                server_name: o.server_name.clone().or_else(|| p.server_name.clone()),
                ca_file: o.ca_file.clone().or_else(|| p.ca_file.clone()),
            }),
            http: section(self.http.as_ref(), parent.http.as_ref(), |o, p| RawHttp {
                path: o.path.clone().or_else(|| p.path.clone()),
                expected_status: o
                    .expected_status
                    .clone()
                    .or_else(|| p.expected_status.clone()),
            }),
            proxy: section(self.proxy.as_ref(), parent.proxy.as_ref(), |o, p| {
                RawProxy {
                    url: o.url.clone().or_else(|| p.url.clone()),
                    password_file: o.password_file.clone().or_else(|| p.password_file.clone()),
                }
            }),
        }
    }
}

/// Where an embedded host name comes from (`firepower_cloud_target_info{source}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Provenance {
    Cisco,
    Secondary,
    /// Cisco's troubleshooting note for the Cloud Configuration failure, and nothing else.
    #[serde(alias = "seed")]
    TroubleshootingNote,
}

impl Provenance {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Provenance::Cisco => "cisco",
            Provenance::Secondary => "secondary",
            Provenance::TroubleshootingNote => "troubleshooting_note",
        }
    }
}

/// Who talks to a Cisco cloud host: the managed device, the management center, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum UsedBy {
    Device,
    ManagementCenter,
    Both,
}

impl UsedBy {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            UsedBy::Device => "device",
            UsedBy::ManagementCenter => "management_center",
            UsedBy::Both => "both",
        }
    }
}
