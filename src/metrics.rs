//! The only place that knows about Prometheus: metric names, the exporter's own long-lived metrics
//! (`/metrics`), and the per-scrape report of probe results (`/probe`), which also carries the
//! per-target latency histograms accumulated across probes.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeGaugeValue, EncodeLabelSet, EncodeMetric,
};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::config::Config;
use crate::diagnosis::{self, Reason, RowStatus, Stage};
use crate::probe::{Freshness, OutcomeSink, StageOutcome, TargetOutcome, plan};

/// Metric names. Counters are registered without `_total`; the encoder appends it.
pub mod names {
    pub const BUILD_INFO: &str = "firepower_cloud_build_info";
    pub const PROBES: &str = "firepower_cloud_probes";
    pub const STAGE_FAILURES: &str = "firepower_cloud_stage_failures";
    pub const PROBE_RESULTS: &str = "firepower_cloud_probe_results";
    pub const PROBE_REQUEST_DURATION: &str = "firepower_cloud_probe_request_duration_seconds";
    pub const PROBE_REQUESTS: &str = "firepower_cloud_probe_requests";
    pub const PROBES_IN_FLIGHT: &str = "firepower_cloud_probes_in_flight";
    pub const TARGETS_CONFIGURED: &str = "firepower_cloud_targets_configured";
    pub const CONFIG_RELOAD_SUCCESS: &str = "firepower_cloud_config_last_reload_successful";
    pub const CONFIG_RELOAD_TIMESTAMP: &str =
        "firepower_cloud_config_last_reload_success_timestamp_seconds";
    pub const CONFIG_RELOADS: &str = "firepower_cloud_config_reloads";
    pub const REASON_INFO: &str = "firepower_cloud_reason_info";

    pub const PROBE_SUCCESS: &str = "firepower_cloud_probe_success";
    pub const PROBE_DURATION: &str = "firepower_cloud_probe_duration_seconds";
    pub const TARGET_SUCCESS: &str = "firepower_cloud_target_success";
    pub const TARGET_DURATION: &str = "firepower_cloud_target_duration_seconds";
    pub const TARGET_VERDICT: &str = "firepower_cloud_target_verdict";
    pub const TARGET_RESULT_AGE: &str = "firepower_cloud_target_result_age_seconds";
    pub const STAGE_SUCCESS: &str = "firepower_cloud_stage_success";
    pub const STAGE_REASON: &str = "firepower_cloud_stage_reason";
    pub const STAGE_DURATION: &str = "firepower_cloud_stage_duration_seconds";
    pub const STAGE_LATENCY: &str = "firepower_cloud_stage_latency_seconds";
    pub const DNS_INFO: &str = "firepower_cloud_dns_info";
    pub const DNS_ANSWERS: &str = "firepower_cloud_dns_answers";
    pub const TLS_INFO: &str = "firepower_cloud_tls_info";
    pub const TLS_CERT_NOT_AFTER: &str = "firepower_cloud_tls_cert_not_after_timestamp_seconds";
    pub const HTTP_STATUS_CODE: &str = "firepower_cloud_http_status_code";
    pub const CLOCK_SKEW: &str = "firepower_cloud_clock_skew_seconds";
    pub const SERVICE_SUCCESS: &str = "firepower_cloud_service_success";
    pub const SERVICE_STATUS: &str = "firepower_cloud_service_status";
    pub const SERVICE_VERDICT: &str = "firepower_cloud_service_verdict";
}

/// Latency buckets from sub-millisecond loopback to multi-second WAN paths.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Peer-supplied text (issuer, CNAME chain) is cut to this many characters before it becomes a
/// label value, so a hostile peer cannot blow up series size.
pub const MAX_PEER_LABEL_CHARS: usize = 128;

pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    target: String,
    stage: String,
    port: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProbeLabels {
    target: String,
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    target: String,
    stage: String,
    port: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FreshnessLabels {
    freshness: String,
}

type HistogramFamily = Family<StageLabels, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The exporter's long-lived metrics.
pub struct Metrics {
    registry: Registry,
    latency: HistogramFamily,
    probes: Family<ProbeLabels, Counter>,
    stage_failures: Family<FailureLabels, Counter>,
    results: Family<FreshnessLabels, Counter>,
    request_duration: Histogram,
    pub probes_in_flight: Gauge,
    pub targets_configured: Gauge,
    pub reload_success: Gauge,
    pub reload_timestamp: Gauge<f64, AtomicU64>,
    reloads: Family<ResultLabels, Counter>,
}

fn port_label(port: Option<u16>) -> String {
    port.map(|p| p.to_string()).unwrap_or_default()
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Static));
        let latency = HistogramFamily::new_with_constructor(latency_histogram as fn() -> Histogram);
        let probes = Family::<ProbeLabels, Counter>::default();
        registry.register(
            names::PROBES,
            "Probes run (fresh runs only, not results served again), by target and result.",
            probes.clone(),
        );
        let stage_failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            names::STAGE_FAILURES,
            "Stage failures by target, stage, port and reason, counted once per probe run.",
            stage_failures.clone(),
        );
        let results = Family::<FreshnessLabels, Counter>::default();
        registry.register(
            names::PROBE_RESULTS,
            "Target results served to /probe: fresh (probed for this scrape), joined (shared a probe in flight) or reused (younger than min_interval).",
            results.clone(),
        );
        let request_duration = Histogram::new(LATENCY_BUCKETS);
        registry.register(
            names::PROBE_REQUEST_DURATION,
            "Wall time of /probe requests, from request to response.",
            request_duration.clone(),
        );
        let probes_in_flight = Gauge::default();
        registry.register(
            names::PROBES_IN_FLIGHT,
            "Target probes running now (each holds one of max_concurrent_probes).",
            probes_in_flight.clone(),
        );
        let targets_configured = Gauge::default();
        registry.register(
            names::TARGETS_CONFIGURED,
            "Targets in the running configuration.",
            targets_configured.clone(),
        );
        let reload_success = Gauge::default();
        registry.register(
            names::CONFIG_RELOAD_SUCCESS,
            "Whether the last configuration load succeeded (1) or was refused and the previous one kept (0).",
            reload_success.clone(),
        );
        let reload_timestamp = Gauge::<f64, AtomicU64>::default();
        registry.register(
            names::CONFIG_RELOAD_TIMESTAMP,
            "When the running configuration was loaded, as Unix seconds.",
            reload_timestamp.clone(),
        );
        let reloads = Family::<ResultLabels, Counter>::default();
        registry.register(
            names::CONFIG_RELOADS,
            "Configuration loads attempted (start-up and reloads), by result.",
            reloads.clone(),
        );
        Metrics {
            registry,
            latency,
            probes,
            stage_failures,
            results,
            request_duration,
            probes_in_flight,
            targets_configured,
            reload_success,
            reload_timestamp,
            reloads,
        }
    }

    /// Records a configuration load attempt.
    pub fn config_loaded(&self, ok: bool, targets: Option<usize>) {
        let result = if ok { "success" } else { "failure" };
        self.reloads
            .get_or_create(&ResultLabels {
                result: result.into(),
            })
            .inc();
        self.reload_success.set(i64::from(ok));
        if ok {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            self.reload_timestamp.set(now);
        }
        if let Some(n) = targets {
            self.targets_configured.set(n as i64);
        }
    }

    /// Records a served /probe request.
    pub fn probe_request_served(&self, elapsed: Duration, freshness: &[Freshness]) {
        self.request_duration.observe(elapsed.as_secs_f64());
        for f in freshness {
            self.results
                .get_or_create(&FreshnessLabels {
                    freshness: f.as_str().into(),
                })
                .inc();
        }
    }

    /// Drops the histograms of targets a new configuration no longer has.
    pub fn forget_targets(&self, old: &Config, new: &Config) {
        for target in &old.targets {
            if new.targets.iter().any(|t| t.name == target.name) {
                continue;
            }
            for (stage, port) in plan(target) {
                self.latency.remove(&StageLabels {
                    target: target.name.clone(),
                    stage: stage.as_str().into(),
                    port: port_label(port),
                });
            }
        }
    }

    /// `/metrics`: the exporter's own health.
    pub fn encode_own(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }

    /// `/probe`: the results of one scrape, written to `out` as they are encoded (the caller
    /// streams them to the client, so a scrape of thousands of targets is never held whole).
    pub fn encode_probe(
        self: &Arc<Self>,
        outcomes: Vec<(Arc<TargetOutcome>, Freshness)>,
        cloud_integration_enabled: bool,
        with_rows: bool,
        out: &mut impl std::fmt::Write,
    ) -> std::fmt::Result {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProbeReport {
            metrics: self.clone(),
            outcomes,
            cloud_integration_enabled,
            with_rows,
        }));
        prometheus_client::encoding::prometheus_text::encode(out, &registry)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl OutcomeSink for Metrics {
    fn started(&self) {
        self.probes_in_flight.inc();
    }

    fn record(&self, outcome: &TargetOutcome, ran: bool) {
        if ran {
            self.probes_in_flight.dec();
        }
        let target = &outcome.target.name;
        let result = if outcome.success() {
            "success"
        } else {
            "failure"
        };
        self.probes
            .get_or_create(&ProbeLabels {
                target: target.clone(),
                result: result.into(),
            })
            .inc();
        for stage in &outcome.stages {
            if stage.ran() && stage.stage != Stage::Clock {
                self.latency
                    .get_or_create(&StageLabels {
                        target: target.clone(),
                        stage: stage.stage.as_str().into(),
                        port: port_label(stage.port),
                    })
                    .observe(stage.duration.as_secs_f64());
            }
            if stage.reason.is_failure() {
                self.stage_failures
                    .get_or_create(&FailureLabels {
                        target: target.clone(),
                        stage: stage.stage.as_str().into(),
                        port: port_label(stage.port),
                        reason: stage.reason.as_str().into(),
                    })
                    .inc();
            }
        }
    }
}

/// Build information and the reason table: the same on every scrape of `/metrics`.
#[derive(Debug)]
struct Static;

impl Collector for Static {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut e = encoder.encode_descriptor(
            names::BUILD_INFO,
            "Build information; always 1.",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(1).encode(e.encode_family(&[
            ("version", env!("CARGO_PKG_VERSION")),
            ("name", env!("CARGO_PKG_NAME")),
        ])?)?;
        let mut e = encoder.encode_descriptor(
            names::REASON_INFO,
            "Every failure reason with its checklist stage and remedy; always 1. Join on `reason` to attach the remedy.",
            None,
            MetricType::Gauge,
        )?;
        for &reason in Reason::ALL {
            let stage = reason.stage().map_or("", Stage::as_str);
            ConstGauge::new(1).encode(e.encode_family(&[
                ("reason", reason.as_str()),
                ("stage", stage),
                ("remedy", reason.remedy()),
            ])?)?;
        }
        Ok(())
    }
}

/// One scrape's results, encoded as constant series plus the accumulated histograms.
#[derive(Debug)]
struct ProbeReport {
    metrics: Arc<Metrics>,
    outcomes: Vec<(Arc<TargetOutcome>, Freshness)>,
    cloud_integration_enabled: bool,
    with_rows: bool,
}

fn gauge<'a>(
    encoder: &'a mut DescriptorEncoder,
    name: &'a str,
    help: &str,
) -> Result<prometheus_client::encoding::MetricEncoder<'a>, std::fmt::Error> {
    encoder.encode_descriptor(name, help, None, MetricType::Gauge)
}

/// A gauge family with one series per target, for the targets `value` has a value for.
fn per_target<V: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    outcomes: &[&TargetOutcome],
    value: impl Fn(&TargetOutcome) -> Option<V>,
) -> Result<(), std::fmt::Error> {
    let mut e = gauge(encoder, name, help)?;
    for o in outcomes {
        if let Some(v) = value(o) {
            ConstGauge::new(v).encode(e.encode_family(&[("target", o.target.name.as_str())])?)?;
        }
    }
    Ok(())
}

/// A gauge family with one series per target, stage and port, for the stages `value` has a
/// value for.
fn per_stage<V: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    outcomes: &[&TargetOutcome],
    value: impl Fn(&StageOutcome) -> Option<V>,
) -> Result<(), std::fmt::Error> {
    let mut e = gauge(encoder, name, help)?;
    for o in outcomes {
        for s in &o.stages {
            if let Some(v) = value(s) {
                let port = port_label(s.port);
                let labels = [
                    ("target", o.target.name.as_str()),
                    ("stage", s.stage.as_str()),
                    ("port", port.as_str()),
                ];
                ConstGauge::new(v).encode(e.encode_family(&labels)?)?;
            }
        }
    }
    Ok(())
}

/// Cuts peer-supplied text for use as a label value.
fn peer_label(text: &str) -> String {
    text.chars().take(MAX_PEER_LABEL_CHARS).collect()
}

impl Collector for ProbeReport {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let outcomes: Vec<&TargetOutcome> = self.outcomes.iter().map(|(o, _)| o.as_ref()).collect();

        let e = gauge(
            &mut encoder,
            names::PROBE_SUCCESS,
            "1 when every target of this scrape passed every stage.",
        )?;
        let all_ok = outcomes.iter().all(|o| o.success());
        ConstGauge::new(i64::from(all_ok)).encode(e)?;

        let e = gauge(
            &mut encoder,
            names::PROBE_DURATION,
            "Wall time of this scrape's probes.",
        )?;
        let longest = outcomes
            .iter()
            .map(|o| o.duration)
            .max()
            .unwrap_or_default();
        ConstGauge::new(longest.as_secs_f64()).encode(e)?;

        let mut e = gauge(
            &mut encoder,
            names::TARGET_SUCCESS,
            "1 when the target passed every stage of the checklist.",
        )?;
        for o in &outcomes {
            let labels = [
                ("target", o.target.name.as_str()),
                ("service", o.target.service.as_str()),
            ];
            ConstGauge::new(i64::from(o.success())).encode(e.encode_family(&labels)?)?;
        }

        let mut e = gauge(
            &mut encoder,
            names::TARGET_DURATION,
            "Wall time of the target's probe.",
        )?;
        for o in &outcomes {
            let labels = [
                ("target", o.target.name.as_str()),
                ("service", o.target.service.as_str()),
            ];
            ConstGauge::new(o.duration.as_secs_f64()).encode(e.encode_family(&labels)?)?;
        }

        let mut e = gauge(
            &mut encoder,
            names::TARGET_VERDICT,
            "Always 1: the target's verdict, the first failing stage in checklist order and its reason (reason=\"ok\", stage=\"\" when healthy).",
        )?;
        for o in &outcomes {
            let (stage, port) = o
                .verdict()
                .map(|s| (s.stage.as_str(), port_label(s.port)))
                .unwrap_or_default();
            let labels = [
                ("target", o.target.name.as_str()),
                ("service", o.target.service.as_str()),
                ("stage", stage),
                ("port", port.as_str()),
                ("reason", o.reason().as_str()),
            ];
            ConstGauge::new(1).encode(e.encode_family(&labels)?)?;
        }

        per_target(
            &mut encoder,
            names::TARGET_RESULT_AGE,
            "Age of the result served. A result younger than the target's min_interval is served again instead of probing anew (default 5s), so concurrent scrapers do not multiply traffic to the Cisco cloud.",
            &outcomes,
            |o| {
                let age = o
                    .started_at
                    .elapsed()
                    .unwrap_or_default()
                    .saturating_sub(o.duration);
                Some(age.as_secs_f64())
            },
        )?;

        per_stage(
            &mut encoder,
            names::STAGE_SUCCESS,
            "1 when the stage passed; 0 when it failed or could not run.",
            &outcomes,
            |s| Some(i64::from(s.success())),
        )?;

        let mut e = gauge(
            &mut encoder,
            names::STAGE_REASON,
            "Always 1: each stage's result as a reason (ok, a failure reason, skipped or budget_exhausted).",
        )?;
        for o in &outcomes {
            for s in &o.stages {
                let port = port_label(s.port);
                let labels = [
                    ("target", o.target.name.as_str()),
                    ("stage", s.stage.as_str()),
                    ("port", port.as_str()),
                    ("reason", s.reason.as_str()),
                ];
                ConstGauge::new(1).encode(e.encode_family(&labels)?)?;
            }
        }

        per_stage(
            &mut encoder,
            names::STAGE_DURATION,
            "How long the stage took in this probe (stages that ran only).",
            &outcomes,
            |s| (s.ran() && s.stage != Stage::Clock).then_some(s.duration.as_secs_f64()),
        )?;

        let mut e = encoder.encode_descriptor(
            names::STAGE_LATENCY,
            "Stage latency accumulated over every probe run since the exporter started.",
            None,
            MetricType::Histogram,
        )?;
        for o in &outcomes {
            for (stage, port) in plan(&o.target) {
                if stage == Stage::Clock {
                    continue;
                }
                let labels = StageLabels {
                    target: o.target.name.clone(),
                    stage: stage.as_str().into(),
                    port: port_label(port),
                };
                if let Some(h) = self.metrics.latency.get(&labels) {
                    h.encode(e.encode_family(&labels)?)?;
                }
            }
        }

        per_target(
            &mut encoder,
            names::DNS_ANSWERS,
            "Addresses in the DNS answer.",
            &outcomes,
            |o| o.dns.as_ref().map(|d| d.addresses.len() as i64),
        )?;
        let mut e = gauge(
            &mut encoder,
            names::DNS_INFO,
            "Always 1: the DNS answer's response code, the resolver asked, the server that answered and the CNAME chain (peer text, cut to 128 characters).",
        )?;
        for o in &outcomes {
            if let Some(dns) = &o.dns {
                let chain = peer_label(&dns.cname_chain.join(" "));
                let labels = [
                    ("target", o.target.name.as_str()),
                    ("rcode", dns.rcode.as_deref().unwrap_or("")),
                    ("resolver", dns.resolver.as_str()),
                    ("server", dns.server.as_deref().unwrap_or("")),
                    ("cname_chain", chain.as_str()),
                ];
                ConstGauge::new(1).encode(e.encode_family(&labels)?)?;
            }
        }

        let mut e = gauge(
            &mut encoder,
            names::TLS_INFO,
            "Always 1: the TLS session and leaf certificate (peer text, cut to 128 characters); verify is ok or the failure reason.",
        )?;
        for o in &outcomes {
            if let Some(tls) = &o.tls {
                let subject = peer_label(&tls.subject);
                let issuer = peer_label(&tls.issuer);
                let labels = [
                    ("target", o.target.name.as_str()),
                    ("version", tls.version.as_str()),
                    ("cipher", tls.cipher.as_str()),
                    ("alpn", tls.alpn.as_deref().unwrap_or("")),
                    ("subject", subject.as_str()),
                    ("issuer", issuer.as_str()),
                    ("verify", tls.verify.as_str()),
                ];
                ConstGauge::new(1).encode(e.encode_family(&labels)?)?;
            }
        }
        per_target(
            &mut encoder,
            names::TLS_CERT_NOT_AFTER,
            "The earliest notAfter of the presented certificate chain, as Unix seconds.",
            &outcomes,
            |o| o.tls.as_ref().and_then(|t| t.not_after),
        )?;
        per_target(
            &mut encoder,
            names::HTTP_STATUS_CODE,
            "Status code of the HTTPS request (403 is the healthy answer of api-sse.cisco.com).",
            &outcomes,
            |o| o.http.as_ref().map(|h| i64::from(h.status)),
        )?;
        per_target(
            &mut encoder,
            names::CLOCK_SKEW,
            "The server's Date header minus the local clock (positive: the local clock is behind).",
            &outcomes,
            |o| o.http.as_ref().and_then(|h| h.clock_skew_seconds),
        )?;

        if self.with_rows {
            self.encode_rows(&mut encoder, &outcomes)?;
        }
        Ok(())
    }
}

impl ProbeReport {
    fn encode_rows(
        &self,
        encoder: &mut DescriptorEncoder,
        outcomes: &[&TargetOutcome],
    ) -> Result<(), std::fmt::Error> {
        let rows = diagnosis::rows(outcomes, self.cloud_integration_enabled);
        let mut e = gauge(
            encoder,
            names::SERVICE_SUCCESS,
            "The FMC health row (Threat Data Updates on Devices): 1 Success, 0 Failure. Absent while cloud integration is disabled.",
        )?;
        for row in rows.iter().filter(|r| r.status != RowStatus::Disabled) {
            let labels = [("service", row.service.as_str()), ("title", row.title)];
            ConstGauge::new(i64::from(row.status == RowStatus::Success))
                .encode(e.encode_family(&labels)?)?;
        }
        let mut e = gauge(
            encoder,
            names::SERVICE_STATUS,
            "The FMC health row as a state set: 1 for the current status (success, failure or disabled), 0 for the others.",
        )?;
        for row in &rows {
            for status in RowStatus::ALL {
                let labels = [
                    ("service", row.service.as_str()),
                    ("status", status.as_str()),
                ];
                ConstGauge::new(i64::from(row.status == status))
                    .encode(e.encode_family(&labels)?)?;
            }
        }
        let mut e = gauge(
            encoder,
            names::SERVICE_VERDICT,
            "Always 1: why the FMC row has its status: the target and stage that decide it (earliest in the checklist), the reason and the remedy.",
        )?;
        for row in &rows {
            let (target, stage, port, reason) = match (&row.decided_by, row.status) {
                (_, RowStatus::Disabled) => (
                    String::new(),
                    "",
                    String::new(),
                    Reason::CloudIntegrationDisabled,
                ),
                (Some(c), _) => (
                    c.target.clone(),
                    c.stage.as_str(),
                    port_label(c.port),
                    c.reason,
                ),
                (None, _) => (String::new(), "", String::new(), Reason::Ok),
            };
            let labels = [
                ("service", row.service.as_str()),
                ("title", row.title),
                ("target", target.as_str()),
                ("stage", stage),
                ("port", port.as_str()),
                ("reason", reason.as_str()),
                ("remedy", reason.remedy()),
            ];
            ConstGauge::new(1).encode(e.encode_family(&labels)?)?;
        }
        Ok(())
    }
}
