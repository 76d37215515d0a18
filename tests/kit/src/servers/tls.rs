//! A TLS server on loopback that answers HTTP, or misbehaves in one of the ways a hostile or broken
//! peer does (stalls, drips, garbage, alerts, resets).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rustls::pki_types::PrivateKeyDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

use super::Leaf;

/// How a TLS server answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Completes TLS and answers `GET` with this status, and a `Date` shifted by this many seconds.
    Http { status: u16, date_offset_secs: i64 },
    /// Completes TLS, then answers bytes that are not HTTP.
    Garbage,
    /// Accepts TCP and never says anything.
    Stall,
    /// Answers 403 after this many milliseconds (a slow but healthy path).
    SlowForbidden(u64),
    /// Answers 403 without a `Date` header.
    NoDate,
    /// Completes TLS, reads the request and never answers.
    Silent,
    /// Completes TLS, reads the request, then sends a response one byte every this many ms.
    Drip(u64),
    /// Completes TLS, reads the request and closes without a word.
    CloseAfterRequest,
    /// Accepts TCP and resets the connection at once.
    ResetOnAccept,
    /// Accepts TCP and closes it at once.
    CloseOnAccept,
    /// Accepts TCP and answers bytes that are not TLS.
    NotTls,
    /// Accepts TCP and sends a TLS record header one byte every this many ms, never a handshake.
    TlsDrip(u64),
    /// Accepts TCP and sends a fatal TLS alert (handshake failure).
    Alert,
}

/// A TLS server on 127.0.0.1 whose behaviour tests can change.
pub struct TlsServer {
    pub addr: SocketAddr,
    behaviour: Arc<Mutex<Behaviour>>,
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl TlsServer {
    pub async fn start(leaf: Leaf, behaviour: Behaviour) -> TlsServer {
        let acceptor = acceptor(leaf);
        let listeners = super::world_listeners();
        let addr = listeners[0].local_addr().expect("addr");
        let behaviour = Arc::new(Mutex::new(behaviour));
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        for listener in listeners {
            let b = behaviour.clone();
            let count = connections.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let behaviour = b.lock().expect("behaviour").clone();
                    let acceptor = acceptor.clone();
                    tokio::spawn(serve_tls(stream, acceptor, behaviour));
                }
            });
        }
        TlsServer {
            addr,
            behaviour,
            connections,
        }
    }

    pub fn set(&self, behaviour: Behaviour) {
        *self.behaviour.lock().expect("behaviour") = behaviour;
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

/// A TLS acceptor presenting `leaf` (ring, the safe default protocol versions).
pub fn acceptor(leaf: Leaf) -> TlsAcceptor {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(leaf.chain, PrivateKeyDer::Pkcs8(leaf.key))
    .expect("server config");
    TlsAcceptor::from(Arc::new(config))
}

/// Reads until the peer closes (or fails), keeping the connection open and silent meanwhile.
async fn hold<S: tokio::io::AsyncRead + Unpin>(mut stream: S) {
    let mut buf = [0u8; 1024];
    while let Ok(n) = stream.read(&mut buf).await {
        if n == 0 {
            break;
        }
    }
}

/// Sends `bytes` one at a time, `every` apart, then holds the connection.
async fn drip<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    mut stream: S,
    bytes: &[u8],
    every: Duration,
) {
    for b in bytes {
        tokio::time::sleep(every).await;
        if stream.write_all(&[*b]).await.is_err() || stream.flush().await.is_err() {
            return;
        }
    }
    hold(stream).await;
}

/// What happens before (or instead of) the TLS handshake; `None` when the handshake goes ahead.
async fn before_tls(stream: TcpStream, behaviour: &Behaviour) -> Option<TcpStream> {
    let mut stream = stream;
    match behaviour {
        Behaviour::Stall => hold(stream).await,
        Behaviour::ResetOnAccept => {
            let _ = stream.set_zero_linger();
            drop(stream);
        }
        Behaviour::CloseOnAccept => {
            let _ = stream.shutdown().await;
        }
        Behaviour::NotTls => {
            let _ = stream.write_all(b"SSH-2.0-OpenSSH_9.2\r\n").await;
            hold(stream).await;
        }
        // A handshake record header whose body never comes.
        Behaviour::TlsDrip(ms) => {
            drip(
                stream,
                &[0x16, 0x03, 0x03, 0x00, 0x40, 0x02],
                Duration::from_millis(*ms),
            )
            .await;
        }
        // A fatal alert: handshake_failure (40).
        Behaviour::Alert => {
            let _ = stream
                .write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 40])
                .await;
            hold(stream).await;
        }
        _ => return Some(stream),
    }
    None
}

async fn serve_tls(stream: TcpStream, acceptor: TlsAcceptor, behaviour: Behaviour) {
    let Some(stream) = before_tls(stream, &behaviour).await else {
        return;
    };
    let Ok(mut tls) = acceptor.accept(stream).await else {
        return;
    };
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match tls.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    match behaviour {
        Behaviour::Silent => return hold(tls).await,
        Behaviour::CloseAfterRequest => return,
        Behaviour::Drip(ms) => {
            let response = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\n\r\nForbidden";
            return drip(tls, response, Duration::from_millis(ms)).await;
        }
        _ => {}
    }
    let response = match behaviour {
        Behaviour::Http {
            status,
            date_offset_secs,
        } => {
            let now = SystemTime::now();
            let offset = Duration::from_secs(date_offset_secs.unsigned_abs());
            let date = if date_offset_secs >= 0 {
                now + offset
            } else {
                now - offset
            };
            format!(
                "HTTP/1.1 {status} Test\r\nDate: {}\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nForbidden",
                httpdate::fmt_http_date(date)
            )
        }
        Behaviour::SlowForbidden(delay_ms) => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            format!(
                "HTTP/1.1 403 Forbidden\r\nDate: {}\r\nContent-Length: 9\r\nConnection: close\r\n\r\nForbidden",
                httpdate::fmt_http_date(SystemTime::now())
            )
        }
        Behaviour::NoDate => {
            "HTTP/1.1 403 Forbidden\r\nContent-Length: 9\r\nConnection: close\r\n\r\nForbidden"
                .to_string()
        }
        _ => "\x00\x01garbage that is not HTTP\r\n\r\n".to_string(),
    };
    let _ = tls.write_all(response.as_bytes()).await;
    let _ = tls.shutdown().await;
}
