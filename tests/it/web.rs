//! Running it in production: TLS with client certificates, basic auth, bounded clients, signals,
//! the status page.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use firepower_cloud_exporter::WebOptions;
use firepower_cloud_exporter::metrics::names;
use firepower_cloud_exporter::server::{Limits, WebConfig};
use firepower_cloud_testkit::browser::Browser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::process::Command;

use crate::docs::tool;
use crate::util::{Answer, Behaviour, Exporter, Exposition, Pki, TlsServer, servers};
use crate::{World, healthy_sse, sse_target, tls_target};
use firepower_cloud_testkit::exporter::{ExporterProcess, Log as _, until_metrics};
use firepower_cloud_testkit::{request, request_tls};

const BIN: &str = env!("CARGO_BIN_EXE_firepower-cloud-exporter");

fn web_options(path: &Path) -> WebOptions {
    WebOptions {
        web: WebConfig::load(path).unwrap_or_else(|e| panic!("{e}")),
        ..WebOptions::default()
    }
}

#[tokio::test]
async fn tls_with_a_required_client_certificate() {
    let world = World::new().await;
    let dir = world.dir.path();
    let server_pki = Pki::new(dir, "Exporter Server CA");
    let client_pki = Pki::new(dir, "Prometheus Client CA");
    let (cert, key) = server_pki.leaf(&["localhost"]).write(dir, "exporter");
    let web = dir.join("web.yml");
    std::fs::write(
        &web,
        format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: {}\n  min_version: TLS12\n",
            cert.display(),
            key.display(),
            client_pki.ca_file.display()
        ),
    )
    .expect("write");
    let exporter = Exporter::start_with(
        &world.config("", &[sse_target("sse", "api-sse.cisco.com", 443, 8989)]),
        web_options(&web),
    )
    .await;

    let prometheus = client_pki.leaf(&["prometheus"]);
    let (status, body) = request_tls(
        exporter.addr,
        "/metrics",
        &server_pki.ca_der,
        Some(&prometheus),
        &[],
    )
    .await
    .expect("TLS with a client certificate");
    assert_eq!(status, 200);
    assert!(body.contains(names::BUILD_INFO));

    // Without a client certificate only the health checks answer (orchestrators probe them
    // without credentials); every other path is refused.
    for path in ["/metrics", "/probe", "/", "/debug?target=sse", "/runbook"] {
        let (status, body) = request_tls(exporter.addr, path, &server_pki.ca_der, None, &[])
            .await
            .expect("the handshake completes without a client certificate");
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("client certificate is required"), "{body}");
        assert!(!body.contains(names::BUILD_INFO));
    }
    for path in ["/-/healthy", "/-/ready"] {
        let (status, _) = request_tls(exporter.addr, path, &server_pki.ca_der, None, &[])
            .await
            .expect("health without a client certificate");
        assert_eq!(status, 200, "{path}");
    }
    let stranger = Pki::new(dir, "Someone Else CA").leaf(&["intruder"]);
    let refused = request_tls(
        exporter.addr,
        "/metrics",
        &server_pki.ca_der,
        Some(&stranger),
        &[],
    )
    .await;
    assert!(
        refused.is_err(),
        "a certificate from another CA must be refused: {refused:?}"
    );
    // Plain HTTP on the TLS port gets nothing.
    let mut plain = TcpStream::connect(exporter.addr).await.expect("connect");
    plain
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains(names::BUILD_INFO));
}

fn basic(user: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn basic_auth_with_bcrypt_hashes() {
    let world = World::new().await;
    let web = world.dir.path().join("web.yml");
    let hash = bcrypt::hash("correct horse", 4).expect("hash");
    std::fs::write(&web, format!("basic_auth_users:\n  prometheus: '{hash}'\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n")).expect("write");
    let exporter = Exporter::start_with(
        &world.config("", &[sse_target("sse", "api-sse.cisco.com", 443, 8989)]),
        web_options(&web),
    )
    .await;

    let good = basic("prometheus", "correct horse");
    let (status, body) = request(
        exporter.addr,
        "GET",
        "/metrics",
        &[("authorization", &good)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let mut answers = Vec::new();
    for header in [
        Some(basic("prometheus", "wrong")),
        Some(basic("nobody", "correct horse")),
        Some("Basic !!!".to_string()),
        None,
    ] {
        let headers: Vec<(&str, &str)> = header
            .iter()
            .map(|h| ("authorization", h.as_str()))
            .collect();
        for path in ["/metrics", "/probe?target=sse", "/", "/-/reload"] {
            let method = if path == "/-/reload" { "POST" } else { "GET" };
            let (status, body) = request(exporter.addr, method, path, &headers).await;
            assert_eq!(status, 401, "{path} with {header:?}");
            answers.push(body);
        }
    }
    answers.dedup();
    assert_eq!(
        answers,
        vec!["Unauthorized\n".to_string()],
        "the answer must not say which part was wrong"
    );
    // Orchestrators' liveness and readiness checks need no credentials and learn nothing.
    assert_eq!(
        request(exporter.addr, "GET", "/-/healthy", &[]).await.0,
        200
    );
    assert_eq!(request(exporter.addr, "GET", "/-/ready", &[]).await.0, 200);
}

#[tokio::test]
async fn slow_and_numerous_clients_do_not_pin_the_exporter() {
    let world = World::new().await;
    let options = WebOptions {
        limits: Limits {
            max_connections: 16,
            header_timeout: Duration::from_secs(1),
            ..Limits::default()
        },
        ..WebOptions::default()
    };
    let exporter = Exporter::start_with(
        &world.config("", &[sse_target("sse", "api-sse.cisco.com", 443, 8989)]),
        options,
    )
    .await;
    // 64 clients, each sending its request head one byte every 300 ms.
    let mut slow = Vec::new();
    let begun = Arc::new(AtomicUsize::new(0));
    for _ in 0..64 {
        let addr = exporter.addr;
        let begun = begun.clone();
        slow.push(tokio::spawn(async move {
            let Ok(mut stream) = TcpStream::connect(addr).await else {
                return Duration::ZERO;
            };
            let started = Instant::now();
            for (i, byte) in
                b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n"
                    .iter()
                    .enumerate()
            {
                if stream.write_all(&[*byte]).await.is_err() {
                    break;
                }
                if i == 0 {
                    begun.fetch_add(1, Ordering::SeqCst);
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
            }
            let mut buf = [0u8; 256];
            let _ = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buf)).await;
            started.elapsed()
        }));
    }
    // Every slow client has begun its head.
    let until = Instant::now() + Duration::from_secs(10);
    while begun.load(Ordering::SeqCst) < 64 {
        assert!(Instant::now() < until, "the slow clients did not connect");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A scrape still gets through: slow clients are cut at the header timeout and free their slot.
    let started = Instant::now();
    let (status, _) = request(exporter.addr, "GET", "/metrics", &[]).await;
    assert_eq!(status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "served after {:?}",
        started.elapsed()
    );
    // Every slow client was disconnected long before it could finish (its head takes ~20 s).
    for handle in slow {
        let held = handle.await.expect("client task");
        assert!(
            held < Duration::from_secs(12),
            "a slow client held a connection for {held:?}"
        );
    }
    // A request announcing a 100 MB body is answered without the body being read, and the
    // exporter goes on serving.
    let mut big_post = TcpStream::connect(exporter.addr).await.expect("connect");
    big_post
        .write_all(b"POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n")
        .await
        .expect("write");
    big_post.write_all(&[b'x'; 4096]).await.expect("write");
    let mut answer = [0u8; 64];
    let n = tokio::time::timeout(Duration::from_secs(5), big_post.read(&mut answer))
        .await
        .expect("answered without reading the body")
        .expect("read");
    assert!(
        answer[..n].starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer[..n])
    );
    assert_eq!(
        request(exporter.addr, "GET", "/-/healthy", &[]).await.0,
        200
    );
    // An oversized request head is refused.
    let big = "a".repeat(64 * 1024);
    let (status, _) = request(exporter.addr, "GET", "/metrics", &[("x-big", big.as_str())]).await;
    assert_eq!(status, 431);
}

#[tokio::test]
async fn the_status_page_shows_the_fmc_table_and_escapes_peer_text() {
    let world = World::new().await;
    let (sse, plain) = healthy_sse(&world, "api-sse.cisco.com").await;
    world.resolve_via_cname("cloud-sa.amp.cisco.com");
    // A hostile middlebox certificate whose subject is markup.
    let hostile = Pki::new(world.dir.path(), "<script>alert(1)</script>");
    let amp = TlsServer::start(
        hostile.leaf(&["cloud-sa.amp.cisco.com"]),
        Behaviour::Http {
            status: 403,
            date_offset_secs: 0,
        },
    )
    .await;
    let exporter = Exporter::start(&world.config(
        "",
        &[
            sse_target("sse", "api-sse.cisco.com", sse.port(), plain.port()),
            tls_target(
                "amp",
                "cloud-sa.amp.cisco.com",
                "amp_connection_status",
                amp.port(),
            ),
        ],
    ))
    .await;
    let (status, html) = exporter.get("/").await;
    assert_eq!(status, 200);
    assert!(html.contains("<meta name=\"viewport\""), "mobile viewport");
    assert!(
        !html.contains("<script"),
        "no script at all, and peer text escaped"
    );
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the hostile issuer is shown, escaped"
    );
    assert!(
        html.contains("<tr class=\"row success\"><td>Cisco Cloud Configuration</td>"),
        "{html}"
    );
    assert!(
        html.contains("<tr class=\"row failure\"><td>AMP Connection Status</td>"),
        "{html}"
    );
    assert!(html.contains("href=\"/reasons#tls_cert_untrusted\""));
    assert!(
        html.contains("href=\"/debug?target=sse\"")
            && html.contains("href=\"/probe?target=sse\"")
            && html.contains("href=\"/metrics\"")
    );
    let (status, debug) = exporter.get("/debug?target=sse").await;
    assert_eq!(status, 200);
    assert!(
        debug.contains("canonical name = api-sse.cisco.com.akadns.test.")
            && debug.contains("&gt; GET / HTTP/1.1")
            && debug.contains("&lt; HTTP/1.1 403"),
        "{debug}"
    );
    assert_eq!(exporter.get("/debug?target=elsewhere.example").await.0, 400);
}

/// The status page of a mixed world (one healthy row, one DNS failure, one TLS inspection, one
/// TCP 8989 drop) rendered by headless chromium: the DOM carries the rows and reasons; at 1280 and
/// 412 px (through `chromedriver`) the page does not scroll sideways, its summary line is on the
/// first screen above the tables, and a failing row and a failing target come first; screenshots
/// at both widths are taken. With `UPDATE_DOCS=1` they replace the ones under `docs/images/` that
/// the README shows; otherwise they go to `target/` and the committed ones are checked to exist
/// at those widths.
#[tokio::test]
async fn the_status_page_renders_in_headless_chromium() {
    let Some(chromium) = tool("chromium") else {
        return;
    };
    let world = World::new().await;
    let (sse, _plain) = healthy_sse(&world, "api-sse.cisco.com").await;
    let (dropped, _fillers, _queue) = servers::black_hole().await;
    world.dns.set("cloud-sa.amp.cisco.com", Answer::NxDomain);
    world.resolve_via_cname("panacea.threatgrid.com");
    let inspected = TlsServer::start(
        Pki::new(world.dir.path(), "Corp TLS Inspection CA").leaf(&["panacea.threatgrid.com"]),
        Behaviour::Http {
            status: 403,
            date_offset_secs: 0,
        },
    )
    .await;
    world.resolve_via_cname("updates.vrt.sourcefire.com");
    let signatures = world
        .https(
            "updates.vrt.sourcefire.com",
            Behaviour::Http {
                status: 403,
                date_offset_secs: 0,
            },
        )
        .await;
    let exporter = Exporter::start(&world.config(
        "",
        &[
            sse_target("sse", "api-sse.cisco.com", sse.port(), dropped.port()),
            tls_target(
                "amp-cloud",
                "cloud-sa.amp.cisco.com",
                "amp_connection_status",
                443,
            ),
            tls_target(
                "threatgrid",
                "panacea.threatgrid.com",
                "amp_dynamic_analysis",
                inspected.port(),
            ),
            tls_target(
                "malware-signatures",
                "updates.vrt.sourcefire.com",
                "local_malware_analysis_signatures",
                signatures.port(),
            ),
        ],
    ))
    .await;
    let url = format!("http://{}/", exporter.addr);
    let profile = tempfile::tempdir().expect("profile");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let update = std::env::var_os("UPDATE_DOCS").is_some();
    let shots = if update {
        root.join("docs/images")
    } else {
        root.join("target/screenshots")
    };
    std::fs::create_dir_all(&shots).expect("screenshot dir");
    let common = |extra: &[String]| {
        let mut args: Vec<String> = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
        ]
        .iter()
        .map(std::string::ToString::to_string)
        .collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        args.extend_from_slice(extra);
        args.push(url.clone());
        args
    };
    let run = |args: Vec<String>| {
        let chromium = chromium.clone();
        async move {
            tokio::time::timeout(
                Duration::from_secs(60),
                Command::new(chromium)
                    .args(args)
                    .kill_on_drop(true)
                    .output(),
            )
            .await
            .expect("chromium finished in 60 s")
            .expect("chromium ran")
        }
    };
    let dom = run(common(&["--dump-dom".into()])).await;
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom_text.contains("Threat Data Updates on Devices"),
        "chromium rendered: {dom_text}\n{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    for (row, status) in [
        ("Cisco Cloud Configuration", "failure"),
        ("AMP Connection Status", "failure"),
        ("AMP Dynamic Analysis", "failure"),
        ("Local Malware Analysis Signatures", "success"),
    ] {
        assert!(
            dom_text.contains(&format!("<tr class=\"row {status}\"><td>{row}</td>")),
            "{row} {status}: {dom_text}"
        );
    }
    for reason in [
        "tcp_timeout",
        "dns_nxdomain",
        "tls_cert_untrusted",
        "Corp TLS Inspection CA",
    ] {
        assert!(dom_text.contains(reason), "{reason}");
    }
    // The layout a person sees, on a desktop and on a phone.
    for (width, height) in [(1280, 800), (412, 915)] {
        let browser = Browser::start(width, height).await;
        browser.open(&url).await;
        let layout = browser
            .eval(
                "const r = e => e.getBoundingClientRect();
                 const headline = document.querySelector('p.headline');
                 const target = document.querySelector('section.target');
                 return {
                   width: window.innerWidth,
                   scroll: document.documentElement.scrollWidth,
                   headline: headline.textContent,
                   headlineBottom: r(headline).bottom,
                   viewport: window.innerHeight,
                   firstTable: r(document.querySelector('table.rows')).top,
                   firstRow: document.querySelector('table.rows tr.row').className,
                   firstTargetFails: target.querySelector('.status.failure') !== null,
                 };",
            )
            .await;
        assert_eq!(layout["width"], width, "{layout}");
        assert!(
            layout["scroll"].as_u64() <= layout["width"].as_u64(),
            "{width} px: the page scrolls sideways: {layout}"
        );
        assert!(
            layout["headlineBottom"].as_f64() <= layout["viewport"].as_f64()
                && layout["headlineBottom"].as_f64() <= layout["firstTable"].as_f64(),
            "{width} px: the summary line is not first on the first screen: {layout}"
        );
        assert!(
            layout["headline"]
                .as_str()
                .is_some_and(|h| h.starts_with("3 of 4 rows fail: ")),
            "{layout}"
        );
        assert_eq!(layout["firstRow"], "row failure", "{layout}");
        assert_eq!(layout["firstTargetFails"], true, "{layout}");
    }
    for width in [1280, 412] {
        let screenshot = shots.join(format!("status-page-{width}.png"));
        let _ = std::fs::remove_file(&screenshot);
        let shot = run(common(&[
            format!("--screenshot={}", screenshot.display()),
            format!("--window-size={width},2400"),
            "--hide-scrollbars".into(),
        ]))
        .await;
        let png = std::fs::read(&screenshot)
            .unwrap_or_else(|_| panic!("no screenshot: {}", String::from_utf8_lossy(&shot.stderr)));
        assert_eq!(png_width(&png), Some(width), "{}", screenshot.display());
        assert!(png.len() > 10_000, "{} bytes", png.len());
        // The README shows the committed pair.
        let committed = std::fs::read(root.join(format!("docs/images/status-page-{width}.png")))
            .expect("docs/images/ holds the screenshot (UPDATE_DOCS=1 makes it)");
        assert_eq!(png_width(&committed), Some(width));
    }
}

/// The width from a PNG's IHDR chunk.
fn png_width(png: &[u8]) -> Option<u32> {
    if !png.starts_with(b"\x89PNG\r\n\x1a\n") || png.get(12..16) != Some(b"IHDR".as_slice()) {
        return None;
    }
    Some(u32::from_be_bytes(png.get(16..20)?.try_into().ok()?))
}

/// The exporter binary with `args`, listening where the kernel puts it.
async fn spawn_exporter(args: &[&str]) -> ExporterProcess {
    ExporterProcess::start(Path::new(BIN), args).await
}

/// A reload sent the moment the exporter says it listens reloads; it never ends the process (the
/// signal handlers are in place before the `listening` line).
#[tokio::test]
async fn a_sighup_right_after_start_reloads_and_never_kills() {
    for _ in 0..5 {
        let mut exporter = spawn_exporter(&[]).await;
        exporter.signal("HUP").await;
        // The start-up load and the reload.
        until_metrics(exporter.addr, "the reload to count", |e| {
            e.value(
                &format!("{}_total", names::CONFIG_RELOADS),
                &[("result", "success")],
            ) == 2.0
        })
        .await;
        assert!(
            exporter.child.try_wait().expect("status").is_none(),
            "the exporter ended on SIGHUP:\n{}",
            exporter.log()
        );
    }
}

#[tokio::test]
async fn sighup_reloads_and_a_broken_file_keeps_the_running_configuration() {
    let world = World::new().await;
    let (sse, plain) = healthy_sse(&world, "api-sse.cisco.com").await;
    let path = world.dir.path().join("config.yml");
    std::fs::write(
        &path,
        world.config(
            "",
            &[sse_target(
                "sse",
                "api-sse.cisco.com",
                sse.port(),
                plain.port(),
            )],
        ),
    )
    .expect("write");
    let config = path.display().to_string();
    let mut exporter = spawn_exporter(&["--config.file", &config]).await;
    let addr = exporter.addr;

    std::fs::write(&path, "targets: [oops\n").expect("write");
    exporter.signal("HUP").await;
    until_metrics(addr, "the broken file to be refused", |e| {
        e.value(names::CONFIG_RELOAD_SUCCESS, &[]) == 0.0
    })
    .await;
    let (status, body) = request(addr, "GET", "/probe?target=sse", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(
        Exposition::parse(&body).value(names::TARGET_SUCCESS, &[("target", "sse")]),
        1.0
    );

    std::fs::write(
        &path,
        world.config(
            "",
            &[tls_target(
                "amp",
                "api-sse.cisco.com",
                "amp_connection_status",
                sse.port(),
            )],
        ),
    )
    .expect("write");
    exporter.signal("HUP").await;
    until_metrics(addr, "the good file to be loaded", |e| {
        e.value(names::CONFIG_RELOAD_SUCCESS, &[]) == 1.0
    })
    .await;
    assert_eq!(request(addr, "GET", "/probe?target=amp", &[]).await.0, 200);
    exporter.signal("TERM").await;
    let status = tokio::time::timeout(Duration::from_secs(10), exporter.child.wait())
        .await
        .expect("exited")
        .expect("status");
    assert!(status.success());
    let stderr = exporter.log();
    assert!(
        stderr.contains("configuration reload refused") && stderr.contains("config.yml"),
        "{stderr}"
    );
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_scrape_finish() {
    let world = World::new().await;
    world.resolve_via_cname("api-sse.cisco.com");
    let stalled = world.https("api-sse.cisco.com", Behaviour::Stall).await;
    let plain = servers::tcp_listener().await;
    let path = world.dir.path().join("config.yml");
    let yaml = world
        .config(
            "",
            &[sse_target(
                "sse",
                "api-sse.cisco.com",
                stalled.port(),
                plain.port(),
            )],
        )
        .replace("timeout: 1s", "timeout: 30s");
    std::fs::write(&path, yaml).expect("write");
    let config = path.display().to_string();
    let mut exporter = spawn_exporter(&["--config.file", &config]).await;
    let addr = exporter.addr;
    let scrape = tokio::spawn(async move {
        request(
            addr,
            "GET",
            "/probe",
            &[("X-Prometheus-Scrape-Timeout-Seconds", "3")],
        )
        .await
    });
    until_metrics(addr, "the scrape's probe to be in flight", |e| {
        e.value(names::PROBES_IN_FLIGHT, &[]) >= 1.0
    })
    .await;
    let signalled = Instant::now();
    exporter.signal("TERM").await;
    let (status, body) = scrape.await.expect("scrape task");
    assert_eq!(status, 200, "the in-flight scrape completed");
    let e = Exposition::parse(&body);
    assert_eq!(
        e.label(names::TARGET_VERDICT, &[("target", "sse")], "reason"),
        "tls_timeout"
    );
    let exit = tokio::time::timeout(Duration::from_secs(10), exporter.child.wait())
        .await
        .expect("exited")
        .expect("status");
    assert!(exit.success(), "{exit:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(6),
        "shutdown took {:?}",
        signalled.elapsed()
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
}

#[tokio::test]
async fn a_bad_web_configuration_stops_start_up_with_the_field_named() {
    let world = World::new().await;
    let web = world.dir.path().join("web.yml");
    std::fs::write(&web, "tls_server_config:\n  cert_file: /nonexistent/server.crt\n  key_file: /nonexistent/server.key\n").expect("write");
    let out = Command::new(BIN)
        .args([
            "--web.listen-address=127.0.0.1:0",
            "--web.config.file",
            &web.display().to_string(),
        ])
        .output()
        .await
        .expect("ran");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("web.yml") && stderr.contains("tls_server_config.cert_file"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_shipped_web_configuration_passes_promtool() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    // The example names files under /etc/firepower-cloud-exporter/: put real ones in a folder here.
    let dir = tempfile::tempdir().expect("dir");
    let tls = dir.path().join("tls");
    std::fs::create_dir_all(&tls).expect("tls dir");
    let pki = Pki::new(&tls, "Example CA");
    let (cert, key) = pki.leaf(&["localhost"]).write(&tls, "server");
    assert!(cert.ends_with("tls/server.crt") && key.ends_with("tls/server.key"));
    std::fs::copy(&pki.ca_file, tls.join("client-ca.crt")).expect("copy ca");
    let shipped = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/web-config.example.yml"),
    )
    .expect("example");
    let path = dir.path().join("web-config.yml");
    std::fs::write(
        &path,
        shipped.replace(
            "/etc/firepower-cloud-exporter/",
            &format!("{}/", dir.path().display()),
        ),
    )
    .expect("write");
    let out = Command::new(promtool)
        .args(["check", "web-config"])
        .arg(&path)
        .output()
        .await
        .expect("promtool");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // And the exporter itself accepts it, with the placeholder password.
    let web = WebConfig::load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert!(web.serves_tls() && web.requires_auth());
    assert!(format!("{web:?}").contains("headers: 2"), "{web:?}");
    use base64::Engine;
    let header = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("prometheus:change-me")
    );
    assert!(web.accepts(Some(&header)));
    assert!(!web.accepts(None));
}

#[tokio::test]
async fn one_cause_for_several_rows_is_said_once_with_remedies_for_the_real_hosts() {
    let world = World::new().await;
    // The resolver answers NXDOMAIN for every Cisco name: two rows fail for that one cause.
    world.dns.set("api-sse.cisco.com", Answer::NxDomain);
    world.dns.set("cloud-sa.amp.cisco.com", Answer::NxDomain);
    let config = world.config(
        "",
        &[
            sse_target("sse", "api-sse.cisco.com", 443, 8989),
            tls_target(
                "amp",
                "cloud-sa.amp.cisco.com",
                "amp_connection_status",
                443,
            ),
        ],
    );
    let exporter = Exporter::start(&config).await;
    let (status, html) = exporter.get("/").await;
    assert_eq!(status, 200);
    let nslookup = format!(
        "nslookup -port={} api-sse.cisco.com {}",
        world.dns.addr.port(),
        world.dns.addr.ip()
    );
    assert!(
        html.contains(
            "<strong>One cause:</strong> 2 rows fail for one cause, dns_nxdomain at the dns stage"
        ),
        "{html}"
    );
    assert!(html.contains(&format!("<code>{nslookup}</code>")), "{html}");
    assert!(
        !html.contains('`') && !html.contains("&lt;host&gt;"),
        "{html}"
    );
    // The FMC row series carries the same rendered remedy.
    let (_, body) = exporter.get("/probe").await;
    let e = Exposition::parse(&body);
    let remedy = e.label(
        names::SERVICE_VERDICT,
        &[("service", "cisco_cloud_configuration")],
        "remedy",
    );
    assert!(
        remedy.contains(&nslookup) && !remedy.contains('<'),
        "{remedy}"
    );
}

/// The page reads like the FMC: the probed rows of "Threat Data Updates on Devices", failing
/// first, the rows no target stands for folded into one line in the FMC's order and names, then
/// the AMP Connection Status module; failing targets first; `/probe` says what each target stands for and where its name comes from.
#[tokio::test]
async fn the_status_page_lists_the_fmc_rows_in_the_fmc_order_and_names() {
    let world = World::new().await;
    let (sse, plain) = healthy_sse(&world, "api-sse.cisco.com").await;
    world.dns.set("cloud-sa.amp.cisco.com", Answer::NxDomain);
    let secondary = format!(
        "{}    source: secondary\n    used_by: device\n",
        sse_target("sse", "api-sse.cisco.com", sse.port(), plain.port())
    );
    let exporter = Exporter::start(&world.config(
        "",
        &[
            secondary,
            tls_target(
                "amp-cloud",
                "cloud-sa.amp.cisco.com",
                "amp_connection_status",
                443,
            ),
        ],
    ))
    .await;
    let (status, html) = exporter.get("/").await;
    assert_eq!(status, 200);
    let tdu = &html[html
        .find("<h2>Threat Data Updates on Devices</h2>")
        .expect("module")..];
    let tdu = &tdu[..tdu.find("</table>").expect("table end")];
    let names: Vec<&str> = tdu
        .match_indices("<tr class=\"row ")
        .filter_map(|(i, _)| {
            let cell = &tdu[i..];
            let start = cell.find("<td>")? + 4;
            Some(&cell[start..start + cell[start..].find("</td>")?])
        })
        .collect();
    // The probed row, then the rows not probed folded into one line per cause, in the FMC's order
    // and names ("URL Category and Reputation" appears twice in the FMC, once here).
    assert_eq!(names, ["Cisco Cloud Configuration"]);
    assert!(tdu.contains("<tr class=\"row success\"><td>Cisco Cloud Configuration</td>"));
    assert!(
        tdu.contains(
            "<tr class=\"row unobserved\"><td colspan=\"4\"><small>Not probed (threat intelligence the management center pushes to the device): SI URL Lists and Feeds, URL Category and Reputation, Threat Configuration, SI SHA Lists (From TID), SI Network Lists and Feeds, SI DNS Lists and Feeds</small></td></tr>"
        ),
        "{tdu}"
    );
    assert!(
        tdu.contains(
            "<small>Not probed (no target configured for them): Local Malware Analysis Signatures, AMP Dynamic Analysis</small>"
        ),
        "{tdu}"
    );
    // Failing targets first: amp-cloud (configured second) leads the targets.
    let first_target = html.find("<section class=\"target\"").expect("targets");
    assert!(
        html[first_target..].starts_with("<section class=\"target\" id=\"target-amp-cloud\">"),
        "{}",
        &html[first_target..first_target + 200]
    );
    let other = &html[html
        .find("<h2>AMP Connection Status</h2>")
        .expect("the other module")..];
    assert!(other.contains("<tr class=\"row failure\"><td>AMP Connection Status</td>"));
    assert!(!html.contains("AMP Cloud Lookups"));

    let e = exporter.probe("sse").await;
    let info = [("target", "sse")];
    assert_eq!(e.label(names::TARGET_INFO, &info, "source"), "secondary");
    assert_eq!(e.label(names::TARGET_INFO, &info, "used_by"), "device");
    assert_eq!(
        e.label(names::TARGET_INFO, &info, "module"),
        "threat_data_updates"
    );
    assert_eq!(
        e.label(
            names::SERVICE_SUCCESS,
            &[("service", "cisco_cloud_configuration")],
            "module"
        ),
        "threat_data_updates"
    );
    let amp = exporter.probe("amp-cloud").await;
    assert_eq!(
        amp.label(names::TARGET_INFO, &[("target", "amp-cloud")], "source"),
        "configured"
    );
    assert_eq!(
        amp.label(
            names::SERVICE_VERDICT,
            &[("service", "amp_connection_status")],
            "title"
        ),
        "AMP Connection Status"
    );
}
