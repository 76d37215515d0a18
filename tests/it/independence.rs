//! DNS targets are independent: a name that a server never answers must not delay any other
//! target's answer from the same server, over UDP, over TCP after a truncated answer (also from a
//! server that answers TCP queries one at a time per connection, as dnsmasq does), and through a
//! real dnsmasq forwarding to an upstream that stays silent for one name.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use firepower_cloud_exporter::metrics::names;
use firepower_cloud_testkit::daemons;
use firepower_cloud_testkit::dns::{SerialAnswer, SerialDns};

use crate::util::{Answer, Exporter, Exposition, servers};
use crate::{LOOPBACK, World, tls_target, verdict};

/// How many scrapes each case repeats: the verdict must hold on every one.
const RUNS: usize = 20;

/// The names that answer at once, beside `silent.test`, which never does.
const ANSWERING: [&str; 2] = ["cloud-sa.amp.cisco.com", "api.amp.sourcefire.com"];

/// A world whose DNS server answers [`ANSWERING`] with 127.0.0.1 and never answers `silent.test`.
async fn world_with_a_silent_name() -> World {
    let world = World::new().await;
    world.dns.set("silent.test", Answer::Silent);
    for host in ANSWERING {
        world
            .dns
            .set(host, Answer::Addresses(vec![IpAddr::from(LOOPBACK)]));
    }
    world
}

/// Targets `quiet` (the silent name), `amp` and `sourcefire` (the answering ones) asking the DNS
/// server at `resolver`, each stage with a shorter timeout so the silent name costs less per run.
fn config(world: &World, resolver: std::net::SocketAddr) -> String {
    let amp = |name: &str, host: &str| {
        tls_target(name, host, "amp_connection_status", servers::closed_port())
    };
    world
        .config(
            "",
            &[
                amp("quiet", "silent.test"),
                amp("amp", ANSWERING[0]),
                amp("sourcefire", ANSWERING[1]),
            ],
        )
        .replace("timeout: 1s", "timeout: 500ms")
        .replace(&world.dns.addr.to_string(), &resolver.to_string())
}

/// Scrapes every target [`RUNS`] times and requires `answering` to get their answer (loopback,
/// where the closed port refuses: `dns_loopback`) every time while `silent` times out, each
/// scrape inside its budget.
async fn answering_names_stay_fast(exporter: &Exporter, answering: &[&str], silent: &str) {
    for run in 0..RUNS {
        let started = Instant::now();
        let (status, body) = exporter.scrape("/probe", 3.0).await;
        assert!(started.elapsed() < Duration::from_secs(3), "run {run}");
        assert_eq!(status, 200, "{body}");
        let e = Exposition::parse(&body);
        for name in answering {
            assert_eq!(
                verdict(&e, name),
                ("dns".to_string(), "dns_loopback".to_string()),
                "run {run}: {name} waited behind the silent name"
            );
            assert_eq!(e.value(names::DNS_ANSWERS, &[("target", name)]), 1.0);
            // Answered at once, not at the end of the budget.
            let took = e.value(names::STAGE_DURATION, &[("target", name), ("stage", "dns")]);
            assert!(took < 0.5, "run {run}: {name}'s DNS took {took} s");
        }
        assert_eq!(
            verdict(&e, silent),
            ("dns".to_string(), "dns_timeout".to_string()),
            "run {run}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_name_delays_no_other_name_over_udp() {
    let world = world_with_a_silent_name().await;
    let exporter = Exporter::start(&config(&world, world.dns.addr)).await;
    answering_names_stay_fast(&exporter, &["amp", "sourcefire"], "quiet").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_name_over_tcp_delays_no_other_name_on_a_server_that_serialises_tcp() {
    let world = World::new().await;
    let dns = SerialDns::start().await;
    // Both names come back truncated over UDP, so both are asked again over TCP; the server answers
    // one query at a time per TCP connection and never answers the silent one.
    dns.set("silent.test", SerialAnswer::TruncatedThenSilent);
    for host in ANSWERING {
        dns.set(
            host,
            SerialAnswer::TruncatedThen(vec![IpAddr::from(LOOPBACK)]),
        );
    }
    let exporter = Exporter::start(&config(&world, dns.addr)).await;
    answering_names_stay_fast(&exporter, &["amp", "sourcefire"], "quiet").await;
    assert!(
        dns.most_queries_on_one_connection() <= 1,
        "TCP queries shared a connection: {}",
        dns.most_queries_on_one_connection()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_upstream_name_behind_dnsmasq_delays_no_other_name() {
    let world = world_with_a_silent_name().await;
    let dnsmasq = daemons::dnsmasq(world.dns.addr, &[]).await;
    let exporter = Exporter::start(&config(&world, dnsmasq.addr)).await;
    answering_names_stay_fast(&exporter, &["amp", "sourcefire"], "quiet").await;
}
