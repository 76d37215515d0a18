//! Stand-in stages for the executor's and the scheduler's tests: each step takes the time its
//! play says (on tokio's paused clock) and passes or fails as scripted; a step that passes hands
//! on what the real stage would (addresses, a stream, an answer). No socket is opened.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::time::Instant;

use super::detail::{Detail, DnsDetail, HttpDetail, ProxyDetail, StepDetail, TcpDetail, TlsDetail};
use super::error::StageError;
use super::facts::HttpFacts;
use super::step::{Carry, Found, Input, Stages};
use crate::checklist::{Reason, Stage};
use crate::config::Target;

/// How a scripted step ends.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ends {
    Pass,
    /// Fails with this reason, handing nothing on.
    Fail(Reason),
    /// Fails with this reason and still hands on a connection (some addresses answered).
    FailHandingOn(Reason),
    /// Never ends.
    Never,
}

/// What the steps of a script do: by stage and port (0 for none), for every target or for one,
/// each `(takes, ends)`; a step without a play passes at once.
#[derive(Default)]
pub(crate) struct Script {
    plays: HashMap<(Option<String>, Stage, u16), (Duration, Ends)>,
    began: Mutex<Vec<(Stage, u16, Instant)>>,
}

impl Script {
    pub(crate) fn new() -> Script {
        Script::default()
    }

    pub(crate) fn play(mut self, stage: Stage, port: u16, takes: Duration, ends: Ends) -> Script {
        self.plays.insert((None, stage, port), (takes, ends));
        self
    }

    /// A play for the target named `target` only.
    pub(crate) fn play_for(
        mut self,
        target: &str,
        stage: Stage,
        port: u16,
        takes: Duration,
        ends: Ends,
    ) -> Script {
        self.plays
            .insert((Some(target.to_string()), stage, port), (takes, ends));
        self
    }

    /// When each step began, in the order they began.
    pub(crate) fn began(&self) -> Vec<(Stage, u16, Instant)> {
        self.began
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl Stages for Script {
    fn run<'a>(&'a self, stage: Stage, input: Input<'a>) -> BoxFuture<'a, Found> {
        let port = input.port;
        self.began
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((stage, port, Instant::now()));
        let name = Some(input.target.name.clone());
        let (takes, ends) = self
            .plays
            .get(&(name, stage, port))
            .or_else(|| self.plays.get(&(None, stage, port)))
            .copied()
            .unwrap_or((Duration::ZERO, Ends::Pass));
        Box::pin(async move {
            tokio::time::sleep(takes).await;
            let failed = |reason| StageError::new(reason, StepDetail::NothingHandedOver);
            match ends {
                Ends::Pass => Found {
                    verdict: Ok(passed(stage, port)),
                    facts: Vec::new(),
                    carry: handed_on(stage),
                },
                Ends::Fail(reason) => Found::failed(failed(reason)),
                Ends::FailHandingOn(reason) => Found {
                    verdict: Err(failed(reason)),
                    facts: Vec::new(),
                    carry: handed_on(stage),
                },
                Ends::Never => std::future::pending().await,
            }
        })
    }
}

const ADDRESS: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));

fn passed(stage: Stage, port: u16) -> Detail {
    match stage {
        Stage::Dns => DnsDetail::Answered {
            addresses: vec![ADDRESS],
        }
        .into(),
        Stage::Tcp => TcpDetail::Connected { port, addresses: 1 }.into(),
        Stage::Proxy => ProxyDetail::Open { port }.into(),
        Stage::Tls => TlsDetail::Verified.into(),
        Stage::Http => HttpDetail::Status { status: 403 }.into(),
        Stage::Clock => HttpDetail::Skew { seconds: 0.0 }.into(),
    }
}

fn handed_on(stage: Stage) -> Option<Carry> {
    match stage {
        Stage::Dns => Some(Carry::Addresses(Arc::from([ADDRESS]))),
        Stage::Tcp | Stage::Proxy | Stage::Tls => {
            let (stream, _) = tokio::io::duplex(64);
            Some(Carry::Streams(vec![(Some(ADDRESS), Box::new(stream))]))
        }
        Stage::Http => Some(Carry::Response(HttpFacts {
            status: 403,
            ..HttpFacts::default()
        })),
        Stage::Clock => None,
    }
}

/// The first target of a configuration written in YAML.
pub(crate) fn target(yaml: &str) -> Arc<Target> {
    crate::config::parse_for_test(yaml).targets[0].clone()
}

/// Milliseconds.
pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
