//! The HTTP side: routes, the scrape budget, reloads, authentication. Only this module knows HTTP.

mod auth;
mod fmc;
mod html;
mod listen;
mod pages;
mod probe;
mod web_config;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::checklist::{Service, reasons_markdown};
use crate::config::{Config, ConfigError, Source, Target, clip};
use crate::diagnosis::Logged;
use crate::fmc::Fmc;
use crate::metrics::{CONTENT_TYPE, Metrics, RunbookLink};
use crate::probe::{Clients, Prober};
pub use listen::Limits;
pub(crate) use listen::serve;
pub use web_config::WebConfig;

/// The header Prometheus sends with its scrape timeout.
pub(crate) const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";
/// The budget of a scrape that does not say its timeout (Prometheus' default scrape timeout).
pub(crate) const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest budget honoured, whatever the header says.
pub(crate) const MAX_SCRAPE_TIMEOUT: Duration = Duration::from_secs(120);
/// Paths answered without authentication: they say nothing but "alive" (orchestrators probe them).
pub(crate) const UNAUTHENTICATED_PATHS: [&str; 2] = ["/-/healthy", "/-/ready"];

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
    auth_checks: Semaphore,
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
                if old.config().fmc != config.fmc {
                    self.fmc.start(config.fmc.as_ref());
                }
                let prober = Prober::new(
                    Arc::new(config),
                    self.clients.clone(),
                    Arc::new(Logged(self.metrics.clone())),
                );
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

/// The routes, behind authentication when the web configuration asks for it.
pub(crate) fn router(state: Arc<AppState>) -> Router {
    let telemetry = state.options.telemetry_path.clone();
    Router::new()
        .route("/", get(pages::status))
        .route("/debug", get(pages::debug))
        .route("/probe", get(probe::probe))
        .route(&telemetry, get(own_metrics))
        .route("/-/healthy", get(|| async { "Healthy\n" }))
        .route("/-/ready", get(|| async { "Ready\n" }))
        .route("/-/reload", post(reload))
        .route(
            "/runbook",
            get(|| async { Html(pages::markdown_page("Runbook", pages::RUNBOOK)) }),
        )
        .route(
            "/reasons",
            get(|| async { Html(pages::markdown_page("Failure reasons", &reasons_markdown())) }),
        )
        .route(
            "/endpoints",
            get(|| async { Html(pages::markdown_page("Endpoints", pages::ENDPOINTS)) }),
        )
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Client certificates where required, basic authentication (same answer whatever was wrong), and
/// the configured response headers. The health checks need neither credential.
async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let open_path = UNAUTHENTICATED_PATHS.contains(&request.uri().path());
    let certified = request
        .extensions()
        .get::<listen::ClientCertificate>()
        .is_some_and(|c| c.0);
    let mut response = match &state.options.web.auth {
        _ if state.options.web.require_client_cert && !certified && !open_path => (
            StatusCode::FORBIDDEN,
            "Forbidden: a client certificate is required (client_auth_type RequireAndVerifyClientCert); only /-/healthy and /-/ready answer without one\n",
        )
            .into_response(),
        Some(auth) if !open_path => {
            let given = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let allowed = match state.auth_checks.acquire().await {
                Ok(_permit) => {
                    let auth = auth.clone();
                    tokio::task::spawn_blocking(move || auth.check(given.as_deref()))
                        .await
                        .unwrap_or(false)
                }
                Err(_) => false,
            };
            if allowed {
                next.run(request).await
            } else {
                (
                    StatusCode::UNAUTHORIZED,
                    [(
                        header::WWW_AUTHENTICATE,
                        "Basic realm=\"firepower-cloud-exporter\"",
                    )],
                    "Unauthorized\n",
                )
                    .into_response()
            }
        }
        _ => next.run(request).await,
    };
    for (name, value) in &state.options.web.headers {
        response.headers_mut().insert(name.clone(), value.clone());
    }
    response
}

/// The time this scrape may take, from Prometheus' header minus the offset.
pub(crate) fn budget(headers: &HeaderMap, offset: Duration) -> Duration {
    let timeout = headers
        .get(SCRAPE_TIMEOUT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map_or(DEFAULT_SCRAPE_TIMEOUT, |s| {
            Duration::from_secs_f64(s.min(MAX_SCRAPE_TIMEOUT.as_secs_f64()))
        });
    // Keep at least half of a very short timeout rather than nothing.
    timeout.saturating_sub(offset).max(timeout / 2)
}

/// The deadline of a page (`/`, `/debug`): a scrape's default budget from now.
pub(crate) fn page_budget(state: &AppState) -> Instant {
    Instant::now() + DEFAULT_SCRAPE_TIMEOUT.saturating_sub(state.options.timeout_offset)
}

pub(crate) fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        message + "\n",
    )
        .into_response()
}

/// How many configured names an error lists before it stops.
const LISTED_NAMES: usize = 20;

/// Which configured targets a request names; `Err` is the message of a 400. Anything else is
/// refused, and so is a repeated parameter: the exporter never probes a host a request chose.
pub(crate) fn select_targets(
    config: &Config,
    params: &[(String, String)],
) -> Result<Vec<Arc<Target>>, String> {
    let mut target = None;
    let mut service = None;
    for (key, value) in params {
        let slot = match key.as_str() {
            "target" => &mut target,
            "service" => &mut service,
            other => {
                return Err(format!(
                    "unknown parameter `{}`: /probe takes `target=NAME` or `service=NAME`, both from the configuration",
                    clip(other, 64)
                ));
            }
        };
        if slot.replace(value).is_some() {
            return Err(format!(
                "`{key}` given more than once: one scrape probes one target or one service"
            ));
        }
    }
    match (target, service) {
        (Some(_), Some(_)) => Err("give `target` or `service`, not both".into()),
        (Some(name), None) => match config.targets.iter().find(|t| &t.name == name) {
            Some(t) => Ok(vec![t.clone()]),
            None => Err(format!(
                "unknown target `{}`: only configured targets are probed; configured: {}",
                clip(name, 64),
                listed(config.targets.iter().map(|t| t.name.as_str()))
            )),
        },
        (None, Some(name)) => {
            let service = Service::from_name(name);
            let members: Vec<_> = config
                .targets
                .iter()
                .filter(|t| Some(t.service) == service)
                .cloned()
                .collect();
            if members.is_empty() {
                return Err(format!(
                    "unknown or empty service `{}`: expected one of {}",
                    clip(name, 64),
                    listed(Service::ALL.iter().map(|s| s.as_str()))
                ));
            }
            Ok(members)
        }
        (None, None) => Ok(config.targets.clone()),
    }
}

/// `a, b, c` for the first [`LISTED_NAMES`] names, then how many more.
fn listed<'a>(names: impl ExactSizeIterator<Item = &'a str>) -> String {
    let total = names.len();
    let shown: Vec<&str> = names.take(LISTED_NAMES).collect();
    match total - shown.len() {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

async fn own_metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        state.metrics.encode_own(),
    )
        .into_response()
}

async fn reload(State(state): State<Arc<AppState>>) -> Response {
    match state.reload().await {
        Ok(()) => (StatusCode::OK, "configuration reloaded\n").into_response(),
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("configuration refused, previous configuration kept: {err}\n"),
        )
            .into_response(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_follows_the_header_minus_the_offset() {
        let offset = Duration::from_millis(500);
        let mut headers = HeaderMap::new();
        assert_eq!(budget(&headers, offset), Duration::from_millis(9500));
        headers.insert(SCRAPE_TIMEOUT_HEADER, "2".parse().expect("header"));
        assert_eq!(budget(&headers, offset), Duration::from_millis(1500));
        headers.insert(SCRAPE_TIMEOUT_HEADER, "0.4".parse().expect("header"));
        assert_eq!(budget(&headers, offset), Duration::from_millis(200));
        headers.insert(SCRAPE_TIMEOUT_HEADER, "nonsense".parse().expect("header"));
        assert_eq!(budget(&headers, offset), Duration::from_millis(9500));
        headers.insert(SCRAPE_TIMEOUT_HEADER, "100000".parse().expect("header"));
        assert_eq!(
            budget(&headers, offset),
            MAX_SCRAPE_TIMEOUT.saturating_sub(offset)
        );
    }
}
