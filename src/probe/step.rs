//! The one signature every stage has: it takes an [`Input`] (the target, the shared clients, its
//! port, what the step it needs handed over, its deadline) and returns [`Found`] (its verdict with
//! the typed facts of what happened, the facts the verdict reads, and what it hands on). The
//! executor (`run.rs`) stores what a stage found as it is; which function runs for a stage is one
//! line of the plan (`plan.rs`).

use std::net::IpAddr;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::time::Instant;

use super::detail::Detail;
use super::error::StageError;
use super::facts::{Attempt, DnsFacts, HttpFacts, ProxyFacts, TlsFacts};
use super::{Clients, Io};
use crate::checklist::Stage;
use crate::config::Target;

/// Runs a step's stage: the checklist's own stages (`plan::Checklist`), or stand-ins that the
/// executor's and the scheduler's tests script in paused time.
pub(crate) trait Stages: Send + Sync {
    fn run<'a>(&'a self, stage: Stage, input: Input<'a>) -> BoxFuture<'a, Found>;
}

/// What a stage gets.
pub(crate) struct Input<'a> {
    pub(crate) target: &'a Target,
    pub(crate) clients: &'a Clients,
    /// The step's port (0 for the DNS and clock steps).
    pub(crate) port: u16,
    /// What the step it needs handed over (nothing for a first step).
    pub(crate) carry: Option<Carry>,
    /// When the stage's own timeout runs out.
    pub(crate) deadline: Instant,
    /// The scrape's deadline as the step starts (the executor cuts the step there; a scrape that
    /// joins later may move it out).
    pub(crate) scrape_deadline: Instant,
}

/// What a stage returns.
pub(crate) struct Found {
    /// Passed, with what it found; or failed, with why.
    pub(crate) verdict: Result<Detail, StageError>,
    /// The facts the verdict reads (the DNS answer, each address tried, what a proxy, a TLS peer
    /// or an HTTP server answered), kept as they are.
    pub(crate) facts: Vec<Fact>,
    /// What goes on to the step that needs this one (also after some failures: a chain that does
    /// not verify still carries its session, as `curl -k` goes on).
    pub(crate) carry: Option<Carry>,
}

impl Found {
    pub(crate) fn failed(error: StageError) -> Found {
        Found {
            verdict: Err(error),
            facts: Vec::new(),
            carry: None,
        }
    }
}

/// One fact a stage recorded for the verdict.
pub(crate) enum Fact {
    Dns(DnsFacts),
    Attempt(Attempt),
    Proxy(ProxyFacts),
    Tls(TlsFacts),
    /// The first bytes the peer sent when a TLS handshake failed (never empty).
    FirstBytes(Vec<u8>),
    Http(HttpFacts),
}

/// An open connection, and the address it goes to (none through a proxy, which resolves the
/// name itself).
pub(crate) type Connection = (Option<IpAddr>, Box<dyn Io>);

/// What a step hands to the step that needs it.
pub(crate) enum Carry {
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
    pub(crate) fn hand_over(&mut self) -> Option<Carry> {
        match self {
            Carry::Addresses(ips) => Some(Carry::Addresses(ips.clone())),
            Carry::Taken => None,
            other => Some(std::mem::replace(other, Carry::Taken)),
        }
    }
}
