//! Runs the checklist against a target: its plan (`plan.rs`) walked by one executor (`run.rs`)
//! against the scrape's deadline, one file per stage (`dns`, `tcp`, `proxy`, `tls`, `http`), every
//! address of a name tried at TCP and TLS (`addresses.rs`), and the scheduler that shares runs
//! between scrapes (`share.rs`). Stages record plain facts (`facts.rs`, `detail.rs`, `outcome.rs`); the verdict is decided
//! once from all of them by one pure function (`verdict/`). Words for people are `diagnosis`'s
//! business and series are `metrics`'.

mod addresses;
mod detail;
mod dns;
mod error;
mod facts;
mod first_bytes;
mod history;
mod http;
mod outcome;
mod plan;
mod proxy;
mod resolvers;
mod run;
#[cfg(test)]
pub(crate) mod script;
mod settle;
mod share;
mod step;
mod tcp;
mod tls;
mod trace;
mod tracer;
mod verdict;

use tokio::io::{AsyncRead, AsyncWrite};

use resolvers::Resolvers;
use tls::TlsClients;

pub(crate) use detail::{
    AuthFailure, Detail, DnsDetail, ErrorClass, HttpDetail, LibraryError, OsError, ProxyDetail,
    Refusal, StepDetail, TcpDetail, TlsDetail,
};
pub(crate) use facts::StageOutcome;
pub(crate) use facts::Trust;
pub(crate) use history::{Change, History, changes};
pub(crate) use outcome::{TargetOutcome, unix_seconds};
pub(crate) use plan::label as stage_label;
pub(crate) use proxy::connect_through;
pub(crate) use share::Prober;
pub(crate) use share::{Freshness, OutcomeSink};
#[cfg(test)]
pub(crate) use trace::{Hop, HopAt, Reported};
pub(crate) use trace::{HopAnswer, LocalCause, MtuDrop, PathEnd, PathTrace, Rejection};
pub(crate) use tracer::{Tracer, traceable};
pub(crate) use verdict::{Evidence, Mark, Verdict};

/// A byte stream a TLS session can run over: a TCP connection or a proxy tunnel.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

/// Shared, long-lived probing resources: resolvers and TLS clients outlive configuration reloads.
#[derive(Default)]
pub(crate) struct Clients {
    pub(crate) resolvers: Resolvers,
    pub(crate) tls: TlsClients,
}
