//! The benchmark's harness (examples/compare) is itself correct: on a small lab both exporters
//! and the floor really succeed on every target, and a broken lab shows up as failures.

use std::path::Path;
use std::sync::Arc;

use crate::docs::tool;
use crate::util::{Answer, Behaviour};
use firepower_cloud_testkit::bench::{
    Floor, FloorArgs, Lab, run_blackbox, run_ours, run_ours_with,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_benchmark_measures_real_successes_and_counts_failures() {
    let Some(blackbox) = tool("prometheus-blackbox-exporter") else {
        return;
    };
    let ours_binary = Path::new(env!("CARGO_BIN_EXE_firepower-cloud-exporter"));
    let lab = Lab::new(3).await;
    let floor_args = || FloorArgs {
        dns: lab.dns.addr,
        targets: 3,
        tls_port: lab.tls_port,
        plain_port: lab.plain_port,
        ca: lab.pki.ca_file.clone(),
        rounds: 1,
    };

    let ours = run_ours(&lab, ours_binary, 2).await;
    assert_eq!((ours.checks, ours.failures), (6, 0), "{ours:?}");
    assert!(
        ours.peak_rss_bytes > 1 << 20 && ours.scrape_seconds > 0.0,
        "{ours:?}"
    );
    let bb = run_blackbox(&lab, &blackbox, 2).await;
    assert_eq!((bb.checks, bb.failures), (6, 0), "{bb:?}");
    assert!(bb.peak_rss_bytes > 1 << 20, "{bb:?}");
    let floor = Arc::new(Floor::new(floor_args()));
    assert_eq!(floor.round().await, 0, "the floor succeeds on every target");

    // A lab that answers 500 fails the HTTPS check everywhere, and the harness says so.
    lab.tls.set(Behaviour::Http {
        status: 500,
        date_offset_secs: 0,
    });
    assert_eq!(run_ours(&lab, ours_binary, 1).await.failures, 3);
    assert_eq!(
        run_blackbox(&lab, &blackbox, 1).await.failures,
        3,
        "one https_403 probe per target fails"
    );
    assert_eq!(floor.round().await, 3);
    // A name that stops resolving fails that target only.
    lab.tls.set(Behaviour::Http {
        status: 403,
        date_offset_secs: 0,
    });
    lab.dns.set("t1.bench.test", Answer::NxDomain);
    assert_eq!(run_ours(&lab, ours_binary, 1).await.failures, 1);
    assert_eq!(Arc::new(Floor::new(floor_args())).round().await, 1);
}

/// The WAN lab (a delaying relay in front of the TLS and "8989" ports, DNS answers held back) is a
/// lab every check still succeeds against, with the exporter's default limits and a 10 s budget,
/// as `scripts/bench` measures it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wan_lab_delays_every_exchange_and_every_check_still_succeeds() {
    let ours_binary = Path::new(env!("CARGO_BIN_EXE_firepower-cloud-exporter"));
    let lab = Lab::wan(3, std::time::Duration::from_millis(20)).await;
    assert_ne!(
        lab.tls_port,
        lab.tls.port(),
        "the targets go through the relay"
    );
    let ours = run_ours_with(&lab, ours_binary, 1, &lab.exporter_config_with(""), "10.5").await;
    assert_eq!(
        (ours.checks, ours.failures, ours.budget_exhausted),
        (3, 0, 0),
        "{ours:?}"
    );
}
