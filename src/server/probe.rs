//! `/probe`: the multi-target endpoint. Probes the configured targets a scrape names within its
//! budget and answers with their series; large answers are encoded off the async threads and
//! streamed in chunks, so memory stays bounded however many targets there are.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use tokio::time::Instant;

use super::{AppState, bad_request, budget, select_targets};
use crate::diagnosis::{Report, RowScope};
use crate::metrics::CONTENT_TYPE;

pub(super) async fn probe(
    State(state): State<Arc<AppState>>,
    Query(params): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Response {
    let started = Instant::now();
    let deadline = started + budget(&headers, state.options.timeout_offset);
    let prober = state.prober();
    let config = prober.config().clone();
    let selected = match select_targets(&config, &params) {
        Ok(s) => s,
        Err(message) => return bad_request(message),
    };
    let scope = match params.iter().find(|(k, _)| k == "target") {
        Some((_, name)) => RowScope::Part(name.clone()),
        None => RowScope::Whole,
    };
    let outcomes = tokio::select! {
        outcomes = prober.probe_many(&selected, deadline) => outcomes,
        // Shutting down: answer with what the probes know now.
        () = state.must_answer() => prober.probe_many(&selected, Instant::now()).await,
    };
    let freshness: Vec<_> = outcomes.iter().map(|(_, f)| *f).collect();
    let report = Report::build(&config, outcomes, &scope, &prober, state.fmc.integration());
    if selected.len() <= INLINE_ENCODE_TARGETS {
        // A few targets encode in microseconds: no hand-off to another thread.
        let mut body = String::with_capacity(16 * 1024 * selected.len());
        let _ = state.metrics.encode_probe(report, &mut body);
        state
            .metrics
            .probe_request_served(started.elapsed(), &freshness);
        return ([(header::CONTENT_TYPE, CONTENT_TYPE)], body).into_response();
    }
    // Encoding many targets is CPU work proportional to them: it runs on the blocking pool and
    // streams chunks to the client as they fill, so memory stays bounded however many there are.
    let (tx, rx) = tokio::sync::mpsc::channel::<axum::body::Bytes>(4);
    let metrics = state.metrics.clone();
    tokio::task::spawn_blocking(move || {
        let mut sink = ChunkSink::new(tx);
        let encoded = metrics.encode_probe(report, &mut sink);
        // Counted before the last chunk leaves, so a client that reads /metrics next sees it.
        metrics.probe_request_served(started.elapsed(), &freshness);
        if encoded.is_ok() {
            let _ = sink.flush();
        }
    });
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|chunk| (Ok::<_, std::convert::Infallible>(chunk), rx))
    });
    (
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        axum::body::Body::from_stream(chunks),
    )
        .into_response()
}

/// Scrapes of up to this many targets are encoded in place; larger ones are streamed.
const INLINE_ENCODE_TARGETS: usize = 16;

/// Size of the chunks a `/probe` answer is streamed in.
const CHUNK_BYTES: usize = 64 * 1024;

/// A `fmt::Write` that sends full chunks down a channel; a closed channel (the client went away)
/// stops the encoding.
struct ChunkSink {
    tx: tokio::sync::mpsc::Sender<axum::body::Bytes>,
    buf: String,
}

impl ChunkSink {
    fn new(tx: tokio::sync::mpsc::Sender<axum::body::Bytes>) -> Self {
        ChunkSink {
            tx,
            buf: String::with_capacity(CHUNK_BYTES),
        }
    }

    fn flush(&mut self) -> std::fmt::Result {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, String::with_capacity(CHUNK_BYTES));
        self.tx
            .blocking_send(axum::body::Bytes::from(chunk))
            .map_err(|_| std::fmt::Error)
    }
}

impl std::fmt::Write for ChunkSink {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.buf.push_str(s);
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }
}
