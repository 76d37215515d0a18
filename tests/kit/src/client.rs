//! Minimal HTTP/1.1 clients for tests: plain and over TLS (with an optional client certificate).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::servers::Leaf;

/// One HTTP/1.1 request over TLS, trusting `ca` and presenting `client` when given.
pub async fn request_tls(
    addr: SocketAddr,
    path: &str,
    ca: &rustls::pki_types::CertificateDer<'static>,
    client: Option<&Leaf>,
    headers: &[(&str, &str)],
) -> Result<(u16, String), String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).map_err(|e| e.to_string())?;
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots);
    let config = match client {
        Some(leaf) => builder
            .with_client_auth_cert(
                leaf.chain.clone(),
                rustls::pki_types::PrivateKeyDer::Pkcs8(leaf.key.clone_key()),
            )
            .map_err(|e| e.to_string())?,
        None => builder.with_no_client_auth(),
    };
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").map_err(|e| e.to_string())?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (status, body) = exchange(tls, "localhost", "GET", path, headers, Vec::new()).await?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// One HTTP/1.1 request on `io` (a TCP or TLS stream), with `host` as its `Host`, answered within
/// 30 s: the status and the body.
pub async fn exchange<S>(
    io: S,
    host: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<(u16, Bytes), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", host);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let request = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = tokio::time::timeout(Duration::from_secs(30), sender.send_request(request))
        .await
        .map_err(|_| "no answer in 30 s".to_string())?
        .map_err(|e| format!("request: {e}"))?;
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, body))
}

/// One HTTP/1.1 request; returns status and body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let stream = TcpStream::connect(addr).await.expect("connect to exporter");
    let (status, body) = exchange(stream, &addr.to_string(), method, path, headers, Vec::new())
        .await
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    (status, String::from_utf8_lossy(&body).into_owned())
}
