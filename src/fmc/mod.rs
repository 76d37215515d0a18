//! The management center's own verdict, read beside the probes: a background poller logs in to
//! the FMC's REST API (`client.rs`, `tls.rs`), reads its device records, the health alerts of the
//! modules the exporter speaks for and the cloud integration settings (`api.rs`), and keeps the
//! last reading with its age (`poller.rs` runs the polls). Scrapes, pages and `check` read that
//! cache; none calls the FMC.

mod api;
mod client;
mod domains;
mod health;
mod poll;
mod poller;
mod text;
mod tls;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

pub(crate) use api::{Device, Integration, Uninterpreted};
pub(crate) use client::Tally;
use client::{Client, MAX_BODY_BYTES};
pub(crate) use health::Health;
pub(crate) use poll::read_once;

use crate::config::FmcSettings;

/// Why a poll of the management center failed; [`FmcError::reason`] is the metric label.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum FmcError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("the management center refused the user's credentials: {0}")]
    CredentialsRejected(String),
    #[error("the management center refused the access token even after renewing it: {0}")]
    TokenRejected(String),
    #[error("the cloud-delivered FMC refused the API token (revoked or expired): {0}")]
    ApiTokenRejected(String),
    #[error("through the HTTP proxy: {} — {}", .0.as_str(), .0.summary())]
    Proxy(crate::checklist::Reason),
    #[error("the user may not read this (403): {0}")]
    AccessDenied(String),
    #[error("rate limited (429) again after waiting; next try in {0:?} or at the next poll")]
    RateLimited(Duration),
    #[error("HTTP {0}: {1}")]
    Status(u16, String),
    #[error("the answer is not what the API specifies: {0}")]
    Malformed(String),
    #[error("the answer is larger than {} MiB", MAX_BODY_BYTES >> 20)]
    TooLarge,
    #[error("the login answer carries no X-auth-access-token / X-auth-refresh-token")]
    TokenMissing,
    #[error("no domain `{wanted}` for this user; the management center lists: {}", known.join(", "))]
    DomainUnknown { wanted: String, known: Vec<String> },
}

impl FmcError {
    /// Every reason, for the metrics' zero series.
    pub(crate) const REASONS: [&'static str; 21] = [
        "connect",
        "timeout",
        "tls",
        "credentials_rejected",
        "token_rejected",
        "api_token_rejected",
        "proxy_unreachable",
        "proxy_timeout",
        "proxy_auth_required",
        "proxy_auth_unsupported",
        "proxy_connect_refused",
        "proxy_upstream_failed",
        "proxy_failed",
        "access_denied",
        "rate_limited",
        "http_status",
        "malformed_response",
        "response_too_large",
        "token_missing",
        "domain_unknown",
        "device_unknown",
    ];

    pub(crate) fn reason(&self) -> &'static str {
        match self {
            FmcError::Connect(_) => "connect",
            FmcError::Timeout(_) => "timeout",
            FmcError::Tls(_) => "tls",
            FmcError::CredentialsRejected(_) => "credentials_rejected",
            FmcError::TokenRejected(_) => "token_rejected",
            FmcError::ApiTokenRejected(_) => "api_token_rejected",
            // Named as the probes' proxy step names it (proxy_auth_required, …).
            FmcError::Proxy(reason) => reason.as_str(),
            FmcError::AccessDenied(_) => "access_denied",
            FmcError::RateLimited(_) => "rate_limited",
            FmcError::Status(..) => "http_status",
            FmcError::Malformed(_) => "malformed_response",
            FmcError::TooLarge => "response_too_large",
            FmcError::TokenMissing => "token_missing",
            FmcError::DomainUnknown { .. } => "domain_unknown",
        }
    }

    fn from_tls(err: &std::io::Error) -> FmcError {
        match err
            .get_ref()
            .and_then(|e| e.downcast_ref::<rustls::Error>())
        {
            Some(rustls::Error::InvalidCertificate(cert)) => {
                FmcError::Tls(format!("the certificate is not trusted: {cert:?}"))
            }
            Some(rustls::Error::General(text)) => FmcError::Tls(text.clone()),
            Some(other) => FmcError::Tls(other.to_string()),
            None => FmcError::Connect(err.to_string()),
        }
    }
}

/// One complete reading of the management center.
#[derive(Debug, Clone)]
pub(crate) struct Reading {
    /// When it completed.
    pub(crate) at: SystemTime,
    pub(crate) devices: Vec<Device>,
    pub(crate) health: Vec<Health>,
    /// Alerts of modules this exporter does not interpret, newest per device and module.
    pub(crate) uninterpreted: Vec<Uninterpreted>,
    /// The domains read, by name.
    pub(crate) domains: Vec<String>,
    pub(crate) integration: Integration,
    /// List items that could not be read (skipped, not fatal).
    pub(crate) skipped_items: usize,
    /// Configured device names the management center does not know.
    pub(crate) devices_not_found: Vec<String>,
}

/// What the renderers see: the last reading, whether the last poll worked, and the tallies.
#[derive(Debug, Clone)]
pub(crate) struct FmcView {
    pub(crate) base: String,
    pub(crate) domain: String,
    pub(crate) poll_interval: Duration,
    pub(crate) reading: Option<Arc<Reading>>,
    pub(crate) up: bool,
    pub(crate) last_poll: Option<SystemTime>,
    pub(crate) last_error: Option<(&'static str, String)>,
    pub(crate) errors: Vec<(&'static str, u64)>,
    pub(crate) tally: Tally,
    /// While the management center's refusal of the credentials is held: no login until then
    /// (or until the password file changes, or a reload).
    pub(crate) held_until: Option<SystemTime>,
}

impl FmcView {
    /// Nothing read yet.
    pub(crate) fn new(settings: &FmcSettings) -> FmcView {
        FmcView {
            base: settings.base.clone(),
            domain: settings.domains.join(", "),
            poll_interval: settings.poll_interval,
            reading: None,
            up: false,
            last_poll: None,
            last_error: None,
            errors: FmcError::REASONS.iter().map(|r| (*r, 0)).collect(),
            tally: Tally::default(),
            held_until: None,
        }
    }

    /// The reading, if young enough to speak for now: five polls, and at least five minutes.
    pub(crate) fn fresh(&self) -> Option<&Reading> {
        let limit = (self.poll_interval * 5).max(Duration::from_secs(300));
        self.reading
            .as_deref()
            .filter(|r| r.at.elapsed().unwrap_or_default() <= limit)
    }

    /// Cloud integration as a fresh reading says it.
    pub(crate) fn integration(&self) -> Option<Integration> {
        self.fresh().map(|r| r.integration)
    }
}

/// The shared cache the poller writes and everything else reads.
#[derive(Default)]
pub(crate) struct Fmc {
    state: Mutex<Option<FmcView>>,
    poller: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Fmc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Fmc")
    }
}

impl Drop for Fmc {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Fmc {
    /// Cloud integration as the last fresh reading says it, without copying the rest (every
    /// `/probe` scrape asks).
    pub(crate) fn integration(&self) -> Option<Integration> {
        self.lock().as_ref().and_then(FmcView::integration)
    }

    /// A copy of what is known, `None` without an `fmc:` section.
    pub(crate) fn view(&self) -> Option<FmcView> {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<FmcView>> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Starts over for these settings (or none): a changed section keeps no stale reading.
    pub(crate) fn configure(&self, settings: Option<&FmcSettings>) {
        let mut state = self.lock();
        *state = settings.map(|s| match state.take() {
            Some(old) if old.base == s.base && old.domain == s.domains.join(", ") => FmcView {
                poll_interval: s.poll_interval,
                ..old
            },
            _ => FmcView::new(s),
        });
    }

    /// Runs the poller for these settings (stopping any other); none: no poller, no state.
    pub(crate) fn start(self: &Arc<Self>, settings: Option<&Arc<FmcSettings>>) {
        self.stop();
        self.configure(settings.map(AsRef::as_ref));
        if let Some(settings) = settings {
            let task = poller::spawn(settings.clone(), Arc::downgrade(self));
            *self
                .poller
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(task);
        }
    }

    fn stop(&self) {
        if let Some(task) = self
            .poller
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
        {
            task.abort();
        }
    }

    /// Whether a refused login is held back now (a reload starts the poller afresh).
    pub(crate) fn held(&self) -> bool {
        self.lock().as_ref().is_some_and(|v| v.held_until.is_some())
    }

    pub(super) fn record(
        &self,
        result: Result<Reading, FmcError>,
        client: Option<&mut Client>,
        held_until: Option<SystemTime>,
    ) {
        let mut state = self.lock();
        let Some(view) = state.as_mut() else {
            return;
        };
        view.held_until = held_until;
        let mut count = |reason: &'static str| {
            if let Some(slot) = view.errors.iter_mut().find(|(r, _)| *r == reason) {
                slot.1 += 1;
            }
        };
        if let Some(client) = client {
            for reason in client.recovered.drain(..) {
                count(reason);
            }
            let done = std::mem::take(&mut client.tally);
            view.tally.logins += done.logins;
            view.tally.refreshes += done.refreshes;
            view.tally.requests += done.requests;
        }
        view.last_poll = Some(SystemTime::now());
        match result {
            Ok(reading) => {
                if !reading.devices_not_found.is_empty() {
                    count("device_unknown");
                }
                if !view.up {
                    tracing::info!(fmc = %view.base, devices = reading.devices.len(), "management center read");
                }
                view.up = true;
                view.last_error = None;
                view.reading = Some(Arc::new(reading));
            }
            Err(err) => {
                count(err.reason());
                // Once per change of reason, not once per poll.
                if view.last_error.as_ref().map(|(r, _)| *r) == Some(err.reason()) {
                    tracing::debug!(fmc = %view.base, reason = err.reason(), error = %err, "management center still not read");
                } else {
                    tracing::warn!(fmc = %view.base, reason = err.reason(), error = %err, "management center not read");
                }
                view.up = false;
                if let Some(until) = held_until {
                    tracing::warn!(
                        fmc = %view.base,
                        reason = err.reason(),
                        until = %humantime::format_rfc3339_seconds(until),
                        "management center refused the credentials: not logging in again until the password file changes, a reload, or then, so that it does not lock the user out"
                    );
                }
                view.last_error = Some((err.reason(), err.to_string()));
            }
        }
    }
}
