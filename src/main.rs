//! The binary: parse flags, set up logging, then serve (or run `check` once).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use firepower_cloud_exporter::cli::{Cli, Command, LogFormat};
use firepower_cloud_exporter::config::ConfigError;
use firepower_cloud_exporter::server::{Limits, WebConfig};
use firepower_cloud_exporter::{AppState, WebOptions, bind, run};

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli);
    raise_open_files_limit();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        // Keep the blocking threads that encode large scrapes from one scrape to the next.
        .thread_keep_alive(std::time::Duration::from_secs(600))
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match &cli.command {
        Some(Command::Check { .. }) => {
            runtime.block_on(firepower_cloud_exporter::check::main(&cli))
        }
        None => match runtime.block_on(serve(cli)) {
            Ok(()) => ExitCode::SUCCESS,
            // One line (the log line), and the exit code `check` uses for an unusable configuration.
            Err(e) if e.downcast_ref::<ConfigError>().is_some() => {
                tracing::error!("{e:#}");
                ExitCode::from(firepower_cloud_exporter::check::EXIT_UNUSABLE)
            }
            Err(e) => {
                tracing::error!("{e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn serve(cli: Cli) -> anyhow::Result<()> {
    let source = cli.source();
    let config = source.load().context("invalid configuration")?;
    tracing::info!(
        source = %config.source(),
        targets = config.target_count(),
        version = env!("CARGO_PKG_VERSION"),
        "starting firepower-cloud-exporter"
    );
    // The web configuration is checked before anything listens.
    let web = match &cli.web_config_file {
        Some(path) => WebConfig::load(path).context("invalid web configuration")?,
        None => WebConfig::default(),
    };
    // Signal handlers before anything listens: a reload or a stop sent as soon as the exporter
    // says it listens must reach them, not the default action (which ends the process).
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .context("cannot handle SIGHUP")?;
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot handle SIGTERM")?;
    let mut listeners = Vec::new();
    for address in &cli.listen_addresses {
        let listener = bind(address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        tracing::info!(address = %listener.local_addr()?, tls = web.serves_tls(), basic_auth = web.requires_auth(), "listening");
        listeners.push(listener);
    }
    let options = WebOptions {
        telemetry_path: cli.telemetry_path.clone(),
        external_url: cli.external_url.clone(),
        timeout_offset: cli.timeout_offset,
        web,
        limits: Limits {
            max_connections: cli.max_connections,
            max_pending_connections: cli.max_pending_connections,
            shutdown_grace: cli.shutdown_grace,
            header_timeout: cli.read_header_timeout,
            ..Limits::default()
        },
    };
    let state = AppState::new(config, source, options);
    let reloader = state.clone();
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            let _ = reloader.reload().await;
        }
    });
    run(state, listeners, shutdown_signal(terminate)).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal(mut terminate: tokio::signal::unix::Signal) {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down: finishing in-flight scrapes");
}

fn init_logging(cli: &Cli) {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::new(format!(
        "{},hickory=warn,rustls=warn",
        cli.log_level().as_filter()
    ));
    let registry = tracing_subscriber::registry().with(filter);
    match cli.log_format {
        LogFormat::Json => registry
            .with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_writer(std::io::stderr),
            )
            .init(),
        LogFormat::Logfmt => registry
            .with(
                tracing_logfmt::builder()
                    .layer()
                    .with_writer(std::io::stderr),
            )
            .init(),
    }
}

/// Raises the soft limit of open files to the hard one (as Go programs such as the other
/// exporters do at start): every probe in flight holds a socket or two, and a soft limit of 1024
/// would cut `max_concurrent_probes` short with "too many open files".
fn raise_open_files_limit() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => {
            if let Err(e) = setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
                tracing::warn!(soft, hard, error = %e, "cannot raise the open-files limit");
            }
        }
        Ok(_) => {}
        Err(e) => tracing::debug!(error = %e, "cannot read the open-files limit"),
    }
}
