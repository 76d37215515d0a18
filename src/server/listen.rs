//! The accept loop: plain or TLS connections served with hyper, with the limits that keep a
//! hostile client from pinning the exporter, and graceful shutdown that lets in-flight scrapes
//! finish.
//!
//! A connection is *pending* until its first request head has arrived, then *serving*. Pending
//! connections cost little and get a cap of their own: when it is full, the oldest pending one is
//! shed, so clients that trickle their headers (or never send them) cannot keep a real scrape
//! waiting in the accept queue. Serving connections are bounded by `max_connections`; a request
//! beyond that waits for a slot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;

/// Bounds on what clients can hold.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections serving requests at once; a request beyond waits for one to close.
    pub max_connections: usize,
    /// Connections still sending their first request head; beyond, the oldest is closed.
    pub max_pending_connections: usize,
    /// Time a client has to complete the TLS handshake, and to send each request's headers.
    pub header_timeout: Duration,
    /// Largest request head accepted (hyper answers 431 above it).
    pub max_header_bytes: usize,
    /// How long in-flight requests may run after shutdown begins.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 256,
            max_pending_connections: 1024,
            header_timeout: Duration::from_secs(5),
            max_header_bytes: 16 * 1024,
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    // The guard `wait_for` returns must not live across an await: drop it here.
    let _ = stop.wait_for(|s| *s).await;
}

/// One open connection, as the accept loop sees it.
struct Open {
    /// Set once the first request head has arrived.
    serving: Arc<AtomicBool>,
    /// Closes the connection.
    shed: Arc<Notify>,
}

/// The open connections of one listener, oldest first.
#[derive(Default)]
struct Connections {
    next: u64,
    open: BTreeMap<u64, Open>,
}

impl Connections {
    /// Registers a new connection; when too many are pending, the oldest pending one is shed.
    fn admit(&mut self, max_pending: usize) -> (u64, Arc<AtomicBool>, Arc<Notify>) {
        // Fewer open connections than the pending cap cannot exceed it: no scan needed.
        if self.open.len() >= max_pending.max(1) {
            let mut pending = self
                .open
                .iter()
                .filter(|(_, c)| !c.serving.load(Ordering::Relaxed))
                .map(|(id, _)| *id);
            let oldest = pending.next();
            if let Some(oldest) = oldest
                && pending.count() + 1 >= max_pending.max(1)
                && let Some(c) = self.open.remove(&oldest)
            {
                c.shed.notify_one();
            }
        }
        let id = self.next;
        self.next += 1;
        let serving = Arc::new(AtomicBool::new(false));
        let shed = Arc::new(Notify::new());
        self.open.insert(
            id,
            Open {
                serving: serving.clone(),
                shed: shed.clone(),
            },
        );
        (id, serving, shed)
    }
}

fn lock(m: &Mutex<Connections>) -> MutexGuard<'_, Connections> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Serves `router` on `listener` until `stop` turns true, then waits for in-flight requests.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let acceptor = tls.map(TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let serving_slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let connections = Arc::new(Mutex::new(Connections::default()));
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = stopped(&mut stop) => break,
        };
        let _ = stream.set_nodelay(true);
        let (id, serving, shed) = lock(&connections).admit(limits.max_pending_connections);
        let connection = Connection {
            router: router.clone(),
            acceptor: acceptor.clone(),
            limits: limits.clone(),
            serving,
            serving_slots: serving_slots.clone(),
        };
        let watcher = graceful.watcher();
        let registry = connections.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = connection.run(stream, watcher) => {}
                () = shed.notified() => {}
            }
            lock(&registry).open.remove(&id);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_grace) => {
            tracing::warn!("shutdown grace period over: closing the remaining connections");
        }
    }
    Ok(())
}

/// Whether the connection's client presented a certificate the handshake verified; set on every
/// request of a TLS connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ClientCertificate(pub(crate) bool);

/// What one connection needs.
struct Connection {
    router: Router,
    acceptor: Option<TlsAcceptor>,
    limits: Limits,
    serving: Arc<AtomicBool>,
    serving_slots: Arc<Semaphore>,
}

impl Connection {
    async fn run(self, stream: TcpStream, watcher: hyper_util::server::graceful::Watcher) {
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_timeout)
            .max_buf_size(self.limits.max_header_bytes.max(8192));
        let inner = TowerToHyperService::new(self.router);
        // The connection's serving slot, taken when its first request head arrives.
        let slot: Arc<tokio::sync::Mutex<Option<OwnedSemaphorePermit>>> = Arc::default();
        let (serving, slots) = (self.serving, self.serving_slots);
        let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
            let (inner, slot, serving, slots) =
                (inner.clone(), slot.clone(), serving.clone(), slots.clone());
            async move {
                {
                    let mut held = slot.lock().await;
                    if held.is_none() {
                        *held = slots.acquire_owned().await.ok();
                        serving.store(true, Ordering::Relaxed);
                    }
                }
                hyper::service::Service::call(&inner, request).await
            }
        });
        match self.acceptor {
            None => {
                let conn = builder.serve_connection(TokioIo::new(stream), service);
                let _ = watcher.watch(conn).await;
            }
            Some(acceptor) => {
                let peer = stream.peer_addr().ok();
                match tokio::time::timeout(self.limits.header_timeout, acceptor.accept(stream))
                    .await
                {
                    Ok(Ok(tls)) => {
                        let verified =
                            ClientCertificate(tls.get_ref().1.peer_certificates().is_some());
                        let service = hyper::service::service_fn(move |mut request| {
                            request.extensions_mut().insert(verified);
                            hyper::service::Service::call(&service, request)
                        });
                        let conn = builder.serve_connection(TokioIo::new(tls), service);
                        let _ = watcher.watch(conn).await;
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(peer = ?peer, error = %e, "TLS handshake refused");
                    }
                    Err(_) => {
                        tracing::debug!(peer = ?peer, "TLS handshake not completed in time");
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_house_sheds_the_oldest_pending_connection_not_a_serving_one() {
        let mut c = Connections::default();
        let (first, first_serving, _) = c.admit(2);
        first_serving.store(true, Ordering::Relaxed);
        let (second, _, second_shed) = c.admit(2);
        let (third, _, _) = c.admit(2);
        // Two pending (second, third) fill the pending cap: the next sheds `second`.
        let (fourth, _, _) = c.admit(2);
        let open: Vec<u64> = c.open.keys().copied().collect();
        assert_eq!(open, vec![first, third, fourth]);
        assert!(
            futures_util::FutureExt::now_or_never(second_shed.notified()).is_some(),
            "the shed connection was told to close"
        );
        assert!(second < third);
    }
}
