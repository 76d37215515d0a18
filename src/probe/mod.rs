//! Runs the checklist against a target: DNS, then TCP (or the proxy tunnel) to each port, then TLS
//! and the HTTPS request, each stage bounded by the scrape's deadline. Returns plain outcome values;
//! the metrics layer turns them into series.
//!
//! The [`Prober`] shares work: a scrape that arrives while a target's probe is in flight joins it,
//! and a result younger than the target's `min_interval` is served again, so an HA pair of
//! Prometheus servers does not double the traffic to the Cisco cloud.

pub mod dns;
pub mod http;
pub mod proxy;
pub mod tcp;
pub mod tls;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures_util::future::{BoxFuture, FutureExt, Shared};
use serde::Serialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Semaphore;
use tokio::time::{Instant, timeout_at};

use crate::config::{Config, Target};
use crate::diagnosis::{Reason, Stage, checklist_rank};
use dns::{DnsFacts, Resolvers};
use http::HttpFacts;
use tls::{TlsClients, TlsFacts};

/// A byte stream a TLS session can run over: a TCP connection or a proxy tunnel.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// The result of one stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageOutcome {
    pub stage: Stage,
    /// The port for TCP, proxy, TLS and HTTP stages.
    pub port: Option<u16>,
    pub reason: Reason,
    #[serde(serialize_with = "as_seconds")]
    pub duration: Duration,
    /// What happened, for a person (never carries a secret).
    pub detail: String,
}

impl StageOutcome {
    pub fn success(&self) -> bool {
        self.reason == Reason::Ok
    }

    /// Whether the stage ran at all (its duration means something).
    pub fn ran(&self) -> bool {
        !matches!(self.reason, Reason::Skipped | Reason::BudgetExhausted)
    }
}

fn as_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Everything one probe of one target found.
#[derive(Debug, Clone, Serialize)]
pub struct TargetOutcome {
    #[serde(skip)]
    pub target: Arc<Target>,
    /// When the probe started, as Unix seconds.
    #[serde(serialize_with = "as_unix_seconds")]
    pub started_at: SystemTime,
    #[serde(serialize_with = "as_seconds")]
    pub duration: Duration,
    pub stages: Vec<StageOutcome>,
    pub dns: Option<DnsFacts>,
    pub tls: Option<TlsFacts>,
    pub http: Option<HttpFacts>,
}

fn as_unix_seconds<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    s.serialize_f64(secs)
}

impl TargetOutcome {
    /// The failing stage that explains the others: the first real failure in checklist order.
    pub fn verdict(&self) -> Option<&StageOutcome> {
        self.stages
            .iter()
            .filter(|s| s.reason.is_failure())
            .min_by_key(|s| checklist_rank(s.stage, s.reason))
    }

    pub fn success(&self) -> bool {
        self.verdict().is_none()
    }

    /// The verdict's reason, `ok` when every stage passed.
    pub fn reason(&self) -> Reason {
        self.verdict().map_or(Reason::Ok, |s| s.reason)
    }

    /// What the probe did, step by step, in the style of `nslookup` and `curl -v`.
    pub fn narrative(&self) -> Vec<String> {
        let t = &self.target;
        let mut lines = Vec::new();
        for s in &self.stages {
            let ms = s.duration.as_secs_f64() * 1000.0;
            if !s.ran() {
                lines.push(format!(
                    "* {} skipped: {}",
                    stage_label(s.stage, s.port),
                    s.detail
                ));
                continue;
            }
            match s.stage {
                Stage::Dns => {
                    if let Some(dns) = &self.dns {
                        lines.push(format!("* Resolving {} with {}", t.host, dns.resolver));
                        if let Some(server) = &dns.server {
                            lines.push(format!("* Server: {server}"));
                        }
                        for cname in &dns.cname_chain {
                            lines.push(format!("* {} canonical name = {cname}", t.host));
                        }
                        for addr in &dns.addresses {
                            lines.push(format!("* Address: {addr}"));
                        }
                    }
                }
                Stage::Tcp => lines.push(format!(
                    "* Trying {}:{}...",
                    self.address_text(),
                    s.port.unwrap_or(0)
                )),
                Stage::Proxy => {
                    if let Some(proxy) = &t.proxy {
                        lines.push(format!(
                            "* CONNECT {}:{} via proxy {proxy}",
                            t.host,
                            s.port.unwrap_or(0)
                        ));
                    }
                }
                Stage::Tls => {
                    if let Some(tls) = &self.tls {
                        lines.push(format!(
                            "* SSL connection using {} / {}",
                            tls.version, tls.cipher
                        ));
                        if let Some(alpn) = &tls.alpn {
                            lines.push(format!("* ALPN, server accepted to use {alpn}"));
                        }
                        lines.push(format!("* subject: {}", tls.subject));
                        lines.push(format!("* issuer: {}", tls.issuer));
                        if let Some(not_after) = tls.not_after {
                            lines.push(format!(
                                "* expire date (earliest in chain): {}",
                                format_unix(not_after)
                            ));
                        }
                        lines.push(format!("* SSL certificate verify result: {}", tls.verify));
                    }
                }
                Stage::Http => {
                    if let Some(http) = &t.http {
                        lines.push(format!("> GET {} HTTP/1.1", http.path));
                        lines.push(format!("> Host: {}", t.host));
                    }
                    if let Some(facts) = &self.http {
                        lines.push(format!("< HTTP/1.1 {}", facts.status));
                    }
                }
                Stage::Clock => {}
            }
            lines.push(format!(
                "* {}: {} ({}, {ms:.1} ms)",
                stage_label(s.stage, s.port),
                s.detail,
                s.reason
            ));
        }
        lines
    }

    fn address_text(&self) -> String {
        self.dns
            .as_ref()
            .and_then(|d| d.addresses.first())
            .map_or_else(|| self.target.host.clone(), ToString::to_string)
    }
}

/// `tcp/8989`, `tls/443`, `dns`.
pub fn stage_label(stage: Stage, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{stage}/{p}"),
        None => stage.to_string(),
    }
}

/// The stages a target's probe runs, in order.
pub fn plan(target: &Target) -> Vec<(Stage, Option<u16>)> {
    let mut stages = Vec::with_capacity(6);
    if target.dns {
        stages.push((Stage::Dns, None));
    }
    let connect_stage = if target.proxy.is_some() {
        Stage::Proxy
    } else {
        Stage::Tcp
    };
    for port in target.connect_ports() {
        stages.push((connect_stage, Some(port)));
    }
    if let Some(tls) = &target.tls {
        stages.push((Stage::Tls, Some(tls.port)));
        if target.http.is_some() {
            stages.push((Stage::Http, Some(tls.port)));
            stages.push((Stage::Clock, None));
        }
    }
    stages
}

/// Hears of every probe run: when it starts, and its outcome once (the metrics layer counts runs
/// in flight and accumulates histograms from it).
pub trait OutcomeSink: Send + Sync {
    /// A probe run got its slot and starts.
    fn started(&self) {}
    /// A probe run finished (or was cut short by its deadline); `ran` says whether it had
    /// started (`started` was called) or never got a slot.
    fn record(&self, outcome: &TargetOutcome, ran: bool);
}

/// How a scrape got its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// This scrape started the probe.
    Fresh,
    /// This scrape joined a probe already in flight.
    Joined,
    /// A result younger than `min_interval` was served again.
    Reused,
}

impl Freshness {
    pub fn as_str(self) -> &'static str {
        match self {
            Freshness::Fresh => "fresh",
            Freshness::Joined => "joined",
            Freshness::Reused => "reused",
        }
    }
}

/// Shared, long-lived probing resources: resolvers and TLS clients outlive configuration reloads.
#[derive(Default)]
pub struct Clients {
    pub resolvers: Resolvers,
    pub tls: TlsClients,
}

/// Probes the targets of one configuration.
pub struct Prober {
    config: Arc<Config>,
    clients: Arc<Clients>,
    slots: HashMap<String, Arc<Mutex<Slot>>>,
    limiter: Arc<Semaphore>,
    sink: Arc<dyn OutcomeSink>,
}

#[derive(Default)]
struct Slot {
    last: Option<(Instant, Arc<TargetOutcome>)>,
    inflight: Option<Inflight>,
}

struct Inflight {
    result: Shared<BoxFuture<'static, Arc<TargetOutcome>>>,
    partial: Arc<Partial>,
}

impl Prober {
    pub fn new(config: Arc<Config>, clients: Arc<Clients>, sink: Arc<dyn OutcomeSink>) -> Self {
        let slots = config
            .targets
            .iter()
            .map(|t| (t.name.clone(), Arc::new(Mutex::new(Slot::default()))))
            .collect();
        let limiter = Arc::new(Semaphore::new(config.max_concurrent_probes));
        Prober {
            config,
            clients,
            slots,
            limiter,
            sink,
        }
    }

    pub fn config(&self) -> &Arc<Config> {
        &self.config
    }

    /// Probes every target; results come back in configuration order.
    pub async fn probe_all(&self, deadline: Instant) -> Vec<(Arc<TargetOutcome>, Freshness)> {
        self.probe_many(&self.config.targets, deadline).await
    }

    /// Probes `targets` concurrently, at most `max_concurrent_probes` at a time, so a scrape of
    /// thousands of targets holds that many probes in memory rather than all of them; results
    /// come back in the order given.
    pub async fn probe_many(
        &self,
        targets: &[Arc<Target>],
        deadline: Instant,
    ) -> Vec<(Arc<TargetOutcome>, Freshness)> {
        use futures_util::StreamExt;
        futures_util::stream::iter(targets.iter().cloned())
            .map(|t| async move { self.probe(&t, deadline).await })
            .buffered(self.config.max_concurrent_probes)
            .collect()
            .await
    }

    /// Probes one target, sharing a run in flight or a fresh-enough result. Never returns after
    /// `deadline` (give or take scheduling).
    pub async fn probe(
        &self,
        target: &Arc<Target>,
        deadline: Instant,
    ) -> (Arc<TargetOutcome>, Freshness) {
        let Some(slot) = self.slots.get(&target.name) else {
            // Not a target of this configuration: nothing is probed.
            let partial = Partial::new(target.clone());
            return (Arc::new(partial.snapshot()), Freshness::Fresh);
        };
        let (result, partial, freshness) = {
            let mut state = slot.lock().unwrap_or_else(|e| e.into_inner());
            if let Some((finished, outcome)) = &state.last
                && finished.elapsed() < target.min_interval
            {
                return (outcome.clone(), Freshness::Reused);
            }
            match &state.inflight {
                Some(run) => (run.result.clone(), run.partial.clone(), Freshness::Joined),
                None => {
                    let partial = Arc::new(Partial::new(target.clone()));
                    let result =
                        self.spawn(target.clone(), slot.clone(), partial.clone(), deadline);
                    state.inflight = Some(Inflight {
                        result: result.clone(),
                        partial: partial.clone(),
                    });
                    (result, partial, Freshness::Fresh)
                }
            }
        };
        match timeout_at(deadline, result).await {
            Ok(outcome) => (outcome, freshness),
            // Joined a run with a later deadline than ours: report what it has measured so far.
            Err(_) => (Arc::new(partial.snapshot()), freshness),
        }
    }

    fn spawn(
        &self,
        target: Arc<Target>,
        slot: Arc<Mutex<Slot>>,
        partial: Arc<Partial>,
        deadline: Instant,
    ) -> Shared<BoxFuture<'static, Arc<TargetOutcome>>> {
        let clients = self.clients.clone();
        let limiter = self.limiter.clone();
        let sink = self.sink.clone();
        let task_partial = partial.clone();
        let handle = tokio::spawn(async move {
            let permit = timeout_at(deadline, limiter.acquire_owned()).await;
            let ran = matches!(permit, Ok(Ok(_)));
            if let Ok(Ok(_permit)) = permit {
                sink.started();
                run(&target, &clients, &task_partial, deadline).await;
            }
            let outcome = Arc::new(task_partial.snapshot());
            log_outcome(&outcome);
            sink.record(&outcome, ran);
            let mut state = slot.lock().unwrap_or_else(|e| e.into_inner());
            state.inflight = None;
            state.last = Some((Instant::now(), outcome.clone()));
            outcome
        });
        async move {
            match handle.await {
                Ok(outcome) => outcome,
                // The task panicked or was cancelled: report what was measured.
                Err(_) => Arc::new(partial.snapshot()),
            }
        }
        .boxed()
        .shared()
    }
}

/// A probe as it progresses: stages finished so far and stages running. A snapshot of it is the
/// outcome, whether the probe completed or the deadline cut it short.
struct Partial {
    target: Arc<Target>,
    started: Instant,
    started_at: SystemTime,
    inner: Mutex<PartialInner>,
}

#[derive(Default)]
struct PartialInner {
    done: Vec<StageOutcome>,
    running: Vec<(Stage, Option<u16>, Instant)>,
    dns: Option<DnsFacts>,
    tls: Option<TlsFacts>,
    http: Option<HttpFacts>,
}

impl Partial {
    fn new(target: Arc<Target>) -> Self {
        Partial {
            target,
            started: Instant::now(),
            started_at: SystemTime::now(),
            inner: Mutex::new(PartialInner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PartialInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(&self, stage: Stage, port: Option<u16>) -> Instant {
        let now = Instant::now();
        self.lock().running.push((stage, port, now));
        now
    }

    fn finish(
        &self,
        stage: Stage,
        port: Option<u16>,
        started: Instant,
        reason: Reason,
        detail: String,
    ) {
        let mut inner = self.lock();
        inner
            .running
            .retain(|(s, p, _)| !(*s == stage && *p == port));
        inner.done.push(StageOutcome {
            stage,
            port,
            reason,
            duration: started.elapsed(),
            detail,
        });
    }

    /// Records a stage that takes no time of its own (a check of facts already gathered).
    fn conclude(&self, stage: Stage, port: Option<u16>, reason: Reason, detail: String) {
        self.lock().done.push(StageOutcome {
            stage,
            port,
            reason,
            duration: Duration::ZERO,
            detail,
        });
    }

    fn skip(&self, stage: Stage, port: Option<u16>, detail: &str) {
        self.conclude(stage, port, Reason::Skipped, detail.to_string());
    }

    /// The outcome as of now: running stages count as timed out, stages not begun as out of budget.
    fn snapshot(&self) -> TargetOutcome {
        let inner = self.lock();
        let now = Instant::now();
        let stages = plan(&self.target)
            .into_iter()
            .map(|(stage, port)| {
                if let Some(done) = inner
                    .done
                    .iter()
                    .find(|s| s.stage == stage && s.port == port)
                {
                    return done.clone();
                }
                if let Some((_, _, started)) = inner
                    .running
                    .iter()
                    .find(|(s, p, _)| *s == stage && *p == port)
                {
                    return StageOutcome {
                        stage,
                        port,
                        reason: timeout_reason(stage),
                        duration: now.saturating_duration_since(*started),
                        detail: "still running when the scrape's deadline passed".into(),
                    };
                }
                StageOutcome {
                    stage,
                    port,
                    reason: Reason::BudgetExhausted,
                    duration: Duration::ZERO,
                    detail: "not started before the scrape's deadline".into(),
                }
            })
            .collect();
        TargetOutcome {
            target: self.target.clone(),
            started_at: self.started_at,
            duration: now.saturating_duration_since(self.started),
            stages,
            dns: inner.dns.clone(),
            tls: inner.tls.clone(),
            http: inner.http.clone(),
        }
    }
}

fn timeout_reason(stage: Stage) -> Reason {
    match stage {
        Stage::Dns => Reason::DnsTimeout,
        Stage::Tcp => Reason::TcpTimeout,
        Stage::Proxy => Reason::ProxyTimeout,
        Stage::Tls => Reason::TlsTimeout,
        Stage::Http | Stage::Clock => Reason::HttpTimeout,
    }
}

/// Runs the checklist for one target, recording into `partial`.
async fn run(target: &Target, clients: &Clients, partial: &Partial, deadline: Instant) {
    let stage_deadline = || deadline.min(Instant::now() + target.timeout);
    let ports = target.connect_ports();

    // 1. DNS.
    let mut address: Option<IpAddr> = target.host.parse().ok();
    if target.dns {
        let started = partial.begin(Stage::Dns, None);
        let dns_deadline = stage_deadline();
        let lookup = clients.resolvers.resolve(
            &target.host,
            &target.resolver,
            target.ip_preference,
            dns_deadline,
        );
        let (facts, result) = match timeout_at(dns_deadline, lookup).await {
            Ok(r) => r,
            Err(_) => (
                DnsFacts {
                    resolver: target.resolver.to_string(),
                    ..DnsFacts::default()
                },
                Err(dns::DnsFailure {
                    reason: Reason::DnsTimeout,
                    detail: format!("{}: no answer before the deadline", target.host),
                }),
            ),
        };
        address = facts.addresses.first().copied();
        partial.lock().dns = Some(facts);
        match result {
            Ok(()) => partial.finish(
                Stage::Dns,
                None,
                started,
                Reason::Ok,
                describe_addresses(partial),
            ),
            Err(f) => {
                partial.finish(Stage::Dns, None, started, f.reason, f.detail);
                for (stage, port) in plan(target).into_iter().skip(1) {
                    partial.skip(stage, port, "the name did not resolve");
                }
                return;
            }
        }
    }

    // 2. TCP to each port, or the CONNECT tunnel through the proxy, all ports at once.
    let tls_port = target.tls.as_ref().map(|t| t.port);
    let connects = ports.iter().map(|&port| async move {
        let stage = if target.proxy.is_some() {
            Stage::Proxy
        } else {
            Stage::Tcp
        };
        let started = partial.begin(stage, Some(port));
        let result: Result<Box<dyn Io>, (Reason, String)> = match (&target.proxy, address) {
            (Some(proxy), _) => proxy::connect(proxy, &target.host, port, stage_deadline())
                .await
                .map(|t| Box::new(t) as Box<dyn Io>)
                .map_err(|f| (f.reason, f.detail)),
            (None, Some(ip)) => {
                let addr = SocketAddr::new(ip, port);
                tcp::connect(addr, stage_deadline())
                    .await
                    .map(|s| Box::new(s) as Box<dyn Io>)
                    .map_err(|f| (f.reason, f.detail))
            }
            (None, None) => Err((Reason::DnsNoAnswer, "no address to connect to".to_string())),
        };
        match result {
            Ok(stream) => {
                partial.finish(
                    stage,
                    Some(port),
                    started,
                    Reason::Ok,
                    format!("connected to port {port}"),
                );
                (port, Some(stream))
            }
            Err((reason, detail)) => {
                partial.finish(stage, Some(port), started, reason, detail);
                (port, None)
            }
        }
    });
    let mut streams = futures_util::future::join_all(connects).await;
    let Some(tls_check) = &target.tls else { return };
    let stream = streams
        .iter_mut()
        .find(|(port, _)| Some(*port) == tls_port)
        .and_then(|(_, s)| s.take());
    drop(streams);
    let Some(stream) = stream else {
        partial.skip(Stage::Tls, tls_port, "no connection to the TLS port");
        if target.http.is_some() {
            partial.skip(Stage::Http, tls_port, "no connection to the TLS port");
            partial.skip(Stage::Clock, None, "no connection to the TLS port");
        }
        return;
    };

    // 3. TLS, verified after the handshake so a bad chain still shows who presented it.
    let started = partial.begin(Stage::Tls, tls_port);
    let client = match clients.tls.get(tls_check) {
        Ok(c) => c,
        Err(f) => {
            partial.finish(Stage::Tls, tls_port, started, f.reason, f.detail);
            skip_http(
                target,
                partial,
                tls_port,
                "the TLS client could not be set up",
            );
            return;
        }
    };
    let tls_stream = match client
        .handshake(stream, &tls_check.server_name, stage_deadline())
        .await
    {
        Ok((tls_stream, facts, verified)) => {
            partial.lock().tls = Some(facts);
            match verified {
                Ok(()) => partial.finish(
                    Stage::Tls,
                    tls_port,
                    started,
                    Reason::Ok,
                    "handshake done, chain verified".into(),
                ),
                Err(f) => partial.finish(Stage::Tls, tls_port, started, f.reason, f.detail),
            }
            tls_stream
        }
        Err(f) => {
            partial.finish(Stage::Tls, tls_port, started, f.reason, f.detail);
            skip_http(target, partial, tls_port, "the TLS handshake failed");
            return;
        }
    };

    // 4. The HTTPS request, and the clock against the server's Date.
    let Some(http_check) = &target.http else {
        return;
    };
    let started = partial.begin(Stage::Http, tls_port);
    match http::get(tls_stream, &target.host, &http_check.path, stage_deadline()).await {
        Ok(facts) => {
            let status_ok = http_check.expected_status.contains(&facts.status);
            let (reason, detail) = if status_ok {
                (Reason::Ok, format!("status {} as expected", facts.status))
            } else {
                (
                    Reason::HttpUnexpectedStatus,
                    format!(
                        "status {}, expected {:?}",
                        facts.status, http_check.expected_status
                    ),
                )
            };
            partial.finish(Stage::Http, tls_port, started, reason, detail);
            let (reason, detail) = match facts.clock_skew_seconds {
                Some(skew) if skew.abs() > target.max_clock_skew.as_secs_f64() => (
                    Reason::ClockSkew,
                    format!(
                        "the server's clock is {skew:+.0} s from ours (allowed ±{} s)",
                        target.max_clock_skew.as_secs()
                    ),
                ),
                Some(skew) => (Reason::Ok, format!("skew {skew:+.0} s")),
                None => (
                    Reason::Skipped,
                    "the server sent no Date header".to_string(),
                ),
            };
            partial.conclude(Stage::Clock, None, reason, detail);
            partial.lock().http = Some(facts);
        }
        Err(f) => {
            partial.finish(Stage::Http, tls_port, started, f.reason, f.detail);
            partial.skip(Stage::Clock, None, "no HTTP response");
        }
    }
}

/// One line per failed probe: which target, stage and reason, and the detail (never a secret).
fn log_outcome(outcome: &TargetOutcome) {
    let target = &outcome.target;
    match outcome.verdict() {
        Some(failed) => tracing::warn!(
            probe = %target.name,
            host = %target.host,
            stage = %failed.stage,
            port = failed.port.map(|p| p.to_string()).unwrap_or_default(),
            reason = %failed.reason,
            detail = %failed.detail,
            "probe failed"
        ),
        None => tracing::debug!(
            probe = %target.name,
            host = %target.host,
            duration_seconds = outcome.duration.as_secs_f64(),
            "probe succeeded"
        ),
    }
}

fn skip_http(target: &Target, partial: &Partial, port: Option<u16>, why: &str) {
    if target.http.is_some() {
        partial.skip(Stage::Http, port, why);
        partial.skip(Stage::Clock, None, why);
    }
}

fn describe_addresses(partial: &Partial) -> String {
    let inner = partial.lock();
    let Some(dns) = &inner.dns else {
        return String::new();
    };
    let addrs: Vec<String> = dns.addresses.iter().map(ToString::to_string).collect();
    format!("{} address(es): {}", addrs.len(), addrs.join(", "))
}

/// `2026-11-29 15:39:48 UTC` from Unix seconds.
pub fn format_unix(secs: i64) -> String {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}
