//! The background poller: one reading every `poll_interval`, written to the cache, and the hold
//! on credentials the management center refused, so that polling never locks the API user out.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::client::Client;
use super::poll::poll;
use super::{Fmc, FmcError, Reading};
use crate::config::{FmcSettings, FmcTrust};

/// A client for `settings`, or the reason there is none recorded for the page.
fn new_client(settings: &Arc<FmcSettings>, shared: &std::sync::Weak<Fmc>) -> Option<Client> {
    match Client::new(settings.clone()) {
        Ok(client) => Some(client),
        Err(err) => {
            if let Some(shared) = shared.upgrade() {
                shared.record(Err(err), None, None);
            }
            None
        }
    }
}

/// Credentials the management center refused (401 at login, a refused API token, 403), held back
/// so that it does not lock the user out: the secret refused, and until when.
struct Hold {
    rejected: String,
    until: Instant,
    until_wall: SystemTime,
}

/// What ends a hold at the start of a poll.
enum Release {
    /// Still held: no request this poll.
    Kept,
    /// The hour is over: try the same secret again.
    Expired,
    /// The file holds another secret now: use it at once.
    NewSecret(String),
}

impl Hold {
    /// The hold a poll's result starts, if the management center refused the credentials.
    fn after(
        result: &Result<Reading, FmcError>,
        settings: &FmcSettings,
        started: Instant,
    ) -> Option<Hold> {
        matches!(
            result,
            Err(FmcError::CredentialsRejected(_)
                | FmcError::ApiTokenRejected(_)
                | FmcError::AccessDenied(_))
        )
        .then(|| Hold {
            rejected: settings.credentials.password().to_string(),
            until: started + CREDENTIALS_HOLD,
            until_wall: SystemTime::now() + CREDENTIALS_HOLD,
        })
    }

    fn release(&self, file: &std::path::Path, now: Instant) -> Release {
        match read_password(file) {
            Some(secret) if secret != self.rejected => Release::NewSecret(secret),
            _ if now >= self.until => Release::Expired,
            _ => Release::Kept,
        }
    }
}

/// How long refused credentials are held back: management centers lock a user after a number of
/// failed logins, and an exporter that logs in at every poll would lock the operator's API user.
const CREDENTIALS_HOLD: Duration = Duration::from_secs(3600);

/// The password (or token) its file holds now, as the configuration reads it.
fn read_password(path: &std::path::Path) -> Option<String> {
    crate::config::read_secret(path)
        .ok()
        .filter(|line| !line.is_empty())
}

/// Polls the management center every `poll_interval` until stopped, or until the cache it
/// writes is gone. Credentials the management center refuses are not tried again until the
/// password file changes, a reload, or [`CREDENTIALS_HOLD`].
pub(super) fn spawn(
    settings: Arc<FmcSettings>,
    shared: std::sync::Weak<Fmc>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        if settings.trust == FmcTrust::Anything {
            tracing::warn!(
                fmc = %settings.base,
                "fmc.insecure_skip_verify is true: the management center's certificate is NOT checked, and whoever sits on the path can read the API password; set ca_file or fingerprint_sha256"
            );
        }
        let Some(mut client) = new_client(&settings, &shared) else {
            return;
        };
        let mut settings = settings;
        let mut held: Option<Hold> = None;
        loop {
            let started = Instant::now();
            if let Some(hold) = &held {
                match hold.release(&settings.password_file, started) {
                    Release::Kept => {
                        if shared.upgrade().is_none() {
                            return;
                        }
                        tokio::time::sleep_until(started + settings.poll_interval).await;
                        continue;
                    }
                    // The poll below decides whether to hold again.
                    Release::Expired => {}
                    Release::NewSecret(secret) => {
                        tracing::info!(fmc = %settings.base, "the password file changed: logging in again");
                        let mut fresh = (*settings).clone();
                        fresh.credentials =
                            crate::config::Credentials::new(fresh.credentials.user.clone(), secret);
                        settings = Arc::new(fresh);
                        let Some(fresh) = new_client(&settings, &shared) else {
                            return;
                        };
                        client = fresh;
                    }
                }
            }
            let result = poll(&mut client, &settings).await;
            held = Hold::after(&result, &settings, started);
            let Some(shared) = shared.upgrade() else {
                return;
            };
            shared.record(
                result,
                Some(&mut client),
                held.as_ref().map(|h| h.until_wall),
            );
            drop(shared);
            tokio::time::sleep_until(started + settings.poll_interval).await;
        }
    })
}
