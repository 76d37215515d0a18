//! The executor: walks a target's plan against the scrape's deadline. A step starts when the step
//! it needs has succeeded and takes that step's result (an address, a connection, a response);
//! when a step fails, everything that needs it is skipped. Every step is recorded through the one
//! [`Recorder`], and every failure that coincides with a deadline is that deadline's timeout.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::addresses::{
    Connection, MAX_ADDRESSES, Reached, connect_all, handshake_all, request_or_small_segments,
};
use super::detail::{Detail, DnsDetail, HttpDetail, ProxyDetail, StepDetail, TcpDetail, TlsDetail};
use super::error::StageError;
use super::http::HttpFacts;
use super::outcome::Recorder;
use super::plan::Step;
use super::verdict::is_sinkhole;
use super::{Clients, dns, http, proxy, tcp};
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
    result: Result<Detail, StageError>,
    carry: Option<Carry>,
}

impl Done {
    fn passed(detail: impl Into<Detail>, carry: Carry) -> Self {
        Done {
            result: Ok(detail.into()),
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

impl From<Reached> for Done {
    /// The connections that opened go on, whatever the verdict; none opened hands on nothing.
    fn from(reached: Reached) -> Done {
        Done {
            result: reached.result,
            carry: (!reached.connections.is_empty()).then_some(Carry::Streams(reached.connections)),
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
                None => skip(j, steps[i], recorder),
            }
        }
    }
}

/// Skips step `i` and every step that needs it, after `failed` handed over nothing.
fn skip(i: usize, failed: Step, recorder: &Recorder) {
    let why = StepDetail::Skipped {
        after: failed.stage,
        port: failed.port,
    };
    recorder.finish(i, Reason::Skipped, why.into());
    for (j, _) in recorder
        .steps()
        .iter()
        .enumerate()
        .filter(|(_, s)| s.after == Some(i))
    {
        skip(j, failed, recorder);
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
                StepDetail::Deadline {
                    stage: step.stage,
                    port: step.port,
                }
                .into()
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
                    Done::passed(dns::answered(&facts), Carry::Addresses(usable))
                }
                Ok(()) if !facts.addresses.is_empty() => {
                    Done::failed(StageError::new(Reason::DnsSinkhole, dns::answered(&facts)))
                }
                Ok(()) => Done::failed(StageError::new(
                    Reason::DnsNoAnswer,
                    DnsDetail::Empty {
                        host: target.host.clone(),
                    },
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
                return Done::failed(StageError::new(Reason::DnsNoAnswer, TcpDetail::NoAddress));
            }
            connect_all(&ips, port, deadline.min(scrape_deadline), recorder)
                .await
                .into()
        }
        (Stage::Proxy, _) => {
            let Some(spec) = &target.proxy else {
                return Done::failed(StageError::new(
                    Reason::ProxyFailed,
                    ProxyDetail::NotConfigured,
                ));
            };
            let (facts, result) = proxy::connect(spec, &target.host, port, deadline).await;
            recorder.set_proxy(facts);
            match result {
                Ok(tunnel) => Done::passed(
                    ProxyDetail::Open { port },
                    Carry::Streams(vec![(None, Box::new(tunnel))]),
                ),
                Err(e) => Done::failed(e),
            }
        }
        (Stage::Tls, Some(Carry::Streams(streams))) => {
            let Some(check) = &target.tls else {
                return Done::failed(StageError::new(
                    Reason::TlsHandshakeFailed,
                    TlsDetail::NotConfigured,
                ));
            };
            let client = match clients.tls.get(check) {
                Ok(c) => c,
                Err(e) => return Done::failed(e),
            };
            handshake_all(streams, &client, check, port, recorder, deadline)
                .await
                .into()
        }
        (Stage::Http, Some(Carry::Streams(mut streams))) => {
            let Some(check) = &target.http else {
                return Done::failed(StageError::new(
                    Reason::HttpInvalidResponse,
                    HttpDetail::NotConfigured,
                ));
            };
            let (Some((ip, stream)), Some(tls)) = (streams.pop(), &target.tls) else {
                return Done::failed(StageError::new(
                    Reason::HttpInvalidResponse,
                    HttpDetail::NoSession,
                ));
            };
            let client = match clients.tls.get(tls) {
                Ok(c) => c,
                Err(e) => return Done::failed(e),
            };
            let (response, small) = request_or_small_segments(
                ip,
                stream,
                (&client, tls),
                &target.host,
                &check.path,
                deadline,
            )
            .await;
            match response {
                Ok(facts) => {
                    recorder.set_http(facts.clone());
                    let result = if small {
                        Err(StageError::new(
                            Reason::HttpMtuBlackHole,
                            HttpDetail::SmallSegments {
                                mss: tcp::SMALL_MSS,
                            },
                        ))
                    } else {
                        http::judge_status(&facts, &check.expected_status)
                    };
                    Done {
                        result,
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
            StepDetail::NothingHandedOver,
        )),
    }
}
