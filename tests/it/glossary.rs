//! One glossary (`docs/glossary.md`, generated from `src/checklist/glossary.rs`) is the source of
//! the words on every surface: the test reads the glossary and finds its words, as written, on
//! the status page, in `check`, in the metrics the alerts read, in the alert rules, in the
//! dashboards and in the runbook.

use std::path::Path;
use std::process::Stdio;

use firepower_cloud_exporter::checklist::glossary_markdown;
use firepower_cloud_exporter::metrics::names;

use crate::util::Exporter;
use crate::{World, refused_8989_config};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn docs_glossary_md_matches_the_glossary() {
    let path = root().join("docs/glossary.md");
    let generated = glossary_markdown();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/glossary.md");
    }
    assert!(
        std::fs::read_to_string(&path).unwrap_or_default() == generated,
        "docs/glossary.md is stale: run `UPDATE_DOCS=1 cargo test --test it glossary`"
    );
}

/// The rows of a Markdown table under `heading`: its cells, without the header.
fn table(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("glossary section {heading}"));
    section
        .lines()
        .filter(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().trim_matches('`').to_string())
                .collect()
        })
        .collect()
}

#[tokio::test]
async fn every_surface_uses_the_glossary_words() {
    let glossary = std::fs::read_to_string(root().join("docs/glossary.md")).expect("glossary");
    let terms: Vec<String> = table(&glossary, "What a failure shows")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let term = |name: &str| {
        terms
            .iter()
            .find(|t| t.as_str() == name)
            .unwrap_or_else(|| panic!("{name} is not in the glossary"))
            .clone()
    };
    let (who, next, evidence) = (term("Who fixes it"), term("Next step"), term("Evidence"));
    let owners = table(&glossary, "Who fixes it");
    let team = |owner: &str| {
        owners
            .iter()
            .find(|r| r[0] == owner)
            .map_or_else(|| panic!("owner {owner}"), |r| r[1].clone())
    };
    let rows = table(&glossary, "The FMC's rows");

    // A target whose TCP 8989 is refused: the firewall team's.
    let world = World::new().await;
    let (config, _server, _) = refused_8989_config(&world).await;
    let exporter = Exporter::start(&config).await;
    let firewall = team("firewall");

    // The status page.
    let (_, page) = exporter.get("/").await;
    for words in [
        format!("<strong>{who}:</strong> {firewall}"),
        format!("<strong>{next}:</strong>"),
        format!("tcp_refused (fix: {firewall})"),
        format!("<td>{}</td>", rows[1][0]),
    ] {
        assert!(page.contains(&words), "the page lacks {words}");
    }

    // `check`.
    let path = world.dir.path().join("glossary.yml");
    std::fs::write(&path, &config).expect("config");
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_firepower-cloud-exporter"))
        .args(["check", "--config.file", path.to_str().expect("path")])
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .await
        .expect("check runs");
    let text = String::from_utf8_lossy(&out.stdout);
    for words in [
        format!("  {who}: {firewall} (owner=firewall)"),
        format!("  {next}: "),
        format!("tcp_refused (fix: {firewall})"),
        rows[1][0].clone(),
    ] {
        assert!(text.contains(&words), "check lacks {words}:\n{text}");
    }

    // The metrics the alerts read: each reason's team, in the glossary's words.
    let (_, metrics) = exporter.get("/metrics").await;
    let line = metrics
        .lines()
        .find(|l| l.starts_with(names::REASON_INFO) && l.contains("reason=\"tcp_refused\""))
        .expect("reason_info for tcp_refused");
    assert!(line.contains(&format!("team=\"{firewall}\"")), "{line}");
    let probe = exporter.probe("sse").await;
    assert_eq!(
        probe.label(names::TARGET_VERDICT, &[("target", "sse")], "owner"),
        "firewall"
    );

    // The alert rules: each row alert names its row as the glossary does and its summary says
    // `fix: <team>`; every owner an alert names is one of the glossary's.
    let rules =
        std::fs::read_to_string(root().join("alerts/firepower-cloud.rules.yml")).expect("rules");
    for row in &rows {
        let (title, module) = (&row[0], &row[1]);
        let named = if title == module {
            format!("{title}: Failure")
        } else {
            format!("{module}: {title}: Failure")
        };
        assert!(rules.contains(&named), "no row alert says {named}");
    }
    assert!(rules.contains("; fix: {{ .Labels.team }}"));
    for owner in rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("owner: "))
        .filter(|o| !o.starts_with('\''))
    {
        assert!(
            owners.iter().any(|r| r[0] == owner),
            "an alert names owner {owner}, which the glossary does not"
        );
    }

    // The dashboards' columns.
    let overview = std::fs::read_to_string(root().join("dashboards/firepower-cloud-overview.json"))
        .expect("overview");
    for column in [&who, &next, &evidence] {
        assert!(
            overview.contains(&format!("\"{column}\"")),
            "the overview dashboard has no {column} column"
        );
    }

    // The runbook routes on the glossary's owners and names the summary's `fix:`.
    let runbook = std::fs::read_to_string(root().join("docs/runbook.md")).expect("runbook");
    for owner in &owners {
        assert!(
            runbook.contains(&format!("`{}`", owner[0])),
            "the runbook does not name owner {}",
            owner[0]
        );
    }
    assert!(
        runbook.contains("; fix: DNS"),
        "the runbook's example summary"
    );
}
