//! The FMC rows, proxies, the HTTP endpoints and reloads.

use firepower_cloud_exporter::metrics::names;

use crate::util::{Answer, Behaviour, Exporter, Exposition, Proxy, ProxyMode, servers};
use crate::{World, healthy_exporter, healthy_sse, sse_target, tls_target};

const SECRET: &str = "pr0xy-S3cret-value";

#[tokio::test]
async fn the_cloud_configuration_row_fails_with_the_earliest_reason_in_the_checklist() {
    let world = World::new().await;
    // The SSE host itself is fine; the region endpoint breaks on DNS, and an AMP host on TLS.
    let (server, plain) = healthy_sse(&world, "api-sse.cisco.com").await;
    world.dns.set("regions.api-sse.cisco.com", Answer::NxDomain);
    world.resolve_via_cname("cloud-sa.amp.cisco.com");
    let amp = world
        .https("cloud-sa.amp.cisco.com", Behaviour::Stall)
        .await;
    let config = world.config(
        "",
        &[
            sse_target("sse", "api-sse.cisco.com", server.port(), plain.port()),
            tls_target(
                "regions",
                "regions.api-sse.cisco.com",
                "cisco_cloud_configuration",
                server.port(),
            ),
            tls_target(
                "amp",
                "cloud-sa.amp.cisco.com",
                "amp_connection_status",
                amp.port(),
            ),
        ],
    );
    let exporter = Exporter::start(&config).await;
    let (status, body) = exporter.scrape("/probe", 10.0).await;
    assert_eq!(status, 200);
    let e = Exposition::parse(&body);
    let ccc = [("service", "cisco_cloud_configuration")];
    assert_eq!(e.value(names::SERVICE_SUCCESS, &ccc), 0.0);
    assert_eq!(
        e.label(names::SERVICE_SUCCESS, &ccc, "title"),
        "Cisco Cloud Configuration"
    );
    assert_eq!(e.label(names::SERVICE_VERDICT, &ccc, "target"), "regions");
    assert_eq!(
        e.label(names::SERVICE_VERDICT, &ccc, "reason"),
        "dns_nxdomain"
    );
    assert!(
        e.label(names::SERVICE_VERDICT, &ccc, "remedy")
            .contains("forwarders")
    );
    assert_eq!(
        e.value(
            names::SERVICE_STATUS,
            &[
                ("service", "cisco_cloud_configuration"),
                ("status", "failure")
            ]
        ),
        1.0
    );
    assert_eq!(
        e.value(
            names::SERVICE_STATUS,
            &[
                ("service", "cisco_cloud_configuration"),
                ("status", "success")
            ]
        ),
        0.0
    );
    let amp_row = [("service", "amp_connection_status")];
    assert_eq!(
        e.label(names::SERVICE_VERDICT, &amp_row, "reason"),
        "tls_timeout"
    );
    // A single-target scrape carries that target's part of its row, marked `row_target`, and
    // no other row: the sse part succeeds, the regions part fails for the row's reason.
    let part = |name: &'static str| {
        [
            ("service", "cisco_cloud_configuration"),
            ("row_target", name),
        ]
    };
    let single = exporter.probe("sse").await;
    assert_eq!(single.value(names::SERVICE_SUCCESS, &part("sse")), 1.0);
    assert_eq!(single.all(names::SERVICE_SUCCESS, &[]).len(), 1);
    let single = exporter.probe("regions").await;
    assert_eq!(single.value(names::SERVICE_SUCCESS, &part("regions")), 0.0);
    assert_eq!(
        single.label(names::SERVICE_VERDICT, &part("regions"), "reason"),
        e.label(names::SERVICE_VERDICT, &ccc, "reason")
    );
    assert!(
        e.all(names::SERVICE_SUCCESS, &[("row_target", "sse")])
            .is_empty()
    );
    // A row can be scraped on its own.
    let (status, body) = exporter
        .scrape("/probe?service=amp_connection_status", 10.0)
        .await;
    assert_eq!(status, 200);
    let row = Exposition::parse(&body);
    assert_eq!(row.value(names::SERVICE_SUCCESS, &amp_row), 0.0);
    assert!(
        row.all(names::TARGET_SUCCESS, &[("target", "sse")])
            .is_empty()
    );
}

#[tokio::test]
async fn disabled_cloud_integration_reports_the_row_as_disabled() {
    let world = World::new().await;
    world.dns.set("api-sse.cisco.com", Answer::NxDomain);
    let config = world.config("", &[sse_target("sse", "api-sse.cisco.com", 443, 8989)]);
    let exporter = Exporter::start(&format!("cloud_integration: disabled\n{config}")).await;
    let (_, body) = exporter.scrape("/probe", 10.0).await;
    let e = Exposition::parse(&body);
    let ccc = [("service", "cisco_cloud_configuration")];
    assert!(
        e.all(names::SERVICE_SUCCESS, &ccc).is_empty(),
        "no Success/Failure while disabled"
    );
    assert_eq!(
        e.value(
            names::SERVICE_STATUS,
            &[
                ("service", "cisco_cloud_configuration"),
                ("status", "disabled")
            ]
        ),
        1.0
    );
    assert_eq!(
        e.label(names::SERVICE_VERDICT, &ccc, "reason"),
        "cloud_integration_disabled"
    );
    // The target's own probe still says what is wrong.
    assert_eq!(
        e.label(names::TARGET_VERDICT, &[("target", "sse")], "reason"),
        "dns_nxdomain"
    );
}

async fn through_proxy(
    mode: ProxyMode,
    proxy_url: impl FnOnce(std::net::SocketAddr) -> String,
) -> (Exposition, Proxy, Exporter) {
    let world = World::new().await;
    // Only the proxy can reach the server: the exporter never resolves the name itself.
    let server = world
        .https(
            "api-sse.cisco.com",
            Behaviour::Http {
                status: 403,
                date_offset_secs: 0,
            },
        )
        .await;
    let proxy = Proxy::start(mode, server.addr).await;
    let defaults = format!("  proxy: {{ url: \"{}\" }}\n", proxy_url(proxy.addr));
    let config = world.config(
        &defaults,
        &[sse_target("sse", "api-sse.cisco.com", 443, 8989)],
    );
    let exporter = Exporter::start(&config).await;
    let e = exporter.probe("sse").await;
    (e, proxy, exporter)
}

fn proxy_reason(e: &Exposition) -> String {
    e.label(
        names::STAGE_VERDICT,
        &[("target", "sse"), ("stage", "proxy"), ("port", "443")],
        "reason",
    )
}

#[tokio::test]
async fn an_open_proxy_carries_tls_and_https() {
    let (e, proxy, _x) = through_proxy(ProxyMode::Open, |a| format!("http://{a}")).await;
    assert_eq!(e.value(names::TARGET_SUCCESS, &[("target", "sse")]), 1.0);
    assert_eq!(
        e.value(names::HTTP_STATUS_CODE, &[("target", "sse")]),
        403.0
    );
    assert!(
        e.all(names::STAGE_SUCCESS, &[("stage", "dns")]).is_empty(),
        "the proxy resolves names"
    );
    let requests = proxy.requests.lock().expect("log").join("\n");
    assert!(
        requests.contains("CONNECT api-sse.cisco.com:443 HTTP/1.1"),
        "{requests}"
    );
    assert!(
        requests.contains("CONNECT api-sse.cisco.com:8989 HTTP/1.1"),
        "{requests}"
    );
    // One latency histogram for the tunnel, as for TCP: the TLS port's (both ports share a path).
    let tunnels: Vec<_> = e
        .all(
            &format!("{}_count", names::STAGE_LATENCY),
            &[("target", "sse"), ("stage", "proxy")],
        )
        .into_iter()
        .map(|s| s.labels.get("port").cloned().unwrap_or_default())
        .collect();
    assert_eq!(tunnels.len(), 1, "{tunnels:?}");
    // Observed once per probe (not once per port), like the TLS handshake.
    let count = |stage: &str| {
        e.value(
            &format!("{}_count", names::STAGE_LATENCY),
            &[("target", "sse"), ("stage", stage)],
        )
    };
    assert_eq!(count("proxy"), count("tls"));
    assert_eq!(
        e.value(
            names::STAGE_SUCCESS,
            &[("stage", "proxy"), ("port", &tunnels[0])]
        ),
        1.0
    );
}

#[tokio::test]
async fn basic_proxy_authentication_with_the_right_password_passes() {
    let mode = ProxyMode::Basic {
        user: "fmc".into(),
        password: SECRET.into(),
    };
    let (e, _, _x) = through_proxy(mode, |a| format!("http://fmc:{SECRET}@{a}")).await;
    assert_eq!(
        e.value(names::TARGET_SUCCESS, &[("target", "sse")]),
        1.0,
        "{:#?}",
        e.all(names::STAGE_VERDICT, &[])
    );
}

#[tokio::test]
async fn basic_proxy_authentication_with_a_wrong_password_is_proxy_auth_required() {
    let mode = ProxyMode::Basic {
        user: "fmc".into(),
        password: SECRET.into(),
    };
    let (e, _, _x) = through_proxy(mode, |a| format!("http://fmc:wrong@{a}")).await;
    assert_eq!(proxy_reason(&e), "proxy_auth_required");
    assert_eq!(
        e.label(names::TARGET_VERDICT, &[("target", "sse")], "reason"),
        "proxy_auth_required"
    );
}

#[tokio::test]
async fn digest_proxy_authentication_with_the_right_password_passes() {
    let mode = ProxyMode::Digest {
        user: "fmc".into(),
        password: SECRET.into(),
    };
    let (e, proxy, _x) = through_proxy(mode, |a| format!("http://fmc:{SECRET}@{a}")).await;
    assert_eq!(
        e.value(names::TARGET_SUCCESS, &[("target", "sse")]),
        1.0,
        "{:#?}",
        e.all(names::STAGE_VERDICT, &[])
    );
    let requests = proxy.requests.lock().expect("log").join("\n");
    assert!(
        requests.contains("Proxy-Authorization: Digest")
            || requests.contains("proxy-authorization: Digest"),
        "{requests}"
    );
    assert!(
        !requests.contains(SECRET),
        "Digest never sends the password"
    );
}

#[tokio::test]
async fn digest_proxy_authentication_with_a_wrong_password_is_proxy_auth_required() {
    let mode = ProxyMode::Digest {
        user: "fmc".into(),
        password: SECRET.into(),
    };
    let (e, _, _x) = through_proxy(mode, |a| format!("http://fmc:nope@{a}")).await;
    assert_eq!(proxy_reason(&e), "proxy_auth_required");
}

#[tokio::test]
async fn a_proxy_without_configured_credentials_is_proxy_auth_required() {
    let mode = ProxyMode::Digest {
        user: "fmc".into(),
        password: SECRET.into(),
    };
    let (e, _, _x) = through_proxy(mode, |a| format!("http://{a}")).await;
    assert_eq!(proxy_reason(&e), "proxy_auth_required");
}

#[tokio::test]
async fn a_connect_refused_by_policy_is_its_own_reason() {
    let (e, _, _x) = through_proxy(ProxyMode::Status(403), |a| format!("http://{a}")).await;
    assert_eq!(proxy_reason(&e), "proxy_connect_refused");
}

#[tokio::test]
async fn a_proxy_that_cannot_reach_upstream_is_proxy_upstream_failed() {
    let (e, _, _x) = through_proxy(ProxyMode::Status(502), |a| format!("http://{a}")).await;
    assert_eq!(proxy_reason(&e), "proxy_upstream_failed");
}

#[tokio::test]
async fn a_proxy_that_closes_mid_handshake_is_proxy_failed() {
    let (e, _, _x) = through_proxy(ProxyMode::CloseMidHandshake, |a| format!("http://{a}")).await;
    assert_eq!(proxy_reason(&e), "proxy_failed");
}

#[tokio::test]
async fn an_unreachable_proxy_is_proxy_unreachable() {
    let closed = servers::closed_port();
    let (e, _, _x) = through_proxy(ProxyMode::Open, |_| format!("http://127.0.0.1:{closed}")).await;
    assert_eq!(proxy_reason(&e), "proxy_unreachable");
}

#[tokio::test]
async fn the_proxy_password_appears_in_no_page_and_no_metric() {
    let mode = ProxyMode::Basic {
        user: "fmc".into(),
        password: SECRET.into(),
    };
    let (_, _, exporter) = through_proxy(mode, |a| format!("http://fmc:{SECRET}@{a}")).await;
    for path in [
        "/",
        "/probe",
        "/probe?target=sse",
        "/metrics",
        "/probe?target=nope",
    ] {
        let (_, body) = exporter.get(path).await;
        assert!(!body.contains(SECRET), "{path} shows the password");
    }
    // A broken reload names the field but not the secret.
    std::fs::write(
        &exporter.config_path,
        format!("defaults:\n  proxy: {{ url: \"socks://fmc:{SECRET}@x:1\" }}\ntargets: []\n"),
    )
    .expect("write");
    let (status, body) =
        firepower_cloud_testkit::request(exporter.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(status, 500);
    assert!(!body.contains(SECRET), "{body}");
}

#[tokio::test]
async fn only_configured_targets_are_probed() {
    let world = World::new().await;
    let exporter =
        Exporter::start(&world.config("", &[sse_target("sse", "api-sse.cisco.com", 443, 8989)]))
            .await;
    let (status, body) = exporter.get("/probe?target=evil.example.com").await;
    assert_eq!(status, 400);
    assert!(
        body.contains("unknown target `evil.example.com`") && body.contains("sse"),
        "{body}"
    );
    let (status, body) = exporter.get("/probe?module=http_2xx&target=sse").await;
    assert_eq!(status, 400);
    assert!(body.contains("unknown parameter `module`"), "{body}");
    let (status, _) = exporter.get("/probe?service=smtp").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn health_readiness_and_own_metrics() {
    let world = World::new().await;
    let exporter =
        Exporter::start(&world.config("", &[sse_target("sse", "api-sse.cisco.com", 443, 8989)]))
            .await;
    assert_eq!(exporter.get("/-/healthy").await.0, 200);
    assert_eq!(exporter.get("/-/ready").await.0, 200);
    let (status, body) = exporter.get("/metrics").await;
    assert_eq!(status, 200);
    let e = Exposition::parse(&body);
    assert_eq!(
        e.value(names::BUILD_INFO, &[("version", env!("CARGO_PKG_VERSION"))]),
        1.0
    );
    assert_eq!(e.value(names::CONFIG_RELOAD_SUCCESS, &[]), 1.0);
    assert_eq!(e.value(names::TARGETS_CONFIGURED, &[]), 1.0);
    assert!(e.value(names::CONFIG_RELOAD_TIMESTAMP, &[]) > 1.7e9);
    // The remedy table is exported once, for joins in alert rules.
    assert!(
        e.label(names::REASON_INFO, &[("reason", "tcp_timeout")], "remedy")
            .contains("8989")
    );
    for family in e.types.keys() {
        assert!(e.help.contains_key(family), "{family} lacks HELP");
    }
}

#[tokio::test]
async fn a_broken_reload_keeps_the_running_configuration() {
    let world = World::new().await;
    let (exporter, server, _plain) = healthy_exporter(&world).await;
    std::fs::write(&exporter.config_path, "targets:\n  - name: x\n    host: x.test\n    service: amp_connection_status\n    tcp_ports: [eighty]\n").expect("write");
    let (status, body) =
        firepower_cloud_testkit::request(exporter.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(status, 500);
    assert!(
        body.contains("config.yml") && body.contains("targets[0].tcp_ports"),
        "{body}"
    );
    let own = Exposition::parse(&exporter.get("/metrics").await.1);
    assert_eq!(own.value(names::CONFIG_RELOAD_SUCCESS, &[]), 0.0);
    assert_eq!(
        exporter
            .probe("sse")
            .await
            .value(names::TARGET_SUCCESS, &[("target", "sse")]),
        1.0
    );
    // A good file then takes over.
    let healed = world.config(
        "",
        &[tls_target(
            "amp",
            "api-sse.cisco.com",
            "amp_connection_status",
            server.port(),
        )],
    );
    std::fs::write(&exporter.config_path, healed).expect("write");
    let (status, _) =
        firepower_cloud_testkit::request(exporter.addr, "POST", "/-/reload", &[]).await;
    assert_eq!(status, 200);
    let own = Exposition::parse(&exporter.get("/metrics").await.1);
    assert_eq!(own.value(names::CONFIG_RELOAD_SUCCESS, &[]), 1.0);
    assert_eq!(exporter.get("/probe?target=sse").await.0, 400);
    assert_eq!(
        exporter
            .probe("amp")
            .await
            .value(names::TARGET_SUCCESS, &[("target", "amp")]),
        1.0
    );
}

#[tokio::test]
async fn the_exporter_serves_the_usual_process_metrics() {
    let world = World::new().await;
    let (exporter, _server, _plain) = crate::healthy_exporter(&world).await;
    let (status, body) = exporter.get("/metrics").await;
    assert_eq!(status, 200);
    let e = Exposition::parse(&body);
    let value = |name: &str| {
        assert!(e.help.contains_key(name), "{name} has no HELP");
        e.value(name, &[])
    };
    assert!(value("process_cpu_seconds_total") >= 0.0);
    assert!(value("process_resident_memory_bytes") > f64::from(1 << 20));
    assert!(value("process_virtual_memory_bytes") >= value("process_resident_memory_bytes"));
    assert!(value("process_threads") >= 1.0);
    let open = value("process_open_fds");
    assert!(open > 0.0 && value("process_max_fds") >= open);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let started = value("process_start_time_seconds");
    assert!(
        started > now - 3600.0 && started <= now + 5.0,
        "{started} vs {now}"
    );
}

/// What one healthy `sse`-style target (DNS, TCP 443 and 8989, TLS, HTTPS, clock) costs
/// Prometheus: its own series (those labelled with it first, `{target="sse",…}`) and their bytes
/// in the exposition; HELP and TYPE lines and the row series are per scrape, not per target. A
/// count of series and bytes, not a time (docs/performance.md publishes the same figures).
#[tokio::test]
async fn a_healthy_sse_target_costs_at_most_70_series_and_6_kb() {
    let world = World::new().await;
    let (exporter, _server, _plain) = healthy_exporter(&world).await;
    // Twice, so the histograms have observations (their buckets are all there either way).
    let _ = exporter.probe("sse").await;
    let (status, body) = exporter.scrape("/probe", 10.0).await;
    assert_eq!(status, 200);
    let own: Vec<&str> = body
        .lines()
        .filter(|l| !l.starts_with('#') && l.contains("{target=\"sse\""))
        .collect();
    let series = own.len();
    let bytes: usize = own.iter().map(|l| l.len() + 1).sum();
    eprintln!(
        "one healthy sse target: {series} series, {bytes} bytes ({} bytes for the whole scrape)",
        body.len()
    );
    let parsed = Exposition::parse(&body);
    let labelled = parsed
        .samples
        .iter()
        .filter(|s| s.labels.get("target").map(String::as_str) == Some("sse"))
        .count();
    assert_eq!(series, labelled, "every series of the target is counted");
    assert!(series <= 70, "{series} series:\n{body}");
    assert!(bytes <= 6 * 1024, "{bytes} bytes:\n{body}");
}

/// The shipped systemd unit sets `ProcSubset=pid`: /proc holds only processes, no /proc/stat.
/// The process metrics, the start time included, are all there under the same restriction (a
/// private /proc mounted with `subset=pid`, as systemd mounts it).
#[tokio::test]
async fn the_process_metrics_survive_the_units_proc_subset() {
    if !crate::is_root() {
        assert!(
            std::env::var_os("FCE_REQUIRE_TOOLS").is_none(),
            "mounting a /proc subset needs root (CI runs as root)"
        );
        eprintln!("note: not root; skipping the /proc subset check");
        return;
    }
    let exporter = firepower_cloud_testkit::exporter::ExporterProcess::start(
        std::path::Path::new("unshare"),
        &[
            "--mount",
            "--pid",
            "--fork",
            "--kill-child",
            "--propagation",
            "private",
            "sh",
            "-c",
            "mount -t proc -o subset=pid proc /proc && test ! -e /proc/stat && exec \"$0\" \"$@\"",
            env!("CARGO_BIN_EXE_firepower-cloud-exporter"),
        ],
    )
    .await;
    let (status, body) =
        firepower_cloud_testkit::client::request(exporter.addr, "GET", "/metrics", &[]).await;
    assert_eq!(status, 200);
    let e = Exposition::parse(&body);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let started = e.value("process_start_time_seconds", &[]);
    assert!(
        started > now - 600.0 && started <= now + 5.0,
        "{started} vs {now}:\n{body}"
    );
    for name in [
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "process_threads",
    ] {
        assert!(
            e.help.contains_key(name),
            "{name} is missing under ProcSubset=pid"
        );
    }
}
