//! Every address of a name, tried at once: the TCP step connects to each (up to
//! [`MAX_ADDRESSES`]) and the TLS step runs a handshake on each connection, recording a result
//! per address, so the verdict is the same whatever order the resolver rotates the addresses in.
//! A handshake that stalls gets a second try with small segments beside it (a path-MTU black
//! hole shows as the second one finishing first).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use tokio::time::Instant;

use super::detail::{Detail, HttpDetail, StepDetail, TcpDetail, TlsDetail};
use super::error::StageError;
use super::facts::{Attempt, HttpFacts};
use super::first_bytes::FirstBytes;
use super::step::{Carry, Connection, Fact, Found, Input};
use super::tls::{Handshake, TlsClient};
use super::{Io, http, tcp};
use crate::checklist::{Reason, Stage};
use crate::config::TlsCheck;

/// How many of a name's addresses are tried at each step (the device may pick any of them).
pub(crate) const MAX_ADDRESSES: usize = 8;

/// The TCP step: connects to its port on every address the DNS step handed over (or the target's
/// address literal) at once, records each result, and hands on every connection that opened.
/// Some failing where others opened is `tcp_partial`; all failing is the failure of the lowest
/// address (the same whatever order the resolver gave).
pub(super) async fn connect_step(input: Input<'_>) -> Found {
    let ips: Arc<[IpAddr]> = match input.carry {
        Some(Carry::Addresses(ips)) => ips,
        _ => input.target.host.parse::<IpAddr>().into_iter().collect(),
    };
    if ips.is_empty() {
        return Found::failed(StageError::new(Reason::DnsNoAnswer, TcpDetail::NoAddress));
    }
    let (port, deadline) = (input.port, input.deadline.min(input.scrape_deadline));
    let results =
        futures_util::future::join_all(ips.iter().map(|&ip| async move {
            (ip, tcp::connect(SocketAddr::new(ip, port), deadline).await)
        }))
        .await;
    let mut opened: Vec<Connection> = Vec::new();
    let mut failed: Vec<(IpAddr, StageError)> = Vec::new();
    let mut facts = Vec::new();
    for (ip, result) in results {
        let reason = result.as_ref().map_or_else(|e| e.reason, |_| Reason::Ok);
        facts.push(Fact::Attempt(Attempt {
            stage: Stage::Tcp,
            port,
            address: ip,
            reason,
        }));
        match result {
            Ok(stream) => opened.push((Some(ip), Box::new(stream))),
            Err(e) => failed.push((ip, e)),
        }
    }
    opened.sort_by_key(|(ip, _)| *ip);
    failed.sort_by_key(|(ip, _)| *ip);
    let passed = TcpDetail::Connected {
        port,
        addresses: opened.len(),
    };
    let verdict = match (opened.is_empty(), failed.is_empty()) {
        (false, true) => Ok(passed.into()),
        (true, _) => Err(failed.swap_remove(0).1),
        (false, false) => Err(StageError::new(
            Reason::TcpPartial,
            partial(failed, opened.len()),
        )),
    };
    Found {
        verdict,
        facts,
        carry: (!opened.is_empty()).then_some(Carry::Streams(opened)),
    }
}

/// The failing addresses of a name with what each found, beside how many worked.
fn partial(failed: Vec<(IpAddr, StageError)>, working: usize) -> Detail {
    Detail::Partial {
        failed: failed.into_iter().map(|(ip, e)| (ip, e.detail)).collect(),
        working,
    }
}

/// Runs `normal`; when it has not finished by half the time left before `deadline`, starts
/// `small` beside it (the same exchange over a new connection with small segments). The second
/// finishing first with a result while the first still stalls is a path-MTU black hole: full
/// packets are lost on the way and the ICMP that would shrink them is filtered. Returns the
/// result and whether it is the second one's.
async fn or_small_segments<T>(
    normal: impl Future<Output = T>,
    small: impl Future<Output = Option<T>>,
    deadline: Instant,
) -> (T, bool) {
    tokio::pin!(normal);
    let half = Instant::now() + deadline.saturating_duration_since(Instant::now()) / 2;
    tokio::select! {
        done = &mut normal => return (done, false),
        () = tokio::time::sleep_until(half) => {}
    }
    tokio::pin!(small);
    let mut small_failed = false;
    loop {
        tokio::select! {
            done = &mut normal => return (done, false),
            second = &mut small, if !small_failed => match second {
                Some(result) => return (result, true),
                None => small_failed = true,
            },
        }
    }
}

/// A new connection to `ip:port` with small segments and a TLS session on it.
async fn small_segment_session(
    ip: IpAddr,
    port: u16,
    client: &TlsClient,
    check: &TlsCheck,
    deadline: Instant,
) -> Option<Handshake<FirstBytes<Box<dyn Io>>>> {
    let stream = tcp::connect_small_mss(SocketAddr::new(ip, port), deadline)
        .await
        .ok()?;
    let stream: Box<dyn Io> = Box::new(stream);
    let handshake = client.handshake(stream, &check.server_name, deadline).await;
    handshake.session.is_some().then_some(handshake)
}

/// One handshake, with the small-segment try beside it when the connection goes to a known address
/// (through a proxy, the tunnel's segments are the proxy's business).
async fn handshake_or_small_segments(
    ip: Option<IpAddr>,
    stream: Box<dyn Io>,
    client: &TlsClient,
    check: &TlsCheck,
    port: u16,
    deadline: Instant,
) -> (Handshake<FirstBytes<Box<dyn Io>>>, bool) {
    let normal = client.handshake(stream, &check.server_name, deadline);
    match ip {
        Some(ip) => {
            or_small_segments(
                normal,
                small_segment_session(ip, port, client, check, deadline),
                deadline,
            )
            .await
        }
        None => (normal.await, false),
    }
}

/// The HTTPS request on `stream`, with the small-segment try beside it (a new connection, TLS
/// session and request) when the connection goes to a known address: a large answer (a block
/// page, a long header) stalls in a path-MTU black hole as a large certificate does.
async fn request_or_small_segments(
    ip: Option<IpAddr>,
    stream: Box<dyn Io>,
    tls: (&TlsClient, &TlsCheck),
    host: &str,
    path: &str,
    deadline: Instant,
) -> (Result<HttpFacts, StageError>, bool) {
    let normal = http::get(stream, host, path, deadline);
    let Some(ip) = ip else {
        return (normal.await, false);
    };
    let (client, check) = tls;
    let small = async {
        let session = small_segment_session(ip, check.port, client, check, deadline)
            .await?
            .session?;
        http::get(session, host, path, deadline).await.ok().map(Ok)
    };
    or_small_segments(normal, small, deadline).await
}

/// The TLS step: the handshake on every connection the TCP (or proxy) step handed over.
pub(super) async fn handshake_step(input: Input<'_>) -> Found {
    let Some(Carry::Streams(streams)) = input.carry else {
        return nothing_handed_over(Stage::Tls);
    };
    let Some(check) = &input.target.tls else {
        return Found::failed(StageError::new(
            Reason::TlsHandshakeFailed,
            TlsDetail::NotConfigured,
        ));
    };
    let client = match input.clients.tls.get(check) {
        Ok(c) => c,
        Err(e) => return Found::failed(e),
    };
    handshake_all(streams, &client, check, input.port, input.deadline).await
}

/// A step whose dependency handed over nothing it can use: its stage's timeout.
fn nothing_handed_over(stage: Stage) -> Found {
    Found::failed(StageError::new(
        stage.timeout_reason(),
        StepDetail::NothingHandedOver,
    ))
}

/// Runs the TLS handshake on every connection at once and records each result; the session of
/// the lowest address that completed one goes on to the request (also with a chain that does not
/// verify, as `curl -k` goes on). Some failing where others verified is `tls_partial`.
async fn handshake_all(
    streams: Vec<Connection>,
    client: &TlsClient,
    check: &TlsCheck,
    port: u16,
    deadline: Instant,
) -> Found {
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
    let mut facts = Vec::new();
    let (mut verified, mut tried) = (0, 0);
    for (ip, mut handshake, small) in handshakes {
        tried += 1;
        if small {
            handshake.verdict = Err(StageError::new(
                Reason::TlsMtuBlackHole,
                TlsDetail::SmallSegments {
                    mss: tcp::SMALL_MSS,
                },
            ));
        }
        if let Some(ip) = ip {
            facts.push(Fact::Attempt(Attempt {
                stage: Stage::Tls,
                port,
                address: ip,
                reason: handshake
                    .verdict
                    .as_ref()
                    .map_or_else(|e| e.reason, |()| Reason::Ok),
            }));
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
                facts.extend(handshake.facts.map(Fact::Tls));
                chosen = Some(((ip, Box::new(session)), handshake.verdict));
            }
            Some(_) => {}
            None => {
                if first_failure.is_none() {
                    facts.extend(handshake.facts.map(Fact::Tls));
                    if !handshake.first_bytes.is_empty() {
                        facts.push(Fact::FirstBytes(handshake.first_bytes));
                    }
                    first_failure = handshake.verdict.err();
                }
            }
        }
    }
    let some_failed = verified > 0 && verified < tried && !failed.is_empty();
    match chosen {
        Some((connection, verdict)) => Found {
            verdict: if some_failed {
                Err(StageError::new(
                    Reason::TlsPartial,
                    partial(failed, verified),
                ))
            } else {
                verdict.map(|()| TlsDetail::Verified.into())
            },
            facts,
            carry: Some(Carry::Streams(vec![connection])),
        },
        None => Found {
            verdict: Err(first_failure.unwrap_or_else(|| {
                StageError::new(Reason::TlsHandshakeFailed, TlsDetail::NoConnection)
            })),
            facts,
            carry: None,
        },
    }
}

/// The HTTP step: `GET` on the session the TLS step handed over, with the small-segment try
/// beside it; the answer goes on to the clock step.
pub(super) async fn request_step(input: Input<'_>) -> Found {
    let Some(Carry::Streams(mut streams)) = input.carry else {
        return nothing_handed_over(Stage::Http);
    };
    let target = input.target;
    let Some(check) = &target.http else {
        return Found::failed(StageError::new(
            Reason::HttpInvalidResponse,
            HttpDetail::NotConfigured,
        ));
    };
    let (Some((ip, stream)), Some(tls)) = (streams.pop(), &target.tls) else {
        return Found::failed(StageError::new(
            Reason::HttpInvalidResponse,
            HttpDetail::NoSession,
        ));
    };
    let client = match input.clients.tls.get(tls) {
        Ok(c) => c,
        Err(e) => return Found::failed(e),
    };
    let (response, small) = request_or_small_segments(
        ip,
        stream,
        (&client, tls),
        &target.host,
        &check.path,
        input.deadline,
    )
    .await;
    match response {
        Ok(facts) => Found {
            verdict: if small {
                Err(StageError::new(
                    Reason::HttpMtuBlackHole,
                    HttpDetail::SmallSegments {
                        mss: tcp::SMALL_MSS,
                    },
                ))
            } else {
                http::judge_status(&facts, &check.expected_status)
            },
            facts: vec![Fact::Http(facts.clone())],
            carry: Some(Carry::Response(facts)),
        },
        Err(e) => Found::failed(e),
    }
}
