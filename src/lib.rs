//! firepower-cloud-exporter: runs the Firepower "Cisco Cloud Configuration" troubleshooting checklist
//! (DNS, TCP 443/8989, TLS, HTTPS) on every Prometheus scrape and says why a target fails.
#![forbid(unsafe_code)]

//!
//! Imports run one way: `checklist` (the vocabulary), `handshake` and `config` at the bottom, then
//! `probe` (runs the plan) and `fmc` (reads the management center's own verdict), `diagnosis`
//! (verdicts and the view model), and the views on top: `metrics`, `check`, `server`. `cli` and
//! `main.rs` sit above them all.

pub mod check;
pub mod checklist;
pub mod cli;
pub mod config;
mod diagnosis;
mod fmc;
mod handshake;
mod heap;
pub mod metrics;
mod probe;
pub mod server;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;

pub use server::{AppState, WebOptions};

/// Serves the exporter on `listeners` until `shutdown` completes; in-flight requests then finish
/// (each is bounded by its scrape budget, and all by the shutdown grace period).
pub async fn run(
    state: Arc<AppState>,
    listeners: Vec<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tls = state.options.web.tls.clone();
    state.start_fmc();
    let stopping = state.clone();
    let limits = state.options.limits.clone();
    let router = server::router(state);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        servers.spawn(server::serve(
            listener,
            router.clone(),
            tls.clone(),
            limits.clone(),
            stop_rx.clone(),
        ));
    }
    tokio::spawn(async move {
        shutdown.await;
        stopping.begin_shutdown();
        let _ = stop_tx.send(true);
    });
    let mut result = Ok(());
    while let Some(joined) = servers.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(e)) => result = Err(e),
            Err(e) => result = Err(std::io::Error::other(e)),
        }
    }
    result
}

/// Binds a Prometheus-style listen address: `:PORT` means every interface (IPv6 and IPv4 where the
/// host has IPv6, IPv4 otherwise); anything else is `host:port`.
pub async fn bind(address: &str) -> std::io::Result<TcpListener> {
    if let Some(port) = address.strip_prefix(':') {
        match TcpListener::bind(format!("[::]:{port}")).await {
            Ok(l) => Ok(l),
            Err(_) => TcpListener::bind(format!("0.0.0.0:{port}")).await,
        }
    } else {
        TcpListener::bind(address).await
    }
}
