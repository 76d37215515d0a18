//! Hostile and broken peers, stage by stage: every case ends in a failed probe with the right
//! reason, never a panic or an answer later than the scrape's budget. Cases that race a deadline
//! (a peer that never answers, or drips bytes) run 20 times and must give the same reason every
//! time, on `/probe` and in `firepower_cloud_stage_failures_total` alike, on a multi-threaded
//! runtime like the exporter's own.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use firepower_cloud_exporter::metrics::names;
use firepower_cloud_testkit::dns::mismatched_id_dns;
use firepower_cloud_testkit::exporter::until_metrics;
use firepower_cloud_testkit::servers::self_signed_ca_leaf;

use crate::util::{Answer, Behaviour, Exporter, Exposition, Proxy, ProxyMode, TlsServer, servers};
use crate::{LOOPBACK, World, sse_target, tls_target, verdict};

/// How often a deadline race is repeated.
const RACE_RUNS: usize = 20;

fn stage_detail_free_verdict(e: &Exposition, target: &str, stage: &str, port: &str) -> String {
    e.label(
        names::STAGE_VERDICT,
        &[("target", target), ("stage", stage), ("port", port)],
        "reason",
    )
}

/// The full api-sse checklist against a TLS server presenting `leaf` and answering as
/// `behaviour`, with each stage allowed `timeout`.
async fn sse_exporter(
    world: &World,
    leaf: Option<firepower_cloud_testkit::servers::Leaf>,
    behaviour: Behaviour,
    timeout: &str,
) -> (Exporter, TlsServer) {
    world.resolve_via_cname("api-sse.cisco.com");
    let leaf = leaf.unwrap_or_else(|| world.pki.leaf(&["api-sse.cisco.com"]));
    let server = TlsServer::start(leaf, behaviour).await;
    let target = sse_target("sse", "api-sse.cisco.com", server.port(), server.port());
    let config = world
        .config("", &[target])
        .replace("timeout: 1s", &format!("timeout: {timeout}"));
    (Exporter::start(&config).await, server)
}

/// The same through a proxy in `mode` whose tunnels lead to a healthy TLS server.
async fn proxied_exporter(
    world: &World,
    mode: ProxyMode,
    timeout: &str,
) -> (Exporter, Proxy, TlsServer) {
    let server = world.cisco("api-sse.cisco.com").await;
    let proxy = Proxy::start(mode, server.addr).await;
    let defaults = format!("  proxy: {{ url: \"http://{}\" }}\n", proxy.addr);
    let config = world
        .config(
            &defaults,
            &[sse_target("sse", "api-sse.cisco.com", 443, 8989)],
        )
        .replace("timeout: 1s", &format!("timeout: {timeout}"));
    (Exporter::start(&config).await, proxy, server)
}

/// Scrapes `target` [`RACE_RUNS`] times with `budget` seconds and requires `expected` (stage,
/// reason) every time, within the budget, and the failure counter to agree.
async fn same_reason_every_time(exporter: &Exporter, budget: f64, expected: (&str, &str)) {
    for run in 0..RACE_RUNS {
        let started = Instant::now();
        let (status, body) = exporter.scrape("/probe?target=sse", budget).await;
        let took = started.elapsed();
        assert_eq!(status, 200, "{body}");
        assert!(
            took < Duration::from_secs_f64(budget),
            "run {run} answered after {took:?}"
        );
        let e = Exposition::parse(&body);
        assert_eq!(
            verdict(&e, "sse"),
            (expected.0.to_string(), expected.1.to_string()),
            "run {run}"
        );
    }
    // Every run was recorded with the reason the scrape saw.
    let (_, metrics) = exporter.get("/metrics").await;
    let m = Exposition::parse(&metrics);
    let counted: f64 = m
        .all(
            &format!("{}_total", names::STAGE_FAILURES),
            &[("target", "sse"), ("stage", expected.0)],
        )
        .iter()
        .map(|s| {
            assert_eq!(s.labels["reason"], expected.1, "{:?}", s.labels);
            s.value
        })
        .sum();
    assert!(counted >= RACE_RUNS as f64, "{counted} failures counted");
}

// Multi-threaded like the exporter's own runtime: the deadline race needs two threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_server_that_never_answers_is_http_timeout_every_time() {
    let world = World::new().await;
    let (exporter, _server) = sse_exporter(&world, None, Behaviour::Silent, "250ms").await;
    same_reason_every_time(&exporter, 10.0, ("http", "http_timeout")).await;
}

// Multi-threaded like the exporter's own runtime: the deadline race needs two threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_server_that_never_answers_is_http_timeout_at_the_scrape_deadline_too() {
    let world = World::new().await;
    let (exporter, _server) = sse_exporter(&world, None, Behaviour::Silent, "30s").await;
    same_reason_every_time(&exporter, 0.9, ("http", "http_timeout")).await;
}

// Multi-threaded like the exporter's own runtime: the deadline race needs two threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_server_that_drips_its_answer_is_http_timeout_every_time() {
    let world = World::new().await;
    let (exporter, _server) = sse_exporter(&world, None, Behaviour::Drip(40), "250ms").await;
    same_reason_every_time(&exporter, 10.0, ("http", "http_timeout")).await;
    let (exporter, _server) = sse_exporter(&world, None, Behaviour::Drip(40), "30s").await;
    same_reason_every_time(&exporter, 0.9, ("http", "http_timeout")).await;
}

// Multi-threaded like the exporter's own runtime: the deadline race needs two threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_server_that_drips_a_record_header_is_tls_timeout_every_time() {
    let world = World::new().await;
    let (exporter, _server) = sse_exporter(&world, None, Behaviour::TlsDrip(40), "250ms").await;
    same_reason_every_time(&exporter, 10.0, ("tls", "tls_timeout")).await;
}

// Multi-threaded like the exporter's own runtime: the deadline race needs two threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_stays_silent_after_connect_is_proxy_timeout_every_time() {
    let world = World::new().await;
    let (exporter, _proxy, _server) = proxied_exporter(&world, ProxyMode::Silent, "250ms").await;
    same_reason_every_time(&exporter, 10.0, ("proxy", "proxy_timeout")).await;
    let (exporter, _proxy, _server) = proxied_exporter(&world, ProxyMode::Silent, "30s").await;
    same_reason_every_time(&exporter, 0.9, ("proxy", "proxy_timeout")).await;
}

// Multi-threaded like the exporter's own runtime: the deadline race needs two threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_proxy_that_drips_its_answer_is_proxy_timeout_every_time() {
    let world = World::new().await;
    let (exporter, _proxy, _server) = proxied_exporter(&world, ProxyMode::Drip(40), "250ms").await;
    same_reason_every_time(&exporter, 10.0, ("proxy", "proxy_timeout")).await;
    let (exporter, _proxy, _server) = proxied_exporter(&world, ProxyMode::Drip(40), "30s").await;
    same_reason_every_time(&exporter, 0.9, ("proxy", "proxy_timeout")).await;
}

/// The verdict of the full api-sse checklist against a TLS server answering as `behaviour`.
async fn sse_verdict(behaviour: Behaviour) -> (String, String) {
    let world = World::new().await;
    let (exporter, _server) = sse_exporter(&world, None, behaviour, "1s").await;
    verdict(&exporter.probe("sse").await, "sse")
}

#[tokio::test]
async fn tls_peers_that_break_the_handshake_are_named() {
    for (behaviour, expected) in [
        (Behaviour::ResetOnAccept, "tls_handshake_failed"),
        (Behaviour::CloseOnAccept, "tls_handshake_failed"),
        (Behaviour::NotTls, "tls_handshake_failed"),
        (Behaviour::Alert, "tls_handshake_failed"),
        (Behaviour::Stall, "tls_timeout"),
    ] {
        let label = format!("{behaviour:?}");
        assert_eq!(
            sse_verdict(behaviour).await,
            ("tls".into(), expected.into()),
            "{label}"
        );
    }
}

#[tokio::test]
async fn every_unexpected_status_class_is_http_unexpected_status() {
    for status in [200, 204, 302, 404, 500, 503] {
        assert_eq!(
            sse_verdict(Behaviour::Http {
                status,
                date_offset_secs: 0
            })
            .await,
            ("http".into(), "http_unexpected_status".into()),
            "{status}"
        );
    }
}

#[tokio::test]
async fn http_peers_that_break_the_response_are_named() {
    assert_eq!(
        sse_verdict(Behaviour::CloseAfterRequest).await,
        ("http".into(), "http_invalid_response".into())
    );
    assert_eq!(
        sse_verdict(Behaviour::Garbage).await,
        ("http".into(), "http_invalid_response".into())
    );
}

/// A broken peer is told in words on the status page (and so in `check`, which renders the same
/// accounts); the library's own message is kept for support on `/debug` only.
#[tokio::test]
async fn broken_peers_are_told_in_words_and_the_library_text_stays_on_debug() {
    const LIBRARY_WORDS: [&str; 8] = [
        "os error",
        "received fatal alert",
        "InvalidContentType",
        "close_notify",
        "connection closed before message completed",
        "invalid HTTP",
        "error trying",
        "Kind(",
    ];
    for (behaviour, words) in [
        (
            Behaviour::ResetOnAccept,
            "reset by the peer (an RST came back)",
        ),
        (
            Behaviour::CloseOnAccept,
            "the peer closed the connection before the exchange ended",
        ),
        (Behaviour::NotTls, "the peer&#39;s answer is not TLS"),
        (
            Behaviour::Alert,
            "the peer sent TLS alert handshake_failure (no protocol version or cipher in common",
        ),
        (
            Behaviour::CloseAfterRequest,
            "the peer closed the connection before the exchange ended",
        ),
        (Behaviour::Garbage, "the answer is not valid HTTP"),
    ] {
        let label = format!("{behaviour:?}");
        let world = World::new().await;
        let (exporter, _server) = sse_exporter(&world, None, behaviour, "1s").await;
        let (_, page) = exporter.get("/").await;
        let page = page.replace("&#x27;", "&#39;");
        assert!(page.contains(words), "{label}: {page}");
        for library in LIBRARY_WORDS {
            assert!(
                !page.contains(library),
                "{label}: {library} on the page: {page}"
            );
        }
        let (_, debug) = exporter.get("/debug?target=sse").await;
        assert!(debug.contains("* error: "), "{label}: {debug}");
    }
}

#[tokio::test]
async fn a_response_without_a_date_passes_and_skips_the_clock() {
    let world = World::new().await;
    let (exporter, _server) = sse_exporter(&world, None, Behaviour::NoDate, "1s").await;
    let e = exporter.probe("sse").await;
    assert_eq!(verdict(&e, "sse"), (String::new(), "ok".into()));
    assert_eq!(stage_detail_free_verdict(&e, "sse", "clock", ""), "skipped");
    assert!(e.all(names::CLOCK_SKEW, &[("target", "sse")]).is_empty());
}

#[tokio::test]
async fn a_self_signed_ca_certificate_is_untrusted_and_names_its_issuer() {
    let world = World::new().await;
    let leaf = self_signed_ca_leaf(&["api-sse.cisco.com"]);
    let (exporter, _server) = sse_exporter(
        &world,
        Some(leaf),
        Behaviour::Http {
            status: 403,
            date_offset_secs: 0,
        },
        "1s",
    )
    .await;
    let e = exporter.probe("sse").await;
    assert_eq!(
        verdict(&e, "sse"),
        ("tls".into(), "tls_cert_untrusted".into())
    );
    assert!(
        e.label(names::TLS_INFO, &[("target", "sse")], "issuer")
            .contains("Captive Portal")
    );
    let (_, page) = exporter.get("/debug?target=sse").await;
    assert!(
        page.contains("self-signed CA certificate") && !page.contains("OtherError"),
        "{page}"
    );
}

/// The DNS verdict of a target whose name the world answers with `answer`.
async fn dns_verdict(answer: Answer) -> (String, String, Exposition) {
    let world = World::new().await;
    world.dns.set("cloud-sa.amp.cisco.com", answer);
    let config = world.config(
        "",
        &[tls_target(
            "amp",
            "cloud-sa.amp.cisco.com",
            "amp_connection_status",
            servers::closed_port(),
        )],
    );
    let exporter = Exporter::start(&config).await;
    let e = exporter.probe("amp").await;
    let (stage, reason) = verdict(&e, "amp");
    (stage, reason, e)
}

#[tokio::test]
async fn dns_answers_of_every_kind_get_their_reason() {
    for (answer, expected, rcode) in [
        (Answer::ServFail, "dns_servfail", "SERVFAIL"),
        (Answer::Refused, "dns_refused", "REFUSED"),
        (Answer::FormErr, "dns_error", "FORMERR"),
        (Answer::NotImp, "dns_error", "NOTIMP"),
        (Answer::NxDomain, "dns_nxdomain", "NXDOMAIN"),
        (Answer::Addresses(Vec::new()), "dns_no_answer", "NOERROR"),
        (Answer::Silent, "dns_timeout", ""),
        (
            Answer::Late(1500, vec![IpAddr::from(LOOPBACK)]),
            "dns_timeout",
            "",
        ),
    ] {
        let label = format!("{answer:?}");
        let (stage, reason, e) = dns_verdict(answer).await;
        assert_eq!(
            (stage.as_str(), reason.as_str()),
            ("dns", expected),
            "{label}"
        );
        assert_eq!(
            e.label(names::DNS_INFO, &[("target", "amp")], "rcode"),
            rcode,
            "{label}"
        );
    }
}

#[tokio::test]
async fn a_truncated_udp_answer_is_asked_again_over_tcp() {
    let (stage, reason, e) = dns_verdict(Answer::Truncated(vec![IpAddr::from(LOOPBACK)])).await;
    // The full answer came over TCP: its loopback address, where the closed port refuses.
    assert_eq!((stage.as_str(), reason.as_str()), ("dns", "dns_loopback"));
    assert_eq!(e.value(names::DNS_ANSWERS, &[("target", "amp")]), 1.0);
    assert_eq!(
        stage_detail_free_verdict(
            &e,
            "amp",
            "tcp",
            &e.label(names::TARGET_VERDICT, &[("target", "amp")], "port")
        ),
        "tcp_refused"
    );
}

#[tokio::test]
async fn an_answer_too_large_for_udp_arrives_whole_over_tcp() {
    let many: Vec<IpAddr> = (1..=200u8).map(|i| IpAddr::from([127, 0, 1, i])).collect();
    let (stage, reason, e) = dns_verdict(Answer::Addresses(many)).await;
    assert_eq!((stage.as_str(), reason.as_str()), ("dns", "dns_loopback"));
    assert_eq!(e.value(names::DNS_ANSWERS, &[("target", "amp")]), 200.0);
}

#[tokio::test]
async fn a_cname_loop_is_a_dns_error_that_says_so() {
    let world = World::new().await;
    world.dns.set(
        "cloud-sa.amp.cisco.com",
        Answer::Cname("loop-a.test".into()),
    );
    world
        .dns
        .set("loop-a.test", Answer::Cname("loop-b.test".into()));
    world
        .dns
        .set("loop-b.test", Answer::Cname("loop-a.test".into()));
    let config = world.config(
        "",
        &[tls_target(
            "amp",
            "cloud-sa.amp.cisco.com",
            "amp_connection_status",
            443,
        )],
    );
    let exporter = Exporter::start(&config).await;
    let e = exporter.probe("amp").await;
    assert_eq!(verdict(&e, "amp"), ("dns".into(), "dns_cname_loop".into()));
    let (_, page) = exporter.get("/debug?target=amp").await;
    assert!(page.contains("CNAME loop at loop-a.test."), "{page}");
}

#[tokio::test]
async fn a_dns_answer_with_another_query_id_is_ignored_until_the_timeout() {
    let world = World::new().await;
    let dns = mismatched_id_dns().await;
    let config = world
        .config(
            "",
            &[tls_target(
                "amp",
                "cloud-sa.amp.cisco.com",
                "amp_connection_status",
                443,
            )],
        )
        .replace(&world.dns.addr.to_string(), &dns.to_string());
    let exporter = Exporter::start(&config).await;
    let e = exporter.probe("amp").await;
    assert_eq!(verdict(&e, "amp"), ("dns".into(), "dns_timeout".into()));
}

#[tokio::test]
async fn a_port_that_drops_syns_is_tcp_timeout_and_one_that_refuses_is_tcp_refused() {
    let world = World::new().await;
    world.dns.set(
        "api-sse.cisco.com",
        Answer::Addresses(vec![IpAddr::from(LOOPBACK)]),
    );
    let (dropped, _fillers, _listener) = servers::black_hole().await;
    let config = world.config(
        "",
        &[format!(
            "  - name: sse\n    host: api-sse.cisco.com\n    service: cisco_cloud_configuration\n    checks: [dns, tcp]\n    tcp_ports: [{}, {}]\n",
            dropped.port(),
            servers::closed_port()
        )],
    );
    let exporter = Exporter::start(&config).await;
    let e = exporter.probe("sse").await;
    let port = dropped.port().to_string();
    assert_eq!(
        stage_detail_free_verdict(&e, "sse", "tcp", &port),
        "tcp_timeout"
    );
    let closed = e
        .all(names::STAGE_VERDICT, &[("target", "sse"), ("stage", "tcp")])
        .iter()
        .map(|s| s.labels["reason"].clone())
        .collect::<Vec<_>>();
    assert!(closed.contains(&"tcp_refused".to_string()), "{closed:?}");
    // Every connection to the name's only (loopback) address failed: the answer explains them.
    assert_eq!(verdict(&e, "sse"), ("dns".into(), "dns_loopback".into()));
}

#[tokio::test]
async fn proxy_answers_of_every_class_get_their_reason() {
    for (mode, expected) in [
        (ProxyMode::Status(301), "proxy_failed"),
        (ProxyMode::Status(400), "proxy_connect_refused"),
        (ProxyMode::Status(403), "proxy_connect_refused"),
        (ProxyMode::Status(401), "proxy_auth_required"),
        (ProxyMode::Status(500), "proxy_upstream_failed"),
        (ProxyMode::Status(502), "proxy_upstream_failed"),
        (ProxyMode::Status(503), "proxy_upstream_failed"),
        (ProxyMode::Status(504), "proxy_upstream_failed"),
        (ProxyMode::Status(407), "proxy_auth_required"),
        (ProxyMode::CloseMidHandshake, "proxy_failed"),
    ] {
        let world = World::new().await;
        let label = format!("{mode:?}");
        let (exporter, _proxy, _server) = proxied_exporter(&world, mode, "1s").await;
        let e = exporter.probe("sse").await;
        assert_eq!(
            verdict(&e, "sse"),
            ("proxy".into(), expected.into()),
            "{label}"
        );
    }
}

#[tokio::test]
async fn a_407_without_a_challenge_says_so() {
    let world = World::new().await;
    let (exporter, _proxy, _server) = proxied_exporter(&world, ProxyMode::Status(407), "1s").await;
    let (_, page) = exporter.get("/debug?target=sse").await;
    assert!(
        page.contains("without a Proxy-Authenticate challenge"),
        "{page}"
    );
}

#[tokio::test]
async fn a_longer_scrape_that_joins_a_short_one_gets_its_own_budget() {
    let world = World::new().await;
    // A healthy path that needs 1.5 s to answer.
    let (exporter, _server) =
        sse_exporter(&world, None, Behaviour::SlowForbidden(1500), "30s").await;
    let short = exporter.scrape("/probe?target=sse", 1.5);
    let long = async {
        // Joins the short scrape's probe in flight.
        until_metrics(
            exporter.addr,
            "the short scrape's probe to be in flight",
            |e| e.value(names::PROBES_IN_FLIGHT, &[]) >= 1.0,
        )
        .await;
        exporter.scrape("/probe?target=sse", 10.0).await
    };
    let ((_, short), (_, long)) = tokio::join!(short, long);
    let short = Exposition::parse(&short);
    let long = Exposition::parse(&long);
    // The short scrape reports the stall as far as its budget saw it...
    assert_eq!(
        verdict(&short, "sse"),
        ("http".into(), "http_timeout".into())
    );
    // ...the long one, which joined the same probe, waited for the answer within its own budget.
    assert_eq!(verdict(&long, "sse"), (String::new(), "ok".into()));
    let (_, metrics) = exporter.get("/metrics").await;
    let m = Exposition::parse(&metrics);
    assert_eq!(
        m.value(
            &format!("{}_total", names::PROBE_RESULTS),
            &[("freshness", "joined")]
        ),
        1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_slow_clients_that_reconnect_do_not_starve_real_scrapes() {
    use tokio::io::AsyncWriteExt;
    let world = World::new().await;
    let (exporter, _server) = sse_exporter(
        &world,
        None,
        Behaviour::Http {
            status: 403,
            date_offset_secs: 0,
        },
        "1s",
    )
    .await;
    let addr = exporter.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // Each client sends its request head one byte a second and reconnects as soon as it is cut.
    let mut slow = Vec::new();
    let begun = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    for _ in 0..500 {
        let (stop, begun) = (stop.clone(), begun.clone());
        slow.push(tokio::spawn(async move {
            let mut first = true;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                for byte in b"GET /metrics HTTP/1.1\r\nHost: x\r\n" {
                    if stop.load(std::sync::atomic::Ordering::Relaxed)
                        || stream.write_all(&[*byte]).await.is_err()
                    {
                        break;
                    }
                    if std::mem::take(&mut first) {
                        begun.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }));
    }
    // Every slow client has begun its first head.
    let until = Instant::now() + Duration::from_secs(20);
    while begun.load(std::sync::atomic::Ordering::SeqCst) < 500 {
        assert!(Instant::now() < until, "the slow clients did not connect");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A starved request waits until a slow client is cut at the read-header timeout (the
    // exporter's default here); one that is served at once does not. Half that timeout tells the
    // two apart on a loaded two-core machine, where a served request has been seen to take 1 s.
    let defaults = <firepower_cloud_exporter::cli::Cli as clap::Parser>::try_parse_from([
        "firepower-cloud-exporter",
    ])
    .expect("the defaults parse");
    let starved = defaults.read_header_timeout / 2;
    for round in 0..8 {
        let started = Instant::now();
        let (status, _) = exporter.get("/-/healthy").await;
        let took = started.elapsed();
        assert_eq!(status, 200);
        assert!(took < starved, "/-/healthy {round} took {took:?}");
        let started = Instant::now();
        let (status, body) = exporter.scrape("/probe?target=sse", 5.0).await;
        let took = started.elapsed();
        assert_eq!(status, 200);
        assert!(
            took < Duration::from_secs(5),
            "/probe {round} took {took:?}"
        );
        assert_eq!(verdict(&Exposition::parse(&body), "sse").1, "ok");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for task in slow {
        task.abort();
    }
}
