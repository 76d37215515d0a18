//! A step's own account in words: what each stage's typed facts ([`Detail`]) say, for the page,
//! `check`, the log line and the JSON output. The probes record facts; this is the one place
//! that writes them out.

use std::fmt::{self, Write as _};
use std::io;

use rustls::CertificateError;

use crate::checklist::Stage;
use crate::probe::{
    AuthFailure, Detail, DnsDetail, HttpDetail, OsError, ProxyDetail, Refusal, StepDetail,
    TcpDetail, TlsDetail, stage_label,
};

/// `detail` in words.
pub(crate) fn account(detail: &Detail) -> String {
    let mut out = String::new();
    let _ = write_account(&mut out, detail);
    out
}

/// The JSON output carries the words, as it always has.
impl serde::Serialize for Detail {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&account(self))
    }
}

fn write_account(out: &mut String, detail: &Detail) -> fmt::Result {
    match detail {
        Detail::Dns(d) => dns(out, d),
        Detail::Tcp(d) => tcp(out, d),
        Detail::Proxy(d) => proxy(out, d),
        Detail::Tls(d) => tls(out, d),
        Detail::Http(d) => http(out, d),
        Detail::Step(d) => step(out, d),
        Detail::Partial { failed, working } => {
            write!(
                out,
                "{} of {} addresses failed: ",
                failed.len(),
                failed.len() + working
            )?;
            for (i, (ip, detail)) in failed.iter().enumerate() {
                if i > 0 {
                    out.push_str("; ");
                }
                write!(out, "{ip} (")?;
                write_account(out, detail)?;
                out.push(')');
            }
            Ok(())
        }
    }
}

fn dns(out: &mut String, d: &DnsDetail) -> fmt::Result {
    match d {
        DnsDetail::Answered { addresses } => {
            let each: Vec<String> = addresses.iter().map(ToString::to_string).collect();
            write!(out, "{} address(es): {}", each.len(), each.join(", "))
        }
        DnsDetail::Code { host, code, server } => write!(out, "{host}: {code} from {server}"),
        DnsDetail::Silent { host, server } => write!(out, "{host}: no answer from {server}"),
        DnsDetail::Failed {
            host,
            server,
            error,
        } => write!(out, "{host}: {error} ({server})"),
        DnsDetail::CnameLoop { host, at, server } => {
            write!(out, "{host}: CNAME loop at {at} (answers from {server})")
        }
        DnsDetail::NoAddressOfFamily { host, server } => write!(
            out,
            "{host}: NOERROR from {server} with no address of the requested family"
        ),
        DnsDetail::Empty { host } => write!(out, "{host}: no address in the answer"),
        DnsDetail::Unreadable { path, error } => {
            write!(out, "cannot read {}: {}", path.display(), os(*error))
        }
        DnsDetail::NoServer { path, parsed } => {
            write!(out, "{} names no DNS server", path.display())?;
            if !parsed {
                out.push_str(" (no `nameserver` line)");
            }
            Ok(())
        }
    }
}

fn tcp(out: &mut String, d: &TcpDetail) -> fmt::Result {
    match d {
        TcpDetail::Connected { port, addresses: 1 } => write!(out, "connected to port {port}"),
        TcpDetail::Connected { port, addresses } => {
            write!(out, "connected to port {port} on {addresses} addresses")
        }
        TcpDetail::Failed { addr, error } => write!(out, "connect to {addr}: {}", os(*error)),
        TcpDetail::Silent { addr } => {
            write!(out, "connect to {addr}: no answer before the deadline")
        }
        TcpDetail::NoAddress => write!(out, "no address to connect to"),
    }
}

/// An OS error in words: what it means for the path, not the C library's text (`/debug` keeps
/// the errno beside it).
fn os(error: OsError) -> String {
    let words = match error.kind {
        io::ErrorKind::ConnectionRefused => "refused (a reset came back)",
        io::ErrorKind::ConnectionReset => "reset while connecting",
        io::ErrorKind::TimedOut => "no answer (timed out)",
        io::ErrorKind::HostUnreachable => "host unreachable (an ICMP message came back)",
        io::ErrorKind::NetworkUnreachable => "network unreachable (no route to it)",
        io::ErrorKind::AddrNotAvailable => "no local address to connect from",
        io::ErrorKind::PermissionDenied => "not permitted by this host",
        io::ErrorKind::NotFound => "not found",
        _ => {
            return match error.code {
                Some(code) => io::Error::from_raw_os_error(code).to_string(),
                None => io::Error::from(error.kind).to_string(),
            };
        }
    };
    words.to_string()
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

fn proxy(out: &mut String, d: &ProxyDetail) -> fmt::Result {
    match d {
        ProxyDetail::Open { port } => write!(out, "tunnel to port {port} open"),
        ProxyDetail::NotConfigured => write!(out, "no proxy configured"),
        ProxyDetail::Auth { proxy, status, why } => {
            let why = match why {
                AuthFailure::NoChallenge => "the proxy asks for authentication without a Proxy-Authenticate challenge, so no scheme can answer it".to_string(),
                AuthFailure::NoCredentials => {
                    "the proxy requires authentication and no credentials are configured".into()
                }
                AuthFailure::UnsupportedScheme => {
                    "the proxy asks for an authentication scheme other than Basic or Digest".into()
                }
                AuthFailure::Rejected { user } => {
                    format!("the proxy rejected the credentials of user `{user}`")
                }
            };
            write!(out, "proxy {proxy}: CONNECT answered {status}: {why}")
        }
        ProxyDetail::NameTimeout { proxy } => {
            write!(out, "proxy {proxy}: resolving the proxy name timed out")
        }
        ProxyDetail::NameFailed { proxy, error } => {
            write!(out, "proxy {proxy}: cannot resolve the proxy name: {error}")
        }
        ProxyDetail::NameEmpty { proxy } => {
            write!(out, "proxy {proxy}: the proxy name has no address")
        }
        ProxyDetail::Unreachable { proxy, tcp: d } => {
            write!(out, "proxy {proxy}: ")?;
            tcp(out, d)
        }
        ProxyDetail::Silent { proxy } => {
            write!(
                out,
                "proxy {proxy}: no answer to CONNECT before the deadline"
            )
        }
        ProxyDetail::TunnelSilent { proxy } => {
            write!(out, "proxy {proxy}: tunnel not ready before the deadline")
        }
        ProxyDetail::Exchange {
            proxy,
            authority: None,
            error,
        } => write!(out, "proxy {proxy}: CONNECT failed: {error}"),
        ProxyDetail::Exchange {
            proxy,
            authority: Some(authority),
            error,
        } => write!(out, "proxy {proxy}: CONNECT {authority}: {error}"),
        ProxyDetail::Refused {
            proxy,
            authority,
            status,
            squid_error,
        } => {
            write!(
                out,
                "proxy {proxy}: CONNECT {authority} answered {}",
                status_line(*status)
            )?;
            if let Some(squid) = squid_error {
                write!(out, " ({squid})")?;
            }
            Ok(())
        }
    }
}

/// `403 Forbidden`: the status with its standard phrase, when it has one.
fn status_line(status: u16) -> String {
    hyper::StatusCode::from_u16(status).map_or_else(|_| status.to_string(), |s| s.to_string())
}

fn tls(out: &mut String, d: &TlsDetail) -> fmt::Result {
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
                Refusal::Alert(rustls::AlertDescription::CertificateRequired) => {
                    "the server refused the session: alert certificate_required".into()
                }
                Refusal::Alert(alert) => format!("the server refused the session: alert {alert:?}"),
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

fn http(out: &mut String, d: &HttpDetail) -> fmt::Result {
    match d {
        HttpDetail::Status { status } => write!(out, "status {status} as expected"),
        HttpDetail::Unexpected { status, expected } => {
            let expected: Vec<String> = expected.iter().map(ToString::to_string).collect();
            write!(out, "status {status}, expected {}", expected.join(" or "))
        }
        HttpDetail::Skew { seconds } => write!(out, "skew {seconds:+.0} s"),
        HttpDetail::SkewTooLarge { seconds, allowed } => write!(
            out,
            "the server's clock is {seconds:+.0} s from ours (allowed ±{} s)",
            allowed.as_secs()
        ),
        HttpDetail::NoDate => write!(out, "the server sent no Date header"),
        HttpDetail::Silent { path } => write!(out, "GET {path}: no response before the deadline"),
        HttpDetail::Invalid {
            path,
            error,
            building: false,
        } => write!(out, "GET {path}: {error}"),
        HttpDetail::Invalid {
            path,
            error,
            building: true,
        } => write!(out, "GET {path}: cannot build the request: {error}"),
        HttpDetail::SmallSegments { mss } => write!(
            out,
            "the response stalled with full-size packets and arrived with {mss} byte segments"
        ),
        HttpDetail::NotConfigured => write!(out, "no HTTP check"),
        HttpDetail::NoSession => write!(out, "no TLS session to send the request on"),
    }
}

fn step(out: &mut String, d: &StepDetail) -> fmt::Result {
    match d {
        StepDetail::Skipped { after, port } => match after {
            Stage::Dns => write!(out, "the name did not resolve"),
            Stage::Tcp | Stage::Proxy => {
                write!(out, "no connection ({} failed)", stage_label(*after, *port))
            }
            Stage::Tls => write!(out, "the TLS handshake failed"),
            Stage::Http | Stage::Clock => write!(out, "no HTTP response"),
        },
        StepDetail::Deadline { stage, port } => write!(
            out,
            "{}: no answer before the deadline",
            stage_label(*stage, *port)
        ),
        StepDetail::StillRunning => write!(out, "still running when the scrape's deadline passed"),
        StepDetail::NotStarted => write!(out, "not started before the scrape's deadline"),
        StepDetail::NothingHandedOver => write!(out, "the step it needs handed over nothing"),
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;

    /// Verification failures read as words, never a Rust name such as `UnknownIssuer`.
    #[test]
    fn verification_failures_are_words() {
        let cases = [
            CertificateError::Expired,
            CertificateError::UnknownIssuer,
            CertificateError::NotValidForName,
            CertificateError::BadEncoding,
            CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
                webpki::Error::CaUsedAsEndEntity,
            ))),
            CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
                webpki::Error::EndEntityUsedAsCa,
            ))),
        ];
        for err in cases {
            let detail =
                account(&TlsDetail::Unverified(rustls::Error::InvalidCertificate(err)).into());
            assert!(
                !detail
                    .as_bytes()
                    .windows(2)
                    .any(|p| p[0].is_ascii_lowercase() && p[1].is_ascii_uppercase()),
                "{detail}"
            );
        }
    }

    /// Certificate dates as UTC dates with how far off they are, never Unix seconds.
    #[test]
    fn certificate_dates_are_dates() {
        use rustls::pki_types::UnixTime;
        let at = |secs| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
        let expired = CertificateError::ExpiredContext {
            time: at(1_796_176_182),
            not_after: at(1_796_176_182 - 31 * 86_400 - 3_600),
        };
        let words =
            account(&TlsDetail::Unverified(rustls::Error::InvalidCertificate(expired)).into());
        assert!(
            words.ends_with("it expired on 2026-11-01 00:49 UTC (31 days before this host's clock, 2026-12-02 01:49 UTC)"),
            "{words}"
        );
        assert!(
            !words.contains("UNIX") && !words.contains("seconds ago"),
            "{words}"
        );
    }

    #[test]
    fn every_failing_address_is_named_with_its_own_account() {
        let addr: SocketAddr = "192.0.2.8:443".parse().expect("addr");
        let partial = Detail::Partial {
            failed: vec![
                (addr.ip(), TcpDetail::Silent { addr }.into()),
                (
                    "192.0.2.9".parse().expect("ip"),
                    TcpDetail::Failed {
                        addr: "192.0.2.9:443".parse().expect("addr"),
                        error: OsError::from(&io::Error::from_raw_os_error(111)),
                    }
                    .into(),
                ),
            ],
            working: 1,
        };
        assert_eq!(
            account(&partial),
            "2 of 3 addresses failed: 192.0.2.8 (connect to 192.0.2.8:443: no answer before the deadline); 192.0.2.9 (connect to 192.0.2.9:443: refused (a reset came back))"
        );
        let skipped = StepDetail::Skipped {
            after: Stage::Tcp,
            port: Some(8989),
        };
        assert_eq!(account(&skipped.into()), "no connection (tcp/8989 failed)");
    }
}
