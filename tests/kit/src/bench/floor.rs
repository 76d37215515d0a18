//! The floor: the work itself and nothing else (the same DNS query, connects, verified rustls
//! handshake and request per target), as the lower bound both exporters are compared with.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Semaphore;

use super::CLIENT_CONCURRENCY;

/// What the floor process is told.
pub struct FloorArgs {
    pub dns: SocketAddr,
    pub targets: usize,
    pub tls_port: u16,
    pub plain_port: u16,
    pub ca: PathBuf,
    pub rounds: usize,
}

impl FloorArgs {
    pub fn parse(args: &[String]) -> FloorArgs {
        let get = |name: &str| {
            args.iter()
                .find_map(|a| a.strip_prefix(&format!("--{name}=")).map(str::to_string))
                .unwrap_or_else(|| panic!("floor needs --{name}"))
        };
        FloorArgs {
            dns: get("dns").parse().expect("--dns"),
            targets: get("targets").parse().expect("--targets"),
            tls_port: get("tls-port").parse().expect("--tls-port"),
            plain_port: get("plain-port").parse().expect("--plain-port"),
            ca: PathBuf::from(get("ca")),
            rounds: get("rounds").parse().expect("--rounds"),
        }
    }
}

/// The cost of the work itself: the same DNS query, two connects, a verified rustls handshake and
/// the request, per target, with the same concurrency; no metrics, no serving, no bookkeeping.
pub struct Floor {
    resolver: hickory_resolver::TokioResolver,
    tls: tokio_rustls::TlsConnector,
    args: FloorArgs,
}

impl Floor {
    pub fn new(args: FloorArgs) -> Floor {
        use hickory_resolver::config::{
            ConnectionConfig, NameServerConfig, ResolverConfig, ResolverOpts,
        };
        let mut conn = ConnectionConfig::udp();
        conn.port = args.dns.port();
        let config = ResolverConfig::from_name_servers(vec![NameServerConfig::new(
            args.dns.ip(),
            true,
            vec![conn],
        )]);
        let mut options = ResolverOpts::default();
        options.cache_size = 0;
        options.ip_strategy = hickory_resolver::config::LookupIpStrategy::Ipv4Only;
        let mut builder = hickory_resolver::TokioResolver::builder_with_config(
            config,
            hickory_resolver::net::runtime::TokioRuntimeProvider::default(),
        );
        *builder.options_mut() = options;
        let resolver = builder.build().expect("resolver");
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(&args.ca).expect("ca");
        use rustls::pki_types::pem::PemObject;
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&pem) {
            roots.add(cert.expect("pem")).expect("root");
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
        // Full handshakes every time, like the exporter and blackbox_exporter: no resumption.
        let mut config = config;
        config.resumption = rustls::client::Resumption::disabled();
        Floor {
            resolver,
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            args,
        }
    }

    /// One full check of target `i`.
    pub async fn check(&self, i: usize) -> bool {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let name = format!("t{i}.bench.test.");
        let Ok(lookup) = self.resolver.lookup_ip(name.as_str()).await else {
            return false;
        };
        let Some(ip) = lookup.iter().next() else {
            return false;
        };
        let Ok(_plain) = tokio::net::TcpStream::connect((ip, self.args.plain_port)).await else {
            return false;
        };
        let Ok(stream) = tokio::net::TcpStream::connect((ip, self.args.tls_port)).await else {
            return false;
        };
        let Ok(server_name) =
            rustls::pki_types::ServerName::try_from(name.trim_end_matches('.').to_string())
        else {
            return false;
        };
        let Ok(mut tls) = self.tls.connect(server_name, stream).await else {
            return false;
        };
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            name.trim_end_matches('.')
        );
        if tls.write_all(request.as_bytes()).await.is_err() {
            return false;
        }
        let mut head = Vec::with_capacity(256);
        let mut buf = [0u8; 512];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match tls.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        head.starts_with(b"HTTP/1.1 403")
    }

    /// One round over every target, `CLIENT_CONCURRENCY` at a time; returns the failures.
    pub async fn round(self: &Arc<Self>) -> usize {
        let limit = Arc::new(Semaphore::new(CLIENT_CONCURRENCY));
        let mut tasks = Vec::with_capacity(self.args.targets);
        for i in 0..self.args.targets {
            let floor = self.clone();
            let limit = limit.clone();
            tasks.push(tokio::spawn(async move {
                let _permit = limit.acquire_owned().await.expect("semaphore");
                floor.check(i).await
            }));
        }
        let mut failed = 0;
        for t in tasks {
            if !t.await.unwrap_or(false) {
                failed += 1;
            }
        }
        failed
    }
}
