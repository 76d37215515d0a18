//! The binary itself: `check` in text and JSON with its exit codes, start-up errors, logs, and
//! connector.properties.

use std::process::Output;

use tokio::process::Command;

use crate::util::{Answer, Behaviour, ProxyMode, servers};
use crate::{World, healthy_sse, sse_target};
use firepower_cloud_exporter::metrics::names;

const BIN: &str = env!("CARGO_BIN_EXE_firepower-cloud-exporter");

async fn run(args: &[&str]) -> Output {
    tokio::time::timeout(
        std::time::Duration::from_secs(30),
        Command::new(BIN)
            .args(args)
            .env("NO_COLOR", "1")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("the binary finished within 30 s")
    .expect("the binary ran")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A configuration file whose one target, `sse`, is a healthy api-sse.cisco.com; the servers are
/// returned so they live as long as the test.
pub(crate) async fn healthy_config_file(
    world: &World,
) -> (String, crate::util::TlsServer, std::net::SocketAddr) {
    let (server, plain) = healthy_sse(world, "api-sse.cisco.com").await;
    let target = sse_target("sse", "api-sse.cisco.com", server.port(), plain.port());
    (
        write(world, "c.yml", &world.config("", &[target])),
        server,
        plain,
    )
}

fn write(world: &World, name: &str, content: &str) -> String {
    let path = world.dir.path().join(name);
    std::fs::write(&path, content).expect("write");
    path.display().to_string()
}

#[tokio::test]
async fn check_prints_the_fmc_table_and_exits_0_when_healthy() {
    let world = World::new().await;
    let (config, _server, _plain) = healthy_config_file(&world).await;
    let out = run(&["check", "--config.file", &config]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("Threat Data Updates on Devices"),
        "{stdout}"
    );
    let row = stdout
        .lines()
        .find(|l| l.contains("Cisco Cloud Configuration") && !l.contains('['))
        .expect("row line");
    assert!(row.contains("Success"), "{row}");
    assert!(
        stdout.contains("canonical name")
            || stdout.contains("CNAME api-sse.cisco.com.akadns.test."),
        "{stdout}"
    );
    assert!(stdout.contains("http: status 403"), "{stdout}");
    assert!(
        stdout
            .lines()
            .next()
            .is_some_and(|l| l.starts_with("The row succeeds, last probe ")),
        "{stdout}"
    );
    assert!(stdout.contains("tls: verify  ok"), "{stdout}");
    // The lab's chain verifies only through its CA in tls.ca_file: said, since a device would fail.
    assert!(
        stdout.contains("tls: trusted only through the configured tls.ca_file, not the public roots the device trusts"),
        "{stdout}"
    );
    assert!(!stdout.contains('\x1b'), "no colour when not on a terminal");
}

#[tokio::test]
async fn check_names_the_reason_and_remedy_and_exits_1_on_failure() {
    let world = World::new().await;
    let (config, _server, closed) = crate::refused_8989_config(&world).await;
    let config = write(&world, "c.yml", &config);
    let out = run(&["check", "--config.file", &config]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("FAILURE: tcp_refused"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "Next step: A firewall or the peer rejects TCP {closed} to api-sse.cisco.com"
        )) && stdout.contains(&format!("telnet api-sse.cisco.com {closed}")),
        "{stdout}"
    );
    assert!(
        stdout.contains("Who fixes it: firewall and network (owner=firewall)"),
        "{stdout}"
    );
    // A terminal shows no Markdown: no code marks around the commands.
    assert!(!stdout.contains('`'), "{stdout}");
    // The first line says it all: how many rows fail, why, who fixes it, when and from where.
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("1 of 1 row fails: tcp_refused (fix: firewall and network), last probe ")
            && first.contains(", from "),
        "{stdout}"
    );

    let out = run(&["check", "--config.file", &config, "--output", "json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    assert_eq!(json["success"], false);
    assert_eq!(json["rows"][0]["status"], "failure");
    assert_eq!(json["rows"][0]["decided_by"]["reason"], "tcp_refused");
    assert_eq!(json["rows"][0]["decided_by"]["owner"], "firewall");
    assert_eq!(json["rows"][0]["decided_by"]["port"], closed);
    assert_eq!(json["rows"][0]["target_count"], 1);
    assert_eq!(json["targets"][0]["reason"], "tcp_refused");
    assert_eq!(json["targets"][0]["http"]["status"], 403);
    assert!(
        json["targets"][0]["stages"]
            .as_array()
            .expect("stages")
            .len()
            >= 5
    );
}

#[tokio::test]
async fn a_bad_configuration_exits_2_from_check_and_non_zero_from_the_server() {
    let world = World::new().await;
    let config = write(
        &world,
        "bad.yml",
        "targets:\n  - name: sse\n    host: api-sse.cisco.com\n    service: cisco_cloud_configuration\n    checks: [dns, telnet]\n",
    );
    let out = run(&["check", "--config.file", &config]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.yml")
            && stderr.contains("targets[0].checks[1]")
            && stderr.contains("unknown variant `telnet`"),
        "{stderr}"
    );

    let out = run(&[
        "--config.file",
        &config,
        "--web.listen-address",
        "127.0.0.1:0",
    ])
    .await;
    assert_ne!(out.status.code(), Some(0));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("bad.yml") && stderr.contains("targets[0].checks[1]"),
        "{stderr}"
    );
}

#[tokio::test]
async fn the_proxy_and_fmc_passwords_never_reach_check_output_or_logs() {
    let world = World::new().await;
    let server = world
        .https(
            "api-sse.cisco.com",
            Behaviour::Http {
                status: 403,
                date_offset_secs: 0,
            },
        )
        .await;
    let secret = "Sup3r-s3cret-proxy-pw";
    let proxy = crate::util::Proxy::start(
        ProxyMode::Digest {
            user: "fmc".into(),
            password: "other".into(),
        },
        server.addr,
    )
    .await;
    // A management center that refuses the exporter's password: it is sent, refused, and the
    // refusal is reported without it.
    let fmc_secret = "Sup3r-s3cret-fmc-pw";
    let fmc_world = firepower_cloud_testkit::fmc::FmcWorld {
        password: "rotated-meanwhile".into(),
        ..Default::default()
    };
    let fmc =
        firepower_cloud_testkit::fmc::FakeFmc::start(world.pki.leaf(&["127.0.0.1"]), fmc_world)
            .await;
    let fmc_password = write(&world, "fmc-password", &format!("{fmc_secret}\n"));
    let fmc_section = format!(
        "fmc:\n  url: {}\n  username: prometheus-ro\n  password_file: {fmc_password}\n  ca_file: {}\n",
        fmc.url(),
        world.pki.ca_file.display()
    );
    let config = write(
        &world,
        "c.yml",
        &(fmc_section
            + &world.config(
                &format!(
                    "  proxy: {{ url: \"http://fmc:{secret}@{}\" }}\n",
                    proxy.addr
                ),
                &[sse_target("sse", "api-sse.cisco.com", 443, 8989)],
            )),
    );
    for (args, logged) in [
        (
            vec!["check", "--config.file", &config, "--log.level", "debug"],
            "probe=sse host=api-sse.cisco.com stage=proxy port=443 reason=proxy_auth_required",
        ),
        (
            vec![
                "check",
                "--config.file",
                &config,
                "--output",
                "json",
                "--log.level",
                "debug",
                "--log.format",
                "json",
            ],
            "\"probe\":\"sse\",\"host\":\"api-sse.cisco.com\",\"stage\":\"proxy\",\"port\":\"443\",\"reason\":\"proxy_auth_required\"",
        ),
    ] {
        let out = run(&args).await;
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(logged),
            "one log line with target, stage and reason: {stderr}"
        );
        assert!(
            stderr.contains("reason=credentials_rejected")
                || stderr.contains("\"reason\":\"credentials_rejected\""),
            "the refused login is logged: {stderr}"
        );
        let all = text(&out.stdout) + &stderr;
        assert!(!all.contains(secret), "the proxy password leaked: {all}");
        assert!(!all.contains(fmc_secret), "the FMC password leaked: {all}");
    }
}

#[tokio::test]
async fn connector_properties_choose_the_fqdn_and_port_the_device_uses() {
    let world = World::new().await;
    // Only the device's own connector name resolves; the embedded default would fail.
    world.dns.set("api-sse.cisco.com", Answer::NxDomain);
    let (server, plain) = healthy_sse(&world, "sse.device.test").await;
    let config = write(
        &world,
        "c.yml",
        &world.config(
            "",
            &[sse_target("sse", "api-sse.cisco.com", server.port(), 8989)],
        ),
    );
    let props = write(
        &world,
        "connector.properties",
        &format!(
            "registration_interval=180\nconnector_port={}\nregion_discovery_endpoint=https://sse.device.test:{}/providers/sse/api/v1/regions\nconnector_fqdn=sse.device.test\n",
            plain.port(),
            server.port()
        ),
    );
    let out = run(&[
        "check",
        "--config.file",
        &config,
        "--connector-properties",
        &props,
        "--output",
        "json",
    ])
    .await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(out.status.code(), Some(0), "{json:#}");
    assert_eq!(json["targets"][0]["host"], "sse.device.test");
    let ports: Vec<u64> = json["targets"][0]["stages"]
        .as_array()
        .expect("stages")
        .iter()
        .filter(|s| s["stage"] == "tcp")
        .filter_map(|s| s["port"].as_u64())
        .collect();
    assert_eq!(
        ports,
        vec![u64::from(server.port()), u64::from(plain.port())]
    );
    assert_eq!(json["targets"][1]["name"], "sse-region-discovery");
    assert_eq!(json["targets"][1]["http"]["status"], 403);
    // The report says the targets came from the configuration and the connector properties.
    assert_eq!(json["source"], format!("{config} with {props}"));

    let broken = write(
        &world,
        "broken.properties",
        "connector_fqdn=sse.device.test\nconnector_port: 8989\n",
    );
    let out = run(&[
        "check",
        "--config.file",
        &config,
        "--connector-properties",
        &broken,
    ])
    .await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("broken.properties: line 2"), "{stderr}");
}

#[tokio::test]
async fn check_colours_the_verdicts_only_on_a_terminal() {
    let Some(script) = crate::docs::tool("script") else {
        return;
    };
    let world = World::new().await;
    let (config, _server, _plain) = healthy_config_file(&world).await;
    // `script` gives the command a pseudo-terminal.
    let command = format!("{BIN} check --config.file {config}");
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        Command::new(script)
            .args(["-qec", &command, "/dev/null"])
            .env_remove("NO_COLOR")
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("finished")
    .expect("ran");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("\x1b[32mSuccess"),
        "green Success on a terminal: {stdout:?}"
    );
}

#[tokio::test]
async fn configuration_errors_name_the_field_once_with_an_example_and_exit_2_everywhere() {
    let world = World::new().await;
    let cases = [
        (
            "defaults:\n  ip_preference: ipv5\n",
            "defaults.ip_preference: unknown variant `ipv5`, expected one of `ipv4`, `ipv6`, `ipv4_only`, `ipv6_only` (line 2, column 18)",
        ),
        (
            "defaults:\n  timeout: 3\n",
            "defaults.timeout: invalid value: string \"3\", expected a duration such as `3s`, `500ms` or `1m` (line 2, column 12)",
        ),
        // An unknown key of a nested mapping: the path once, not the mapping's path again.
        (
            "defaults:\n  dns:\n    protocol: udp\n  resolv_conf: /etc/resolv.conf\n",
            "defaults.resolv_conf: unknown field `resolv_conf`, expected one of `timeout`, `min_interval`, `max_clock_skew`, `ip_preference`, `dns`, `tls`, `http`, `proxy` (line 4, column 3)",
        ),
        // A key indented deeper than the scalar above it: YAML reads it as part of that value
        // and the parser complains about line 3; the key is on line 4.
        (
            "region: us\ndefaults:\n  timeout: 3s\n    min_interval: 5s\n",
            "defaults.min_interval: line 4: `min_interval` is indented 4 spaces: it is indented deeper than `timeout` above it, so YAML reads it as part of the value of `timeout`; indent it like `timeout`",
        ),
        // A key between two levels.
        (
            "defaults:\n  dns:\n    protocol: udp\n   servers: [192.0.2.53]\n",
            "defaults.dns.servers: line 4: `servers` is indented 3 spaces: no mapping around it is indented that way (the keys around it are at 0, 2 or 4 spaces); indent it like the other keys of the mapping it belongs to",
        ),
    ];
    for (i, (yaml, expected)) in cases.into_iter().enumerate() {
        let config = write(&world, &format!("bad{i}.yml"), yaml);
        let out = run(&["check", "--config.file", &config]).await;
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            text(&out.stderr),
            format!("error: invalid configuration: {config}: {expected}\n")
        );
        // The server refuses to start the same way: one line, exit code 2.
        let out = run(&[
            "--config.file",
            &config,
            "--web.listen-address",
            "127.0.0.1:0",
        ])
        .await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert_eq!(
            stderr.matches("invalid configuration").count(),
            1,
            "{stderr}"
        );
        // logfmt quotes the message and escapes its quotes.
        assert!(stderr.contains(&expected.replace('"', "\\\"")), "{stderr}");
    }
}

#[tokio::test]
async fn check_columns_stay_aligned_with_the_longest_reason() {
    let world = World::new().await;
    world.resolve_via_cname("api-sse.cisco.com");
    // A 200 where 403 is expected: `http_unexpected_status`, the longest reason on the page.
    let server = world
        .https(
            "api-sse.cisco.com",
            Behaviour::Http {
                status: 200,
                date_offset_secs: 0,
            },
        )
        .await;
    let plain = servers::tcp_listener().await;
    let config = write(
        &world,
        "config.yml",
        &world.config(
            "",
            &[sse_target(
                "sse",
                "api-sse.cisco.com",
                server.port(),
                plain.port(),
            )],
        ),
    );
    let out = run(&["check", "--config.file", &config]).await;
    let stdout = text(&out.stdout);
    assert!(stdout.contains("http_unexpected_status"), "{stdout}");
    let stage_lines: Vec<&str> = stdout
        .lines()
        .filter(|l| {
            ["  dns ", "  tcp/", "  tls/", "  http/", "  clock "]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    assert!(stage_lines.len() >= 5, "{stdout}");
    let columns: std::collections::BTreeSet<usize> =
        stage_lines.iter().filter_map(|l| l.find(" ms  ")).collect();
    assert_eq!(columns.len(), 1, "the duration column moves:\n{stdout}");
}

#[tokio::test]
async fn check_says_a_shared_cause_once_before_the_table() {
    let world = World::new().await;
    world.dns.set("api-sse.cisco.com", Answer::NxDomain);
    world.dns.set("cloud-sa.amp.cisco.com", Answer::NxDomain);
    let config = write(
        &world,
        "config.yml",
        &world.config(
            "",
            &[
                sse_target("sse", "api-sse.cisco.com", 443, 8989),
                crate::tls_target(
                    "amp",
                    "cloud-sa.amp.cisco.com",
                    "amp_connection_status",
                    443,
                ),
            ],
        ),
    );
    let out = run(&["check", "--config.file", &config]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    let cause = stdout
        .find("One cause: 2 rows fail for one cause, dns_nxdomain at the dns stage")
        .expect("the shared cause");
    let table = stdout.find("\n  Data Update").expect("the table");
    assert!(cause < table, "{stdout}");
    assert_eq!(stdout.matches("One cause:").count(), 1, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "nslookup -port={} api-sse.cisco.com {}",
            world.dns.addr.port(),
            world.dns.addr.ip()
        )),
        "{stdout}"
    );
}

/// Every failing target of a row is named, not only the first.
#[tokio::test]
async fn check_names_every_failing_target_of_a_row() {
    let world = World::new().await;
    let (server, _) = healthy_sse(&world, "api-sse.cisco.com").await;
    let (closed, also_closed) = (servers::closed_port(), servers::closed_port());
    let config = write(
        &world,
        "two.yml",
        &world.config(
            "",
            &[
                sse_target("sse", "api-sse.cisco.com", server.port(), closed),
                sse_target("sse-b", "api-sse.cisco.com", server.port(), also_closed),
            ],
        ),
    );
    let out = run(&["check", "--config.file", &config]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "2 of 2 targets fail: sse at tcp/{closed} (tcp_refused); sse-b at tcp/{also_closed} (tcp_refused)"
        )),
        "{stdout}"
    );
    let out = run(&["check", "--config.file", &config, "--output", "json"]).await;
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
    let failing = json["rows"][0]["failing"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let names: Vec<&str> = failing
        .iter()
        .filter_map(|c| c["target"].as_str())
        .collect();
    assert_eq!(names, ["sse", "sse-b"], "{json:#}");
    // The status page says the same.
    let exporter =
        crate::util::Exporter::start(&std::fs::read_to_string(&config).expect("config")).await;
    let (_, page) = exporter.get("/").await;
    assert!(page.contains("2 of 2 targets fail: sse at tcp/"), "{page}");
    // Words for people; the system's own text only on /debug, for support.
    assert!(
        stdout.contains(&format!(
            "connect to 127.0.0.1:{closed}: refused (a reset came back)"
        )) && !stdout.contains("os error"),
        "{stdout}"
    );
    let (_, debug) = exporter.get("/debug?target=sse").await;
    assert!(debug.contains("(os error 111)"), "{debug}");
    // The evidence label says the port and what came back, without the address (names rotate
    // theirs), so the verdict series stays one series from scrape to scrape.
    for _ in 0..2 {
        let e = exporter.probe("sse").await;
        assert_eq!(
            e.label(names::TARGET_VERDICT, &[("target", "sse")], "evidence"),
            format!("TCP {closed}: refused (a reset came back)")
        );
    }
    assert!(
        page.contains("<p class=\"headline failure\"><strong>1 of 1 row fails: tcp_refused (fix: firewall and network), last probe "),
        "{page}"
    );
}

/// A target that turns from healthy to failing says what differs from its last success: here
/// its name now resolves to an address it never had, where nothing answers. `check --state`
/// keeps the last success between runs; the exporter keeps it in memory and shows it on the
/// page and as `firepower_cloud_target_change_info`, which the alerts read.
#[tokio::test]
async fn a_failure_says_what_changed_since_the_last_success() {
    let world = World::new().await;
    let (config, _server, _plain) = healthy_config_file(&world).await;
    let state = world.dir.path().join("check-state.json");
    let state = state.to_str().expect("path");
    let check = || async {
        let out = run(&[
            "check",
            "--config.file",
            &config,
            "--output",
            "json",
            "--state",
            state,
        ])
        .await;
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON output");
        (out.status.code(), json)
    };
    let (code, healthy) = check().await;
    assert_eq!(code, Some(0), "{healthy:#}");
    assert!(healthy["targets"][0]["changed"].is_null(), "{healthy:#}");
    let exporter =
        crate::util::Exporter::start(&std::fs::read_to_string(&config).expect("config")).await;
    assert_eq!(
        exporter
            .probe("sse")
            .await
            .label(names::TARGET_VERDICT, &[("target", "sse")], "reason"),
        "ok"
    );

    // The name moves to an address where nothing listens.
    world.dns.set(
        "api-sse.cisco.com",
        Answer::Addresses(vec!["127.0.0.9".parse().expect("address")]),
    );
    let (code, failing) = check().await;
    assert_eq!(code, Some(1), "{failing:#}");
    let changed = &failing["targets"][0]["changed"];
    assert!(
        changed["last_success"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{failing:#}"
    );
    let changes: Vec<&str> = changed["changes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c.as_str())
        .collect();
    assert_eq!(
        changes,
        ["the name now resolves to 127.0.0.9 (to 127.0.0.1, 127.0.0.2 then)"],
        "{failing:#}"
    );

    let e = exporter.probe("sse").await;
    assert_eq!(
        e.label(names::TARGET_CHANGE_INFO, &[("target", "sse")], "change"),
        "the name now resolves to 127.0.0.9 (to 127.0.0.1, 127.0.0.2 then)"
    );
    let (_, page) = exporter.get("/").await;
    assert!(
        page.contains("<strong>What changed:</strong> Since the last success at "),
        "{page}"
    );
    let text = text(
        &run(&["check", "--config.file", &config, "--state", state])
            .await
            .stdout,
    );
    assert!(
        text.contains("  What changed: Since the last success at ")
            && text.contains("the name now resolves to 127.0.0.9"),
        "{text}"
    );
}
