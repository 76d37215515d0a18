//! The only place that knows about Prometheus: metric names (`names.rs`), typed label sets
//! (`labels.rs`), the exporter's own long-lived metrics (`own.rs`, served on `/metrics`, with the
//! management center's verdict from `fmc.rs`) and the per-scrape report of probe results
//! (`report.rs`, served on `/probe`).

mod fmc;
mod labels;
mod latency;
pub mod names;
mod own;
mod path;
mod process;
mod report;
mod rows;

pub(crate) use own::{Metrics, RunbookLink};

/// The stage latency histograms' buckets, from the round trips a probe to the Cisco cloud sees:
/// one WAN round trip is 10–300 ms, a stage takes one or two (DNS through a forwarder, TCP, the TLS
/// handshake, the request), and anything past 1.6 s is a path in trouble (the +Inf bucket). Seven
/// doubling bounds keep a target at 10 series per histogram (docs/performance.md).
pub(crate) const STAGE_BUCKETS: [f64; 7] = [0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6];

/// Latency buckets from sub-millisecond loopback to multi-second WAN paths (the exporter's own
/// `/probe` request durations).
pub(crate) const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Peer-supplied text (issuer, CNAME chain) is cut to this many characters before it becomes a
/// label value, so a hostile peer cannot blow up series size.
pub(crate) const MAX_PEER_LABEL_CHARS: usize = 128;

pub(crate) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Starts a gauge family: its HELP and TYPE lines, then its series.
pub(crate) fn gauge<'a>(
    encoder: &'a mut prometheus_client::encoding::DescriptorEncoder,
    name: &'a str,
    help: &str,
) -> Result<prometheus_client::encoding::MetricEncoder<'a>, std::fmt::Error> {
    encoder.encode_descriptor(
        name,
        help,
        None,
        prometheus_client::metrics::MetricType::Gauge,
    )
}
