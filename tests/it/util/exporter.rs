//! The exporter started in-process on 127.0.0.1:0, an HTTP client for it, and a parser for the
//! exposition format so tests assert values, not substrings.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use firepower_cloud_exporter::config::Source;
use firepower_cloud_exporter::{AppState, WebOptions};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};

/// A running exporter.
pub struct Exporter {
    pub addr: SocketAddr,
    pub state: Arc<AppState>,
    pub config_path: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _dir: tempfile::TempDir,
}

impl Exporter {
    /// Starts the exporter with `yaml` written to a config file (so reload tests can rewrite it).
    pub async fn start(yaml: &str) -> Exporter {
        Self::start_with(yaml, WebOptions::default()).await
    }

    /// The same with web options (TLS, basic auth, limits).
    pub async fn start_with(yaml: &str, options: WebOptions) -> Exporter {
        let dir = tempfile::tempdir().expect("tempdir");
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, yaml).expect("write config");
        let source = Source {
            file: Some(config_path.clone()),
            ..Source::default()
        };
        let config = source
            .load()
            .unwrap_or_else(|e| panic!("test config is invalid: {e}"));
        let state = AppState::new(config, source, options);
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = tokio::sync::oneshot::channel();
        let s = state.clone();
        tokio::spawn(async move {
            let _ = firepower_cloud_exporter::run(s, vec![listener], async {
                let _ = rx.await;
            })
            .await;
        });
        Exporter {
            addr,
            state,
            config_path,
            stop: Some(tx),
            _dir: dir,
        }
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        request(self.addr, "GET", path, &[]).await
    }

    /// GET with the scrape-timeout header Prometheus sends.
    pub async fn scrape(&self, path: &str, timeout_secs: f64) -> (u16, String) {
        request(
            self.addr,
            "GET",
            path,
            &[(
                "X-Prometheus-Scrape-Timeout-Seconds",
                &timeout_secs.to_string(),
            )],
        )
        .await
    }

    /// Scrapes `/probe?target=NAME` and parses the answer.
    pub async fn probe(&self, target: &str) -> Exposition {
        let (status, body) = self.scrape(&format!("/probe?target={target}"), 10.0).await;
        assert_eq!(status, 200, "{body}");
        Exposition::parse(&body)
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
    }
}

/// One HTTP/1.1 request over TLS, trusting `ca` and presenting `client` when given.
pub async fn request_tls(
    addr: SocketAddr,
    path: &str,
    ca: &rustls::pki_types::CertificateDer<'static>,
    client: Option<&crate::util::servers::Leaf>,
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
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut builder = hyper::Request::builder()
        .uri(path)
        .header("host", "localhost");
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        sender.send_request(
            builder
                .body(Full::new(Bytes::new()))
                .map_err(|e| e.to_string())?,
        ),
    )
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
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// One HTTP/1.1 request; returns status and body.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String) {
    let stream = TcpStream::connect(addr).await.expect("connect to exporter");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let response = tokio::time::timeout(
        Duration::from_secs(30),
        sender.send_request(builder.body(Full::new(Bytes::new())).expect("request")),
    )
    .await
    .expect("exporter answered within 30 s")
    .expect("response");
    let status = response.status().as_u16();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// One sample of the text exposition format.
#[derive(Debug, Clone)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

/// A parsed exposition: samples plus HELP and TYPE per family.
#[derive(Debug, Default)]
pub struct Exposition {
    pub samples: Vec<Sample>,
    pub help: BTreeMap<String, String>,
    pub types: BTreeMap<String, String>,
}

impl Exposition {
    pub fn parse(text: &str) -> Exposition {
        let mut out = Exposition::default();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
                out.help.insert(name.into(), help.into());
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, ty) = rest.split_once(' ').expect("TYPE line");
                out.types.insert(name.into(), ty.into());
            } else if line.starts_with('#') || line.is_empty() {
                continue;
            } else {
                out.samples.push(parse_sample(line));
            }
        }
        out
    }

    /// Samples of `name` whose labels include all of `labels`.
    pub fn all(&self, name: &str, labels: &[(&str, &str)]) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|s| {
                s.name == name
                    && labels
                        .iter()
                        .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .collect()
    }

    /// The one sample of `name` with `labels`; panics with the exposition when absent or ambiguous.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found = self.all(name, labels);
        assert_eq!(
            found.len(),
            1,
            "expected one {name}{labels:?}, found {found:#?}"
        );
        found[0].value
    }

    /// The value of `label` on the one sample of `name` with `labels`.
    pub fn label(&self, name: &str, labels: &[(&str, &str)], label: &str) -> String {
        let found = self.all(name, labels);
        assert_eq!(
            found.len(),
            1,
            "expected one {name}{labels:?}, found {found:#?}"
        );
        found[0].labels.get(label).cloned().unwrap_or_default()
    }
}

fn parse_sample(line: &str) -> Sample {
    let (head, value) = line.rsplit_once(' ').expect("sample has a value");
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
    };
    let (name, labels) = match head.split_once('{') {
        None => (head.to_string(), BTreeMap::new()),
        Some((name, rest)) => (
            name.to_string(),
            parse_labels(rest.strip_suffix('}').expect("closing brace")),
        ),
    };
    Sample {
        name,
        labels,
        value,
    }
}

fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut chars = text.chars().peekable();
    loop {
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'));
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                c => value.push(c),
            }
        }
        labels.insert(key.trim_start_matches(',').to_string(), value);
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    labels
}
