//! The management center's own verdict beside the network's: the exporter reads a fake FMC REST
//! API (the kit's, following Cisco's specification, over HTTPS with an rcgen certificate) in the
//! background, and its metrics, status page and `check` show what the FMC says next to what the
//! probes found. Each behaviour of the API (tokens that expire mid-poll, refresh exhaustion,
//! 429, a wrong password, a certificate that is not the pinned one, paging, malformed JSON, a
//! 10 MB body) is asserted on the metrics and the page.

use std::path::Path;
use std::time::Duration;

use firepower_cloud_exporter::metrics::names;
use firepower_cloud_testkit::exporter::{ExporterProcess, Log as _, until_metrics};
use firepower_cloud_testkit::fmc::{FakeFmc, FmcWorld};
use tokio::process::Command;

use crate::util::servers::Leaf;
use crate::util::{Answer, Exporter, Exposition, TlsServer};
use crate::{World, healthy_sse, sse_target};

const PASSWORD: &str = "s3cret-FMC-pa55";

/// A world with a healthy api-sse, a fake management center and the configuration text naming
/// both (`extra` goes into the `fmc:` section).
struct Lab {
    world: World,
    fmc: FakeFmc,
    leaf_der: Vec<u8>,
    sse: String,
    _servers: (TlsServer, std::net::SocketAddr),
}

/// Three devices; on ftd-01 the FMC says Cisco Cloud Configuration fails (its AMP connection is
/// fine, its licence warns, its CPU alert is none of the exporter's business); on ftd-02 the row
/// succeeds; ftd-03 has no alert.
pub(crate) fn fleet() -> FmcWorld {
    let mut world = FmcWorld::default();
    world
        .device("d-1", "ftd-01")
        .device("d-2", "ftd-02")
        .device("d-3", "ftd-03")
        .alert(
            "d-1",
            "THREAT_DATA_UPDATES",
            "RED",
            "Cisco Cloud Configuration - Failure",
        )
        .alert(
            "d-2",
            "THREAT_DATA_UPDATES",
            "GREEN",
            "Cisco Cloud Configuration - Success",
        )
        .alert("d-1", "CONN_STATUS_AMP", "GREEN", "Connected to AMP cloud")
        .alert(
            "d-1",
            "SMART_LICENSE",
            "YELLOW",
            "Smart License evaluation period expires in 10 days",
        )
        .alert("d-1", "CPU", "RED", "CPU 99%");
    world
}

impl Lab {
    async fn new(change: impl FnOnce(&mut FmcWorld)) -> Lab {
        let world = World::new().await;
        let (server, plain) = healthy_sse(&world, "api-sse.cisco.com").await;
        let sse = sse_target("sse", "api-sse.cisco.com", server.port(), plain.port());
        let mut fmc_world = fleet();
        change(&mut fmc_world);
        let leaf: Leaf = world.pki.leaf(&["127.0.0.1"]);
        let leaf_der = leaf.chain[0].to_vec();
        let fmc = FakeFmc::start(leaf, fmc_world).await;
        std::fs::write(
            world.dir.path().join("fmc-password"),
            format!("{PASSWORD}\n"),
        )
        .expect("write password");
        Lab {
            world,
            fmc,
            leaf_der,
            sse,
            _servers: (server, plain),
        }
    }

    /// The configuration: the healthy target and an `fmc:` section trusting the test CA.
    fn config(&self, extra: &str) -> String {
        self.config_with_targets(extra, std::slice::from_ref(&self.sse))
    }

    fn config_with_targets(&self, extra: &str, targets: &[String]) -> String {
        let trust = if ["fingerprint_sha256", "ca_file", "insecure_skip_verify"]
            .iter()
            .any(|k| extra.contains(k))
        {
            String::new()
        } else {
            format!("  ca_file: {}\n", self.world.pki.ca_file.display())
        };
        let password_file = if extra.contains("password_file") {
            String::new()
        } else {
            format!(
                "  password_file: {}\n",
                self.world.dir.path().join("fmc-password").display()
            )
        };
        format!(
            "fmc:\n  url: {}\n  username: prometheus-ro\n{password_file}{trust}  poll_interval: 1s\n  timeout: 2s\n{extra}{}",
            self.fmc.url(),
            self.world.config("", targets)
        )
    }
}

/// Scrapes `/metrics` until `done` holds (at most `secs`), and returns that scrape.
async fn until(exporter: &Exporter, secs: u64, done: impl Fn(&Exposition) -> bool) -> Exposition {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let (_, body) = exporter.get("/metrics").await;
        let e = Exposition::parse(&body);
        if done(&e) {
            return e;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not reached within {secs} s; /metrics:\n{body}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A counter's sample name (the encoder appends `_total`).
fn total(name: &str) -> String {
    format!("{name}_total")
}

fn up(e: &Exposition) -> bool {
    e.all(names::FMC_UP, &[])
        .first()
        .is_some_and(|s| s.value == 1.0)
}

/// How many errors of `reason` the exporter met reading the management center.
fn errors(e: &Exposition, reason: &str) -> f64 {
    e.all(
        &format!("{}_total", names::FMC_API_ERRORS),
        &[("reason", reason)],
    )
    .first()
    .map_or(0.0, |s| s.value)
}

fn failed_with(reason: &'static str) -> impl Fn(&Exposition) -> bool {
    move |e| {
        e.all(names::FMC_LAST_ERROR_INFO, &[("reason", reason)])
            .len()
            == 1
    }
}

fn status(e: &Exposition, device: &str, module: &str, row: &str, status: &str) -> f64 {
    e.value(
        names::FMC_HEALTH_STATUS,
        &[
            ("device", device),
            ("fmc_module", module),
            ("row", row),
            ("status", status),
        ],
    )
}

#[tokio::test]
async fn the_fmc_verdict_stands_beside_the_network_verdict() {
    // Two items a page: every list is followed across pages.
    let lab = Lab::new(|w| w.page_size = 2).await;
    let exporter = Exporter::start(&lab.config("")).await;
    let e = until(&exporter, 10, up).await;

    assert_eq!(
        status(
            &e,
            "ftd-01",
            "THREAT_DATA_UPDATES",
            "cisco_cloud_configuration",
            "red"
        ),
        1.0
    );
    assert_eq!(
        status(
            &e,
            "ftd-01",
            "THREAT_DATA_UPDATES",
            "cisco_cloud_configuration",
            "green"
        ),
        0.0
    );
    assert_eq!(
        status(
            &e,
            "ftd-02",
            "THREAT_DATA_UPDATES",
            "cisco_cloud_configuration",
            "green"
        ),
        1.0
    );
    assert_eq!(status(&e, "ftd-01", "CONN_STATUS_AMP", "", "green"), 1.0);
    assert_eq!(status(&e, "ftd-01", "SMART_LICENSE", "", "yellow"), 1.0);
    assert!(
        e.all(names::FMC_HEALTH_STATUS, &[("fmc_module", "CPU")])
            .is_empty(),
        "modules the exporter does not speak for are not read"
    );
    assert_eq!(
        e.label(
            names::FMC_HEALTH_STATUS,
            &[
                ("device", "ftd-01"),
                ("fmc_module", "THREAT_DATA_UPDATES"),
                ("status", "red")
            ],
            "service"
        ),
        "cisco_cloud_configuration"
    );
    assert_eq!(e.value(names::FMC_DEVICES, &[]), 3.0);
    assert_eq!(
        e.value(names::FMC_CLOUD_INTEGRATION, &[("setting", "securex")]),
        1.0
    );
    assert_eq!(
        e.value(&total(names::FMC_AUTHENTICATIONS), &[("kind", "login")]),
        1.0
    );
    assert!(e.value(names::FMC_LAST_SUCCESS, &[]) > 1.7e9);
    assert_eq!(
        e.types.get(names::FMC_HEALTH_STATUS).map(String::as_str),
        Some("gauge")
    );
    assert_eq!(
        e.types
            .get(&total(names::FMC_API_ERRORS))
            .map(String::as_str),
        Some("counter")
    );

    let (_, body) = exporter.get("/metrics").await;
    crate::docs::promtool_check_metrics("/metrics with a management center", &body).await;

    let seen = lab.fmc.seen();
    assert!(
        seen.requests
            .iter()
            .any(|r| r.contains("/devicerecords?") && r.contains("offset=2")),
        "paging.next followed: {:#?}",
        seen.requests
    );
    assert!(
        seen.requests
            .iter()
            .any(|r| r.contains("/health/alerts?") && r.contains("offset=2")),
        "alerts paged too"
    );
    assert_eq!(seen.max_in_flight, 1, "one request at a time");
    assert_eq!(seen.logins, 1);

    let (code, page) = exporter.get("/").await;
    assert_eq!(code, 200);
    assert!(
        page.contains("FMC: Cisco Cloud Configuration — Failure on ftd-01 · network: every stage ok (1 target)"),
        "{page}"
    );
    assert!(page.contains("FMC: Cisco Cloud Configuration — Success on ftd-02"));
    assert!(
        page.contains("Smart License Monitor"),
        "other modules listed"
    );
    assert!(page.contains("Smart License evaluation period expires in 10 days"));
    assert!(
        page.contains("<td>AMP Connection Status</td><td>Success</td>"),
        "and what it says for a row no target stands for here: {page}"
    );
    assert!(page.contains("<h2>Management center</h2>"));
    assert!(page.contains("SecureX integration enabled"));
}

#[tokio::test]
async fn the_network_failure_is_named_beside_the_fmc_failure() {
    let lab = Lab::new(|_| {}).await;
    lab.world.dns.set("api-sse.cisco.com", Answer::NxDomain);
    let exporter = Exporter::start(&lab.config("")).await;
    until(&exporter, 10, up).await;
    let (_, page) = exporter.get("/").await;
    assert!(
        page.contains("FMC: Cisco Cloud Configuration — Failure on ftd-01 · network: api-sse.cisco.com fails at dns_nxdomain"),
        "{page}"
    );
}

#[tokio::test]
async fn a_token_that_expires_mid_poll_is_refreshed_three_times_then_a_new_login() {
    // Each token is good for two requests; a poll makes six (three devices and four alerts at
    // two a page, then the two integration settings): it expires in the middle of every poll.
    let lab = Lab::new(|w| {
        w.page_size = 2;
        w.token_uses = Some(2);
    })
    .await;
    let exporter = Exporter::start(&lab.config("")).await;
    let e = until(&exporter, 20, |e| {
        e.all(&total(names::FMC_AUTHENTICATIONS), &[("kind", "login")])
            .first()
            .is_some_and(|s| s.value >= 2.0)
    })
    .await;
    assert!(up(&e), "every poll still read everything");
    let seen = lab.fmc.seen();
    // Three refreshes per login, never a fourth: the client logs in again instead.
    assert_eq!(seen.refused_refreshes, 0, "{seen:#?}");
    assert!(
        seen.refreshes >= 3 && seen.refreshes <= 3 * seen.logins,
        "{seen:#?}"
    );
    assert!(e.value(&total(names::FMC_AUTHENTICATIONS), &[("kind", "refresh")]) >= 3.0);
    assert!(
        e.value(
            &total(names::FMC_API_ERRORS),
            &[("reason", "token_rejected")]
        ) >= 4.0
    );
    assert_eq!(seen.failed_logins, 0);
}

#[tokio::test]
async fn a_token_refused_even_after_renewal_fails_the_poll_without_a_storm() {
    let lab = Lab::new(|w| w.token_lifetime = Duration::ZERO).await;
    let exporter = Exporter::start(&lab.config("")).await;
    let e = until(&exporter, 10, failed_with("token_rejected")).await;
    assert_eq!(e.value(names::FMC_UP, &[]), 0.0);
    // Five polls that failed the same way.
    let e = until(&exporter, 10, |e| errors(e, "token_rejected") >= 5.0).await;
    let polls = errors(&e, "token_rejected");
    let seen = lab.fmc.seen();
    // Per poll: a login, one refused GET, one renewal (a refresh), one more refused GET.
    assert!(
        seen.rejected_tokens as f64 <= 2.0 * (polls + 1.0),
        "renewed once per poll, not in a loop ({polls} polls): {seen:#?}"
    );
    let (_, page) = exporter.get("/").await;
    assert!(
        page.contains("refused the access token even after renewing it"),
        "{page}"
    );
}

#[tokio::test]
async fn a_burst_of_429_is_waited_out_as_retry_after_says() {
    let lab = Lab::new(|w| {
        w.rate_limit_next = 2;
        w.retry_after_secs = 1;
    })
    .await;
    let started = std::time::Instant::now();
    let exporter = Exporter::start(&lab.config("")).await;
    let e = until(&exporter, 15, up).await;
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "two waits of Retry-After: 1 before the reading"
    );
    assert_eq!(
        e.value(&total(names::FMC_API_ERRORS), &[("reason", "rate_limited")]),
        2.0
    );
    assert_eq!(lab.fmc.seen().rate_limited, 2);
    let (_, page) = exporter.get("/").await;
    assert!(
        page.contains("FMC: Cisco Cloud Configuration — Failure on ftd-01"),
        "{page}"
    );

    // Longer than a poll waits out (two waits): the poll fails as rate_limited; once the
    // management center lets requests through again, the next poll reads.
    lab.fmc.set(|w| w.rate_limit_next = 1000);
    until(&exporter, 15, failed_with("rate_limited")).await;
    let (_, page) = exporter.get("/").await;
    assert!(
        page.contains("rate limited (429) again after waiting"),
        "{page}"
    );
    lab.fmc.set(|w| w.rate_limit_next = 0);
    until(&exporter, 15, up).await;
}

/// A wrong password is tried once, not at every poll: management centers lock a user after a
/// number of failed logins, so the refusal is held back (an hour, or until the password file
/// changes, or a reload) and the page, the metrics and the log say so. Fixing the file recovers
/// at the next poll. The password shows nowhere.
#[tokio::test]
async fn a_wrong_password_is_tried_once_held_back_and_recovers_when_the_file_is_fixed() {
    let lab = Lab::new(|w| w.password = "another-password".into()).await;
    let exporter = Exporter::start(&lab.config("")).await;
    let e = until(&exporter, 10, failed_with("credentials_rejected")).await;
    assert_eq!(e.value(names::FMC_UP, &[]), 0.0);
    assert!(
        e.all(names::FMC_HEALTH_STATUS, &[]).is_empty(),
        "nothing read, nothing said"
    );
    // Six polls' time (poll_interval 1s) after the refusal: still the one login.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let seen = lab.fmc.seen();
    assert_eq!(
        seen.failed_logins, 1,
        "the refused password was tried again: {seen:#?}"
    );
    let (_, metrics) = exporter.get("/metrics").await;
    let e = Exposition::parse(&metrics);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64();
    let held = e.value(names::FMC_LOGIN_HELD_UNTIL, &[]);
    assert!(
        held > now + 3000.0 && held < now + 3700.0,
        "held until {held}, now {now}"
    );
    let mut everything = String::new();
    for path in ["/", "/metrics", "/probe", "/debug"] {
        let (_, body) = exporter.get(path).await;
        everything += &body;
    }
    assert!(
        everything.contains("the management center refused the user"),
        "the reason is on the page"
    );
    assert!(
        everything.contains("not tried again until its file (password or API token) changes"),
        "the page says the login is held back"
    );
    assert!(!everything.contains(PASSWORD), "the password leaked");

    // The operator fixes the file: the next poll logs in with it.
    std::fs::write(
        lab.world.dir.path().join("fmc-password"),
        "another-password\n",
    )
    .expect("fix the password");
    let e = until(&exporter, 5, up).await;
    assert!(e.all(names::FMC_LOGIN_HELD_UNTIL, &[]).is_empty());
    assert_eq!(lab.fmc.seen().failed_logins, 1);
    assert!(lab.fmc.seen().logins >= 1);
}

#[tokio::test]
async fn a_certificate_that_is_not_the_trusted_one_is_refused() {
    let lab = Lab::new(|_| {}).await;
    let other = crate::util::Pki::new(lab.world.dir.path(), "Another CA");
    let wrong_ca =
        Exporter::start(&lab.config(&format!("  ca_file: {}\n", other.ca_file.display()))).await;
    until(&wrong_ca, 10, failed_with("tls")).await;

    let wrong_pin = Exporter::start(&lab.config(&format!(
        "  fingerprint_sha256: \"{}\"\n",
        "AB:".repeat(31) + "CD"
    )))
    .await;
    until(&wrong_pin, 10, failed_with("tls")).await;
    let (_, page) = wrong_pin.get("/").await;
    assert!(
        page.contains("not the configured fingerprint_sha256"),
        "{page}"
    );

    let digest = sha256_hex(&lab.leaf_der);
    let right_pin =
        Exporter::start(&lab.config(&format!("  fingerprint_sha256: \"{digest}\"\n"))).await;
    until(&right_pin, 10, up).await;
    assert_eq!(
        lab.fmc.seen().failed_logins,
        0,
        "no password sent to an untrusted peer"
    );
}

fn sha256_hex(der: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, der)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[tokio::test]
async fn malformed_json_and_a_10_mb_body_fail_the_poll_and_keep_the_last_reading() {
    let lab = Lab::new(|_| {}).await;
    let exporter = Exporter::start(&lab.config("")).await;
    until(&exporter, 10, up).await;

    lab.fmc.set(|w| w.malformed_alerts = true);
    let e = until(&exporter, 10, failed_with("malformed_response")).await;
    assert_eq!(
        status(
            &e,
            "ftd-01",
            "THREAT_DATA_UPDATES",
            "cisco_cloud_configuration",
            "red"
        ),
        1.0,
        "the last reading is served with its age"
    );
    let (code, page) = exporter.get("/").await;
    assert_eq!(code, 200);
    assert!(page.contains("the latest poll failed"), "{page}");

    lab.fmc.set(|w| {
        w.malformed_alerts = false;
        w.huge_alerts = Some(10 << 20);
    });
    until(&exporter, 15, failed_with("response_too_large")).await;
    let (_, page) = exporter.get("/").await;
    assert!(page.contains("the answer is larger than 4 MiB"), "{page}");
    let (code, _) = exporter.get("/probe").await;
    assert_eq!(code, 200, "the scrape never waits on the management center");
}

#[tokio::test]
async fn integration_off_in_the_fmc_turns_the_rows_disabled() {
    let lab = Lab::new(|w| {
        w.securex_enabled = Some(false);
        w.cloud_events = Some(false);
    })
    .await;
    lab.world.dns.set("api-sse.cisco.com", Answer::NxDomain);
    let exporter = Exporter::start(&lab.config("")).await;
    let e = until(&exporter, 10, up).await;
    assert_eq!(
        e.value(names::FMC_CLOUD_INTEGRATION, &[("setting", "securex")]),
        0.0
    );
    let probe = exporter.probe("sse").await;
    assert!(
        probe.all(names::SERVICE_SUCCESS, &[]).is_empty(),
        "no row judged, nothing to page"
    );
    assert_eq!(
        probe.value(
            names::SERVICE_STATUS,
            &[
                ("service", "cisco_cloud_configuration"),
                ("status", "disabled")
            ]
        ),
        1.0
    );
    let (_, page) = exporter.get("/").await;
    assert!(
        page.contains("Cloud integration is disabled, as the management center says (SecureX integration disabled, cloud events not sent)"),
        "{page}"
    );
}

#[tokio::test]
async fn a_domain_and_devices_the_fmc_does_not_know_are_named() {
    let lab = Lab::new(|_| {}).await;
    let branches =
        Exporter::start(&lab.config("  domain: Branches\n  devices: [ftd-02, ftd-99]\n")).await;
    let e = until(&branches, 10, up).await;
    assert_eq!(e.value(names::FMC_DEVICES, &[]), 1.0);
    assert!(
        e.all(names::FMC_HEALTH_STATUS, &[("device", "ftd-01")])
            .is_empty(),
        "only the devices asked for"
    );
    assert_eq!(
        e.value(
            &total(names::FMC_API_ERRORS),
            &[("reason", "device_unknown")]
        ),
        1.0
    );
    let (_, page) = branches.get("/").await;
    assert!(page.contains("does not know: ftd-99"), "{page}");
    assert!(
        lab.fmc
            .seen()
            .requests
            .iter()
            .any(|r| r.contains("b1a2c3d4-0000-1111-2222-333344445555/health/alerts")),
        "the Global/Branches domain's UUID from DOMAINS"
    );

    let lost = Exporter::start(&lab.config("  domain: Lab\n")).await;
    until(&lost, 10, failed_with("domain_unknown")).await;
    let (_, page) = lost.get("/").await;
    assert!(page.contains("no domain `Lab` for this user"), "{page}");
}

#[tokio::test]
async fn a_broken_fmc_section_on_reload_keeps_the_running_reader() {
    let lab = Lab::new(|_| {}).await;
    let exporter = Exporter::start(&lab.config("")).await;
    until(&exporter, 10, up).await;
    std::fs::write(
        &exporter.config_path,
        lab.config("").replace("  username: prometheus-ro\n", ""),
    )
    .expect("rewrite");
    let err = exporter.state.reload().await.expect_err("refused");
    assert!(err.to_string().contains("fmc.username"), "{err}");
    let logins = lab.fmc.seen().logins;
    // Two more polls read after the refused reload (each starts with the device list).
    let polls = || {
        let seen = lab.fmc.seen();
        seen.requests
            .iter()
            .filter(|r| r.contains("devices/devicerecords"))
            .count()
    };
    let before = polls();
    let until_polled = tokio::time::Instant::now() + Duration::from_secs(10);
    while polls() < before + 2 {
        assert!(tokio::time::Instant::now() < until_polled, "no more polls");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let e = until(&exporter, 5, up).await;
    assert_eq!(e.value(names::FMC_UP, &[]), 1.0);
    assert_eq!(
        lab.fmc.seen().logins,
        logins,
        "the same session keeps reading"
    );
}

const BIN: &str = env!("CARGO_BIN_EXE_firepower-cloud-exporter");

#[tokio::test]
async fn check_shows_the_fmc_beside_the_rows_and_never_the_password() {
    let lab = Lab::new(|_| {}).await;
    let good = lab.world.dir.path().join("good.yml");
    std::fs::write(&good, lab.config("")).expect("write");
    let out = Command::new(BIN)
        .args(["check", "--config.file"])
        .arg(&good)
        .args(["--log.level", "debug"])
        .env("NO_COLOR", "1")
        .output()
        .await
        .expect("check ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("Management center: read"), "{stdout}");
    assert!(
        stdout.contains("FMC: Cisco Cloud Configuration — Failure on ftd-01 · network: every stage ok (1 target)"),
        "{stdout}"
    );
    assert!(!stdout.contains(PASSWORD) && !stderr.contains(PASSWORD));
    // The network passes, the FMC says Failure on ftd-01: `--fmc-verdict` makes that fail too.
    let strict = || async {
        Command::new(BIN)
            .args(["check", "--fmc-verdict", "--config.file"])
            .arg(&good)
            .env("NO_COLOR", "1")
            .output()
            .await
            .expect("check ran")
            .status
            .code()
    };
    assert_eq!(
        strict().await,
        Some(1),
        "--fmc-verdict fails on the FMC's red row"
    );
    lab.fmc.set(|w| {
        for alert in &mut w.alerts {
            if alert["status"] == "RED" && alert["moduleID"] == "THREAT_DATA_UPDATES" {
                alert["status"] = "GREEN".into();
                alert["description"] = "Cisco Cloud Configuration - Success".into();
            }
        }
    });
    assert_eq!(strict().await, Some(0), "the FMC's row turned green");
    lab.fmc.set(|w| w.password = "rotated".into());
    assert_eq!(
        strict().await,
        Some(1),
        "an unreadable FMC fails --fmc-verdict"
    );
    let out = Command::new(BIN)
        .args(["check", "--config.file"])
        .arg(&good)
        .args(["--output", "json", "--log.level", "debug"])
        .output()
        .await
        .expect("check ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stdout.contains("refused the user's credentials"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "the password leaked: {stdout}{stderr}"
    );

    let bad = lab.world.dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        lab.config("").replace(
            &format!("url: {}", lab.fmc.url()),
            &format!("url: https://prometheus-ro:{PASSWORD}@127.0.0.1:1"),
        ),
    )
    .expect("write");
    let out = Command::new(BIN)
        .args(["check", "--config.file"])
        .arg(&bad)
        .output()
        .await
        .expect("check ran");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr.contains("fmc.url"), "{stderr}");
    assert!(
        stderr.contains("use `username` and `password_file`"),
        "{stderr}"
    );
    assert!(!stderr.contains(PASSWORD), "{stderr}");
}

#[tokio::test]
async fn the_running_exporter_logs_a_refused_login_once_holds_it_and_never_the_password() {
    let lab = Lab::new(|w| w.password = "rotated-meanwhile".into()).await;
    let file = lab.world.dir.path().join("server.yml");
    std::fs::write(&file, lab.config("")).expect("write");
    let mut exporter = ExporterProcess::start(
        Path::new(BIN),
        &[
            "--config.file",
            &file.display().to_string(),
            "--log.level",
            "debug",
        ],
    )
    .await;
    let addr = exporter.addr;
    until_metrics(addr, "the refused login to show on /metrics", |e| {
        failed_with("credentials_rejected")(e)
    })
    .await;
    let (_, seen) = firepower_cloud_testkit::request(addr, "GET", "/metrics", &[]).await;
    // Three polls' time later: no second login, and the log said why once.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, page) = firepower_cloud_testkit::request(addr, "GET", "/", &[]).await;
    exporter.child.start_kill().expect("kill");
    let _ = exporter.child.wait().await;
    let stderr = exporter.log();
    assert_eq!(lab.fmc.seen().failed_logins, 1, "{:?}", lab.fmc.seen());
    assert_eq!(
        stderr.matches("management center not read").count(),
        1,
        "warned once: {stderr}"
    );
    assert_eq!(
        stderr
            .matches("management center refused the credentials: not logging in again")
            .count(),
        1,
        "{stderr}"
    );
    for text in [stderr.as_ref(), page.as_str(), seen.as_str()] {
        assert!(!text.contains(PASSWORD), "the password leaked: {text}");
    }
}

/// Every status and module the API returns: the cloud-delivered FMC's `FAILED` reads Failure like
/// `RED`; the management center's own record (device "0") is shown as the management center, not
/// dropped and not as a device; a module this exporter does not interpret (`CPU`, a name a later
/// release may add) is kept and listed as not interpreted, never dropped or fatal.
#[tokio::test]
async fn every_status_and_module_the_api_returns_is_kept_and_said() {
    let lab = Lab::new(|w| {
        w.alert(
            "d-2",
            "CONN_STATUS_SSE",
            "FAILED",
            "Not connected to the Security Services Exchange",
        )
        .alert(
            "0",
            "THREAT_DATA_UPDATES",
            "RED",
            "Cisco Cloud Configuration - Failure",
        )
        .alert(
            "d-2",
            "NEW_MODULE_IN_A_LATER_RELEASE",
            "YELLOW",
            "something new",
        );
    })
    .await;
    let exporter = Exporter::start(&lab.config("")).await;
    let e = until(&exporter, 10, up).await;
    let status = |device: &str, module: &str, status: &str| {
        e.all(
            names::FMC_HEALTH_STATUS,
            &[
                ("device", device),
                ("fmc_module", module),
                ("status", status),
            ],
        )
        .first()
        .map(|s| s.value)
    };
    assert_eq!(
        status("ftd-02", "CONN_STATUS_SSE", "failed"),
        Some(1.0),
        "FAILED is kept as failed"
    );
    assert_eq!(
        status("the management center itself", "THREAT_DATA_UPDATES", "red"),
        Some(1.0),
        "the FMC's own record"
    );
    let (_, page) = exporter.get("/").await;
    for words in [
        "Failure on ftd-02",
        "Failure on the management center itself",
        "Not interpreted here (health modules this exporter does not read): ",
        "CPU on ftd-01: Failure (red)",
        "NEW_MODULE_IN_A_LATER_RELEASE on ftd-02: Warning (yellow)",
    ] {
        assert!(page.contains(words), "the page lacks {words}: {page}");
    }
}

/// The FMC's own words: an alert's `details` with `<br>` between its lines reads as lines (never
/// as tags), and only the alerts of the last day are read (`startTime`/`endTime`), so an old
/// alert does not pass for how a module is now.
#[tokio::test]
async fn the_fmc_details_read_as_lines_and_old_alerts_do_not_count() {
    let lab = Lab::new(|w| {
        w.alert("d-2", "CONN_STATUS_SSE", "RED", "SSE connection");
        if let Some(last) = w.alerts.last_mut() {
            last["details"] =
                "<b>Connection failed</b><br>Reason: DNS lookup failed<br/>Host: api-sse.cisco.com &amp; port 443"
                    .into();
            last["params"] = "connector_port=8989".into();
        }
        w.alert(
            "d-3",
            "THREAT_DATA_UPDATES",
            "RED",
            "Cisco Cloud Configuration - Failure",
        );
        if let Some(last) = w.alerts.last_mut() {
            last["timestamp"] = (firepower_cloud_testkit::fmc::now_unix() - 2 * 86_400).into();
        }
    })
    .await;
    let exporter = Exporter::start(&lab.config("")).await;
    until(&exporter, 10, up).await;
    let (_, page) = exporter.get("/").await;
    assert!(
        page.contains("Connection failed<br>Reason: DNS lookup failed<br>Host: api-sse.cisco.com &amp; port 443"),
        "{page}"
    );
    assert!(
        !page.contains("&lt;br") && !page.contains("&lt;b&gt;"),
        "{page}"
    );
    assert!(
        page.contains("connector_port=8989"),
        "the alert's params: {page}"
    );
    assert!(
        !page.contains("Failure on ftd-03"),
        "a two-day-old alert counted: {page}"
    );
    let seen = lab.fmc.seen();
    assert!(
        seen.requests.iter().any(|r| r.contains("health/alerts")
            && r.contains("startTime")
            && r.contains("endTime")),
        "{seen:#?}"
    );
}

/// A cloud-delivered FMC (Security Cloud Control): the API token from `token_file` as
/// `Authorization: Bearer`, no `generatetoken`, the Global domain's UUID by default; the same
/// readings as on premises. A revoked token is `api_token_rejected`, tried once and held back (no
/// retry storm) until the file changes; the token shows nowhere.
#[tokio::test]
async fn a_cloud_delivered_fmc_is_read_with_its_api_token() {
    const TOKEN: &str = "cdfmc-api-token-3f9a";
    let lab = Lab::new(|w| w.api_token = Some(TOKEN.into())).await;
    let token_file = lab.world.dir.path().join("cdfmc-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token");
    let config = lab.config("").replace(
        &format!(
            "  username: prometheus-ro\n  password_file: {}\n",
            lab.world.dir.path().join("fmc-password").display()
        ),
        &format!("  token_file: {}\n", token_file.display()),
    );
    assert!(config.contains("token_file"), "{config}");
    let exporter = Exporter::start(&config).await;
    let e = until(&exporter, 10, up).await;
    assert!(
        !e.all(names::FMC_HEALTH_STATUS, &[("device", "ftd-01")])
            .is_empty(),
        "the cdFMC's health alerts are read"
    );
    let seen = lab.fmc.seen();
    assert_eq!(
        seen.logins + seen.failed_logins,
        0,
        "no generatetoken on a cdFMC"
    );
    assert!(seen.bearer_requests > 0);
    assert!(
        seen.requests
            .iter()
            .all(|r| !r.contains("/domain/")
                || r.contains(firepower_cloud_testkit::fmc::GLOBAL_UUID)),
        "read in the Global domain's UUID: {seen:#?}"
    );

    // The token is revoked: one refusal, then held back.
    lab.fmc.set(|w| w.api_token = Some("a-new-token".into()));
    until(&exporter, 10, failed_with("api_token_rejected")).await;
    let rejected = lab.fmc.seen().rejected_tokens;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        lab.fmc.seen().rejected_tokens,
        rejected,
        "the revoked token was tried again"
    );
    let mut everything = String::new();
    for path in ["/", "/metrics", "/debug"] {
        let (_, body) = exporter.get(path).await;
        everything += &body;
    }
    assert!(
        everything.contains("refused the API token"),
        "the page says why"
    );
    assert!(!everything.contains(TOKEN), "the token leaked");
    // A new token in the file: read at the next poll.
    std::fs::write(&token_file, "a-new-token\n").expect("token");
    until(&exporter, 5, up).await;
}

/// Several domains: `domains: [Global, Branches]` reads each domain's devices and health, with
/// the domain as a label; a device name used in both domains stays two devices (series, page).
#[tokio::test]
async fn every_named_domain_is_read_and_a_name_unique_only_in_its_domain_stays_distinct() {
    const BRANCHES: &str = "b1a2c3d4-0000-1111-2222-333344445555";
    let lab = Lab::new(|w| {
        w.device_in(BRANCHES, "b-1", "ftd-01").alert(
            "b-1",
            "THREAT_DATA_UPDATES",
            "GREEN",
            "Cisco Cloud Configuration - Success",
        );
        // The fleet's own devices are Global's.
        for uuid in ["d-1", "d-2", "d-3"] {
            w.device_domains.push((
                uuid.into(),
                firepower_cloud_testkit::fmc::GLOBAL_UUID.into(),
            ));
        }
    })
    .await;
    let exporter = Exporter::start(&lab.config("  domains: [Global, Branches]\n")).await;
    let e = until(&exporter, 10, up).await;
    let status = |domain: &str, status: &str| {
        e.all(
            names::FMC_HEALTH_STATUS,
            &[
                ("domain", domain),
                ("device", "ftd-01"),
                ("fmc_module", "THREAT_DATA_UPDATES"),
                ("status", status),
            ],
        )
        .first()
        .map(|s| s.value)
    };
    assert_eq!(status("Global", "red"), Some(1.0), "Global's ftd-01 fails");
    assert_eq!(
        status("Global/Branches", "green"),
        Some(1.0),
        "the Branches' ftd-01 succeeds"
    );
    let (_, page) = exporter.get("/").await;
    assert!(
        page.contains("Failure on ftd-01 (Global)")
            && page.contains("Success on ftd-01 (Global/Branches)"),
        "{page}"
    );
    // `all`: every domain the user can see.
    let all = Exporter::start(&lab.config("  domains: [all]\n")).await;
    let e = until(&all, 10, up).await;
    assert!(
        !e.all(names::FMC_HEALTH_STATUS, &[("domain", "Global/Branches")])
            .is_empty(),
        "all domains read"
    );
}

/// A cloud-delivered FMC reached through the HTTP proxy with Basic authentication (`fmc.proxy`,
/// its password in a file): read as directly. A proxy that demands other credentials is named as
/// the probes name it (`proxy_auth_required`), and neither the proxy's password nor the token
/// shows anywhere.
#[tokio::test]
async fn a_cloud_delivered_fmc_is_read_through_an_authenticating_proxy() {
    use crate::util::{Proxy, ProxyMode};
    const TOKEN: &str = "cdfmc-api-token-7c2e";
    const PROXY_PASSWORD: &str = "proxy-pa55-9d";
    let lab = Lab::new(|w| w.api_token = Some(TOKEN.into())).await;
    let token_file = lab.world.dir.path().join("cdfmc-token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).expect("token");
    let proxy_password = lab.world.dir.path().join("proxy-password");
    std::fs::write(&proxy_password, format!("{PROXY_PASSWORD}\n")).expect("password");
    let fmc_addr: std::net::SocketAddr = lab
        .fmc
        .url()
        .trim_start_matches("https://")
        .parse()
        .expect("the fake FMC's address");
    let proxy = Proxy::start(
        ProxyMode::Basic {
            user: "fw".into(),
            password: PROXY_PASSWORD.into(),
        },
        fmc_addr,
    )
    .await;
    let config = |user: &str| {
        lab.config(&format!(
            "  proxy: {{ url: \"http://{user}@{}\", password_file: {} }}\n",
            proxy.addr,
            proxy_password.display()
        ))
        // The proxy's `password_file` keeps the lab from writing the FMC's: the token replaces
        // the user.
        .replace(
            "  username: prometheus-ro\n",
            &format!("  token_file: {}\n", token_file.display()),
        )
    };
    let exporter = Exporter::start(&config("fw")).await;
    until(&exporter, 10, up).await;
    assert!(
        proxy
            .requests
            .lock()
            .expect("requests")
            .iter()
            .any(|r| r.contains("CONNECT")),
        "the API was read through the proxy"
    );
    let wrong = Exporter::start(&config("someone-else")).await;
    until(&wrong, 10, failed_with("proxy_auth_required")).await;
    let mut everything = String::new();
    for path in ["/", "/metrics"] {
        let (_, body) = wrong.get(path).await;
        everything += &body;
    }
    assert!(
        everything.contains("through the HTTP proxy: proxy_auth_required"),
        "{everything}"
    );
    assert!(!everything.contains(PROXY_PASSWORD) && !everything.contains(TOKEN));
}
