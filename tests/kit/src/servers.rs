//! Loopback peers: certificates from rcgen, TLS servers that answer HTTP (or misbehave), plain TCP
//! listeners, and HTTP CONNECT proxies with Basic or Digest authentication.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// A private CA that signs leaf certificates for the tests.
pub struct Pki {
    issuer: Issuer<'static, KeyPair>,
    pub ca_pem: String,
    pub ca_der: CertificateDer<'static>,
    pub ca_file: PathBuf,
}

/// A certificate chain and its key, ready for a TLS server.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivatePkcs8KeyDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Leaf {
    /// Writes `NAME.crt` and `NAME.key` into `dir`.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert_pem).expect("write cert");
        std::fs::write(&key, &self.key_pem).expect("write key");
        (cert, key)
    }
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Test PKI");
    params
}

impl Pki {
    /// A CA named `common_name`, its PEM written to `dir`.
    pub fn new(dir: &Path, common_name: &str) -> Pki {
        let key = KeyPair::generate().expect("key");
        let params = ca_params(common_name);
        let cert = params.self_signed(&key).expect("ca");
        let ca_pem = cert.pem();
        let file_name: String = common_name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let ca_file = dir.join(format!("{file_name}.pem"));
        std::fs::write(&ca_file, &ca_pem).expect("write ca");
        Pki {
            issuer: Issuer::new(params, key),
            ca_pem,
            ca_der: cert.der().clone(),
            ca_file,
        }
    }

    /// A leaf for `names`, valid from `not_before` to `not_after` (offsets from now, in days).
    pub fn leaf_valid(&self, names: &[&str], not_before_days: i64, not_after_days: i64) -> Leaf {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(
            names
                .iter()
                .map(std::string::ToString::to_string)
                .collect::<Vec<_>>(),
        )
        .expect("params");
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now + time::Duration::days(not_before_days);
        params.not_after = now + time::Duration::days(not_after_days);
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        Leaf {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A leaf for `names`, valid for a year.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_valid(names, -1, 365)
    }
}

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
}

/// A TLS server on 127.0.0.1 whose behaviour tests can change.
pub struct TlsServer {
    pub addr: SocketAddr,
    behaviour: Arc<Mutex<Behaviour>>,
    pub connections: Arc<std::sync::atomic::AtomicUsize>,
}

impl TlsServer {
    pub async fn start(leaf: Leaf, behaviour: Behaviour) -> TlsServer {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(leaf.chain, PrivateKeyDer::Pkcs8(leaf.key))
        .expect("server config");
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let behaviour = Arc::new(Mutex::new(behaviour));
        let connections = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let b = behaviour.clone();
        let count = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let behaviour = b.lock().expect("behaviour").clone();
                let acceptor = acceptor.clone();
                tokio::spawn(serve_tls(stream, acceptor, behaviour));
            }
        });
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

async fn serve_tls(stream: TcpStream, acceptor: TlsAcceptor, behaviour: Behaviour) {
    if let Behaviour::Stall = behaviour {
        // Hold the connection open, silent, until the client gives up.
        let mut stream = stream;
        let mut buf = [0u8; 1024];
        while let Ok(n) = stream.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
        return;
    }
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
        _ => "\x00\x01garbage that is not HTTP\r\n\r\n".to_string(),
    };
    let _ = tls.write_all(response.as_bytes()).await;
    let _ = tls.shutdown().await;
}

/// A plain TCP listener that accepts and closes (what `telnet host 8989` needs to see).
pub async fn tcp_listener() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    addr
}

/// A port nothing listens on: connections are refused.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// How a test proxy authenticates and behaves.
#[derive(Debug, Clone)]
pub enum ProxyMode {
    Open,
    Basic {
        user: String,
        password: String,
    },
    Digest {
        user: String,
        password: String,
    },
    /// Answers CONNECT with this status (e.g. 403 by policy, 502 upstream down).
    Status(u16),
    /// Reads the request and closes without answering.
    CloseMidHandshake,
}

/// An HTTP CONNECT proxy on 127.0.0.1. Every CONNECT goes to `upstream`, whatever host it names
/// (the tests' Cisco names do not resolve); what was asked is recorded.
pub struct Proxy {
    pub addr: SocketAddr,
    pub requests: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    pub async fn start(mode: ProxyMode, upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(proxy_connection(
                    stream,
                    mode.clone(),
                    upstream,
                    log.clone(),
                ));
            }
        });
        Proxy { addr, requests }
    }
}

const NONCE: &str = "dcd98b7102dd2f0e8b11d0f600bfb0c093";

async fn proxy_connection(
    mut client: TcpStream,
    mode: ProxyMode,
    upstream: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match client.read(&mut buf).await {
            Ok(1) => head.push(buf[0]),
            _ => return,
        }
        if head.len() > 16 * 1024 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    log.lock().expect("log").push(head.clone());
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default().to_string();
    let uri = request_line
        .split(' ')
        .nth(1)
        .unwrap_or_default()
        .to_string();
    let authorization = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("proxy-authorization"))
        .map(|(_, v)| v.trim().to_string());
    let reply = |s: &str| s.to_string();
    let allowed = match &mode {
        ProxyMode::Open => Ok(()),
        ProxyMode::CloseMidHandshake => return,
        ProxyMode::Status(code) => Err(reply(&format!(
            "HTTP/1.1 {code} Denied\r\nContent-Length: 0\r\n\r\n"
        ))),
        ProxyMode::Basic { user, password } => {
            use base64::Engine;
            let expected = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
            );
            if authorization.as_deref() == Some(expected.as_str()) {
                Ok(())
            } else {
                Err(reply(
                    "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\"\r\nContent-Length: 0\r\n\r\n",
                ))
            }
        }
        ProxyMode::Digest { user, password } => {
            let ok = authorization
                .as_deref()
                .and_then(|a| digest_auth::AuthorizationHeader::parse(a).ok())
                .is_some_and(|header| {
                    let mut expected = header.clone();
                    let context = digest_auth::AuthContext::new_with_method(
                        user.as_str(),
                        password.as_str(),
                        uri.as_str(),
                        Option::<&[u8]>::None,
                        digest_auth::HttpMethod::CONNECT,
                    );
                    expected.digest(&context);
                    header.username == *user
                        && header.nonce == NONCE
                        && expected.response == header.response
                });
            if ok {
                Ok(())
            } else {
                Err(reply(&format!(
                    "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Digest realm=\"fmc-proxy\", qop=\"auth\", nonce=\"{NONCE}\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"\r\nContent-Length: 0\r\n\r\n"
                )))
            }
        }
    };
    match allowed {
        Err(answer) => {
            let _ = client.write_all(answer.as_bytes()).await;
        }
        Ok(()) => {
            let Ok(mut server) = TcpStream::connect(upstream).await else {
                let _ = client
                    .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
                    .await;
                return;
            };
            if client
                .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                .await
                .is_err()
            {
                return;
            }
            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
        }
    }
}
