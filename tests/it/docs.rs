//! Documents that are generated from the code stay equal to it, and exposition passes promtool.

use std::path::Path;

use firepower_cloud_exporter::diagnosis::reasons_markdown;

use crate::util::Exporter;
use crate::{World, healthy_sse, sse_target};

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

/// promtool is required where the test script says so (CI installs it); elsewhere the check is
/// reported as not run.
pub fn tool(name: &str) -> Option<std::path::PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() && std::env::var_os("FCE_REQUIRE_TOOLS").is_some() {
        panic!(
            "`{name}` is required (FCE_REQUIRE_TOOLS is set): apt-get install prometheus prometheus-alertmanager"
        );
    }
    if found.is_none() {
        eprintln!("note: `{name}` not found; skipping the check that needs it");
    }
    found
}

#[tokio::test]
async fn exposition_passes_promtool_check_metrics() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let world = World::new().await;
    let (server, plain) = healthy_sse(&world, "api-sse.cisco.com").await;
    let exporter = Exporter::start(&world.config(
        "",
        &[sse_target(
            "sse",
            "api-sse.cisco.com",
            server.port(),
            plain.port(),
        )],
    ))
    .await;
    for path in ["/probe", "/probe", "/metrics"] {
        let (status, body) = exporter.get(path).await;
        assert_eq!(status, 200);
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
        let report = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && report.trim().is_empty(),
            "promtool check metrics on {path}:\n{report}"
        );
    }
}

#[test]
fn the_shipped_example_configuration_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/config.example.yml");
    let source = firepower_cloud_exporter::config::Source {
        file: Some(path),
        ..Default::default()
    };
    let config = source.load().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(config.targets.len(), 5);
}
