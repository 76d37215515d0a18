//! The verdict, decided once from every fact a probe recorded: the DNS answer, each address tried
//! with its result, the first bytes a peer sent when a handshake failed, the proxy's challenge,
//! the HTTP answer's marks. Stages record what they saw and their own first reading of it; this
//! one pure function weighs all of it and says which stage, port and reason explain the target
//! (and which addresses). It never touches a socket; a table test holds a row per rule.
//!
//! The answer explains everything after it:
//! 1. a sinkhole answer (every address `0.0.0.0` or `::`) is `dns_sinkhole`;
//! 2. a loopback answer after which no connection opened is `dns_loopback`, not a firewall.
//!
//! Otherwise each step's own record is read again with the facts beside it, and the earliest
//! failure in checklist order explains the target:
//! 3. a proxy that offers only schemes a device cannot answer is `proxy_auth_unsupported`;
//! 4. plain HTTP on the TLS port (`HTTP/1.x NNN …` where a handshake was due) is `tls_plain_http`;
//! 5. a `407` inside the TLS session is `http_proxy_auth_required`; any answer carrying a
//!    middlebox's marks is `http_block_page`, whatever its status;
//! 6. some addresses failing where others work is `tcp_partial` / `tls_partial`, naming them;
//! 7. any other failure is the step's own reason.

use std::net::IpAddr;

use serde::Serialize;

mod marks;

pub(crate) use marks::{Mark, marks};

use super::facts::{Attempt, DnsFacts, HttpFacts, ProxyFacts, StageOutcome};
use crate::checklist::{Reason, Stage, checklist_rank};

/// The facts the verdict reads, borrowed from one probe's outcome.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts<'a> {
    pub(crate) stages: &'a [StageOutcome],
    pub(crate) dns: Option<&'a DnsFacts>,
    pub(crate) attempts: &'a [Attempt],
    pub(crate) proxy: Option<&'a ProxyFacts>,
    /// The first bytes the peer sent when a TLS handshake failed.
    pub(crate) first_bytes: Option<&'a [u8]>,
    pub(crate) http: Option<&'a HttpFacts>,
}

/// What explains a failing target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Verdict {
    pub(crate) stage: Stage,
    pub(crate) port: Option<u16>,
    pub(crate) reason: Reason,
    /// The addresses concerned: the answer for a DNS verdict, the failing ones for a partial one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) addresses: Vec<IpAddr>,
    /// What the verdict was drawn from, for the renderers to put in words.
    pub(crate) evidence: Evidence,
}

/// The fact a verdict rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Evidence {
    /// The failing stage's own record (its detail says what happened).
    Stage,
    /// The DNS answer: its addresses came from `server` (when known).
    Answer {
        server: Option<String>,
        /// For a loopback answer: how connecting to it failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        then: Option<Reason>,
    },
    /// The proxy's `407` offered only these schemes.
    Schemes { offered: Vec<String> },
    /// The status line a plain-HTTP peer sent where a TLS handshake was due.
    StatusLine { line: String },
    /// The marks of a middlebox in the HTTP answer (`X-Squid-Error: ERR_ACCESS_DENIED 0`, …).
    Marks { status: u16, marks: Vec<Mark> },
    /// Each failing address with its reason, and how many addresses worked.
    Addresses {
        failing: Vec<(IpAddr, Reason)>,
        working: usize,
    },
}

/// The authentication schemes a Firepower device answers at a proxy.
const DEVICE_SCHEMES: [&str; 2] = ["basic", "digest"];

/// Decides the verdict from `facts`; `None` when nothing failed.
pub(crate) fn decide(facts: &Facts<'_>) -> Option<Verdict> {
    sinkhole(facts).or_else(|| loopback(facts)).or_else(|| {
        facts
            .stages
            .iter()
            .filter_map(|step| read_again(facts, step))
            .min_by_key(|v| checklist_rank(v.stage, v.reason))
    })
}

/// One step's verdict with the facts beside it: a rule's, its own failure, or none.
fn read_again(facts: &Facts<'_>, step: &StageOutcome) -> Option<Verdict> {
    let ruled = match step.stage {
        Stage::Proxy => unsupported_schemes(facts, step),
        Stage::Tls => plain_http(facts, step).or_else(|| partial(facts, step, Reason::TlsPartial)),
        Stage::Http => middlebox_answer(facts, step),
        Stage::Tcp => partial(facts, step, Reason::TcpPartial),
        Stage::Dns | Stage::Clock => None,
    };
    ruled.or_else(|| {
        step.reason
            .is_failure()
            .then(|| verdict(step.stage, step.port, step.reason, Evidence::Stage))
    })
}

fn verdict(stage: Stage, port: Option<u16>, reason: Reason, evidence: Evidence) -> Verdict {
    Verdict {
        stage,
        port,
        reason,
        addresses: Vec::new(),
        evidence,
    }
}

fn stage<'a>(facts: &Facts<'a>, stage: Stage) -> impl Iterator<Item = &'a StageOutcome> {
    facts.stages.iter().filter(move |s| s.stage == stage)
}

/// Whether an answer address sends traffic nowhere on purpose.
pub(crate) fn is_sinkhole(ip: &IpAddr) -> bool {
    ip.is_unspecified()
}

fn sinkhole(facts: &Facts<'_>) -> Option<Verdict> {
    let dns = facts.dns?;
    if dns.addresses.is_empty() || !dns.addresses.iter().all(is_sinkhole) {
        return None;
    }
    Some(Verdict {
        addresses: dns.addresses.clone(),
        ..verdict(
            Stage::Dns,
            None,
            Reason::DnsSinkhole,
            Evidence::Answer {
                server: dns.server.clone(),
                then: None,
            },
        )
    })
}

fn loopback(facts: &Facts<'_>) -> Option<Verdict> {
    let dns = facts.dns?;
    // An answer only: an address written as the target's host was not looked up.
    dns.server.as_ref()?;
    if dns.addresses.is_empty() || !dns.addresses.iter().all(IpAddr::is_loopback) {
        return None;
    }
    // Connecting failed on every port tried: nothing answers there.
    let connects: Vec<&StageOutcome> = stage(facts, Stage::Tcp).collect();
    let failed = connects.iter().find(|s| {
        matches!(
            s.reason,
            Reason::TcpRefused | Reason::TcpTimeout | Reason::TcpUnreachable
        )
    })?;
    let opened = facts
        .attempts
        .iter()
        .any(|a| a.stage == Stage::Tcp && a.reason == Reason::Ok);
    if opened || connects.iter().any(|s| s.reason == Reason::Ok) {
        return None;
    }
    Some(Verdict {
        addresses: dns.addresses.clone(),
        ..verdict(
            Stage::Dns,
            failed.port,
            Reason::DnsLoopback,
            Evidence::Answer {
                server: dns.server.clone(),
                then: Some(failed.reason),
            },
        )
    })
}

fn unsupported_schemes(facts: &Facts<'_>, failed: &StageOutcome) -> Option<Verdict> {
    let proxy = facts.proxy?;
    if failed.reason != Reason::ProxyAuthRequired {
        return None;
    }
    let offered = &proxy.schemes;
    let answerable = offered
        .iter()
        .any(|s| DEVICE_SCHEMES.contains(&s.to_ascii_lowercase().as_str()));
    if offered.is_empty() || answerable {
        return None;
    }
    Some(verdict(
        Stage::Proxy,
        failed.port,
        Reason::ProxyAuthUnsupported,
        Evidence::Schemes {
            offered: offered.clone(),
        },
    ))
}

fn plain_http(facts: &Facts<'_>, failed: &StageOutcome) -> Option<Verdict> {
    if !failed.reason.is_failure() {
        return None;
    }
    let line = http_status_line(facts.first_bytes?)?;
    Some(verdict(
        Stage::Tls,
        failed.port,
        Reason::TlsPlainHttp,
        Evidence::StatusLine { line },
    ))
}

/// `HTTP/1.1 403 Forbidden` when `bytes` open with an HTTP/1.x status line.
pub(crate) fn http_status_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().next()?.trim_end();
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))?;
    let code = rest.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(line.chars().take(120).collect())
}

fn middlebox_answer(facts: &Facts<'_>, step: &StageOutcome) -> Option<Verdict> {
    let http = facts.http?;
    if http.status == 407 {
        return Some(verdict(
            Stage::Http,
            step.port,
            Reason::HttpProxyAuthRequired,
            Evidence::Marks {
                status: http.status,
                marks: marks(http),
            },
        ));
    }
    let marks = marks(http);
    if marks.is_empty() {
        return None;
    }
    Some(verdict(
        Stage::Http,
        step.port,
        Reason::HttpBlockPage,
        Evidence::Marks {
            status: http.status,
            marks,
        },
    ))
}

/// Some addresses failing where others work at `step`.
fn partial(facts: &Facts<'_>, step: &StageOutcome, reason: Reason) -> Option<Verdict> {
    let tried: Vec<&Attempt> = facts
        .attempts
        .iter()
        .filter(|a| a.stage == step.stage && Some(a.port) == step.port)
        .collect();
    let mut failing: Vec<(IpAddr, Reason)> = tried
        .iter()
        .filter(|a| a.reason.is_failure())
        .map(|a| (a.address, a.reason))
        .collect();
    let working = tried.len() - failing.len();
    if failing.is_empty() || working == 0 {
        return None;
    }
    failing.sort();
    Some(Verdict {
        addresses: failing.iter().map(|(ip, _)| *ip).collect(),
        ..verdict(
            step.stage,
            step.port,
            reason,
            Evidence::Addresses { failing, working },
        )
    })
}

#[cfg(test)]
mod tests;
