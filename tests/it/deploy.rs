//! The deployment files stay honest: the `PrometheusRule` carries exactly `alerts/`, the `ConfigMap`
//! the example configuration, Prometheus and Alertmanager accept the compose files, Grafana's
//! provisioning points at dashboards that exist, the Kubernetes and systemd hardening is in place.

use std::path::{Path, PathBuf};

use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use serde::Deserialize;
use serde_yaml_ng::Value;
use tokio::process::Command;

use crate::docs::tool;
use crate::e2e::{Daemon, get_json, wait_for};
use firepower_cloud_testkit::exporter::ExporterProcess;
use firepower_cloud_testkit::request_tls;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

fn read(path: &str) -> String {
    std::fs::read_to_string(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn yaml(path: &str) -> Value {
    serde_yaml_ng::from_str(&read(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `PrometheusRule` text for the shipped rule file.
fn prometheus_rule() -> String {
    let rules = read("alerts/firepower-cloud.rules.yml");
    let mut out = String::from(
        "# Generated from alerts/firepower-cloud.rules.yml (the tests keep them equal; regenerate with\n\
         # `UPDATE_DOCS=1 cargo test --test it deploy`).\n\
         apiVersion: monitoring.coreos.com/v1\nkind: PrometheusRule\nmetadata:\n  name: firepower-cloud-exporter\n  labels:\n    app.kubernetes.io/name: firepower-cloud-exporter\n    # kube-prometheus-stack loads rules labelled with its Helm release name (the chart's\n    # default selector); set yours here or in kustomization.yaml.\n    release: kube-prometheus-stack\nspec:\n",
    );
    for line in rules
        .lines()
        .skip_while(|l| l.starts_with('#') || l.is_empty())
    {
        if line.is_empty() {
            out.push('\n');
        } else {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[test]
fn the_prometheus_rule_carries_exactly_the_shipped_rules() {
    let path = repo("deploy/kubernetes/prometheusrule.yaml");
    let expected = prometheus_rule();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).expect("write");
    }
    let shipped: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&path).expect("prometheusrule.yaml"))
            .expect("YAML");
    let rules = yaml("alerts/firepower-cloud.rules.yml");
    assert_eq!(shipped["kind"], "PrometheusRule");
    assert_eq!(
        shipped["spec"]["groups"], rules["groups"],
        "the PrometheusRule differs from alerts/: run `UPDATE_DOCS=1 cargo test --test it deploy`"
    );
}

/// The dashboards as `ConfigMap`s for Grafana's dashboard sidecar (label `grafana_dashboard`), one
/// per dashboard, each carrying the file as shipped.
fn dashboard_config_maps() -> String {
    let mut out = String::from(
        "# Generated from dashboards/ (the tests keep them equal; regenerate with\n\
         # `UPDATE_DOCS=1 cargo test --test it deploy`). Grafana's dashboard sidecar\n\
         # (kube-prometheus-stack's) loads every ConfigMap labelled grafana_dashboard.\n",
    );
    for path in crate::dashboards::dashboard_files() {
        let name = path
            .file_stem()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        let file = path
            .file_name()
            .expect("file")
            .to_string_lossy()
            .into_owned();
        let text = std::fs::read_to_string(&path).expect("dashboard");
        out.push_str(&format!(
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: grafana-dashboard-{name}\n  labels:\n    app.kubernetes.io/name: firepower-cloud-exporter\n    grafana_dashboard: \"1\"\ndata:\n  {file}: |\n"
        ));
        for line in text.lines() {
            out.push_str("    ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// One Alertmanager matcher string (`severity=~"warning|info"`) as an `AlertmanagerConfig`
/// matcher.
fn matcher(text: &str) -> serde_json::Value {
    let (name, rest) = text
        .split_once(['=', '!'])
        .unwrap_or_else(|| panic!("matcher {text}"));
    let op_len = rest.find('"').expect("quoted value");
    let op = format!("{}{}", &text[name.len()..=name.len()], &rest[..op_len]);
    let value = rest[op_len..].trim_matches('"');
    serde_json::json!({ "name": name, "matchType": op, "value": value })
}

fn route_of(route: &Value) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (from, to) in [
        ("receiver", "receiver"),
        ("group_wait", "groupWait"),
        ("group_interval", "groupInterval"),
        ("repeat_interval", "repeatInterval"),
    ] {
        if let Some(v) = route[from].as_str() {
            out.insert(to.into(), v.into());
        }
    }
    if let Some(by) = route["group_by"].as_sequence() {
        let by: Vec<&str> = by.iter().filter_map(Value::as_str).collect();
        out.insert("groupBy".into(), serde_json::json!(by));
    }
    if let Some(m) = route["matchers"].as_sequence() {
        let m: Vec<serde_json::Value> = m.iter().filter_map(Value::as_str).map(matcher).collect();
        out.insert("matchers".into(), m.into());
    }
    if let Some(routes) = route["routes"].as_sequence() {
        let routes: Vec<serde_json::Value> = routes.iter().map(route_of).collect();
        out.insert("routes".into(), routes.into());
    }
    out.into()
}

/// `alerts/alertmanager.example.yml` as prometheus-operator's `AlertmanagerConfig`: the same
/// routes, receivers and inhibitions (the operator scopes them to the resource's namespace).
fn alertmanager_config() -> String {
    let example = yaml("alerts/alertmanager.example.yml");
    let receivers: Vec<serde_json::Value> = example["receivers"]
        .as_sequence()
        .expect("receivers")
        .iter()
        .map(|r| {
            let hooks: Vec<serde_json::Value> = r["webhook_configs"]
                .as_sequence()
                .into_iter()
                .flatten()
                .map(|w| {
                    serde_json::json!({
                        "url": w["url"].as_str().expect("url"),
                        "sendResolved": w["send_resolved"].as_bool().unwrap_or(true),
                    })
                })
                .collect();
            serde_json::json!({ "name": r["name"].as_str().expect("name"), "webhookConfigs": hooks })
        })
        .collect();
    let inhibit: Vec<serde_json::Value> = example["inhibit_rules"]
        .as_sequence()
        .expect("inhibit_rules")
        .iter()
        .map(|r| {
            let list = |key: &str| -> Vec<serde_json::Value> {
                r[key]
                    .as_sequence()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(matcher)
                    .collect()
            };
            let equal: Vec<&str> = r["equal"]
                .as_sequence()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            serde_json::json!({
                "sourceMatch": list("source_matchers"),
                "targetMatch": list("target_matchers"),
                "equal": equal,
            })
        })
        .collect();
    let resource = serde_json::json!({
        "apiVersion": "monitoring.coreos.com/v1alpha1",
        "kind": "AlertmanagerConfig",
        "metadata": {
            "name": "firepower-cloud-exporter",
            "labels": {
                "app.kubernetes.io/name": "firepower-cloud-exporter",
                "release": "kube-prometheus-stack",
            },
        },
        "spec": {
            "route": route_of(&example["route"]),
            "receivers": receivers,
            "inhibitRules": inhibit,
        },
    });
    "# Generated from alerts/alertmanager.example.yml (the tests keep them equal; regenerate with\n\
     # `UPDATE_DOCS=1 cargo test --test it deploy`): its routes, receivers and inhibitions for\n\
     # prometheus-operator's Alertmanager (which adds a namespace matcher to each route). The\n\
     # receivers are yours to fill; kube-prometheus-stack selects AlertmanagerConfigs by its\n\
     # alertmanagerConfigSelector (set `release` here to what it selects).\n"
        .to_string()
        // `=` quoted, for YAML 1.1 readers.
        + &serde_yaml_ng::to_string(&resource)
            .expect("YAML")
            .replace("matchType: =\n", "matchType: \"=\"\n")
}

#[test]
fn the_dashboards_and_the_alertmanager_config_are_generated_from_the_shipped_files() {
    for (file, expected) in [
        ("deploy/kubernetes/dashboards.yaml", dashboard_config_maps()),
        (
            "deploy/kubernetes/alertmanagerconfig.yaml",
            alertmanager_config(),
        ),
    ] {
        if std::env::var_os("UPDATE_DOCS").is_some() {
            std::fs::write(repo(file), &expected).expect("write");
        }
        assert!(
            read(file) == expected,
            "{file} differs from what it is generated from: run `UPDATE_DOCS=1 cargo test --test it deploy`"
        );
    }
}

/// `kubectl apply -k deploy/kubernetes` as the operator runs it, up to the cluster: the
/// `kubectl kustomize` output validated offline against the Kubernetes API schemas and
/// prometheus-operator's CRD schemas with unknown fields rejected (`scripts/validate-kubernetes`);
/// the image is the one `images:` names, pulled `IfNotPresent`; the pod's grace outlasts the
/// exporter's shutdown grace; the exporter knows its external URL; the dashboards are `ConfigMap`s
/// the Grafana sidecar loads, each equal to its file; the Alertmanager routing is there.
#[tokio::test]
async fn the_kubernetes_manifests_build_with_kustomize_and_validate_strictly() {
    let Some(kubectl) = tool("kubectl") else {
        return;
    };
    let built = Command::new(&kubectl)
        .args(["kustomize"])
        .arg(repo("deploy/kubernetes"))
        .output()
        .await
        .expect("kubectl runs");
    assert!(
        built.status.success(),
        "kubectl kustomize: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let dir = tempfile::tempdir().expect("dir");
    let manifests = dir.path().join("manifests.yaml");
    std::fs::write(&manifests, &built.stdout).expect("write");
    let checked = Command::new(repo("scripts/validate-kubernetes"))
        .arg(&manifests)
        .output()
        .await
        .expect("python3 runs scripts/validate-kubernetes");
    assert!(
        checked.status.success(),
        "{}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let text = String::from_utf8_lossy(&built.stdout).into_owned();
    let docs: Vec<Value> = serde_yaml_ng::Deserializer::from_str(&text)
        .map(|d| Value::deserialize(d).expect("YAML"))
        .collect();
    let of_kind =
        |kind: &str| -> Vec<&Value> { docs.iter().filter(|d| d["kind"] == kind).collect() };
    for doc in &docs {
        assert_eq!(
            doc["metadata"]["namespace"], "monitoring",
            "{:?}",
            doc["kind"]
        );
    }
    let deployment = of_kind("Deployment")[0];
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(
        container["image"],
        "registry.example.net/firepower-cloud-exporter:0.1.0"
    );
    assert_eq!(container["imagePullPolicy"], "IfNotPresent");
    let grace = pod["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("grace");
    let args: Vec<&str> = container["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let shutdown = args
        .iter()
        .find_map(|a| a.strip_prefix("--web.shutdown-grace="))
        .map_or(30, |d| {
            humantime::parse_duration(d).expect("duration").as_secs()
        });
    assert!(
        grace > shutdown,
        "grace {grace} s <= shutdown grace {shutdown} s"
    );
    assert!(
        args.iter()
            .any(|a| a.starts_with("--web.external-url=http")),
        "{args:?}"
    );
    let dashboards: Vec<&Value> = of_kind("ConfigMap")
        .into_iter()
        .filter(|c| c["metadata"]["labels"]["grafana_dashboard"] == "1")
        .collect();
    assert_eq!(dashboards.len(), crate::dashboards::dashboard_files().len());
    for config_map in dashboards {
        let data = config_map["data"].as_mapping().expect("data");
        for (file, json) in data {
            let file = file.as_str().expect("name");
            let shipped: serde_json::Value =
                serde_json::from_str(&read(&format!("dashboards/{file}"))).expect("dashboard");
            let carried: serde_json::Value =
                serde_json::from_str(json.as_str().expect("text")).expect("JSON");
            assert_eq!(carried, shipped, "{file}");
        }
    }
    let routing = of_kind("AlertmanagerConfig");
    assert_eq!(routing.len(), 1);
    assert!(
        routing[0]["spec"]["inhibitRules"]
            .as_sequence()
            .is_some_and(|r| !r.is_empty())
    );
}

/// How many rules (recording and alerting) the shipped rule file has.
fn rule_count() -> usize {
    yaml("alerts/firepower-cloud.rules.yml")["groups"]
        .as_sequence()
        .map_or(0, |groups| {
            groups
                .iter()
                .filter_map(|g| g["rules"].as_sequence())
                .map(Vec::len)
                .sum()
        })
}

#[test]
fn the_config_map_carries_the_example_configuration() {
    let map = yaml("deploy/kubernetes/configmap.yaml");
    assert_eq!(
        map["data"]["config.yml"].as_str(),
        Some(read("deploy/config.example.yml").as_str())
    );
}

#[test]
fn the_deployment_is_hardened_and_probed() {
    let d = yaml("deploy/kubernetes/deployment.yaml");
    let pod = &d["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["automountServiceAccountToken"], false);
    let c = &pod["containers"][0];
    let sc = &c["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["capabilities"]["drop"][0], "ALL");
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/-/healthy");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/-/ready");
    assert_eq!(c["ports"][0]["containerPort"], 10027);
    let args: Vec<&str> = c["args"]
        .as_sequence()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let mount = c["volumeMounts"][0]["mountPath"].as_str().expect("mount");
    assert!(
        args.contains(&format!("--config.file={mount}/config.yml").as_str()),
        "{args:?}"
    );
    // The args parse.
    let mut argv = vec!["firepower-cloud-exporter"];
    argv.extend(args.iter());
    <firepower_cloud_exporter::cli::Cli as clap::Parser>::try_parse_from(argv)
        .expect("the Deployment's args parse");
    let kustomization = yaml("deploy/kubernetes/kustomization.yaml");
    for resource in kustomization["resources"].as_sequence().expect("resources") {
        let file = resource.as_str().expect("path");
        assert!(
            repo(&format!("deploy/kubernetes/{file}")).is_file(),
            "{file}"
        );
    }
}

#[test]
fn the_service_monitor_scrapes_probe_and_metrics_under_the_job_names_the_alerts_expect() {
    let sm = yaml("deploy/kubernetes/servicemonitor.yaml");
    // kube-prometheus-stack selects both by its Helm release label.
    let rule = yaml("deploy/kubernetes/prometheusrule.yaml");
    for object in [&sm, &rule] {
        assert_eq!(
            object["metadata"]["labels"]["release"].as_str(),
            Some("kube-prometheus-stack")
        );
    }
    let endpoints = sm["spec"]["endpoints"].as_sequence().expect("endpoints");
    let jobs: Vec<(&str, &str)> = endpoints
        .iter()
        .map(|e| {
            (
                e["path"].as_str().unwrap_or_default(),
                e["relabelings"][0]["replacement"]
                    .as_str()
                    .unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        jobs,
        vec![
            ("/probe", "firepower-cloud"),
            ("/metrics", "firepower-cloud-exporter")
        ]
    );
}

#[tokio::test]
async fn the_compose_stack_files_exist_and_pass_promtool_and_amtool() {
    let compose = yaml("deploy/compose/compose.yml");
    let dir = repo("deploy/compose");
    let mut mounts = Vec::new();
    for (name, service) in compose["services"].as_mapping().expect("services") {
        for volume in service["volumes"]
            .as_sequence()
            .cloned()
            .unwrap_or_default()
        {
            let spec = volume.as_str().expect("volume");
            let host = spec.split(':').next().expect("host part");
            if host.starts_with('.') {
                let path = dir.join(host);
                assert!(
                    path.exists(),
                    "{name:?} mounts {host}, which does not exist"
                );
                mounts.push((
                    host.to_string(),
                    spec.split(':').nth(1).unwrap_or_default().to_string(),
                ));
            }
        }
    }
    for service in ["exporter", "prometheus", "alertmanager", "grafana"] {
        assert!(
            compose["services"][service].is_mapping(),
            "{service} missing"
        );
    }
    // Grafana's dashboard provider reads the folder the dashboards are mounted at.
    let provider = yaml("deploy/compose/grafana/provisioning/dashboards/firepower-cloud.yml");
    let path = provider["providers"][0]["options"]["path"]
        .as_str()
        .expect("path");
    assert!(
        mounts
            .iter()
            .any(|(host, target)| host == "../../dashboards" && target == path),
        "{mounts:?}"
    );
    let datasource = yaml("deploy/compose/grafana/provisioning/datasources/prometheus.yml");
    assert_eq!(datasource["datasources"][0]["type"], "prometheus");

    // Prometheus accepts its configuration with the shipped rules where compose mounts them.
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("dir");
    let config = read("deploy/compose/prometheus.yml").replace(
        "/etc/prometheus/rules/",
        &format!("{}/", repo("alerts").display()),
    );
    let path = tmp.path().join("prometheus.yml");
    std::fs::write(&path, config).expect("write");
    let out = Command::new(&promtool)
        .args(["check", "config"])
        .arg(&path)
        .output()
        .await
        .expect("promtool");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && report.contains(&format!("SUCCESS: {} rules found", rule_count())),
        "{report}"
    );
    let Some(amtool) = tool("amtool") else { return };
    let out = Command::new(amtool)
        .args(["check-config"])
        .arg(repo("alerts/alertmanager.example.yml"))
        .output()
        .await
        .expect("amtool");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// `scripts/validate-compose` on `file` with `env`: the file as `docker compose config` reads
/// it (interpolated, validated against the Compose schema), or its error.
async fn compose_config(file: &Path, env: &[(&str, &str)]) -> Result<serde_json::Value, String> {
    let mut command = Command::new(repo("scripts/validate-compose"));
    command
        .arg(file)
        .env_remove("GRAFANA_ADMIN_PASSWORD")
        .env_remove("BIND_ADDRESS");
    for (k, v) in env {
        command.env(k, v);
    }
    let out = command
        .output()
        .await
        .expect("python3 runs scripts/validate-compose");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).expect("JSON"))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The compose stack as `docker compose config` reads it (no container engine runs here): valid
/// against the Compose Specification's schema, every port published on 127.0.0.1 unless the
/// operator says otherwise, no unauthenticated lifecycle API, Grafana's admin password required
/// from the environment, and each web UI told the address people use (`--web.external-url`), so
/// the alerts' runbook links resolve. A misspelt key fails the same validation.
#[tokio::test]
async fn the_compose_stack_is_valid_compose_and_publishes_only_on_loopback() {
    let file = repo("deploy/compose/compose.yml");
    let missing = compose_config(&file, &[]).await;
    assert!(
        missing
            .as_ref()
            .is_err_and(|e| e.contains("GRAFANA_ADMIN_PASSWORD")),
        "{missing:?}"
    );
    let config = compose_config(&file, &[("GRAFANA_ADMIN_PASSWORD", "s3cret")])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let services = config["services"].as_object().expect("services");
    for (name, service) in services {
        for port in service["ports"].as_array().into_iter().flatten() {
            let port = port.as_str().unwrap_or_default();
            assert!(
                port.starts_with("127.0.0.1:"),
                "{name} publishes {port} beyond loopback"
            );
        }
    }
    let command = |service: &str| -> Vec<String> {
        services[service]["command"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string))
            .collect()
    };
    assert!(
        !command("prometheus")
            .iter()
            .any(|a| a.contains("enable-lifecycle"))
    );
    for (service, url) in [
        ("exporter", "http://localhost:10027/"),
        ("prometheus", "http://localhost:9090/"),
        ("alertmanager", "http://localhost:9093/"),
    ] {
        assert!(
            command(service).contains(&format!("--web.external-url={url}")),
            "{service}: {:?}",
            command(service)
        );
    }
    assert_eq!(
        services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"],
        "s3cret"
    );
    // The operator's choice to publish wider is one variable.
    let wide = compose_config(
        &file,
        &[
            ("GRAFANA_ADMIN_PASSWORD", "s3cret"),
            ("BIND_ADDRESS", "0.0.0.0"),
        ],
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(wide["services"]["grafana"]["ports"][0], "0.0.0.0:3000:3000");
    // The validation rejects what compose rejects.
    let dir = tempfile::tempdir().expect("dir");
    let broken = dir.path().join("compose.yml");
    std::fs::write(
        &broken,
        read("deploy/compose/compose.yml").replace("    read_only: true", "    readonly: true"),
    )
    .expect("write");
    let refused = compose_config(&broken, &[("GRAFANA_ADMIN_PASSWORD", "s3cret")]).await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("readonly")),
        "{refused:?}"
    );
}

/// One `COPY` of a Dockerfile stage: the sources in the build context and where they go.
struct Copy {
    sources: Vec<String>,
    dest: String,
}

/// The `COPY` lines of each stage (those taking files from the build context, not `--from`), and
/// each stage's `WORKDIR`.
fn stages(dockerfile: &str) -> Vec<(String, Vec<Copy>)> {
    let mut stages: Vec<(String, Vec<Copy>)> = Vec::new();
    let mut line = String::new();
    for raw in dockerfile.lines() {
        if raw.trim_start().starts_with('#') {
            continue;
        }
        line.push_str(raw.trim_end_matches('\\'));
        if raw.ends_with('\\') {
            line.push(' ');
            continue;
        }
        let words: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        line.clear();
        match words.first().map(String::as_str) {
            Some("FROM") => stages.push(("/".into(), Vec::new())),
            Some("WORKDIR") => {
                if let Some(stage) = stages.last_mut() {
                    stage.0.clone_from(&words[1]);
                }
            }
            Some("COPY") if !words.iter().any(|w| w.starts_with("--from")) => {
                let args: Vec<String> = words[1..]
                    .iter()
                    .filter(|w| !w.starts_with("--"))
                    .cloned()
                    .collect();
                if let (Some((dest, sources)), Some(stage)) = (args.split_last(), stages.last_mut())
                {
                    stage.1.push(Copy {
                        sources: sources.to_vec(),
                        dest: dest.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    stages
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("read_dir") {
            let entry = entry.expect("entry");
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
}

/// The image as `docker build` makes it, as far as this machine can follow (no container engine
/// runs here): the build stage's `COPY` lines assembled into an empty folder exactly as they copy,
/// and the stage's `cargo build --locked` run there, offline from the crates already fetched (in
/// the dev profile: a profile changes the code, not the files a build reads). A file the build
/// needs that the Dockerfile does not copy fails it. The final stage's files exist; the image is
/// multi-arch through `TARGETARCH`, static, non-root, with OCI labels and a default configuration
/// that loads.
#[tokio::test]
async fn the_image_builds_from_what_its_copy_lines_copy() {
    let dockerfile = read("deploy/Dockerfile");
    let stages = stages(&dockerfile);
    assert_eq!(stages.len(), 2, "a build stage and the runtime stage");
    for needed in [
        "ARG TARGETARCH",
        "amd64) echo x86_64-unknown-linux-musl",
        "arm64) echo aarch64-unknown-linux-musl",
        "--profile dist",
        "FROM gcr.io/distroless/static-debian12:nonroot",
        "USER 65532:65532",
        "org.opencontainers.image.licenses=",
        "CMD [\"--config.file=/etc/firepower-cloud-exporter/config.yml\"]",
    ] {
        assert!(dockerfile.contains(needed), "the Dockerfile lacks {needed}");
    }
    let ignored: Vec<String> = read(".dockerignore").lines().map(str::to_string).collect();
    let context = tempfile::tempdir().expect("context");
    let (workdir, copies) = &stages[0];
    assert_eq!(workdir, "/src");
    for copy in copies {
        for source in &copy.sources {
            assert!(!ignored.contains(source), "{source} is in .dockerignore");
            let from = repo(source);
            assert!(from.exists(), "COPY {source}: not in the repository");
            let dest = if copy.dest.ends_with('/') || copy.sources.len() > 1 {
                Path::new(&copy.dest).join(Path::new(source).file_name().expect("name"))
            } else {
                PathBuf::from(&copy.dest)
            };
            copy_tree(&from, &context.path().join(dest));
        }
    }
    for copy in &stages[1].1 {
        for source in &copy.sources {
            assert!(
                repo(source).exists(),
                "COPY {source}: not in the repository"
            );
        }
    }
    // The default configuration the image runs loads.
    let shipped = firepower_cloud_exporter::config::Source {
        file: Some(repo("deploy/config.example.yml")),
        ..Default::default()
    }
    .load();
    assert!(shipped.is_ok(), "{shipped:?}");

    let target = repo("target/image-context");
    let out = tokio::process::Command::new("cargo")
        .args([
            "build",
            "--locked",
            "--offline",
            "--bin",
            "firepower-cloud-exporter",
        ])
        .current_dir(context.path())
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .await
        .expect("cargo runs");
    assert!(
        out.status.success(),
        "the image's build fails on what its COPY lines copy:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let built = target.join("debug/firepower-cloud-exporter");
    let version = std::process::Command::new(&built)
        .arg("--version")
        .output()
        .expect("the built binary runs");
    assert!(String::from_utf8_lossy(&version.stdout).contains("firepower-cloud-exporter"));
}

#[tokio::test]
async fn the_systemd_unit_is_hardened_and_verifies() {
    let unit = read("deploy/systemd/firepower-cloud-exporter.service");
    for setting in [
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
        "DynamicUser=yes",
        "CapabilityBoundingSet=",
        "ExecReload=/bin/kill -HUP $MAINPID",
    ] {
        assert!(
            unit.lines().any(|l| l.trim() == setting),
            "missing {setting}"
        );
    }
    // Where systemd-analyze exists, the unit verifies (pointed at the binary this build made).
    let Some(analyze) = crate::docs::find_tool("systemd-analyze") else {
        eprintln!("note: systemd-analyze not found; the unit was checked by reading only");
        return;
    };
    let tmp = tempfile::tempdir().expect("dir");
    let path = tmp.path().join("firepower-cloud-exporter.service");
    std::fs::write(
        &path,
        unit.replace(
            "ExecStart=firepower-cloud-exporter ",
            &format!(
                "ExecStart={} ",
                env!("CARGO_BIN_EXE_firepower-cloud-exporter")
            ),
        ),
    )
    .expect("write");
    let out = Command::new(analyze)
        .args(["verify"])
        .arg(&path)
        .output()
        .await
        .expect("systemd-analyze");
    let report =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    let relevant: Vec<&str> = report
        .lines()
        .filter(|l| l.contains("firepower-cloud-exporter.service"))
        .collect();
    assert!(relevant.is_empty(), "systemd-analyze verify:\n{report}");
}

#[tokio::test]
async fn the_many_sites_configurations_pass_promtool() {
    let Some(promtool) = tool("promtool") else {
        return;
    };
    let tmp = tempfile::tempdir().expect("dir");
    for (file, agent) in [
        ("deploy/many-sites/agent.yml", true),
        ("deploy/many-sites/central.yml", false),
        ("deploy/many-sites/federation.yml", false),
    ] {
        let config = read(file).replace(
            "/etc/prometheus/rules/",
            &format!("{}/", repo("alerts").display()),
        );
        let path = tmp.path().join("prometheus.yml");
        std::fs::write(&path, config).expect("write");
        let mut args = vec!["check", "config"];
        if agent {
            args.push("--agent");
        }
        let out = Command::new(&promtool)
            .args(&args)
            .arg(&path)
            .output()
            .await
            .expect("promtool");
        let report = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{file}: {report}");
        if !agent {
            assert!(
                report.contains(&format!("SUCCESS: {} rules found", rule_count())),
                "{file}: {report}"
            );
        }
    }
    assert!(yaml("deploy/many-sites/agent.yml")["global"]["external_labels"]["site"].is_string());
}

/// `deploy/web-config.example.yml` as shipped, with certificates from the documented recipe
/// (`scripts/make-web-certificates`): promtool accepts it, the exporter starts with it, a real
/// Prometheus scrapes it with the recipe's client certificate and the example's basic-auth user,
/// and the health check answers without any credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_web_configuration_example_runs_as_shipped_with_the_certificate_recipe() {
    let (Some(promtool), Some(prometheus)) = (tool("promtool"), tool("prometheus")) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let web = dir.path().join("web-config.yml");
    std::fs::copy(repo("deploy/web-config.example.yml"), &web).expect("copy");
    let check = |promtool: PathBuf, web: PathBuf| async move {
        Command::new(promtool)
            .args(["check", "web-config"])
            .arg(web)
            .output()
            .await
            .expect("promtool")
    };
    // Without the certificates the example is refused (what a new user met before the recipe).
    assert!(!check(promtool.clone(), web.clone()).await.status.success());
    let made = Command::new(repo("scripts/make-web-certificates"))
        .arg(dir.path().join("tls"))
        .args(["localhost", "127.0.0.1"])
        .output()
        .await
        .expect("recipe");
    assert!(made.status.success(), "{made:?}");
    let checked = check(promtool, web.clone()).await;
    assert!(checked.status.success(), "{checked:?}");

    let config = format!(
        "--config.file={}",
        repo("deploy/config.example.yml").display()
    );
    let web_flag = format!("--web.config.file={}", web.display());
    let exporter = ExporterProcess::start(
        Path::new(env!("CARGO_BIN_EXE_firepower-cloud-exporter")),
        &[&config, &web_flag],
    )
    .await;
    let addr = exporter.addr;
    let port = addr.port();
    let tls = dir.path().join("tls");
    let ca = rustls::pki_types::CertificateDer::from_pem_file(tls.join("ca.crt")).expect("ca");
    // Health without a client certificate or a password.
    let healthy = wait_for(
        "the exporter to answer /-/healthy",
        Duration::from_secs(20),
        &[&exporter],
        || async { request_tls(addr, "/-/healthy", &ca, None, &[]).await.ok() },
    )
    .await;
    assert_eq!(healthy.0, 200);
    let (status, _) = request_tls(addr, "/metrics", &ca, None, &[])
        .await
        .expect("TLS");
    assert_eq!(status, 403, "no client certificate");

    // Prometheus with the recipe's client certificate and the example's placeholder password.
    let prom_port = crate::e2e::free_port();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: firepower-cloud-exporter\n    scheme: https\n    tls_config:\n      ca_file: {tls}/ca.crt\n      cert_file: {tls}/prometheus.crt\n      key_file: {tls}/prometheus.key\n    basic_auth:\n      username: prometheus\n      password: change-me\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n",
            tls = tls.display()
        ),
    )
    .expect("write");
    let prom = Daemon::spawn(
        "prometheus",
        &prometheus,
        &[
            format!(
                "--config.file={}",
                dir.path().join("prometheus.yml").display()
            ),
            format!("--storage.tsdb.path={}", dir.path().join("data").display()),
            format!("--web.listen-address=127.0.0.1:{prom_port}"),
        ],
        dir.path(),
    );
    let prom_addr: std::net::SocketAddr = format!("127.0.0.1:{prom_port}").parse().expect("addr");
    wait_for(
        "Prometheus to scrape the exporter over TLS with its client certificate",
        Duration::from_secs(60),
        &[&prom, &exporter],
        || async {
            let v = get_json(
                prom_addr,
                "/api/v1/query?query=firepower_cloud_build_info%20*%20on(instance)%20up",
            )
            .await?;
            (v["data"]["result"][0]["value"][1] == "1").then_some(())
        },
    )
    .await;
}
