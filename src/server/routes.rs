//! The routes, behind authentication when the web configuration asks for it, and the small
//! handlers that need no page of their own.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use super::{AppState, UNAUTHENTICATED_PATHS, listen, pages, probe};
use crate::checklist::reasons_markdown;
use crate::metrics::CONTENT_TYPE;

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
