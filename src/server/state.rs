//! What the routes share: the running configuration's prober, the metrics, the management
//! center's reading, the web options; reloading the configuration and beginning shutdown.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::time::Instant;

use super::listen::Limits;
use super::web_config::WebConfig;
use crate::config::{Config, ConfigError, Source};
use crate::diagnosis::Logged;
use crate::fmc::Fmc;
use crate::metrics::{Metrics, RunbookLink};
use crate::probe::{Clients, Prober};

/// Settings of the HTTP side.
#[derive(Debug, Clone)]
pub struct WebOptions {
    pub telemetry_path: String,
    /// Where operators reach the exporter (`--web.external-url`); the runbook links use it.
    pub external_url: Option<url::Url>,
    /// Subtracted from the scrape timeout so the answer arrives before Prometheus gives up.
    pub timeout_offset: Duration,
    pub web: WebConfig,
    pub limits: Limits,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            telemetry_path: "/metrics".into(),
            external_url: None,
            timeout_offset: Duration::from_millis(500),
            web: WebConfig::default(),
            limits: Limits::default(),
        }
    }
}

/// Everything the routes share.
pub struct AppState {
    prober: RwLock<Arc<Prober>>,
    source: Source,
    clients: Arc<Clients>,
    pub(crate) metrics: Arc<Metrics>,
    /// The management center's last reading (`fmc:`), kept by its poller.
    pub(crate) fmc: Arc<Fmc>,
    pub(crate) options: WebOptions,
    reload_lock: tokio::sync::Mutex<()>,
    /// bcrypt is deliberately slow: at most this many checks run at once.
    pub(super) auth_checks: Semaphore,
    /// Once shutdown begins: the time by which in-flight scrapes answer with what they know.
    answer_by: tokio::sync::watch::Sender<Option<Instant>>,
}

impl AppState {
    pub fn new(config: Config, source: Source, options: WebOptions) -> Arc<Self> {
        let fmc = Arc::new(Fmc::default());
        fmc.configure(config.fmc.as_deref());
        let metrics = Arc::new(Metrics::new(runbook_link(&options), fmc.clone()));
        metrics.config_loaded(true, Some(config.targets.len()));
        let clients = Arc::new(Clients::default());
        let prober = Prober::new(
            Arc::new(config),
            clients.clone(),
            Arc::new(Logged(metrics.clone())),
        );
        Arc::new(AppState {
            prober: RwLock::new(Arc::new(prober)),
            source,
            clients,
            metrics,
            fmc,
            options,
            reload_lock: tokio::sync::Mutex::new(()),
            auth_checks: Semaphore::new(2),
            answer_by: tokio::sync::watch::channel(None).0,
        })
    }

    /// The prober of the running configuration.
    pub(crate) fn prober(&self) -> Arc<Prober> {
        self.prober
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Starts reading the management center of the running configuration, if it names one.
    pub(crate) fn start_fmc(&self) {
        self.fmc.start(self.prober().config().fmc.as_ref());
    }

    /// Shutdown begins: scrapes in flight answer by half the grace period at the latest, with
    /// what their probes know by then, so none is cut off without an answer.
    pub(crate) fn begin_shutdown(&self) {
        let at = Instant::now() + self.options.limits.shutdown_grace / 2;
        self.answer_by.send_replace(Some(at));
    }

    /// Completes when shutdown has begun and its answer time has come.
    pub(crate) async fn must_answer(&self) {
        let mut watch = self.answer_by.subscribe();
        let Ok(at) = watch.wait_for(Option::is_some).await.map(|at| *at) else {
            return std::future::pending().await;
        };
        if let Some(at) = at {
            tokio::time::sleep_until(at).await;
        }
    }

    /// Re-reads the configuration. A bad one is refused and the running one keeps serving.
    pub async fn reload(&self) -> Result<(), ConfigError> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let source = self.source.clone();
        let loaded = tokio::task::spawn_blocking(move || source.load())
            .await
            .unwrap_or_else(|e| Err(ConfigError::new("reload", "(task)", e.to_string())));
        match loaded {
            Ok(config) => {
                let old = self.prober();
                self.metrics.forget_targets(old.config(), &config);
                self.metrics.config_loaded(true, Some(config.targets.len()));
                let source = config.source.clone();
                // A changed `fmc:` section, or refused credentials held back: start afresh (a reload
                // is how an operator says "try the password again").
                if old.config().fmc != config.fmc || self.fmc.held() {
                    self.fmc.start(config.fmc.as_ref());
                }
                let prober = Prober::new(
                    Arc::new(config),
                    self.clients.clone(),
                    Arc::new(Logged(self.metrics.clone())),
                )
                .keeping(old.history().clone());
                *self
                    .prober
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(prober);
                tracing::info!(source = %source, "configuration reloaded");
                Ok(())
            }
            Err(err) => {
                self.metrics.config_loaded(false, None);
                tracing::error!(error = %err, "configuration reload refused; the previous configuration keeps running");
                Err(err)
            }
        }
    }
}

/// The runbook's address as the alerts should link it: under the external URL when one is set,
/// otherwise only the scheme (the rules put the scraped address after it).
fn runbook_link(options: &WebOptions) -> RunbookLink {
    let scheme = if options.web.serves_tls() {
        "https"
    } else {
        "http"
    };
    let url = options
        .external_url
        .as_ref()
        .map(|base| format!("{}/runbook", base.as_str().trim_end_matches('/')));
    RunbookLink { scheme, url }
}
