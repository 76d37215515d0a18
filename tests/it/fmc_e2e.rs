//! End to end with the management center: the exporter reads the kit's fake FMC beside three
//! healthy rows, a real Prometheus scrapes it as the README configures it, the shipped rules run
//! and a real Alertmanager with the shipped example routes the alerts. The FMC saying Cisco Cloud
//! Configuration fails while every network stage succeeds pages "not the path" with its runbook;
//! a broken path then pages the row's own alert instead (the two never page together); and the
//! FMC saying cloud integration is off turns the rows disabled, so nothing pages although the path
//! is still broken. Every dashboard query, the FMC's panels included, returns data. The same runs
//! for an on-premises FMC (user and password) and a cloud-delivered one (API token).

use std::time::Duration;

use firepower_cloud_testkit::fmc::FakeFmc;

use crate::World;
use crate::e2e::{Pattern, Stack, check_dashboards, readme_scrape_configs, three_rows, wait_for};
use crate::util::{Answer, Exporter};

/// How the exporter reads the management center.
#[derive(Clone, Copy)]
enum Kind {
    /// On premises: a user and a password, `generatetoken`.
    OnPremises,
    /// Cloud-delivered (Security Cloud Control): an API token from a file, as a bearer.
    CloudDelivered,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fmc_failing_while_the_path_is_healthy_pages_not_the_path_and_integration_off_pages_nothing()
 {
    fmc_end_to_end(Kind::OnPremises).await;
}

/// The same path with a cloud-delivered FMC: its series are those of an on-premises one, so the
/// same alerts page and the same dashboard panels show its status.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cloud_delivered_fmc_pages_and_shows_as_an_on_premises_one() {
    fmc_end_to_end(Kind::CloudDelivered).await;
}

async fn fmc_end_to_end(kind: Kind) {
    let world = World::new().await;
    let rows = three_rows(&world).await;
    let mut fleet = crate::fmc::fleet();
    let secret = world.dir.path().join("fmc-secret");
    let credentials = match kind {
        Kind::OnPremises => {
            std::fs::write(&secret, "s3cret-FMC-pa55\n").expect("write");
            format!(
                "  username: prometheus-ro\n  password_file: {}\n",
                secret.display()
            )
        }
        Kind::CloudDelivered => {
            fleet.api_token = Some("cdfmc-api-token-e2e".into());
            std::fs::write(&secret, "cdfmc-api-token-e2e\n").expect("write");
            format!("  token_file: {}\n", secret.display())
        }
    };
    let fmc = FakeFmc::start(world.pki.leaf(&["127.0.0.1"]), fleet).await;
    // Four requests a poll: every 5 s stays inside the client's 60 requests a minute, so no poll
    // waits for the rate budget (at 1 s, the budget ran out within the minute and a poll stalled).
    let config = format!(
        "fmc:\n  url: {}\n{credentials}  ca_file: {}\n  poll_interval: 5s\n{}",
        fmc.url(),
        world.pki.ca_file.display(),
        rows.config
    );
    let exporter = Exporter::start(&config).await;
    let Some(stack) = Stack::start(
        &readme_scrape_configs(Pattern::AllTargets, exporter.addr, &[]),
        "3s",
    )
    .await
    else {
        return;
    };
    let daemons = stack.daemons();
    let started = std::time::SystemTime::now();

    // The FMC says Failure on ftd-01, every row succeeds from here: "not the path" pages.
    let page = wait_for(
        "the not-the-path alert at the pager receiver",
        Duration::from_secs(90),
        &daemons,
        || async {
            stack.receiver.find(
                "/pager",
                "firing",
                "FirepowerFmcCloudConfigurationNotThePath",
                None,
            )
        },
    )
    .await;
    let alert = &page.2;
    assert_eq!(alert["labels"]["device"], "ftd-01", "{alert:#}");
    assert_eq!(alert["labels"]["severity"], "critical");
    assert_eq!(alert["labels"]["row"], "cisco_cloud_configuration");
    assert!(
        alert["annotations"]["runbook_url"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/runbook#firepowerfmccloudconfigurationnotthepath"),
        "{alert:#}"
    );
    assert!(
        alert["annotations"]["description"]
            .as_str()
            .unwrap_or_default()
            .contains("Security Services Exchange"),
        "{alert:#}"
    );
    assert!(
        stack
            .receiver
            .find(
                "/pager",
                "firing",
                "FirepowerFmcCloudConfigurationNotThePath",
                Some(("device", "ftd-02"))
            )
            .is_none(),
        "the green device does not page"
    );

    // The path breaks: the row's own alert pages with the network's reason, and "not the path"
    // resolves (the two never page together). Every dashboard query has data now.
    world.dns.set("api-sse.cisco.com", Answer::NxDomain);
    for (status, alertname) in [
        ("firing", "FirepowerCiscoCloudConfigurationFailure"),
        ("resolved", "FirepowerFmcCloudConfigurationNotThePath"),
    ] {
        wait_for(
            &format!("{alertname} {status} at the pager receiver"),
            Duration::from_secs(60),
            &daemons,
            || async { stack.receiver.find("/pager", status, alertname, None) },
        )
        .await;
    }
    check_dashboards(
        stack.prom_addr,
        started,
        &daemons,
        ".*",
        false,
        crate::e2e::Panels::AllBut { fmc: true },
    )
    .await;

    // The FMC says cloud integration is off: the rows read disabled, the row alert resolves,
    // and nothing pages although the path is still broken.
    fmc.set(|w| {
        w.securex_enabled = Some(false);
        w.cloud_events = Some(false);
    });
    wait_for(
        "every row disabled in Prometheus",
        Duration::from_secs(60),
        &daemons,
        || async {
            let disabled = stack
                .query("count(firepower_cloud_service_status{status=\"disabled\"} == 1)")
                .await;
            (disabled.first().map(|r| r["value"][1].clone()) == Some("3".into())).then_some(())
        },
    )
    .await;
    wait_for(
        "the row alert to resolve",
        Duration::from_secs(60),
        &daemons,
        || async {
            stack.receiver.find(
                "/pager",
                "resolved",
                "FirepowerCiscoCloudConfigurationFailure",
                None,
            )
        },
    )
    .await;
    let paged = |receiver: &crate::e2e::Receiver| {
        receiver
            .alerts()
            .into_iter()
            .filter(|(path, status, _)| path == "/pager" && status == "firing")
            .count()
    };
    let before = paged(&stack.receiver);
    // Longer than `for:` (3 s) plus group_wait: a page would have been sent by now.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let critical = stack.query("ALERTS{severity=\"critical\"}").await;
    assert!(
        critical.is_empty(),
        "nothing pages while the FMC says integration is off: {critical:#?}"
    );
    assert_eq!(paged(&stack.receiver), before, "no page after the switch");
    let (_, page) = exporter.get("/").await;
    assert!(
        page.contains("Cloud integration is disabled, as the management center says"),
        "{page}"
    );
    let seen = fmc.seen();
    match kind {
        Kind::OnPremises => assert!(seen.logins > 0 && seen.bearer_requests == 0, "{seen:#?}"),
        Kind::CloudDelivered => assert!(
            seen.logins + seen.failed_logins == 0 && seen.bearer_requests > 0,
            "read with the API token alone: {seen:#?}"
        ),
    }
    drop(exporter);
}
