//! An HTTP CONNECT proxy on loopback with Basic or Digest authentication, or one of the ways a
//! broken proxy answers.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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
    /// Reads the request and never answers.
    Silent,
    /// Answers `200 Connection established` one byte every this many ms.
    Drip(u64),
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
        ProxyMode::Silent => {
            let mut buf = [0u8; 1024];
            while let Ok(n) = client.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
            return;
        }
        ProxyMode::Drip(ms) => {
            for b in b"HTTP/1.1 200 Connection established\r\n\r\n" {
                tokio::time::sleep(std::time::Duration::from_millis(*ms)).await;
                if client.write_all(&[*b]).await.is_err() {
                    return;
                }
            }
            return;
        }
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
