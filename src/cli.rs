//! The command line: flags in the Prometheus exporter style (`--config.file`, `--web.listen-address`…)
//! and the `check` command.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Region, Source};

#[derive(Debug, Parser)]
#[command(
    name = "firepower-cloud-exporter",
    version,
    // A flag given twice takes its last value: the unit's defaults, then ARGS from /etc/default.
    args_override_self = true,
    about = "Prometheus exporter that runs the Firepower \"Cisco Cloud Configuration\" checklist (DNS, TCP 443/8989, TLS, HTTPS) and says why it fails"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// YAML configuration file; without it the embedded targets of --region are probed.
    #[arg(long = "config.file", global = true, value_name = "PATH")]
    pub config_file: Option<PathBuf>,

    /// Cisco cloud region whose embedded targets are probed when the configuration lists none.
    #[arg(long = "region", global = true, value_enum)]
    pub region: Option<Region>,

    /// A Firepower device's `connector.properties` (/ngfw/etc/sf/connector.properties): probe the
    /// connector FQDN, port and region discovery endpoint it names.
    #[arg(long = "connector-properties", global = true, value_name = "PATH")]
    pub connector_properties: Option<PathBuf>,

    /// Address to listen on; repeat for several (`:PORT` means every interface).
    #[arg(
        long = "web.listen-address",
        default_value = ":10027",
        value_name = "ADDR"
    )]
    pub listen_addresses: Vec<String>,

    /// Web configuration file (exporter-toolkit format): TLS, client certificates, basic auth.
    #[arg(long = "web.config.file", value_name = "PATH")]
    pub web_config_file: Option<PathBuf>,

    /// Connections serving requests at once; a request beyond waits for a slot.
    #[arg(long = "web.max-connections", default_value_t = 256, value_name = "N")]
    pub max_connections: usize,

    /// Connections still sending their first request head; beyond, the oldest is closed, so slow
    /// or silent clients cannot keep a scrape waiting.
    #[arg(
        long = "web.max-pending-connections",
        default_value_t = 1024,
        value_name = "N"
    )]
    pub max_pending_connections: usize,

    /// Time a client has for the TLS handshake and for sending each request's headers.
    #[arg(long = "web.read-header-timeout", default_value = "5s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub read_header_timeout: Duration,

    /// After SIGTERM: how long in-flight scrapes may still run (they answer by half of it with what
    /// they know); keep it below the orchestrator's kill timeout (Kubernetes: 30 s by default).
    #[arg(long = "web.shutdown-grace", default_value = "30s", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub shutdown_grace: Duration,

    /// The URL operators reach the exporter at (a DNS name, a reverse proxy or ingress); the
    /// alerts' runbook links start with it. Without it they use the scheme served and the
    /// address Prometheus scrapes.
    #[arg(long = "web.external-url", value_name = "URL", value_parser = parse_external_url)]
    pub external_url: Option<url::Url>,

    /// Path of the exporter's own metrics.
    #[arg(
        long = "web.telemetry-path",
        default_value = "/metrics",
        value_name = "PATH"
    )]
    pub telemetry_path: String,

    /// Subtracted from Prometheus' scrape timeout so the answer arrives in time.
    #[arg(long = "probe.timeout-offset", default_value = "500ms", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub timeout_offset: Duration,

    /// Only log messages at this level or above [default: info; error for `check`].
    #[arg(long = "log.level", value_enum, global = true)]
    pub log_level: Option<LogLevel>,

    /// Log line format.
    #[arg(long = "log.format", value_enum, default_value_t = LogFormat::Logfmt, global = true)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe every target once, print what was found with the reason and remedy, and exit:
    /// 0 when every row succeeds, 1 when one fails, 2 when the configuration is unusable.
    Check {
        /// `text` for a person, `json` for scripts.
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        output: OutputFormat,
        /// How long the whole check may take.
        #[arg(long, default_value = "10s", value_parser = humantime::parse_duration, value_name = "DURATION")]
        timeout: Duration,
        /// A file where `check` keeps each target's last success, so that a failure says what
        /// changed since (run from cron or a timer); created when missing.
        #[arg(long, value_name = "PATH")]
        state: Option<std::path::PathBuf>,
        /// Fail (exit 1) also when the management center (`fmc:`) reports a row it replicates as
        /// failing on a device, or cannot be read; without it, only the network's verdict counts.
        #[arg(long = "fmc-verdict")]
        fmc_verdict: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Logfmt,
    Json,
}

impl Cli {
    /// What configuration to load.
    pub fn source(&self) -> Source {
        Source {
            file: self.config_file.clone(),
            region: self.region,
            connector_properties: self.connector_properties.clone(),
        }
    }
}

impl Cli {
    /// The log level: as given, else `info` when serving and `error` for `check` (its report
    /// already says everything).
    pub fn log_level(&self) -> LogLevel {
        self.log_level.unwrap_or(match self.command {
            Some(Command::Check { .. }) => LogLevel::Error,
            None => LogLevel::Info,
        })
    }
}

impl LogLevel {
    pub fn as_filter(self) -> &'static str {
        match self {
            LogLevel::Debug => "debug",
            LogLevel::Info => "info",
            LogLevel::Warn => "warn",
            LogLevel::Error => "error",
        }
    }
}

/// An absolute `http` or `https` URL, without query or fragment (the runbook path is appended).
fn parse_external_url(text: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(text).map_err(|e| {
        format!("{e}: expected an absolute URL such as `https://exporter.example.net:10027`")
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("expected an http or https URL with a host, such as `https://exporter.example.net:10027`".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("the external URL takes no `?query` or `#fragment`".into());
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_in_the_exporter_style() {
        let cli = Cli::try_parse_from([
            "firepower-cloud-exporter",
            "--config.file=/etc/fce.yml",
            "--web.listen-address=127.0.0.1:0",
            "--web.listen-address=[::1]:10027",
            "--log.format=json",
        ])
        .expect("parses");
        assert_eq!(cli.config_file, Some(PathBuf::from("/etc/fce.yml")));
        assert_eq!(cli.listen_addresses.len(), 2);
        assert_eq!(cli.log_format, LogFormat::Json);
        assert_eq!(cli.timeout_offset, Duration::from_millis(500));
        let check = Cli::try_parse_from([
            "firepower-cloud-exporter",
            "check",
            "--output",
            "json",
            "--region",
            "eu",
        ])
        .expect("parses");
        assert!(matches!(
            check.command,
            Some(Command::Check {
                output: OutputFormat::Json,
                ..
            })
        ));
        assert_eq!(check.region, Some(Region::Eu));
    }
}
