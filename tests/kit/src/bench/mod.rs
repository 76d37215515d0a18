//! The benchmark's harness: a loopback lab of N targets (a DNS server answering their names, a TLS
//! server answering `GET /` with 403, a TCP listener standing in for port 8989), and the three
//! contenders run against it as separate processes, measured from `/proc`:
//! firepower-cloud-exporter, Debian's prometheus-blackbox-exporter doing the same work with its
//! modules, and a floor that does only the DNS queries, connects, rustls handshakes and requests.
//!
//! `tests/it/bench.rs` runs this lab on a small N in the test suite; `scripts/bench` runs it at
//! full size through `examples/compare`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio::sync::Semaphore;

use crate::client::request;
use crate::servers::DelayRelay;
use crate::{Answer, Behaviour, DnsServer, Pki, TlsServer, servers};

mod floor;

pub use floor::{Floor, FloorArgs};

/// Requests in flight at once when a contender is driven the way Prometheus scrapes many targets.
pub const CLIENT_CONCURRENCY: usize = 256;
/// The name every blackbox DNS probe asks (its dns module has one fixed query name).
pub const BLACKBOX_QUERY_NAME: &str = "t0.bench.test";
/// The TLS server name of the lab's certificate.
pub const SERVER_NAME: &str = "bench.test";

/// The loopback targets.
pub struct Lab {
    pub n: usize,
    pub dns: DnsServer,
    pub pki: Pki,
    pub tls: TlsServer,
    pub plain: SocketAddr,
    /// The ports the targets use: the servers' own, or the delaying relays' in a WAN lab.
    pub tls_port: u16,
    pub plain_port: u16,
    /// The round trip every exchange costs (zero on plain loopback).
    pub rtt: Duration,
    _relays: Vec<DelayRelay>,
    pub dir: tempfile::TempDir,
}

impl Lab {
    /// N targets on plain loopback.
    pub async fn new(n: usize) -> Lab {
        Lab::wan(n, Duration::ZERO).await
    }

    /// N targets a wide-area round trip away: the DNS server answers `rtt` late, and the TLS and
    /// "8989" ports sit behind relays that hold every chunk `rtt / 2` each way (the TCP handshake
    /// itself stays loopback-fast: the kernel completes it).
    pub async fn wan(n: usize, rtt: Duration) -> Lab {
        let dir = tempfile::tempdir().expect("tempdir");
        let dns = DnsServer::start().await;
        let late_ms = u64::try_from(rtt.as_millis()).unwrap_or(u64::MAX);
        for i in 0..n.max(1) {
            let addresses = vec![[127, 0, 0, 1].into()];
            let answer = if rtt.is_zero() {
                Answer::Addresses(addresses)
            } else {
                Answer::Late(late_ms, addresses)
            };
            dns.set(&format!("t{i}.bench.test"), answer);
        }
        let pki = Pki::new(dir.path(), "Bench CA");
        // One wildcard certificate covers every target name (10 000 names would not fit in one).
        let leaf = pki.leaf(&["*.bench.test", SERVER_NAME]);
        let tls = TlsServer::start(
            leaf,
            Behaviour::Http {
                status: 403,
                date_offset_secs: 0,
            },
        )
        .await;
        let plain = servers::tcp_listener().await;
        let mut relays = Vec::new();
        let (tls_port, plain_port) = if rtt.is_zero() {
            (tls.port(), plain.port())
        } else {
            let tls_relay = DelayRelay::start(tls.addr, rtt).await;
            let plain_relay = DelayRelay::start(plain, rtt).await;
            let ports = (tls_relay.addr.port(), plain_relay.addr.port());
            relays.extend([tls_relay, plain_relay]);
            ports
        };
        Lab {
            n,
            dns,
            pki,
            tls,
            plain,
            tls_port,
            plain_port,
            rtt,
            _relays: relays,
            dir,
        }
    }

    /// firepower-cloud-exporter's configuration: N targets doing the full check.
    pub fn exporter_config(&self) -> String {
        self.exporter_config_with(&format!("max_concurrent_probes: {CLIENT_CONCURRENCY}\n"))
    }

    /// The same with `top` as the configuration's first lines (empty: the exporter's defaults).
    pub fn exporter_config_with(&self, top: &str) -> String {
        let mut yaml = format!(
            "{top}defaults:\n  timeout: 30s\n  min_interval: 0s\n  dns: {{ servers: [\"{}\"] }}\n  tls: {{ ca_file: \"{}\" }}\ntargets:\n",
            self.dns.addr,
            self.pki.ca_file.display()
        );
        for i in 0..self.n {
            yaml.push_str(&format!(
                "  - {{ name: t{i}, host: t{i}.bench.test, service: cisco_cloud_configuration, checks: [dns, tcp, tls, http], tcp_ports: [{}, {}], tls_port: {}, http: {{ expected_status: [403] }} }}\n",
                self.tls_port, self.plain_port, self.tls_port
            ));
        }
        yaml
    }

    /// `blackbox_exporter`'s modules doing the same checks.
    pub fn blackbox_config(&self) -> String {
        let ca = self.pki.ca_file.display();
        format!(
            "modules:\n  dns:\n    prober: dns\n    timeout: 30s\n    dns:\n      query_name: \"{BLACKBOX_QUERY_NAME}\"\n      query_type: A\n      transport_protocol: udp\n      preferred_ip_protocol: ip4\n      ip_protocol_fallback: false\n  tcp_connect:\n    prober: tcp\n    timeout: 30s\n    tcp:\n      preferred_ip_protocol: ip4\n  tls:\n    prober: tcp\n    timeout: 30s\n    tcp:\n      tls: true\n      preferred_ip_protocol: ip4\n      tls_config:\n        ca_file: \"{ca}\"\n        server_name: \"{SERVER_NAME}\"\n  https_403:\n    prober: http\n    timeout: 30s\n    http:\n      method: GET\n      valid_status_codes: [403]\n      no_follow_redirects: true\n      preferred_ip_protocol: ip4\n      tls_config:\n        ca_file: \"{ca}\"\n        server_name: \"{SERVER_NAME}\"\n"
        )
    }

    /// One full check per target as Prometheus would send it to `blackbox_exporter`: one `/probe`
    /// request per target and module (DNS, TCP 443, TCP 8989, TLS, HTTPS).
    pub fn blackbox_requests(&self) -> Vec<String> {
        let dns = self.dns.addr;
        let tls = format!("127.0.0.1:{}", self.tls_port);
        let plain = format!("127.0.0.1:{}", self.plain_port);
        let mut out = Vec::with_capacity(self.n * 5);
        for _ in 0..self.n {
            out.push(format!("/probe?module=dns&target={dns}"));
            out.push(format!("/probe?module=tcp_connect&target={tls}"));
            out.push(format!("/probe?module=tcp_connect&target={plain}"));
            out.push(format!("/probe?module=tls&target={tls}"));
            out.push(format!("/probe?module=https_403&target=https://{tls}/"));
        }
        out
    }

    pub fn floor_args(&self, rounds: usize) -> Vec<String> {
        vec![
            "floor".into(),
            format!("--dns={}", self.dns.addr),
            format!("--targets={}", self.n),
            format!("--tls-port={}", self.tls_port),
            format!("--plain-port={}", self.plain_port),
            format!("--ca={}", self.pki.ca_file.display()),
            format!("--rounds={rounds}"),
        ]
    }
}

/// CPU seconds (user + system) a process has used so far.
pub fn cpu_seconds(pid: u32) -> f64 {
    let (user, system) = cpu_split(pid);
    user + system
}

/// CPU seconds in user space and in the kernel a process has used so far.
pub fn cpu_split(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the command.
    (ticks(11) / 100.0, ticks(12) / 100.0)
}

/// A field of /proc/PID/status in bytes (`VmHWM` is the peak resident set, `VmRSS` the current).
pub fn status_bytes(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| {
            l.strip_prefix(field)
                .and_then(|r| r.trim_start_matches(':').split_whitespace().next())
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0)
        * 1024
}

/// A contender's process.
pub struct Contender {
    pub child: Child,
    pub pid: u32,
    pub addr: SocketAddr,
}

impl Contender {
    /// Writes `config` into the lab's folder and starts `program` with it. Both exporters take
    /// `--config.file`, `--log.level` and `--web.listen-address`.
    pub async fn with_config(program: &Path, lab: &Lab, file: &str, config: &str) -> Contender {
        let path = lab.dir.path().join(file);
        std::fs::write(&path, config).expect("write config");
        let args = vec![
            format!("--config.file={}", path.display()),
            "--log.level=error".into(),
        ];
        Contender::start(program, args, "--web.listen-address").await
    }

    /// Starts `program` listening on a free loopback port and waits until it answers.
    pub async fn start(program: &Path, args: Vec<String>, listen_flag: &str) -> Contender {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("port");
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
        let mut all = args;
        all.push(format!("{listen_flag}=127.0.0.1:{port}"));
        let child = Command::new(program)
            .args(&all)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()));
        let pid = child.id().expect("pid");
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Contender { child, pid, addr };
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("{} did not listen on {addr}", program.display());
    }
}

/// What one contender cost.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub checks: usize,
    pub cpu_seconds: f64,
    /// The part of `cpu_seconds` spent in the kernel (sockets, wake-ups).
    pub system_seconds: f64,
    pub peak_rss_bytes: u64,
    /// Wall time of one scrape of all N targets (the median over the rounds).
    pub scrape_seconds: f64,
    /// Targets (or probes) that did not succeed.
    pub failures: usize,
    /// Stages reported `budget_exhausted` (the scrape budget ran out before they could run).
    pub budget_exhausted: usize,
    /// The exporter's live heap once its scrapes are over (with the `heap-stats` feature).
    pub heap_after_bytes: Option<u64>,
}

impl Measurement {
    pub fn cpu_per_check(&self) -> f64 {
        self.cpu_seconds / self.checks.max(1) as f64
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// Runs one warm-up round, then `rounds` measured rounds of `round` (which returns its wall time
/// and failures) against the process `pid` serving `n` targets.
async fn measure<F, Fut>(pid: u32, n: usize, rounds: usize, round: F) -> Measurement
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = (f64, usize)>,
{
    round().await;
    let before = cpu_split(pid);
    let mut walls = Vec::new();
    let mut failures = 0;
    for _ in 0..rounds {
        let (wall, failed) = round().await;
        walls.push(wall);
        failures += failed;
    }
    let after = cpu_split(pid);
    Measurement {
        checks: rounds * n,
        cpu_seconds: after.0 + after.1 - before.0 - before.1,
        system_seconds: after.1 - before.1,
        peak_rss_bytes: status_bytes(pid, "VmHWM"),
        scrape_seconds: median(walls),
        failures,
        budget_exhausted: 0,
        heap_after_bytes: None,
    }
}

/// Runs `rounds` scrapes of every target through firepower-cloud-exporter (one `/probe` request
/// for all N targets each), after one warm-up round.
pub async fn run_ours(lab: &Lab, binary: &Path, rounds: usize) -> Measurement {
    run_ours_with(lab, binary, rounds, &lab.exporter_config(), "120").await
}

/// The same with this configuration and `X-Prometheus-Scrape-Timeout-Seconds` value; counts the
/// targets that failed and the stages the budget left out.
pub async fn run_ours_with(
    lab: &Lab,
    binary: &Path,
    rounds: usize,
    config: &str,
    scrape_timeout: &str,
) -> Measurement {
    let c = Contender::with_config(binary, lab, "exporter.yml", config).await;
    let budget_exhausted = std::sync::atomic::AtomicUsize::new(0);
    let scrape = || async {
        let started = Instant::now();
        let (status, body) = request(
            c.addr,
            "GET",
            "/probe",
            &[("X-Prometheus-Scrape-Timeout-Seconds", scrape_timeout)],
        )
        .await;
        assert_eq!(status, 200);
        let ok = body
            .lines()
            .filter(|l| l.starts_with("firepower_cloud_target_success{") && l.ends_with(" 1"))
            .count();
        let exhausted = body
            .lines()
            .filter(|l| {
                l.starts_with("firepower_cloud_stage_verdict{")
                    && l.contains("reason=\"budget_exhausted\"")
            })
            .count();
        budget_exhausted.fetch_add(exhausted, std::sync::atomic::Ordering::Relaxed);
        // For a look at where a scrape's time went: FCE_BENCH_DUMP=path keeps the last answer.
        if let Some(path) = std::env::var_os("FCE_BENCH_DUMP") {
            let _ = std::fs::write(path, &body);
        }
        (started.elapsed().as_secs_f64(), lab.n - ok)
    };
    let mut m = measure(c.pid, lab.n, rounds, scrape).await;
    m.budget_exhausted = budget_exhausted.into_inner();
    // What stays between scrapes: results past their min_interval are let go at once here.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (_, own) = request(c.addr, "GET", "/metrics", &[]).await;
    m.heap_after_bytes = own.lines().find_map(|l| {
        l.strip_prefix("firepower_cloud_heap_allocated_bytes ")
            .and_then(|v| v.parse::<u64>().ok())
    });
    m
}

/// The same through `blackbox_exporter`: N×5 `/probe` requests per round, `CLIENT_CONCURRENCY` at
/// a time.
pub async fn run_blackbox(lab: &Lab, binary: &Path, rounds: usize) -> Measurement {
    let c = Contender::with_config(binary, lab, "blackbox.yml", &lab.blackbox_config()).await;
    let requests = Arc::new(lab.blackbox_requests());
    let limit = Arc::new(Semaphore::new(CLIENT_CONCURRENCY));
    let round = || {
        let requests = requests.clone();
        let limit = limit.clone();
        let addr = c.addr;
        async move {
            let started = Instant::now();
            let mut tasks = Vec::with_capacity(requests.len());
            for path in requests.iter() {
                let path = path.clone();
                let limit = limit.clone();
                tasks.push(tokio::spawn(async move {
                    let _permit = limit.acquire_owned().await.expect("semaphore");
                    let (status, body) = request(
                        addr,
                        "GET",
                        &path,
                        &[("X-Prometheus-Scrape-Timeout-Seconds", "30")],
                    )
                    .await;
                    status == 200 && body.lines().any(|l| l == "probe_success 1")
                }));
            }
            let mut failed = 0;
            for t in tasks {
                if !t.await.unwrap_or(false) {
                    failed += 1;
                }
            }
            (started.elapsed().as_secs_f64(), failed)
        }
    };
    measure(c.pid, lab.n, rounds, round).await
}

/// The floor, as a child process running `program floor …` (the harness binary itself).
pub async fn run_floor(lab: &Lab, program: &Path, rounds: usize) -> Measurement {
    let out = Command::new(program)
        .args(lab.floor_args(rounds))
        .stderr(Stdio::inherit())
        .output()
        .await
        .expect("floor ran");
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value =
        serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("floor output {text}: {e}"));
    Measurement {
        checks: rounds * lab.n,
        cpu_seconds: v["cpu_seconds"].as_f64().unwrap_or(0.0),
        system_seconds: v["system_seconds"].as_f64().unwrap_or(0.0),
        peak_rss_bytes: v["peak_rss_bytes"].as_u64().unwrap_or(0),
        scrape_seconds: v["scrape_seconds"].as_f64().unwrap_or(0.0),
        failures: v["failures"]
            .as_u64()
            .and_then(|f| usize::try_from(f).ok())
            .unwrap_or(0),
        budget_exhausted: 0,
        heap_after_bytes: None,
    }
}
