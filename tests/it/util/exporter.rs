//! The exporter started in-process on 127.0.0.1:0, with the test kit's client and exposition
//! parser to talk to it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use firepower_cloud_exporter::config::Source;
use firepower_cloud_exporter::{AppState, WebOptions};
use firepower_cloud_testkit::{Exposition, request};
use tokio::net::TcpListener;

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
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        Self::start_on(yaml, options, listener).await
    }

    /// Told the address people use, as the compose and Kubernetes files tell it
    /// (`--web.external-url=http://localhost:PORT/`).
    pub async fn start_with_external_url(yaml: &str) -> Exporter {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let options = WebOptions {
            external_url: Some(
                format!("http://localhost:{port}/")
                    .parse()
                    .expect("external URL"),
            ),
            ..WebOptions::default()
        };
        Self::start_on(yaml, options, listener).await
    }

    async fn start_on(yaml: &str, options: WebOptions, listener: TcpListener) -> Exporter {
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
