//! What a step found, as typed facts: every stage returns one with its verdict, the recorder keeps
//! it beside the reason, and the renderers (`diagnosis/account/`) write it in words. Nothing here
//! is prose: a library's own message, where one is kept, is a recorded fact like an address.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::checklist::Stage;

/// What one step found.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Detail {
    Dns(DnsDetail),
    Tcp(TcpDetail),
    Proxy(ProxyDetail),
    Tls(TlsDetail),
    Http(HttpDetail),
    /// What the executor knows of a step it did not run to the end.
    Step(StepDetail),
    /// Addresses of one name, some of which failed: each failing one with what it found.
    Partial {
        failed: Vec<(IpAddr, Detail)>,
        working: usize,
    },
}

/// The DNS step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DnsDetail {
    /// The addresses of the answer (also when they are sinkhole addresses).
    Answered { addresses: Vec<IpAddr> },
    /// A server answered with this response code (`SERVFAIL`, `NXDOMAIN`…).
    Code {
        host: String,
        code: &'static str,
        server: SocketAddr,
    },
    /// No server answered (`server`: the one asked last, or the resolver when none was asked).
    Silent { host: String, server: String },
    /// The resolver library failed otherwise; its own message.
    Failed {
        host: String,
        server: SocketAddr,
        error: LibraryError,
    },
    /// The name's CNAMEs lead back to `at`.
    CnameLoop {
        host: String,
        at: String,
        server: SocketAddr,
    },
    /// `NOERROR` without an address of the family asked for.
    NoAddressOfFamily { host: String, server: SocketAddr },
    /// An answer with no address at all.
    Empty { host: String },
    /// The system's resolver file cannot be read; the OS error.
    Unreadable { path: PathBuf, error: OsError },
    /// The resolver file has no usable `nameserver` line (`parsed`: whether it parsed at all).
    NoServer { path: PathBuf, parsed: bool },
}

/// The TCP step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TcpDetail {
    Connected {
        port: u16,
        addresses: usize,
    },
    /// The connect failed with this OS error.
    Failed {
        addr: SocketAddr,
        error: OsError,
    },
    /// No answer before the deadline.
    Silent {
        addr: SocketAddr,
    },
    /// Nothing to connect to.
    NoAddress,
}

/// The proxy step (`proxy` is the configured proxy as shown: never its password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ProxyDetail {
    Open {
        port: u16,
    },
    NotConfigured,
    /// CONNECT answered 407 (or 401) and the proxy stays closed.
    Auth {
        proxy: String,
        status: u16,
        why: AuthFailure,
    },
    NameTimeout {
        proxy: String,
    },
    NameFailed {
        proxy: String,
        error: LibraryError,
    },
    NameEmpty {
        proxy: String,
    },
    /// The connection to the proxy itself failed.
    Unreachable {
        proxy: String,
        tcp: TcpDetail,
    },
    Silent {
        proxy: String,
    },
    TunnelSilent {
        proxy: String,
    },
    /// The HTTP exchange with the proxy failed; the library's message.
    Exchange {
        proxy: String,
        authority: Option<String>,
        error: LibraryError,
    },
    /// CONNECT answered another status (`squid_error`: squid's `X-Squid-Error`, cut short).
    Refused {
        proxy: String,
        authority: String,
        status: u16,
        squid_error: Option<String>,
    },
}

/// Why a proxy's authentication challenge was not met.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AuthFailure {
    /// A 407 without a `Proxy-Authenticate` challenge: no scheme can answer it.
    NoChallenge,
    NoCredentials,
    UnsupportedScheme,
    Rejected {
        user: String,
    },
}

/// The TLS step.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum TlsDetail {
    Verified,
    /// The client could not be set up (a configured CA file rustls rejects); its message.
    Setup {
        error: LibraryError,
    },
    /// The handshake failed; what rustls said.
    Failed {
        name: String,
        error: LibraryError,
    },
    /// The server asked for a client certificate and failed the handshake without one.
    ClientCertFailed {
        name: String,
        error: LibraryError,
    },
    /// The server asked for a client certificate, completed, then refused the session.
    ClientCertRefused {
        name: String,
        refusal: Refusal,
    },
    Silent {
        name: String,
    },
    NoCertificate,
    /// The presented chain does not verify.
    Unverified(rustls::Error),
    /// Stalled with full-size packets, completed with segments of `mss` bytes.
    SmallSegments {
        mss: u32,
    },
    NotConfigured,
    NoConnection,
}

/// How a server refused a session right after the handshake.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Refusal {
    Closed,
    Alert(rustls::AlertDescription),
    Error(LibraryError),
}

/// The HTTP and clock steps.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum HttpDetail {
    Status {
        status: u16,
    },
    Unexpected {
        status: u16,
        expected: Vec<u16>,
    },
    Skew {
        seconds: f64,
    },
    SkewTooLarge {
        seconds: f64,
        allowed: Duration,
    },
    NoDate,
    Silent {
        path: String,
    },
    /// The exchange failed; hyper's message (`building`: the request itself could not be built).
    Invalid {
        path: String,
        error: LibraryError,
        building: bool,
    },
    /// Stalled with full-size packets, arrived with segments of `mss` bytes.
    SmallSegments {
        mss: u32,
    },
    NotConfigured,
    NoSession,
}

/// A step the executor ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StepDetail {
    /// Not run: the step it needs failed.
    Skipped {
        after: Stage,
        port: Option<u16>,
    },
    /// Failed at the deadline.
    Deadline {
        stage: Stage,
        port: Option<u16>,
    },
    StillRunning,
    NotStarted,
    NothingHandedOver,
}

/// An OS error as numbers: its errno when it has one, and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OsError {
    pub(crate) code: Option<i32>,
    pub(crate) kind: io::ErrorKind,
}

/// A library's error as a fact: what it means (`class`, which the renderers put in words) and the
/// library's own text (`raw`), which only `/debug` shows, for support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LibraryError {
    pub(crate) class: ErrorClass,
    pub(crate) raw: String,
}

/// What a library's error means for the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    /// An operating-system error on the socket.
    Os(OsError),
    /// The peer closed the connection before the exchange ended.
    Closed,
    /// The peer sent a TLS alert.
    Alert(rustls::AlertDescription),
    /// The peer's bytes were not TLS.
    NotTls,
    /// The peer's answer was not valid HTTP.
    NotHttp,
    /// A DNS answer that could not be read.
    Malformed,
    /// Anything else: the renderers say the exchange failed and `/debug` has the text.
    Other,
}

impl LibraryError {
    /// An I/O error, looking inside for the rustls error tokio-rustls wraps.
    pub(crate) fn io(e: &io::Error) -> Self {
        let class = match e
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            Some(rustls::Error::AlertReceived(alert)) => ErrorClass::Alert(*alert),
            Some(
                rustls::Error::InvalidMessage(_)
                | rustls::Error::InappropriateMessage { .. }
                | rustls::Error::InappropriateHandshakeMessage { .. },
            ) => ErrorClass::NotTls,
            Some(_) => ErrorClass::Other,
            None if e.kind() == io::ErrorKind::UnexpectedEof => ErrorClass::Closed,
            None if e.raw_os_error().is_some()
                || matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                ErrorClass::Os(OsError::from(e))
            }
            None => ErrorClass::Other,
        };
        LibraryError {
            class,
            raw: e.to_string(),
        }
    }

    /// An HTTP client error.
    pub(crate) fn hyper(e: &hyper::Error) -> Self {
        let class = if e.is_parse() || e.is_parse_status() || e.is_parse_too_large() {
            ErrorClass::NotHttp
        } else if e.is_incomplete_message() || e.is_closed() || e.is_canceled() {
            ErrorClass::Closed
        } else {
            match std::error::Error::source(e).and_then(|s| s.downcast_ref::<io::Error>()) {
                Some(io) => LibraryError::io(io).class,
                None => ErrorClass::Other,
            }
        };
        LibraryError {
            class,
            raw: e.to_string(),
        }
    }

    /// An error with no meaning beyond its text (building a request, setting up TLS).
    pub(crate) fn other(raw: impl std::fmt::Display) -> Self {
        LibraryError {
            class: ErrorClass::Other,
            raw: raw.to_string(),
        }
    }
}

impl From<&io::Error> for OsError {
    fn from(err: &io::Error) -> Self {
        OsError {
            code: err.raw_os_error(),
            kind: err.kind(),
        }
    }
}

/// Each stage's detail is a `Detail`.
macro_rules! into_detail {
    ($($stage:ident => $variant:ident),* $(,)?) => {$(
        impl From<$stage> for Detail {
            fn from(d: $stage) -> Self {
                Detail::$variant(d)
            }
        }
    )*};
}

into_detail! {
    DnsDetail => Dns,
    TcpDetail => Tcp,
    ProxyDetail => Proxy,
    TlsDetail => Tls,
    HttpDetail => Http,
    StepDetail => Step,
}
