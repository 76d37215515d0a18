//! The scheduler with scripted stages on tokio's paused clock: scrapes that join a run in flight,
//! results served again within `min_interval`, deadlines moved out by a longer scrape, and the
//! limit on probes at once, each to the millisecond.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::*;
use crate::checklist::{Reason, Stage};
use crate::probe::script::{Ends, Script, ms};

/// Counts the runs that started.
#[derive(Default)]
struct Runs(AtomicUsize);

impl OutcomeSink for Runs {
    fn started(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    fn record(&self, _: &TargetOutcome, _: bool) {}
}

/// A prober of `targets` (names `a`, `b`…: DNS, TCP 443, TLS and HTTP, a stage timeout of 2 s,
/// `min_interval` 10 s) whose steps play `script`.
fn prober(script: Script, targets: usize, max_concurrent: usize) -> (Prober, Arc<Runs>) {
    let mut yaml = format!(
        "path_trace: {{ enabled: false }}\nmax_concurrent_probes: {max_concurrent}\ntargets:\n"
    );
    for name in ["a", "b", "c"].iter().take(targets) {
        yaml.push_str(&format!(
            "  - name: {name}\n    host: api-sse.cisco.com\n    service: cisco_cloud_configuration\n    checks: [dns, tcp, tls, http]\n    tcp_ports: [443]\n    timeout: 2s\n    min_interval: 10s\n"
        ));
    }
    let config = Arc::new(crate::config::parse_for_test(&yaml));
    let runs = Arc::new(Runs::default());
    let prober = Prober::with_stages(
        config,
        Arc::new(Clients::default()),
        runs.clone(),
        Arc::new(script),
    );
    (prober, runs)
}

fn reason_of(outcome: &TargetOutcome, stage: Stage) -> Reason {
    outcome
        .stages
        .iter()
        .find(|s| s.stage == stage)
        .map(|s| s.reason)
        .expect("stage")
}

#[tokio::test(start_paused = true)]
async fn scrapes_at_once_share_one_run_and_a_young_result_is_served_again() {
    let (prober, runs) = prober(
        Script::new().play(Stage::Tls, 443, ms(300), Ends::Pass),
        1,
        4,
    );
    let target = prober.config().targets[0].clone();
    let start = Instant::now();
    let ((first, fresh), (second, joined)) = tokio::join!(
        prober.probe(&target, start + ms(1000)),
        prober.probe(&target, start + ms(1000))
    );
    assert_eq!((fresh, joined), (Freshness::Fresh, Freshness::Joined));
    assert!(Arc::ptr_eq(&first, &second));
    assert_eq!(start.elapsed(), ms(300));
    assert_eq!(runs.0.load(Ordering::SeqCst), 1);
    // Younger than min_interval (10 s from when the run ended): the same result, no new run.
    tokio::time::sleep(ms(9_999)).await;
    let (again, reused) = prober.probe(&target, Instant::now() + ms(1000)).await;
    assert_eq!(reused, Freshness::Reused);
    assert!(Arc::ptr_eq(&first, &again));
    assert_eq!(runs.0.load(Ordering::SeqCst), 1);
    // At min_interval: a new run.
    tokio::time::sleep(ms(1)).await;
    let (_, fresh) = prober.probe(&target, Instant::now() + ms(1000)).await;
    assert_eq!(fresh, Freshness::Fresh);
    assert_eq!(runs.0.load(Ordering::SeqCst), 2);
}

#[tokio::test(start_paused = true)]
async fn a_longer_scrape_that_joins_moves_the_deadline_out_and_the_shorter_one_keeps_its_own() {
    let (prober, runs) = prober(
        Script::new().play(Stage::Tls, 443, ms(800), Ends::Pass),
        1,
        4,
    );
    let target = prober.config().targets[0].clone();
    let start = Instant::now();
    let short = async {
        let (outcome, _) = prober.probe(&target, start + ms(500)).await;
        (outcome, start.elapsed())
    };
    let long = async {
        tokio::time::sleep(ms(100)).await;
        let (outcome, freshness) = prober.probe(&target, start + ms(2000)).await;
        (outcome, freshness, start.elapsed())
    };
    let ((short, short_took), (long, freshness, long_took)) = tokio::join!(short, long);
    assert_eq!(freshness, Freshness::Joined);
    // The short scrape answers at its own deadline with what was measured by then.
    assert_eq!(short_took, ms(500));
    assert_eq!(reason_of(&short, Stage::Tls), Reason::TlsTimeout);
    // The run went on to the longer deadline and completed.
    assert_eq!(long_took, ms(800));
    assert_eq!(reason_of(&long, Stage::Tls), Reason::Ok);
    assert_eq!(long.duration, ms(800));
    assert_eq!(runs.0.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn at_most_max_concurrent_probes_run_at_once() {
    let script = Arc::new(Script::new().play(Stage::Dns, 0, ms(100), Ends::Pass));
    let (prober, _) = prober(Script::new(), 3, 2);
    let prober = Prober::with_stages(
        prober.config().clone(),
        Arc::new(Clients::default()),
        Arc::new(Runs::default()),
        script.clone(),
    );
    let start = Instant::now();
    let outcomes = prober.probe_all(start + ms(1000)).await;
    assert_eq!(outcomes.len(), 3);
    assert_eq!(start.elapsed(), ms(200));
    let dns_began: Vec<Duration> = script
        .began()
        .into_iter()
        .filter(|(stage, _, _)| *stage == Stage::Dns)
        .map(|(_, _, at)| at - start)
        .collect();
    assert_eq!(dns_began, vec![ms(0), ms(0), ms(100)]);
}

#[tokio::test(start_paused = true)]
async fn a_run_that_waits_for_a_slot_past_its_deadline_never_starts() {
    let (prober, runs) = prober(Script::new().play(Stage::Dns, 0, ms(0), Ends::Never), 2, 1);
    let [a, b] = [0, 1].map(|i| prober.config().targets[i].clone());
    let start = Instant::now();
    let ((first, _), (second, _)) = tokio::join!(
        prober.probe(&a, start + ms(300)),
        prober.probe(&b, start + ms(300))
    );
    assert_eq!(start.elapsed(), ms(300));
    assert_eq!(runs.0.load(Ordering::SeqCst), 1);
    assert_eq!(reason_of(&first, Stage::Dns), Reason::DnsTimeout);
    assert_eq!(reason_of(&second, Stage::Dns), Reason::BudgetExhausted);
}
