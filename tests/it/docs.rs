//! Documents that are generated from the code stay equal to it, and exposition passes promtool.

use std::path::Path;

use firepower_cloud_exporter::checklist::reasons_markdown;

use crate::{World, healthy_exporter};

#[test]
fn docs_reasons_md_matches_the_reason_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/reasons.md");
    let generated = reasons_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/reasons.md");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/reasons.md is stale: run `UPDATE_DOCS=1 cargo test --test it docs`"
    );
}

/// The man page the Debian package installs, generated from the command line itself
/// (`clap_mangen`): a flag added to the CLI is in the page, or this test says to regenerate it.
#[test]
fn the_man_page_matches_the_command_line() {
    use clap::CommandFactory;
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/debian/firepower-cloud-exporter.1");
    let mut command = firepower_cloud_exporter::cli::Cli::command();
    command.build();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone())
        .render(&mut page)
        .expect("render");
    // The `check` command's own options, as a section of the same page.
    if let Some(check) = command.find_subcommand("check") {
        let mut section = Vec::new();
        clap_mangen::Man::new(check.clone().name("firepower-cloud-exporter check"))
            .render_options_section(&mut section)
            .expect("render check");
        let section = String::from_utf8(section).expect("utf-8");
        let options = section
            .split_once(".SH OPTIONS\n")
            .map_or(section.as_str(), |(_, options)| options);
        page.extend_from_slice(b".SH \"CHECK OPTIONS\"\n");
        page.extend_from_slice(options.as_bytes());
    }
    let page = String::from_utf8(page).expect("utf-8");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &page).expect("write the man page");
    }
    assert!(
        std::fs::read_to_string(&path).unwrap_or_default() == page,
        "deploy/debian/firepower-cloud-exporter.1 is stale: run `UPDATE_DOCS=1 cargo test --test it docs`"
    );
    for flag in [
        "web.listen-address",
        "config.file",
        "web.external-url",
        "state",
    ] {
        let roff = format!("\\-\\-{}", flag.replace('-', "\\-"));
        assert!(page.contains(&roff), "the man page lacks --{flag}");
    }
}

/// `name` on the PATH, if it is there (for optional tools: no requirement attached).
pub fn find_tool(name: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// Every failure reason of the table is explained in the runbook section of the alert it fires.
#[test]
fn every_failure_reason_is_in_the_runbook() {
    let runbook =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/runbook.md"))
            .expect("runbook");
    let table = reasons_markdown();
    let missing: Vec<&str> = table
        .lines()
        .filter_map(|l| l.split("</a>`").nth(1)?.split('`').next())
        .filter(|r| {
            // Not a failure of a stage: no stage alert fires for these.
            ![
                "ok",
                "skipped",
                "budget_exhausted",
                "cloud_integration_disabled",
            ]
            .contains(r)
        })
        .filter(|r| !runbook.contains(&format!("`{r}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "reasons the runbook does not name: {missing:?}"
    );
}

/// promtool is required where the test script says so (CI installs it); elsewhere the check is
/// reported as not run.
pub fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = find_tool(name);
    assert!(
        !(found.is_none() && std::env::var_os("FCE_REQUIRE_TOOLS").is_some()),
        "`{name}` is required (FCE_REQUIRE_TOOLS is set): apt-get install prometheus prometheus-alertmanager"
    );
    if found.is_none() {
        eprintln!("note: `{name}` not found; skipping the check that needs it");
    }
    found
}

#[tokio::test]
async fn exposition_passes_promtool_check_metrics() {
    let world = World::new().await;
    let (exporter, _server, _plain) = healthy_exporter(&world).await;
    for path in ["/probe", "/probe", "/metrics"] {
        let (status, body) = exporter.get(path).await;
        assert_eq!(status, 200);
        promtool_check_metrics(path, &body).await;
    }
}

/// `promtool check metrics` on an exposition: no error, no lint finding (skipped without
/// promtool unless `FCE_REQUIRE_TOOLS` is set).
pub(crate) async fn promtool_check_metrics(what: &str, body: &str) {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let mut child = tokio::process::Command::new(&promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("promtool runs");
    use tokio::io::AsyncWriteExt;
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(body.as_bytes()).await.expect("write");
    drop(stdin);
    let out = child.wait_with_output().await.expect("promtool finished");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && report.trim().is_empty(),
        "promtool check metrics on {what}:\n{report}"
    );
}

#[test]
fn the_shipped_example_configuration_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/config.example.yml");
    let source = firepower_cloud_exporter::config::Source {
        file: Some(path),
        ..Default::default()
    };
    let config = source.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.target_count(), 5);
}

fn rule_file() -> serde_yaml_ng::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("alerts/firepower-cloud.rules.yml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).expect("rules file")).expect("YAML")
}

/// Every alerting rule of the shipped file, as (name, rule).
pub fn alerts() -> Vec<(String, serde_yaml_ng::Value)> {
    let rules = rule_file();
    let mut out = Vec::new();
    for group in rules["groups"].as_sequence().expect("groups") {
        for rule in group["rules"].as_sequence().expect("rules") {
            if let Some(name) = rule["alert"].as_str() {
                out.push((name.to_string(), rule.clone()));
            }
        }
    }
    out
}

#[test]
fn every_alert_follows_the_conventions_and_has_a_runbook_section() {
    let runbook =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/runbook.md"))
            .expect("runbook");
    let sections: Vec<&str> = runbook
        .lines()
        .filter_map(|l| l.strip_prefix("## "))
        .collect();
    let alerts = alerts();
    assert!(alerts.len() >= 15, "{}", alerts.len());
    for (name, rule) in &alerts {
        assert!(
            name.starts_with("Firepower") && name.chars().all(|c| c.is_ascii_alphanumeric()),
            "{name} is not CamelCase with the Firepower prefix"
        );
        // The team that owns the fix: named, or read from the verdict series.
        let owner = rule["labels"]["owner"].as_str().unwrap_or_default();
        assert!(
            OWNERS.contains(&owner) || owner.contains("| first | label \"owner\""),
            "{name}: owner {owner:?}"
        );
        let severity = rule["labels"]["severity"].as_str().unwrap_or_default();
        assert!(
            ["critical", "warning", "info"].contains(&severity)
                || (severity == "none" && name.ends_with("Watchdog")),
            "{name}: severity {severity}"
        );
        for annotation in ["summary", "description", "runbook_url"] {
            assert!(
                rule["annotations"][annotation]
                    .as_str()
                    .is_some_and(|s| !s.is_empty()),
                "{name} lacks {annotation}"
            );
        }
        let url = rule["annotations"]["runbook_url"]
            .as_str()
            .unwrap_or_default();
        // Under the external URL when the exporter publishes one, else the scraped address; an
        // alert without an exporter of its own (none scraped, the watchdog) links a live one's,
        // else Prometheus' alerts page.
        let anchor = format!("#{}", name.to_lowercase());
        assert!(
            url.contains("firepower_cloud_runbook_info")
                && ((url.ends_with(&format!("{{{{ end }}}}{anchor}"))
                    && url.contains("http://{{ $labels.instance }}/runbook"))
                    || (url.contains(&format!("{{{{ end }}}}{anchor}{{{{ end }}}}"))
                        && url.contains("{{ $externalURL }}/alerts"))),
            "{name}: {url}"
        );
        assert!(
            sections.contains(&name.as_str()),
            "docs/runbook.md has no section for {name}"
        );
        let hold = rule["for"].as_str().unwrap_or("0s");
        let hold = humantime::parse_duration(hold).expect("duration");
        // The watchdog fires at once, always: that is its point.
        assert!(
            hold >= std::time::Duration::from_secs(180) || name.ends_with("Watchdog"),
            "{name}: for {hold:?} is shorter than three scrape intervals"
        );
    }
    for section in sections.iter().filter(|s| s.starts_with("Firepower")) {
        assert!(
            alerts.iter().any(|(n, _)| n == section),
            "runbook section {section} has no alert"
        );
    }
    // The replica of the FMC alert exists under a name an FMC user recognises.
    let replica = alerts
        .iter()
        .find(|(n, _)| n == "FirepowerCiscoCloudConfigurationFailure")
        .expect("replica");
    assert_eq!(replica.1["labels"]["severity"].as_str(), Some("critical"));
    assert!(
        replica.1["annotations"]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("Cisco Cloud Configuration")
    );
}

/// The README's one-scrape-per-target list names exactly the targets of the example
/// configuration that compose and Kubernetes ship: a name it does not have would be a 400 and a
/// down job (and `FirepowerCloudExporterDown`).
#[test]
fn the_readme_per_target_list_names_the_example_configuration_targets() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let section = &readme[readme.find("One scrape per target").expect("section")..];
    let listed = section
        .lines()
        .find_map(|l| l.trim_start().strip_prefix("- targets: ["))
        .and_then(|l| l.strip_suffix(']'))
        .expect("the README lists the targets");
    let mut readme_names: Vec<&str> = listed.split(',').map(str::trim).collect();
    let config = firepower_cloud_exporter::config::Source {
        file: Some(root.join("deploy/config.example.yml")),
        ..Default::default()
    }
    .load()
    .unwrap_or_else(|e| panic!("{e}"));
    let mut configured = config.target_names();
    readme_names.sort_unstable();
    configured.sort_unstable();
    assert_eq!(readme_names, configured);
}

/// Every connector.properties key the exporter reads is in the table of docs/configuration.md,
/// with whether it is used.
#[test]
fn every_connector_properties_key_is_documented_as_used_or_not() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/configuration.md"),
    )
    .expect("docs/configuration.md");
    let section = &doc[doc.find("## connector.properties").expect("section")..];
    for key in firepower_cloud_exporter::config::CONNECTOR_KEYS {
        let row = section
            .lines()
            .find(|l| l.starts_with(&format!("| `{key}` |")))
            .unwrap_or_else(|| panic!("{key} has no row in docs/configuration.md"));
        let used = row.split('|').nth(2).unwrap_or_default().trim();
        assert!(used.starts_with("yes") || used.starts_with("no"), "{row}");
    }
    assert!(section.contains("| any other key | no |"));
}

/// Every embedded host has a row in docs/endpoints.md under its region: its FMC module and row,
/// who uses it and where the name comes from, the same as the embedded list says, citing a source
/// the page defines (a secondary-only name says so).
#[test]
fn every_embedded_host_cites_its_source_in_docs_endpoints_md() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let doc = std::fs::read_to_string(root.join("docs/endpoints.md")).expect("endpoints.md");
    let sources = &doc[doc.find("### Sources").expect("a Sources section")..];
    for (region, heading) in [("us", "### US"), ("eu", "### EU"), ("apjc", "### APJC")] {
        let text = std::fs::read_to_string(root.join(format!("src/config/defaults/{region}.yaml")))
            .expect("embedded list");
        let list: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).expect("yaml");
        let section = &doc[doc.find(heading).unwrap_or_else(|| panic!("{heading}"))..];
        let section = &section[..section[4..].find("\n### ").map_or(section.len(), |i| i + 4)];
        for target in list["targets"].as_sequence().expect("targets") {
            let field = |k: &str| target[k].as_str().unwrap_or_default().to_string();
            let (name, host, source) = (field("name"), field("host"), field("source"));
            let row = section
                .lines()
                .find(|l| l.starts_with(&format!("| `{name}` | {host} |")))
                .unwrap_or_else(|| {
                    panic!("{region}: {name} ({host}) has no row in docs/endpoints.md")
                });
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let (module_row, used_by, cited) = (cells[3], cells[4], cells[5]);
            assert_eq!(used_by.replace(' ', "_"), field("used_by"), "{row}");
            assert!(
                cited.starts_with(&source),
                "{region}: {row} says not `{source}`"
            );
            let service = field("service");
            let title = match service.as_str() {
                "cisco_cloud_configuration" => "Cisco Cloud Configuration",
                "amp_dynamic_analysis" => "AMP Dynamic Analysis",
                "local_malware_analysis_signatures" => "Local Malware Analysis Signatures",
                _ => "AMP Connection Status",
            };
            assert!(module_row.ends_with(title), "{row}");
            if source == "secondary" {
                continue;
            }
            let ids: Vec<&str> = cited
                .match_indices('[')
                .filter_map(|(i, _)| cited[i..].find(']').map(|j| &cited[i..=i + j]))
                .collect();
            assert!(!ids.is_empty(), "{region}: {row} cites no source");
            for id in ids {
                assert!(
                    sources.contains(&format!("- **{id}**")),
                    "{row} cites {id}, which the Sources list does not define"
                );
            }
        }
    }
}

/// The `owner` label values (docs/reasons.md, Owners).
const OWNERS: [&str; 7] = [
    "dns",
    "firewall",
    "proxy",
    "tls_inspection",
    "fmc_admin",
    "cisco",
    "monitoring",
];

/// The owners table of docs/reasons.md lists exactly these values, and the runbook's routing
/// example is a configuration Alertmanager accepts that sends each owner to its team.
#[tokio::test]
async fn every_owner_routes_as_the_runbook_shows() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let reasons = std::fs::read_to_string(root.join("docs/reasons.md")).expect("reasons");
    let table = &reasons[reasons.find("## Owners").expect("an Owners section")..];
    let listed: Vec<&str> = table
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .collect();
    assert_eq!(listed, OWNERS, "docs/reasons.md, Owners");
    let Some(amtool) = tool("amtool") else {
        return;
    };
    let runbook = std::fs::read_to_string(root.join("docs/runbook.md")).expect("runbook");
    let section = &runbook[runbook
        .find("## Routing by owner")
        .expect("the routing section")..];
    let start = section.find("```yaml\n").expect("a yaml block") + 8;
    let yaml = &section[start..start + section[start..].find("```").expect("its end")];
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("routing.yml");
    std::fs::write(&file, yaml).expect("write");
    let checked = tokio::process::Command::new(&amtool)
        .arg("check-config")
        .arg(&file)
        .output()
        .await
        .expect("amtool");
    assert!(checked.status.success(), "{checked:?}");
    for (owner, receiver) in [
        ("dns", "dns-team"),
        ("firewall", "network-team"),
        ("proxy", "security-team"),
        ("tls_inspection", "security-team"),
        ("fmc_admin", "firewall-admins"),
        ("cisco", "firewall-admins"),
        ("monitoring", "monitoring"),
    ] {
        let routed = tokio::process::Command::new(&amtool)
            .args(["config", "routes", "test", "--config.file"])
            .arg(&file)
            .arg(format!("--verify.receivers={receiver}"))
            .arg(format!("owner={owner}"))
            .arg("alertname=FirepowerCloudDnsFailure")
            .output()
            .await
            .expect("amtool");
        assert!(
            routed.status.success(),
            "owner={owner} does not reach {receiver}: {routed:?}"
        );
    }
}
