//! The exporter's own long-lived metrics (`/metrics`): probe runs, stage failures, results served,
//! request durations, reloads, and the per-target latency histograms accumulated across probes.
//! It is the prober's outcome sink.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::labels::{
    FailureLabels, FreshnessLabels, Outcome, Port, Present, ProbeLabels, ResultLabels,
};
use super::latency::Latencies;
use super::report::ProbeReport;
use super::{LATENCY_BUCKETS, names};
use crate::checklist::{Owner, Reason, Stage};
use crate::config::Config;
use crate::diagnosis::{Report, plain, verdict};
use crate::probe::{Freshness, OutcomeSink, TargetOutcome, unix_seconds};

/// Whether a stage gets a latency histogram. TCP (or the proxy tunnel) gets one for the TLS port
/// (or the first port):
/// connecting to 443 and to 8989 of the same host takes the same round trip, so a second
/// histogram would say nothing new (each port keeps its success, verdict and duration gauges).
pub(crate) fn has_histogram(
    target: &crate::config::Target,
    stage: Stage,
    port: Option<u16>,
) -> bool {
    match stage {
        Stage::Clock => false,
        // The proxy tunnel stands in for TCP on a proxied target: the same rule.
        Stage::Tcp | Stage::Proxy => {
            let main = target
                .tls
                .as_ref()
                .map(|t| t.port)
                .or_else(|| target.tcp_ports.first().copied());
            port == main
        }
        _ => true,
    }
}

/// The exporter's long-lived metrics.
pub(crate) struct Metrics {
    registry: Registry,
    latency: Latencies,
    probes: Family<ProbeLabels, Counter>,
    stage_failures: Family<FailureLabels, Counter>,
    results: Family<FreshnessLabels, Counter>,
    request_duration: Histogram,
    pub(crate) probes_in_flight: Gauge,
    pub(crate) targets_configured: Gauge,
    pub(crate) reload_success: Gauge,
    pub(crate) reload_timestamp: Gauge<f64, AtomicU64>,
    reloads: Family<ResultLabels, Counter>,
}

impl Metrics {
    pub(crate) fn new(runbook: RunbookLink, fmc: Arc<crate::fmc::Fmc>) -> Self {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Static { runbook }));
        registry.register_collector(Box::new(super::fmc::FmcCollector(fmc)));
        registry.register_collector(Box::new(super::process::ProcessCollector));
        let latency = Latencies::default();
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
    pub(crate) fn config_loaded(&self, ok: bool, targets: Option<usize>) {
        self.reloads
            .get_or_create(&ResultLabels {
                result: Outcome::of(ok),
            })
            .inc();
        self.reload_success.set(i64::from(ok));
        if ok {
            self.reload_timestamp
                .set(unix_seconds(std::time::SystemTime::now()));
        }
        if let Some(n) = targets {
            self.targets_configured
                .set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// Records a served /probe request.
    pub(crate) fn probe_request_served(&self, elapsed: Duration, freshness: &[Freshness]) {
        self.request_duration.observe(elapsed.as_secs_f64());
        for f in freshness {
            self.results
                .get_or_create(&FreshnessLabels { freshness: *f })
                .inc();
        }
    }

    /// Drops the histograms of targets a new configuration no longer has.
    pub(crate) fn forget_targets(&self, old: &Config, new: &Config) {
        for target in &old.targets {
            if new.targets.iter().any(|t| t.name == target.name) {
                continue;
            }
            self.latency.forget(&target.name);
        }
    }

    /// `/metrics`: the exporter's own health.
    pub(crate) fn encode_own(&self) -> String {
        let mut out = String::with_capacity(4096);
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }

    /// `/probe`: the results of one scrape, written to `out` as they are encoded (the caller
    /// streams them to the client, so a scrape of thousands of targets is never held whole).
    pub(crate) fn encode_probe(
        self: &Arc<Self>,
        report: Report,
        out: &mut impl std::fmt::Write,
    ) -> std::fmt::Result {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(ProbeReport {
            latency: self.latency.clone(),
            report,
        }));
        prometheus_client::encoding::prometheus_text::encode(out, &registry)
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
        self.probes
            .get_or_create(&ProbeLabels {
                target: target.clone(),
                result: Outcome::of(verdict(outcome).is_none()),
            })
            .inc();
        for stage in &outcome.stages {
            // Only what passed is latency: a timeout or a refusal is counted as a failure, never
            // drawn as a slow stage.
            if stage.reason == Reason::Ok && has_histogram(&outcome.target, stage.stage, stage.port)
            {
                self.latency.observe(
                    target,
                    stage.stage,
                    stage.port,
                    stage.duration.as_secs_f64(),
                );
            }
            if stage.reason.is_failure() {
                self.stage_failures
                    .get_or_create(&FailureLabels {
                        target: target.clone(),
                        stage: stage.stage,
                        port: Port(stage.port),
                        reason: stage.reason,
                    })
                    .inc();
            }
        }
    }
}

/// Where the alerts link the runbook: the scheme the exporter serves, and the full URL when
/// `--web.external-url` gives one.
#[derive(Debug, Clone)]
pub(crate) struct RunbookLink {
    pub(crate) scheme: &'static str,
    pub(crate) url: Option<String>,
}

/// Build information, the runbook link and the reason table: the same on every scrape of
/// `/metrics`.
#[derive(Debug)]
struct Static {
    runbook: RunbookLink,
}

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
            names::RUNBOOK_INFO,
            "Where the alerts link the runbook: `url` from --web.external-url (empty: the rules use `scheme`://instance/runbook); always 1.",
            None,
            MetricType::Gauge,
        )?;
        ConstGauge::new(1).encode(e.encode_family(&[
            ("url", self.runbook.url.as_deref().unwrap_or_default()),
            ("scheme", self.runbook.scheme),
        ])?)?;
        let mut e = encoder.encode_descriptor(
            names::REASON_INFO,
            "Every failure reason with its checklist stage, the team that owns the fix (owner, and team in words) and the remedy; always 1. Join on `reason` to attach the remedy or the owner.",
            None,
            MetricType::Gauge,
        )?;
        for &reason in Reason::ALL {
            let stage = reason.stage().map_or("", Stage::as_str);
            let owner = reason.owner().map_or("", Owner::as_str);
            let team = reason.owner().map_or("", Owner::title);
            ConstGauge::new(1).encode(e.encode_family(&Present([
                ("reason", reason.as_str()),
                ("stage", stage),
                ("owner", owner),
                ("team", team),
                ("remedy", plain(reason.remedy()).as_ref()),
            ]))?)?;
        }
        Ok(())
    }
}
