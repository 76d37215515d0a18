//! Bad input gets a clear error and loses nothing: configuration files that are FIFOs, devices or
//! carry huge values; requests with repeated or unknown parameters; a shutdown in the middle of a
//! long scrape.

use std::time::{Duration, Instant};

use firepower_cloud_exporter::metrics::names;
use firepower_cloud_testkit::exporter::{ExporterProcess, until_metrics};
use firepower_cloud_testkit::request;

use crate::util::{Behaviour, Exporter, Exposition};
use crate::{World, healthy_exporter, sse_target, tls_target};

/// POST /-/reload must answer within this, whatever the file is.
const RELOAD_ANSWER: Duration = Duration::from_secs(3);

async fn reload(exporter: &Exporter) -> (u16, String) {
    let started = Instant::now();
    let answer = tokio::time::timeout(
        RELOAD_ANSWER,
        request(exporter.addr, "POST", "/-/reload", &[]),
    )
    .await
    .expect("the reload answered at once");
    assert!(started.elapsed() < RELOAD_ANSWER);
    answer
}

async fn assert_old_config_still_serves(exporter: &Exporter) {
    let e = exporter.probe("sse").await;
    assert_eq!(
        e.value(
            names::TARGET_SUCCESS,
            &[("target", "sse"), ("service", "cisco_cloud_configuration")]
        ),
        1.0
    );
    let (_, metrics) = exporter.get("/metrics").await;
    assert_eq!(
        Exposition::parse(&metrics).value(names::CONFIG_RELOAD_SUCCESS, &[]),
        0.0
    );
}

#[tokio::test]
async fn a_configuration_that_became_a_fifo_is_refused_at_once_every_time() {
    let world = World::new().await;
    let (exporter, _server, _plain) = healthy_exporter(&world).await;
    std::fs::remove_file(&exporter.config_path).expect("remove");
    let made = std::process::Command::new("mkfifo")
        .arg(&exporter.config_path)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    for _ in 0..2 {
        let (status, body) = reload(&exporter).await;
        assert_eq!(status, 500);
        assert!(body.contains("must be a regular file"), "{body}");
    }
    assert_old_config_still_serves(&exporter).await;
}

#[tokio::test]
async fn a_configuration_that_points_at_a_device_is_refused_without_reading_it() {
    let world = World::new().await;
    let (exporter, _server, _plain) = healthy_exporter(&world).await;
    std::fs::remove_file(&exporter.config_path).expect("remove");
    std::os::unix::fs::symlink("/dev/zero", &exporter.config_path).expect("symlink");
    let (status, body) = reload(&exporter).await;
    assert_eq!(status, 500);
    assert!(body.contains("must be a regular file"), "{body}");
    assert_old_config_still_serves(&exporter).await;
}

#[tokio::test]
async fn a_huge_value_is_cut_in_the_error_and_a_huge_file_is_refused() {
    let world = World::new().await;
    let (exporter, _server, _plain) = healthy_exporter(&world).await;
    let host = "h".repeat(2 * 1024 * 1024);
    std::fs::write(
        &exporter.config_path,
        format!("targets:\n  - {{name: a, host: {host}, service: amp_connection_status}}\n"),
    )
    .expect("write");
    let (status, body) = reload(&exporter).await;
    assert_eq!(status, 500);
    assert!(
        body.contains("targets[0].host"),
        "{}",
        &body[..body.len().min(300)]
    );
    assert!(body.len() < 2048, "{} bytes echoed", body.len());
    // Past the size limit the file is not parsed at all.
    std::fs::write(&exporter.config_path, "#".repeat(5 * 1024 * 1024)).expect("write");
    let (status, body) = reload(&exporter).await;
    assert_eq!(status, 500);
    assert!(body.contains("the limit is"), "{body}");
    assert_old_config_still_serves(&exporter).await;
}

#[tokio::test]
async fn repeated_parameters_are_refused() {
    let world = World::new().await;
    let (exporter, _server, _plain) = healthy_exporter(&world).await;
    for query in [
        "/probe?target=sse&target=sse",
        "/probe?target=sse&target=other",
        "/probe?service=cisco_cloud_configuration&service=amp_connection_status",
        "/debug?target=sse&target=sse",
    ] {
        let (status, body) = exporter.get(query).await;
        assert_eq!(status, 400, "{query}");
        assert!(body.contains("more than once"), "{query}: {body}");
    }
}

#[tokio::test]
async fn an_unknown_target_among_ten_thousand_gets_a_short_answer() {
    let world = World::new().await;
    let targets: Vec<String> = (0..10_000)
        .map(|i| tls_target(&format!("t{i}"), "127.0.0.1", "amp_connection_status", 443))
        .collect();
    let exporter = Exporter::start(&world.config("", &targets)).await;
    let (status, body) = exporter.get("/probe?target=nope").await;
    assert_eq!(status, 400);
    assert!(body.len() < 1024, "{} bytes", body.len());
    assert!(
        body.contains("t0, t1") && body.contains("and 9980 more"),
        "{body}"
    );
}

#[tokio::test]
async fn sigterm_during_a_long_scrape_answers_with_what_is_known() {
    let world = World::new().await;
    world.resolve_via_cname("api-sse.cisco.com");
    let stalled = world.https("api-sse.cisco.com", Behaviour::Stall).await;
    let config = world
        .config(
            "",
            &[sse_target(
                "sse",
                "api-sse.cisco.com",
                stalled.port(),
                stalled.port(),
            )],
        )
        .replace("timeout: 1s", "timeout: 90s");
    let path = world.dir.path().join("config.yml");
    std::fs::write(&path, config).expect("write");
    let mut exporter = ExporterProcess::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_firepower-cloud-exporter")),
        &[
            "--config.file",
            &path.display().to_string(),
            "--web.shutdown-grace",
            "4s",
        ],
    )
    .await;
    let addr = exporter.addr;
    let scrape = tokio::spawn(async move {
        request(
            addr,
            "GET",
            "/probe?target=sse",
            &[("X-Prometheus-Scrape-Timeout-Seconds", "60")],
        )
        .await
    });
    until_metrics(addr, "the scrape's probe to be in flight", |e| {
        e.value(names::PROBES_IN_FLIGHT, &[]) >= 1.0
    })
    .await;
    let started = Instant::now();
    exporter.signal("TERM").await;
    let (status, body) = scrape.await.expect("scrape task");
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    let e = Exposition::parse(&body);
    assert_eq!(
        e.label(names::TARGET_VERDICT, &[("target", "sse")], "reason"),
        "tls_timeout"
    );
    let exited = tokio::time::timeout(Duration::from_secs(10), exporter.child.wait())
        .await
        .expect("exited after the grace")
        .expect("status");
    assert!(exited.success(), "{exited}");
}
