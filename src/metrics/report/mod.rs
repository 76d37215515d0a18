//! One scrape's answer on `/probe`: constant series rendered from the view model, plus the
//! latency histograms the long-lived metrics accumulated for these targets.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeGaugeValue, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use super::labels::{Port, Present, StepOf, StepReason, StepWith, Why};
use super::latency::Latencies;
use super::{MAX_PEER_LABEL_CHARS, gauge, names};
use crate::checklist::Stage;
use crate::diagnosis::{Report, TargetView, plain};
use crate::probe::StageOutcome;

/// One scrape's results.
#[derive(Debug)]
pub(super) struct ProbeReport {
    /// The latency histograms the long-lived metrics accumulate.
    pub(super) latency: Latencies,
    pub(super) report: Report,
}

/// A gauge family with one series per target, for the targets `value` has a value for.
fn per_target<V: EncodeGaugeValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    targets: &[TargetView],
    value: impl Fn(&TargetView) -> Option<V>,
) -> Result<(), std::fmt::Error> {
    let mut e = gauge(encoder, name, help)?;
    for t in targets {
        if let Some(v) = value(t) {
            ConstGauge::new(v).encode(e.encode_family(&[("target", t.name.as_str())])?)?;
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
    targets: &[TargetView],
    value: impl Fn(&StageOutcome) -> Option<V>,
) -> Result<(), std::fmt::Error> {
    let mut e = gauge(encoder, name, help)?;
    for t in targets {
        for s in &t.outcome.stages {
            if let Some(v) = value(s) {
                ConstGauge::new(v).encode(e.encode_family(&step_of(&t.name, s))?)?;
            }
        }
    }
    Ok(())
}

/// A recorded step's labels.
fn step_of<'a>(target: &'a str, stage: &StageOutcome) -> StepOf<'a> {
    StepOf {
        target,
        stage: stage.stage,
        port: Port(stage.port),
    }
}

/// Cuts peer-supplied text for use as a label value.
fn peer_label(text: &str) -> String {
    text.chars().take(MAX_PEER_LABEL_CHARS).collect()
}

impl Collector for ProbeReport {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let targets = &self.report.targets;

        let e = gauge(
            &mut encoder,
            names::PROBE_SUCCESS,
            "1 when every target of this scrape passed every stage.",
        )?;
        ConstGauge::new(i64::from(targets.iter().all(|t| t.success))).encode(e)?;

        let e = gauge(
            &mut encoder,
            names::PROBE_DURATION,
            "Wall time of this scrape's probes.",
        )?;
        let longest = targets
            .iter()
            .map(|t| t.outcome.duration)
            .max()
            .unwrap_or_default();
        ConstGauge::new(longest.as_secs_f64()).encode(e)?;

        let mut e = gauge(
            &mut encoder,
            names::TARGET_SUCCESS,
            "1 when the target passed every stage of the checklist.",
        )?;
        for t in targets {
            let labels = ([("target", t.name.as_str())], [("service", t.service)]);
            ConstGauge::new(i64::from(t.success)).encode(e.encode_family(&labels)?)?;
        }

        let mut e = gauge(
            &mut encoder,
            names::TARGET_VERDICT,
            "Always 1: the target's verdict, the stage that explains its failure (decided from every fact the probe recorded), its reason, the team that owns the fix (owner), the remedy for this host, port and DNS server, and the evidence: the one fact the failure rests on, in words that stay the same between scrapes (reason=\"ok\", stage=\"\" when healthy).",
        )?;
        for t in targets {
            let cause = t.cause.as_ref();
            let remedy = cause.map_or(std::borrow::Cow::Borrowed(""), |c| plain(&c.remedy));
            let why = Why {
                target: &t.name,
                stage: cause.map(|c| c.stage),
                port: Port(cause.and_then(|c| c.port)),
                reason: t.reason,
                remedy: &remedy,
                evidence: cause.map_or("", |c| c.evidence.as_str()),
            };
            ConstGauge::new(1).encode(e.encode_family(&(why, [("service", t.service)]))?)?;
        }

        let mut e = gauge(
            &mut encoder,
            names::TARGET_CHANGE_INFO,
            "Always 1, for a failing target that succeeded before (since this exporter started): when it last succeeded (since, UTC) and what differs from then (change: new DNS answers or server, a new certificate issuer, a new proxy status, a path that now goes silent, or the step that now fails).",
        )?;
        for t in targets {
            if let Some(changed) = &t.changed {
                let labels = [
                    ("target", t.name.as_str()),
                    ("since", changed.last_success.as_str()),
                    ("change", &changed.changes.join("; ")),
                ];
                ConstGauge::new(1).encode(e.encode_family(&labels)?)?;
            }
        }

        per_target(
            &mut encoder,
            names::TARGET_RESULT_AGE,
            "Age of the result served. A result younger than the target's min_interval is served again instead of probing anew (default 5s), so concurrent scrapers do not multiply traffic to the Cisco cloud.",
            targets,
            |t| {
                let o = &t.outcome;
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
            "1 when the stage passed, 0 when it failed; absent when it did not run (an earlier stage failed, the budget ran out, no Date to judge): firepower_cloud_stage_verdict then says skipped or budget_exhausted.",
            targets,
            |s| s.judged().then(|| i64::from(s.success())),
        )?;

        let mut e = gauge(
            &mut encoder,
            names::STAGE_VERDICT,
            "Always 1: each stage's result as a reason (ok, a failure reason, skipped or budget_exhausted) and, for a failure, the team that owns the fix (owner).",
        )?;
        for t in targets {
            for s in &t.outcome.stages {
                let labels = StepReason {
                    step: step_of(&t.name, s),
                    reason: s.reason,
                };
                ConstGauge::new(1).encode(e.encode_family(&labels)?)?;
            }
        }

        let mut e = gauge(
            &mut encoder,
            names::ADDRESSES,
            "How many of the name's addresses a step tried, by result; only for steps where some address failed (the failing ones are named in the verdict's detail, not as label values: they rotate).",
        )?;
        for t in targets {
            let attempts = &t.outcome.attempts;
            let mut steps: Vec<(Stage, u16)> = attempts
                .iter()
                .filter(|a| a.reason.is_failure())
                .map(|a| (a.stage, a.port))
                .collect();
            steps.dedup();
            for (stage, port) in steps {
                let of_step = attempts
                    .iter()
                    .filter(|a| a.stage == stage && a.port == port);
                let failed = of_step.clone().filter(|a| a.reason.is_failure()).count();
                let ok = of_step.count() - failed;
                for (result, count) in [("ok", ok), ("failed", failed)] {
                    let labels = StepWith {
                        step: StepOf {
                            target: &t.name,
                            stage,
                            port: Port(Some(port)),
                        },
                        key: "result",
                        value: result,
                    };
                    ConstGauge::new(i64::try_from(count).unwrap_or(i64::MAX))
                        .encode(e.encode_family(&labels)?)?;
                }
            }
        }

        per_stage(
            &mut encoder,
            names::STAGE_DURATION,
            "How long the stage took in this probe (stages that ran only).",
            targets,
            |s| s.ran().then_some(s.duration.as_secs_f64()),
        )?;

        let mut e = encoder.encode_descriptor(
            names::STAGE_LATENCY,
            "Stage latency accumulated over every probe run since the exporter started.",
            None,
            MetricType::Histogram,
        )?;
        for t in targets {
            for stage in [
                Stage::Dns,
                Stage::Tcp,
                Stage::Proxy,
                Stage::Tls,
                Stage::Http,
            ] {
                if let Some(h) = self.latency.get(&t.name, stage) {
                    let labels = StepOf {
                        target: &t.name,
                        stage,
                        port: Port(h.port()),
                    };
                    h.encode(e.encode_family(&labels)?)?;
                }
            }
        }

        Self::encode_facts(&mut encoder, targets)?;
        super::path::encode_paths(&mut encoder, targets)?;
        super::rows::encode_target_info(&mut encoder, targets)?;
        super::rows::encode_rows(&mut encoder, &self.report.rows)
    }
}

impl ProbeReport {
    /// DNS, TLS and HTTP facts of each target.
    fn encode_facts(
        encoder: &mut DescriptorEncoder,
        targets: &[TargetView],
    ) -> Result<(), std::fmt::Error> {
        per_target(
            encoder,
            names::DNS_ANSWERS,
            "Addresses in the DNS answer.",
            targets,
            |t| {
                t.outcome
                    .dns
                    .as_ref()
                    .map(|d| i64::try_from(d.addresses.len()).unwrap_or(i64::MAX))
            },
        )?;
        let mut e = gauge(
            encoder,
            names::DNS_INFO,
            "Always 1: the DNS answer's response code, the resolver asked, the server that answered and the CNAME chain (peer text, cut to 128 characters).",
        )?;
        for t in targets {
            if let Some(dns) = &t.outcome.dns {
                let chain = peer_label(&dns.cname_chain.join(" "));
                let labels = [
                    ("target", t.name.as_str()),
                    ("rcode", dns.rcode.as_deref().unwrap_or("")),
                    ("resolver", dns.resolver.as_str()),
                    ("server", dns.server.as_deref().unwrap_or("")),
                    ("cname_chain", chain.as_str()),
                ];
                ConstGauge::new(1).encode(e.encode_family(&Present(labels))?)?;
            }
        }

        let mut e = gauge(
            encoder,
            names::TLS_INFO,
            "Always 1: the TLS session and leaf certificate (peer text, cut to 128 characters); verify is ok or the failure reason.",
        )?;
        for t in targets {
            if let Some(tls) = &t.outcome.tls {
                let subject = peer_label(&tls.subject);
                let issuer = peer_label(&tls.issuer);
                let labels = [
                    ("target", t.name.as_str()),
                    ("version", tls.version.as_str()),
                    ("cipher", tls.cipher.as_str()),
                    ("alpn", tls.alpn.as_deref().unwrap_or("")),
                    ("subject", subject.as_str()),
                    ("issuer", issuer.as_str()),
                    ("verify", tls.verify.as_str()),
                ];
                ConstGauge::new(1).encode(e.encode_family(&Present(labels))?)?;
            }
        }
        per_target(
            encoder,
            names::TLS_CERT_NOT_AFTER,
            "The earliest notAfter of the presented certificate chain, as Unix seconds.",
            targets,
            |t| t.outcome.tls.as_ref().and_then(|t| t.not_after),
        )?;
        per_target(
            encoder,
            names::HTTP_STATUS_CODE,
            "Status code of the HTTPS request (403 is the healthy answer of api-sse.cisco.com).",
            targets,
            |t| t.outcome.http.as_ref().map(|h| i64::from(h.status)),
        )?;
        per_target(
            encoder,
            names::CLOCK_SKEW,
            "The server's Date header minus the local clock (positive: the local clock is behind).",
            targets,
            |t| t.outcome.http.as_ref().and_then(|h| h.clock_skew_seconds),
        )
    }
}

#[cfg(test)]
mod tests;
