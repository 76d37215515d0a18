//! What each target looked like at its last success (the DNS server and answers, the
//! certificate's issuer, the proxy's answer), so that a failure can say what changed since:
//! new answers or a new server, a new issuer, a new proxy status, a path that now goes silent.
//! The exporter keeps it in memory across reloads; `check --state FILE` keeps it in a file.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::outcome::{TargetOutcome, unix_seconds};
use super::trace::{PathEnd, PathTrace};
use crate::checklist::{Reason, Stage};

/// A target's facts at its last success.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Baseline {
    /// When that probe started, as Unix seconds.
    pub(crate) at: i64,
    /// The host then (a changed host is a new target, not a change).
    pub(crate) host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) dns_server: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) addresses: Vec<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) proxy_status: Option<u16>,
}

impl Baseline {
    /// The baseline a probe gives, when it succeeded.
    pub(crate) fn of(outcome: &TargetOutcome) -> Option<Baseline> {
        let succeeded = outcome.verdict.is_none()
            && outcome.stages.iter().any(|s| s.reason == Reason::Ok)
            && outcome.stages.iter().all(|s| !s.reason.is_failure());
        #[allow(clippy::cast_possible_truncation)]
        let at = unix_seconds(outcome.started_at) as i64;
        succeeded.then(|| Baseline {
            at,
            host: outcome.target.host.clone(),
            dns_server: outcome.dns.as_ref().and_then(|d| d.server.clone()),
            addresses: outcome
                .dns
                .as_ref()
                .map(|d| d.addresses.clone())
                .unwrap_or_default(),
            issuer: outcome
                .tls
                .as_ref()
                .map(|t| t.issuer.clone())
                .filter(|i| !i.is_empty()),
            proxy_status: outcome.proxy.as_ref().and_then(|p| p.status),
        })
    }
}

/// One difference between a failing probe and the target's last success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Another DNS server answers.
    DnsServer { was: String, now: String },
    /// None of the name's addresses is one it had then.
    Addresses { was: Vec<IpAddr>, now: Vec<IpAddr> },
    /// The certificate comes from another issuer.
    Issuer { was: String, now: String },
    /// The proxy answers CONNECT otherwise.
    ProxyStatus { was: u16, now: u16 },
    /// The path to `port` now goes silent after `after` (the last hop that answered), where the
    /// connection opened then.
    Silent {
        port: u16,
        after: Option<(u8, IpAddr)>,
    },
    /// A step that passed then fails now.
    Fails { stage: Stage, port: Option<u16> },
}

/// What differs between `outcome` (failing) and `was`, its last success; the path trace of the
/// failing port when one was taken.
pub(crate) fn changes(
    was: &Baseline,
    outcome: &TargetOutcome,
    trace: Option<&PathTrace>,
) -> Vec<Change> {
    let mut out = Vec::new();
    if let Some(dns) = &outcome.dns {
        if let (Some(then), Some(now)) = (&was.dns_server, &dns.server)
            && then != now
        {
            out.push(Change::DnsServer {
                was: then.clone(),
                now: now.clone(),
            });
        }
        let disjoint = !dns.addresses.is_empty()
            && !was.addresses.is_empty()
            && dns.addresses.iter().all(|a| !was.addresses.contains(a));
        if disjoint {
            out.push(Change::Addresses {
                was: was.addresses.clone(),
                now: dns.addresses.clone(),
            });
        }
    }
    if let (Some(then), Some(tls)) = (&was.issuer, &outcome.tls)
        && !tls.issuer.is_empty()
        && *then != tls.issuer
    {
        out.push(Change::Issuer {
            was: then.clone(),
            now: tls.issuer.clone(),
        });
    }
    if let (Some(then), Some(now)) = (
        was.proxy_status,
        outcome.proxy.as_ref().and_then(|p| p.status),
    ) && then != now
    {
        out.push(Change::ProxyStatus { was: then, now });
    }
    if let Some(trace) = trace
        && trace.end == PathEnd::Silent
    {
        out.push(Change::Silent {
            port: trace.destination.port(),
            after: trace.last_answer(),
        });
    }
    if let Some(verdict) = &outcome.verdict
        && out.is_empty()
    {
        out.push(Change::Fails {
            stage: verdict.stage,
            port: verdict.port,
        });
    }
    out
}

/// The last success of every target, by name.
#[derive(Debug, Default)]
pub(crate) struct History {
    last: Mutex<HashMap<String, Baseline>>,
}

impl History {
    /// Keeps `outcome` as its target's last success when it is one.
    pub(crate) fn after(&self, outcome: &TargetOutcome) {
        if let Some(baseline) = Baseline::of(outcome) {
            self.map().insert(outcome.target.name.clone(), baseline);
        }
    }

    /// The last success of `target` on `host`.
    pub(crate) fn last_success(&self, target: &str, host: &str) -> Option<Baseline> {
        self.map().get(target).filter(|b| b.host == host).cloned()
    }

    /// A history read from `path` (empty when the file does not exist yet).
    pub(crate) fn load(path: &Path) -> std::io::Result<History> {
        let last = match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(e) => return Err(e),
        };
        Ok(History {
            last: Mutex::new(last),
        })
    }

    /// Writes the history to `path` (through a temporary file beside it, then renamed).
    pub(crate) fn save(&self, path: &Path) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(&*self.map())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let partial = path.with_extension("partial");
        std::fs::write(&partial, text)?;
        std::fs::rename(&partial, path)
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Baseline>> {
        self.last
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::probe::facts::{DnsFacts, ProxyFacts, StageOutcome, TlsFacts};
    use crate::probe::script::target;
    use crate::probe::trace::{Hop, HopAnswer};
    use crate::probe::{Evidence, StepDetail, Verdict};

    const YAML: &str = "targets:\n  - { name: sse, host: api-sse.cisco.com, service: cisco_cloud_configuration, tcp_ports: [443] }\n";

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    /// A probe of the target: failing at `failing` when given, with these facts.
    fn probe(
        failing: Option<(Stage, Option<u16>, Reason)>,
        server: &str,
        addresses: &[&str],
        issuer: &str,
        proxy: Option<u16>,
    ) -> TargetOutcome {
        let step = |stage, port, reason| StageOutcome {
            stage,
            port,
            reason,
            duration: Duration::ZERO,
            detail: StepDetail::NothingHandedOver.into(),
        };
        let mut stages = vec![
            step(Stage::Dns, None, Reason::Ok),
            step(Stage::Tcp, Some(443), Reason::Ok),
            step(Stage::Tls, Some(443), Reason::Ok),
        ];
        let verdict = failing.map(|(stage, port, reason)| {
            for s in &mut stages {
                if s.stage == stage {
                    s.reason = reason;
                }
            }
            Verdict {
                stage,
                port,
                reason,
                addresses: Vec::new(),
                evidence: Evidence::Stage,
            }
        });
        TargetOutcome {
            target: target(YAML),
            started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            duration: Duration::ZERO,
            stages,
            verdict,
            dns: Some(DnsFacts {
                server: Some(server.into()),
                addresses: addresses.iter().map(|a| ip(a)).collect(),
                ..DnsFacts::default()
            }),
            attempts: Vec::new(),
            proxy: proxy.map(|status| ProxyFacts {
                status: Some(status),
                ..ProxyFacts::default()
            }),
            tls: Some(TlsFacts {
                issuer: issuer.into(),
                ..TlsFacts::default()
            }),
            first_bytes: None,
            http: None,
        }
    }

    const CISCO: &str = "CN=HydrantID Server CA O1";

    #[test]
    fn only_a_success_becomes_the_baseline_and_a_failure_keeps_it() {
        let history = History::default();
        let ok = probe(None, "10.0.0.53:53", &["192.0.2.1"], CISCO, None);
        history.after(&ok);
        let failed = probe(
            Some((Stage::Tcp, Some(443), Reason::TcpTimeout)),
            "10.0.0.53:53",
            &["192.0.2.1"],
            CISCO,
            None,
        );
        history.after(&failed);
        let kept = history
            .last_success("sse", "api-sse.cisco.com")
            .expect("baseline");
        assert_eq!(kept.at, 1_800_000_000);
        assert_eq!(kept.addresses, [ip("192.0.2.1")]);
        // Another host under the same name is another target.
        assert!(
            history
                .last_success("sse", "api.eu.sse.itd.cisco.com")
                .is_none()
        );
    }

    #[test]
    fn each_difference_from_the_last_success_is_named() {
        let was = Baseline::of(&probe(
            None,
            "10.0.0.53:53",
            &["192.0.2.1", "192.0.2.2"],
            CISCO,
            Some(200),
        ))
        .expect("a success");
        let now = probe(
            Some((Stage::Tls, Some(443), Reason::TlsCertUntrusted)),
            "10.0.0.54:53",
            &["198.51.100.7"],
            "CN=Corp TLS Inspection CA",
            Some(407),
        );
        assert_eq!(
            changes(&was, &now, None),
            [
                Change::DnsServer {
                    was: "10.0.0.53:53".into(),
                    now: "10.0.0.54:53".into()
                },
                Change::Addresses {
                    was: vec![ip("192.0.2.1"), ip("192.0.2.2")],
                    now: vec![ip("198.51.100.7")]
                },
                Change::Issuer {
                    was: CISCO.into(),
                    now: "CN=Corp TLS Inspection CA".into()
                },
                Change::ProxyStatus { was: 200, now: 407 },
            ]
        );
        // Rotation within the name's addresses is no change.
        let rotated = probe(
            Some((Stage::Tcp, Some(443), Reason::TcpTimeout)),
            "10.0.0.53:53",
            &["192.0.2.2", "192.0.2.3"],
            CISCO,
            Some(200),
        );
        assert_eq!(
            changes(&was, &rotated, None),
            [Change::Fails {
                stage: Stage::Tcp,
                port: Some(443)
            }]
        );
        // A path that now goes silent after a hop.
        let trace = PathTrace {
            destination: SocketAddr::new(ip("192.0.2.2"), 443),
            hops: vec![Hop {
                ttl: 2,
                from: Some(ip("10.77.2.2")),
                answer: HopAnswer::TimeExceeded,
                rtt: None,
            }],
            end: PathEnd::Silent,
            mtu: None,
            at: SystemTime::UNIX_EPOCH,
        };
        assert_eq!(
            changes(&was, &rotated, Some(&trace)),
            [Change::Silent {
                port: 443,
                after: Some((2, ip("10.77.2.2")))
            }]
        );
    }

    #[test]
    fn the_history_survives_a_round_trip_through_its_file() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("state.json");
        let empty = History::load(&path).expect("a missing file is an empty history");
        empty.after(&probe(None, "10.0.0.53:53", &["192.0.2.1"], CISCO, None));
        empty.save(&path).expect("save");
        let again = History::load(&path).expect("load");
        assert_eq!(
            again.last_success("sse", "api-sse.cisco.com"),
            empty.last_success("sse", "api-sse.cisco.com")
        );
        std::fs::write(&path, "not json").expect("write");
        assert!(History::load(&path).is_err());
    }
}
