//! The HTTP CONNECT tunnel through the proxy a Firepower device is configured with (Cisco bug
//! `CSCvs05084`: a proxy breaks the cloud configuration). Answers a `407` challenge with Basic or
//! Digest credentials, and tells an unreachable proxy from a refusal by policy and from a proxy that
//! cannot reach the Cisco host itself. The password is used for the exchange and never printed.

use base64::Engine;
use http_body_util::Empty;
use hyper::body::Bytes;
use hyper::header::{HOST, PROXY_AUTHENTICATE, PROXY_AUTHORIZATION, USER_AGENT, WWW_AUTHENTICATE};
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::time::{Instant, timeout_at};

use super::detail::{AuthFailure, Detail, LibraryError, ProxyDetail, TcpDetail};
use super::error::StageError;
use super::facts::ProxyFacts;
use super::http::{CONNECTION_GRACE, USER_AGENT_VALUE};
use super::step::{Carry, Fact, Found, Input};
use super::tcp;
use crate::checklist::Reason;
use crate::config::{Credentials, ProxySpec};

/// The tunnel: a byte stream to `host:port` through the proxy.
pub(crate) type Tunnel = TokioIo<hyper::upgrade::Upgraded>;

/// The proxy step: a CONNECT tunnel to the target's host and port through its proxy, handed on
/// to the TLS step, and what the proxy answered (its status and the schemes its challenge offered).
pub(super) async fn step(input: Input<'_>) -> Found {
    let target = input.target;
    let Some(spec) = &target.proxy else {
        return Found::failed(StageError::new(
            Reason::ProxyFailed,
            ProxyDetail::NotConfigured,
        ));
    };
    let port = input.port;
    let mut facts = ProxyFacts::default();
    let result = tunnel(spec, &target.host, port, input.deadline, &mut facts).await;
    let (verdict, carry) = match result {
        Ok(tunnel) => (
            Ok(ProxyDetail::Open { port }.into()),
            Some(Carry::Streams(vec![(None, Box::new(tunnel))])),
        ),
        Err(e) => (Err(e), None),
    };
    Found {
        verdict,
        facts: vec![Fact::Proxy(facts)],
        carry,
    }
}

/// A CONNECT tunnel to `host:port` through `proxy` (Basic or Digest when challenged), for a
/// client other than the checklist (the management center's API): the failure is the one the
/// proxy step would report.
pub(crate) async fn connect_through(
    proxy: &ProxySpec,
    host: &str,
    port: u16,
    deadline: Instant,
) -> Result<Tunnel, StageError> {
    tunnel(proxy, host, port, deadline, &mut ProxyFacts::default()).await
}

async fn tunnel(
    proxy: &ProxySpec,
    host: &str,
    port: u16,
    deadline: Instant,
    facts: &mut ProxyFacts,
) -> Result<Tunnel, StageError> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    match attempt(proxy, &authority, None, deadline, facts).await? {
        Attempt::Open(tunnel) => Ok(tunnel),
        Attempt::Challenge(status, challenge) if challenge.is_empty() => {
            Err(auth_required(proxy, status, AuthFailure::NoChallenge))
        }
        Attempt::Challenge(status, challenge) => {
            let Some(credentials) = &proxy.credentials else {
                return Err(auth_required(proxy, status, AuthFailure::NoCredentials));
            };
            let authorization = answer(&challenge, credentials, &authority)
                .ok_or_else(|| auth_required(proxy, status, AuthFailure::UnsupportedScheme))?;
            match attempt(proxy, &authority, Some(authorization), deadline, facts).await? {
                Attempt::Open(tunnel) => Ok(tunnel),
                Attempt::Challenge(status, _) => Err(auth_required(
                    proxy,
                    status,
                    AuthFailure::Rejected {
                        user: credentials.user.clone(),
                    },
                )),
            }
        }
    }
}

fn auth_required(proxy: &ProxySpec, status: u16, why: AuthFailure) -> StageError {
    StageError::new(
        Reason::ProxyAuthRequired,
        ProxyDetail::Auth {
            proxy: proxy.to_string(),
            status,
            why,
        },
    )
}

enum Attempt {
    Open(Tunnel),
    /// A 407 (or 401) with its challenges.
    Challenge(u16, Vec<String>),
}

async fn attempt(
    proxy: &ProxySpec,
    authority: &str,
    authorization: Option<String>,
    deadline: Instant,
    facts: &mut ProxyFacts,
) -> Result<Attempt, StageError> {
    let shown = proxy.to_string();
    let fail = |reason, detail: ProxyDetail| StageError::new(reason, detail);
    let exchange = |error: LibraryError, authority: Option<&str>| {
        fail(
            Reason::ProxyFailed,
            ProxyDetail::Exchange {
                proxy: shown.clone(),
                authority: authority.map(str::to_string),
                error,
            },
        )
    };
    let addr = tokio::time::timeout_at(
        deadline,
        tokio::net::lookup_host((proxy.host.as_str(), proxy.port)),
    )
    .await
    .map_err(|_| {
        fail(
            Reason::ProxyUnreachable,
            ProxyDetail::NameTimeout {
                proxy: shown.clone(),
            },
        )
    })?
    .map_err(|e| {
        fail(
            Reason::ProxyUnreachable,
            ProxyDetail::NameFailed {
                proxy: shown.clone(),
                error: LibraryError::io(&e),
            },
        )
    })?
    .next()
    .ok_or_else(|| {
        fail(
            Reason::ProxyUnreachable,
            ProxyDetail::NameEmpty {
                proxy: shown.clone(),
            },
        )
    })?;
    let timed_out = || {
        fail(
            Reason::ProxyTimeout,
            ProxyDetail::Silent {
                proxy: shown.clone(),
            },
        )
    };
    let stream = tcp::connect(addr, deadline).await.map_err(|f| {
        let tcp = match f.detail {
            Detail::Tcp(tcp) => tcp,
            _ => TcpDetail::NoAddress,
        };
        fail(
            Reason::ProxyUnreachable,
            ProxyDetail::Unreachable {
                proxy: shown.clone(),
                tcp,
            },
        )
    })?;
    let (mut sender, conn) = timeout_at(
        deadline,
        hyper::client::conn::http1::handshake(TokioIo::new(stream)),
    )
    .await
    .map_err(|_| timed_out())?
    .map_err(|e| exchange(LibraryError::hyper(&e), None))?;
    // Bounded past the deadline so that the exchange's own timeout, not a cut connection, decides.
    tokio::spawn(async move {
        let _ = timeout_at(deadline + CONNECTION_GRACE, conn.with_upgrades()).await;
    });
    let mut request = Request::connect(authority)
        .header(HOST, authority)
        .header(USER_AGENT, USER_AGENT_VALUE);
    if let Some(value) = authorization {
        request = request.header(PROXY_AUTHORIZATION, value);
    }
    let request = request
        .body(Empty::<Bytes>::new())
        .map_err(|e| exchange(LibraryError::other(e), None))?;
    let response = timeout_at(deadline, sender.send_request(request))
        .await
        .map_err(|_| timed_out())?
        .map_err(|e| exchange(LibraryError::hyper(&e), Some(authority)))?;
    let status = response.status();
    facts.status = Some(status.as_u16());
    if status.is_success() {
        let upgraded = timeout_at(deadline, hyper::upgrade::on(response))
            .await
            .map_err(|_| {
                fail(
                    Reason::ProxyTimeout,
                    ProxyDetail::TunnelSilent {
                        proxy: shown.clone(),
                    },
                )
            })?
            .map_err(|e| exchange(LibraryError::hyper(&e), Some(authority)))?;
        return Ok(Attempt::Open(TokioIo::new(upgraded)));
    }
    let headers = response.headers();
    // tinyproxy answers wrong credentials with 401 (and its challenge in WWW-Authenticate).
    if status == StatusCode::PROXY_AUTHENTICATION_REQUIRED || status == StatusCode::UNAUTHORIZED {
        let challenges = headers
            .get_all(PROXY_AUTHENTICATE)
            .iter()
            .chain(headers.get_all(WWW_AUTHENTICATE).iter())
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect::<Vec<String>>();
        facts.schemes = schemes(&challenges);
        return Ok(Attempt::Challenge(status.as_u16(), challenges));
    }
    let reason = classify_status(status.as_u16());
    // Squid names its error (ERR_DNS_FAIL, ERR_CONNECT_FAIL 111…): worth showing, cut short.
    let squid_error = headers
        .get("x-squid-error")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.chars().take(64).collect::<String>());
    Err(fail(
        reason,
        ProxyDetail::Refused {
            proxy: shown.clone(),
            authority: authority.to_string(),
            status: status.as_u16(),
            squid_error,
        },
    ))
}

/// The reason of a CONNECT answer that is neither success nor an authentication challenge, from
/// what real proxies send: squid and tinyproxy answer 500 when they cannot resolve or reach the
/// host, 502-504 are the textbook's gateway failures, other 4xx are refusals by policy.
fn classify_status(status: u16) -> Reason {
    match status {
        500 | 502..=504 => Reason::ProxyUpstreamFailed,
        400..=499 => Reason::ProxyConnectRefused,
        _ => Reason::ProxyFailed,
    }
}

/// The scheme of each challenge (`NTLM`, `Negotiate`, `Digest`…), each once, as the proxy wrote it.
fn schemes(challenges: &[String]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for challenge in challenges {
        let Some(name) = challenge.split_whitespace().next() else {
            continue;
        };
        let name = name.trim_end_matches(',');
        if !name.is_empty() && !names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            names.push(name.chars().take(32).collect());
        }
    }
    names
}

/// The `Proxy-Authorization` value answering one of `challenges`, Digest preferred.
fn answer(challenges: &[String], credentials: &Credentials, authority: &str) -> Option<String> {
    let scheme = |c: &str, name: &str| {
        c.trim_start()
            .get(..name.len())
            .is_some_and(|s| s.eq_ignore_ascii_case(name))
    };
    if let Some(challenge) = challenges.iter().find(|c| scheme(c, "digest")) {
        let mut prompt = digest_auth::parse(challenge).ok()?;
        let context = digest_auth::AuthContext::new_with_method(
            credentials.user.as_str(),
            credentials.password(),
            authority,
            Option::<&[u8]>::None,
            digest_auth::HttpMethod::CONNECT,
        );
        return prompt.respond(&context).ok().map(|h| h.to_header_string());
    }
    if challenges.iter().any(|c| scheme(c, "basic")) {
        let token = base64::engine::general_purpose::STANDARD.encode(format!(
            "{}:{}",
            credentials.user,
            credentials.password()
        ));
        return Some(format!("Basic {token}"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified_as_real_proxies_send_them() {
        for (status, reason) in [
            (500, Reason::ProxyUpstreamFailed),
            (502, Reason::ProxyUpstreamFailed),
            (503, Reason::ProxyUpstreamFailed),
            (504, Reason::ProxyUpstreamFailed),
            (400, Reason::ProxyConnectRefused),
            (403, Reason::ProxyConnectRefused),
            (405, Reason::ProxyConnectRefused),
            (301, Reason::ProxyFailed),
            (501, Reason::ProxyFailed),
        ] {
            assert_eq!(classify_status(status), reason, "{status}");
        }
    }

    #[test]
    fn answers_digest_before_basic_and_refuses_ntlm() {
        let creds = Credentials::new("fmc".into(), "pw".into());
        let basic = answer(&["Basic realm=\"x\"".into()], &creds, "h:443").expect("basic");
        assert_eq!(basic, "Basic Zm1jOnB3");
        let both = [
            "Basic realm=\"x\"".to_string(),
            "Digest realm=\"x\", nonce=\"abc\", qop=\"auth\"".to_string(),
        ];
        let digest = answer(&both, &creds, "h:443").expect("digest");
        assert!(
            digest.starts_with("Digest ") && digest.contains("username=\"fmc\""),
            "{digest}"
        );
        assert!(!digest.contains("pw\""), "{digest}");
        assert_eq!(answer(&["NTLM".into()], &creds, "h:443"), None);
    }

    #[test]
    fn the_offered_schemes_are_named_once_each() {
        let offered = schemes(&[
            "Negotiate".into(),
            "NTLM".into(),
            "ntlm TlRMTVNTUAACAAAA".into(),
            "Basic realm=\"corp\"".into(),
        ]);
        assert_eq!(offered, ["Negotiate", "NTLM", "Basic"]);
    }
}
