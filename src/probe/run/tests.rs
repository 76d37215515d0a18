//! The executor with scripted stages on tokio's paused clock: what runs after what, what is
//! skipped, what the deadline cuts, and every duration to the millisecond.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::*;
use crate::checklist::Stage;
use crate::config::Target;
use crate::probe::TargetOutcome;
use crate::probe::script::{Ends, Script, ms, target};

/// api-sse.cisco.com with DNS, TCP 443 and 8989, TLS and HTTP on 443 (then the clock), a stage
/// timeout of 2 s.
fn sse() -> Arc<Target> {
    target(
        "path_trace: { enabled: false }\ntargets:\n  - name: sse\n    host: api-sse.cisco.com\n    service: cisco_cloud_configuration\n    checks: [dns, tcp, tls, http]\n    tcp_ports: [443, 8989]\n    timeout: 2s\n",
    )
}

/// Walks `target`'s plan with `script` against a deadline `budget` from now.
async fn walk(script: &Script, target: Arc<Target>, budget: Duration) -> TargetOutcome {
    let recorder = Recorder::new(target);
    let deadline = Deadline::new(Instant::now() + budget);
    execute(&recorder, &Clients::default(), script, &deadline).await;
    recorder.snapshot()
}

/// The reason, duration and detail of the step at `stage`/`port`.
fn step(outcome: &TargetOutcome, stage: Stage, port: Option<u16>) -> (Reason, Duration, Detail) {
    let s = outcome
        .stages
        .iter()
        .find(|s| s.stage == stage && s.port == port)
        .unwrap_or_else(|| panic!("no {stage}/{port:?} in {:?}", outcome.stages));
    (s.reason, s.duration, s.detail.clone())
}

use crate::probe::Detail;

#[tokio::test(start_paused = true)]
async fn steps_start_when_what_they_need_ends_and_take_exactly_their_time() {
    let script = Script::new()
        .play(Stage::Dns, 0, ms(10), Ends::Pass)
        .play(Stage::Tcp, 443, ms(30), Ends::Pass)
        .play(Stage::Tcp, 8989, ms(50), Ends::Pass)
        .play(Stage::Tls, 443, ms(20), Ends::Pass)
        .play(Stage::Http, 443, ms(15), Ends::Pass);
    let start = Instant::now();
    let outcome = walk(&script, sse(), ms(1000)).await;
    // The longest chain: DNS, TCP 443, TLS, HTTP (the clock judges the answer at once).
    assert_eq!(start.elapsed(), ms(75));
    assert_eq!(outcome.duration, ms(75));
    for (stage, port, took) in [
        (Stage::Dns, None, 10),
        (Stage::Tcp, Some(443), 30),
        (Stage::Tcp, Some(8989), 50),
        (Stage::Tls, Some(443), 20),
        (Stage::Http, Some(443), 15),
        (Stage::Clock, None, 0),
    ] {
        let (reason, duration, _) = step(&outcome, stage, port);
        assert_eq!(
            (reason, duration),
            (Reason::Ok, ms(took)),
            "{stage}/{port:?}"
        );
    }
    let began: Vec<(Stage, u16, Duration)> = script
        .began()
        .into_iter()
        .map(|(stage, port, at)| (stage, port, at - start))
        .collect();
    assert_eq!(
        began,
        vec![
            (Stage::Dns, 0, ms(0)),
            (Stage::Tcp, 443, ms(10)),
            (Stage::Tcp, 8989, ms(10)),
            (Stage::Tls, 443, ms(40)),
            (Stage::Http, 443, ms(60)),
            (Stage::Clock, 0, ms(75)),
        ]
    );
    assert!(outcome.verdict.is_none());
}

#[tokio::test(start_paused = true)]
async fn a_failure_skips_every_step_that_needs_it_and_nothing_else() {
    let script = Script::new()
        .play(Stage::Tcp, 443, ms(5), Ends::Fail(Reason::TcpRefused))
        .play(Stage::Tcp, 8989, ms(40), Ends::Pass);
    let outcome = walk(&script, sse(), ms(1000)).await;
    assert_eq!(outcome.duration, ms(40));
    assert_eq!(step(&outcome, Stage::Tcp, Some(443)).0, Reason::TcpRefused);
    assert_eq!(step(&outcome, Stage::Tcp, Some(8989)).0, Reason::Ok);
    let skipped: Detail = StepDetail::Skipped {
        after: Stage::Tcp,
        port: Some(443),
    }
    .into();
    for (stage, port) in [
        (Stage::Tls, Some(443)),
        (Stage::Http, Some(443)),
        (Stage::Clock, None),
    ] {
        assert_eq!(
            step(&outcome, stage, port),
            (Reason::Skipped, Duration::ZERO, skipped.clone()),
            "{stage}"
        );
    }
    let verdict = outcome.verdict.expect("fails");
    assert_eq!(
        (verdict.stage, verdict.port, verdict.reason),
        (Stage::Tcp, Some(443), Reason::TcpRefused)
    );
}

#[tokio::test(start_paused = true)]
async fn the_scrape_deadline_cuts_a_running_step_and_what_waits_is_out_of_budget() {
    let script = Script::new()
        .play(Stage::Dns, 0, ms(10), Ends::Pass)
        .play(Stage::Tcp, 443, ms(10), Ends::Pass)
        .play(Stage::Tls, 443, ms(0), Ends::Never);
    let start = Instant::now();
    let outcome = walk(&script, sse(), ms(500)).await;
    assert_eq!(start.elapsed(), ms(500));
    assert_eq!(outcome.duration, ms(500));
    assert_eq!(
        step(&outcome, Stage::Tls, Some(443)),
        (Reason::TlsTimeout, ms(480), StepDetail::StillRunning.into())
    );
    for (stage, port) in [(Stage::Http, Some(443)), (Stage::Clock, None)] {
        assert_eq!(
            step(&outcome, stage, port),
            (
                Reason::BudgetExhausted,
                Duration::ZERO,
                StepDetail::NotStarted.into()
            ),
            "{stage}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_failure_at_the_stage_timeout_is_that_timeout_one_millisecond_earlier_it_is_not() {
    for (takes, expected) in [(1999, Reason::TcpRefused), (2000, Reason::TcpTimeout)] {
        let script = Script::new().play(Stage::Tcp, 443, ms(takes), Ends::Fail(Reason::TcpRefused));
        let outcome = walk(&script, sse(), ms(5000)).await;
        let (reason, duration, detail) = step(&outcome, Stage::Tcp, Some(443));
        assert_eq!(
            (reason, duration),
            (expected, ms(takes)),
            "after {takes} ms"
        );
        if expected == Reason::TcpTimeout {
            assert_eq!(
                detail,
                StepDetail::Deadline {
                    stage: Stage::Tcp,
                    port: Some(443)
                }
                .into()
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_step_that_hands_on_keeps_its_own_failure_at_the_timeout() {
    let script = Script::new().play(
        Stage::Tcp,
        443,
        ms(2000),
        Ends::FailHandingOn(Reason::TcpPartial),
    );
    let outcome = walk(&script, sse(), ms(5000)).await;
    assert_eq!(step(&outcome, Stage::Tcp, Some(443)).0, Reason::TcpPartial);
    // The connection that opened goes on.
    assert_eq!(step(&outcome, Stage::Tls, Some(443)).0, Reason::Ok);
}

#[tokio::test(start_paused = true)]
async fn a_deadline_moved_out_while_a_step_runs_lets_it_finish() {
    let script = Script::new().play(Stage::Tls, 443, ms(800), Ends::Pass);
    let recorder = Recorder::new(sse());
    let start = Instant::now();
    let deadline = Deadline::new(start + ms(500));
    let clients = Clients::default();
    let extend = async {
        tokio::time::sleep(ms(100)).await;
        deadline.extend(start + ms(1000));
        // Never nearer.
        deadline.extend(start + ms(300));
    };
    tokio::join!(execute(&recorder, &clients, &script, &deadline), extend);
    assert_eq!(start.elapsed(), ms(800));
    assert_eq!(deadline.at(), start + ms(1000));
    let outcome = recorder.snapshot();
    assert_eq!(
        step(&outcome, Stage::Tls, Some(443)),
        (
            Reason::Ok,
            ms(800),
            crate::probe::TlsDetail::Verified.into()
        )
    );
    assert!(outcome.verdict.is_none(), "{:?}", outcome.verdict);
}

#[tokio::test(start_paused = true)]
async fn a_step_that_ends_at_the_deadline_starts_nothing() {
    let script = Script::new().play(Stage::Dns, 0, ms(500), Ends::Pass);
    let outcome = walk(&script, sse(), ms(500)).await;
    assert_eq!(step(&outcome, Stage::Dns, None).0, Reason::Ok);
    for (stage, port) in [
        (Stage::Tcp, Some(443)),
        (Stage::Tcp, Some(8989)),
        (Stage::Tls, Some(443)),
    ] {
        assert_eq!(
            step(&outcome, stage, port).0,
            Reason::BudgetExhausted,
            "{stage}/{port:?}"
        );
    }
    assert_eq!(script.began().len(), 1);
}
