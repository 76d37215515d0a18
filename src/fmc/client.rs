//! One conversation with the management center's REST API at a time: HTTPS with the configured
//! trust, the token's life (log in, refresh up to three times, log in again; a refused token is
//! renewed once), `429` answered by waiting as `Retry-After` says, every request bounded by the
//! timeout and every answer by a size, and never more requests a minute than [`REQUESTS_PER_MINUTE`].

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::header::{ACCEPT, AUTHORIZATION, HOST, RETRY_AFTER, USER_AGENT};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep, timeout};
use tokio_rustls::TlsConnector;

use super::FmcError;
use super::api::error_text;
use super::domains::resolve_domains;
use super::tls::client_config;
use crate::config::{CDFMC_GLOBAL_DOMAIN, FmcAuth, FmcSettings};
use crate::probe::{Io, connect_through};

pub(crate) const LOGIN_PATH: &str = "/api/fmc_platform/v1/auth/generatetoken";
pub(crate) const REFRESH_PATH: &str = "/api/fmc_platform/v1/auth/refreshtoken";
/// A token lives 30 minutes (FMC REST API Quick Start); it is renewed a minute before.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(29 * 60);
/// A token can be refreshed three times, then the user logs in again.
pub(crate) const MAX_REFRESHES: u8 = 3;
/// Half of the FMC's 120 requests a minute per client: the rest stays for the other API users.
pub(crate) const REQUESTS_PER_MINUTE: usize = 60;
/// The largest answer read; a bigger one is refused as `response_too_large`.
pub(crate) const MAX_BODY_BYTES: usize = 4 << 20;
/// Waits after a `429` at most this long, whatever `Retry-After` says.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// `429` answers taken per request before the poll gives up until next time.
const MAX_RATE_LIMITED: usize = 2;

const USER_AGENT_VALUE: &str = concat!("firepower-cloud-exporter/", env!("CARGO_PKG_VERSION"));

/// An answer: status, headers and the (bounded) body.
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

struct Session {
    access: String,
    refresh: String,
    refreshes: u8,
    since: Instant,
    /// The domains read: (name, UUID).
    domains: Vec<(String, String)>,
}

/// What the client did, for the metrics.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    pub(crate) logins: u64,
    pub(crate) refreshes: u64,
    pub(crate) requests: u64,
}

pub(crate) struct Client {
    settings: Arc<FmcSettings>,
    connector: TlsConnector,
    session: Option<Session>,
    sent: VecDeque<Instant>,
    pub(crate) tally: Tally,
    /// Errors met and recovered from within a poll (a refused token, a `429`), for the metrics.
    pub(crate) recovered: Vec<&'static str>,
}

impl Client {
    pub(crate) fn new(settings: Arc<FmcSettings>) -> Result<Client, FmcError> {
        let config = client_config(&settings.trust)?;
        Ok(Client {
            settings,
            connector: TlsConnector::from(Arc::new(config)),
            session: None,
            sent: VecDeque::new(),
            tally: Tally::default(),
            recovered: Vec::new(),
        })
    }

    /// The domains to read, (name, UUID), logging in first when needed.
    pub(crate) async fn domains(&mut self) -> Result<Vec<(String, String)>, FmcError> {
        self.ensure_session().await?;
        Ok(self
            .session
            .as_ref()
            .map(|s| s.domains.clone())
            .unwrap_or_default())
    }

    /// `GET path` (path and query) with a valid token; the JSON body of a `200`.
    pub(crate) async fn get(&mut self, path: &str) -> Result<Bytes, FmcError> {
        let mut renewed = false;
        let mut rate_limited = 0;
        loop {
            self.ensure_session().await?;
            let token = self
                .session
                .as_ref()
                .map(|s| s.access.clone())
                .unwrap_or_default();
            let bearer = self.settings.auth == FmcAuth::ApiToken;
            let header = if bearer {
                ("authorization", format!("Bearer {token}"))
            } else {
                ("x-auth-access-token", token)
            };
            let answer = self.send(Method::GET, path, &[header]).await?;
            match answer.status {
                StatusCode::OK => return Ok(answer.body),
                // A cloud-delivered FMC's API token: nothing to renew; it was revoked or expired.
                StatusCode::UNAUTHORIZED if bearer => {
                    return Err(FmcError::ApiTokenRejected(
                        error_text(&answer.body).unwrap_or_else(|| answer.status.to_string()),
                    ));
                }
                StatusCode::UNAUTHORIZED if !renewed => {
                    // "Access token invalid": the token expired or was revoked (a GUI login with
                    // the same user does that). Renew once.
                    self.recovered.push("token_rejected");
                    renewed = true;
                    self.renew().await?;
                }
                StatusCode::TOO_MANY_REQUESTS if rate_limited < MAX_RATE_LIMITED => {
                    rate_limited += 1;
                    self.recovered.push("rate_limited");
                    sleep(retry_after(&answer.headers)).await;
                }
                _ => return Err(status_error(&answer)),
            }
        }
    }

    async fn ensure_session(&mut self) -> Result<(), FmcError> {
        if self.settings.auth == FmcAuth::ApiToken {
            // No session to open: the API token is the credential, the domain is the configured
            // UUID.
            if self.session.is_none() {
                self.session = Some(Session {
                    access: self.settings.credentials.password().to_string(),
                    refresh: String::new(),
                    refreshes: 0,
                    since: Instant::now(),
                    domains: self
                        .settings
                        .domains
                        .iter()
                        .map(|uuid| {
                            let name = if uuid == CDFMC_GLOBAL_DOMAIN {
                                "Global".to_string()
                            } else {
                                uuid.clone()
                            };
                            (name, uuid.clone())
                        })
                        .collect(),
                });
            }
            return Ok(());
        }
        match &self.session {
            None => self.login().await,
            Some(s) if s.since.elapsed() >= TOKEN_LIFETIME => self.renew().await,
            Some(_) => Ok(()),
        }
    }

    /// Refresh while refreshes are left, else log in; a refused refresh falls back to a login.
    async fn renew(&mut self) -> Result<(), FmcError> {
        let Some(session) = self.session.take() else {
            return self.login().await;
        };
        if session.refreshes >= MAX_REFRESHES {
            return self.login().await;
        }
        let answer = self
            .send(
                Method::POST,
                REFRESH_PATH,
                &[
                    ("x-auth-access-token", session.access.clone()),
                    ("x-auth-refresh-token", session.refresh.clone()),
                ],
            )
            .await?;
        match (answer.status.is_success(), tokens(&answer.headers)) {
            (true, Some((access, refresh))) => {
                self.tally.refreshes += 1;
                self.session = Some(Session {
                    access,
                    refresh,
                    refreshes: session.refreshes + 1,
                    since: Instant::now(),
                    domains: session.domains,
                });
                Ok(())
            }
            _ => self.login().await,
        }
    }

    async fn login(&mut self) -> Result<(), FmcError> {
        self.session = None;
        let credentials = &self.settings.credentials;
        let basic = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            credentials.user,
            credentials.password()
        ));
        let mut rate_limited = 0;
        let answer = loop {
            let answer = self
                .send(
                    Method::POST,
                    LOGIN_PATH,
                    &[(AUTHORIZATION.as_str(), format!("Basic {basic}"))],
                )
                .await?;
            if answer.status == StatusCode::TOO_MANY_REQUESTS && rate_limited < MAX_RATE_LIMITED {
                rate_limited += 1;
                self.recovered.push("rate_limited");
                sleep(retry_after(&answer.headers)).await;
                continue;
            }
            break answer;
        };
        if answer.status == StatusCode::UNAUTHORIZED || answer.status == StatusCode::FORBIDDEN {
            return Err(FmcError::CredentialsRejected(
                error_text(&answer.body).unwrap_or_else(|| answer.status.to_string()),
            ));
        }
        if !answer.status.is_success() {
            return Err(status_error(&answer));
        }
        let (access, refresh) = tokens(&answer.headers).ok_or(FmcError::TokenMissing)?;
        let header = |name: &str| {
            answer
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let domains = resolve_domains(
            &self.settings.domains,
            header("DOMAINS").as_deref(),
            header("DOMAIN_UUID").as_deref(),
        )?;
        self.tally.logins += 1;
        self.session = Some(Session {
            access,
            refresh,
            refreshes: 0,
            since: Instant::now(),
            domains,
        });
        Ok(())
    }

    /// One request on a connection of its own, within the timeout and the rate budget.
    async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
    ) -> Result<Answer, FmcError> {
        self.wait_for_budget().await;
        self.tally.requests += 1;
        let exchange = self.exchange(method, path, headers);
        match timeout(self.settings.timeout, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(FmcError::Timeout(self.settings.timeout)),
        }
    }

    async fn exchange(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
    ) -> Result<Answer, FmcError> {
        let settings = &self.settings;
        let stream: Box<dyn Io> = match &settings.proxy {
            // Through the proxy's CONNECT tunnel, its failures named as the proxy step names them.
            Some(proxy) => Box::new(
                connect_through(
                    proxy,
                    &settings.host,
                    settings.port,
                    Instant::now() + settings.timeout,
                )
                .await
                .map_err(|e| FmcError::Proxy(e.reason))?,
            ),
            None => Box::new(
                TcpStream::connect((settings.host.as_str(), settings.port))
                    .await
                    .map_err(|e| FmcError::Connect(e.to_string()))?,
            ),
        };
        let name = rustls::pki_types::ServerName::try_from(settings.host.clone())
            .map_err(|e| FmcError::Connect(format!("host name: {e}")))?;
        let tls = self
            .connector
            .connect(name, stream)
            .await
            .map_err(|e| FmcError::from_tls(&e))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| FmcError::Connect(e.to_string()))?;
        let driver = tokio::spawn(connection);
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, host_header(settings))
            .header(USER_AGENT, USER_AGENT_VALUE)
            .header(ACCEPT, "application/json");
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .map_err(|e| FmcError::Connect(e.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| FmcError::Connect(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_BODY_BYTES)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    FmcError::TooLarge
                } else {
                    FmcError::Connect(e.to_string())
                }
            })?
            .to_bytes();
        driver.abort();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    /// Waits until one more request keeps the last minute within [`REQUESTS_PER_MINUTE`].
    async fn wait_for_budget(&mut self) {
        let minute = Duration::from_secs(60);
        while let Some(oldest) = self.sent.front() {
            if oldest.elapsed() >= minute {
                self.sent.pop_front();
            } else {
                break;
            }
        }
        if self.sent.len() >= REQUESTS_PER_MINUTE
            && let Some(oldest) = self.sent.pop_front()
        {
            tokio::time::sleep_until(oldest + minute).await;
        }
        self.sent.push_back(Instant::now());
    }
}

fn host_header(settings: &FmcSettings) -> String {
    settings.base.trim_start_matches("https://").to_string()
}

fn tokens(headers: &HeaderMap) -> Option<(String, String)> {
    let get = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Some((get("x-auth-access-token")?, get("x-auth-refresh-token")?))
}

/// `Retry-After` in seconds (or an HTTP date), 30 s when absent, at most [`MAX_RETRY_AFTER`].
fn retry_after(headers: &HeaderMap) -> Duration {
    let value = headers.get(RETRY_AFTER).and_then(|v| v.to_str().ok());
    let wait = match value {
        Some(v) => match v.trim().parse::<u64>() {
            Ok(seconds) => Duration::from_secs(seconds),
            Err(_) => httpdate::parse_http_date(v)
                .ok()
                .and_then(|at| at.duration_since(std::time::SystemTime::now()).ok())
                .unwrap_or(Duration::from_secs(30)),
        },
        None => Duration::from_secs(30),
    };
    wait.min(MAX_RETRY_AFTER)
}

fn status_error(answer: &Answer) -> FmcError {
    let text = error_text(&answer.body);
    match answer.status {
        StatusCode::UNAUTHORIZED => FmcError::TokenRejected(text.unwrap_or_default()),
        StatusCode::FORBIDDEN => FmcError::AccessDenied(text.unwrap_or_default()),
        StatusCode::TOO_MANY_REQUESTS => FmcError::RateLimited(retry_after(&answer.headers)),
        status => FmcError::Status(status.as_u16(), text.unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_read_in_seconds_and_bounded() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after(&headers), Duration::from_secs(30));
        headers.insert(RETRY_AFTER, "2".parse().expect("header"));
        assert_eq!(retry_after(&headers), Duration::from_secs(2));
        headers.insert(RETRY_AFTER, "99999".parse().expect("header"));
        assert_eq!(retry_after(&headers), MAX_RETRY_AFTER);
    }
}
