//! HTTP basic authentication for the exporter's endpoints (`basic_auth_users` of the web
//! configuration): bcrypt hashes, the same answer whatever was wrong, and the same time for an
//! unknown user as for a known one.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// Basic auth against bcrypt hashes. A successful check is remembered (as a SHA-256 digest, never
/// the password) so a scrape every few seconds does not pay bcrypt's cost each time.
pub(crate) struct BasicAuth {
    users: HashMap<String, String>,
    accepted: Mutex<HashSet<[u8; 32]>>,
}

/// A hash checked when the user is unknown, so that the answer takes as long as for a known user.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| bcrypt::hash("firepower-cloud-exporter decoy", 10).unwrap_or_default())
}
const MAX_REMEMBERED: usize = 1024;

impl BasicAuth {
    /// How many users are configured.
    pub(crate) fn user_count(&self) -> usize {
        self.users.len()
    }

    pub(crate) fn new(users: HashMap<String, String>) -> Self {
        BasicAuth {
            users,
            accepted: Mutex::new(Default::default()),
        }
    }

    fn digest(user: &str, password: &str, hash: &str) -> [u8; 32] {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for part in [user, "\0", password, "\0", hash] {
            ctx.update(part.as_bytes());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    /// Whether the `Authorization` header value carries valid credentials. Blocking (bcrypt):
    /// call from a blocking thread.
    pub(crate) fn check(&self, authorization: Option<&str>) -> bool {
        let Some((user, password)) = authorization.and_then(parse_basic) else {
            return false;
        };
        let (hash, known) = match self.users.get(&user) {
            Some(h) => (h.as_str(), true),
            None => (decoy_hash(), false),
        };
        let key = Self::digest(&user, &password, hash);
        if known
            && self
                .accepted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .contains(&key)
        {
            return true;
        }
        let ok = bcrypt::verify(&password, hash).unwrap_or(false) && known;
        if ok {
            let mut accepted = self
                .accepted
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if accepted.len() >= MAX_REMEMBERED {
                accepted.clear();
            }
            accepted.insert(key);
        }
        ok
    }
}

fn parse_basic(header: &str) -> Option<(String, String)> {
    use base64::Engine;
    let (scheme, token) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(token.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_accepts_the_right_password_only() {
        let hash = bcrypt::hash("s3cret", 4).expect("hash");
        let auth = BasicAuth::new([("prometheus".to_string(), hash)].into_iter().collect());
        use base64::Engine;
        let header = |u: &str, p: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        };
        assert!(auth.check(Some(&header("prometheus", "s3cret"))));
        assert!(
            auth.check(Some(&header("prometheus", "s3cret"))),
            "remembered"
        );
        assert!(!auth.check(Some(&header("prometheus", "wrong"))));
        assert!(!auth.check(Some(&header("nobody", "s3cret"))));
        assert!(!auth.check(Some("Bearer abc")));
        assert!(!auth.check(None));
    }
}
