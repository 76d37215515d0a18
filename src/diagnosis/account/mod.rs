//! A step's own account in words: what each stage's typed facts ([`Detail`]) say, for the page,
//! `check`, the log line and the JSON output. The probes record facts; this is the one place
//! that writes them out.

use std::fmt::{self, Write as _};
use std::io;

use crate::checklist::Stage;
use crate::probe::{
    AuthFailure, Detail, DnsDetail, ErrorClass, HttpDetail, LibraryError, OsError, ProxyDetail,
    StepDetail, TcpDetail, stage_label,
};

mod tls;

use tls::{alert_words, tls};

/// A library's error in words: what it means for the path. The library's own text is a fact
/// too, shown only on `/debug`.
impl fmt::Display for LibraryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.class {
            ErrorClass::Os(error) => f.write_str(&os(error)),
            ErrorClass::Closed => {
                f.write_str("the peer closed the connection before the exchange ended")
            }
            ErrorClass::Alert(alert) => write!(f, "the peer sent TLS {}", alert_words(alert)),
            ErrorClass::NotTls => f.write_str("the peer's answer is not TLS"),
            ErrorClass::NotHttp => f.write_str("the answer is not valid HTTP"),
            ErrorClass::Malformed => {
                f.write_str("the answer could not be read (malformed or cut short)")
            }
            ErrorClass::Other => {
                f.write_str("the exchange failed (the step-by-step page has the library's message)")
            }
        }
    }
}

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
pub(super) fn os(error: OsError) -> String {
    let words = match error.kind {
        io::ErrorKind::ConnectionRefused => "refused (a reset came back)",
        io::ErrorKind::ConnectionReset => "reset by the peer (an RST came back)",
        io::ErrorKind::TimedOut => "no answer (timed out)",
        io::ErrorKind::HostUnreachable => "host unreachable (an ICMP message came back)",
        io::ErrorKind::NetworkUnreachable => "network unreachable (no route to it)",
        io::ErrorKind::AddrNotAvailable => "no local address to connect from",
        io::ErrorKind::PermissionDenied => "not permitted by this host",
        io::ErrorKind::NotFound => "not found",
        _ => {
            return match error.code {
                Some(code) => format!("failed (system error {code})"),
                None => "failed".to_string(),
            };
        }
    };
    words.to_string()
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
mod tests;
