//! What one step of a probe recorded, as plain values: its outcome, each address it tried, what
//! a proxy answered. The recorder (`outcome.rs`) collects them and the verdict (`verdict/`)
//! reads them.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::detail::Detail;
use crate::checklist::{Reason, Stage};

/// The result of one step.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct StageOutcome {
    pub(crate) stage: Stage,
    /// The port for TCP, proxy, TLS and HTTP stages.
    pub(crate) port: Option<u16>,
    pub(crate) reason: Reason,
    #[serde(serialize_with = "as_seconds")]
    pub(crate) duration: Duration,
    /// What happened, as typed facts (never carries a secret); written out in words.
    pub(crate) detail: Detail,
}

impl StageOutcome {
    pub(crate) fn success(&self) -> bool {
        self.reason == Reason::Ok
    }

    /// Whether the stage came to a verdict of its own: not skipped after an earlier failure, not
    /// out of budget, not without a clock to judge. Only such a stage passes or fails.
    pub(crate) fn judged(&self) -> bool {
        !matches!(self.reason, Reason::Skipped | Reason::BudgetExhausted)
    }

    /// Whether the stage ran and took time of its own (its duration means something).
    pub(crate) fn ran(&self) -> bool {
        self.stage != Stage::Clock
            && !matches!(self.reason, Reason::Skipped | Reason::BudgetExhausted)
    }
}

pub(super) fn as_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// One address of the name tried at one step: a TCP connect or a TLS handshake on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Attempt {
    pub(crate) stage: Stage,
    pub(crate) port: u16,
    pub(crate) address: IpAddr,
    pub(crate) reason: Reason,
}

/// What the proxy answered to CONNECT.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(crate) struct ProxyFacts {
    /// The status of its last answer, when it answered.
    pub(crate) status: Option<u16>,
    /// The authentication schemes its challenge offered (`Digest`, `NTLM`, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) schemes: Vec<String>,
}

/// What the DNS step found.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct DnsFacts {
    /// The response code as `nslookup` would print it (`NOERROR`, `NXDOMAIN`, …), when there was one.
    pub(crate) rcode: Option<String>,
    /// The resolver that was asked (servers and protocol, or the resolv.conf it came from).
    pub(crate) resolver: String,
    /// The server that gave the answer (or the failing response code), as `ip:port`.
    pub(crate) server: Option<String>,
    /// Each CNAME target in order, e.g. `api-sse.cisco.com.akadns.net.`.
    pub(crate) cname_chain: Vec<String>,
    pub(crate) addresses: Vec<IpAddr>,
}

/// What the handshake showed.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct TlsFacts {
    pub(crate) version: String,
    pub(crate) cipher: String,
    pub(crate) alpn: Option<String>,
    pub(crate) subject: String,
    pub(crate) issuer: String,
    /// The earliest `notAfter` of the presented chain, as Unix seconds.
    pub(crate) not_after: Option<i64>,
    /// `ok`, or the reason verification failed.
    pub(crate) verify: String,
    pub(crate) chain_length: usize,
    /// Which roots a verified chain leads to: the public ones, or only a configured `ca_file`
    /// (then the device, which trusts the public roots only, would fail where this passes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) trusted_via: Option<Trust>,
}

/// The roots a verified chain leads to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Trust {
    /// A public CA, as the device trusts it.
    PublicRoots,
    /// Only a CA from `tls.ca_file`.
    ConfiguredCa,
}

/// What the response showed.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct HttpFacts {
    pub(crate) status: u16,
    /// Server `Date` minus the local clock, in seconds (positive: the local clock is behind).
    pub(crate) clock_skew_seconds: Option<f64>,
    pub(crate) server: Option<String>,
    /// The response headers, names in lower case (at most 32, values cut to 120 characters).
    pub(crate) headers: Vec<(String, String)>,
    /// The start of the body (at most 1 KiB, as text), read within half a second of the head.
    pub(crate) body: String,
}

impl HttpFacts {
    /// The first value of header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
