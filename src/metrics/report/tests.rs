//! The `/probe` exposition of one scrape, from outcomes of scripted stages (paused clock, no
//! socket): every series a failing and a healthy target give, by value.

use std::sync::Arc;

use firepower_cloud_testkit::exposition::Exposition;
use prometheus_client::registry::Registry;

use super::*;
use crate::checklist::Reason;
use crate::diagnosis::RowScope;
use crate::probe::script::{Ends, Script, ms};
use crate::probe::{Clients, OutcomeSink, Prober, TargetOutcome};

struct Nothing;

impl OutcomeSink for Nothing {
    fn record(&self, _: &TargetOutcome, _: bool) {}
}

/// `sse` fails TLS (an untrusted chain) after 40 ms; `amp` passes; both through DNS and TCP 443.
async fn exposition() -> Exposition {
    let mut yaml = String::from("path_trace: { enabled: false }\ntargets:\n");
    for (name, service) in [
        ("sse", "cisco_cloud_configuration"),
        ("amp", "amp_connection_status"),
    ] {
        yaml.push_str(&format!(
            "  - name: {name}\n    host: {name}.example.com\n    service: {service}\n    checks: [dns, tcp, tls, http]\n    tcp_ports: [443]\n    timeout: 2s\n"
        ));
    }
    let config = Arc::new(crate::config::parse_for_test(&yaml));
    let script = Script::new().play_for(
        "sse",
        crate::checklist::Stage::Tls,
        443,
        ms(40),
        Ends::Fail(Reason::TlsCertUntrusted),
    );
    let prober = Prober::with_stages(
        config.clone(),
        Arc::new(Clients::default()),
        Arc::new(Nothing),
        Arc::new(script),
    );
    let outcomes = prober
        .probe_all(tokio::time::Instant::now() + ms(1000))
        .await;
    let report = Report::build(&config, outcomes, &RowScope::Whole, &prober, None);
    let mut registry = Registry::default();
    registry.register_collector(Box::new(ProbeReport {
        latency: Latencies::default(),
        report,
    }));
    let mut text = String::new();
    prometheus_client::encoding::prometheus_text::encode(&mut text, &registry).expect("encodes");
    Exposition::parse(&text)
}

#[tokio::test(start_paused = true)]
async fn a_failing_and_a_healthy_target_give_their_series() {
    let e = exposition().await;
    assert_eq!(e.value(names::PROBE_SUCCESS, &[]), 0.0);
    assert_eq!(e.value(names::PROBE_DURATION, &[]), 0.04);
    assert_eq!(e.value(names::TARGET_SUCCESS, &[("target", "sse")]), 0.0);
    assert_eq!(e.value(names::TARGET_SUCCESS, &[("target", "amp")]), 1.0);
    // The verdict: stage and port of the failure, its reason and a remedy; none when healthy.
    let sse = [
        ("target", "sse"),
        ("service", "cisco_cloud_configuration"),
        ("stage", "tls"),
        ("port", "443"),
        ("reason", "tls_cert_untrusted"),
    ];
    assert_eq!(e.value(names::TARGET_VERDICT, &sse), 1.0);
    // The team that owns the fix, as a routing label, on the verdict and on the failing step.
    assert_eq!(
        e.label(names::TARGET_VERDICT, &sse, "owner"),
        "tls_inspection"
    );
    assert_eq!(
        e.label(
            names::STAGE_VERDICT,
            &[("target", "sse"), ("stage", "tls"), ("port", "443")],
            "owner"
        ),
        "tls_inspection"
    );
    assert!(!e.label(names::TARGET_VERDICT, &sse, "remedy").is_empty());
    let amp = e.all(names::TARGET_VERDICT, &[("target", "amp")]);
    assert_eq!(amp.len(), 1);
    let keys: Vec<&str> = amp[0].labels.keys().map(String::as_str).collect();
    assert_eq!(keys, ["reason", "service", "target"]);
    assert_eq!(amp[0].labels["reason"], "ok");
    // Each step: DNS without a port label, the rest with theirs.
    let dns = e.all(names::STAGE_VERDICT, &[("target", "sse"), ("stage", "dns")]);
    assert_eq!(dns.len(), 1);
    assert!(!dns[0].labels.contains_key("port"), "{dns:?}");
    for (stage, port, reason, success) in [
        ("dns", "", "ok", Some(1.0)),
        ("tcp", "443", "ok", Some(1.0)),
        ("tls", "443", "tls_cert_untrusted", Some(0.0)),
        // Not run: no success series (so no stage alert fires); the verdict says why.
        ("http", "443", "skipped", None),
        ("clock", "", "skipped", None),
    ] {
        let labels = [("target", "sse"), ("stage", stage), ("port", port)];
        let found: Vec<f64> = e
            .all(names::STAGE_SUCCESS, &labels)
            .iter()
            .map(|s| s.value)
            .collect();
        assert_eq!(found, Vec::from_iter(success), "{stage}");
        assert_eq!(
            e.label(names::STAGE_VERDICT, &labels, "reason"),
            reason,
            "{stage}"
        );
    }
    // Stages that ran have a duration; skipped ones do not.
    assert_eq!(
        e.value(
            names::STAGE_DURATION,
            &[("target", "sse"), ("stage", "tls"), ("port", "443")]
        ),
        0.04
    );
    assert!(
        e.all(
            names::STAGE_DURATION,
            &[("target", "sse"), ("stage", "http")]
        )
        .is_empty()
    );
}
