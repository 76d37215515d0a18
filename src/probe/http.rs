//! The request `curl -k https://host/` makes, over the connection the TLS step opened: the status
//! code, and the server's `Date` against the local clock.

use std::time::{Duration, SystemTime};

use http_body_util::Empty;
use hyper::Request;
use hyper::body::Bytes;
use hyper::header::{ACCEPT, DATE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, timeout_at};

use super::detail::{Detail, HttpDetail, LibraryError, StepDetail};
use super::error::StageError;
use super::facts::HttpFacts;
use super::step::{Carry, Found, Input};
use crate::checklist::{Reason, Stage};

/// The user agent every probe sends.
pub(crate) const USER_AGENT_VALUE: &str =
    concat!("firepower-cloud-exporter/", env!("CARGO_PKG_VERSION"));

/// How long a connection task outlives its request's deadline.
pub(crate) const CONNECTION_GRACE: Duration = Duration::from_secs(1);

/// The most response headers kept, and the longest value; the most body bytes read.
const MAX_HEADERS: usize = 32;
const MAX_HEADER_VALUE: usize = 120;
const MAX_BODY: usize = 1024;
/// How long the body may take after the head, at most: it is evidence, not the verdict.
const BODY_WAIT: Duration = Duration::from_millis(500);

/// The status against the expected ones (a healthy path to api-sse.cisco.com answers 403).
pub(crate) fn judge_status(facts: &HttpFacts, expected: &[u16]) -> Result<Detail, StageError> {
    if expected.contains(&facts.status) {
        Ok(HttpDetail::Status {
            status: facts.status,
        }
        .into())
    } else {
        Err(StageError::new(
            Reason::HttpUnexpectedStatus,
            HttpDetail::Unexpected {
                status: facts.status,
                expected: expected.to_vec(),
            },
        ))
    }
}

/// The clock step: the server's `Date` in the answer the HTTP step handed over.
pub(super) async fn clock_step(input: Input<'_>) -> Found {
    let Some(Carry::Response(facts)) = input.carry else {
        return Found::failed(StageError::new(
            Stage::Clock.timeout_reason(),
            StepDetail::NothingHandedOver,
        ));
    };
    Found {
        verdict: judge_clock(&facts, input.target.max_clock_skew),
        facts: Vec::new(),
        carry: None,
    }
}

/// The server's `Date` against the local clock; `skipped` when the server sent no date.
fn judge_clock(facts: &HttpFacts, max_skew: Duration) -> Result<Detail, StageError> {
    match facts.clock_skew_seconds {
        Some(seconds) if seconds.abs() > max_skew.as_secs_f64() => Err(StageError::new(
            Reason::ClockSkew,
            HttpDetail::SkewTooLarge {
                seconds,
                allowed: max_skew,
            },
        )),
        Some(seconds) => Ok(HttpDetail::Skew { seconds }.into()),
        None => Err(StageError::new(Reason::Skipped, HttpDetail::NoDate)),
    }
}

/// Sends `GET path` with `Host: host` on `stream` and reads the response head before `deadline`.
pub(crate) async fn get<S>(
    stream: S,
    host: &str,
    path: &str,
    deadline: Instant,
) -> Result<HttpFacts, StageError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let timed_out = || {
        StageError::new(
            Reason::HttpTimeout,
            HttpDetail::Silent {
                path: path.to_string(),
            },
        )
    };
    let invalid = |error: LibraryError, building: bool| {
        StageError::new(
            Reason::HttpInvalidResponse,
            HttpDetail::Invalid {
                path: path.to_string(),
                error,
                building,
            },
        )
    };
    let (mut sender, conn) = timeout_at(
        deadline,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| timed_out())?
    .map_err(|e| invalid(LibraryError::hyper(&e), false))?;
    // The connection task ends when the response is read and the sender dropped; its own bound
    // lies past the deadline so that the request's timeout, not a cut connection, decides.
    tokio::spawn(async move {
        let _ = timeout_at(deadline + CONNECTION_GRACE, conn).await;
    });
    let request = Request::get(path)
        .header(HOST, host)
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(ACCEPT, "*/*")
        .body(Empty::<Bytes>::new())
        .map_err(|e| invalid(LibraryError::other(e), true))?;
    let response = timeout_at(deadline, sender.send_request(request))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| invalid(LibraryError::hyper(&e), false))?;
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let headers = response
        .headers()
        .iter()
        .take(MAX_HEADERS)
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes());
            (
                name.as_str().to_string(),
                value.chars().take(MAX_HEADER_VALUE).collect(),
            )
        })
        .collect();
    let mut facts = HttpFacts {
        status: response.status().as_u16(),
        clock_skew_seconds: header(DATE).and_then(|d| skew_seconds(&d, SystemTime::now())),
        server: header(hyper::header::SERVER).map(|s| s.chars().take(64).collect()),
        headers,
        body: String::new(),
    };
    facts.body = body_start(response.into_body(), deadline).await;
    Ok(facts)
}

/// The first [`MAX_BODY`] bytes of `body` as text, as far as they arrive within [`BODY_WAIT`]
/// and before `deadline`.
async fn body_start(mut body: hyper::body::Incoming, deadline: Instant) -> String {
    use http_body_util::BodyExt;
    let until = deadline.min(Instant::now() + BODY_WAIT);
    let mut bytes = Vec::new();
    while bytes.len() < MAX_BODY {
        match timeout_at(until, body.frame()).await {
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    bytes.extend_from_slice(data);
                }
            }
            _ => break,
        }
    }
    bytes.truncate(MAX_BODY);
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Parses an HTTP date and returns `date - now` in seconds.
pub(crate) fn skew_seconds(date: &str, now: SystemTime) -> Option<f64> {
    let server = httpdate::parse_http_date(date).ok()?;
    Some(match server.duration_since(now) {
        Ok(ahead) => ahead.as_secs_f64(),
        Err(behind) => -behind.duration().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn skew_is_signed() {
        let now = httpdate::parse_http_date("Wed, 30 Dec 2020 21:41:15 GMT").expect("date");
        assert_eq!(
            skew_seconds("Wed, 30 Dec 2020 21:43:15 GMT", now),
            Some(120.0)
        );
        assert_eq!(
            skew_seconds("Wed, 30 Dec 2020 21:40:15 GMT", now),
            Some(-60.0)
        );
        assert_eq!(skew_seconds("yesterday", now), None);
        let later = now + Duration::from_millis(500);
        let skew = skew_seconds("Wed, 30 Dec 2020 21:41:15 GMT", later).expect("parses");
        assert!((skew + 0.5).abs() < 1e-9);
    }
}
