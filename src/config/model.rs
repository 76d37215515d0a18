//! The validated configuration the exporter runs: typed targets, checks, resolvers and proxies.
//! Built only by `validate.rs`; every other module reads it.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName};

use super::raw::{DnsProtocol, IpPreference};
use crate::checklist::Service;

/// Default time each stage may take (a scrape's budget caps it further).
pub(crate) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Default age under which a previous result is served again instead of probing anew.
pub(crate) const DEFAULT_MIN_INTERVAL: Duration = Duration::from_secs(5);
/// Default largest tolerated difference between the server's `Date` and the local clock.
pub(crate) const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(60);
/// Default cap on targets probed at once: enough for 10 000 targets a WAN round trip away to fit
/// a 10 s scrape (docs/performance.md); each probe holds one or two sockets at a time.
pub(crate) const DEFAULT_MAX_CONCURRENT_PROBES: usize = 1024;
/// The resolver file used when a target names no DNS servers.
pub(crate) const DEFAULT_RESOLV_CONF: &str = "/etc/resolv.conf";

/// The Cisco cloud regions with an embedded target list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Region {
    Us,
    Eu,
    Apjc,
}

impl Region {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Region::Us => "us",
            Region::Eu => "eu",
            Region::Apjc => "apjc",
        }
    }

    pub(crate) fn embedded(self) -> &'static str {
        match self {
            Region::Us => include_str!("defaults/us.yaml"),
            Region::Eu => include_str!("defaults/eu.yaml"),
            Region::Apjc => include_str!("defaults/apjc.yaml"),
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Region> {
        [Region::Us, Region::Eu, Region::Apjc]
            .into_iter()
            .find(|r| r.as_str() == name)
    }
}

/// The validated configuration the exporter runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where it came from (a path, or "embedded default (us)"), for messages and the status page.
    pub(crate) source: String,
    pub(crate) cloud_integration_enabled: bool,
    pub(crate) max_concurrent_probes: usize,
    pub(crate) targets: Vec<Arc<Target>>,
    pub(crate) path_trace: PathTraceSettings,
    /// The management center read beside the probes (`fmc:`), if any.
    pub(crate) fmc: Option<Arc<FmcSettings>>,
}

/// When and how far the path to a failing port is traced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PathTraceSettings {
    pub(crate) enabled: bool,
    /// At most one trace per target and port in this time.
    pub(crate) interval: Duration,
    pub(crate) max_hops: u8,
    /// How long each hop's attempt waits for an answer.
    pub(crate) hop_timeout: Duration,
    /// Traces running at once, across targets.
    pub(crate) max_concurrent: usize,
}

impl Default for PathTraceSettings {
    fn default() -> Self {
        PathTraceSettings {
            enabled: true,
            interval: Duration::from_secs(600),
            max_hops: 30,
            hop_timeout: Duration::from_secs(2),
            max_concurrent: 4,
        }
    }
}

/// One endpoint and the checks run against it.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    pub(crate) name: String,
    pub(crate) host: String,
    pub(crate) service: Service,
    /// Where the host name comes from (`configured` for your own targets).
    pub(crate) source: &'static str,
    /// Who talks to it (empty when not said).
    pub(crate) used_by: &'static str,
    pub(crate) dns: bool,
    pub(crate) tcp_ports: Vec<u16>,
    pub(crate) tls: Option<TlsCheck>,
    pub(crate) http: Option<HttpCheck>,
    pub(crate) resolver: ResolverSpec,
    pub(crate) ip_preference: IpPreference,
    pub(crate) timeout: Duration,
    pub(crate) min_interval: Duration,
    pub(crate) max_clock_skew: Duration,
    pub(crate) proxy: Option<ProxySpec>,
}

/// Whether a target's checklist starts with name resolution: whenever it connects by name itself
/// (through a proxy, the proxy resolves).
pub(crate) fn needs_dns(host: &str, proxy: Option<&ProxySpec>) -> bool {
    proxy.is_none() && host.parse::<std::net::IpAddr>().is_err()
}

impl Config {
    /// Where the configuration came from, for messages.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// How many targets it probes.
    pub fn target_count(&self) -> usize {
        self.targets.len()
    }

    /// The configured target names, in configuration order (what `/probe?target=` accepts).
    pub fn target_names(&self) -> Vec<&str> {
        self.targets.iter().map(|t| t.name.as_str()).collect()
    }
}

impl Target {
    /// The ports a connection is opened to: the TCP checks' ports, then the TLS port.
    pub(crate) fn connect_ports(&self) -> Vec<u16> {
        let mut ports = self.tcp_ports.clone();
        if let Some(tls) = &self.tls
            && !ports.contains(&tls.port)
        {
            ports.push(tls.port);
        }
        ports
    }
}

#[derive(Debug, Clone)]
pub(crate) struct TlsCheck {
    pub(crate) port: u16,
    pub(crate) server_name: ServerName<'static>,
    /// Extra trust anchors (the `ca_file` PEM), beside the embedded Mozilla roots.
    /// Shared by every target naming the same file: read and kept once.
    pub(crate) extra_roots: Arc<[CertificateDer<'static>]>,
}

#[derive(Debug, Clone)]
pub(crate) struct HttpCheck {
    pub(crate) path: String,
    pub(crate) expected_status: Vec<u16>,
}

/// Which DNS resolver a target uses. Targets with equal specs share one resolver.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ResolverSpec {
    /// The servers of a resolv.conf file, read again on every probe.
    System { resolv_conf: PathBuf },
    Servers {
        servers: Vec<SocketAddr>,
        protocol: DnsProtocol,
    },
}

impl fmt::Display for ResolverSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResolverSpec::System { resolv_conf } => write!(f, "system ({})", resolv_conf.display()),
            ResolverSpec::Servers { servers, protocol } => {
                let list: Vec<String> = servers.iter().map(ToString::to_string).collect();
                let proto = match protocol {
                    DnsProtocol::Udp => "udp",
                    DnsProtocol::Tcp => "tcp",
                };
                write!(f, "{} ({proto})", list.join(", "))
            }
        }
    }
}

/// An HTTP proxy used for CONNECT tunnels. Its password never leaves this struct in any printable
/// form: `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ProxySpec {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) credentials: Option<Credentials>,
}

#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Credentials {
    pub(crate) user: String,
    password: String,
}

impl Credentials {
    pub(crate) fn new(user: String, password: String) -> Self {
        Credentials { user, password }
    }

    /// The secret itself, for the authentication exchange only.
    pub(crate) fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Credentials {{ user: {:?}, password: <redacted> }}",
            self.user
        )
    }
}

impl fmt::Display for ProxySpec {
    /// `http://user@host:port`: the password is never shown.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.credentials {
            Some(c) => write!(f, "http://{}@{}:{}", c.user, self.host, self.port),
            None => write!(f, "http://{}:{}", self.host, self.port),
        }
    }
}

impl fmt::Debug for ProxySpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProxySpec({self})")
    }
}

/// The validated `fmc:` section.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct FmcSettings {
    /// `https://host[:port]`, without a path.
    pub(crate) base: String,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The user and password; for a cloud-delivered FMC, no user and the API token.
    pub(crate) credentials: Credentials,
    /// Where the password (or the token) came from: read again while a rejected one is held
    /// back, so a fixed file is used at once.
    pub(crate) password_file: std::path::PathBuf,
    pub(crate) auth: FmcAuth,
    /// The HTTP proxy the API is reached through, if any.
    pub(crate) proxy: Option<ProxySpec>,
    pub(crate) trust: FmcTrust,
    /// The domains read, as configured (names; UUIDs for a cloud-delivered FMC); `all`: every
    /// domain the user can see.
    pub(crate) domains: Vec<String>,
    pub(crate) poll_interval: Duration,
    pub(crate) timeout: Duration,
    /// Device names to read; empty: every device of the domain.
    pub(crate) devices: Vec<String>,
}

impl fmt::Debug for FmcSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FmcSettings({} as {}, domains {}, every {:?})",
            self.base,
            self.credentials.user,
            self.domains.join(", "),
            self.poll_interval
        )
    }
}

/// How the exporter authenticates to the management center.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FmcAuth {
    /// An on-premises FMC: `generatetoken` with the user and password, then its session tokens.
    Password,
    /// A cloud-delivered FMC (Security Cloud Control): its API token as `Authorization: Bearer`,
    /// no login and no refresh.
    ApiToken,
}

/// Which certificate the management center may present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FmcTrust {
    /// A chain to the public roots (an FMC with a certificate from a public CA).
    PublicRoots,
    /// A chain to these anchors (`ca_file`: the company CA, or the FMC's self-signed certificate).
    Anchors(Arc<[CertificateDer<'static>]>),
    /// Exactly this certificate, by its SHA-256 (`fingerprint_sha256`).
    Fingerprint([u8; 32]),
    /// Anything (`insecure_skip_verify: true`), logged at every start.
    Anything,
}
