//! The `nslookup` step: resolve the target's name with hickory-resolver and report the answer
//! addresses, the CNAME chain and the response code, or the reason resolution failed.
//!
//! Resolvers are shared: one per distinct resolver configuration, built once. Caching is off so every
//! probe really asks the servers. A system resolver re-reads its resolv.conf on every probe, so
//! fixing the device's DNS settings shows up at the next scrape.

use std::collections::HashMap;
use std::net::IpAddr;
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

use crate::config::{DnsProtocol, IpPreference, ResolverSpec};
use crate::diagnosis::Reason;

/// What the DNS step found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DnsFacts {
    /// The response code as `nslookup` would print it (`NOERROR`, `NXDOMAIN`, …), when there was one.
    pub rcode: Option<String>,
    /// The resolver that was asked (servers and protocol, or the resolv.conf it came from).
    pub resolver: String,
    /// Each CNAME target in order, e.g. `api-sse.cisco.com.akadns.net.`.
    pub cname_chain: Vec<String>,
    pub addresses: Vec<IpAddr>,
}

/// A failed resolution: the reason and the text for a person.
#[derive(Debug, Clone)]
pub struct DnsFailure {
    pub reason: Reason,
    pub detail: String,
}

type Key = (ResolverSpec, IpPreference);

/// The shared resolvers, keyed by configuration.
#[derive(Default)]
pub struct Resolvers {
    entries: Mutex<HashMap<Key, Arc<Entry>>>,
}

enum Entry {
    Fixed(TokioResolver),
    /// Rebuilt when the file's content changes.
    System {
        path: PathBuf,
        current: Mutex<Option<(Vec<u8>, TokioResolver)>>,
    },
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
                                let mut conn = match protocol {
                                    DnsProtocol::Udp => ConnectionConfig::udp(),
                                    DnsProtocol::Tcp => ConnectionConfig::tcp(),
                                };
                                conn.port = addr.port();
                                NameServerConfig::new(addr.ip(), true, vec![conn])
                            })
                            .collect();
                        let config = ResolverConfig::from_name_servers(name_servers);
                        Entry::Fixed(build(config, probe_options(ResolverOpts::default(), pref)))
                    }
                    ResolverSpec::System { resolv_conf } => Entry::System {
                        path: resolv_conf.clone(),
                        current: Mutex::new(None),
                    },
                })
            })
            .clone()
    }

    /// Resolves `host` as the target's configuration says.
    pub async fn resolve(
        &self,
        host: &str,
        spec: &ResolverSpec,
        pref: IpPreference,
    ) -> (DnsFacts, Result<(), DnsFailure>) {
        let mut facts = DnsFacts {
            resolver: spec.to_string(),
            ..DnsFacts::default()
        };
        if let Ok(ip) = host.parse::<IpAddr>() {
            facts.addresses.push(ip);
            return (facts, Ok(()));
        }
        let resolver = match self.entry(spec, pref).as_ref() {
            Entry::Fixed(r) => r.clone(),
            Entry::System { path, current } => match system_resolver(path, current, pref).await {
                Ok(r) => r,
                Err(failure) => return (facts, Err(failure)),
            },
        };
        let fqdn = if host.ends_with('.') {
            host.to_string()
        } else {
            format!("{host}.")
        };
        match resolver.lookup_ip(fqdn.as_str()).await {
            Ok(lookup) => {
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
                    let detail = format!("{host}: the answer holds no address");
                    return (
                        facts,
                        Err(DnsFailure {
                            reason: Reason::DnsNoAnswer,
                            detail,
                        }),
                    );
                }
                (facts, Ok(()))
            }
            Err(err) => {
                let (reason, rcode) = classify(&err);
                facts.rcode = rcode.map(str::to_string);
                let detail = match rcode {
                    Some(code) => format!("{host}: {code} from {spec}"),
                    None if reason == Reason::DnsTimeout => {
                        format!("{host}: no answer from {spec}")
                    }
                    None => format!("{host}: {err} ({spec})"),
                };
                (facts, Err(DnsFailure { reason, detail }))
            }
        }
    }
}

async fn system_resolver(
    path: &Path,
    current: &Mutex<Option<(Vec<u8>, TokioResolver)>>,
    pref: IpPreference,
) -> Result<TokioResolver, DnsFailure> {
    let not_configured = |why: String| DnsFailure {
        reason: Reason::DnsNotConfigured,
        detail: why,
    };
    let content = tokio::fs::read(path)
        .await
        .map_err(|e| not_configured(format!("cannot read {}: {e}", path.display())))?;
    let mut guard = current.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((seen, resolver)) = guard.as_ref()
        && *seen == content
    {
        return Ok(resolver.clone());
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
    let resolver = build(config, probe_options(options, pref));
    *guard = Some((content, resolver.clone()));
    Ok(resolver)
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
    // The probe's own deadline bounds the whole lookup; one attempt per server keeps it inside.
    options.attempts = 1;
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

/// Maps a resolver error to a reason and, when a server answered, the response code it sent.
fn classify(err: &NetError) -> (Reason, Option<&'static str>) {
    match err {
        NetError::Dns(DnsError::NoRecordsFound(no)) => match no.response_code {
            ResponseCode::NXDomain => (Reason::DnsNxdomain, Some("NXDOMAIN")),
            _ => (Reason::DnsNoAnswer, Some("NOERROR")),
        },
        NetError::Dns(DnsError::ResponseCode(code)) => response_code_reason(*code),
        NetError::Timeout => (Reason::DnsTimeout, None),
        NetError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => (Reason::DnsTimeout, None),
        other => {
            let text = other.to_string();
            if text.contains("timed out") {
                (Reason::DnsTimeout, None)
            } else if text.contains("ServFail") || text.contains("SERVFAIL") {
                (Reason::DnsServfail, Some("SERVFAIL"))
            } else if text.contains("Refused") {
                (Reason::DnsRefused, Some("REFUSED"))
            } else {
                (Reason::DnsError, None)
            }
        }
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

    #[tokio::test]
    async fn a_resolv_conf_without_nameserver_is_dns_not_configured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resolv.conf");
        std::fs::write(&path, "search example.com\n").expect("write");
        let spec = ResolverSpec::System { resolv_conf: path };
        let (_, result) = Resolvers::default()
            .resolve("api-sse.cisco.com", &spec, IpPreference::Ipv4)
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
            .resolve("api-sse.cisco.com", &spec, IpPreference::Ipv4)
            .await;
        assert_eq!(
            result.expect_err("missing").reason,
            Reason::DnsNotConfigured
        );
    }

    #[tokio::test]
    async fn an_ip_literal_needs_no_lookup() {
        let spec = ResolverSpec::System {
            resolv_conf: PathBuf::from("/nonexistent"),
        };
        let (facts, result) = Resolvers::default()
            .resolve("127.0.0.1", &spec, IpPreference::Ipv4)
            .await;
        assert!(result.is_ok());
        assert_eq!(facts.addresses, vec![IpAddr::from([127, 0, 0, 1])]);
    }
}
