//! A remedy for the failure at hand: the reason table's text with this failure's host, port,
//! DNS server and certificate issuer in its commands.

use std::borrow::Cow;

use crate::checklist::{Reason, Service, Stage};
use crate::config::ProxySpec;

/// What a remedy's commands are filled with: this failure's host, port, the DNS server that
/// answered (`ip:port`), the issuer of the certificate presented, the proxy the target goes
/// through and the FMC row it stands for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RemedyFacts<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: Option<u16>,
    pub(crate) dns_server: Option<&'a str>,
    pub(crate) issuer: Option<&'a str>,
    pub(crate) proxy: Option<&'a ProxySpec>,
    pub(crate) service: Service,
}

/// Shell commands a Firepower device runs only in its Linux shell (`expert`), not at the CLI's
/// `>` prompt.
const EXPERT_COMMANDS: [&str; 6] = [
    "`curl ",
    "`nslookup ",
    "`telnet",
    "`openssl ",
    "`cat /etc/hosts`",
    "`sudo ",
];

/// The reason's remedy with this failure's facts in place of the table's placeholders, so its
/// commands can be pasted as they are: the host and port, the DNS server to ask, the issuer, the
/// proxy (address and user; never the password) in every `curl`. An unknown DNS server is left
/// out (`nslookup` then asks the host's own); an unknown issuer is said as such. Where the
/// commands run on an FTD is said once at the end; Cisco's proxy bug is named only for the row it
/// is about.
pub(crate) fn remedy(reason: Reason, facts: RemedyFacts<'_>) -> Cow<'static, str> {
    let text = reason.remedy();
    let cscvs05084 =
        reason.stage() == Some(Stage::Proxy) && facts.service == Service::CiscoCloudConfiguration;
    if !text.contains('<') && !text.contains("`curl ") && !needs_expert(text) && !cscvs05084 {
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
    // Through a proxy the device's curl goes through it too: the same address and user.
    let (proxy, via) = match facts.proxy {
        Some(p) => {
            let user = p.credentials.as_ref().map_or_else(String::new, |c| {
                format!(" --proxy-user {} --proxy-anyauth", c.user)
            });
            (
                format!("http://{}:{}", p.host, p.port),
                format!("--proxy http://{}:{}{user} ", p.host, p.port),
            )
        }
        None => ("the proxy's address".to_string(), String::new()),
    };
    let proxy_user = facts
        .proxy
        .and_then(|p| p.credentials.as_ref())
        .map_or("USER", |c| c.user.as_str());
    let mut text = text
        .replace("nslookup <host> <dns-server>", &nslookup)
        .replace("curl -v -k https://", &format!("curl -v -k {via}https://"))
        .replace("<proxy-user>", proxy_user)
        .replace("<proxy>", &proxy)
        .replace("<host>", host)
        .replace("<issuer>", &issuer);
    text = match facts.port {
        Some(p) => text.replace("<port>", &p.to_string()),
        None => text.replace(":<port>", ":443").replace(" <port>", " 443"),
    };
    if cscvs05084 {
        text.push_str(
            " Cisco bug CSCvs05084 is this failure on the Cisco Cloud Configuration row: a proxy \
             in the path of the device's connection to the Security Services Exchange.",
        );
    }
    if needs_expert(&text) {
        text.push_str(" On an FTD, run ");
        text.push_str(if text.contains("`sudo ") {
            "these commands in the expert shell (`expert` at the `>` prompt; `sudo` asks for the \
             admin password)."
        } else {
            "these commands in the expert shell (`expert` at the `>` prompt)."
        });
    }
    Cow::Owned(text)
}

/// Whether a remedy names a command that runs only in a device's Linux shell.
fn needs_expert(text: &str) -> bool {
    EXPERT_COMMANDS.iter().any(|c| text.contains(c))
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
        proxy: None,
        service: Service::CiscoCloudConfiguration,
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

    fn proxy(user: Option<&str>) -> ProxySpec {
        ProxySpec {
            host: "10.1.1.1".into(),
            port: 3128,
            credentials: user.map(|u| crate::config::Credentials::new(u.into(), "s3cret".into())),
        }
    }

    #[test]
    fn proxy_commands_carry_the_configured_proxy_and_user_and_never_the_password() {
        let spec = proxy(Some("fwuser"));
        let facts = RemedyFacts {
            proxy: Some(&spec),
            port: Some(443),
            ..FACTS
        };
        let auth = remedy(Reason::ProxyAuthRequired, facts);
        assert!(
            auth.contains(
                "`curl -v --proxy http://10.1.1.1:3128 --proxy-user fwuser --proxy-anyauth https://api-sse.cisco.com:443`"
            ),
            "{auth}"
        );
        let inspected = remedy(Reason::TlsCertUntrusted, facts);
        assert!(
            inspected.contains(
                "`curl -v -k --proxy http://10.1.1.1:3128 --proxy-user fwuser --proxy-anyauth https://api-sse.cisco.com`"
            ),
            "{inspected}"
        );
        let refused = remedy(Reason::ProxyConnectRefused, facts);
        assert!(
            refused.contains("policy of the proxy at http://10.1.1.1:3128"),
            "{refused}"
        );
        for &reason in Reason::ALL {
            assert!(!remedy(reason, facts).contains("s3cret"), "{reason}");
        }
        // No user configured: the command says where the user goes.
        let anonymous = proxy(None);
        let none = remedy(
            Reason::ProxyAuthRequired,
            RemedyFacts {
                proxy: Some(&anonymous),
                ..facts
            },
        );
        assert!(
            none.contains("--proxy http://10.1.1.1:3128 --proxy-user USER"),
            "{none}"
        );
    }

    #[test]
    fn shell_commands_say_they_need_the_expert_shell_and_cli_commands_do_not() {
        let nx = remedy(Reason::DnsNxdomain, FACTS);
        assert!(
            nx.ends_with("in the expert shell (`expert` at the `>` prompt)."),
            "{nx}"
        );
        let capture = remedy(Reason::DnsError, FACTS);
        assert!(capture.contains("`sudo tcpdump"), "{capture}");
        assert!(
            capture.contains("`sudo` asks for the admin password"),
            "{capture}"
        );
        let missing = remedy(Reason::DnsNotConfigured, FACTS);
        assert!(!missing.contains("expert"), "{missing}");
        assert!(
            missing.contains("at the `>` prompt: `show network`"),
            "{missing}"
        );
    }

    #[test]
    fn cscvs05084_is_named_only_for_a_proxy_failure_of_the_cloud_configuration_row() {
        let spec = proxy(None);
        let sse = RemedyFacts {
            proxy: Some(&spec),
            ..FACTS
        };
        let amp = RemedyFacts {
            service: Service::AmpConnectionStatus,
            ..sse
        };
        assert!(remedy(Reason::ProxyConnectRefused, sse).contains("CSCvs05084"));
        assert!(!remedy(Reason::ProxyConnectRefused, amp).contains("CSCvs05084"));
        assert!(!remedy(Reason::TcpTimeout, sse).contains("CSCvs05084"));
        for &reason in Reason::ALL {
            assert!(!reason.remedy().contains("CSCvs05084"), "{reason}");
        }
    }
}
