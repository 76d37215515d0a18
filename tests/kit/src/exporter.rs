//! The exporter as an operator runs it: its binary with the given flags, listening where the
//! kernel puts it (`--web.listen-address=127.0.0.1:0`), the address read from its own
//! `listening` log line (no port is guessed in advance); its output kept in a log file; killed when
//! dropped (also when the test fails).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// How long the exporter may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Anything whose log a failing test shows.
pub trait Log {
    fn log(&self) -> String;
}

impl Log for crate::daemons::Daemon {
    fn log(&self) -> String {
        crate::daemons::Daemon::log(self)
    }
}

/// A running exporter process.
pub struct ExporterProcess {
    /// Where it listens.
    pub addr: SocketAddr,
    pub child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl ExporterProcess {
    /// Starts `binary` with `args` (which must not set `--web.listen-address`) and waits for its
    /// `listening` line.
    pub async fn start(binary: &Path, args: &[&str]) -> ExporterProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("exporter.log");
        let mut child = Command::new(binary)
            .args(args)
            .arg("--web.listen-address=127.0.0.1:0")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.path().join("stdout.log")).expect("log"))
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
        let mut file = tokio::fs::File::create(&log).await.expect("log");
        let addr = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                file.write_all(format!("{line}\n").as_bytes())
                    .await
                    .expect("log");
                if let Some(addr) = listening_address(&line) {
                    return Some(addr);
                }
            }
            None
        })
        .await
        .ok()
        .flatten();
        let Some(addr) = addr else {
            let _ = child.start_kill();
            panic!(
                "the exporter did not say where it listens:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        // The rest of its output goes on to the log file.
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if file
                    .write_all(format!("{line}\n").as_bytes())
                    .await
                    .is_err()
                {
                    break;
                }
            }
        });
        ExporterProcess {
            addr,
            child,
            log,
            _dir: dir,
        }
    }

    /// Sends the signal `name` (`HUP`, `TERM`) to the process.
    pub async fn signal(&self, name: &str) {
        let pid = self.child.id().expect("running").to_string();
        let status = Command::new("kill")
            .args([&format!("-{name}"), &pid])
            .status()
            .await
            .expect("kill");
        assert!(status.success(), "kill -{name} {pid}");
    }
}

impl Log for ExporterProcess {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Polls the exporter's `/metrics` at `addr` until `ready` holds of them (at most 10 s): tests
/// wait for a condition, never for a guessed time.
pub async fn until_metrics(
    addr: SocketAddr,
    what: &str,
    ready: impl Fn(&crate::exposition::Exposition) -> bool,
) {
    let until = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = crate::request(addr, "GET", "/metrics", &[]).await;
        if ready(&crate::exposition::Exposition::parse(&body)) {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The address of the exporter's `listening` line (`… address=127.0.0.1:40123 …`).
fn listening_address(line: &str) -> Option<SocketAddr> {
    if !line.contains("listening") {
        return None;
    }
    line.split_whitespace()
        .find_map(|field| field.strip_prefix("address="))
        .map(|a| a.trim_matches('"'))
        .and_then(|a| a.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_address_comes_from_the_listening_line_only() {
        let line =
            r#"ts=2026-12-02T08:00:00Z level=info msg=listening address=127.0.0.1:40123 tls=false"#;
        assert_eq!(
            listening_address(line),
            Some("127.0.0.1:40123".parse().expect("addr"))
        );
        assert_eq!(listening_address("msg=reloaded address=127.0.0.1:1"), None);
    }
}
