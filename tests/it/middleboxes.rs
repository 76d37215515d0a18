//! Real middleboxes from Debian between the exporter and its targets: squid and tinyproxy as the
//! device's proxy, dnsmasq (a forwarder) and unbound (a recursive resolver) as its resolver,
//! `openssl s_server` as the TLS peer. Each is started on
//! 127.0.0.1 with a configuration written here, and each case asserts the reason the exporter
//! names for what the real software does.

use std::net::IpAddr;

use firepower_cloud_exporter::metrics::names;
use firepower_cloud_testkit::daemons::{self, Daemon, SquidAuth};

use crate::docs::tool;
use crate::util::{Answer, Exporter, Exposition, TlsServer, servers};
use crate::{LOOPBACK, World, sse_target, tls_target, verdict};

fn stage(e: &Exposition, stage: &str, port: u16) -> String {
    e.label(
        names::STAGE_VERDICT,
        &[
            ("target", "sse"),
            ("stage", stage),
            ("port", &port.to_string()),
        ],
        "reason",
    )
}

/// Whether the programs a test needs are installed; in CI (`FCE_REQUIRE_TOOLS`) they must be.
fn installed(names: &[&str]) -> bool {
    names
        .iter()
        .all(|n| daemons::program(n).is_some() || tool(n).is_some())
}

/// A healthy api-sse (TLS with a trusted certificate, 403) and the proxy URL in `defaults`.
async fn through_proxy(
    world: &World,
    proxy: &Daemon,
    userinfo: &str,
    server: &TlsServer,
) -> Exporter {
    let defaults = format!("  proxy: {{ url: \"http://{userinfo}{}\" }}\n", proxy.addr);
    let config = world.config(
        &defaults,
        &[sse_target("sse", "api-sse.cisco.com", server.port(), 8989)],
    );
    Exporter::start(&config).await
}

async fn healthy_server(world: &World) -> TlsServer {
    world.cisco("api-sse.cisco.com").await
}

#[tokio::test]
async fn squid_with_basic_authentication() {
    if !installed(&["squid", "openssl"]) {
        return;
    }
    let world = World::new().await;
    let server = healthy_server(&world).await;
    let squid = daemons::squid(
        SquidAuth::Basic {
            user: "fmc".into(),
            password: "pa+ss word".into(),
        },
        &[("api-sse.cisco.com", IpAddr::from(LOOPBACK))],
        world.dns.addr.ip(),
        &[8989],
    )
    .await;
    // The right password (with a `+` and a space) opens the tunnel to the TLS port; squid's policy
    // refuses port 8989 with 403.
    let exporter = through_proxy(&world, &squid, "fmc:pa+ss%20word@", &server).await;
    let e = exporter.probe("sse").await;
    assert_eq!(stage(&e, "proxy", server.port()), "ok", "{}", squid.log());
    assert_eq!(stage(&e, "http", server.port()), "ok");
    assert_eq!(stage(&e, "proxy", 8989), "proxy_connect_refused");
    // A wrong password and no credentials: squid answers 407 both times.
    for userinfo in ["fmc:wrong@", ""] {
        let exporter = through_proxy(&world, &squid, userinfo, &server).await;
        let e = exporter.probe("sse").await;
        assert_eq!(
            verdict(&e, "sse"),
            ("proxy".into(), "proxy_auth_required".into()),
            "{userinfo}"
        );
    }
}

#[tokio::test]
async fn squid_with_digest_authentication() {
    if !installed(&["squid"]) {
        return;
    }
    let world = World::new().await;
    let server = healthy_server(&world).await;
    let squid = daemons::squid(
        SquidAuth::Digest {
            user: "fmc".into(),
            password: "s3cret".into(),
        },
        &[("api-sse.cisco.com", IpAddr::from(LOOPBACK))],
        world.dns.addr.ip(),
        &[],
    )
    .await;
    let exporter = through_proxy(&world, &squid, "fmc:s3cret@", &server).await;
    let e = exporter.probe("sse").await;
    assert_eq!(stage(&e, "proxy", server.port()), "ok", "{}", squid.log());
    assert_eq!(stage(&e, "tls", server.port()), "ok");
    let exporter = through_proxy(&world, &squid, "fmc:wrong@", &server).await;
    let e = exporter.probe("sse").await;
    assert_eq!(
        verdict(&e, "sse"),
        ("proxy".into(), "proxy_auth_required".into())
    );
}

#[tokio::test]
async fn squid_that_cannot_reach_or_resolve_the_host() {
    if !installed(&["squid"]) {
        return;
    }
    let world = World::new().await;
    // squid's resolver answers at once (NXDOMAIN for the unknown name); one that never answers
    // keeps squid waiting 35 s, past any scrape (proxy_timeout).
    let resolver = crate::util::DnsServer::start_on_port_53().await;
    let squid = daemons::squid(
        SquidAuth::None,
        &[("api-sse.cisco.com", IpAddr::from(LOOPBACK))],
        resolver.addr.ip(),
        &[],
    )
    .await;
    let closed = servers::closed_port();
    let defaults = format!("  proxy: {{ url: \"http://{}\" }}\n", squid.addr);
    // 503 (ERR_CONNECT_FAIL) for a closed port, 500 (ERR_CANNOT_FORWARD) for a name it cannot resolve.
    let config = world.config(
        &defaults,
        &[
            tls_target(
                "sse",
                "api-sse.cisco.com",
                "cisco_cloud_configuration",
                closed,
            ),
            tls_target(
                "amp",
                "cloud-sa.amp.cisco.com",
                "amp_connection_status",
                closed,
            ),
        ],
    );
    let exporter = Exporter::start(&config).await;
    for target in ["sse", "amp"] {
        let e = exporter.probe(target).await;
        assert_eq!(
            verdict(&e, target),
            ("proxy".into(), "proxy_upstream_failed".into()),
            "{target}: {}",
            squid.log()
        );
    }
}

#[tokio::test]
async fn tinyproxy_with_basic_authentication() {
    if !installed(&["tinyproxy"]) {
        return;
    }
    let world = World::new().await;
    let server = healthy_server(&world).await;
    let closed = servers::closed_port();
    let tinyproxy = daemons::tinyproxy("fmc", "s3cret", &[server.port(), closed]).await;
    // tinyproxy resolves through the system; the targets are addresses, the TLS name is the host's.
    let target = |name: &str, port: u16| {
        format!(
            "  - name: {name}\n    host: 127.0.0.1\n    service: cisco_cloud_configuration\n    checks: [tcp, tls, http]\n    tcp_ports: [{port}, 8989]\n    tls_port: {port}\n    tls: {{ server_name: api-sse.cisco.com }}\n    http: {{ expected_status: [403] }}\n"
        )
    };
    let config = |userinfo: &str| {
        world.config(
            &format!(
                "  proxy: {{ url: \"http://{userinfo}{}\" }}\n",
                tinyproxy.addr
            ),
            &[target("sse", server.port()), target("down", closed)],
        )
    };
    let exporter = Exporter::start(&config("fmc:s3cret@")).await;
    let e = exporter.probe("sse").await;
    assert_eq!(
        stage(&e, "proxy", server.port()),
        "ok",
        "{}",
        tinyproxy.log()
    );
    assert_eq!(stage(&e, "http", server.port()), "ok");
    // Not in ConnectPort: 403.
    assert_eq!(stage(&e, "proxy", 8989), "proxy_connect_refused");
    // Cannot connect: 500.
    let e = exporter.probe("down").await;
    assert_eq!(
        verdict(&e, "down"),
        ("proxy".into(), "proxy_upstream_failed".into())
    );
    // No credentials: 407; a wrong password: 401.
    for userinfo in ["", "fmc:wrong@"] {
        let exporter = Exporter::start(&config(userinfo)).await;
        let e = exporter.probe("sse").await;
        assert_eq!(
            verdict(&e, "sse"),
            ("proxy".into(), "proxy_auth_required".into()),
            "{userinfo}"
        );
    }
}

/// An exporter that resolves through dnsmasq, which forwards to the world's DNS server.
async fn through_dnsmasq(world: &World, dnsmasq: &Daemon, port: u16) -> Exporter {
    let config = world
        .config(
            "",
            &[tls_target(
                "amp",
                "cloud-sa.amp.cisco.com",
                "amp_connection_status",
                port,
            )],
        )
        .replace(&world.dns.addr.to_string(), &dnsmasq.addr.to_string());
    Exporter::start(&config).await
}

#[tokio::test]
async fn dnsmasq_in_front_of_the_zone() {
    if !installed(&["dnsmasq"]) {
        return;
    }
    let world = World::new().await;
    let dnsmasq = daemons::dnsmasq(world.dns.addr, &[]).await;
    let closed = servers::closed_port();
    let exporter = through_dnsmasq(&world, &dnsmasq, closed).await;
    let check = async |answer: Answer, stage: &str, reason: &str| {
        let label = format!("{answer:?}");
        world.dns.set("cloud-sa.amp.cisco.com", answer);
        let e = exporter.probe("amp").await;
        assert_eq!(
            verdict(&e, "amp"),
            (stage.to_string(), reason.to_string()),
            "{label}: {}",
            dnsmasq.log()
        );
        e
    };
    // Resolves, the server named is dnsmasq; TCP to the closed port on that loopback answer is
    // refused, which the answer explains (nothing listens where it points).
    let e = check(
        Answer::Addresses(vec![IpAddr::from(LOOPBACK)]),
        "dns",
        "dns_loopback",
    )
    .await;
    assert_eq!(
        e.label(
            names::STAGE_VERDICT,
            &[("target", "amp"), ("stage", "tcp")],
            "reason"
        ),
        "tcp_refused"
    );
    assert_eq!(
        e.label(names::DNS_INFO, &[("target", "amp")], "server"),
        dnsmasq.addr.to_string()
    );
    // 200 records: dnsmasq truncates over UDP, the exporter asks again over TCP.
    let many: Vec<IpAddr> = (1..=200u8).map(|i| IpAddr::from([127, 0, 2, i])).collect();
    let e = check(Answer::Addresses(many), "dns", "dns_loopback").await;
    assert_eq!(e.value(names::DNS_ANSWERS, &[("target", "amp")]), 200.0);
    check(Answer::NxDomain, "dns", "dns_nxdomain").await;
    check(Answer::ServFail, "dns", "dns_servfail").await;
    check(Answer::Refused, "dns", "dns_refused").await;
}

#[tokio::test]
async fn dnsmasq_with_a_dead_upstream() {
    if !installed(&["dnsmasq"]) {
        return;
    }
    let world = World::new().await;
    let dead = std::net::SocketAddr::from(([127, 0, 0, 1], servers::closed_port()));
    let dnsmasq = daemons::dnsmasq(dead, &[]).await;
    let exporter = through_dnsmasq(&world, &dnsmasq, 443).await;
    let e = exporter.probe("amp").await;
    // dnsmasq forwards and stays silent while its upstream is dead.
    assert_eq!(
        verdict(&e, "amp"),
        ("dns".into(), "dns_timeout".into()),
        "{}",
        dnsmasq.log()
    );
    let (_, page) = exporter.get("/debug?target=amp").await;
    assert!(
        page.contains(&format!("no answer from {}", dnsmasq.addr)),
        "{page}"
    );
}

/// The TLS verdict of a DNS+TCP+TLS target served by `openssl s_server` with `extra` arguments.
async fn openssl_verdict(
    world: &World,
    cert: (&str, &str),
    extra: &[&str],
) -> (String, String, Daemon) {
    world.dns.set(
        "cloud-sa.amp.cisco.com",
        Answer::Addresses(vec![IpAddr::from(LOOPBACK)]),
    );
    let server = daemons::openssl_server(cert.0, cert.1, extra).await;
    let config = world.config(
        "",
        &[tls_target(
            "amp",
            "cloud-sa.amp.cisco.com",
            "amp_connection_status",
            server.addr.port(),
        )],
    );
    let exporter = Exporter::start(&config).await;
    let e = exporter.probe("amp").await;
    let (stage, reason) = verdict(&e, "amp");
    (stage, reason, server)
}

#[tokio::test]
async fn openssl_s_server_shapes() {
    if !installed(&["openssl"]) {
        return;
    }
    let world = World::new().await;
    let leaf = world.pki.leaf(&["cloud-sa.amp.cisco.com"]);
    let cert = (leaf.cert_pem.as_str(), leaf.key_pem.as_str());
    let ca = world.pki.ca_file.display().to_string();
    for (extra, expected) in [
        (vec!["-tls1_3"], ("", "ok")),
        (vec!["-tls1_2"], ("", "ok")),
        (
            vec!["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
            ("tls", "tls_handshake_failed"),
        ),
        (
            vec!["-tls1_2", "-Verify", "1", "-CAfile", ca.as_str()],
            ("tls", "tls_client_cert_required"),
        ),
        (
            vec!["-tls1_3", "-Verify", "1", "-CAfile", ca.as_str()],
            ("tls", "tls_client_cert_required"),
        ),
        // Asked for, not required (`-verify`): the session is accepted.
        (
            vec!["-tls1_3", "-verify", "1", "-CAfile", ca.as_str()],
            ("", "ok"),
        ),
        (
            vec!["-tls1_2", "-verify", "1", "-CAfile", ca.as_str()],
            ("", "ok"),
        ),
    ] {
        let (stage, reason, server) = openssl_verdict(&world, cert, &extra).await;
        assert_eq!(
            (stage.as_str(), reason.as_str()),
            expected,
            "{extra:?}: {}",
            server.log()
        );
    }
}

#[tokio::test]
async fn openssl_req_x509_self_signed_is_untrusted() {
    if !installed(&["openssl"]) {
        return;
    }
    let world = World::new().await;
    let dir = world.dir.path();
    let made = std::process::Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ])
        .args(["-subj", "/CN=cloud-sa.amp.cisco.com", "-days", "30"])
        .args(["-addext", "subjectAltName=DNS:cloud-sa.amp.cisco.com"])
        .arg("-keyout")
        .arg(dir.join("self.key"))
        .arg("-out")
        .arg(dir.join("self.crt"))
        .output()
        .expect("openssl req");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let cert = std::fs::read_to_string(dir.join("self.crt")).expect("cert");
    let key = std::fs::read_to_string(dir.join("self.key")).expect("key");
    let (stage, reason, server) = openssl_verdict(&world, (&cert, &key), &[]).await;
    assert_eq!(
        (stage.as_str(), reason.as_str()),
        ("tls", "tls_cert_untrusted"),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn unbound_resolving_through_a_delegation() {
    if !installed(&["unbound"]) {
        return;
    }
    let world = World::new().await;
    let unbound = daemons::unbound("cisco.com", world.dns.addr).await;
    let exporter = through_dnsmasq(&world, &unbound, servers::closed_port()).await;
    // The delegated server answers: the name resolves (to loopback, where TCP is refused).
    world.dns.set(
        "cloud-sa.amp.cisco.com",
        Answer::Addresses(vec![IpAddr::from(LOOPBACK)]),
    );
    let e = exporter.probe("amp").await;
    assert_eq!(
        verdict(&e, "amp"),
        ("dns".into(), "dns_loopback".into()),
        "{}",
        unbound.log()
    );
    assert_eq!(e.value(names::DNS_ANSWERS, &[("target", "amp")]), 1.0);
    // A lame delegation (the delegated server refuses): unbound answers SERVFAIL.
    world.dns.set("cloud-sa.amp.cisco.com", Answer::Refused);
    let e = exporter.probe("amp").await;
    assert_eq!(
        verdict(&e, "amp"),
        ("dns".into(), "dns_servfail".into()),
        "{}",
        unbound.log()
    );
    assert_eq!(
        e.label(names::DNS_INFO, &[("target", "amp")], "server"),
        unbound.addr.to_string()
    );
}
