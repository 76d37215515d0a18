//! The HTTP side: routes, the scrape budget, reloads. Only this module knows HTTP.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use tokio::time::Instant;

use crate::config::{Config, ConfigError, Source};
use crate::diagnosis::{Service, reasons_markdown};
use crate::metrics::{CONTENT_TYPE, Metrics};
use crate::probe::{Clients, Prober};

/// The header Prometheus sends with its scrape timeout.
pub const SCRAPE_TIMEOUT_HEADER: &str = "x-prometheus-scrape-timeout-seconds";
/// The budget of a scrape that does not say its timeout (Prometheus' default scrape timeout).
pub const DEFAULT_SCRAPE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest budget honoured, whatever the header says.
pub const MAX_SCRAPE_TIMEOUT: Duration = Duration::from_secs(120);

/// Settings of the HTTP side.
#[derive(Debug, Clone)]
pub struct WebOptions {
    pub telemetry_path: String,
    /// Subtracted from the scrape timeout so the answer arrives before Prometheus gives up.
    pub timeout_offset: Duration,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            telemetry_path: "/metrics".into(),
            timeout_offset: Duration::from_millis(500),
        }
    }
}

/// Everything the routes share.
pub struct AppState {
    prober: RwLock<Arc<Prober>>,
    source: Source,
    clients: Arc<Clients>,
    pub metrics: Arc<Metrics>,
    options: WebOptions,
    reload_lock: tokio::sync::Mutex<()>,
}

impl AppState {
    pub fn new(config: Config, source: Source, options: WebOptions) -> Arc<Self> {
        let metrics = Arc::new(Metrics::new());
        metrics.config_loaded(true, Some(config.targets.len()));
        let clients = Arc::new(Clients::default());
        let prober = Prober::new(Arc::new(config), clients.clone(), metrics.clone());
        Arc::new(AppState {
            prober: RwLock::new(Arc::new(prober)),
            source,
            clients,
            metrics,
            options,
            reload_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// The prober of the running configuration.
    pub fn prober(&self) -> Arc<Prober> {
        self.prober
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Re-reads the configuration. A bad one is refused and the running one keeps serving.
    pub async fn reload(&self) -> Result<(), ConfigError> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let source = self.source.clone();
        let loaded = tokio::task::spawn_blocking(move || source.load())
            .await
            .unwrap_or_else(|e| {
                Err(ConfigError {
                    source_name: "reload".into(),
                    field: "(task)".into(),
                    message: e.to_string(),
                })
            });
        match loaded {
            Ok(config) => {
                let old = self.prober();
                self.metrics.forget_targets(old.config(), &config);
                self.metrics.config_loaded(true, Some(config.targets.len()));
                let prober =
                    Prober::new(Arc::new(config), self.clients.clone(), self.metrics.clone());
                *self.prober.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(prober);
                tracing::info!(source = %self.source_name(), "configuration reloaded");
                Ok(())
            }
            Err(err) => {
                self.metrics.config_loaded(false, None);
                tracing::error!(error = %err, "configuration reload refused; the previous configuration keeps running");
                Err(err)
            }
        }
    }

    fn source_name(&self) -> String {
        self.prober().config().source.clone()
    }
}

/// The routes.
pub fn router(state: Arc<AppState>) -> Router {
    let telemetry = state.options.telemetry_path.clone();
    Router::new()
        .route("/", get(landing))
        .route("/probe", get(probe))
        .route(&telemetry, get(own_metrics))
        .route("/-/healthy", get(|| async { "Healthy\n" }))
        .route("/-/ready", get(|| async { "Ready\n" }))
        .route("/-/reload", post(reload))
        .route(
            "/runbook",
            get(|| async { Html(markdown_page("Runbook", RUNBOOK)) }),
        )
        .route(
            "/reasons",
            get(|| async { Html(markdown_page("Failure reasons", &reasons_markdown())) }),
        )
        .route(
            "/endpoints",
            get(|| async { Html(markdown_page("Endpoints", ENDPOINTS)) }),
        )
        .with_state(state)
}

/// The time this scrape may take, from Prometheus' header minus the offset.
pub fn budget(headers: &HeaderMap, offset: Duration) -> Duration {
    let timeout = headers
        .get(SCRAPE_TIMEOUT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(MAX_SCRAPE_TIMEOUT.as_secs_f64())))
        .unwrap_or(DEFAULT_SCRAPE_TIMEOUT);
    // Keep at least half of a very short timeout rather than nothing.
    timeout.saturating_sub(offset).max(timeout / 2)
}

fn bad_request(message: String) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message + "\n",
    )
        .into_response()
}

async fn probe(
    State(state): State<Arc<AppState>>,
    Query(params): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let deadline = started + budget(&headers, state.options.timeout_offset);
    let prober = state.prober();
    let config = prober.config().clone();
    if let Some(unknown) = params
        .keys()
        .find(|k| !matches!(k.as_str(), "target" | "service"))
    {
        return bad_request(format!(
            "unknown parameter `{unknown}`: /probe takes `target=NAME` or `service=NAME`, both from the configuration"
        ));
    }
    let selected: Vec<_> = match (params.get("target"), params.get("service")) {
        (Some(_), Some(_)) => return bad_request("give `target` or `service`, not both".into()),
        (Some(name), None) => match config.targets.iter().find(|t| &t.name == name) {
            Some(t) => vec![t.clone()],
            None => {
                let known: Vec<&str> = config.targets.iter().map(|t| t.name.as_str()).collect();
                return bad_request(format!(
                    "unknown target `{}`: only configured targets are probed; configured: {}",
                    name.chars().take(64).collect::<String>(),
                    known.join(", ")
                ));
            }
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
                let known: Vec<&str> = Service::ALL.iter().map(|s| s.as_str()).collect();
                return bad_request(format!(
                    "unknown or empty service `{}`: expected one of {}",
                    name.chars().take(64).collect::<String>(),
                    known.join(", ")
                ));
            }
            members
        }
        (None, None) => config.targets.clone(),
    };
    let with_rows = !params.contains_key("target");
    state.metrics.probes_in_flight.inc_by(selected.len() as i64);
    let runs = selected.iter().map(|t| prober.probe(t, deadline));
    let outcomes = futures_util::future::join_all(runs).await;
    state.metrics.probes_in_flight.dec_by(selected.len() as i64);
    let freshness: Vec<_> = outcomes.iter().map(|(_, f)| *f).collect();
    let body = state
        .metrics
        .encode_probe(outcomes, config.cloud_integration_enabled, with_rows);
    state
        .metrics
        .probe_request_served(started.elapsed(), &freshness);
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response()
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

async fn landing(State(state): State<Arc<AppState>>) -> Html<String> {
    let prober = state.prober();
    let config = prober.config();
    let telemetry = &state.options.telemetry_path;
    let mut rows = String::new();
    for target in &config.targets {
        let name = html_escape(&target.name);
        rows.push_str(&format!(
            "<tr><td><a href=\"/probe?target={name}\">{name}</a></td><td>{}</td><td>{}</td></tr>\n",
            html_escape(&target.host),
            target.service.title()
        ));
    }
    Html(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>firepower-cloud-exporter</title></head><body>\n<h1>firepower-cloud-exporter</h1>\n\
<p>Configuration: {}</p>\n<p><a href=\"/probe\">/probe</a> (all targets) · <a href=\"{telemetry}\">{telemetry}</a> (exporter health)</p>\n\
<table><thead><tr><th>Target</th><th>Host</th><th>Row</th></tr></thead><tbody>\n{rows}</tbody></table>\n</body></html>\n",
        html_escape(&config.source)
    ))
}

const RUNBOOK: &str = include_str!("../docs/runbook.md");
const ENDPOINTS: &str = include_str!("../docs/endpoints.md");

/// Renders one of the project's Markdown documents as a page. Headings get GitHub-style ids (so
/// the alerts' `runbook_url` anchors work) and links to sibling `.md` files point at their route.
pub fn markdown_page(title: &str, markdown: &str) -> String {
    use pulldown_cmark::{CowStr, Event, Parser, Tag, TagEnd};
    let mut events: Vec<Event<'_>> =
        Parser::new_ext(markdown, pulldown_cmark::Options::ENABLE_TABLES).collect();
    let mut i = 0;
    while i < events.len() {
        if let Event::Start(Tag::Heading { id: None, .. }) = &events[i] {
            let mut text = String::new();
            for e in &events[i + 1..] {
                match e {
                    Event::End(TagEnd::Heading(_)) => break,
                    Event::Text(t) | Event::Code(t) => text.push_str(t),
                    _ => {}
                }
            }
            if let Event::Start(Tag::Heading { id, .. }) = &mut events[i] {
                *id = Some(CowStr::from(slug(&text)));
            }
        }
        if let Event::Start(Tag::Link { dest_url, .. }) = &mut events[i]
            && !dest_url.contains("://")
        {
            let (file, anchor) = dest_url.split_once('#').unwrap_or((dest_url, ""));
            if let Some(name) = file.strip_suffix(".md") {
                let anchor = if anchor.is_empty() {
                    String::new()
                } else {
                    format!("#{anchor}")
                };
                *dest_url = CowStr::from(format!("/{name}{anchor}"));
            }
        }
        i += 1;
    }
    let mut body = String::new();
    pulldown_cmark::html::push_html(&mut body, events.into_iter());
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{} · firepower-cloud-exporter</title><style>{PAGE_CSS}</style></head><body>\n<p><a href=\"/\">firepower-cloud-exporter</a></p>\n{body}</body></html>\n",
        html_escape(title)
    )
}

/// A GitHub-style heading anchor: lower case, spaces to `-`, punctuation dropped.
fn slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Shared page style: readable on a phone, no JavaScript.
pub const PAGE_CSS: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:0 1rem;line-height:1.45}\
table{border-collapse:collapse;width:100%;display:block;overflow-x:auto}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}\
pre{background:#f4f4f4;padding:.5rem;overflow-x:auto}code{background:#f4f4f4}";

/// Escapes text for HTML element content and attribute values.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
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
        assert_eq!(budget(&headers, offset), MAX_SCRAPE_TIMEOUT - offset);
    }

    #[test]
    fn runbook_headings_get_github_anchors_and_md_links_point_at_routes() {
        let page = markdown_page("Runbook", RUNBOOK);
        assert!(
            page.contains("<h2 id=\"firepowerciscocloudconfigurationfailure\">"),
            "{page}"
        );
        assert!(
            page.contains("href=\"/reasons\""),
            "links to reasons.md become /reasons"
        );
        assert!(page.contains("href=\"/endpoints#port-8989\""));
        assert_eq!(slug("Port 8989"), "port-8989");
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            html_escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
