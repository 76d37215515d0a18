//! The TLS step's account: handshake failures, a refused session, and a chain that does not
//! verify, with certificate dates as UTC dates and how far off they are.

use std::fmt::{self, Write as _};

use rustls::CertificateError;

use crate::probe::{Refusal, TlsDetail};

/// A TLS alert by its RFC 8446 name, with what it means where that helps.
pub(super) fn alert_words(alert: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    let meaning = match alert {
        A::HandshakeFailure => " (no protocol version or cipher in common, or a policy refusal)",
        A::ProtocolVersion => " (no TLS version in common)",
        A::UnrecognisedName => " (the server does not serve this name)",
        A::AccessDenied => " (refused by policy)",
        A::CertificateRequired => " (it wants a client certificate)",
        A::UnknownCA => " (it does not trust the client's certificate)",
        A::InternalError => " (the server's own fault)",
        _ => "",
    };
    // `HandshakeFailure` → `handshake_failure`, the name the RFC and packet captures use.
    let mut name = String::new();
    for (i, c) in format!("{alert:?}").chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('_');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    format!("alert {name}{meaning}")
}

pub(super) fn tls(out: &mut String, d: &TlsDetail) -> fmt::Result {
    match d {
        TlsDetail::Verified => write!(out, "handshake done, chain verified"),
        TlsDetail::Setup { error } => write!(out, "TLS client setup: {error}"),
        TlsDetail::Failed { name, error } => write!(out, "handshake with {name}: {error}"),
        TlsDetail::ClientCertFailed { name, error } => write!(
            out,
            "handshake with {name}: the server asked for a client certificate and failed the handshake without one ({error})"
        ),
        TlsDetail::ClientCertRefused { name, refusal } => {
            let refusal = match refusal {
                Refusal::Closed => {
                    "the server closed the session right after the handshake".to_string()
                }
                Refusal::Alert(alert) => {
                    format!("the server refused the session: {}", alert_words(*alert))
                }
                Refusal::Error(error) => format!("the server refused the session: {error}"),
            };
            write!(
                out,
                "handshake with {name}: {refusal} (it asked for a client certificate)"
            )
        }
        TlsDetail::Silent { name } => {
            write!(out, "handshake with {name}: no answer before the deadline")
        }
        TlsDetail::NoCertificate => write!(out, "the server presented no certificate"),
        TlsDetail::Unverified(err) => {
            write!(out, "certificate verification failed: {}", unverified(err))
        }
        TlsDetail::SmallSegments { mss } => write!(
            out,
            "the handshake stalled with full-size packets and completed with {mss} byte segments"
        ),
        TlsDetail::NotConfigured => write!(out, "no TLS check"),
        TlsDetail::NoConnection => write!(out, "no connection to run TLS on"),
    }
}

/// What a failed verification means, in words: rustls' own text, except where it shows Rust debug
/// output (`Other(OtherError(CaUsedAsEndEntity))`).
fn unverified(err: &rustls::Error) -> String {
    match err {
        rustls::Error::InvalidCertificate(CertificateError::Other(other))
            if matches!(
                other.0.downcast_ref::<webpki::Error>(),
                Some(webpki::Error::CaUsedAsEndEntity)
            ) =>
        {
            "the server presented a self-signed CA certificate as its own, which nobody trusted vouches for".to_string()
        }
        rustls::Error::InvalidCertificate(CertificateError::Other(other)) => {
            format!(
                "the certificate is not usable for a TLS server ({})",
                words(&other.0.to_string())
            )
        }
        // rustls words its variants with context; these it prints as bare Rust names.
        rustls::Error::InvalidCertificate(plain) => match plain {
            CertificateError::UnknownIssuer => {
                "it was issued by a CA this host does not trust".to_string()
            }
            CertificateError::BadEncoding => "it is not a well-formed X.509 certificate".into(),
            CertificateError::Expired => "it has expired".into(),
            CertificateError::NotValidYet => "it is not valid yet".into(),
            CertificateError::Revoked => "it has been revoked".into(),
            CertificateError::BadSignature => "its signature does not verify".into(),
            CertificateError::UnhandledCriticalExtension => {
                "it carries a critical extension this client does not know".into()
            }
            CertificateError::NotValidForName => "it is not valid for this name".into(),
            CertificateError::ExpiredContext { time, not_after } => format!(
                "it expired on {} ({} before this host's clock, {})",
                date(not_after.as_secs()),
                span(time.as_secs().saturating_sub(not_after.as_secs())),
                date(time.as_secs())
            ),
            CertificateError::NotValidYetContext { time, not_before } => format!(
                "it is valid only from {} ({} after this host's clock, {}): check the clock",
                date(not_before.as_secs()),
                span(not_before.as_secs().saturating_sub(time.as_secs())),
                date(time.as_secs())
            ),
            CertificateError::NotValidForNameContext {
                expected,
                presented,
            } => format!(
                "it is not valid for {}: it names {}",
                expected.to_str(),
                if presented.is_empty() {
                    "no name".to_string()
                } else {
                    presented.join(", ")
                }
            ),
            other => rustls::Error::InvalidCertificate(other.clone()).to_string(),
        },
        err => err.to_string(),
    }
}

/// `EndEntityUsedAsCa` as `end entity used as CA`: a Rust variant name in words (text with spaces
/// is kept as it is).
fn words(name: &str) -> String {
    if name.contains(' ') || !name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return name.to_string();
    }
    let mut spaced = String::new();
    for (i, c) in name.char_indices() {
        if i > 0 && c.is_ascii_uppercase() {
            spaced.push(' ');
        }
        spaced.push(c.to_ascii_lowercase());
    }
    spaced
        .split(' ')
        .map(|w| if w == "ca" { "CA" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `2026-11-01 14:03 UTC` from Unix seconds.
fn date(secs: u64) -> String {
    let text = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
    )
    .to_string();
    // 2026-11-01T14:03:00Z
    format!("{} {} UTC", &text[..10], &text[11..16])
}

/// `31 days`, `5 hours`, `12 minutes`.
fn span(secs: u64) -> String {
    let (n, unit) = match secs {
        s if s >= 2 * 86_400 => (s / 86_400, "days"),
        s if s >= 86_400 => (1, "day"),
        s if s >= 2 * 3_600 => (s / 3_600, "hours"),
        s if s >= 3_600 => (1, "hour"),
        s if s >= 120 => (s / 60, "minutes"),
        _ => (secs, "seconds"),
    };
    format!("{n} {unit}")
}
