//! The `nslookup` step: resolve the target's name with hickory-resolver and report the answer
//! addresses, the CNAME chain and the response code, or the reason resolution failed.
//!
//! Resolvers are shared: one per distinct resolver configuration, built once. Caching is off so every
//! probe really asks the servers. A system resolver re-reads its resolv.conf on every probe, so
//! fixing the device's DNS settings shows up at the next scrape.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
    ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::RData;
use serde::Serialize;
use tokio::time::Instant;

use super::error::StageError;
use crate::checklist::Reason;
use crate::config::{DnsProtocol, IpPreference, ResolverSpec};

/// What the DNS step found.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct DnsFacts {
    /// The response code as `nslookup` would print it (`NOERROR`, `NXDOMAIN`, …), when there was one.
    pub(crate) rcode: Option<String>,
    /// The resolver that was asked (servers and protocol, or the resolv.conf it came from).
    pub(crate) resolver: String,
    /// The server that gave the answer (or the failing response code), as `ip:port`.
    pub(crate) server: Option<String>,
    /// Each CNAME target in order, e.g. `api-sse.cisco.com.akadns.net.`.
    pub(crate) cname_chain: Vec<String>,
    pub(crate) addresses: Vec<IpAddr>,
}

/// `2 address(es): 192.0.2.1, 192.0.2.2`, the detail of a resolution that succeeded.
pub(crate) fn describe(facts: &DnsFacts) -> String {
    let addrs: Vec<String> = facts.addresses.iter().map(ToString::to_string).collect();
    format!("{} address(es): {}", addrs.len(), addrs.join(", "))
}

type Key = (ResolverSpec, IpPreference);

/// One resolver per name server, in configuration order, so a probe can say which server answered.
type ServerList = Arc<Vec<(SocketAddr, TokioResolver)>>;

/// The shared resolvers, keyed by configuration.
#[derive(Default)]
pub(crate) struct Resolvers {
    entries: Mutex<HashMap<Key, Arc<Entry>>>,
}

enum Entry {
    Fixed(ServerList),
    /// Rebuilt when the file's content changes.
    System {
        path: PathBuf,
        current: Mutex<Option<(Vec<u8>, ServerList)>>,
    },
}

fn server_list(name_servers: Vec<NameServerConfig>, options: &ResolverOpts) -> ServerList {
    Arc::new(
        name_servers
            .into_iter()
            .map(|ns| {
                let port = ns.connections.first().map_or(53, |c| c.port);
                let addr = SocketAddr::new(ns.ip, port);
                (
                    addr,
                    build(ResolverConfig::from_name_servers(vec![ns]), options.clone()),
                )
            })
            .collect(),
    )
}

impl Resolvers {
    fn entry(&self, spec: &ResolverSpec, pref: IpPreference) -> Arc<Entry> {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .entry((spec.clone(), pref))
            .or_insert_with(|| {
                Arc::new(match spec {
                    ResolverSpec::Servers { servers, protocol } => {
                        let name_servers = servers
                            .iter()
                            .map(|addr| {
                                // UDP first with TCP beside it: a truncated answer (TC bit) is
                                // asked again over TCP, as a stub resolver does.
                                let mut conns = match protocol {
                                    DnsProtocol::Udp => {
                                        vec![ConnectionConfig::udp(), ConnectionConfig::tcp()]
                                    }
                                    DnsProtocol::Tcp => vec![ConnectionConfig::tcp()],
                                };
                                for conn in &mut conns {
                                    conn.port = addr.port();
                                }
                                NameServerConfig::new(addr.ip(), true, conns)
                            })
                            .collect();
                        Entry::Fixed(server_list(
                            name_servers,
                            &probe_options(ResolverOpts::default(), pref),
                        ))
                    }
                    ResolverSpec::System { resolv_conf } => Entry::System {
                        path: resolv_conf.clone(),
                        current: Mutex::new(None),
                    },
                })
            })
            .clone()
    }

    /// Resolves `host` as the target's configuration says, before `deadline`. Servers are asked in
    /// order, each with its share of the remaining time; a server that fails (timeout, SERVFAIL,
    /// REFUSED) hands over to the next, while NXDOMAIN or an empty answer is final, as in a stub
    /// resolver.
    pub(crate) async fn resolve(
        &self,
        host: &str,
        spec: &ResolverSpec,
        pref: IpPreference,
        deadline: Instant,
    ) -> (DnsFacts, Result<(), StageError>) {
        let mut facts = DnsFacts {
            resolver: spec.to_string(),
            ..DnsFacts::default()
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            facts.addresses.push(ip);
            return (facts, Ok(()));
        }
        let servers = match self.entry(spec, pref).as_ref() {
            Entry::Fixed(list) => list.clone(),
            Entry::System { path, current } => match system_servers(path, current, pref).await {
                Ok(list) => list,
                Err(failure) => return (facts, Err(failure)),
            },
        };
        let fqdn = if host.ends_with('.') {
            host.to_string()
        } else {
            format!("{host}.")
        };
        // The most telling failure so far: an answer (SERVFAIL, REFUSED…) beats silence.
        let mut failure: Option<(Reason, Option<&'static str>, Option<SocketAddr>, String)> = None;
        for (i, (addr, resolver)) in servers.iter().enumerate() {
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let share = (deadline - now) / (servers.len() - i) as u32;
            match tokio::time::timeout(share, resolver.lookup_ip(fqdn.as_str())).await {
                Ok(Ok(lookup)) => {
                    facts.server = Some(addr.to_string());
                    facts.rcode = Some("NOERROR".into());
                    for record in lookup.as_lookup().answers() {
                        match &record.data {
                            RData::CNAME(target) => facts.cname_chain.push(target.0.to_string()),
                            RData::A(a) => facts.addresses.push(IpAddr::V4(a.0)),
                            RData::AAAA(a) => facts.addresses.push(IpAddr::V6(a.0)),
                            _ => {}
                        }
                    }
                    if facts.addresses.is_empty() {
                        let detail = format!("{host}: the answer from {addr} holds no address");
                        let failure = StageError::new(Reason::DnsNoAnswer, detail);
                        return (facts, Err(failure));
                    }
                    return (facts, Ok(()));
                }
                Ok(Err(err)) => {
                    let (reason, rcode) = classify(&err);
                    if matches!(reason, Reason::DnsNxdomain | Reason::DnsNoAnswer) {
                        facts.server = Some(addr.to_string());
                        facts.rcode = rcode.map(str::to_string);
                        let code = rcode.unwrap_or("no address");
                        let failure =
                            StageError::new(reason, format!("{host}: {code} from {addr}"));
                        return (facts, Err(failure));
                    }
                    let detail = match rcode {
                        Some(code) => format!("{host}: {code} from {addr}"),
                        None if reason == Reason::DnsTimeout => {
                            format!("{host}: no answer from {addr}")
                        }
                        None => format!("{host}: {err} ({addr})"),
                    };
                    let answered = reason != Reason::DnsTimeout;
                    if answered || failure.is_none() {
                        failure = Some((reason, rcode, answered.then_some(*addr), detail));
                    }
                }
                Err(_) => {
                    if failure.is_none() {
                        failure = Some((
                            Reason::DnsTimeout,
                            None,
                            None,
                            format!("{host}: no answer from {addr}"),
                        ));
                    }
                }
            }
        }
        let (reason, rcode, server, detail) = failure.unwrap_or_else(|| {
            (
                Reason::DnsTimeout,
                None,
                None,
                format!("{host}: no answer from {spec}"),
            )
        });
        facts.rcode = rcode.map(str::to_string);
        facts.server = server.map(|a| a.to_string());
        (facts, Err(StageError::new(reason, detail)))
    }
}

async fn system_servers(
    path: &Path,
    current: &Mutex<Option<(Vec<u8>, ServerList)>>,
    pref: IpPreference,
) -> Result<ServerList, StageError> {
    let not_configured = |why: String| StageError::new(Reason::DnsNotConfigured, why);
    let content = tokio::fs::read(path)
        .await
        .map_err(|e| not_configured(format!("cannot read {}: {e}", path.display())))?;
    let mut guard = current.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((seen, list)) = guard.as_ref()
        && *seen == content
    {
        return Ok(list.clone());
    }
    let (config, options) =
        hickory_resolver::system_conf::parse_resolv_conf(&content).map_err(|_| {
            not_configured(format!(
                "{} names no DNS server (no `nameserver` line)",
                path.display()
            ))
        })?;
    if config.name_servers().is_empty() {
        return Err(not_configured(format!(
            "{} names no DNS server",
            path.display()
        )));
    }
    let list = server_list(
        config.name_servers().to_vec(),
        &probe_options(options, pref),
    );
    *guard = Some((content, list.clone()));
    Ok(list)
}

fn probe_options(mut options: ResolverOpts, pref: IpPreference) -> ResolverOpts {
    options.ip_strategy = match pref {
        IpPreference::Ipv4 => LookupIpStrategy::Ipv4thenIpv6,
        IpPreference::Ipv6 => LookupIpStrategy::Ipv6thenIpv4,
        IpPreference::Ipv4Only => LookupIpStrategy::Ipv4Only,
        IpPreference::Ipv6Only => LookupIpStrategy::Ipv6Only,
    };
    // A probe must ask the servers every time, like nslookup does.
    options.cache_size = 0;
    options.use_hosts_file = ResolveHosts::Never;
    options.preserve_intermediates = true;
    // The probe's deadline bounds each server's share; one attempt per server keeps it inside.
    options.attempts = 1;
    options.timeout = std::time::Duration::from_secs(30);
    options.max_active_requests = 4096;
    options
}

fn build(config: ResolverConfig, options: ResolverOpts) -> TokioResolver {
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    *builder.options_mut() = options;
    // `build` fails only for DNSSEC or encrypted-transport settings, which are never set here;
    // fall back to a resolver without options rather than panic.
    builder.build().unwrap_or_else(|_| {
        TokioResolver::builder_with_config(
            ResolverConfig::default(),
            TokioRuntimeProvider::default(),
        )
        .build()
        .unwrap_or_else(|_| unreachable!("an empty resolver config always builds"))
    })
}

/// Maps a resolver error to a reason and, when a server answered, the response code it sent. By
/// variant only: a hickory upgrade that rewords a message cannot change a reason.
fn classify(err: &NetError) -> (Reason, Option<&'static str>) {
    match err {
        NetError::Dns(DnsError::NoRecordsFound(no)) => match no.response_code {
            ResponseCode::NXDomain => (Reason::DnsNxdomain, Some("NXDOMAIN")),
            ResponseCode::NoError => (Reason::DnsNoAnswer, Some("NOERROR")),
            code => response_code_reason(code),
        },
        NetError::Dns(DnsError::ResponseCode(code)) => response_code_reason(*code),
        NetError::Timeout => (Reason::DnsTimeout, None),
        NetError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => (Reason::DnsTimeout, None),
        _ => (Reason::DnsError, None),
    }
}

fn response_code_reason(code: ResponseCode) -> (Reason, Option<&'static str>) {
    match code {
        ResponseCode::ServFail => (Reason::DnsServfail, Some("SERVFAIL")),
        ResponseCode::Refused => (Reason::DnsRefused, Some("REFUSED")),
        ResponseCode::NXDomain => (Reason::DnsNxdomain, Some("NXDOMAIN")),
        ResponseCode::FormErr => (Reason::DnsError, Some("FORMERR")),
        ResponseCode::NotImp => (Reason::DnsError, Some("NOTIMP")),
        _ => (Reason::DnsError, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn soon() -> Instant {
        Instant::now() + std::time::Duration::from_secs(2)
    }

    #[tokio::test]
    async fn a_resolv_conf_without_nameserver_is_dns_not_configured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resolv.conf");
        std::fs::write(&path, "search example.com\n").expect("write");
        let spec = ResolverSpec::System { resolv_conf: path };
        let (_, result) = Resolvers::default()
            .resolve("api-sse.cisco.com", &spec, IpPreference::Ipv4, soon())
            .await;
        let failure = result.expect_err("no DNS server configured");
        assert_eq!(failure.reason, Reason::DnsNotConfigured);
        assert!(
            failure.detail.contains("no DNS server"),
            "{}",
            failure.detail
        );
    }

    #[tokio::test]
    async fn a_missing_resolv_conf_is_dns_not_configured() {
        let spec = ResolverSpec::System {
            resolv_conf: PathBuf::from("/nonexistent/resolv.conf"),
        };
        let (_, result) = Resolvers::default()
            .resolve("api-sse.cisco.com", &spec, IpPreference::Ipv4, soon())
            .await;
        assert_eq!(
            result.expect_err("missing").reason,
            Reason::DnsNotConfigured
        );
    }

    /// One case per hickory error variant the classification maps.
    #[test]
    fn resolver_errors_are_classified_by_variant() {
        use hickory_resolver::net::NoRecords;
        use hickory_resolver::proto::op::Query;
        let no_records = |code| {
            NetError::Dns(DnsError::NoRecordsFound(NoRecords::new(
                Query::default(),
                code,
            )))
        };
        let cases = [
            (
                no_records(ResponseCode::NXDomain),
                Reason::DnsNxdomain,
                Some("NXDOMAIN"),
            ),
            (
                no_records(ResponseCode::NoError),
                Reason::DnsNoAnswer,
                Some("NOERROR"),
            ),
            (
                no_records(ResponseCode::ServFail),
                Reason::DnsServfail,
                Some("SERVFAIL"),
            ),
            (
                NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)),
                Reason::DnsServfail,
                Some("SERVFAIL"),
            ),
            (
                NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)),
                Reason::DnsRefused,
                Some("REFUSED"),
            ),
            (
                NetError::Dns(DnsError::ResponseCode(ResponseCode::FormErr)),
                Reason::DnsError,
                Some("FORMERR"),
            ),
            (
                NetError::Dns(DnsError::ResponseCode(ResponseCode::NotImp)),
                Reason::DnsError,
                Some("NOTIMP"),
            ),
            (
                NetError::Dns(DnsError::ResponseCode(ResponseCode::NXDomain)),
                Reason::DnsNxdomain,
                Some("NXDOMAIN"),
            ),
            (NetError::Timeout, Reason::DnsTimeout, None),
            (
                NetError::from(std::io::Error::from(std::io::ErrorKind::TimedOut)),
                Reason::DnsTimeout,
                None,
            ),
            (
                NetError::from(std::io::Error::from(std::io::ErrorKind::ConnectionRefused)),
                Reason::DnsError,
                None,
            ),
            (NetError::Truncated, Reason::DnsError, None),
            (NetError::Busy, Reason::DnsError, None),
            (NetError::NoConnections, Reason::DnsError, None),
            (
                NetError::Message("anything timed out ServFail Refused"),
                Reason::DnsError,
                None,
            ),
        ];
        for (err, reason, rcode) in cases {
            assert_eq!(classify(&err), (reason, rcode), "{err:?}");
        }
    }

    #[tokio::test]
    async fn an_ip_literal_needs_no_lookup() {
        let spec = ResolverSpec::System {
            resolv_conf: PathBuf::from("/nonexistent"),
        };
        let (facts, result) = Resolvers::default()
            .resolve("127.0.0.1", &spec, IpPreference::Ipv4, soon())
            .await;
        assert!(result.is_ok());
        assert_eq!(facts.addresses, vec![IpAddr::from([127, 0, 0, 1])]);
    }
}
