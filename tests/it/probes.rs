//! Each stage of the checklist against real loopback servers: the healthy path and every failure
//! reason, asserted on the parsed exposition.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use firepower_cloud_exporter::metrics::names;

use crate::util::servers::Leaf;
use crate::util::{Answer, Behaviour, Exporter, Exposition, TlsServer, servers};
use crate::{World, healthy_exporter, healthy_sse, sse_target, tls_target, verdict};

fn stage_verdict(e: &Exposition, target: &str, stage: &str, port: &str) -> String {
    e.label(
        names::STAGE_VERDICT,
        &[("target", target), ("stage", stage), ("port", port)],
        "reason",
    )
}

#[tokio::test]
async fn healthy_path_reports_every_stage_and_the_403() {
    let world = World::new().await;
    let (exporter, server, plain) = healthy_exporter(&world).await;
    let e = exporter.probe("sse").await;

    assert_eq!(
        e.value(
            names::TARGET_SUCCESS,
            &[("target", "sse"), ("service", "cisco_cloud_configuration")]
        ),
        1.0
    );
    assert_eq!(verdict(&e, "sse"), (String::new(), "ok".into()));
    let tls_port = server.port().to_string();
    let plain_port = plain.port().to_string();
    for (stage, port) in [
        ("dns", ""),
        ("tcp", tls_port.as_str()),
        ("tcp", plain_port.as_str()),
        ("tls", tls_port.as_str()),
        ("http", tls_port.as_str()),
        ("clock", ""),
    ] {
        assert_eq!(
            e.value(
                names::STAGE_SUCCESS,
                &[("target", "sse"), ("stage", stage), ("port", port)]
            ),
            1.0,
            "{stage}/{port}"
        );
        assert_eq!(stage_verdict(&e, "sse", stage, port), "ok");
    }
    // DNS facts: the CNAME chain and both addresses.
    assert_eq!(e.value(names::DNS_ANSWERS, &[("target", "sse")]), 2.0);
    assert_eq!(
        e.label(names::DNS_INFO, &[("target", "sse")], "cname_chain"),
        "api-sse.cisco.com.akadns.test."
    );
    assert_eq!(
        e.label(names::DNS_INFO, &[("target", "sse")], "rcode"),
        "NOERROR"
    );
    // TLS facts.
    assert_eq!(
        e.label(names::TLS_INFO, &[("target", "sse")], "verify"),
        "ok"
    );
    assert_eq!(
        e.label(names::TLS_INFO, &[("target", "sse")], "version"),
        "TLS 1.3"
    );
    assert_eq!(e.label(names::TLS_INFO, &[("target", "sse")], "alpn"), "");
    assert!(
        e.label(names::TLS_INFO, &[("target", "sse")], "issuer")
            .contains("Test Root CA")
    );
    let not_after = e.value(names::TLS_CERT_NOT_AFTER, &[("target", "sse")]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    assert!(
        not_after > now + 300.0 * 86400.0 && not_after < now + 366.0 * 86400.0,
        "{not_after}"
    );
    // HTTP: 403 is the healthy answer, and the clocks agree.
    assert_eq!(
        e.value(names::HTTP_STATUS_CODE, &[("target", "sse")]),
        403.0
    );
    assert!(e.value(names::CLOCK_SKEW, &[("target", "sse")]).abs() <= 2.0);
    // One observation per stage in the histograms.
    for (stage, port) in [
        ("dns", ""),
        ("tcp", tls_port.as_str()),
        ("tls", tls_port.as_str()),
        ("http", tls_port.as_str()),
    ] {
        let count = e.value(
            &format!("{}_count", names::STAGE_LATENCY),
            &[("target", "sse"), ("stage", stage), ("port", port)],
        );
        assert_eq!(count, 1.0, "{stage}");
    }
    // Every family has HELP and TYPE.
    for sample in &e.samples {
        let family = ["_bucket", "_count", "_sum"]
            .iter()
            .find_map(|s| {
                sample
                    .name
                    .strip_suffix(s)
                    .filter(|f| e.types.contains_key(*f))
            })
            .unwrap_or(&sample.name);
        assert!(
            e.help.contains_key(family) && e.types.contains_key(family),
            "{} lacks HELP/TYPE",
            sample.name
        );
    }
}

#[tokio::test]
async fn histograms_accumulate_across_scrapes() {
    let world = World::new().await;
    let (exporter, _server, _plain) = healthy_exporter(&world).await;
    for _ in 0..3 {
        exporter.probe("sse").await;
    }
    let e = exporter.probe("sse").await;
    assert_eq!(
        e.value(
            &format!("{}_count", names::STAGE_LATENCY),
            &[("target", "sse"), ("stage", "dns")]
        ),
        4.0
    );
    let inf = e.value(
        &format!("{}_bucket", names::STAGE_LATENCY),
        &[("target", "sse"), ("stage", "dns"), ("le", "+Inf")],
    );
    assert_eq!(inf, 4.0);
}

async fn single_failure(world: &World, target: String, name: &str) -> Exposition {
    let exporter = Exporter::start(&world.config("", &[target])).await;
    exporter.probe(name).await
}

/// The healthy answer of api-sse.cisco.com.
const FORBIDDEN: Behaviour = Behaviour::Http {
    status: 403,
    date_offset_secs: 0,
};

/// Probes the full api-sse checklist against a TLS server presenting `leaf` (by default a
/// certificate from the trusted CA) and answering as `behaviour`.
async fn sse_served_by(world: &World, leaf: Option<Leaf>, behaviour: Behaviour) -> Exposition {
    world.resolve_via_cname("api-sse.cisco.com");
    let leaf = leaf.unwrap_or_else(|| world.pki.leaf(&["api-sse.cisco.com"]));
    let server = TlsServer::start(leaf, behaviour).await;
    let plain = servers::tcp_listener().await;
    let target = sse_target("sse", "api-sse.cisco.com", server.port(), plain.port());
    single_failure(world, target, "sse").await
}

#[tokio::test]
async fn nxdomain_fails_dns_and_skips_the_rest() {
    let world = World::new().await;
    world.dns.set("api-sse.cisco.com", Answer::NxDomain);
    let e = single_failure(
        &world,
        sse_target("sse", "api-sse.cisco.com", 443, 8989),
        "sse",
    )
    .await;
    assert_eq!(verdict(&e, "sse"), ("dns".into(), "dns_nxdomain".into()));
    assert_eq!(
        e.label(names::DNS_INFO, &[("target", "sse")], "rcode"),
        "NXDOMAIN"
    );
    assert_eq!(stage_verdict(&e, "sse", "tcp", "8989"), "skipped");
    // A stage that did not run is not a failure: no success series, so no stage alert.
    for (stage, port) in [
        ("tcp", "8989"),
        ("tcp", "443"),
        ("tls", "443"),
        ("http", "443"),
    ] {
        assert!(
            e.all(
                names::STAGE_SUCCESS,
                &[("target", "sse"), ("stage", stage), ("port", port)]
            )
            .is_empty(),
            "{stage}/{port}"
        );
    }
    assert_eq!(
        e.value(names::STAGE_SUCCESS, &[("target", "sse"), ("stage", "dns")]),
        0.0
    );
    assert_eq!(e.value(names::TARGET_SUCCESS, &[("target", "sse")]), 0.0);
}

#[tokio::test]
async fn servfail_is_its_own_reason() {
    let world = World::new().await;
    world.dns.set("api-sse.cisco.com", Answer::ServFail);
    let e = single_failure(
        &world,
        sse_target("sse", "api-sse.cisco.com", 443, 8989),
        "sse",
    )
    .await;
    assert_eq!(verdict(&e, "sse"), ("dns".into(), "dns_servfail".into()));
    assert_eq!(
        e.label(names::DNS_INFO, &[("target", "sse")], "server"),
        world.dns.addr.to_string()
    );
    assert_eq!(
        e.label(names::DNS_INFO, &[("target", "sse")], "rcode"),
        "SERVFAIL"
    );
}

#[tokio::test]
async fn refused_is_its_own_reason() {
    let world = World::new().await;
    world.dns.set("api-sse.cisco.com", Answer::Refused);
    let e = single_failure(
        &world,
        sse_target("sse", "api-sse.cisco.com", 443, 8989),
        "sse",
    )
    .await;
    assert_eq!(verdict(&e, "sse"), ("dns".into(), "dns_refused".into()));
}

#[tokio::test]
async fn a_dns_server_that_never_answers_times_out_within_the_stage_timeout() {
    let world = World::new().await;
    world.dns.set("api-sse.cisco.com", Answer::Silent);
    let started = Instant::now();
    let e = single_failure(
        &world,
        sse_target("sse", "api-sse.cisco.com", 443, 8989),
        "sse",
    )
    .await;
    assert_eq!(verdict(&e, "sse"), ("dns".into(), "dns_timeout".into()));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn garbage_dns_answers_fail_the_stage_without_a_panic() {
    let world = World::new().await;
    let garbage = firepower_cloud_testkit::dns::garbage_dns().await;
    let target = format!(
        "{}    dns: {{ servers: [\"{garbage}\"] }}\n",
        sse_target("sse", "api-sse.cisco.com", 443, 8989)
    );
    let e = single_failure(&world, target, "sse").await;
    let (stage, reason) = verdict(&e, "sse");
    assert_eq!(stage, "dns");
    assert!(reason == "dns_error" || reason == "dns_timeout", "{reason}");
}

#[tokio::test]
async fn no_nameserver_in_resolv_conf_is_dns_not_configured() {
    let world = World::new().await;
    let resolv = world.dir.path().join("resolv.conf");
    std::fs::write(&resolv, "# no nameserver configured\nsearch example.com\n").expect("write");
    let target = format!(
        "  - name: sse\n    host: api-sse.cisco.com\n    service: cisco_cloud_configuration\n    dns: {{ servers: [], resolv_conf: \"{}\" }}\n",
        resolv.display()
    );
    let e = single_failure(&world, target, "sse").await;
    assert_eq!(
        verdict(&e, "sse"),
        ("dns".into(), "dns_not_configured".into())
    );
}

#[tokio::test]
async fn a_refused_port_8989_is_tcp_refused_while_443_works() {
    let world = World::new().await;
    let (server, _) = healthy_sse(&world, "api-sse.cisco.com").await;
    let closed = servers::closed_port();
    let e = single_failure(
        &world,
        sse_target("sse", "api-sse.cisco.com", server.port(), closed),
        "sse",
    )
    .await;
    let closed = closed.to_string();
    assert_eq!(verdict(&e, "sse"), ("tcp".into(), "tcp_refused".into()));
    assert_eq!(
        e.label(names::TARGET_VERDICT, &[("target", "sse")], "port"),
        closed
    );
    assert_eq!(
        stage_verdict(&e, "sse", "tls", &server.port().to_string()),
        "ok"
    );
    assert_eq!(
        e.value(names::HTTP_STATUS_CODE, &[("target", "sse")]),
        403.0
    );
}

#[tokio::test]
async fn a_server_that_accepts_and_never_speaks_is_a_tls_timeout() {
    let world = World::new().await;
    world.resolve_via_cname("api-sse.cisco.com");
    let server = world.https("api-sse.cisco.com", Behaviour::Stall).await;
    let plain = servers::tcp_listener().await;
    let started = Instant::now();
    let e = single_failure(
        &world,
        sse_target("sse", "api-sse.cisco.com", server.port(), plain.port()),
        "sse",
    )
    .await;
    assert_eq!(verdict(&e, "sse"), ("tls".into(), "tls_timeout".into()));
    assert_eq!(
        stage_verdict(&e, "sse", "http", &server.port().to_string()),
        "skipped"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn an_expired_certificate_is_tls_cert_expired_and_the_request_still_runs() {
    let world = World::new().await;
    let e = sse_served_by(
        &world,
        Some(world.pki.leaf_valid(&["api-sse.cisco.com"], -30, -1)),
        FORBIDDEN,
    )
    .await;
    assert_eq!(
        verdict(&e, "sse"),
        ("tls".into(), "tls_cert_expired".into())
    );
    assert_eq!(
        e.label(names::TLS_INFO, &[("target", "sse")], "verify"),
        "tls_cert_expired"
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    assert!(e.value(names::TLS_CERT_NOT_AFTER, &[("target", "sse")]) < now);
    // Like curl -k, the request still ran and saw the 403.
    assert_eq!(
        e.value(names::HTTP_STATUS_CODE, &[("target", "sse")]),
        403.0
    );
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_untrusted_and_names_its_issuer() {
    let world = World::new().await;
    let e = sse_served_by(
        &world,
        Some(
            crate::util::Pki::new(world.dir.path(), "Corp TLS Inspection CA")
                .leaf(&["api-sse.cisco.com"]),
        ),
        FORBIDDEN,
    )
    .await;
    assert_eq!(
        verdict(&e, "sse"),
        ("tls".into(), "tls_cert_untrusted".into())
    );
    assert!(
        e.label(names::TLS_INFO, &[("target", "sse")], "issuer")
            .contains("Corp TLS Inspection CA")
    );
    // The remedy asks for a do-not-decrypt rule on the inspecting device, named by its issuer,
    // and warns against trusting its CA here.
    let remedy = e.label(names::TARGET_VERDICT, &[("target", "sse")], "remedy");
    assert!(
        remedy.contains("Corp TLS Inspection CA")
            && remedy.contains("do-not-decrypt rule")
            && remedy.contains("Do not add that CA to this exporter's tls.ca_file")
            && !remedy.contains('`'),
        "{remedy}"
    );
}

#[tokio::test]
async fn a_certificate_for_another_name_is_a_hostname_mismatch() {
    let world = World::new().await;
    let e = sse_served_by(
        &world,
        Some(world.pki.leaf(&["portal.example.test"])),
        FORBIDDEN,
    )
    .await;
    assert_eq!(
        verdict(&e, "sse"),
        ("tls".into(), "tls_hostname_mismatch".into())
    );
    assert!(
        e.label(names::TLS_INFO, &[("target", "sse")], "subject")
            .contains("portal.example.test")
    );
}

#[tokio::test]
async fn an_unexpected_status_is_reported_with_the_code() {
    let world = World::new().await;
    let e = sse_served_by(
        &world,
        None,
        Behaviour::Http {
            status: 302,
            date_offset_secs: 0,
        },
    )
    .await;
    assert_eq!(
        verdict(&e, "sse"),
        ("http".into(), "http_unexpected_status".into())
    );
    assert_eq!(
        e.value(names::HTTP_STATUS_CODE, &[("target", "sse")]),
        302.0
    );
}

#[tokio::test]
async fn garbage_instead_of_http_is_an_invalid_response() {
    let world = World::new().await;
    let e = sse_served_by(&world, None, Behaviour::Garbage).await;
    assert_eq!(
        verdict(&e, "sse"),
        ("http".into(), "http_invalid_response".into())
    );
}

#[tokio::test]
async fn a_large_clock_skew_is_reported_in_seconds() {
    let world = World::new().await;
    let e = sse_served_by(
        &world,
        None,
        Behaviour::Http {
            status: 403,
            date_offset_secs: 3600,
        },
    )
    .await;
    assert_eq!(verdict(&e, "sse"), ("clock".into(), "clock_skew".into()));
    let skew = e.value(names::CLOCK_SKEW, &[("target", "sse")]);
    assert!((skew - 3600.0).abs() <= 2.0, "{skew}");
}

#[tokio::test]
async fn a_scrape_with_a_two_second_budget_answers_in_time_while_a_target_stalls() {
    let world = World::new().await;
    world.resolve_via_cname("api-sse.cisco.com");
    let stalled = world.https("api-sse.cisco.com", Behaviour::Stall).await;
    let plain = servers::tcp_listener().await;
    world.resolve_via_cname("cloud-sa.amp.cisco.com");
    let healthy = world
        .https(
            "cloud-sa.amp.cisco.com",
            Behaviour::Http {
                status: 403,
                date_offset_secs: 0,
            },
        )
        .await;
    // Stage timeouts longer than the budget: only the budget can cut the stall short.
    let config = world
        .config(
            "",
            &[
                sse_target("sse", "api-sse.cisco.com", stalled.port(), plain.port()),
                tls_target(
                    "amp",
                    "cloud-sa.amp.cisco.com",
                    "amp_connection_status",
                    healthy.port(),
                ),
            ],
        )
        .replace("timeout: 1s", "timeout: 30s");
    let exporter = Exporter::start(&config).await;
    let started = Instant::now();
    let (status, body) = exporter.scrape("/probe", 2.0).await;
    let elapsed = started.elapsed();
    assert_eq!(status, 200);
    assert!(
        elapsed < Duration::from_secs(2),
        "answered after {elapsed:?}"
    );
    let e = Exposition::parse(&body);
    assert_eq!(verdict(&e, "sse"), ("tls".into(), "tls_timeout".into()));
    assert_eq!(e.value(names::TARGET_SUCCESS, &[("target", "amp")]), 1.0);
    assert_eq!(e.value(names::PROBE_SUCCESS, &[]), 0.0);
}

#[tokio::test]
async fn concurrent_scrapes_share_one_probe() {
    let world = World::new().await;
    world.resolve_via_cname("api-sse.cisco.com");
    // A slow answer keeps the first probe in flight while the second scrape arrives.
    let server = world
        .https("api-sse.cisco.com", Behaviour::SlowForbidden(300))
        .await;
    let plain = servers::tcp_listener().await;
    let target = sse_target("sse", "api-sse.cisco.com", server.port(), plain.port());
    let exporter = Exporter::start(&world.config("", &[target])).await;
    let (a, b) = tokio::join!(
        exporter.scrape("/probe?target=sse", 5.0),
        exporter.scrape("/probe?target=sse", 5.0)
    );
    assert_eq!((a.0, b.0), (200, 200));
    for body in [&a.1, &b.1] {
        assert_eq!(
            Exposition::parse(body).value(names::TARGET_SUCCESS, &[("target", "sse")]),
            1.0
        );
    }
    assert_eq!(
        server.connections.load(std::sync::atomic::Ordering::SeqCst),
        servers::WORLD_ADDRESSES.len(),
        "one probe for two scrapes: one TLS connection per address of the name"
    );
    let own = Exposition::parse(&exporter.get("/metrics").await.1);
    assert_eq!(
        own.value(
            &format!("{}_total", names::PROBES),
            &[("target", "sse"), ("result", "success")]
        ),
        1.0
    );
    assert_eq!(
        own.value(
            &format!("{}_total", names::PROBE_RESULTS),
            &[("freshness", "joined")]
        ),
        1.0
    );
}

#[tokio::test]
async fn a_result_younger_than_min_interval_is_served_again() {
    let world = World::new().await;
    let (server, plain) = healthy_sse(&world, "api-sse.cisco.com").await;
    let config = world
        .config(
            "",
            &[sse_target(
                "sse",
                "api-sse.cisco.com",
                server.port(),
                plain.port(),
            )],
        )
        .replace("min_interval: 0s", "min_interval: 1h");
    let exporter = Exporter::start(&config).await;
    exporter.probe("sse").await;
    let e = exporter.probe("sse").await;
    // One probe: one TLS connection per address of the name.
    assert_eq!(
        server.connections.load(std::sync::atomic::Ordering::SeqCst),
        servers::WORLD_ADDRESSES.len()
    );
    assert!(e.value(names::TARGET_RESULT_AGE, &[("target", "sse")]) >= 0.0);
    let own = Exposition::parse(&exporter.get("/metrics").await.1);
    assert_eq!(
        own.value(
            &format!("{}_total", names::PROBE_RESULTS),
            &[("freshness", "reused")]
        ),
        1.0
    );
}

#[tokio::test]
async fn ipv6_preference_uses_the_aaaa_record() {
    let world = World::new().await;
    world.dns.set(
        "v6.test",
        Answer::Addresses(vec![
            IpAddr::from([127, 0, 0, 1]),
            "::1".parse().expect("v6"),
        ]),
    );
    let target = "  - name: v6\n    host: v6.test\n    service: amp_connection_status\n    checks: [dns]\n    ip_preference: ipv6_only\n".to_string();
    let e = single_failure(&world, target, "v6").await;
    assert_eq!(e.value(names::DNS_ANSWERS, &[("target", "v6")]), 1.0);
    assert_eq!(e.value(names::TARGET_SUCCESS, &[("target", "v6")]), 1.0);
}

#[tokio::test]
async fn a_silent_first_dns_server_hands_over_and_the_answering_server_is_named() {
    let world = World::new().await;
    world.resolve_via_cname("api-sse.cisco.com");
    let broken = crate::util::DnsServer::start().await;
    broken.set("api-sse.cisco.com", Answer::Silent);
    let target = format!(
        "  - name: sse\n    host: api-sse.cisco.com\n    service: cisco_cloud_configuration\n    checks: [dns]\n    dns: {{ servers: [\"{}\", \"{}\"] }}\n",
        broken.addr, world.dns.addr
    );
    let e = single_failure(&world, target, "sse").await;
    assert_eq!(e.value(names::TARGET_SUCCESS, &[("target", "sse")]), 1.0);
    assert_eq!(
        e.label(names::DNS_INFO, &[("target", "sse")], "server"),
        world.dns.addr.to_string()
    );
    assert_eq!(e.value(names::DNS_ANSWERS, &[("target", "sse")]), 2.0);
}

#[tokio::test]
async fn nxdomain_from_the_first_server_is_final_and_named() {
    let world = World::new().await;
    let first = crate::util::DnsServer::start().await;
    first.set("api-sse.cisco.com", Answer::NxDomain);
    world.resolve_via_cname("api-sse.cisco.com");
    let target = format!(
        "  - name: sse\n    host: api-sse.cisco.com\n    service: cisco_cloud_configuration\n    checks: [dns]\n    dns: {{ servers: [\"{}\", \"{}\"] }}\n",
        first.addr, world.dns.addr
    );
    let e = single_failure(&world, target, "sse").await;
    assert_eq!(verdict(&e, "sse"), ("dns".into(), "dns_nxdomain".into()));
    assert_eq!(
        e.label(names::DNS_INFO, &[("target", "sse")], "server"),
        first.addr.to_string()
    );
}

#[tokio::test]
async fn dns_over_tcp_is_a_per_target_choice() {
    let world = World::new().await;
    world.resolve_via_cname("api-sse.cisco.com");
    let target = "  - name: sse\n    host: api-sse.cisco.com\n    service: cisco_cloud_configuration\n    checks: [dns]\n    dns: { protocol: tcp }\n".to_string();
    let e = single_failure(&world, target, "sse").await;
    assert_eq!(e.value(names::TARGET_SUCCESS, &[("target", "sse")]), 1.0);
    let resolver = e.label(names::DNS_INFO, &[("target", "sse")], "resolver");
    assert_eq!(resolver, format!("{} (tcp)", world.dns.addr));
    assert_eq!(
        e.label(names::DNS_INFO, &[("target", "sse")], "cname_chain"),
        "api-sse.cisco.com.akadns.test."
    );
}
