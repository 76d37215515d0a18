//! A target's plan: the checklist as data. Each step names its stage, its port and the step it
//! needs; the executor (`run.rs`) walks it, and skipping follows from these dependencies.
//!
//! Adding a stage: a stage file, its reasons in `checklist.rs`, one line here and one arm in
//! `run::perform`.

use crate::checklist::Stage;
use crate::config::Target;

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
