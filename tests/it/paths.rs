//! Where the path breaks, on real multi-hop paths: network namespaces made by the test (a client,
//! three routers with IPv4 forwarding, a server), joined by veth pairs. The exporter's `check`
//! runs inside the client namespace against the server's TCP 8989 while a router drops, rejects or
//! lets it through. The addresses exist only inside these namespaces, and every namespace (with
//! its links) is deleted when the test ends, also when it fails.

use std::process::Command;

use serde_json::Value;

use crate::docs::tool;

/// The namespaces of one test, deleted on drop.
struct Lab {
    names: Vec<String>,
}

impl Lab {
    /// client ─ r1 ─ r2 ─ r3 ─ server, on 10.77.1.0/24 … 10.77.4.0/24 (server 10.77.4.2).
    /// `case` names the lab's namespaces and is one test's own: tests run in parallel, and two
    /// labs of one name would take each other's namespaces.
    fn new(case: &str) -> Lab {
        static TAKEN: std::sync::Mutex<std::collections::BTreeSet<String>> =
            std::sync::Mutex::new(std::collections::BTreeSet::new());
        let fresh = TAKEN
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(case.to_string());
        assert!(
            fresh,
            "two tests make a lab named {case:?}: give each its own"
        );
        let tag = format!("fce{}{case}", std::process::id() % 100_000);
        let names: Vec<String> = ["c", "r1", "r2", "r3", "s"]
            .iter()
            .map(|n| format!("{tag}{n}"))
            .collect();
        let lab = Lab { names };
        for ns in &lab.names {
            // A namespace of this name is left from a killed run whose process id had the same
            // tail (this process, alive, owns the tag now).
            let _ = Command::new("ip").args(["netns", "delete", ns]).output();
            ip(&["netns", "add", ns]);
            netns_exec(ns, &["ip", "link", "set", "lo", "up"]);
        }
        let [c, r1, r2, r3, s] = [0, 1, 2, 3, 4].map(|i| lab.names[i].as_str());
        Lab::link(c, "10.77.1.2/24", r1, "10.77.1.1/24", "a");
        Lab::link(r1, "10.77.2.1/24", r2, "10.77.2.2/24", "b");
        Lab::link(r2, "10.77.3.1/24", r3, "10.77.3.2/24", "c");
        Lab::link(r3, "10.77.4.1/24", s, "10.77.4.2/24", "d");
        for router in [r1, r2, r3] {
            netns_exec(router, &["sysctl", "-qw", "net.ipv4.ip_forward=1"]);
        }
        netns_exec(c, &["ip", "route", "add", "default", "via", "10.77.1.1"]);
        netns_exec(r1, &["ip", "route", "add", "default", "via", "10.77.2.2"]);
        netns_exec(
            r2,
            &["ip", "route", "add", "10.77.1.0/24", "via", "10.77.2.1"],
        );
        netns_exec(
            r2,
            &["ip", "route", "add", "10.77.4.0/24", "via", "10.77.3.2"],
        );
        netns_exec(r3, &["ip", "route", "add", "default", "via", "10.77.3.1"]);
        netns_exec(s, &["ip", "route", "add", "default", "via", "10.77.4.1"]);
        lab
    }

    fn ns(&self, name: &str) -> &str {
        let i = ["c", "r1", "r2", "r3", "s"]
            .iter()
            .position(|n| *n == name)
            .expect("namespace");
        &self.names[i]
    }

    /// A veth pair between two namespaces with an address on each end.
    fn link(left: &str, left_addr: &str, right: &str, right_addr: &str, id: &str) {
        let (l, r) = (format!("{left}{id}"), format!("{right}{id}"));
        // Interface names are at most 15 bytes: keep the tag's tail.
        let short = |n: &str| n[n.len().saturating_sub(15)..].to_string();
        let (l, r) = (short(&l), short(&r));
        ip(&[
            "link", "add", &l, "netns", left, "type", "veth", "peer", "name", &r, "netns", right,
        ]);
        netns_exec(left, &["ip", "addr", "add", left_addr, "dev", &l]);
        netns_exec(left, &["ip", "link", "set", &l, "up"]);
        netns_exec(right, &["ip", "addr", "add", right_addr, "dev", &r]);
        netns_exec(right, &["ip", "link", "set", &r, "up"]);
    }

    /// `check --output json` of the exporter inside the client namespace.
    fn check(&self, config: &std::path::Path) -> Value {
        let out = Command::new("ip")
            .args(["netns", "exec", self.ns("c")])
            .arg(env!("CARGO_BIN_EXE_firepower-cloud-exporter"))
            .args(["check", "--output", "json", "--config.file"])
            .arg(config)
            .env("NO_COLOR", "1")
            .output()
            .expect("check ran");
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{e}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    /// `check`'s text inside the client namespace.
    fn check_text(&self, config: &std::path::Path) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", self.ns("c")])
            .arg(env!("CARGO_BIN_EXE_firepower-cloud-exporter"))
            .args(["check", "--config.file"])
            .arg(config)
            .env("NO_COLOR", "1")
            .output()
            .expect("check ran");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A TCP listener on the server's 8989, bound inside the server namespace.
    fn listen(&self) -> std::net::TcpListener {
        let path = format!("/var/run/netns/{}", self.ns("s"));
        std::thread::spawn(move || {
            let ns = std::fs::File::open(path).expect("namespace file");
            nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
            std::net::TcpListener::bind("10.77.4.2:8989").expect("bind in the server namespace")
        })
        .join()
        .expect("listener thread")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        // Deleting a namespace deletes its veth ends, and with them their peers.
        for ns in &self.names {
            let _ = Command::new("ip").args(["netns", "delete", ns]).output();
        }
    }
}

fn netns_exec(ns: &str, args: &[&str]) {
    let mut all = vec!["netns", "exec", ns];
    all.extend_from_slice(args);
    ip(&all);
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip ran");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Namespaces need root and `ip`; CI has both (the test fails there rather than skip).
fn can_make_namespaces() -> bool {
    let ready = crate::is_root() && tool("ip").is_some();
    assert!(
        ready || std::env::var_os("FCE_REQUIRE_TOOLS").is_none(),
        "the path tests need root and iproute2 (CI runs as root)"
    );
    ready
}

fn config(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("config.yml");
    std::fs::write(
        &path,
        "path_trace: { max_hops: 5, hop_timeout: 1s }\ntargets:\n  - name: sse\n    host: 10.77.4.2\n    service: cisco_cloud_configuration\n    checks: [tcp]\n    tcp_ports: [8989]\n    timeout: 1500ms\n",
    )
    .expect("write");
    path
}

/// The target's verdict and its path for tcp/8989 (Null when none was traced).
fn verdict(report: &Value) -> (String, Value) {
    let target = &report["targets"][0];
    let reason = target["reason"].as_str().unwrap_or_default().to_string();
    let path = target["paths"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["step"] == "tcp/8989"))
        .cloned()
        .unwrap_or(Value::Null);
    (reason, path)
}

#[test]
fn a_router_that_blackholes_the_server_is_silence_after_hop_2() {
    if !can_make_namespaces() {
        return;
    }
    let lab = Lab::new("bh");
    netns_exec(
        lab.ns("r3"),
        &["ip", "route", "add", "blackhole", "10.77.4.2/32"],
    );
    let dir = tempfile::tempdir().expect("dir");
    let (reason, path) = verdict(&lab.check(&config(dir.path())));
    assert_eq!(reason, "tcp_timeout", "{path}");
    assert_eq!(path["trace"]["end"]["kind"], "silent", "{path}");
    let hops = path["trace"]["hops"].as_array().expect("hops");
    assert_eq!(hops[0]["from"], "10.77.1.1", "{path}");
    assert_eq!(hops[1]["from"], "10.77.2.2", "{path}");
    assert_eq!(hops[2]["answer"], "silent", "{path}");
    assert_eq!(
        path["summary"],
        "the path answers up to hop 2 (10.77.2.2), then nothing: the device or network after 10.77.2.2 drops TCP 8989"
    );
}

#[test]
fn a_router_with_a_prohibit_route_rejects_at_hop_2() {
    if !can_make_namespaces() {
        return;
    }
    let lab = Lab::new("pr");
    netns_exec(
        lab.ns("r2"),
        &["ip", "route", "add", "prohibit", "10.77.4.2/32"],
    );
    let dir = tempfile::tempdir().expect("dir");
    let (reason, path) = verdict(&lab.check(&config(dir.path())));
    assert_eq!(reason, "tcp_unreachable", "{path}");
    assert_eq!(path["trace"]["end"]["kind"], "rejected", "{path}");
    assert_eq!(path["trace"]["end"]["hop"], 2, "{path}");
    assert_eq!(
        path["trace"]["end"]["rejection"], "admin_prohibited",
        "{path}"
    );
    assert_eq!(path["trace"]["hops"][1]["from"], "10.77.2.2", "{path}");
    assert!(
        path["summary"].as_str().unwrap_or_default().starts_with(
            "10.77.2.2 at hop 2 rejects TCP 8989 to 10.77.4.2 (ICMP administratively prohibited)"
        ),
        "{path}"
    );
}

#[test]
fn a_destination_that_refuses_is_told_apart_from_the_routers() {
    if !can_make_namespaces() {
        return;
    }
    let lab = Lab::new("rf");
    let dir = tempfile::tempdir().expect("dir");
    let (reason, path) = verdict(&lab.check(&config(dir.path())));
    assert_eq!(reason, "tcp_refused", "{path}");
    assert_eq!(path["trace"]["end"]["kind"], "refused", "{path}");
    assert_eq!(path["trace"]["end"]["hop"], 4, "{path}");
    let hops = path["trace"]["hops"].as_array().expect("hops");
    let routers: Vec<&str> = hops[..3]
        .iter()
        .filter_map(|h| h["from"].as_str())
        .collect();
    assert_eq!(routers, ["10.77.1.1", "10.77.2.2", "10.77.3.2"], "{path}");
    assert_eq!(hops[3]["from"], "10.77.4.2");
}

#[test]
fn a_host_without_a_route_is_told_it_is_its_own_configuration() {
    if !can_make_namespaces() {
        return;
    }
    let lab = Lab::new("nr");
    netns_exec(lab.ns("c"), &["ip", "route", "del", "default"]);
    let dir = tempfile::tempdir().expect("dir");
    let (reason, path) = verdict(&lab.check(&config(dir.path())));
    assert_eq!(reason, "tcp_unreachable", "{path}");
    assert_eq!(path["trace"]["end"]["kind"], "local", "{path}");
    assert_eq!(path["trace"]["end"]["cause"], "no_route", "{path}");
    let summary = path["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("this host has no route") && summary.contains("not a router or firewall"),
        "{summary}"
    );
}

#[test]
fn a_healthy_path_is_not_traced() {
    if !can_make_namespaces() {
        return;
    }
    let lab = Lab::new("ok");
    let _listener = lab.listen();
    let dir = tempfile::tempdir().expect("dir");
    let report = lab.check(&config(dir.path()));
    let (reason, path) = verdict(&report);
    assert_eq!(reason, "ok", "{report}");
    assert!(path.is_null(), "{report}");
}

/// Runs `body` on a current-thread runtime in a thread that joined `lab`'s client namespace:
/// every socket the in-process exporter opens (probes, traces, its own listener) is the client's.
fn in_client<F: std::future::Future<Output = ()>>(
    lab: &Lab,
    body: impl FnOnce() -> F + Send + 'static,
) {
    let path = format!("/var/run/netns/{}", lab.ns("c"));
    std::thread::spawn(move || {
        let ns = std::fs::File::open(path).expect("namespace file");
        nix::sched::setns(ns, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(body());
    })
    .join()
    .expect("the test body passed");
}

/// A refused port is traced after the scrape that saw it, the next scrape and the status page show
/// the path, and the interval holds further traces back.
#[test]
fn the_next_scrape_carries_the_trace_and_the_interval_holds_the_next_one() {
    if !can_make_namespaces() {
        return;
    }
    let lab = Lab::new("nx");
    in_client(&lab, || async {
        use firepower_cloud_exporter::metrics::names;

        use crate::util::Exporter;

        let exporter = Exporter::start(
            "path_trace: { max_hops: 5, hop_timeout: 1s, interval: 10m }\ntargets:\n  - name: sse\n    host: 10.77.4.2\n    service: cisco_cloud_configuration\n    checks: [tcp]\n    tcp_ports: [8989]\n    min_interval: 0s\n",
        )
        .await;
        let first = exporter.probe("sse").await;
        assert!(
            first.all(names::PATH_INFO, &[]).is_empty(),
            "traced after this answer"
        );
        let labels = [("target", "sse"), ("port", "8989")];
        let mut second = exporter.probe("sse").await;
        for _ in 0..60 {
            if !second.all(names::PATH_INFO, &[]).is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            second = exporter.probe("sse").await;
        }
        assert_eq!(second.label(names::PATH_INFO, &labels, "end"), "refused");
        assert_eq!(
            second.label(names::PATH_INFO, &labels, "last_hop_address"),
            "10.77.4.2"
        );
        assert_eq!(second.value(names::PATH_LAST_HOP, &labels), 4.0);
        assert_eq!(second.value(names::PATH_HOPS, &labels), 4.0);
        let traced_at = second.value(names::PATH_TRACED_AT, &labels);
        // Within the interval the same trace is served, not a new one.
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        let third = exporter.probe("sse").await;
        assert_eq!(third.value(names::PATH_TRACED_AT, &labels), traced_at);
        for path in ["/", "/debug?target=sse"] {
            let (status, page) = exporter.get(path).await;
            assert_eq!(status, 200);
            assert!(
                page.contains("<table class=\"hops\">")
                    && page.contains("a reset for TCP 8989 comes from hop 4")
                    && page.contains("<tr><td>4</td><td>10.77.4.2</td><td>reset (refused)</td>"),
                "{path}: {page}"
            );
        }
    });
}

/// The dashboards' path trace panel against a real Prometheus inside the client namespace: a
/// refused port on the server four hops away is traced, scraped, and each of the panel's queries
/// (where the path ends, its last hop) returns data.
#[test]
fn the_path_trace_panel_shows_a_traced_path_on_real_prometheus() {
    if !can_make_namespaces() {
        return;
    }
    let lab = Lab::new("pd");
    panel_on_real_prometheus(
        &lab,
        "path_trace: { max_hops: 5, hop_timeout: 1s }\ntargets:\n  - name: sse\n    host: 10.77.4.2\n    service: cisco_cloud_configuration\n    checks: [tcp]\n    tcp_ports: [8989]\n    min_interval: 0s\n".into(),
        None,
        false,
    );
}

/// Runs an exporter with `config` and a real Prometheus scraping it as the README says, both in
/// `lab`'s client namespace (the probe job with `scrape_timeout` when given, the stack's second
/// otherwise), and requires data from every query of the path trace panel (with `mtu`, its MTU
/// drop too).
fn panel_on_real_prometheus(lab: &Lab, config: String, scrape_timeout: Option<&str>, mtu: bool) {
    let job = scrape_timeout.map(|t| {
        format!("metrics_path: /probe\n    scrape_interval: {t}\n    scrape_timeout: {t}\n")
    });
    in_client(lab, move || async move {
        use crate::e2e::{Panels, Pattern, Stack, check_dashboards, readme_scrape_configs};
        use crate::util::Exporter;

        let exporter = Exporter::start(&config).await;
        let started = std::time::SystemTime::now();
        let mut scrape_configs =
            readme_scrape_configs(Pattern::AllTargets, exporter.addr, &["sse"]);
        if let Some(job) = job {
            scrape_configs = scrape_configs.replacen("metrics_path: /probe\n", &job, 1);
        }
        let Some(stack) = Stack::start(&scrape_configs, "5s").await else {
            return;
        };
        check_dashboards(
            stack.prom_addr,
            started,
            &stack.daemons(),
            ".*",
            false,
            Panels::PathTrace { mtu },
        )
        .await;
    });
}

/// A destination on this host (a loopback answer, a target written as 127.0.0.1) has no path to
/// trace: the refusal is this host's own, and nothing is traced.
#[tokio::test]
async fn a_loopback_destination_is_never_traced() {
    use firepower_cloud_exporter::metrics::names;

    use crate::util::{Exporter, servers};

    let port = servers::closed_port();
    let exporter = Exporter::start(&format!(
        "path_trace: {{ max_hops: 3, hop_timeout: 1s, interval: 0s }}\ntargets:\n  - name: sse\n    host: 127.0.0.1\n    service: cisco_cloud_configuration\n    checks: [tcp]\n    tcp_ports: [{port}]\n    min_interval: 0s\n"
    ))
    .await;
    for _ in 0..5 {
        let e = exporter.probe("sse").await;
        assert!(
            e.all(names::PATH_INFO, &[]).is_empty(),
            "no trace toward 127.0.0.1"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[test]
fn check_prints_the_path_under_the_failing_step() {
    if !can_make_namespaces() {
        return;
    }
    let lab = Lab::new("cp");
    let dir = tempfile::tempdir().expect("dir");
    let text = lab.check_text(&config(dir.path()));
    assert!(
        text.contains(
            "  path tcp/8989: a reset for TCP 8989 comes from hop 4: 10.77.4.2 refuses the port"
        ) && text.contains("     4  10.77.4.2  reset (refused)"),
        "{text}"
    );
}

/// TLS that stalls after the connection opened is traced too: the path reaches the destination,
/// which points above TCP (TLS inspection, an IPS, a path-MTU black hole).
#[test]
fn a_stalled_tls_handshake_is_traced_to_a_reached_destination() {
    if !can_make_namespaces() {
        return;
    }
    let lab = Lab::new("st");
    // Accepted by the kernel, never read: the handshake stalls.
    let _listener = lab.listen();
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("config.yml");
    std::fs::write(
        &path,
        "path_trace: { max_hops: 5, hop_timeout: 1s }\ntargets:\n  - name: sse\n    host: 10.77.4.2\n    service: cisco_cloud_configuration\n    checks: [tcp, tls]\n    tcp_ports: [8989]\n    tls_port: 8989\n    timeout: 1500ms\n",
    )
    .expect("write");
    let report = lab.check(&path);
    let target = &report["targets"][0];
    assert_eq!(target["reason"], "tls_timeout", "{report}");
    let path = target["paths"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["step"] == "tls/8989"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(path["trace"]["end"]["kind"], "reached", "{report}");
    assert_eq!(path["trace"]["end"]["hop"], 4, "{report}");
    assert!(
        path["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("path-MTU black hole"),
        "{path}"
    );
}

/// The interface `Lab::link` made in `ns` for link `id`.
fn veth(ns: &str, id: &str) -> String {
    let name = format!("{ns}{id}");
    name[name.len().saturating_sub(15)..].to_string()
}

/// A path-MTU black hole: the link between r2 and r3 carries 1280-byte packets and r3 drops the
/// ICMP "fragmentation needed" it would send the server; nginx in the server namespace presents a
/// certificate for `names` and answers `GET /` with 403 and `body`. The client's configuration
/// checks TCP, TLS (trusting the lab's CA) and `extra_checks` on 10.77.4.2:8989.
struct MtuLab {
    lab: Lab,
    config: std::path::PathBuf,
    _server: Killed,
    _dir: tempfile::TempDir,
}

impl MtuLab {
    fn new(case: &str, names: &[&str], body: &str, extra_checks: &str, path_trace: &str) -> MtuLab {
        let lab = Lab::new(case);
        let (r2, r3) = (lab.ns("r2"), lab.ns("r3"));
        netns_exec(r2, &["ip", "link", "set", &veth(r2, "c"), "mtu", "1280"]);
        netns_exec(r3, &["ip", "link", "set", &veth(r3, "c"), "mtu", "1280"]);
        let drop_frag_needed =
            "iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP";
        netns_exec(r3, &drop_frag_needed.split(' ').collect::<Vec<_>>());
        let dir = tempfile::tempdir().expect("dir");
        let pki = crate::util::Pki::new(dir.path(), "Lab CA");
        let (cert, key) = pki.leaf(names).write(dir.path(), "server");
        let conf = firepower_cloud_testkit::daemons::nginx_conf(
            dir.path(),
            &format!(
                "    listen 10.77.4.2:8989 ssl;\n    ssl_certificate {};\n    ssl_certificate_key {};\n    location / {{ return 403 \"{body}\"; }}\n",
                cert.display(),
                key.display()
            ),
        );
        std::fs::write(dir.path().join("nginx.conf"), conf).expect("write");
        let server = Command::new("ip")
            .args(["netns", "exec", lab.ns("s"), "nginx", "-p"])
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("nginx");
        let mut server = Killed(server);
        wait_listening(&mut server.0, lab.ns("s"));
        let config = dir.path().join("config.yml");
        std::fs::write(
            &config,
            format!(
                "path_trace: {{ {path_trace} }}\ntargets:\n  - name: sse\n    host: 10.77.4.2\n    service: cisco_cloud_configuration\n    checks: [tcp, tls{extra_checks}]\n    tcp_ports: [8989]\n    tls_port: 8989\n    tls: {{ server_name: {}, ca_file: \"{}\" }}\n    timeout: 2s\n",
                names[0],
                pki.ca_file.display()
            ),
        )
        .expect("write");
        MtuLab {
            lab,
            config,
            _server: server,
            _dir: dir,
        }
    }

    /// The lab with a leaf whose certificate alone spans several full-size packets (the
    /// handshake stalls behind the small-MTU link) and `GET /` answered 403 Forbidden.
    fn large_certificate(case: &str, path_trace: &str) -> MtuLab {
        let names: Vec<String> = std::iter::once("api-sse.cisco.com".to_string())
            .chain((0..150).map(|i| format!("edge-{i:03}.api-sse.cisco.com")))
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        MtuLab::new(case, &names, "Forbidden", "", path_trace)
    }

    /// Requires `(stage, reason)` on 20 runs in a row; then, with the small-MTU hop gone, a
    /// healthy target.
    fn same_verdict_then_healthy(&self, stage: &str, reason: &str) {
        for run in 0..20 {
            let report = self.lab.check(&self.config);
            let target = &report["targets"][0];
            assert_eq!(target["reason"], reason, "run {run}: {report}");
            assert_eq!(target["verdict"]["stage"], stage, "run {run}: {report}");
        }
        for ns in ["r2", "r3"] {
            let ns = self.lab.ns(ns);
            netns_exec(ns, &["ip", "link", "set", &veth(ns, "c"), "mtu", "1500"]);
        }
        let report = self.lab.check(&self.config);
        assert_eq!(report["targets"][0]["reason"], "ok", "{report}");
    }
}

fn mtu_lab_ready() -> bool {
    can_make_namespaces() && tool("iptables").is_some() && tool("nginx").is_some()
}

/// A certificate larger than one packet: the handshake stalls with full-size segments and
/// completes with small ones, `tls_mtu_black_hole`, every time.
#[test]
fn a_path_mtu_black_hole_is_named_after_a_small_segment_handshake_completes() {
    if !mtu_lab_ready() {
        return;
    }
    let lab = MtuLab::large_certificate("mt", "enabled: false");
    lab.same_verdict_then_healthy("tls", "tls_mtu_black_hole");
}

/// Where the MTU drops: the trace after `tls_mtu_black_hole` sends full-size and small datagrams
/// with "don't fragment" to each router it found. Full-size ones stop behind the 1280-byte link
/// (r2 → r3) and r2 reports that MTU; with r2's "fragmentation needed" dropped too, the silence
/// alone names the same link. The next probes still meet the black hole: nothing the trace sent
/// lowered this host's MTU toward the server.
#[test]
fn the_trace_of_a_path_mtu_black_hole_names_the_link_where_the_mtu_drops() {
    if !mtu_lab_ready() {
        return;
    }
    let lab = MtuLab::large_certificate("mp", "max_hops: 5, hop_timeout: 1s");
    let mtu_of = |report: &Value| {
        let target = &report["targets"][0];
        assert_eq!(target["reason"], "tls_mtu_black_hole", "{report}");
        let path = target["paths"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["step"] == "tls/8989"))
            .cloned()
            .unwrap_or_else(|| panic!("no path for tls/8989: {report}"));
        let summary = path["summary"].as_str().unwrap_or_default().to_string();
        (path["trace"]["mtu"].clone(), summary)
    };
    for run in 0..2 {
        let (mtu, summary) = mtu_of(&lab.lab.check(&lab.config));
        assert_eq!(mtu["size"], 1500, "run {run}: {mtu}");
        assert_eq!(mtu["last_full"]["hop"], 2, "run {run}: {mtu}");
        assert_eq!(mtu["last_full"]["address"], "10.77.2.2", "run {run}: {mtu}");
        assert_eq!(mtu["first_small"]["hop"], 3, "run {run}: {mtu}");
        assert_eq!(
            mtu["first_small"]["address"], "10.77.3.2",
            "run {run}: {mtu}"
        );
        assert_eq!(mtu["reported"]["by"], "10.77.2.2", "run {run}: {mtu}");
        assert_eq!(mtu["reported"]["mtu"], 1280, "run {run}: {mtu}");
        assert!(
            summary.contains("the MTU drops on the link just before 10.77.3.2")
                && summary.contains("10.77.2.2 reports a next-hop MTU of 1280 bytes"),
            "{summary}"
        );
    }
    let drop_frag_needed = "iptables -A OUTPUT -p icmp --icmp-type fragmentation-needed -j DROP";
    netns_exec(
        lab.lab.ns("r2"),
        &drop_frag_needed.split(' ').collect::<Vec<_>>(),
    );
    let (mtu, summary) = mtu_of(&lab.lab.check(&lab.config));
    assert_eq!(mtu["last_full"]["address"], "10.77.2.2", "{mtu}");
    assert_eq!(mtu["first_small"]["address"], "10.77.3.2", "{mtu}");
    assert_eq!(mtu.get("reported"), Some(&Value::Null), "{mtu}");
    assert!(
        summary.contains("the MTU drops on the link just before 10.77.3.2"),
        "{summary}"
    );
}

/// The path trace panel's MTU column against a real Prometheus inside the client namespace: after
/// a path-MTU black hole is traced, every query of the panel (where the path ends, its last hop,
/// the hop after which the MTU drops) returns data.
#[test]
fn the_path_trace_panel_shows_where_the_mtu_drops_on_real_prometheus() {
    if !mtu_lab_ready() {
        return;
    }
    let lab = MtuLab::large_certificate("pm", "max_hops: 5, hop_timeout: 1s");
    let config = std::fs::read_to_string(&lab.config).expect("read") + "    min_interval: 0s\n";
    // The handshake stalls before small segments complete it: the probe job gets a scrape
    // timeout above the stage's 2 s, not the stack's one second.
    panel_on_real_prometheus(&lab.lab, config, Some("4s"), true);
}

/// A small certificate and a large answer (a block page's size): TLS completes, the response
/// stalls with full-size segments and arrives with small ones, `http_mtu_black_hole`.
#[test]
fn a_path_mtu_black_hole_under_a_large_answer_is_named_at_the_request() {
    if !mtu_lab_ready() {
        return;
    }
    let body = "blocked ".repeat(400);
    let lab = MtuLab::new(
        "mh",
        &["api-sse.cisco.com"],
        &body,
        ", http",
        "enabled: false",
    );
    lab.same_verdict_then_healthy("http", "http_mtu_black_hole");
}

/// A child process killed when dropped (also when the test fails).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until the server `child` started in namespace `ns` listens on 10.77.4.2:8989.
fn wait_listening(child: &mut std::process::Child, ns: &str) {
    for _ in 0..100 {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "ss", "-ltn"])
            .output()
            .expect("ss");
        if String::from_utf8_lossy(&out.stdout).contains("10.77.4.2:8989") {
            return;
        }
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "the server exited"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("the server did not listen in {ns}");
}
