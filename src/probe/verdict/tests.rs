//! The verdict's table: a row per rule, built from facts alone (no sockets).

use std::time::Duration;

use super::*;

fn step(stage: Stage, port: Option<u16>, reason: Reason) -> StageOutcome {
    StageOutcome {
        stage,
        port,
        reason,
        duration: Duration::ZERO,
        detail: crate::probe::StepDetail::NothingHandedOver.into(),
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
    let header = |name: &str, value: &str| Mark::Header {
        name: name.into(),
        value: value.into(),
    };
    let cases: [(HttpFacts, Reason, Option<Mark>); 7] = [
        (
            http(403, &[("x-squid-error", "ERR_ACCESS_DENIED 0")], ""),
            Reason::HttpBlockPage,
            Some(header("x-squid-error", "ERR_ACCESS_DENIED 0")),
        ),
        (
            http(403, &[("via", "1.1 proxy.corp (squid/5.7)")], "Forbidden"),
            Reason::HttpBlockPage,
            Some(header("via", "1.1 proxy.corp (squid/5.7)")),
        ),
        (
            http(
                403,
                &[("content-type", "text/html")],
                "<html><title>Access denied</title>",
            ),
            Reason::HttpBlockPage,
            Some(Mark::HtmlPage {
                title: Some("Access denied".into()),
            }),
        ),
        (
            http(200, &[("server", "Zscaler/6.2")], ""),
            Reason::HttpBlockPage,
            Some(header("server", "Zscaler/6.2")),
        ),
        (
            http(403, &[("proxy-connection", "close")], "Forbidden"),
            Reason::HttpBlockPage,
            Some(header("proxy-connection", "close")),
        ),
        (
            http(407, &[("proxy-authenticate", "NTLM")], ""),
            Reason::HttpProxyAuthRequired,
            Some(header("proxy-authenticate", "NTLM")),
        ),
        (
            http(403, &[("content-type", "text/plain")], "Forbidden"),
            Reason::Ok,
            None,
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
                assert!(mark.is_some_and(|mark| marks.contains(&mark)), "{marks:?}");
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
