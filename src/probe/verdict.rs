//! The verdict, decided once from every fact a probe recorded: the DNS answer, each address tried
//! with its result, the first bytes a peer sent when a handshake failed, the proxy's challenge,
//! the HTTP answer's marks. Stages record what they saw and their own first reading of it; this
//! one pure function weighs all of it and says which stage, port and reason explain the target
//! (and which addresses). It never touches a socket; a table test holds a row per rule.
//!
//! The answer explains everything after it:
//! 1. a sinkhole answer (every address `0.0.0.0` or `::`) is `dns_sinkhole`;
//! 2. a loopback answer after which no connection opened is `dns_loopback`, not a firewall.
//!
//! Otherwise each step's own record is read again with the facts beside it, and the earliest
//! failure in checklist order explains the target:
//! 3. a proxy that offers only schemes a device cannot answer is `proxy_auth_unsupported`;
//! 4. plain HTTP on the TLS port (`HTTP/1.x NNN …` where a handshake was due) is `tls_plain_http`;
//! 5. a `407` inside the TLS session is `http_proxy_auth_required`; any answer carrying a
//!    middlebox's marks is `http_block_page`, whatever its status;
//! 6. some addresses failing where others work is `tcp_partial` / `tls_partial`, naming them;
//! 7. any other failure is the step's own reason.

use std::net::IpAddr;

use serde::Serialize;

use super::dns::DnsFacts;
use super::http::HttpFacts;
use super::outcome::{Attempt, ProxyFacts, StageOutcome};
use crate::checklist::{Reason, Stage, checklist_rank};

/// The facts the verdict reads, borrowed from one probe's outcome.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Facts<'a> {
    pub(crate) stages: &'a [StageOutcome],
    pub(crate) dns: Option<&'a DnsFacts>,
    pub(crate) attempts: &'a [Attempt],
    pub(crate) proxy: Option<&'a ProxyFacts>,
    /// The first bytes the peer sent when a TLS handshake failed.
    pub(crate) first_bytes: Option<&'a [u8]>,
    pub(crate) http: Option<&'a HttpFacts>,
}

/// What explains a failing target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Verdict {
    pub(crate) stage: Stage,
    pub(crate) port: Option<u16>,
    pub(crate) reason: Reason,
    /// The addresses concerned: the answer for a DNS verdict, the failing ones for a partial one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) addresses: Vec<IpAddr>,
    /// What the verdict was drawn from, for the renderers to put in words.
    pub(crate) evidence: Evidence,
}

/// The fact a verdict rests on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Evidence {
    /// The failing stage's own record (its detail says what happened).
    Stage,
    /// The DNS answer: its addresses came from `server` (when known).
    Answer {
        server: Option<String>,
        /// For a loopback answer: how connecting to it failed.
        #[serde(skip_serializing_if = "Option::is_none")]
        then: Option<Reason>,
    },
    /// The proxy's `407` offered only these schemes.
    Schemes { offered: Vec<String> },
    /// The status line a plain-HTTP peer sent where a TLS handshake was due.
    StatusLine { line: String },
    /// The marks of a middlebox in the HTTP answer (`X-Squid-Error: ERR_ACCESS_DENIED 0`, …).
    Marks { status: u16, marks: Vec<String> },
    /// Each failing address with its reason, and how many addresses worked.
    Addresses {
        failing: Vec<(IpAddr, Reason)>,
        working: usize,
    },
}

/// The authentication schemes a Firepower device answers at a proxy.
const DEVICE_SCHEMES: [&str; 2] = ["basic", "digest"];

/// Decides the verdict from `facts`; `None` when nothing failed.
pub(crate) fn decide(facts: &Facts<'_>) -> Option<Verdict> {
    sinkhole(facts).or_else(|| loopback(facts)).or_else(|| {
        facts
            .stages
            .iter()
            .filter_map(|step| read_again(facts, step))
            .min_by_key(|v| checklist_rank(v.stage, v.reason))
    })
}

/// One step's verdict with the facts beside it: a rule's, its own failure, or none.
fn read_again(facts: &Facts<'_>, step: &StageOutcome) -> Option<Verdict> {
    let ruled = match step.stage {
        Stage::Proxy => unsupported_schemes(facts, step),
        Stage::Tls => plain_http(facts, step).or_else(|| partial(facts, step, Reason::TlsPartial)),
        Stage::Http => middlebox_answer(facts, step),
        Stage::Tcp => partial(facts, step, Reason::TcpPartial),
        Stage::Dns | Stage::Clock => None,
    };
    ruled.or_else(|| {
        step.reason
            .is_failure()
            .then(|| verdict(step.stage, step.port, step.reason, Evidence::Stage))
    })
}

fn verdict(stage: Stage, port: Option<u16>, reason: Reason, evidence: Evidence) -> Verdict {
    Verdict {
        stage,
        port,
        reason,
        addresses: Vec::new(),
        evidence,
    }
}

fn stage<'a>(facts: &Facts<'a>, stage: Stage) -> impl Iterator<Item = &'a StageOutcome> {
    facts.stages.iter().filter(move |s| s.stage == stage)
}

/// Whether an answer address sends traffic nowhere on purpose.
pub(crate) fn is_sinkhole(ip: &IpAddr) -> bool {
    ip.is_unspecified()
}

fn sinkhole(facts: &Facts<'_>) -> Option<Verdict> {
    let dns = facts.dns?;
    if dns.addresses.is_empty() || !dns.addresses.iter().all(is_sinkhole) {
        return None;
    }
    Some(Verdict {
        addresses: dns.addresses.clone(),
        ..verdict(
            Stage::Dns,
            None,
            Reason::DnsSinkhole,
            Evidence::Answer {
                server: dns.server.clone(),
                then: None,
            },
        )
    })
}

fn loopback(facts: &Facts<'_>) -> Option<Verdict> {
    let dns = facts.dns?;
    // An answer only: an address written as the target's host was not looked up.
    dns.server.as_ref()?;
    if dns.addresses.is_empty() || !dns.addresses.iter().all(IpAddr::is_loopback) {
        return None;
    }
    // Connecting failed on every port tried: nothing answers there.
    let connects: Vec<&StageOutcome> = stage(facts, Stage::Tcp).collect();
    let failed = connects.iter().find(|s| {
        matches!(
            s.reason,
            Reason::TcpRefused | Reason::TcpTimeout | Reason::TcpUnreachable
        )
    })?;
    let opened = facts
        .attempts
        .iter()
        .any(|a| a.stage == Stage::Tcp && a.reason == Reason::Ok);
    if opened || connects.iter().any(|s| s.reason == Reason::Ok) {
        return None;
    }
    Some(Verdict {
        addresses: dns.addresses.clone(),
        ..verdict(
            Stage::Dns,
            failed.port,
            Reason::DnsLoopback,
            Evidence::Answer {
                server: dns.server.clone(),
                then: Some(failed.reason),
            },
        )
    })
}

fn unsupported_schemes(facts: &Facts<'_>, failed: &StageOutcome) -> Option<Verdict> {
    let proxy = facts.proxy?;
    if failed.reason != Reason::ProxyAuthRequired {
        return None;
    }
    let offered = &proxy.schemes;
    let answerable = offered
        .iter()
        .any(|s| DEVICE_SCHEMES.contains(&s.to_ascii_lowercase().as_str()));
    if offered.is_empty() || answerable {
        return None;
    }
    Some(verdict(
        Stage::Proxy,
        failed.port,
        Reason::ProxyAuthUnsupported,
        Evidence::Schemes {
            offered: offered.clone(),
        },
    ))
}

fn plain_http(facts: &Facts<'_>, failed: &StageOutcome) -> Option<Verdict> {
    if !failed.reason.is_failure() {
        return None;
    }
    let line = http_status_line(facts.first_bytes?)?;
    Some(verdict(
        Stage::Tls,
        failed.port,
        Reason::TlsPlainHttp,
        Evidence::StatusLine { line },
    ))
}

/// `HTTP/1.1 403 Forbidden` when `bytes` open with an HTTP/1.x status line.
pub(crate) fn http_status_line(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().next()?.trim_end();
    let rest = line
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| line.strip_prefix("HTTP/1.0 "))?;
    let code = rest.get(..3)?;
    if !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(line.chars().take(120).collect())
}

fn middlebox_answer(facts: &Facts<'_>, step: &StageOutcome) -> Option<Verdict> {
    let http = facts.http?;
    if http.status == 407 {
        return Some(verdict(
            Stage::Http,
            step.port,
            Reason::HttpProxyAuthRequired,
            Evidence::Marks {
                status: http.status,
                marks: marks(http),
            },
        ));
    }
    let marks = marks(http);
    if marks.is_empty() {
        return None;
    }
    Some(verdict(
        Stage::Http,
        step.port,
        Reason::HttpBlockPage,
        Evidence::Marks {
            status: http.status,
            marks,
        },
    ))
}

/// Web filters and proxies that name themselves in `Server` (lower case, matched anywhere).
const FILTER_PRODUCTS: [&str; 22] = [
    "squid",
    "bluecoat",
    "proxysg",
    "zscaler",
    "fortigate",
    "fortiguard",
    "fortiproxy",
    "forcepoint",
    "websense",
    "mcafee web gateway",
    "skyhigh",
    "barracuda",
    "sophos",
    "netskope",
    "iboss",
    "lightspeed",
    "smoothwall",
    "untangle",
    "contentkeeper",
    "ironport",
    "cisco wsa",
    "pan-os",
];

/// What in an HTTP answer says a middlebox wrote it, not the Cisco cloud (whose answer is a plain
/// `403` with `text/plain` and `Forbidden`, the seed's `curl -v -k` transcript): a proxy's own
/// headers (`X-Squid-Error`, `Via`, `Proxy-*`), a filter product in `Server`, an HTML page.
pub(crate) fn marks(http: &HttpFacts) -> Vec<String> {
    let mut marks = Vec::new();
    for (name, value) in &http.headers {
        let named = name.eq_ignore_ascii_case("x-squid-error")
            || name.eq_ignore_ascii_case("via")
            || name.to_ascii_lowercase().starts_with("proxy-")
            || (name.eq_ignore_ascii_case("server")
                && FILTER_PRODUCTS
                    .iter()
                    .any(|p| value.to_ascii_lowercase().contains(p)));
        if named {
            marks.push(format!("{}: {value}", header_case(name)));
        }
    }
    let html = http
        .header("content-type")
        .is_some_and(|t| t.to_ascii_lowercase().starts_with("text/html"))
        || http.body.trim_start().starts_with('<');
    if html {
        marks.push(match html_title(&http.body) {
            Some(title) => format!("an HTML page titled \u{201c}{title}\u{201d}"),
            None => "an HTML page".to_string(),
        });
    }
    marks
}

/// `x-squid-error` as `X-Squid-Error`.
fn header_case(name: &str) -> String {
    name.split('-')
        .map(|part| {
            let mut chars = part.chars();
            chars.next().map_or_else(String::new, |first| {
                first.to_ascii_uppercase().to_string() + &chars.as_str().to_ascii_lowercase()
            })
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The text of an HTML page's `<title>`, cut to 80 characters.
fn html_title(body: &str) -> Option<String> {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title")?;
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let title: String = body[open_end..close]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!title.is_empty()).then(|| title.chars().take(80).collect())
}

/// Some addresses failing where others work at `step`.
fn partial(facts: &Facts<'_>, step: &StageOutcome, reason: Reason) -> Option<Verdict> {
    let tried: Vec<&Attempt> = facts
        .attempts
        .iter()
        .filter(|a| a.stage == step.stage && Some(a.port) == step.port)
        .collect();
    let mut failing: Vec<(IpAddr, Reason)> = tried
        .iter()
        .filter(|a| a.reason.is_failure())
        .map(|a| (a.address, a.reason))
        .collect();
    let working = tried.len() - failing.len();
    if failing.is_empty() || working == 0 {
        return None;
    }
    failing.sort();
    Some(Verdict {
        addresses: failing.iter().map(|(ip, _)| *ip).collect(),
        ..verdict(
            step.stage,
            step.port,
            reason,
            Evidence::Addresses { failing, working },
        )
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn step(stage: Stage, port: Option<u16>, reason: Reason) -> StageOutcome {
        StageOutcome {
            stage,
            port,
            reason,
            duration: Duration::ZERO,
            detail: String::new(),
        }
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("address")
    }

    fn answer(addresses: &[&str]) -> DnsFacts {
        DnsFacts {
            rcode: Some("NOERROR".into()),
            server: Some("192.0.2.53:53".into()),
            addresses: addresses.iter().map(|a| ip(a)).collect(),
            ..DnsFacts::default()
        }
    }

    fn attempt(stage: Stage, port: u16, address: &str, reason: Reason) -> Attempt {
        Attempt {
            stage,
            port,
            address: ip(address),
            reason,
        }
    }

    fn http(status: u16, headers: &[(&str, &str)], body: &str) -> HttpFacts {
        HttpFacts {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
                .collect(),
            body: body.into(),
            ..HttpFacts::default()
        }
    }

    /// The stages of a full api-sse probe, all passing.
    fn healthy() -> Vec<StageOutcome> {
        vec![
            step(Stage::Dns, None, Reason::Ok),
            step(Stage::Tcp, Some(443), Reason::Ok),
            step(Stage::Tcp, Some(8989), Reason::Ok),
            step(Stage::Tls, Some(443), Reason::Ok),
            step(Stage::Http, Some(443), Reason::Ok),
            step(Stage::Clock, None, Reason::Ok),
        ]
    }

    fn with(mut stages: Vec<StageOutcome>, changed: StageOutcome) -> Vec<StageOutcome> {
        if let Some(s) = stages
            .iter_mut()
            .find(|s| s.stage == changed.stage && s.port == changed.port)
        {
            *s = changed;
        }
        stages
    }

    fn reason_of(facts: &Facts<'_>) -> Option<(Stage, Option<u16>, Reason)> {
        decide(facts).map(|v| (v.stage, v.port, v.reason))
    }

    #[test]
    fn every_stage_passing_is_no_verdict() {
        let stages = healthy();
        let dns = answer(&["198.51.100.7"]);
        let cisco = http(
            403,
            &[
                ("content-type", "text/plain; charset=utf-8"),
                ("strict-transport-security", "max-age=31536000"),
            ],
            "Forbidden",
        );
        let facts = Facts {
            stages: &stages,
            dns: Some(&dns),
            http: Some(&cisco),
            ..Facts::default()
        };
        assert_eq!(decide(&facts), None);
    }

    #[test]
    fn the_first_failure_in_checklist_order_explains_the_others() {
        let stages = with(
            with(healthy(), step(Stage::Tcp, Some(8989), Reason::TcpTimeout)),
            step(Stage::Tls, Some(443), Reason::TlsCertUntrusted),
        );
        let dns = answer(&["198.51.100.7"]);
        let facts = Facts {
            stages: &stages,
            dns: Some(&dns),
            ..Facts::default()
        };
        let v = decide(&facts).expect("fails");
        assert_eq!(
            (v.stage, v.port, v.reason, v.evidence),
            (Stage::Tcp, Some(8989), Reason::TcpTimeout, Evidence::Stage)
        );
    }

    #[test]
    fn a_rule_refines_its_own_step_and_never_outranks_an_earlier_failure() {
        // A block page on 443 while 8989 is dropped: the checklist's order still decides.
        let stages = with(healthy(), step(Stage::Tcp, Some(8989), Reason::TcpTimeout));
        let page = http(403, &[("x-squid-error", "ERR_ACCESS_DENIED 0")], "");
        let facts = Facts {
            stages: &stages,
            http: Some(&page),
            ..Facts::default()
        };
        assert_eq!(
            reason_of(&facts),
            Some((Stage::Tcp, Some(8989), Reason::TcpTimeout))
        );
        // Alone, the block page is the verdict, though the step itself judged the status fine.
        let stages = healthy();
        let facts = Facts {
            stages: &stages,
            http: Some(&page),
            ..Facts::default()
        };
        assert_eq!(
            reason_of(&facts),
            Some((Stage::Http, Some(443), Reason::HttpBlockPage))
        );
    }

    #[test]
    fn rule_sinkhole_answer() {
        for answers in [&["0.0.0.0"][..], &["::"], &["0.0.0.0", "::"]] {
            let stages = vec![step(Stage::Dns, None, Reason::DnsSinkhole)];
            let dns = answer(answers);
            let facts = Facts {
                stages: &stages,
                dns: Some(&dns),
                ..Facts::default()
            };
            let v = decide(&facts).expect("sinkhole");
            assert_eq!((v.stage, v.reason), (Stage::Dns, Reason::DnsSinkhole));
            assert_eq!(v.addresses, dns.addresses);
            assert_eq!(
                v.evidence,
                Evidence::Answer {
                    server: Some("192.0.2.53:53".into()),
                    then: None
                }
            );
        }
    }

    #[test]
    fn rule_loopback_answer_where_nothing_answers() {
        let dns = answer(&["127.0.0.1"]);
        for failure in [Reason::TcpRefused, Reason::TcpTimeout] {
            let stages = with(
                with(healthy(), step(Stage::Tcp, Some(443), failure)),
                step(Stage::Tcp, Some(8989), failure),
            );
            let facts = Facts {
                stages: &stages,
                dns: Some(&dns),
                ..Facts::default()
            };
            let v = decide(&facts).expect("fails");
            assert_eq!(
                (v.stage, v.port, v.reason),
                (Stage::Dns, Some(443), Reason::DnsLoopback)
            );
            assert_eq!(
                v.evidence,
                Evidence::Answer {
                    server: Some("192.0.2.53:53".into()),
                    then: Some(failure)
                }
            );
        }
    }

    #[test]
    fn a_loopback_answer_where_something_answers_keeps_that_answer_s_verdict() {
        // A lab that maps the name to loopback and serves there: its own failures stand.
        let dns = answer(&["127.0.0.1"]);
        let stages = with(
            healthy(),
            step(Stage::Tls, Some(443), Reason::TlsCertUntrusted),
        );
        let facts = Facts {
            stages: &stages,
            dns: Some(&dns),
            ..Facts::default()
        };
        assert_eq!(
            reason_of(&facts),
            Some((Stage::Tls, Some(443), Reason::TlsCertUntrusted))
        );
        // One address of a loopback answer opens: the others' failures are their own.
        let stages = with(healthy(), step(Stage::Tcp, Some(443), Reason::TcpTimeout));
        let attempts = [
            attempt(Stage::Tcp, 443, "127.0.0.1", Reason::Ok),
            attempt(Stage::Tcp, 443, "127.0.0.3", Reason::TcpTimeout),
        ];
        let two = answer(&["127.0.0.1", "127.0.0.3"]);
        let facts = Facts {
            stages: &stages,
            dns: Some(&two),
            attempts: &attempts,
            ..Facts::default()
        };
        assert_ne!(reason_of(&facts).map(|r| r.2), Some(Reason::DnsLoopback));
        // One port open on loopback: the other port's refusal is that port's.
        let stages = with(healthy(), step(Stage::Tcp, Some(8989), Reason::TcpRefused));
        let facts = Facts {
            stages: &stages,
            dns: Some(&dns),
            ..Facts::default()
        };
        assert_eq!(
            reason_of(&facts),
            Some((Stage::Tcp, Some(8989), Reason::TcpRefused))
        );
    }

    #[test]
    fn rule_proxy_offering_only_schemes_a_device_cannot_answer() {
        let stages = vec![
            step(Stage::Dns, None, Reason::Ok),
            step(Stage::Proxy, Some(443), Reason::ProxyAuthRequired),
        ];
        for (offered, expected) in [
            (vec!["NTLM"], Reason::ProxyAuthUnsupported),
            (vec!["Negotiate", "NTLM"], Reason::ProxyAuthUnsupported),
            (vec!["NTLM", "Basic"], Reason::ProxyAuthRequired),
            (vec!["Digest"], Reason::ProxyAuthRequired),
            (vec![], Reason::ProxyAuthRequired),
        ] {
            let proxy = ProxyFacts {
                status: Some(407),
                schemes: offered.iter().map(|s| (*s).to_string()).collect(),
            };
            let facts = Facts {
                stages: &stages,
                proxy: Some(&proxy),
                ..Facts::default()
            };
            let v = decide(&facts).expect("fails");
            assert_eq!((v.stage, v.reason), (Stage::Proxy, expected), "{offered:?}");
            if expected == Reason::ProxyAuthUnsupported {
                assert_eq!(
                    v.evidence,
                    Evidence::Schemes {
                        offered: proxy.schemes.clone()
                    }
                );
            }
        }
    }

    #[test]
    fn rule_plain_http_on_the_tls_port() {
        let stages = with(
            healthy(),
            step(Stage::Tls, Some(443), Reason::TlsHandshakeFailed),
        );
        for (bytes, expected) in [
            (
                &b"HTTP/1.1 403 Forbidden\r\nServer: nginx\r\n"[..],
                Some("HTTP/1.1 403 Forbidden"),
            ),
            (
                b"HTTP/1.0 302 Found\r\nLocation: http://portal/\r\n",
                Some("HTTP/1.0 302 Found"),
            ),
            (b"\x15\x03\x03\x00\x02\x02\x28", None),
            (b"SSH-2.0-OpenSSH_9.2\r\n", None),
            (b"HTTP/1.1 abc", None),
        ] {
            let facts = Facts {
                stages: &stages,
                first_bytes: Some(bytes),
                ..Facts::default()
            };
            let v = decide(&facts).expect("fails");
            match expected {
                Some(line) => {
                    assert_eq!(v.reason, Reason::TlsPlainHttp);
                    assert_eq!(v.evidence, Evidence::StatusLine { line: line.into() });
                }
                None => assert_eq!(v.reason, Reason::TlsHandshakeFailed, "{bytes:?}"),
            }
        }
    }

    #[test]
    fn rule_a_middlebox_answer_is_not_cisco_s_403() {
        let cases: [(HttpFacts, Reason, &str); 7] = [
            (
                http(403, &[("x-squid-error", "ERR_ACCESS_DENIED 0")], ""),
                Reason::HttpBlockPage,
                "X-Squid-Error: ERR_ACCESS_DENIED 0",
            ),
            (
                http(403, &[("via", "1.1 proxy.corp (squid/5.7)")], "Forbidden"),
                Reason::HttpBlockPage,
                "Via: 1.1 proxy.corp (squid/5.7)",
            ),
            (
                http(
                    403,
                    &[("content-type", "text/html")],
                    "<html><title>Access denied</title>",
                ),
                Reason::HttpBlockPage,
                "an HTML page titled \u{201c}Access denied\u{201d}",
            ),
            (
                http(200, &[("server", "Zscaler/6.2")], ""),
                Reason::HttpBlockPage,
                "Server: Zscaler/6.2",
            ),
            (
                http(403, &[("proxy-connection", "close")], "Forbidden"),
                Reason::HttpBlockPage,
                "Proxy-Connection: close",
            ),
            (
                http(407, &[("proxy-authenticate", "NTLM")], ""),
                Reason::HttpProxyAuthRequired,
                "Proxy-Authenticate: NTLM",
            ),
            (
                http(403, &[("content-type", "text/plain")], "Forbidden"),
                Reason::Ok,
                "",
            ),
        ];
        let stages = healthy();
        for (answer, expected, mark) in cases {
            let facts = Facts {
                stages: &stages,
                http: Some(&answer),
                ..Facts::default()
            };
            match decide(&facts) {
                None => assert_eq!(expected, Reason::Ok, "{answer:?}"),
                Some(v) => {
                    assert_eq!((v.stage, v.reason), (Stage::Http, expected), "{answer:?}");
                    let Evidence::Marks { marks, .. } = v.evidence else {
                        panic!("{:?}", v.evidence)
                    };
                    assert!(marks.iter().any(|m| m == mark), "{marks:?}");
                }
            }
        }
    }

    #[test]
    fn rule_some_addresses_fail() {
        let addresses = ["198.51.100.7", "198.51.100.8"];
        let dns = answer(&addresses);
        // Whatever order the resolver gave, the same verdict.
        for order in [[0, 1], [1, 0]] {
            let attempts: Vec<Attempt> = order
                .iter()
                .map(|&i| {
                    let reason = if i == 1 {
                        Reason::TcpTimeout
                    } else {
                        Reason::Ok
                    };
                    attempt(Stage::Tcp, 443, addresses[i], reason)
                })
                .collect();
            let stages = with(healthy(), step(Stage::Tcp, Some(443), Reason::TcpPartial));
            let facts = Facts {
                stages: &stages,
                dns: Some(&dns),
                attempts: &attempts,
                ..Facts::default()
            };
            let v = decide(&facts).expect("fails");
            assert_eq!(
                (v.stage, v.port, v.reason),
                (Stage::Tcp, Some(443), Reason::TcpPartial)
            );
            assert_eq!(v.addresses, vec![ip("198.51.100.8")]);
            assert_eq!(
                v.evidence,
                Evidence::Addresses {
                    failing: vec![(ip("198.51.100.8"), Reason::TcpTimeout)],
                    working: 1
                }
            );
        }
        // Every address failing is the stage's own reason.
        let attempts = [
            attempt(Stage::Tcp, 443, addresses[0], Reason::TcpTimeout),
            attempt(Stage::Tcp, 443, addresses[1], Reason::TcpTimeout),
        ];
        let stages = with(healthy(), step(Stage::Tcp, Some(443), Reason::TcpTimeout));
        let facts = Facts {
            stages: &stages,
            dns: Some(&dns),
            attempts: &attempts,
            ..Facts::default()
        };
        assert_eq!(
            reason_of(&facts),
            Some((Stage::Tcp, Some(443), Reason::TcpTimeout))
        );
        // TLS failing on one address only.
        let attempts = [
            attempt(Stage::Tls, 443, addresses[0], Reason::Ok),
            attempt(Stage::Tls, 443, addresses[1], Reason::TlsCertUntrusted),
        ];
        let stages = with(healthy(), step(Stage::Tls, Some(443), Reason::TlsPartial));
        let facts = Facts {
            stages: &stages,
            dns: Some(&dns),
            attempts: &attempts,
            ..Facts::default()
        };
        assert_eq!(
            reason_of(&facts),
            Some((Stage::Tls, Some(443), Reason::TlsPartial))
        );
    }
}
