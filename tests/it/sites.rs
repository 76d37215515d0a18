//! Many sites, one view: two exporters ("site a" and "site b", with the same `instance` on
//! purpose), each scraped by its own Prometheus in agent mode with `external_labels.site`, both
//! remote-writing to one central Prometheus that holds the shipped rules and sends to a real
//! Alertmanager with the shipped example configuration. One site's outage pages for that site
//! only, never silences or merges with the other's alerts, and heals; every dashboard query
//! returns data for each site and for both.

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

use crate::World;
use crate::docs::tool;
use crate::e2e::{
    Daemon, Receiver, alertmanager_for_test, check_dashboards, free_port, get_json, rules_for_test,
    three_rows, wait_for,
};
use crate::util::{Answer, Behaviour, Exporter};

/// The `instance` both sites' exporters get, as the compose and Kubernetes defaults give them.
const SAME_INSTANCE: &str = "exporter:10027";

fn agent_config(site: &str, exporter: SocketAddr, central: SocketAddr) -> String {
    let relabel = format!(
        "    relabel_configs:\n      - target_label: instance\n        replacement: \"{SAME_INSTANCE}\"\n"
    );
    format!(
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  external_labels:\n    site: {site}\nscrape_configs:\n  - job_name: firepower-cloud\n    metrics_path: /probe\n    static_configs:\n      - targets: [\"{exporter}\"]\n{relabel}  - job_name: firepower-cloud-exporter\n    static_configs:\n      - targets: [\"{exporter}\"]\n{relabel}remote_write:\n  - url: http://{central}/api/v1/write\n    queue_config:\n      batch_send_deadline: 1s\n"
    )
}

fn alerts_of<'a>(alerts: &'a [(String, String, Value)], site: &str) -> Vec<&'a Value> {
    alerts
        .iter()
        .filter(|(_, _, a)| a["labels"]["site"] == site)
        .map(|(_, _, a)| a)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sites_page_separately_and_never_silence_each_other() {
    let (Some(prometheus), Some(alertmanager)) =
        (tool("prometheus"), tool("prometheus-alertmanager"))
    else {
        return;
    };
    let (site_a, site_b) = (World::new().await, World::new().await);
    let mut exporters = Vec::new();
    let mut rows = Vec::new();
    for world in [&site_a, &site_b] {
        // Each site probes the same targets as the single-site end-to-end test.
        let site = three_rows(world).await;
        exporters.push(Exporter::start(&site.config).await);
        rows.push(site);
    }

    let receiver = Receiver::default();
    let receiver_addr = receiver.start().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name).display().to_string();
    let am_port = free_port();
    let am_addr: SocketAddr = format!("127.0.0.1:{am_port}").parse().expect("addr");
    std::fs::write(
        path("alertmanager.yml"),
        alertmanager_for_test(receiver_addr),
    )
    .expect("write");
    let am = Daemon::spawn(
        "alertmanager",
        &alertmanager,
        &[
            format!("--config.file={}", path("alertmanager.yml")),
            format!("--storage.path={}", path("am-data")),
            format!("--web.listen-address=127.0.0.1:{am_port}"),
            "--cluster.listen-address=".into(),
        ],
        dir.path(),
    );
    let central_port = free_port();
    let central: SocketAddr = format!("127.0.0.1:{central_port}").parse().expect("addr");
    std::fs::write(path("rules.yml"), rules_for_test("3s")).expect("write");
    std::fs::write(
        path("central.yml"),
        format!(
            "global:\n  evaluation_interval: 1s\nrule_files: [rules.yml]\nalerting:\n  alertmanagers:\n    - static_configs:\n        - targets: [\"127.0.0.1:{am_port}\"]\n"
        ),
    )
    .expect("write");
    let central_prom = Daemon::spawn(
        "central",
        &prometheus,
        &[
            format!("--config.file={}", path("central.yml")),
            format!("--storage.tsdb.path={}", path("central-data")),
            format!("--web.listen-address=127.0.0.1:{central_port}"),
            "--web.enable-remote-write-receiver".into(),
            "--rules.alert.resend-delay=1s".into(),
        ],
        dir.path(),
    );
    let mut agents = Vec::new();
    for (site, exporter) in ["a", "b"].into_iter().zip(&exporters) {
        let file = format!("agent-{site}.yml");
        std::fs::write(path(&file), agent_config(site, exporter.addr, central)).expect("write");
        agents.push(Daemon::spawn(
            if site == "a" { "agent-a" } else { "agent-b" },
            &prometheus,
            &[
                "--enable-feature=agent".into(),
                format!("--config.file={}", path(&file)),
                format!(
                    "--storage.agent.path={}",
                    path(&format!("agent-{site}-data"))
                ),
                format!("--web.listen-address=127.0.0.1:{}", free_port()),
            ],
            dir.path(),
        ));
    }
    let daemons: [&dyn firepower_cloud_testkit::exporter::Log; 4] =
        [&central_prom, &am, &agents[0], &agents[1]];
    let started = std::time::SystemTime::now();

    wait_for(
        "the central Prometheus to hold both sites' three rows as Success",
        Duration::from_secs(90),
        &daemons,
        || async {
            let v = get_json(
                central,
                "/api/v1/query?query=count%20by%20(instance)%20(firepower_cloud_service_success%3D%3D1)",
            )
            .await?;
            let result = v["data"]["result"].as_array()?;
            (result.len() == 1
                && result[0]["metric"]["instance"] == SAME_INSTANCE
                && result[0]["value"][1] == "6")
                .then_some(())
        },
    )
    .await;

    // Site a loses DNS; site b's TLS stalls. Both rows fail, each for its own reason.
    site_a.dns.set("api-sse.cisco.com", Answer::NxDomain);
    rows[1].sse.set(Behaviour::Stall);
    let pages = wait_for(
        "a page for each site",
        Duration::from_secs(90),
        &daemons,
        || async {
            let page = |site| {
                receiver.find(
                    "/pager",
                    "firing",
                    "FirepowerCiscoCloudConfigurationFailure",
                    Some(("site", site)),
                )
            };
            Some((page("a")?, page("b")?))
        },
    )
    .await;
    assert_eq!(
        pages.0.2["annotations"]["reason"], "dns_nxdomain",
        "{pages:#?}"
    );
    assert_eq!(
        pages.1.2["annotations"]["reason"], "tls_timeout",
        "{pages:#?}"
    );
    assert!(
        pages.0.2["annotations"]["description"]
            .as_str()
            .is_some_and(|d| d.contains("at site a")),
        "{pages:#?}"
    );
    // The first alert of each site's page says it all: the site, the row, the reason, the
    // evidence (the resolver and its answer; the name whose handshake stalled) and the team.
    for (path, notification) in receiver.notifications() {
        let first = &notification["alerts"][0];
        if path != "/pager"
            || first["labels"]["alertname"] != "FirepowerCiscoCloudConfigurationFailure"
        {
            continue;
        }
        let summary = first["annotations"]["summary"].as_str().unwrap_or_default();
        let expected = match first["labels"]["site"].as_str() {
            Some("a") => [
                "Site a: Threat Data Updates on Devices: Cisco Cloud Configuration: Failure: dns_nxdomain, api-sse.cisco.com: NXDOMAIN from 127.0.0.1:",
                "; fix: DNS",
            ],
            _ => [
                "Site b: Threat Data Updates on Devices: Cisco Cloud Configuration: Failure: tls_timeout, tls/",
                "; fix: PKI / TLS inspection",
            ],
        };
        assert!(
            summary.starts_with(expected[0]) && summary.ends_with(expected[1]),
            "{summary}"
        );
    }
    // Site b's TLS alert is not inhibited by site a's DNS alert: it reaches the tickets receiver.
    wait_for(
        "site b's TLS alert at the tickets receiver",
        Duration::from_secs(60),
        &daemons,
        || async {
            receiver.find(
                "/tickets",
                "firing",
                "FirepowerCloudTlsFailure",
                Some(("site", "b")),
            )
        },
    )
    .await;
    // Only what failed fires, with no inhibition needed: site a's DNS outage fires its DNS alert
    // and no TCP, TLS or HTTPS alert (those stages did not run), site b's TLS timeout fires its
    // TLS alert and no HTTPS alert. Read from the central Prometheus itself, before Alertmanager.
    let firing = |site: &'static str| async move {
        let query = format!("ALERTS{{site=\"{site}\",target=\"sse\"}}");
        let path = format!(
            "/api/v1/query?query={}",
            url::form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        );
        get_json(central, &path)
            .await
            .and_then(|v| v["data"]["result"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|a| a["metric"]["alertname"].as_str().map(str::to_string))
            .collect::<std::collections::BTreeSet<String>>()
    };
    assert_eq!(
        firing("a").await,
        ["FirepowerCloudDnsFailure".to_string()].into(),
        "site a: only the DNS alert"
    );
    assert_eq!(
        firing("b").await,
        ["FirepowerCloudTlsFailure".to_string()].into(),
        "site b: only the TLS alert"
    );
    // No notification mixes the two sites.
    for (path, notification) in receiver.notifications() {
        let sites: std::collections::BTreeSet<String> = notification["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| a["labels"]["site"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(
            sites.len() <= 1,
            "{path}: one notification for sites {sites:?}"
        );
    }
    assert!(
        alerts_of(&receiver.alerts(), "").is_empty(),
        "every alert names its site"
    );

    // Every dashboard query returns data for each site and for both.
    for site in ["a", "b", "a|b"] {
        check_dashboards(
            central,
            started,
            &daemons,
            site,
            true,
            crate::e2e::Panels::AllBut { fmc: false },
        )
        .await;
    }

    // Site a heals: its page resolves; site b's stays firing.
    site_a.dns.set(
        "api-sse.cisco.com",
        Answer::Cname("api-sse.cisco.com.akadns.test".into()),
    );
    wait_for(
        "site a's page to resolve",
        Duration::from_secs(90),
        &daemons,
        || async {
            receiver.find(
                "/pager",
                "resolved",
                "FirepowerCiscoCloudConfigurationFailure",
                Some(("site", "a")),
            )
        },
    )
    .await;
    assert!(
        receiver
            .find(
                "/pager",
                "resolved",
                "FirepowerCiscoCloudConfigurationFailure",
                Some(("site", "b"))
            )
            .is_none(),
        "site b's page must stay open"
    );

    // Site a's exporter goes away: its ExporterDown alert inhibits what is below it at site a
    // only. Both sites' exporters have the same `instance`, so only `site` in the inhibition's
    // `equal` keeps site b's alerts from being silenced.
    drop(exporters.remove(0));
    let down = wait_for(
        "site a's ExporterDown active in Alertmanager",
        Duration::from_secs(60),
        &daemons,
        || async {
            let alerts = get_json(am_addr, "/api/v2/alerts?active=true&inhibited=true").await?;
            let alerts = alerts.as_array()?.clone();
            alerts
                .iter()
                .any(|a| {
                    a["labels"]["alertname"] == "FirepowerCloudExporterDown"
                        && a["labels"]["site"] == "a"
                })
                .then_some(alerts)
        },
    )
    .await;
    let of_b: Vec<&Value> = down.iter().filter(|a| a["labels"]["site"] == "b").collect();
    assert!(
        of_b.iter()
            .any(|a| a["labels"]["alertname"] == "FirepowerCloudTlsFailure"),
        "site b's TLS alert is still active: {of_b:#?}"
    );
    for a in &of_b {
        assert!(
            a["status"]["inhibitedBy"]
                .as_array()
                .is_none_or(Vec::is_empty),
            "site b's {} silenced by site a's exporter going away: {a:#}",
            a["labels"]["alertname"]
        );
    }
    drop(exporters);
}
