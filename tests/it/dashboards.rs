//! The Grafana dashboards follow the conventions: fixed uids, a data source variable, job and
//! instance variables, every selector filtered by them, `$__rate_interval`, units everywhere.
//! (`e2e.rs` runs every query against a real Prometheus.)

use std::path::{Path, PathBuf};

use serde_json::Value;

pub fn dashboard_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("dashboards/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

pub fn load(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("read"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every panel, rows' nested panels included.
pub fn panels(dashboard: &Value) -> Vec<Value> {
    let mut out = Vec::new();
    for p in dashboard["panels"].as_array().cloned().unwrap_or_default() {
        if p["type"] == "row" {
            out.extend(p["panels"].as_array().cloned().unwrap_or_default());
        } else {
            out.push(p);
        }
    }
    out
}

/// The metric selectors of a `PromQL` expression: each metric name with its `{…}` (empty when bare).
fn selectors(expr: &str) -> Vec<(String, String)> {
    let bytes = expr.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c == '"' {
            // Skip string literals (label values).
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += 1;
            }
            i += 1;
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < bytes.len()
                && ((bytes[i] as char).is_ascii_alphanumeric()
                    || bytes[i] == b'_'
                    || bytes[i] == b':')
            {
                i += 1;
            }
            let word = &expr[start..i];
            let is_metric = word.starts_with("firepower_cloud") || word == "up";
            if is_metric {
                let rest = &expr[i..];
                let labels = if rest.starts_with('{') {
                    let end = rest.find('}').expect("closing brace");
                    rest[1..end].to_string()
                } else {
                    String::new()
                };
                out.push((word.to_string(), labels));
            }
            continue;
        }
        i += 1;
    }
    out
}

/// The rules of grafana/dashboard-linter, each checked here by its name: `template-datasource-rule`,
/// `template-job-rule`, `template-instance-rule` (the variables, multi-valued with "All"),
/// `template-on-time-change-reload-rule` (variables refresh on a time range change),
/// `template-label-promql-rule` (variables are `label_values` queries), `panel-datasource-rule`
/// (every panel reads `${datasource}`), `panel-title-description-rule` (every panel says what it
/// shows), `panel-units-rule`, `target-job-rule`, `target-instance-rule` (every selector filtered
/// by them, and by `$site`), `target-rate-interval-rule` (`$__rate_interval`),
/// `target-promql-rule` (every query runs on a real Prometheus: `e2e.rs`), and
/// `uneditable-dashboard` (provisioned dashboards are not edited in place).
#[test]
fn every_dashboard_passes_the_dashboard_linter_rules() {
    for file in dashboard_files() {
        let name = file.display().to_string();
        let d = load(&file);
        assert_eq!(d["editable"], false, "{name}: uneditable-dashboard");
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            if v["type"] == "query" {
                assert_eq!(
                    v["refresh"], 2,
                    "{name}: ${}: template-on-time-change-reload-rule",
                    v["name"]
                );
                let query = v["query"]["query"]
                    .as_str()
                    .or_else(|| v["query"].as_str())
                    .unwrap_or_default();
                assert!(
                    query.starts_with("label_values("),
                    "{name}: ${}: template-label-promql-rule: {query}",
                    v["name"]
                );
            }
        }
        for panel in panels(&d) {
            let title = panel["title"].as_str().unwrap_or_default();
            assert!(
                panel["description"].as_str().is_some_and(|t| !t.is_empty()),
                "{name}/{title}: panel-title-description-rule"
            );
        }
    }
}

/// Every recorded series is read by a dashboard or an alert: a recording rule nothing uses only
/// costs Prometheus.
#[test]
fn every_recording_rule_is_used() {
    let rules = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("alerts/firepower-cloud.rules.yml"),
    )
    .expect("rules");
    let dashboards: String = dashboard_files()
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("dashboard"))
        .collect();
    for record in rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- record: "))
    {
        let used_by_alert = rules
            .lines()
            .filter(|l| !l.contains("record:"))
            .any(|l| l.contains(record));
        assert!(
            used_by_alert || dashboards.contains(record),
            "{record} is recorded and nothing reads it"
        );
    }
}

#[test]
fn every_dashboard_follows_the_conventions() {
    let files = dashboard_files();
    assert!(files.len() >= 3, "{files:?}");
    let mut uids = std::collections::HashSet::new();
    for file in &files {
        let name = file.display().to_string();
        let d = load(file);
        let uid = d["uid"].as_str().unwrap_or_default();
        assert!(
            !uid.is_empty() && uid.len() <= 40 && uids.insert(uid.to_string()),
            "{name}: uid {uid}"
        );
        assert!(
            d["title"].as_str().is_some_and(|t| !t.is_empty()),
            "{name}: title"
        );
        assert!(
            d["tags"].as_array().is_some_and(|t| !t.is_empty()),
            "{name}: tags"
        );
        assert!(
            d["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
            "{name}: schemaVersion"
        );
        let vars = d["templating"]["list"].as_array().expect("templating");
        let var = |n: &str| {
            vars.iter()
                .find(|v| v["name"] == n)
                .unwrap_or_else(|| panic!("{name}: no ${n} variable"))
        };
        assert_eq!(var("datasource")["type"], "datasource", "{name}");
        assert_eq!(var("datasource")["query"], "prometheus", "{name}");
        for v in ["job", "instance", "site"] {
            assert_eq!(var(v)["multi"], true, "{name}: ${v} multi");
            assert_eq!(var(v)["includeAll"], true, "{name}: ${v} includeAll");
        }
        for v in ["job", "instance"] {
            assert_eq!(var(v)["allValue"], ".+", "{name}: ${v} allValue");
        }
        // With one site there is no site label: "All" must match its absence too.
        assert_eq!(var("site")["allValue"], ".*", "{name}: $site allValue");
        assert!(
            !d.to_string().contains("${DS_"),
            "{name}: ${{DS_…}} inputs do not work with file provisioning"
        );
        for panel in panels(&d) {
            let title = panel["title"].as_str().unwrap_or_default();
            assert_eq!(
                panel["datasource"]["uid"], "${datasource}",
                "{name}/{title}: data source"
            );
            let kind = panel["type"].as_str().unwrap_or_default();
            if matches!(
                kind,
                "stat"
                    | "timeseries"
                    | "heatmap"
                    | "table"
                    | "state-timeline"
                    | "gauge"
                    | "bargauge"
            ) {
                assert!(
                    panel["fieldConfig"]["defaults"]["unit"]
                        .as_str()
                        .is_some_and(|u| !u.is_empty()),
                    "{name}/{title}: no unit"
                );
            }
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            assert!(!targets.is_empty(), "{name}/{title}: no query");
            for t in targets {
                let expr = t["expr"].as_str().unwrap_or_default();
                for (metric, labels) in selectors(expr) {
                    assert!(
                        labels.contains("job=~\"$job\"")
                            && labels.contains("instance=~\"$instance\"")
                            && labels.contains("site=~\"$site\""),
                        "{name}/{title}: `{metric}` not filtered by $job, $instance and $site in `{expr}`"
                    );
                }
                for function in ["rate(", "increase("] {
                    for (i, _) in expr.match_indices(function) {
                        let window = &expr[i..];
                        let window = &window[window.find('[').expect("range")..];
                        assert!(
                            window.starts_with("[$__rate_interval]"),
                            "{name}/{title}: {function} without $__rate_interval in `{expr}`"
                        );
                    }
                }
                if kind == "heatmap" {
                    assert_eq!(t["format"], "heatmap", "{name}/{title}");
                    assert!(
                        expr.starts_with("sum by (le) (rate("),
                        "{name}/{title}: `{expr}`"
                    );
                }
            }
        }
    }
}

#[test]
fn the_selector_scanner_finds_bare_and_filtered_metrics() {
    let found = selectors(
        "sum by (le) (rate(firepower_cloud_x_bucket{job=~\"$job\"}[5m])) / up + firepower_cloud:y",
    );
    assert_eq!(
        found,
        vec![
            (
                "firepower_cloud_x_bucket".to_string(),
                "job=~\"$job\"".to_string()
            ),
            ("up".to_string(), String::new()),
            ("firepower_cloud:y".to_string(), String::new()),
        ]
    );
}

/// A panel that reads a recorded series says so, since it is empty without the rule file.
#[test]
fn panels_that_need_the_recording_rules_say_so() {
    let mut found = 0;
    for file in dashboard_files() {
        for panel in panels(&load(&file)) {
            let reads_recorded = panel["targets"].as_array().into_iter().flatten().any(|t| {
                t["expr"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("firepower_cloud:")
            });
            if reads_recorded {
                found += 1;
                let description = panel["description"].as_str().unwrap_or_default();
                assert!(
                    description.contains("alerts/firepower-cloud.rules.yml"),
                    "{}: panel {:?} reads a recorded series without saying so",
                    file.display(),
                    panel["title"]
                );
            }
        }
    }
    assert!(found >= 3, "{found}");
}

/// Every field override of a panel that sets `property`, by the column it matches.
fn overrides<'a>(panel: &'a Value, property: &str) -> Vec<(&'a str, &'a Value)> {
    panel["fieldConfig"]["overrides"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|o| {
            let column = o["matcher"]["options"].as_str().unwrap_or_default();
            o["properties"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(move |p| p["id"] == property)
                .map(move |p| (column, &p["value"]))
        })
        .collect()
}

/// What the on-call engineer does with a dashboard: reads the long remedy and evidence text
/// (wrapped, not cut), follows the links from a failing row or target to the exporter's status
/// page, its `/debug` view and the reason's entry (each link fetched from a live exporter, with
/// a failing target), sees no failed stage drawn as a duration, and the row history per site.
#[tokio::test]
async fn dashboards_wrap_the_words_link_to_the_evidence_and_never_draw_a_failure_as_time() {
    let world = crate::World::new().await;
    let (config, _server, _) = crate::refused_8989_config(&world).await;
    let exporter = crate::util::Exporter::start(&config).await;
    let mut followed = 0;
    for path in dashboard_files() {
        let dashboard = load(&path);
        let name = path.display().to_string();
        for panel in panels(&dashboard) {
            let title = panel["title"].as_str().unwrap_or_default();
            // Long text wraps.
            if panel["type"] == "table" {
                let wrapped: Vec<&str> = overrides(&panel, "custom.cellOptions")
                    .into_iter()
                    .filter(|(_, v)| v["wrapText"] == true)
                    .map(|(c, _)| c)
                    .collect();
                let renamed = &panel["transformations"];
                for column in ["Next step", "Evidence"] {
                    if renamed.to_string().contains(&format!("\"{column}\"")) {
                        assert!(
                            wrapped.contains(&column),
                            "{name}: {title}: {column} does not wrap"
                        );
                    }
                }
            }
            // Links lead somewhere real on the exporter.
            for (column, links) in overrides(&panel, "links") {
                for link in links.as_array().into_iter().flatten() {
                    let url = link["url"].as_str().unwrap_or_default();
                    let Some(rest) = url.strip_prefix("http://${__data.fields.Exporter}") else {
                        assert!(url.starts_with("/d/"), "{name}: {title}: {url}");
                        continue;
                    };
                    let value = if column.contains("Reason") {
                        "tcp_refused"
                    } else {
                        "sse"
                    };
                    let path = rest.replace("${__value.raw}", value);
                    let path = path.split('#').next().unwrap_or_default();
                    let (status, body) = exporter.get(path).await;
                    assert_eq!(status, 200, "{name}: {title}: {column} links to {path}");
                    assert!(
                        body.contains(value),
                        "{name}: {title}: {path} does not show {value}"
                    );
                    followed += 1;
                }
            }
            // A duration is drawn only for the stages that passed.
            if panel["fieldConfig"]["defaults"]["unit"] == "s" {
                for target in panel["targets"].as_array().into_iter().flatten() {
                    let expr = target["expr"].as_str().unwrap_or_default();
                    assert!(
                        !expr.contains("stage_success") || expr.contains("== 1"),
                        "{name}: {title}: a success series on a seconds axis: {expr}"
                    );
                    if expr.starts_with("firepower_cloud_stage_duration_seconds") {
                        assert!(
                            expr.contains("and on") && expr.contains("stage_success"),
                            "{name}: {title}: failed stages drawn as durations: {expr}"
                        );
                    }
                }
            }
            if title == "Row history" {
                assert!(
                    panel["targets"][0]["expr"]
                        .as_str()
                        .is_some_and(|e| e.contains("by (site, title)")),
                    "{name}: the row history is per site"
                );
            }
        }
    }
    assert!(followed >= 6, "only {followed} links followed");
}
