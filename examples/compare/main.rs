//! Side-by-side benchmark: firepower-cloud-exporter against prometheus-blackbox-exporter and a
//! floor, on loopback targets. Run it with `scripts/bench` (see docs/performance.md).
//!
//! `compare [--targets 1,100,1000,10000] [--wan-targets 1,10,100,1000,10000] [--wan-ms 80]
//! [--exporter PATH] [--blackbox PATH] [--soak SCRAPES] [--svg DIR] [--quick]` prints Markdown
//! tables of ratios from one run and, with `--svg`, draws them. `compare floor …` is the floor
//! process itself; `compare lab N CONFIG` holds a lab for profiling the exporter alone.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use firepower_cloud_testkit::bench::{
    Floor, FloorArgs, Lab, Measurement, cpu_seconds, cpu_split, run_blackbox, run_floor, run_ours,
    run_ours_with, status_bytes,
};

mod plot;

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if args.first().map(String::as_str) == Some("floor") {
        runtime.block_on(floor(FloorArgs::parse(&args)));
        return;
    }
    if args.first().map(String::as_str) == Some("lab") {
        runtime.block_on(hold_lab(&args));
        return;
    }
    runtime.block_on(compare(&args));
}

async fn floor(args: FloorArgs) {
    let rounds = args.rounds;
    let floor = Arc::new(Floor::new(args));
    floor.round().await;
    let me = std::process::id();
    let before = cpu_split(me);
    let mut walls = Vec::new();
    let mut failures = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        failures += floor.round().await;
        walls.push(started.elapsed().as_secs_f64());
    }
    walls.sort_by(f64::total_cmp);
    println!(
        "{}",
        serde_json::json!({
            "cpu_seconds": cpu_seconds(me) - before.0 - before.1,
            "system_seconds": cpu_split(me).1 - before.1,
            "peak_rss_bytes": status_bytes(me, "VmHWM"),
            "scrape_seconds": walls.get(walls.len() / 2).copied().unwrap_or(0.0),
            "failures": failures,
        })
    );
}

/// `compare lab N CONFIG`: holds a lab of N targets and writes the exporter's configuration for it
/// to CONFIG, until interrupted; for profiling the exporter on its own (callgrind, perf).
async fn hold_lab(args: &[String]) {
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1);
    let path = args.get(2).cloned().unwrap_or_else(|| "lab.yml".into());
    let lab = Lab::new(n).await;
    std::fs::write(&path, lab.exporter_config()).expect("write the configuration");
    println!("lab of {n} targets up; configuration in {path}; Ctrl-C ends it");
    let _ = tokio::signal::ctrl_c().await;
}

fn rounds_for(n: usize) -> usize {
    (300 / n.max(1)).clamp(1, 300)
}

/// CPU per check with its kernel share: `870 µs (310)`.
fn split(m: &Measurement) -> String {
    format!(
        "{} ({:.0})",
        us(m.cpu_per_check()),
        m.system_seconds / m.checks.max(1) as f64 * 1e6
    )
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / 1024.0 / 1024.0)
}

fn us(seconds: f64) -> String {
    format!("{:.0} µs", seconds * 1e6)
}

fn ms(seconds: f64) -> String {
    format!("{:.1} ms", seconds * 1e3)
}

fn numbers(text: &str) -> Vec<usize> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().expect("a list of numbers"))
        .collect()
}

async fn compare(args: &[String]) {
    let quick = args.iter().any(|a| a == "--quick");
    let targets = numbers(&arg(args, "--targets").unwrap_or_else(|| {
        if quick {
            "1,10,100"
        } else {
            "1,100,1000,10000"
        }
        .into()
    }));
    let wan_targets = numbers(&arg(args, "--wan-targets").unwrap_or_else(|| {
        if quick {
            "1,10,100"
        } else {
            "1,10,100,1000,10000"
        }
        .into()
    }));
    let wan_rtt =
        Duration::from_millis(arg(args, "--wan-ms").map_or(80, |s| s.parse().expect("--wan-ms")));
    let svg = arg(args, "--svg").map(PathBuf::from);
    let exporter = PathBuf::from(
        arg(args, "--exporter").unwrap_or_else(|| "target/release/firepower-cloud-exporter".into()),
    );
    let blackbox = PathBuf::from(
        arg(args, "--blackbox").unwrap_or_else(|| "/usr/bin/prometheus-blackbox-exporter".into()),
    );
    let soak: usize = arg(args, "--soak").map_or(if quick { 500 } else { 10_000 }, |s| {
        s.parse().expect("--soak")
    });
    let me = std::env::current_exe().expect("current exe");

    println!(
        "| targets | rounds | CPU/check ours (kernel) | CPU/check blackbox (kernel) | ours ÷ blackbox | CPU/check floor (kernel) | ours ÷ floor | peak RSS ours | peak RSS blackbox | ours ÷ blackbox | scrape ours | scrape blackbox | ours ÷ blackbox | failures (ours/blackbox/floor) |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    let mut scrape_by_n: Vec<(usize, f64)> = Vec::new();
    let mut cpu_by_n: Vec<(usize, [f64; 3])> = Vec::new();
    for &n in &targets {
        let lab = Lab::new(n).await;
        let rounds = rounds_for(n);
        let ours: Measurement = run_ours(&lab, &exporter, rounds).await;
        let bb: Measurement = run_blackbox(&lab, &blackbox, rounds).await;
        let fl: Measurement = run_floor(&lab, &me, rounds).await;
        scrape_by_n.push((n, ours.scrape_seconds));
        cpu_by_n.push((
            n,
            [ours.cpu_per_check(), bb.cpu_per_check(), fl.cpu_per_check()],
        ));
        println!(
            "| {n} | {rounds} | {} | {} | {:.2} | {} | {:.2} | {} | {} | {:.2} | {} | {} | {:.2} | {}/{}/{} |",
            split(&ours),
            split(&bb),
            ours.cpu_per_check() / bb.cpu_per_check(),
            split(&fl),
            ours.cpu_per_check() / fl.cpu_per_check(),
            mib(ours.peak_rss_bytes),
            mib(bb.peak_rss_bytes),
            ours.peak_rss_bytes as f64 / bb.peak_rss_bytes as f64,
            ms(ours.scrape_seconds),
            ms(bb.scrape_seconds),
            ours.scrape_seconds / bb.scrape_seconds,
            ours.failures,
            bb.failures,
            fl.failures,
        );
    }
    if let (Some((1, one)), Some(&(n, many))) = (
        scrape_by_n.first(),
        scrape_by_n.iter().find(|(n, _)| *n == 1000),
    ) {
        println!(
            "\nScrape of {n} targets ÷ scrape of 1 target: {:.1}× ({} vs {})",
            many / one,
            ms(many),
            ms(*one)
        );
    }
    let wan = wan_sweep(&exporter, &wan_targets, wan_rtt).await;
    if let Some(dir) = svg {
        std::fs::create_dir_all(&dir).expect("svg dir");
        plot::cpu(&dir.join("performance-cpu.svg"), &cpu_by_n);
        plot::wan(&dir.join("performance-wan.svg"), &wan, wan_rtt);
        println!(
            "\nPictures: {}/performance-cpu.svg, performance-wan.svg",
            dir.display()
        );
    }
    if soak > 0 {
        soak_test(&exporter, soak).await;
    }
}

/// Scrape wall time against N in the WAN lab, with the exporter's default limits and a 10 s
/// scrape budget (the timeout header says 10.5 s, minus the default 0.5 s offset).
async fn wan_sweep(exporter: &Path, targets: &[usize], rtt: Duration) -> Vec<(usize, f64)> {
    println!(
        "\nWAN lab: every exchange waits {} ms (DNS answer, each TLS flight, the request); TCP connects stay loopback-fast.\n",
        rtt.as_millis()
    );
    println!(
        "| targets | rounds | scrape | ÷ one target | budget_exhausted | failures | peak RSS | peak RSS per added target | heap kept per added target |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut out: Vec<(usize, f64)> = Vec::new();
    // The previous row's N and peak RSS: the growth per added target between two rows (both
    // with their probes in flight) is what a target costs, not the runtime's own baseline.
    let mut previous: Option<(usize, u64, Option<u64>)> = None;
    for &n in targets {
        let lab = Lab::wan(n, rtt).await;
        let rounds = if n >= 1000 { 1 } else { 3 };
        let m = run_ours_with(
            &lab,
            exporter,
            rounds,
            &lab.exporter_config_with(""),
            "10.5",
        )
        .await;
        let one = out.first().map_or(m.scrape_seconds, |(_, s)| *s);
        let per_target = previous.map(|(prev_n, prev_rss, _)| {
            m.peak_rss_bytes.saturating_sub(prev_rss) as f64
                / (n.saturating_sub(prev_n)).max(1) as f64
        });
        // The heap kept once the scrapes are over (the `heap-stats` build serves it).
        let heap_per_target = match (previous, m.heap_after_bytes) {
            (Some((prev_n, _, Some(prev_heap))), Some(heap)) => Some(
                heap.saturating_sub(prev_heap) as f64 / (n.saturating_sub(prev_n)).max(1) as f64,
            ),
            _ => None,
        };
        previous = Some((n, m.peak_rss_bytes, m.heap_after_bytes));
        out.push((n, m.scrape_seconds));
        println!(
            "| {n} | {rounds} | {} | {:.2}× | {} | {} | {} | {} | {} |",
            ms(m.scrape_seconds),
            m.scrape_seconds / one,
            m.budget_exhausted,
            m.failures,
            mib(m.peak_rss_bytes),
            per_target.map_or_else(|| "—".into(), |b| format!("{:.1} KiB", b / 1024.0)),
            heap_per_target.map_or_else(|| "—".into(), |b| format!("{:.0} B", b)),
        );
    }
    out
}

/// Resident memory of the exporter over many scrapes of one target: after a warm-up tenth, and at
/// the end.
async fn soak_test(exporter: &std::path::Path, scrapes: usize) {
    let lab = Lab::new(1).await;
    let c = firepower_cloud_testkit::bench::Contender::with_config(
        exporter,
        &lab,
        "exporter.yml",
        &lab.exporter_config(),
    )
    .await;
    let warm = scrapes / 10;
    let mut at_warm = 0;
    for i in 1..=scrapes {
        let (status, _) = firepower_cloud_testkit::request(c.addr, "GET", "/probe", &[]).await;
        assert_eq!(status, 200);
        if i == warm {
            at_warm = status_bytes(c.pid, "VmRSS");
        }
    }
    let at_end = status_bytes(c.pid, "VmRSS");
    println!(
        "\nMemory over {scrapes} scrapes of one target: {} after {warm}, {} after {scrapes} ({:+.1}%)",
        mib(at_warm),
        mib(at_end),
        (at_end as f64 / at_warm as f64 - 1.0) * 100.0
    );
}
