//! A target's plan: the checklist as data. Each step names its stage, its port and the step it
//! needs; the executor (`run.rs`) walks it, and skipping follows from these dependencies. Which
//! function runs a stage is here too ([`run`]), each with the one signature of `step.rs`.
//!
//! Adding a stage: its file (a function `Input -> Found`), its reasons in `checklist/`, and here
//! the line of `plan` that says when it runs and the arm of `run` that names its function.

use futures_util::future::BoxFuture;

use super::step::{Found, Input, Stages};
use super::{addresses, dns, http, proxy};
use crate::checklist::Stage;
use crate::config::Target;

/// The checklist's own stages.
pub(crate) struct Checklist;

impl Stages for Checklist {
    fn run<'a>(&'a self, stage: Stage, input: Input<'a>) -> BoxFuture<'a, Found> {
        Box::pin(run(stage, input))
    }
}

/// Runs `stage` with its input.
async fn run(stage: Stage, input: Input<'_>) -> Found {
    match stage {
        Stage::Dns => dns::step(input).await,
        Stage::Tcp => addresses::connect_step(input).await,
        Stage::Proxy => proxy::step(input).await,
        Stage::Tls => addresses::handshake_step(input).await,
        Stage::Http => addresses::request_step(input).await,
        Stage::Clock => http::clock_step(input).await,
    }
}

/// One step of a target's plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub(crate) stage: Stage,
    /// The port for TCP, proxy, TLS and HTTP steps.
    pub(crate) port: Option<u16>,
    /// The index of the step whose success this one needs (and whose result it takes).
    pub(crate) after: Option<usize>,
}

/// The steps of `target`'s checklist, in order; a step only ever needs an earlier one.
pub(crate) fn plan(target: &Target) -> Vec<Step> {
    let mut steps = Vec::with_capacity(6);
    let mut push = |stage, port, after| {
        steps.push(Step { stage, port, after });
        steps.len() - 1
    };
    let dns = target.dns.then(|| push(Stage::Dns, None, None));
    let connect = if target.proxy.is_some() {
        Stage::Proxy
    } else {
        Stage::Tcp
    };
    let mut tls_connection = None;
    for port in target.connect_ports() {
        let step = push(connect, Some(port), dns);
        if target.tls.as_ref().is_some_and(|t| t.port == port) {
            tls_connection = Some(step);
        }
    }
    if let (Some(tls), Some(connection)) = (&target.tls, tls_connection) {
        let handshake = push(Stage::Tls, Some(tls.port), Some(connection));
        if target.http.is_some() {
            let request = push(Stage::Http, Some(tls.port), Some(handshake));
            push(Stage::Clock, None, Some(request));
        }
    }
    steps
}

/// `tcp/8989`, `tls/443`, `dns`.
pub(crate) fn label(stage: Stage, port: Option<u16>) -> String {
    match port {
        Some(p) => format!("{stage}/{p}"),
        None => stage.to_string(),
    }
}
