//! The `nslookup` step: resolve the target's name with hickory-resolver (the resolvers are set up
//! in `resolvers.rs`) and report the answer addresses, the CNAME chain and the response code, or
//! the reason resolution failed, classified by hickory's error variants.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use hickory_resolver::TokioResolver;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use tokio::time::Instant;

use super::addresses::MAX_ADDRESSES;
use super::detail::{DnsDetail, ErrorClass, LibraryError};
use super::error::StageError;
use super::facts::DnsFacts;
use super::resolvers::Resolvers;
use super::step::{Carry, Fact, Found, Input};
use super::verdict::is_sinkhole;
use crate::checklist::Reason;
use crate::config::{IpPreference, ResolverSpec};

/// The DNS step: the name's answer as the target's resolver gives it. Sinkhole addresses
/// (`0.0.0.0`, `::`) never go on to TCP; an answer made only of them fails as `dns_sinkhole`.
pub(super) async fn step(input: Input<'_>) -> Found {
    let target = input.target;
    let (facts, result) = input
        .clients
        .resolvers
        .resolve(
            &target.host,
            &target.resolver,
            target.ip_preference,
            input.deadline,
        )
        .await;
    let usable: Arc<[IpAddr]> = facts
        .addresses
        .iter()
        .filter(|ip| !is_sinkhole(ip))
        .take(MAX_ADDRESSES)
        .copied()
        .collect();
    let answered = || DnsDetail::Answered {
        addresses: facts.addresses.clone(),
    };
    let (verdict, carry) = match result {
        Ok(()) if !usable.is_empty() => (Ok(answered().into()), Some(Carry::Addresses(usable))),
        Ok(()) if !facts.addresses.is_empty() => {
            (Err(StageError::new(Reason::DnsSinkhole, answered())), None)
        }
        Ok(()) => (
            Err(StageError::new(
                Reason::DnsNoAnswer,
                DnsDetail::Empty {
                    host: target.host.clone(),
                },
            )),
            None,
        ),
        Err(e) => (Err(e), None),
    };
    Found {
        verdict,
        facts: vec![Fact::Dns(facts)],
        carry,
    }
}

impl Resolvers {
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
        let servers = match self.servers(spec, pref).await {
            Ok(list) => list,
            Err(failure) => return (facts, Err(failure)),
        };
        let fqdn = if host.ends_with('.') {
            host.to_string()
        } else {
            format!("{host}.")
        };
        // The most telling failure so far: an answer (SERVFAIL, REFUSED…) beats silence.
        let mut failure: Option<(Reason, Option<&'static str>, Option<SocketAddr>, DnsDetail)> =
            None;
        for (i, server) in servers.iter().enumerate() {
            let (addr, resolver) = (&server.addr, server.resolver());
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            let left = u32::try_from(servers.len() - i).unwrap_or(u32::MAX);
            let share = deadline.saturating_duration_since(now) / left;
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
                        let failure =
                            no_address(&mut facts, host, *addr, &resolver, &fqdn, deadline).await;
                        return (facts, Err(failure));
                    }
                    return (facts, Ok(()));
                }
                Ok(Err(err)) => {
                    let (reason, rcode) = classify(&err);
                    if matches!(reason, Reason::DnsNxdomain | Reason::DnsNoAnswer) {
                        facts.server = Some(addr.to_string());
                        facts.rcode = rcode.map(str::to_string);
                        let failure = if reason == Reason::DnsNoAnswer {
                            no_address(&mut facts, host, *addr, &resolver, &fqdn, deadline).await
                        } else {
                            let code = rcode.unwrap_or("no address");
                            StageError::new(reason, code_from(host, code, *addr))
                        };
                        return (facts, Err(failure));
                    }
                    let detail = match rcode {
                        Some(code) => code_from(host, code, *addr),
                        None if reason == Reason::DnsTimeout => silent(host, addr),
                        None => DnsDetail::Failed {
                            host: host.to_string(),
                            server: *addr,
                            error: match &err {
                                NetError::Io(io) => LibraryError::io(io),
                                _ => LibraryError {
                                    class: ErrorClass::Malformed,
                                    raw: err.to_string(),
                                },
                            },
                        },
                    };
                    let answered = reason != Reason::DnsTimeout;
                    if answered || failure.is_none() {
                        failure = Some((reason, rcode, answered.then_some(*addr), detail));
                    }
                }
                Err(_) => {
                    if failure.is_none() {
                        failure = Some((Reason::DnsTimeout, None, None, silent(host, addr)));
                    }
                }
            }
        }
        let (reason, rcode, server, detail) =
            failure.unwrap_or_else(|| (Reason::DnsTimeout, None, None, silent(host, spec)));
        facts.rcode = rcode.map(str::to_string);
        facts.server = server.map(|a| a.to_string());
        (facts, Err(StageError::new(reason, detail)))
    }
}

/// How many CNAMEs are followed when looking for a loop.
const MAX_CNAME_HOPS: usize = 8;

/// The failure of an answer without an address: a CNAME loop when the name's CNAMEs lead back to
/// themselves (followed one query at a time, as a stub resolver sees them), otherwise no address
/// of the requested family.
async fn no_address(
    facts: &mut DnsFacts,
    host: &str,
    server: SocketAddr,
    resolver: &TokioResolver,
    fqdn: &str,
    deadline: Instant,
) -> StageError {
    let mut chain = vec![fqdn.to_string()];
    'hops: for _ in 0..MAX_CNAME_HOPS {
        let Some(name) = chain.last().cloned() else {
            break;
        };
        let Ok(Ok(lookup)) =
            tokio::time::timeout_at(deadline, resolver.lookup(name.as_str(), RecordType::CNAME))
                .await
        else {
            break;
        };
        let targets: Vec<String> = lookup
            .answers()
            .iter()
            .filter_map(|r| match &r.data {
                RData::CNAME(target) => Some(target.0.to_string()),
                _ => None,
            })
            .collect();
        if targets.is_empty() {
            break;
        }
        for target in targets {
            let looped = chain.contains(&target);
            chain.push(target.clone());
            if looped {
                facts.cname_chain = chain[1..].to_vec();
                return StageError::new(
                    Reason::DnsCnameLoop,
                    DnsDetail::CnameLoop {
                        host: host.to_string(),
                        at: target,
                        server,
                    },
                );
            }
            if chain.len() > MAX_CNAME_HOPS {
                break 'hops;
            }
        }
    }
    StageError::new(
        Reason::DnsNoAnswer,
        DnsDetail::NoAddressOfFamily {
            host: host.to_string(),
            server,
        },
    )
}

fn code_from(host: &str, code: &'static str, server: SocketAddr) -> DnsDetail {
    DnsDetail::Code {
        host: host.to_string(),
        code,
        server,
    }
}

fn silent(host: &str, server: &impl std::fmt::Display) -> DnsDetail {
    DnsDetail::Silent {
        host: host.to_string(),
        server: server.to_string(),
    }
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
    use std::path::PathBuf;

    use super::*;

    fn soon() -> Instant {
        Instant::now() + std::time::Duration::from_secs(2)
    }

    #[tokio::test]
    async fn a_resolv_conf_without_nameserver_is_dns_not_configured() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("resolv.conf");
        std::fs::write(&path, "search example.com\n").expect("write");
        let spec = ResolverSpec::System {
            resolv_conf: path.clone(),
        };
        let (_, result) = Resolvers::default()
            .resolve("api-sse.cisco.com", &spec, IpPreference::Ipv4, soon())
            .await;
        let failure = result.expect_err("no DNS server configured");
        assert_eq!(failure.reason, Reason::DnsNotConfigured);
        assert!(
            matches!(&failure.detail, super::super::Detail::Dns(DnsDetail::NoServer { path: p, .. }) if *p == path),
            "{:?}",
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
