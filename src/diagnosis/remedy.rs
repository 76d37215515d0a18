//! A remedy for the failure at hand: the reason table's text with this failure's host, port,
//! DNS server and certificate issuer in its commands.

use std::borrow::Cow;

use crate::checklist::Reason;

/// What a remedy's commands are filled with: this failure's host, port, the DNS server that
/// answered (`ip:port`) and the issuer of the certificate presented.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RemedyFacts<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: Option<u16>,
    pub(crate) dns_server: Option<&'a str>,
    pub(crate) issuer: Option<&'a str>,
}

/// The reason's remedy with this failure's facts in place of the table's placeholders, so its
/// commands can be pasted as they are. An unknown DNS server is left out (`nslookup` then asks
/// the host's own); an unknown issuer is said as such.
pub(crate) fn remedy(reason: Reason, facts: RemedyFacts<'_>) -> Cow<'static, str> {
    let text = reason.remedy();
    if !text.contains('<') {
        return Cow::Borrowed(text);
    }
    let host = facts.host;
    // `nslookup [-port=N] host [server]`: options come before the name.
    let nslookup = match facts
        .dns_server
        .and_then(|s| s.parse::<std::net::SocketAddr>().ok())
    {
        Some(s) if s.port() == 53 => format!("nslookup {host} {}", s.ip()),
        Some(s) => format!("nslookup -port={} {host} {}", s.port(), s.ip()),
        None => format!("nslookup {host}"),
    };
    let issuer = match facts.issuer.filter(|i| !i.is_empty()) {
        Some(issuer) => format!("`{issuer}`"),
        None => "an issuer not known here (no certificate was read)".to_string(),
    };
    let text = text
        .replace("nslookup <host> <dns-server>", &nslookup)
        .replace("<host>", host)
        .replace("<issuer>", &issuer);
    Cow::Owned(match facts.port {
        Some(p) => text.replace("<port>", &p.to_string()),
        None => text.replace(":<port>", ":443").replace(" <port>", " 443"),
    })
}

/// Text for a surface that shows no formatting (a terminal, a label, an alert's annotation):
/// the Markdown code marks of the reason table dropped, the commands left as they are.
pub(crate) fn plain(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('`') {
        std::borrow::Cow::Owned(text.replace('`', ""))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACTS: RemedyFacts<'static> = RemedyFacts {
        host: "api-sse.cisco.com",
        port: Some(8989),
        dns_server: Some("10.0.0.2:53"),
        issuer: Some("CN=Corp TLS Inspection CA"),
    };

    #[test]
    fn every_remedy_renders_without_placeholders() {
        for &reason in Reason::ALL {
            for facts in [
                FACTS,
                RemedyFacts {
                    port: None,
                    dns_server: None,
                    issuer: None,
                    ..FACTS
                },
            ] {
                let text = remedy(reason, facts);
                assert!(!text.contains('<'), "{reason}: {text}");
            }
        }
    }

    #[test]
    fn remedies_carry_the_commands_of_the_cisco_checklist_for_this_failure() {
        let cases = [
            (Reason::TcpTimeout, "`telnet api-sse.cisco.com 8989`"),
            (Reason::TcpRefused, "`telnet api-sse.cisco.com 8989`"),
            (Reason::DnsNxdomain, "`nslookup api-sse.cisco.com 10.0.0.2`"),
            (Reason::DnsTimeout, "`show network`"),
            (Reason::DnsNotConfigured, "`configure network dns servers`"),
            (
                Reason::TlsCertUntrusted,
                "issued by `CN=Corp TLS Inspection CA`",
            ),
            (
                Reason::TlsCertUntrusted,
                "`curl -v -k https://api-sse.cisco.com`",
            ),
            (
                Reason::TlsHostnameMismatch,
                "`nslookup api-sse.cisco.com 10.0.0.2`",
            ),
        ];
        for (reason, command) in cases {
            let text = remedy(reason, FACTS);
            assert!(text.contains(command), "{reason}: {text}");
        }
        let unknown = remedy(
            Reason::TlsCertUntrusted,
            RemedyFacts {
                issuer: None,
                ..FACTS
            },
        );
        assert!(
            unknown.contains("issued by an issuer not known here"),
            "{unknown}"
        );
    }
}
