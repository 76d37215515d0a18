//! The configuration's validation, as an operator meets it: embedded defaults, inheritance, and
//! errors that name the file and the field.

use std::time::Duration;

use super::validate::parse;
use super::*;
use crate::checklist::Service;

fn parse_str(text: &str) -> Result<Config, ConfigError> {
    parse(text, &FileContext::embedded("test.yaml"), None)
}

#[test]
fn embedded_defaults_validate_for_every_region() {
    for region in [Region::Us, Region::Eu, Region::Apjc] {
        let config = Source {
            region: Some(region),
            ..Source::default()
        }
        .load()
        .expect("embedded default is valid");
        assert!(config.targets.len() >= 5, "{region:?}");
        assert!(
            config
                .targets
                .iter()
                .any(|t| t.service == Service::CiscoCloudConfiguration && t.http.is_some()),
            "{region:?} has an SSE target with the HTTPS check"
        );
    }
}

#[test]
fn us_default_probes_api_sse_like_the_checklist() {
    let config = Source::default().load().expect("valid");
    let sse = &config.targets[0];
    assert_eq!(sse.host, "api-sse.cisco.com");
    assert_eq!(sse.tcp_ports, vec![443, 8989]);
    assert!(sse.dns);
    assert_eq!(sse.tls.as_ref().map(|t| t.port), Some(443));
    assert_eq!(
        sse.http.as_ref().map(|h| h.expected_status.clone()),
        Some(vec![403])
    );
    let hosts: Vec<&str> = config.targets.iter().map(|t| t.host.as_str()).collect();
    for host in [
        "cloud-sa.amp.cisco.com",
        "api.amp.sourcefire.com",
        "cloud-sa.amp.sourcefire.com",
        "panacea.threatgrid.com",
    ] {
        assert!(hosts.contains(&host), "{host} missing");
    }
}

#[test]
fn defaults_are_inherited_field_by_field() {
    let config = parse_str(
        r#"
defaults:
  timeout: 2s
  dns: { servers: ["127.0.0.1:5353"], protocol: tcp }
targets:
  - name: a
    host: a.example
    service: cisco_cloud_configuration
    dns: { protocol: udp }
  - name: b
    host: b.example
    service: amp_connection_status
    timeout: 500ms
"#,
    )
    .expect("valid");
    let a = &config.targets[0];
    assert_eq!(a.timeout, Duration::from_secs(2));
    assert_eq!(
        a.resolver,
        ResolverSpec::Servers {
            servers: vec!["127.0.0.1:5353".parse().expect("addr")],
            protocol: DnsProtocol::Udp
        }
    );
    assert_eq!(config.targets[1].timeout, Duration::from_millis(500));
}

fn error_of(text: &str) -> String {
    parse_str(text).expect_err("must fail").to_string()
}

#[test]
fn a_typo_names_the_file_and_the_field() {
    let msg = error_of(
        "targets:\n  - name: a\n    host: a.example\n    service: amp_connection_status\n    timout: 3s\n",
    );
    assert!(msg.starts_with("test.yaml: targets[0]"), "{msg}");
    assert!(msg.contains("unknown field `timout`"), "{msg}");
    assert!(msg.contains("line 5"), "{msg}");
}

#[test]
fn a_wrong_type_names_the_field() {
    let msg = error_of("defaults:\n  timeout: [1]\ntargets: []\n");
    assert!(msg.contains("defaults.timeout"), "{msg}");
}

#[test]
fn an_unknown_check_lists_the_known_ones() {
    let msg = error_of(
        "targets:\n  - {name: a, host: a.example, service: amp_connection_status, checks: [dns, ping]}\n",
    );
    assert!(msg.contains("targets[0].checks[1]"), "{msg}");
    assert!(
        msg.contains("unknown variant `ping`") && msg.contains("`tls`"),
        "{msg}"
    );
}

#[test]
fn a_bad_dns_server_address_is_named() {
    let msg = error_of(
        "targets:\n  - {name: a, host: a.example, service: amp_connection_status, dns: {servers: [\"1.2.3.4:99999\"]}}\n",
    );
    assert!(msg.contains("targets[0].dns.servers[0]"), "{msg}");
    assert!(msg.contains("`ip:port`"), "{msg}");
}

#[test]
fn unknown_service_duplicate_names_and_bad_names_are_refused() {
    assert!(
        error_of("targets:\n  - {name: a, host: a.example, service: smtp}\n")
            .contains("targets[0].service")
    );
    assert!(error_of("targets:\n  - {name: a, host: a.example, service: amp_connection_status}\n  - {name: a, host: b.example, service: amp_connection_status}\n").contains("duplicate target name"));
    assert!(
        error_of(
            "targets:\n  - {name: \"a b\", host: a.example, service: amp_connection_status}\n"
        )
        .contains("targets[0].name")
    );
    assert!(error_of("region: mars\n").contains("region"));
}

#[test]
fn proxy_password_is_never_printed() {
    let config = parse_str(
            "defaults:\n  proxy: { url: \"http://fmc:s3cr%40t@proxy.example:3128\" }\ntargets:\n  - {name: a, host: a.example, service: amp_connection_status}\n",
        )
        .expect("valid");
    let proxy = config.targets[0].proxy.clone().expect("proxy");
    assert_eq!(
        proxy.credentials.as_ref().map(Credentials::password),
        Some("s3cr@t")
    );
    assert_eq!(proxy.to_string(), "http://fmc@proxy.example:3128");
    let debug = format!("{config:?}");
    assert!(!debug.contains("s3cr"), "{debug}");
    let err = error_of(
        "defaults:\n  proxy: { url: \"socks5://u:hunter2@p:1\" }\ntargets:\n  - {name: a, host: a.example, service: amp_connection_status}\n",
    );
    assert!(
        !err.contains("hunter2") && err.contains("proxy.url"),
        "{err}"
    );
}

#[test]
fn a_plus_in_the_proxy_password_stays_a_plus() {
    let config = parse_str(
            "defaults:\n  proxy: { url: \"http://fmc:a+b%2Bc@proxy.example:3128\" }\ntargets:\n  - {name: a, host: a.example, service: amp_connection_status}\n",
        )
        .expect("valid");
    let proxy = config.targets[0].proxy.clone().expect("proxy");
    assert_eq!(
        proxy.credentials.as_ref().map(Credentials::password),
        Some("a+b+c")
    );
}

#[test]
fn a_proxied_target_leaves_name_resolution_to_the_proxy() {
    let config = parse_str(
            "defaults:\n  proxy: { url: \"http://proxy.example:3128\" }\ntargets:\n  - {name: a, host: a.example, service: amp_connection_status}\n",
        )
        .expect("valid");
    assert!(!config.targets[0].dns);
}

#[test]
fn the_embedded_list_takes_additions_and_removals_without_being_copied() {
    let embedded = parse_str("region: us\n").expect("valid");
    let config = parse_str(
        "region: us\ntargets_disabled: [malware-signatures]\ntargets_extra:\n  - name: amp-updates\n    host: amp.updates.vrt.sourcefire.com\n    service: local_malware_analysis_signatures\n",
    )
    .expect("valid");
    let names: Vec<&str> = config.targets.iter().map(|t| t.name.as_str()).collect();
    assert!(!names.contains(&"malware-signatures"), "{names:?}");
    assert_eq!(names.last(), Some(&"amp-updates"));
    assert_eq!(config.targets.len(), embedded.targets.len());
    // The added target inherits the defaults like any other.
    assert_eq!(
        config.targets.last().map(|t| t.timeout),
        embedded.targets.first().map(|t| t.timeout)
    );
}

#[test]
fn overrides_of_the_embedded_list_name_what_is_wrong() {
    let err = parse_str("targets_disabled: [nope]\n").expect_err("unknown name");
    assert_eq!(err.field, "targets_disabled[0]");
    assert!(
        err.message.contains("`nope` is not an embedded target") && err.message.contains("sse"),
        "{err}"
    );
    let err = parse_str("targets_extra:\n  - name: x\n    service: cisco_cloud_configuration\n")
        .expect_err("missing host");
    assert!(err.field.starts_with("targets_extra[0]"), "{err}");
    let err = parse_str(
        "targets_disabled: [sse]\ntargets:\n  - name: a\n    host: a.example\n    service: cisco_cloud_configuration\n",
    )
    .expect_err("with targets");
    assert_eq!(err.field, "targets_disabled");
}

#[test]
fn the_former_service_name_still_reads_as_the_amp_connection_status_module() {
    let config =
        parse_str("targets:\n  - {name: a, host: a.example, service: amp_cloud_lookups}\n")
            .expect("still read");
    assert_eq!(config.targets[0].service, Service::AmpConnectionStatus);
    assert_eq!(config.targets[0].source, "configured");
}

#[test]
fn embedded_targets_say_where_their_names_come_from_and_who_uses_them() {
    for region in [Region::Us, Region::Eu, Region::Apjc] {
        let config = Source {
            region: Some(region),
            ..Source::default()
        }
        .load()
        .expect("valid");
        for t in &config.targets {
            assert!(
                ["cisco", "secondary", "troubleshooting_note"].contains(&t.source),
                "{region:?} {}",
                t.name
            );
            assert!(!t.used_by.is_empty(), "{region:?} {}", t.name);
        }
        let sse = &config.targets[0];
        let expected = if region == Region::Us {
            "cisco"
        } else {
            "secondary"
        };
        assert_eq!(sse.source, expected, "{region:?}");
    }
}

#[test]
fn the_fmc_section_names_each_mistake_and_its_fix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let password = dir.path().join("pw");
    std::fs::write(&password, "pa55word\nsecond line ignored\n").expect("write");
    let file = dir.path().join("c.yml");
    let fmc = |body: &str| {
        std::fs::write(
            &file,
            format!("fmc:\n{body}targets:\n  - {{ name: t, host: h.example, service: cisco_cloud_configuration }}\n"),
        )
        .expect("write");
        Source {
            file: Some(file.clone()),
            ..Source::default()
        }
        .load()
    };
    let good = "  url: https://fmc.example.net\n  username: ro\n  password_file: pw\n";
    let config = fmc(good).expect("valid");
    let settings = config.fmc.expect("fmc");
    assert_eq!(settings.credentials.password(), "pa55word");
    assert_eq!(settings.domains, ["Global"]);
    assert_eq!(settings.poll_interval, Duration::from_secs(60));
    assert_eq!(
        (settings.host.as_str(), settings.port),
        ("fmc.example.net", 443)
    );
    assert!(!format!("{settings:?}").contains("pa55word"));
    // A cloud-delivered FMC: the token file, the Global domain's UUID by default.
    let cloud = fmc("  url: https://tenant.app.us.cdo.cisco.com\n  token_file: pw\n")
        .expect("valid")
        .fmc
        .expect("fmc");
    assert_eq!(cloud.auth, crate::config::FmcAuth::ApiToken);
    assert_eq!(cloud.domains, ["e276abec-e0f2-11e3-8169-6d9ed49b625f"]);
    assert!(!format!("{cloud:?}").contains("pa55word"));

    for (body, field, words) in [
        (
            "  url: https://fmc\n  token_file: pw\n  username: ro\n",
            "fmc.token_file",
            "API token only",
        ),
        (
            "  url: https://fmc\n  token_file: pw\n  domain: Global/Branches\n",
            "fmc.domain",
            "domain UUID",
        ),
        (
            "  url: https://fmc\n  username: ro\n  password_file: pw\n  domain: Global\n  domains: [Global]\n",
            "fmc.domains",
            "not both",
        ),
        (
            "  url: https://fmc\n  username: ro\n  password_file: pw\n  domains: [Global, \"\"]\n",
            "fmc.domains[1]",
            "empty",
        ),
        (
            "  username: ro\n  password_file: pw\n",
            "fmc.url",
            "missing",
        ),
        (
            "  url: http://fmc\n  username: ro\n  password_file: pw\n",
            "fmc.url",
            "HTTPS only",
        ),
        (
            "  url: https://fmc/api\n  username: ro\n  password_file: pw\n",
            "fmc.url",
            "without a path",
        ),
        (
            "  url: https://ro:pa55word@fmc\n  username: ro\n  password_file: pw\n",
            "fmc.url",
            "`username` and `password_file`",
        ),
        (
            "  url: https://fmc\n  password_file: pw\n",
            "fmc.username",
            "read-only",
        ),
        (
            "  url: https://fmc\n  username: ro\n",
            "fmc.password_file",
            "missing",
        ),
        (
            "  url: https://fmc\n  username: ro\n  password_file: nope\n",
            "fmc.password_file",
            "cannot read",
        ),
        (
            "  url: https://fmc\n  username: ro\n  password_file: pw\n  fingerprint_sha256: abc\n",
            "fmc.fingerprint_sha256",
            "64 hex digits",
        ),
        (
            "  url: https://fmc\n  username: ro\n  password_file: pw\n  fingerprint_sha256: abc\n  insecure_skip_verify: true\n",
            "fmc",
            "not several",
        ),
        (
            "  url: https://fmc\n  username: ro\n  password_file: pw\n  poll_interval: 0s\n",
            "fmc.poll_interval",
            "between 1s and 1h",
        ),
        (
            "  url: https://fmc\n  username: ro\n  password_file: pw\n  devices: [\"\"]\n",
            "fmc.devices[0]",
            "empty",
        ),
    ] {
        let err = fmc(body).expect_err(body).to_string();
        assert!(err.contains(field), "{body}: {err}");
        assert!(err.contains(words), "{body}: {err}");
        assert!(!err.contains("pa55word"), "the password leaked: {err}");
    }
}
