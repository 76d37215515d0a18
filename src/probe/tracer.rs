//! When paths are traced: after a TCP failure, at most once per target and port per interval, a
//! bounded number at once, in the background; the results kept for the next scrape.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;

use super::TargetOutcome;
use super::trace::{Look, PathTrace, trace};
use crate::checklist::{Reason, Stage};
use crate::config::PathTraceSettings;

/// Runs traces after TCP failures: at most one per target and port per interval, a bounded
/// number at once, in the background (a scrape never waits for one: the next scrape shows it).
pub(crate) struct Tracer {
    settings: PathTraceSettings,
    limiter: Arc<Semaphore>,
    traces: Mutex<HashMap<(String, u16), Traced>>,
}

/// A target and port's last trace: when it started, and its result once done.
struct Traced {
    started: Instant,
    result: Option<Arc<PathTrace>>,
}

impl Tracer {
    pub(crate) fn new(settings: PathTraceSettings) -> Tracer {
        Tracer {
            settings,
            limiter: Arc::new(Semaphore::new(settings.max_concurrent)),
            traces: Mutex::default(),
        }
    }

    /// The failures of `outcome` a trace can explain: the port, the address that was tried and
    /// what to look for.
    fn wanted(&self, outcome: &TargetOutcome) -> Vec<(u16, SocketAddr, Look)> {
        if !self.settings.enabled {
            return Vec::new();
        }
        let answer = outcome
            .dns
            .as_ref()
            .and_then(|d| d.addresses.first().copied())
            .or_else(|| outcome.target.host.parse().ok());
        outcome
            .stages
            .iter()
            .filter(|s| traceable(s.stage, s.reason))
            .filter_map(|s| {
                let port = s.port?;
                // Toward an address that failed on this port (the name may have working ones too).
                let failing = outcome
                    .attempts
                    .iter()
                    .find(|a| a.stage == Stage::Tcp && a.port == port && a.reason.is_failure())
                    .map(|a| a.address);
                let ip = failing.or(answer)?;
                // This host itself, or nowhere: no path to trace (the answer explains it).
                let look = if s.reason.is_mtu_black_hole() {
                    Look::Mtu
                } else {
                    Look::Path
                };
                (!ip.is_loopback() && !ip.is_unspecified())
                    .then(|| (port, SocketAddr::new(ip, port), look))
            })
            .collect()
    }

    /// Claims the traces `outcome` is due for (none within the interval), marking them started.
    fn claim(&self, outcome: &TargetOutcome) -> Vec<(SocketAddr, Look)> {
        let mut traces = self
            .traces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        self.wanted(outcome)
            .into_iter()
            .filter(|(port, _, _)| {
                let key = (outcome.target.name.clone(), *port);
                let due = traces
                    .get(&key)
                    .is_none_or(|t| t.started.elapsed() >= self.settings.interval);
                if due {
                    let result = traces.remove(&key).and_then(|t| t.result);
                    traces.insert(
                        key,
                        Traced {
                            started: Instant::now(),
                            result,
                        },
                    );
                }
                due
            })
            .map(|(_, addr, look)| (addr, look))
            .collect()
    }

    async fn run(&self, target: &str, destination: SocketAddr, look: Look) {
        let Ok(_permit) = self.limiter.acquire().await else {
            return;
        };
        let path = trace(
            destination,
            self.settings.max_hops,
            self.settings.hop_timeout,
            look,
        )
        .await;
        tracing::info!(
            probe = target,
            %destination,
            end = path.end.label(),
            last_hop = ?path.last_answer(),
            mtu_drop_hop = ?path.mtu.map(|m| m.first_small.hop),
            "path traced"
        );
        let mut traces = self
            .traces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(t) = traces.get_mut(&(target.to_string(), destination.port())) {
            t.result = Some(Arc::new(path));
        }
    }

    /// Starts the traces `outcome` is due for, in the background.
    pub(crate) fn after(self: &Arc<Self>, outcome: &TargetOutcome) {
        for (destination, look) in self.claim(outcome) {
            let (tracer, target) = (self.clone(), outcome.target.name.clone());
            tokio::spawn(async move { tracer.run(&target, destination, look).await });
        }
    }

    /// Starts the traces `outcome` is due for and waits until every failure it can explain has
    /// a finished trace, or `limit` passes (`check` has no next scrape to show them).
    pub(crate) async fn wait_for(self: &Arc<Self>, outcome: &TargetOutcome, limit: Duration) {
        self.after(outcome);
        let until = Instant::now() + limit;
        let target = outcome.target.name.as_str();
        while Instant::now() < until
            && self
                .wanted(outcome)
                .iter()
                .any(|(port, _, _)| self.latest(target, *port).is_none())
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// How long `check` may wait for the traces of `failures` failing ports.
    pub(crate) fn patience(&self, failures: usize) -> Duration {
        // A round is the hops, then (after a path-MTU black hole) the routers' datagrams.
        let rounds = failures.div_ceil(self.settings.max_concurrent).max(1);
        self.settings.hop_timeout * 2 * u32::try_from(rounds).unwrap_or(u32::MAX)
            + Duration::from_secs(1)
    }

    /// How many failures of `outcome` a trace can explain.
    pub(crate) fn traceable_count(&self, outcome: &TargetOutcome) -> usize {
        self.wanted(outcome).len()
    }

    /// The last finished trace of this target and port.
    pub(crate) fn latest(&self, target: &str, port: u16) -> Option<Arc<PathTrace>> {
        self.traces
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(target.to_string(), port))
            .and_then(|t| t.result.clone())
    }
}

/// The failures a path trace explains: TCP that does not connect, TLS that stalls after it did,
/// a path-MTU black hole (where the MTU drops).
pub(crate) fn traceable(stage: Stage, reason: Reason) -> bool {
    matches!(
        (stage, reason),
        (
            Stage::Tcp,
            Reason::TcpTimeout | Reason::TcpUnreachable | Reason::TcpRefused
        ) | (Stage::Tls, Reason::TlsTimeout | Reason::TlsMtuBlackHole)
            | (Stage::Http, Reason::HttpMtuBlackHole)
    )
}
