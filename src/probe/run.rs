//! The executor: walks a target's plan against the scrape's deadline. A step starts when the step
//! it needs has succeeded and takes that step's result (an address, a connection, a response);
//! when a step fails, everything that needs it is skipped. Every step is recorded through the one
//! [`Recorder`], and every failure that coincides with a deadline is that deadline's timeout.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::error::StageError;
use super::http::HttpFacts;
use super::outcome::{Attempt, Recorder};
use super::plan::{Step, label};
use super::verdict::is_sinkhole;
use super::{Clients, Io, dns, http, proxy, tcp};
use crate::checklist::{Reason, Stage};
use crate::config::Target;

/// A deadline that later scrapes may move further out (never nearer): a scrape with a longer
/// budget that joins a probe in flight lets it run to its own deadline.
pub(crate) struct Deadline {
    at: Mutex<Instant>,
    moved: Notify,
}

impl Deadline {
    pub(crate) fn new(at: Instant) -> Self {
        Deadline {
            at: Mutex::new(at),
            moved: Notify::new(),
        }
    }

    pub(crate) fn at(&self) -> Instant {
        *self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Moves the deadline to `to` when that is later.
    pub(crate) fn extend(&self, to: Instant) {
        let mut at = self
            .at
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if to > *at {
            *at = to;
            self.moved.notify_waiters();
        }
    }

    /// Completes once the deadline, as it stands then, has passed.
    pub(crate) async fn passed(&self) {
        loop {
            let moved = self.moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            let at = self.at();
            if Instant::now() >= at {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                () = moved => {}
            }
        }
    }
}

/// How many of a name's addresses are tried at each step (the device may pick any of them).
pub(crate) const MAX_ADDRESSES: usize = 8;

/// An open connection, and the address it goes to (none through a proxy, which resolves the
/// name itself).
type Connection = (Option<IpAddr>, Box<dyn Io>);

/// What a step hands to the step that needs it.
enum Carry {
    /// The name's addresses, in the order to try them.
    Addresses(Arc<[IpAddr]>),
    /// One connection per address that opened, lowest address first.
    Streams(Vec<Connection>),
    Response(HttpFacts),
    /// Already handed to another step.
    Taken,
}

impl Carry {
    /// The part for one dependent: addresses are copied to each, streams or a response go to one.
    fn hand_over(&mut self) -> Option<Carry> {
        match self {
            Carry::Addresses(ips) => Some(Carry::Addresses(ips.clone())),
            Carry::Taken => None,
            other => Some(std::mem::replace(other, Carry::Taken)),
        }
    }
}

/// How a step ended: its verdict, and what it hands on (a TLS session that failed verification
/// still carries the connection, as `curl -k` goes on).
struct Done {
    result: Result<String, StageError>,
    carry: Option<Carry>,
}

impl Done {
    fn passed(detail: String, carry: Carry) -> Self {
        Done {
            result: Ok(detail),
            carry: Some(carry),
        }
    }

    fn failed(error: StageError) -> Self {
        Done {
            result: Err(error),
            carry: None,
        }
    }
}

/// Runs `recorder`'s plan before `deadline`. Steps still running when it passes are dropped; the
/// recorder reports them as timed out.
pub(crate) async fn execute(recorder: &Recorder, clients: &Clients, deadline: &Deadline) {
    tokio::select! {
        biased;
        () = walk(recorder, clients, deadline) => {}
        () = deadline.passed() => {}
    }
}

async fn walk(recorder: &Recorder, clients: &Clients, deadline: &Deadline) {
    let steps = recorder.steps();
    let mut running: FuturesUnordered<BoxFuture<'_, (usize, Option<Carry>)>> =
        FuturesUnordered::new();
    for (i, step) in steps.iter().enumerate() {
        if step.after.is_none() {
            running.push(Box::pin(attempt(i, None, recorder, clients, deadline)));
        }
    }
    while let Some((i, mut carry)) = running.next().await {
        for (j, _) in steps.iter().enumerate().filter(|(_, s)| s.after == Some(i)) {
            match carry.as_mut().and_then(Carry::hand_over) {
                Some(input) => {
                    running.push(Box::pin(attempt(
                        j,
                        Some(input),
                        recorder,
                        clients,
                        deadline,
                    )));
                }
                None => skip(j, &skip_reason(steps[i]), recorder),
            }
        }
    }
}

/// Skips step `i` and every step that needs it.
fn skip(i: usize, why: &str, recorder: &Recorder) {
    recorder.finish(i, Reason::Skipped, why.to_string());
    for (j, _) in recorder
        .steps()
        .iter()
        .enumerate()
        .filter(|(_, s)| s.after == Some(i))
    {
        skip(j, why, recorder);
    }
}

fn skip_reason(failed: Step) -> String {
    match failed.stage {
        Stage::Dns => "the name did not resolve".into(),
        Stage::Tcp | Stage::Proxy => format!(
            "no connection ({} failed)",
            label(failed.stage, failed.port)
        ),
        Stage::Tls => "the TLS handshake failed".into(),
        Stage::Http | Stage::Clock => "no HTTP response".into(),
    }
}

/// Runs step `i` with what its dependency handed over, bounded by the stage's own timeout and by
/// the scrape's deadline, and records how it ended.
async fn attempt(
    i: usize,
    input: Option<Carry>,
    recorder: &Recorder,
    clients: &Clients,
    deadline: &Deadline,
) -> (usize, Option<Carry>) {
    let step = recorder.steps()[i];
    let target = recorder.target();
    recorder.begin(i);
    let stage_deadline = Instant::now() + target.timeout;
    let done = perform(
        step,
        input,
        target,
        clients,
        recorder,
        stage_deadline,
        deadline.at(),
    )
    .await;
    let (reason, detail) = match done.result {
        Ok(detail) => (Reason::Ok, detail),
        // A failure at a deadline is the deadline's doing, whatever a connection task cut by the
        // same deadline reported first (a closed connection, a reset): the stage timed out. Not
        // so for a step that hands something on: it completed (some addresses answered).
        Err(e)
            if e.reason.is_failure()
                && done.carry.is_none()
                && expired(stage_deadline.min(deadline.at())) =>
        {
            let timeout = step.stage.timeout_reason();
            let detail = if e.reason == timeout {
                e.detail
            } else {
                format!(
                    "{}: no answer before the deadline",
                    label(step.stage, step.port)
                )
            };
            (timeout, detail)
        }
        Err(e) => (e.reason, e.detail),
    };
    recorder.finish(i, reason, detail);
    (i, done.carry)
}

fn expired(at: Instant) -> bool {
    Instant::now() >= at
}

/// Calls the step's stage module.
async fn perform(
    step: Step,
    input: Option<Carry>,
    target: &Target,
    clients: &Clients,
    recorder: &Recorder,
    deadline: Instant,
    scrape_deadline: Instant,
) -> Done {
    let port = step.port.unwrap_or(0);
    match (step.stage, input) {
        (Stage::Dns, _) => {
            let (facts, result) = clients
                .resolvers
                .resolve(
                    &target.host,
                    &target.resolver,
                    target.ip_preference,
                    deadline,
                )
                .await;
            let usable: Arc<[IpAddr]> = facts
                .addresses
                .iter()
                .filter(|ip| !is_sinkhole(ip))
                .take(MAX_ADDRESSES)
                .copied()
                .collect();
            let done = match result {
                Ok(()) if !usable.is_empty() => {
                    Done::passed(dns::describe(&facts), Carry::Addresses(usable))
                }
                Ok(()) if !facts.addresses.is_empty() => {
                    Done::failed(StageError::new(Reason::DnsSinkhole, dns::describe(&facts)))
                }
                Ok(()) => Done::failed(StageError::new(
                    Reason::DnsNoAnswer,
                    format!("{}: no address in the answer", target.host),
                )),
                Err(e) => Done::failed(e),
            };
            recorder.set_dns(facts);
            done
        }
        (Stage::Tcp, input) => {
            let ips: Arc<[IpAddr]> = match input {
                Some(Carry::Addresses(ips)) => ips,
                _ => target.host.parse::<IpAddr>().into_iter().collect(),
            };
            if ips.is_empty() {
                return Done::failed(StageError::new(
                    Reason::DnsNoAnswer,
                    "no address to connect to",
                ));
            }
            connect_all(&ips, port, deadline.min(scrape_deadline), recorder).await
        }
        (Stage::Proxy, _) => {
            let Some(spec) = &target.proxy else {
                return Done::failed(StageError::new(Reason::ProxyFailed, "no proxy configured"));
            };
            let (facts, result) = proxy::connect(spec, &target.host, port, deadline).await;
            recorder.set_proxy(facts);
            match result {
                Ok(tunnel) => Done::passed(
                    format!("tunnel to port {port} open"),
                    Carry::Streams(vec![(None, Box::new(tunnel))]),
                ),
                Err(e) => Done::failed(e),
            }
        }
        (Stage::Tls, Some(Carry::Streams(streams))) => {
            let Some(check) = &target.tls else {
                return Done::failed(StageError::new(Reason::TlsHandshakeFailed, "no TLS check"));
            };
            let client = match clients.tls.get(check) {
                Ok(c) => c,
                Err(e) => return Done::failed(e),
            };
            handshake_all(streams, &client, check, port, recorder, deadline).await
        }
        (Stage::Http, Some(Carry::Streams(mut streams))) => {
            let Some(check) = &target.http else {
                return Done::failed(StageError::new(
                    Reason::HttpInvalidResponse,
                    "no HTTP check",
                ));
            };
            let Some((_, stream)) = streams.pop() else {
                return Done::failed(StageError::new(
                    Reason::HttpInvalidResponse,
                    "no TLS session to send the request on",
                ));
            };
            match http::get(stream, &target.host, &check.path, deadline).await {
                Ok(facts) => {
                    recorder.set_http(facts.clone());
                    Done {
                        result: http::judge_status(&facts, &check.expected_status),
                        carry: Some(Carry::Response(facts)),
                    }
                }
                Err(e) => Done::failed(e),
            }
        }
        (Stage::Clock, Some(Carry::Response(facts))) => Done {
            result: http::judge_clock(&facts, target.max_clock_skew),
            carry: None,
        },
        (stage, _) => Done::failed(StageError::new(
            stage.timeout_reason(),
            "the step it needs handed over nothing",
        )),
    }
}

/// Connects to `port` on every address at once, records each result, and hands on every
/// connection that opened. Some failing where others opened is `tcp_partial`; all failing is
/// the failure of the lowest address (the same whatever order the resolver gave).
async fn connect_all(ips: &[IpAddr], port: u16, deadline: Instant, recorder: &Recorder) -> Done {
    let results =
        futures_util::future::join_all(ips.iter().map(|&ip| async move {
            (ip, tcp::connect(SocketAddr::new(ip, port), deadline).await)
        }))
        .await;
    let mut opened: Vec<Connection> = Vec::new();
    let mut failed: Vec<(IpAddr, StageError)> = Vec::new();
    for (ip, result) in results {
        let reason = result.as_ref().map_or_else(|e| e.reason, |_| Reason::Ok);
        recorder.add_attempt(Attempt {
            stage: Stage::Tcp,
            port,
            address: ip,
            reason,
        });
        match result {
            Ok(stream) => opened.push((Some(ip), Box::new(stream))),
            Err(e) => failed.push((ip, e)),
        }
    }
    opened.sort_by_key(|(ip, _)| *ip);
    failed.sort_by_key(|(ip, _)| *ip);
    let passed = match opened.len() {
        1 => format!("connected to port {port}"),
        n => format!("connected to port {port} on {n} addresses"),
    };
    match (opened.is_empty(), failed.is_empty()) {
        (false, true) => Done::passed(passed, Carry::Streams(opened)),
        (true, _) => Done::failed(failed.swap_remove(0).1),
        (false, false) => Done {
            result: Err(StageError::new(
                Reason::TcpPartial,
                partial_detail(&failed, opened.len()),
            )),
            carry: Some(Carry::Streams(opened)),
        },
    }
}

/// `1 of 2 addresses failed: 192.0.2.8 (connect to 192.0.2.8:443: no answer …)`.
fn partial_detail(failed: &[(IpAddr, StageError)], working: usize) -> String {
    let each: Vec<String> = failed
        .iter()
        .map(|(ip, e)| format!("{ip} ({})", e.detail))
        .collect();
    format!(
        "{} of {} addresses failed: {}",
        failed.len(),
        failed.len() + working,
        each.join("; ")
    )
}

/// One handshake; when it has not finished by half its time and the connection goes to a known
/// address, a second one beside it over a new connection with small segments. The second
/// finishing first (with a session) while the first still stalls is a path-MTU black hole: full
/// packets are lost on the way and the ICMP that would shrink them is filtered. Returns whether
/// the handshake returned is the second one.
async fn handshake_or_small_segments(
    ip: Option<IpAddr>,
    stream: Box<dyn Io>,
    client: &super::tls::TlsClient,
    check: &crate::config::TlsCheck,
    port: u16,
    deadline: Instant,
) -> (
    super::tls::Handshake<super::first_bytes::FirstBytes<Box<dyn Io>>>,
    bool,
) {
    let normal = client.handshake(stream, &check.server_name, deadline);
    let Some(ip) = ip else {
        return (normal.await, false);
    };
    tokio::pin!(normal);
    let half = Instant::now() + deadline.saturating_duration_since(Instant::now()) / 2;
    tokio::select! {
        done = &mut normal => return (done, false),
        () = tokio::time::sleep_until(half) => {}
    }
    let small = async {
        let stream = tcp::connect_small_mss(SocketAddr::new(ip, port), deadline)
            .await
            .ok()?;
        let stream: Box<dyn Io> = Box::new(stream);
        let handshake = client.handshake(stream, &check.server_name, deadline).await;
        handshake.session.is_some().then_some(handshake)
    };
    tokio::pin!(small);
    let mut small_failed = false;
    loop {
        tokio::select! {
            done = &mut normal => return (done, false),
            second = &mut small, if !small_failed => match second {
                Some(handshake) => return (handshake, true),
                None => small_failed = true,
            },
        }
    }
}

/// Runs the TLS handshake on every connection at once and records each result; the session of
/// the lowest address that completed one goes on to the request (also with a chain that does not
/// verify, as `curl -k` goes on). Some failing where others verified is `tls_partial`.
async fn handshake_all(
    streams: Vec<Connection>,
    client: &super::tls::TlsClient,
    check: &crate::config::TlsCheck,
    port: u16,
    recorder: &Recorder,
    deadline: Instant,
) -> Done {
    let handshakes =
        futures_util::future::join_all(streams.into_iter().map(|(ip, stream)| async move {
            let (handshake, small) =
                handshake_or_small_segments(ip, stream, client, check, port, deadline).await;
            (ip, handshake, small)
        }))
        .await;
    let mut chosen: Option<(Connection, Result<(), StageError>)> = None;
    let mut failed: Vec<(IpAddr, StageError)> = Vec::new();
    let mut first_failure: Option<StageError> = None;
    let (mut verified, mut tried) = (0, 0);
    for (ip, mut handshake, small) in handshakes {
        tried += 1;
        if small {
            handshake.verdict = Err(StageError::new(
                Reason::TlsMtuBlackHole,
                format!(
                    "the handshake stalled with full-size packets and completed with {} byte segments",
                    tcp::SMALL_MSS
                ),
            ));
        }
        if let Some(ip) = ip {
            recorder.add_attempt(Attempt {
                stage: Stage::Tls,
                port,
                address: ip,
                reason: handshake
                    .verdict
                    .as_ref()
                    .map_or_else(|e| e.reason, |()| Reason::Ok),
            });
        }
        match &handshake.verdict {
            Ok(()) => verified += 1,
            Err(e) => {
                if let Some(ip) = ip {
                    failed.push((ip, e.clone()));
                }
            }
        }
        match handshake.session {
            Some(session) if chosen.is_none() => {
                if let Some(facts) = handshake.facts {
                    recorder.set_tls(facts);
                }
                chosen = Some(((ip, Box::new(session)), handshake.verdict));
            }
            Some(_) => {}
            None => {
                if first_failure.is_none() {
                    if let Some(facts) = handshake.facts {
                        recorder.set_tls(facts);
                    }
                    recorder.set_first_bytes(handshake.first_bytes);
                    first_failure = handshake.verdict.err();
                }
            }
        }
    }
    let partial = verified > 0 && verified < tried && !failed.is_empty();
    match chosen {
        Some((connection, verdict)) => Done {
            result: if partial {
                Err(StageError::new(
                    Reason::TlsPartial,
                    partial_detail(&failed, verified),
                ))
            } else {
                verdict.map(|()| "handshake done, chain verified".to_string())
            },
            carry: Some(Carry::Streams(vec![connection])),
        },
        None => Done::failed(first_failure.unwrap_or_else(|| {
            StageError::new(Reason::TlsHandshakeFailed, "no connection to run TLS on")
        })),
    }
}
