//! What each step did, as `nslookup` and `curl -v` print it, for `/debug` (built there only, not
//! for every step of every page), and each step's closing line.

use super::time::format_unix;
use super::view::{StepView, TargetView};
use crate::checklist::{Reason, Stage};
use crate::probe::{
    Detail, DnsDetail, HttpDetail, OsError, ProxyDetail, Refusal, StageOutcome, TargetOutcome,
    TcpDetail, TlsDetail,
};

impl TargetView {
    /// What `step` did, as `nslookup` and `curl -v` print it (only `/debug` shows it, so it is
    /// built there, not for every step of every page).
    pub(crate) fn trace(&self, step: &StepView) -> Vec<String> {
        match self.outcome.stages.get(step.index) {
            Some(s) if !matches!(s.reason, Reason::Skipped | Reason::BudgetExhausted) => {
                trace(&self.outcome, s)
            }
            _ => Vec::new(),
        }
    }
}

impl StepView {
    /// The step's closing line: `* tcp/443: connected to port 443 (ok, 1.0 ms)`.
    pub(crate) fn summary(&self) -> String {
        match self.took {
            Some(took) => format!(
                "* {}: {} ({}, {:.1} ms)",
                self.label,
                self.detail,
                self.reason,
                took.as_secs_f64() * 1000.0
            ),
            None => format!("* {} {}: {}", self.label, self.reason, self.detail),
        }
    }
}

fn trace(o: &TargetOutcome, s: &StageOutcome) -> Vec<String> {
    let t = &o.target;
    let port = s.port.unwrap_or(0);
    let mut lines = Vec::new();
    match s.stage {
        Stage::Dns => {
            if let Some(dns) = &o.dns {
                lines.push(format!("* Resolving {} with {}", t.host, dns.resolver));
                if let Some(server) = &dns.server {
                    lines.push(format!("* Server: {server}"));
                }
                for cname in &dns.cname_chain {
                    lines.push(format!("* {} canonical name = {cname}", t.host));
                }
                for addr in &dns.addresses {
                    lines.push(format!("* Address: {addr}"));
                }
            }
        }
        Stage::Tcp => {
            let address = o
                .dns
                .as_ref()
                .and_then(|d| d.addresses.first())
                .map_or_else(|| t.host.clone(), ToString::to_string);
            lines.push(format!("* Trying {address}:{port}..."));
            // The system's own words, for support: the page and `check` say what they mean.
            if let Detail::Tcp(TcpDetail::Failed {
                addr,
                error: OsError {
                    code: Some(code), ..
                },
            }) = &s.detail
            {
                lines.push(format!(
                    "* connect to {addr}: {}",
                    std::io::Error::from_raw_os_error(*code)
                ));
            }
        }
        Stage::Proxy => {
            if let Some(proxy) = &t.proxy {
                lines.push(format!("* CONNECT {}:{port} via proxy {proxy}", t.host));
            }
        }
        Stage::Tls => {
            if let Some(tls) = &o.tls {
                lines.push(format!(
                    "* SSL connection using {} / {}",
                    tls.version, tls.cipher
                ));
                if let Some(alpn) = &tls.alpn {
                    lines.push(format!("* ALPN, server accepted to use {alpn}"));
                }
                lines.push(format!("* subject: {}", tls.subject));
                lines.push(format!("* issuer: {}", tls.issuer));
                if let Some(not_after) = tls.not_after {
                    lines.push(format!(
                        "* expire date (earliest in chain): {}",
                        format_unix(not_after)
                    ));
                }
                lines.push(format!("* SSL certificate verify result: {}", tls.verify));
            }
        }
        Stage::Http => {
            if let Some(http) = &t.http {
                lines.push(format!("> GET {} HTTP/1.1", http.path));
                lines.push(format!("> Host: {}", t.host));
            }
            if let Some(facts) = &o.http {
                lines.push(format!("< HTTP/1.1 {}", facts.status));
            }
        }
        Stage::Clock => {}
    }
    // The libraries' own messages, for support: the page and `check` say what they mean.
    let mut raw = Vec::new();
    library_errors(&s.detail, &mut raw);
    lines.extend(raw.into_iter().map(|text| format!("* error: {text}")));
    lines
}

/// The library messages a step's detail keeps (every failing address of a partial result).
fn library_errors<'a>(detail: &'a Detail, out: &mut Vec<&'a str>) {
    let error = match detail {
        Detail::Dns(DnsDetail::Failed { error, .. })
        | Detail::Proxy(
            ProxyDetail::NameFailed { error, .. } | ProxyDetail::Exchange { error, .. },
        )
        | Detail::Tls(
            TlsDetail::Setup { error }
            | TlsDetail::Failed { error, .. }
            | TlsDetail::ClientCertFailed { error, .. }
            | TlsDetail::ClientCertRefused {
                refusal: Refusal::Error(error),
                ..
            },
        )
        | Detail::Http(HttpDetail::Invalid { error, .. }) => error,
        Detail::Partial { failed, .. } => {
            for (_, detail) in failed {
                library_errors(detail, out);
            }
            return;
        }
        _ => return,
    };
    out.push(&error.raw);
}
