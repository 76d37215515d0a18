//! The process metrics every Prometheus exporter serves on its own `/metrics`
//! (`process_cpu_seconds_total`, memory, start time, file descriptors, threads), read from /proc
//! with the procfs crate at each scrape. A fact that cannot be read is left out, not the scrape.

use std::fmt;

use procfs::process::{LimitValue, Process};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

#[derive(Debug)]
pub(super) struct ProcessCollector;

/// When the host booted, as Unix seconds: the wall clock less the time since boot
/// (`CLOCK_BOOTTIME`), which needs no file of /proc. Under systemd's `ProcSubset=pid` (the shipped
/// unit) /proc holds only processes, so /proc/stat, where `btime` lives, is not there.
/// Read once: a start time that moved between scrapes by the clocks' jitter would read as a
/// restart to `changes()`.
#[allow(clippy::cast_precision_loss)]
fn boot_time() -> f64 {
    static BOOT: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *BOOT.get_or_init(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        let up = rustix::time::clock_gettime(rustix::time::ClockId::Boottime);
        now - (up.tv_sec as f64 + up.tv_nsec as f64 / 1e9)
    })
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: f64) -> fmt::Result {
    ConstGauge::new(value).encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

impl Collector for ProcessCollector {
    #[allow(clippy::cast_precision_loss)]
    fn encode(&self, mut encoder: DescriptorEncoder) -> fmt::Result {
        if let Some(bytes) = crate::heap::allocated() {
            ConstGauge::new(i64::try_from(bytes).unwrap_or(i64::MAX)).encode(
                encoder.encode_descriptor(
                    "firepower_cloud_heap_allocated_bytes",
                    "Heap bytes allocated and not yet freed (built with the heap-stats feature).",
                    None,
                    MetricType::Gauge,
                )?,
            )?;
        }
        let Ok(me) = Process::myself() else {
            return Ok(());
        };
        if let Ok(stat) = me.stat() {
            let ticks = procfs::ticks_per_second() as f64;
            let cpu = (stat.utime + stat.stime) as f64 / ticks;
            ConstCounter::new(cpu).encode(encoder.encode_descriptor(
                "process_cpu_seconds",
                "Total user and system CPU time spent in seconds.",
                None,
                MetricType::Counter,
            )?)?;
            gauge(
                &mut encoder,
                "process_virtual_memory_bytes",
                "Virtual memory size in bytes.",
                stat.vsize as f64,
            )?;
            gauge(
                &mut encoder,
                "process_resident_memory_bytes",
                "Resident memory size in bytes.",
                (stat.rss * procfs::page_size()) as f64,
            )?;
            gauge(
                &mut encoder,
                "process_threads",
                "Number of OS threads in the process.",
                stat.num_threads as f64,
            )?;
            gauge(
                &mut encoder,
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds.",
                boot_time() + stat.starttime as f64 / ticks,
            )?;
        }
        if let Ok(open) = me.fd_count() {
            gauge(
                &mut encoder,
                "process_open_fds",
                "Number of open file descriptors.",
                open as f64,
            )?;
        }
        if let Ok(limits) = me.limits()
            && let LimitValue::Value(max) = limits.max_open_files.soft_limit
        {
            gauge(
                &mut encoder,
                "process_max_fds",
                "Maximum number of open file descriptors.",
                max as f64,
            )?;
        }
        Ok(())
    }
}
