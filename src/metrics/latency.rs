//! The per-target stage latency histograms, kept compact: one entry per target with its stages'
//! bucket counts inline (about 350 bytes a target), instead of one histogram object, one label
//! set and one allocation per stage. At 10 000 targets this is most of what the exporter keeps
//! between scrapes (docs/performance.md).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use prometheus_client::encoding::{MetricEncoder, NoLabelSet};

use super::STAGE_BUCKETS;
use crate::checklist::Stage;

/// Buckets per histogram: the bounds and `+Inf`.
const SLOTS: usize = STAGE_BUCKETS.len() + 1;

/// Histograms per target: DNS, the connection (TCP, or the proxy tunnel for a proxied target:
/// a target has one or the other), TLS and HTTP.
const STAGES: usize = 4;

/// One stage's histogram: non-cumulative counts per bucket, the sum and the count.
#[derive(Debug, Clone, Copy, Default)]
struct Hist {
    /// The stage observed (`None` until the first observation).
    stage: Option<Stage>,
    port: Option<u16>,
    count: u64,
    sum: f64,
    buckets: [u64; SLOTS],
}

impl Hist {
    fn observe(&mut self, seconds: f64) {
        self.count += 1;
        self.sum += seconds;
        let slot = STAGE_BUCKETS
            .iter()
            .position(|upper| seconds <= *upper)
            .unwrap_or(SLOTS - 1);
        self.buckets[slot] += 1;
    }
}

/// Every target's stage histograms.
#[derive(Debug, Clone, Default)]
pub(crate) struct Latencies {
    targets: Arc<Mutex<HashMap<Box<str>, [Hist; STAGES]>>>,
}

fn index(stage: Stage) -> Option<usize> {
    match stage {
        Stage::Dns => Some(0),
        Stage::Tcp | Stage::Proxy => Some(1),
        Stage::Tls => Some(2),
        Stage::Http => Some(3),
        Stage::Clock => None,
    }
}

impl Latencies {
    /// Adds one stage's duration to the target's histogram.
    pub(crate) fn observe(&self, target: &str, stage: Stage, port: Option<u16>, seconds: f64) {
        let Some(i) = index(stage) else { return };
        let mut targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        let hists = match targets.get_mut(target) {
            Some(h) => h,
            None => targets.entry(target.into()).or_default(),
        };
        hists[i].stage = Some(stage);
        hists[i].port = port;
        hists[i].observe(seconds);
    }

    /// Forgets a target (gone from the configuration).
    pub(crate) fn forget(&self, target: &str) {
        self.targets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(target);
    }

    /// The target's histogram of `stage`, when it has observations: its port and a copy to encode.
    pub(crate) fn get(&self, target: &str, stage: Stage) -> Option<Snapshot> {
        let i = index(stage)?;
        let targets = self.targets.lock().unwrap_or_else(PoisonError::into_inner);
        let h = targets.get(target)?[i];
        (h.count > 0 && h.stage == Some(stage)).then_some(Snapshot(h))
    }
}

/// A copy of one histogram, taken under the lock and encoded after it.
pub(crate) struct Snapshot(Hist);

impl Snapshot {
    pub(crate) fn port(&self) -> Option<u16> {
        self.0.port
    }

    pub(crate) fn encode(&self, mut encoder: MetricEncoder<'_>) -> Result<(), std::fmt::Error> {
        let h = &self.0;
        let mut buckets = [(0.0, 0u64); SLOTS];
        for (slot, bucket) in buckets.iter_mut().enumerate() {
            let upper = STAGE_BUCKETS.get(slot).copied().unwrap_or(f64::INFINITY);
            *bucket = (upper, h.buckets[slot]);
        }
        encoder.encode_histogram::<NoLabelSet>(h.sum, h.count, &buckets, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_their_bucket_and_unknown_stages_are_ignored() {
        let l = Latencies::default();
        l.observe("sse", Stage::Tls, Some(443), 0.03);
        l.observe("sse", Stage::Tls, Some(443), 0.03);
        l.observe("sse", Stage::Tls, Some(443), 9.0);
        l.observe("sse", Stage::Clock, None, 1.0);
        let h = l.get("sse", Stage::Tls).expect("observed").0;
        assert_eq!((h.count, h.port), (3, Some(443)));
        assert_eq!(h.buckets[1], 2, "0.03 s is in the 0.05 bucket");
        assert_eq!(h.buckets[SLOTS - 1], 1, "9 s is past every bound");
        assert!(l.get("sse", Stage::Dns).is_none());
        assert!(l.get("sse", Stage::Clock).is_none());
        l.forget("sse");
        assert!(l.get("sse", Stage::Tls).is_none());
    }
}
