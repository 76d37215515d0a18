//! End to end: the exporter against loopback targets, a real Prometheus scraping it with the
//! shipped rules (their `for:` shortened in this test's copy only), a real Alertmanager with the
//! shipped example configuration and a webhook receiver here. Breaking a target's DNS must page
//! with the replica alert and the right reason while its TCP/TLS alerts are inhibited; healing it
//! must resolve the page. Then every query of every dashboard panel runs against that Prometheus.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::process::{Child, Command};

use crate::dashboards::{dashboard_files, load, panels};
use crate::docs::tool;
use crate::util::{Answer, Behaviour, Exporter, Proxy, ProxyMode, TlsServer};
use crate::{World, healthy_sse, sse_target, tls_target};
use firepower_cloud_testkit::exporter::Log;
use firepower_cloud_testkit::request;

/// A port for Prometheus and Alertmanager, which cannot be told to pick one and say it (the
/// exporter can: `ExporterProcess`).
pub(crate) use firepower_cloud_testkit::daemons::free_port;

/// A child process whose output goes to a log file, killed when dropped.
pub(crate) struct Daemon {
    _child: Child,
    log: PathBuf,
    name: &'static str,
}

impl Daemon {
    pub(crate) fn spawn(name: &'static str, program: &Path, args: &[String], dir: &Path) -> Daemon {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(program)
            .args(args)
            .stdout(Stdio::from(file.try_clone().expect("clone")))
            .stderr(Stdio::from(file))
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Daemon {
            _child: child,
            log,
            name,
        }
    }
}

impl Log for Daemon {
    fn log(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        format!(
            "--- {} log (last lines) ---\n{}",
            self.name,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        )
    }
}

/// Polls `probe` every 250 ms until it returns `Some`, or panics with `what` and the daemons' logs.
pub(crate) async fn wait_for<T, F, Fut>(
    what: &str,
    timeout: Duration,
    daemons: &[&dyn Log],
    mut probe: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = daemons.iter().map(|d| d.log()).collect();
            panic!(
                "timed out after {timeout:?} waiting for {what}\n{}",
                logs.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub(crate) async fn get_json(addr: SocketAddr, path: &str) -> Option<Value> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    drop(stream);
    let (status, body) = request(addr, "GET", path, &[]).await;
    (status == 200)
        .then(|| serde_json::from_str(&body).ok())
        .flatten()
}

/// A webhook receiver: every notification Alertmanager posts, with its path.
#[derive(Clone, Default)]
pub(crate) struct Receiver {
    notifications: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Receiver {
    pub(crate) async fn start(&self) -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let store = self.notifications.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: String| {
            let store = store.clone();
            async move {
                if let Ok(json) = serde_json::from_str::<Value>(&body) {
                    store
                        .lock()
                        .expect("store")
                        .push((uri.path().to_string(), json));
                }
                "ok"
            }
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        addr
    }

    /// Notifications received so far: (receiver path, notification).
    pub(crate) fn notifications(&self) -> Vec<(String, Value)> {
        self.notifications.lock().expect("store").clone()
    }

    /// The first alert received at `path` with `status`, named `alertname` (and with `label` when
    /// given): (receiver path, notification status, alert).
    pub(crate) fn find(
        &self,
        path: &str,
        status: &str,
        alertname: &str,
        label: Option<(&str, &str)>,
    ) -> Option<(String, String, Value)> {
        self.alerts().into_iter().find(|(p, s, a)| {
            p == path
                && s == status
                && a["labels"]["alertname"] == alertname
                && label.is_none_or(|(k, v)| a["labels"][k] == v)
        })
    }

    /// Alerts received so far: (receiver path, notification status, alert).
    pub(crate) fn alerts(&self) -> Vec<(String, String, Value)> {
        let mut out = Vec::new();
        for (path, n) in self.notifications.lock().expect("store").iter() {
            for alert in n["alerts"].as_array().cloned().unwrap_or_default() {
                let status = alert["status"].as_str().unwrap_or_default().to_string();
                out.push((path.clone(), status, alert));
            }
        }
        out
    }
}

/// A world's targets for three FMC rows, so every dashboard panel has data: the SSE host, an AMP
/// host, and Threat Grid through an HTTP proxy. The servers live as long as this value.
pub(crate) struct ThreeRows {
    pub(crate) sse: TlsServer,
    pub(crate) config: String,
    _servers: (SocketAddr, TlsServer, TlsServer, Proxy),
}

pub(crate) async fn three_rows(world: &World) -> ThreeRows {
    let (sse, plain) = healthy_sse(world, "api-sse.cisco.com").await;
    world.resolve_via_cname("cloud-sa.amp.cisco.com");
    let forbidden = Behaviour::Http {
        status: 403,
        date_offset_secs: 0,
    };
    let amp = world
        .https("cloud-sa.amp.cisco.com", forbidden.clone())
        .await;
    let tg = world.https("panacea.threatgrid.com", forbidden).await;
    let proxy = Proxy::start(ProxyMode::Open, tg.addr).await;
    let proxied = format!(
        "{}    proxy: {{ url: \"http://{}\" }}\n",
        tls_target(
            "threatgrid",
            "panacea.threatgrid.com",
            "amp_dynamic_analysis",
            443
        ),
        proxy.addr
    );
    let config = world.config(
        "",
        &[
            sse_target("sse", "api-sse.cisco.com", sse.port(), plain.port()),
            tls_target(
                "amp",
                "cloud-sa.amp.cisco.com",
                "amp_connection_status",
                amp.port(),
            ),
            proxied,
        ],
    );
    ThreeRows {
        sse,
        config,
        _servers: (plain, amp, tg, proxy),
    }
}

/// The shipped rules with every `for:` shortened to `hold`.
pub(crate) fn rules_for_test(hold: &str) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("alerts/firepower-cloud.rules.yml"),
    )
    .expect("rules");
    text.lines()
        .map(|l| match l.split_once("for: ") {
            Some((indent, _)) if indent.trim().is_empty() => format!("{indent}for: {hold}"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The shipped Alertmanager configuration pointed at `receiver`, with waits shortened.
pub(crate) fn alertmanager_for_test(receiver: SocketAddr) -> String {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("alerts/alertmanager.example.yml"),
    )
    .expect("alertmanager config");
    text.replace("http://alert-receiver:9095", &format!("http://{receiver}"))
        .replace("group_wait: 30s", "group_wait: 1s")
        .replace("group_interval: 5m", "group_interval: 1s")
}

/// The two scrape configurations the README documents.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Pattern {
    /// One `/probe` scrape for every target (job `firepower-cloud`).
    AllTargets,
    /// One scrape per target, `/probe?target=NAME`, as the README's relabelling gives it.
    PerTarget,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_page_with_the_reason_inhibit_and_resolve_and_every_dashboard_query_returns_data() {
    page_inhibit_resolve(Pattern::AllTargets).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_scrape_per_target_as_the_readme_configures_it_pages_for_the_row_with_its_reason() {
    page_inhibit_resolve(Pattern::PerTarget).await;
}

/// The README's scrape configuration for `pattern`, pointed at `exporter` with `targets` as the
/// per-target list: the text of the README itself, so a broken example fails here.
pub(crate) fn readme_scrape_configs(
    pattern: Pattern,
    exporter: SocketAddr,
    targets: &[&str],
) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README");
    let block = |after: &str| -> String {
        let rest = &readme[readme.find(after).expect(after)..];
        let start = rest.find("```yaml\n").expect("yaml block") + 8;
        let end = start + rest[start..].find("```").expect("block end");
        rest[start..end].to_string()
    };
    let own_job = "  - job_name: firepower-cloud-exporter\n    static_configs:\n      - targets: [\"exporter-host:10027\"]\n";
    let text = match pattern {
        Pattern::AllTargets => block("All targets in one scrape"),
        Pattern::PerTarget => {
            let per_target = block("One scrape per target");
            let listed = per_target
                .lines()
                .find(|l| l.trim_start().starts_with("- targets: ["))
                .expect("the README lists the targets")
                .to_string();
            let indent = &listed[..listed.find('-').unwrap_or(0)];
            let ours = format!("{indent}- targets: [{}]", targets.join(", "));
            format!("{}{own_job}", per_target.replace(&listed, &ours))
        }
    };
    text.replace("exporter-host:10027", &exporter.to_string())
        .replace("    scrape_interval: 60s\n", "")
        .replace("    scrape_timeout: 30s\n", "")
}

/// A real Alertmanager with the shipped example configuration, sending to a webhook receiver
/// here, and a real Prometheus with the shipped rules (every `for:` shortened to `hold`) scraping
/// with `scrape_configs`, every second.
pub(crate) struct Stack {
    pub(crate) prom: Daemon,
    pub(crate) am: Daemon,
    pub(crate) prom_addr: SocketAddr,
    pub(crate) am_addr: SocketAddr,
    pub(crate) receiver: Receiver,
    _dir: tempfile::TempDir,
}

impl Stack {
    /// `None` where Prometheus or Alertmanager is not installed (CI installs both, and
    /// `FCE_REQUIRE_TOOLS=1` turns their absence into a failure).
    pub(crate) async fn start(scrape_configs: &str, hold: &str) -> Option<Stack> {
        let (Some(prometheus), Some(alertmanager)) =
            (tool("prometheus"), tool("prometheus-alertmanager"))
        else {
            return None;
        };
        let receiver = Receiver::default();
        let receiver_addr = receiver.start().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let am_port = free_port();
        let am_addr: SocketAddr = format!("127.0.0.1:{am_port}").parse().expect("addr");
        std::fs::write(
            dir.path().join("alertmanager.yml"),
            alertmanager_for_test(receiver_addr),
        )
        .expect("write");
        let am = Daemon::spawn(
            "alertmanager",
            &alertmanager,
            &[
                format!(
                    "--config.file={}",
                    dir.path().join("alertmanager.yml").display()
                ),
                format!("--storage.path={}", dir.path().join("am-data").display()),
                format!("--web.listen-address=127.0.0.1:{am_port}"),
                "--cluster.listen-address=".into(),
            ],
            dir.path(),
        );
        let prom_port = free_port();
        let prom_addr: SocketAddr = format!("127.0.0.1:{prom_port}").parse().expect("addr");
        std::fs::write(dir.path().join("rules.yml"), rules_for_test(hold)).expect("write");
        let prom_config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"127.0.0.1:{am_port}\"]\n{scrape_configs}"
        );
        std::fs::write(dir.path().join("prometheus.yml"), prom_config).expect("write");
        let prom = Daemon::spawn(
            "prometheus",
            &prometheus,
            &[
                format!(
                    "--config.file={}",
                    dir.path().join("prometheus.yml").display()
                ),
                format!(
                    "--storage.tsdb.path={}",
                    dir.path().join("prom-data").display()
                ),
                format!("--web.listen-address=127.0.0.1:{prom_port}"),
                "--rules.alert.resend-delay=1s".into(),
            ],
            dir.path(),
        );
        let stack = Stack {
            prom,
            am,
            prom_addr,
            am_addr,
            receiver,
            _dir: dir,
        };
        wait_for(
            "Alertmanager to be ready",
            Duration::from_secs(30),
            &stack.daemons(),
            || async {
                tokio::net::TcpStream::connect(am_addr).await.ok()?;
                let (status, _) = request(am_addr, "GET", "/-/ready", &[]).await;
                (status == 200).then_some(())
            },
        )
        .await;
        Some(stack)
    }

    pub(crate) fn daemons(&self) -> [&dyn Log; 2] {
        [&self.prom, &self.am]
    }

    /// The result of an instant query (empty on an error).
    pub(crate) async fn query(&self, expr: &str) -> Vec<Value> {
        let path = format!("/api/v1/query?query={}", encode(expr));
        get_json(self.prom_addr, &path)
            .await
            .and_then(|v| v["data"]["result"].as_array().cloned())
            .unwrap_or_default()
    }
}

async fn page_inhibit_resolve(pattern: Pattern) {
    let world = World::new().await;
    let rows = three_rows(&world).await;
    // One scrape for all as on a VM (the link follows the scraped address); one per target as the
    // compose and Kubernetes files run it, told the address people use (`--web.external-url`).
    let exporter = match pattern {
        Pattern::AllTargets => Exporter::start(&rows.config).await,
        Pattern::PerTarget => Exporter::start_with_external_url(&rows.config).await,
    };
    let Some(stack) = Stack::start(
        &readme_scrape_configs(pattern, exporter.addr, &["sse", "amp", "threatgrid"]),
        "3s",
    )
    .await
    else {
        return;
    };
    let (prom_addr, am_addr, receiver) = (stack.prom_addr, stack.am_addr, &stack.receiver);
    let daemons = stack.daemons();
    let started = std::time::SystemTime::now();

    // Everything healthy first: both jobs up, every row Success.
    wait_for(
        "Prometheus to scrape every row as Success",
        Duration::from_secs(60),
        &daemons,
        || async {
            let v = get_json(
                prom_addr,
                "/api/v1/query?query=count(firepower_cloud_service_success%3D%3D1)",
            )
            .await?;
            (v["data"]["result"][0]["value"][1] == "3").then_some(())
        },
    )
    .await;
    // The alert path itself: the always-firing watchdog reaches its own receiver.
    wait_for(
        "the watchdog at its receiver",
        Duration::from_secs(60),
        &daemons,
        || async { receiver.find("/watchdog", "firing", "FirepowerCloudWatchdog", None) },
    )
    .await;
    // Break the SSE host's DNS: the replica pages with the reason, the DNS alert opens a ticket,
    // and nothing else of that target fires: its later stages did not run.
    world.dns.set("api-sse.cisco.com", Answer::NxDomain);
    let page = wait_for(
        "the replica alert at the pager receiver",
        Duration::from_secs(90),
        &daemons,
        || async {
            receiver.find(
                "/pager",
                "firing",
                "FirepowerCiscoCloudConfigurationFailure",
                None,
            )
        },
    )
    .await;
    let annotations = &page.2["annotations"];
    assert_eq!(annotations["reason"], "dns_nxdomain", "{page:#?}");
    // The first line says it all: the row, the reason, the evidence (which resolver answered
    // what) and the team that owns the fix.
    let summary = annotations["summary"].as_str().unwrap_or_default();
    assert!(
        summary.starts_with(&format!(
            "Threat Data Updates on Devices: Cisco Cloud Configuration: Failure: dns_nxdomain, api-sse.cisco.com: NXDOMAIN from {}",
            world.dns.addr
        )) && summary.ends_with("; fix: DNS"),
        "{summary}"
    );
    // What changed since the last success, while every row was healthy.
    assert!(
        annotations["changed"]
            .as_str()
            .is_some_and(|c| c.starts_with("Since the last success at ")
                && c.ends_with(": dns passed then and fails now")),
        "{annotations}"
    );
    assert_eq!(
        annotations["evidence"],
        format!("api-sse.cisco.com: NXDOMAIN from {}", world.dns.addr),
        "{annotations}"
    );
    assert_eq!(annotations["failing_target"], "sse");
    assert_eq!(annotations["failing_stage"], "dns");
    assert_eq!(
        annotations["failing_targets"], "1 of 1 targets fail: sse at dns (dns_nxdomain)",
        "{annotations}"
    );
    assert!(
        annotations["remedy"]
            .as_str()
            .unwrap_or_default()
            .contains("forwarders"),
        "{annotations}"
    );
    assert!(
        annotations["runbook_url"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/runbook#firepowerciscocloudconfigurationfailure")
    );
    // The runbook link opens, on the exporter, at the alert's own section.
    let link = annotations["runbook_url"].as_str().unwrap_or_default();
    let (base, anchor) = link.split_once('#').expect("an anchor");
    let expected = match pattern {
        Pattern::AllTargets => format!("http://{}", exporter.addr),
        Pattern::PerTarget => format!("http://localhost:{}", exporter.addr.port()),
    };
    let path = base
        .strip_prefix(&expected)
        .unwrap_or_else(|| panic!("the runbook link leads elsewhere than {expected}: {link}"));
    let (status, runbook) = request(exporter.addr, "GET", path, &[]).await;
    assert_eq!(status, 200, "{link}");
    assert!(
        runbook.contains(&format!("id=\"{anchor}\"")),
        "{link}: no section {anchor}"
    );
    assert_eq!(page.2["labels"]["severity"], "critical");
    // Routable to the team that owns the fix.
    assert_eq!(page.2["labels"]["owner"], "dns", "{page:#?}");
    if let Pattern::PerTarget = pattern {
        assert_eq!(page.2["labels"]["row_target"], "sse", "{page:#?}");
    }

    let ticket = wait_for(
        "the DNS alert at the tickets receiver",
        Duration::from_secs(60),
        &daemons,
        || async {
            receiver.find(
                "/tickets",
                "firing",
                "FirepowerCloudDnsFailure",
                Some(("target", "sse")),
            )
        },
    )
    .await;
    assert_eq!(ticket.2["labels"]["owner"], "dns", "{ticket:#?}");
    // Only DNS-caused alerts: the stages DNS left unrun have no failure series, so their alerts are
    // neither pending nor firing in Prometheus itself (before any inhibition in Alertmanager),
    // at the moment the DNS alert, with the same `for:`, fires.
    let alerts = stack.query("ALERTS{target=\"sse\"}").await;
    let not_dns: Vec<String> = alerts
        .iter()
        .filter(|a| a["metric"]["alertname"] != "FirepowerCloudDnsFailure")
        .filter_map(|a| {
            let m = &a["metric"];
            let reason = m["reason"].as_str().unwrap_or_default();
            (!reason.starts_with("dns_")).then(|| format!("{m}"))
        })
        .collect();
    assert!(
        not_dns.is_empty(),
        "alerts not caused by DNS while only DNS fails: {not_dns:#?}"
    );
    let inhibited = get_json(
        am_addr,
        "/api/v2/alerts?inhibited=true&active=false&silenced=false",
    )
    .await
    .unwrap_or_default();
    assert!(
        inhibited
            .as_array()
            .is_none_or(|a| a.iter().all(|a| a["labels"]["target"] != "sse")),
        "nothing of sse needed inhibiting: {inhibited:#}"
    );
    for (path, _, alert) in receiver.alerts() {
        let name = alert["labels"]["alertname"].as_str().unwrap_or_default();
        assert!(
            !(alert["labels"]["target"] == "sse"
                && [
                    "FirepowerCloudTcpUnreachable",
                    "FirepowerCloudTlsFailure",
                    "FirepowerCloudHttpsFailure",
                    "FirepowerCloudClockSkew"
                ]
                .contains(&name)),
            "{name} reached {path} although only DNS fails"
        );
    }

    // Every dashboard query returns data while a failure is in the window.
    check_dashboards(
        prom_addr,
        started,
        &daemons,
        ".*",
        false,
        Panels::AllBut { fmc: false },
    )
    .await;

    // Heal: the page resolves.
    world.dns.set(
        "api-sse.cisco.com",
        Answer::Cname("api-sse.cisco.com.akadns.test".into()),
    );
    wait_for(
        "the replica alert to resolve at the pager receiver",
        Duration::from_secs(90),
        &daemons,
        || async {
            receiver.find(
                "/pager",
                "resolved",
                "FirepowerCiscoCloudConfigurationFailure",
                None,
            )
        },
    )
    .await;
    drop(exporter);
}

/// Runs every panel query of every dashboard (and every variable query) against Prometheus with
/// the variables set to "All" and `$site` to `site` (a regex); fails on an error or an empty
/// result. `sites` says whether the series carry a site label (the `$site` variable has values);
/// `fmc` whether the exporter reads a management center (its panels have data only then).
/// Which panel queries a stack has data for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Panels {
    /// Every panel but the path trace's (no routed path to trace), and the FMC's when `fmc`.
    AllBut { fmc: bool },
    /// The path trace's only (a namespace lab with a traced path): where the path ends and its
    /// last hop, and with `mtu` the hop after which the MTU drops, which exists only after a
    /// path-MTU black hole (paths.rs's MTU lab).
    PathTrace { mtu: bool },
}

pub(crate) async fn check_dashboards(
    prom: SocketAddr,
    since: std::time::SystemTime,
    daemons: &[&dyn Log],
    site: &str,
    sites: bool,
    panels_of: Panels,
) {
    let start = since
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let mut checked = 0;
    for file in dashboard_files() {
        let d = load(&file);
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        for panel in panels(&d) {
            let title = panel["title"].as_str().unwrap_or_default().to_string();
            for target in panel["targets"].as_array().cloned().unwrap_or_default() {
                let expr = substitute(target["expr"].as_str().unwrap_or_default(), site);
                let path = expr.contains("firepower_cloud_path_");
                let wanted = match panels_of {
                    Panels::AllBut { fmc } => {
                        !path && (fmc || !expr.contains("firepower_cloud_fmc_"))
                    }
                    Panels::PathTrace { mtu } => {
                        path && (mtu || !expr.contains("firepower_cloud_path_mtu_drop_hop"))
                    }
                };
                if !wanted {
                    continue;
                }
                let instant = target["instant"] == true;
                let what = format!("{name} / {title}: `{expr}`");
                let result = wait_for(
                    &format!("data for {what}"),
                    Duration::from_secs(20),
                    daemons,
                    || {
                        let expr = expr.clone();
                        async move {
                            let now = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .ok()?
                                .as_secs();
                            let q = encode(&expr);
                            let path = if instant {
                                format!("/api/v1/query?query={q}")
                            } else {
                                format!(
                                    "/api/v1/query_range?query={q}&start={start}&end={now}&step=1"
                                )
                            };
                            let (status, body) = request(prom, "GET", &path, &[]).await;
                            assert_eq!(status, 200, "{expr}: {body}");
                            let v: Value = serde_json::from_str(&body).ok()?;
                            assert_eq!(v["status"], "success", "{expr}: {body}");
                            let result = v["data"]["result"].as_array()?.clone();
                            (!result.is_empty()).then_some(result)
                        }
                    },
                )
                .await;
                assert!(!result.is_empty());
                checked += 1;
            }
        }
        if let Panels::PathTrace { .. } = panels_of {
            continue;
        }
        for var in d["templating"]["list"]
            .as_array()
            .cloned()
            .unwrap_or_default()
        {
            let Some(query) = var["query"]["query"].as_str() else {
                continue;
            };
            let inner = query
                .strip_prefix("label_values(")
                .and_then(|q| q.strip_suffix(')'))
                .expect("label_values query");
            let (selector, label) = inner.rsplit_once(", ").expect("selector and label");
            if var["name"] == "site" && !sites {
                continue;
            }
            let selector = substitute(selector, site);
            let path = format!(
                "/api/v1/label/{label}/values?match[]={}&start={start}",
                encode(&selector)
            );
            let v = get_json(prom, &path)
                .await
                .unwrap_or_else(|| panic!("{name}: variable {query}"));
            assert!(
                v["data"].as_array().is_some_and(|a| !a.is_empty()),
                "{name}: variable ${} has no values ({query})",
                var["name"]
            );
        }
    }
    let least = match panels_of {
        Panels::PathTrace { mtu: false } => 2,
        Panels::PathTrace { mtu: true } => 3,
        Panels::AllBut { .. } => 30,
    };
    assert!(checked >= least, "only {checked} queries checked");
    eprintln!("dashboards: {checked} panel queries returned data");
}

/// Grafana's variables as the "All" option, and its interval macros.
fn substitute(expr: &str, site: &str) -> String {
    expr.replace("$__rate_interval", "10s")
        .replace("$site", site)
        .replace("$job", ".+")
        .replace("$instance", ".+")
        .replace("$target", ".+")
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// A site's Prometheus with the shipped rules (recorded series, the always-firing watchdog in
/// `ALERTS`), read through `/federate` with the `match[]` of `deploy/many-sites/federation.yml`:
/// the raw series of the exporter come through, its recorded series and `ALERTS` do not (the
/// central Prometheus makes them again from the raw ones; federated, they would be duplicates).
#[tokio::test]
async fn federation_as_shipped_carries_raw_series_and_no_recorded_ones_or_alerts() {
    let world = World::new().await;
    let rows = three_rows(&world).await;
    let exporter = Exporter::start(&rows.config).await;
    let Some(stack) = Stack::start(
        &readme_scrape_configs(
            Pattern::AllTargets,
            exporter.addr,
            &["sse", "amp", "threatgrid"],
        ),
        "1s",
    )
    .await
    else {
        return;
    };
    let daemons = stack.daemons();
    wait_for(
        "recorded series and the watchdog at the site",
        Duration::from_secs(60),
        &daemons,
        || async {
            let recorded = stack.query("firepower_cloud:up").await;
            let alerts = stack
                .query("ALERTS{alertname=\"FirepowerCloudWatchdog\"}")
                .await;
            (!recorded.is_empty() && !alerts.is_empty()).then_some(())
        },
    )
    .await;
    let federation: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/many-sites/federation.yml"),
        )
        .expect("federation.yml"),
    )
    .expect("YAML");
    let matches = federation["scrape_configs"][0]["params"]["match[]"]
        .as_sequence()
        .expect("match[]")
        .iter()
        .filter_map(|m| m.as_str())
        .map(|m| format!("match[]={}", encode(m)))
        .collect::<Vec<_>>()
        .join("&");
    let (status, body) =
        request(stack.prom_addr, "GET", &format!("/federate?{matches}"), &[]).await;
    assert_eq!(status, 200, "{body}");
    let names: std::collections::BTreeSet<&str> = body
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    assert!(
        names.contains("firepower_cloud_service_success") && names.contains("up"),
        "raw series federated: {names:?}"
    );
    let duplicated: Vec<&&str> = names
        .iter()
        .filter(|n| n.contains(':') || n.starts_with("ALERTS"))
        .collect();
    assert!(duplicated.is_empty(), "federated again: {duplicated:?}");
}
