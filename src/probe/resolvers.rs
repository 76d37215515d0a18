//! The name servers the DNS step asks, in configuration order, so a probe can say which server
//! answered; their settings are shared by every target with the same configuration. Caching is off
//! so every probe really asks the servers, and a system resolver re-reads its resolv.conf on every
//! probe, so fixing the device's DNS settings shows up at the next scrape.
//!
//! Each lookup gets a resolver of its own (building one does no I/O): hickory keeps one TCP
//! connection per server inside a resolver and sends every query over it, so with a shared
//! resolver a name the server never answers would hold every other target's query behind it on a
//! server that answers TCP one query at a time per connection, as dnsmasq does. Queries go over
//! UDP; TCP only after a truncated answer, on a connection of that lookup's own.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
    ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;

use super::detail::DnsDetail;
use super::error::StageError;
use crate::checklist::Reason;
use crate::config::{DnsProtocol, IpPreference, ResolverSpec};

type Key = (ResolverSpec, IpPreference);

/// The name servers, in configuration order, so a probe can say which server answered.
pub(super) type ServerList = Arc<Vec<NameServer>>;

/// One name server and the settings a lookup's resolver is built from.
pub(super) struct NameServer {
    pub(super) addr: SocketAddr,
    config: ResolverConfig,
    options: ResolverOpts,
}

impl NameServer {
    /// A resolver for one lookup, sharing no connection with any other lookup.
    pub(super) fn resolver(&self) -> TokioResolver {
        build(self.config.clone(), self.options.clone())
    }
}

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
                NameServer {
                    addr: SocketAddr::new(ns.ip, port),
                    config: ResolverConfig::from_name_servers(vec![ns]),
                    options: options.clone(),
                }
            })
            .collect(),
    )
}

impl Resolvers {
    /// The servers to ask for `spec`, in order; a system resolver whose resolv.conf names none is
    /// `dns_not_configured`.
    pub(super) async fn servers(
        &self,
        spec: &ResolverSpec,
        pref: IpPreference,
    ) -> Result<ServerList, StageError> {
        match self.entry(spec, pref).as_ref() {
            Entry::Fixed(list) => Ok(list.clone()),
            Entry::System { path, current } => system_servers(path, current, pref).await,
        }
    }

    fn entry(&self, spec: &ResolverSpec, pref: IpPreference) -> Arc<Entry> {
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
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
}

async fn system_servers(
    path: &Path,
    current: &Mutex<Option<(Vec<u8>, ServerList)>>,
    pref: IpPreference,
) -> Result<ServerList, StageError> {
    let not_configured = |why: DnsDetail| StageError::new(Reason::DnsNotConfigured, why);
    let content = tokio::fs::read(path).await.map_err(|e| {
        not_configured(DnsDetail::Unreadable {
            path: path.to_path_buf(),
            error: (&e).into(),
        })
    })?;
    let mut guard = current
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((seen, list)) = guard.as_ref()
        && *seen == content
    {
        return Ok(list.clone());
    }
    let (config, options) =
        hickory_resolver::system_conf::parse_resolv_conf(&content).map_err(|_| {
            not_configured(DnsDetail::NoServer {
                path: path.to_path_buf(),
                parsed: false,
            })
        })?;
    if config.name_servers().is_empty() {
        return Err(not_configured(DnsDetail::NoServer {
            path: path.to_path_buf(),
            parsed: true,
        }));
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
