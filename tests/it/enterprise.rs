//! The right reason in enterprise networks, against the real software that makes each case: a DNS
//! filter answering a sinkhole or loopback (dnsmasq, unbound), plain HTTP where TLS was due
//! (nginx, directly and through squid), TLS inspection that blocks with its own page (squid with
//! ssl-bump), a proxy offering only NTLM or Negotiate (squid's helpers), and a name whose addresses
//! rotate with one of them failing (unbound). Each verdict must hold on 20 scrapes in a row.

use std::net::IpAddr;

use firepower_cloud_exporter::metrics::names;
use firepower_cloud_testkit::daemons::{self, Daemon, SquidAuth};

use crate::docs::tool;
use crate::util::{Exporter, Exposition, servers};
use crate::{LOOPBACK, World, sse_target, tls_target, verdict};

/// How many scrapes in a row must give the same verdict.
const REPEATS: usize = 20;

/// Whether `names` are installed; in CI (`FCE_REQUIRE_TOOLS`) they must be.
fn installed(names: &[&str]) -> bool {
    names
        .iter()
        .all(|n| daemons::program(n).is_some() || tool(n).is_some())
}

/// Scrapes `target` [`REPEATS`] times and requires `(stage, reason)` every time; returns the last
/// answer.
async fn same_verdict(exporter: &Exporter, target: &str, expected: (&str, &str)) -> Exposition {
    let mut last = None;
    for run in 0..REPEATS {
        let e = exporter.probe(target).await;
        assert_eq!(
            verdict(&e, target),
            (expected.0.to_string(), expected.1.to_string()),
            "run {run}"
        );
        last = Some(e);
    }
    last.expect("at least one run")
}

fn stage_reason(e: &Exposition, target: &str, stage: &str, port: u16) -> String {
    e.label(
        names::STAGE_VERDICT,
        &[
            ("target", target),
            ("stage", stage),
            ("port", &port.to_string()),
        ],
        "reason",
    )
}

/// The status page's words about `target`.
async fn status_page(exporter: &Exporter) -> String {
    exporter.get("/").await.1
}

/// A configuration whose resolver is `resolver` instead of the world's own DNS server.
fn via(world: &World, resolver: &Daemon, defaults: &str, targets: &[String]) -> String {
    world
        .config(defaults, targets)
        .replace(&world.dns.addr.to_string(), &resolver.addr.to_string())
}

#[tokio::test]
async fn a_dns_filter_answering_a_sinkhole_is_dns_sinkhole_and_nothing_is_connected() {
    if !installed(&["dnsmasq", "unbound"]) {
        return;
    }
    let world = World::new().await;
    // The port would answer: a sinkhole verdict must come from the answer, not from a connection.
    let server = world.cisco("cloud-sa.amp.cisco.com").await;
    let target = tls_target(
        "amp",
        "cloud-sa.amp.cisco.com",
        "amp_connection_status",
        server.port(),
    );
    let dnsmasq = daemons::dnsmasq(
        world.dns.addr,
        &["--address=/cloud-sa.amp.cisco.com/0.0.0.0"],
    )
    .await;
    let unbound = daemons::unbound_local(&["cloud-sa.amp.cisco.com. A 0.0.0.0"]).await;
    // The IPv6 sinkhole, `::`, asked for by a target that wants IPv6 only.
    let dnsmasq_v6 =
        daemons::dnsmasq(world.dns.addr, &["--address=/cloud-sa.amp.cisco.com/::"]).await;
    let target_v6 = format!("{target}    ip_preference: ipv6_only\n");
    for (resolver, target, answer) in [
        (&dnsmasq, &target, "0.0.0.0"),
        (&unbound, &target, "0.0.0.0"),
        (&dnsmasq_v6, &target_v6, "::"),
    ] {
        let connections = server.connections.load(std::sync::atomic::Ordering::SeqCst);
        let exporter =
            Exporter::start(&via(&world, resolver, "", std::slice::from_ref(target))).await;
        let e = same_verdict(&exporter, "amp", ("dns", "dns_sinkhole")).await;
        assert_eq!(stage_reason(&e, "amp", "tcp", server.port()), "skipped");
        assert_eq!(
            server.connections.load(std::sync::atomic::Ordering::SeqCst),
            connections,
            "nothing connected to a sinkhole answer"
        );
        let page = status_page(&exporter).await;
        assert!(
            page.contains(&format!("is {answer}, a sinkhole"))
                && page.contains(&resolver.addr.to_string()),
            "the page names the answer and the resolver: {page}"
        );
    }
}

#[tokio::test]
async fn a_loopback_answer_where_nothing_listens_is_dns_loopback_and_a_lab_that_serves_there_is_healthy()
 {
    if !installed(&["dnsmasq"]) {
        return;
    }
    let world = World::new().await;
    let dnsmasq = daemons::dnsmasq(
        world.dns.addr,
        &["--address=/cloud-sa.amp.cisco.com/127.0.0.1"],
    )
    .await;
    let closed = servers::closed_port();
    let served = world.cisco("cloud-sa.amp.cisco.com").await;
    let config = via(
        &world,
        &dnsmasq,
        "",
        &[
            tls_target(
                "sinkholed",
                "cloud-sa.amp.cisco.com",
                "amp_connection_status",
                closed,
            ),
            tls_target(
                "lab",
                "cloud-sa.amp.cisco.com",
                "amp_connection_status",
                served.port(),
            ),
        ],
    );
    let exporter = Exporter::start(&config).await;
    let e = same_verdict(&exporter, "sinkholed", ("dns", "dns_loopback")).await;
    // The connection's own record stays what it was.
    assert_eq!(stage_reason(&e, "sinkholed", "tcp", closed), "tcp_refused");
    let lab = exporter.probe("lab").await;
    assert_eq!(lab.value(names::TARGET_SUCCESS, &[("target", "lab")]), 1.0);
    let page = status_page(&exporter).await;
    assert!(
        page.contains("loopback address of this host") && page.contains("not a firewall"),
        "{page}"
    );
}

#[tokio::test]
async fn plain_http_on_the_tls_port_is_named_with_its_status_line_directly_and_through_a_proxy() {
    if !installed(&["nginx", "squid"]) {
        return;
    }
    let world = World::new().await;
    let nginx = daemons::nginx_plain_http().await;
    let port = nginx.addr.port();
    world.resolve_via_cname("api-sse.cisco.com");
    let target = tls_target(
        "sse",
        "api-sse.cisco.com",
        "cisco_cloud_configuration",
        port,
    );
    // Straight to nginx: the exporter's ClientHello gets nginx's 400.
    let exporter = Exporter::start(&world.config("", std::slice::from_ref(&target))).await;
    let e = same_verdict(&exporter, "sse", ("tls", "tls_plain_http")).await;
    assert_eq!(stage_reason(&e, "sse", "tls", port), "tls_plain_http");
    let page = status_page(&exporter).await;
    assert!(
        page.contains("HTTP/1.1 400 Bad Request"),
        "{}\n{page}",
        nginx.log()
    );
    // Through squid, whose CONNECT succeeds (200) and then carries nginx's answer back.
    let squid = daemons::squid(
        SquidAuth::None,
        &[("api-sse.cisco.com", IpAddr::from(LOOPBACK))],
        world.dns.addr.ip(),
        &[],
    )
    .await;
    let defaults = format!("  proxy: {{ url: \"http://{}\" }}\n", squid.addr);
    let exporter = Exporter::start(&world.config(&defaults, &[target])).await;
    let e = same_verdict(&exporter, "sse", ("tls", "tls_plain_http")).await;
    assert_eq!(
        stage_reason(&e, "sse", "proxy", port),
        "ok",
        "{}",
        squid.log()
    );
    let page = status_page(&exporter).await;
    assert!(
        page.contains("through proxy") && page.contains(&squid.addr.to_string()),
        "the page names the proxy: {page}"
    );
}

#[tokio::test]
async fn tls_inspection_that_blocks_with_its_own_page_is_http_block_page_with_squid_s_marks() {
    let Some(squid) = daemons::squid_openssl() else {
        assert!(
            std::env::var_os("FCE_REQUIRE_TOOLS").is_none(),
            "squid-openssl is required: scripts/test unpacks it under target/middleboxes"
        );
        return;
    };
    let world = World::new().await;
    world.resolve_via_cname("api-sse.cisco.com");
    let bump = daemons::squid_bump(&squid, "Corp Inspection CA", "api-sse.cisco.com").await;
    let defaults = format!("  proxy: {{ url: \"http://{}\" }}\n", bump.addr);
    let server = world.cisco("api-sse.cisco.com").await;
    let target = sse_target("sse", "api-sse.cisco.com", server.port(), server.port());
    // The exporter trusts the inspection CA (as an operator who added it to tls.ca_file would):
    // TLS verifies, and the 403 is squid's, not Cisco's.
    let inspection_ca = bump.dir.join("inspection-ca.pem");
    let config = world
        .config(&defaults, std::slice::from_ref(&target))
        .replace(
            &world.pki.ca_file.display().to_string(),
            &inspection_ca.display().to_string(),
        );
    let exporter = Exporter::start(&config).await;
    let e = same_verdict(&exporter, "sse", ("http", "http_block_page")).await;
    assert_eq!(
        stage_reason(&e, "sse", "tls", server.port()),
        "ok",
        "{}",
        bump.log()
    );
    let page = status_page(&exporter).await;
    assert!(page.contains("X-Squid-Error: ERR_ACCESS_DENIED"), "{page}");
    assert!(
        page.contains("trusted only through the configured tls.ca_file"),
        "the page says the chain needed the configured CA: {page}"
    );
    // Without that CA the inspection shows first, in checklist order, as an untrusted chain
    // named by its issuer; the block page behind it is still recorded (squid's 403).
    let exporter = Exporter::start(&world.config(&defaults, &[target])).await;
    let e = same_verdict(&exporter, "sse", ("tls", "tls_cert_untrusted")).await;
    assert_eq!(
        e.value(names::HTTP_STATUS_CODE, &[("target", "sse")]),
        403.0
    );
    assert!(status_page(&exporter).await.contains("Corp Inspection CA"));
}

#[tokio::test]
async fn a_proxy_offering_only_ntlm_or_negotiate_is_proxy_auth_unsupported_with_its_schemes() {
    if !installed(&["squid"]) {
        return;
    }
    let world = World::new().await;
    let server = world.cisco("api-sse.cisco.com").await;
    for (auth, schemes) in [
        (SquidAuth::Ntlm, "NTLM"),
        (SquidAuth::NegotiateAndNtlm, "Negotiate and NTLM"),
    ] {
        let squid = daemons::squid(
            auth,
            &[("api-sse.cisco.com", IpAddr::from(LOOPBACK))],
            world.dns.addr.ip(),
            &[],
        )
        .await;
        // With credentials configured and without: the device cannot answer either way.
        for userinfo in ["fmc:secret@", ""] {
            let defaults = format!("  proxy: {{ url: \"http://{userinfo}{}\" }}\n", squid.addr);
            let exporter = Exporter::start(&world.config(
                &defaults,
                &[sse_target(
                    "sse",
                    "api-sse.cisco.com",
                    server.port(),
                    server.port(),
                )],
            ))
            .await;
            same_verdict(&exporter, "sse", ("proxy", "proxy_auth_unsupported")).await;
            let page = status_page(&exporter).await;
            assert!(
                page.contains(&format!("offers only {schemes} authentication")),
                "{userinfo}: {page}\n{}",
                squid.log()
            );
            assert!(!page.contains("secret"), "the password never shows");
        }
    }
}

#[tokio::test]
async fn a_name_whose_rotating_addresses_include_a_failing_one_is_tcp_partial_every_time() {
    if !installed(&["unbound"]) {
        return;
    }
    let world = World::new().await;
    // 127.0.0.1 serves; 127.0.0.3 refuses, then drops SYNs silently (a full accept queue). unbound
    // rotates the two records between answers.
    let server = world.cisco("api-sse.cisco.com").await;
    let port = server.port();
    let unbound = daemons::unbound_local(&[
        "api-sse.cisco.com. A 127.0.0.1",
        "api-sse.cisco.com. A 127.0.0.3",
    ])
    .await;
    let target = format!(
        "  - name: sse\n    host: api-sse.cisco.com\n    service: cisco_cloud_configuration\n    checks: [dns, tcp, tls, http]\n    tcp_ports: [{port}]\n    tls_port: {port}\n    http: {{ expected_status: [403] }}\n"
    );
    let exporter = Exporter::start(&via(&world, &unbound, "", &[target])).await;
    for failing in ["tcp_refused", "tcp_timeout"] {
        let _filtered = if failing == "tcp_timeout" {
            Some(servers::black_hole_at(std::net::SocketAddr::from(([127, 0, 0, 3], port))).await)
        } else {
            None
        };
        // Whichever record unbound puts first, the same verdict, and TLS and HTTP still run on
        // the address that works.
        let e = same_verdict(&exporter, "sse", ("tcp", "tcp_partial")).await;
        assert_eq!(stage_reason(&e, "sse", "tls", port), "ok");
        assert_eq!(stage_reason(&e, "sse", "http", port), "ok");
        let failed = [("target", "sse"), ("stage", "tcp"), ("result", "failed")];
        assert_eq!(e.value(names::ADDRESSES, &failed), 1.0);
        let page = status_page(&exporter).await;
        assert!(
            page.contains("1 of 2 addresses") && page.contains(&format!("127.0.0.3 ({failing})")),
            "{page}"
        );
    }
}

/// A transparent proxy that decrypts the session and answers 407 inside it.
#[tokio::test]
async fn a_407_inside_the_tls_session_is_an_intercepting_proxy_wanting_a_login() {
    let world = World::new().await;
    world.resolve_via_cname("api-sse.cisco.com");
    let server = world
        .https(
            "api-sse.cisco.com",
            crate::util::Behaviour::Http {
                status: 407,
                date_offset_secs: 0,
            },
        )
        .await;
    let plain = servers::tcp_listener().await;
    let exporter = Exporter::start(&world.config(
        "",
        &[sse_target(
            "sse",
            "api-sse.cisco.com",
            server.port(),
            plain.port(),
        )],
    ))
    .await;
    same_verdict(&exporter, "sse", ("http", "http_proxy_auth_required")).await;
}
