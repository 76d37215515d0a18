//! The checklist's vocabulary, shared by every layer: its stages in order, the failure reasons with
//! their remedies, the FMC health rows (services) and their statuses. Nothing here runs a probe.
//!
//! The reason table below is the only copy: metrics, the `check` command, the status page and the
//! generated runbook table (`docs/reasons.md`) all read it.

use std::fmt;

use serde::Serialize;

mod fmc;
mod glossary;
mod owner;

pub(crate) use fmc::{
    FmcModule, FmcStatus, Module, RowStatus, Service, THREAT_DATA_UPDATES_ROWS, row_label,
    rows_named_in, service_of_row,
};
pub use glossary::glossary_markdown;
pub(crate) use glossary::{FIX, NEXT_STEP, NOT_PROBED, WHAT_CHANGED, WHO_FIXES_IT};
pub(crate) use owner::Owner;

/// One step of the manual checklist, in the order an engineer works through it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Stage {
    /// `nslookup`: does the name resolve?
    Dns,
    /// `telnet host port`: does a TCP connection open?
    Tcp,
    /// The HTTP CONNECT tunnel through a configured proxy.
    Proxy,
    /// The TLS handshake and certificate checks of `curl -v -k`.
    Tls,
    /// The HTTPS request itself.
    Http,
    /// The server's `Date` header against the local clock.
    Clock,
}

impl Stage {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Stage::Dns => "dns",
            Stage::Tcp => "tcp",
            Stage::Proxy => "proxy",
            Stage::Tls => "tls",
            Stage::Http => "http",
            Stage::Clock => "clock",
        }
    }
}

impl Stage {
    /// The reason a stage gets when its time runs out.
    pub(crate) fn timeout_reason(self) -> Reason {
        match self {
            Stage::Dns => Reason::DnsTimeout,
            Stage::Tcp => Reason::TcpTimeout,
            Stage::Proxy => Reason::ProxyTimeout,
            Stage::Tls => Reason::TlsTimeout,
            Stage::Http | Stage::Clock => Reason::HttpTimeout,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! reasons {
    ($( $variant:ident => $name:literal, $stage:expr, $summary:literal, $remedy:literal; )*) => {
        /// Why a stage failed. The value set is fixed here: no label value ever comes from a peer.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub(crate) enum Reason {
            $( $variant, )*
        }

        impl Reason {
            /// Every reason, in table order.
            pub(crate) const ALL: &'static [Reason] = &[$( Reason::$variant, )*];

            /// The label value, as it appears in metrics and JSON.
            pub(crate) fn as_str(self) -> &'static str {
                match self { $( Reason::$variant => $name, )* }
            }

            /// The stage this reason belongs to (`None` for reasons that are not a stage failure).
            pub(crate) fn stage(self) -> Option<Stage> {
                match self { $( Reason::$variant => $stage, )* }
            }

            /// One sentence saying what was observed.
            pub(crate) fn summary(self) -> &'static str {
                match self { $( Reason::$variant => $summary, )* }
            }

            /// The next step an engineer takes.
            pub(crate) fn remedy(self) -> &'static str {
                match self { $( Reason::$variant => $remedy, )* }
            }

        }
    };
}

reasons! {
    Ok => "ok", None,
        "Every check passed.",
        "Nothing to do.";
    DnsNotConfigured => "dns_not_configured", Some(Stage::Dns),
        "No DNS server is configured, so no cloud name can be resolved.",
        "Configure DNS servers on the device's management interface (FTD CLI, at the `>` prompt: `show network`, then `configure network dns servers` with your resolvers' addresses; on the management center, System > Configuration > Management Interfaces), or set `dns.servers` for this exporter.";
    DnsNxdomain => "dns_nxdomain", Some(Stage::Dns),
        "The DNS server answered that the name does not exist (NXDOMAIN).",
        "The Cisco cloud names exist publicly, so a DNS server that answers NXDOMAIN for them is not forwarding them (split-horizon zone, filtering resolver): check its forwarders with `nslookup <host> <dns-server>`. For a name you configured yourself, check its spelling.";
    DnsSinkhole => "dns_sinkhole", Some(Stage::Dns),
        "The DNS server answered with 0.0.0.0 or :: (a sinkhole): the name is blocked on purpose, and no connection was tried.",
        "A DNS filter blocks the Cisco cloud name on the resolver that answered (a response policy zone, a DNS security service, a blocklist): exempt <host> and the other Cisco cloud names there. `nslookup <host> <dns-server>` shows the sinkhole answer.";
    DnsLoopback => "dns_loopback", Some(Stage::Dns),
        "The name resolves to a loopback address of this host, where nothing answers: a sinkhole or a hosts-file entry sends the traffic nowhere, not a firewall.",
        "Find who maps <host> to loopback: a hosts-file entry on this host or the device (`cat /etc/hosts`), or a DNS filter answering loopback (`nslookup <host> <dns-server>`), and remove the entry or exempt the Cisco cloud names.";
    DnsServfail => "dns_servfail", Some(Stage::Dns),
        "The DNS server failed to resolve the name (SERVFAIL).",
        "The configured DNS server cannot reach its upstream or failed DNSSEC validation: check its forwarders and its own Internet access (`nslookup <host> <dns-server>`).";
    DnsRefused => "dns_refused", Some(Stage::Dns),
        "The DNS server refused to answer (REFUSED).",
        "The DNS server does not allow recursion for this host: allow the device's management address in its recursion ACL or configure a resolver that does (FTD CLI, at the `>` prompt: `show network`, then `configure network dns servers`). Test with `nslookup <host> <dns-server>`.";
    DnsTimeout => "dns_timeout", Some(Stage::Dns),
        "No DNS server answered within the timeout.",
        "Check that the configured DNS servers are up (FTD CLI, at the `>` prompt: `show network` lists them), that UDP and TCP port 53 to them is allowed from the management interface, and that they reach their own upstream servers (a forwarder such as dnsmasq stays silent while its upstream is down). Test with `nslookup <host> <dns-server>`.";
    DnsNoAnswer => "dns_no_answer", Some(Stage::Dns),
        "The name exists but has no address of the requested family.",
        "Check `ip_preference`: the name may have only IPv4 (A) or only IPv6 (AAAA) records; otherwise check the DNS server's filtering.";
    DnsCnameLoop => "dns_cname_loop", Some(Stage::Dns),
        "The name's CNAME chain leads back to itself, so it never reaches an address.",
        "The DNS data for this name is broken (a CNAME loop): report it to whoever runs the zone or the forwarder that rewrites it, and check split-horizon or filtering rules on the device's DNS server.";
    DnsError => "dns_error", Some(Stage::Dns),
        "The DNS exchange failed (malformed answer or transport error).",
        "Capture the DNS traffic (`sudo tcpdump -n -i any port 53`): a middlebox or a broken resolver is answering with malformed data.";
    TcpRefused => "tcp_refused", Some(Stage::Tcp),
        "The connection was actively refused (RST or ICMP reject).",
        "A firewall or the peer rejects TCP <port> to <host>: allow outbound TCP to the Cisco cloud on this port (443, and 8989 for api-sse.cisco.com) on every firewall in the path, then test from the device with `telnet <host> <port>`.";
    TcpTimeout => "tcp_timeout", Some(Stage::Tcp),
        "The connection attempt got no answer (packets silently dropped).",
        "A firewall silently drops TCP <port> to <host>: allow outbound TCP to the Cisco cloud on this port (443, and 8989 for api-sse.cisco.com), check the route and NAT for the management network, then test from the device with `telnet <host> <port>`.";
    TcpUnreachable => "tcp_unreachable", Some(Stage::Tcp),
        "The network or host is unreachable from here.",
        "The host has no route to <host>: check the default gateway and routing of the management interface (FTD CLI, at the `>` prompt: `show network`), then test with `telnet <host> <port>`.";
    TcpError => "tcp_error", Some(Stage::Tcp),
        "The connection failed for another reason.",
        "Read the detail of this failure (`check` or the status page) and test with `telnet <host> <port>` from the same network.";
    TcpPartial => "tcp_partial", Some(Stage::Tcp),
        "Some of the name's addresses answer and others fail: the device fails whenever it picks a failing one, so the alert comes and goes.",
        "Allow TCP <port> to every address of <host> on every firewall in the path (Cisco asks for the names, not single addresses, because they rotate); the failing addresses are listed in the detail. Test each failing address from the device with `telnet`, on port <port>.";
    ProxyUnreachable => "proxy_unreachable", Some(Stage::Proxy),
        "The configured HTTP proxy could not be reached.",
        "Check the proxy address and port the device uses (management center: System > Configuration > Management Interfaces, Proxy; FTD CLI, at the `>` prompt: `show network`, set with `configure network http-proxy`) and that the proxy at <proxy> is up and reachable from the management network.";
    ProxyTimeout => "proxy_timeout", Some(Stage::Proxy),
        "The proxy did not complete the CONNECT exchange within the timeout.",
        "The proxy at <proxy> accepts connections but does not answer: check its health and its own upstream connectivity.";
    ProxyAuthRequired => "proxy_auth_required", Some(Stage::Proxy),
        "The proxy demands authentication (HTTP 407, or 401 from tinyproxy) and the configured credentials were missing or rejected.",
        "Set the proxy user and password where the device takes them (management center: System > Configuration > Management Interfaces, Proxy; FTD CLI: `configure network http-proxy`); the device answers Digest (and Basic), not NTLM. Check them with `curl -v --proxy <proxy> --proxy-user <proxy-user> --proxy-anyauth https://<host>:<port>` (curl asks for the password).";
    ProxyAuthUnsupported => "proxy_auth_unsupported", Some(Stage::Proxy),
        "The proxy demands authentication but offers only schemes a Firepower device cannot answer (it answers Basic and Digest; NTLM and Negotiate/Kerberos are not supported).",
        "Offer Basic or Digest authentication to the device's address on the proxy (or exempt the device from proxy authentication), then set the user and password in the device's HTTP proxy settings. The offered schemes are listed in the detail.";
    ProxyConnectRefused => "proxy_connect_refused", Some(Stage::Proxy),
        "The proxy refused the CONNECT request by policy.",
        "Allow CONNECT to <host> on port <port> (and the other Cisco cloud names on 443 and 8989) in the policy of the proxy at <proxy>.";
    ProxyUpstreamFailed => "proxy_upstream_failed", Some(Stage::Proxy),
        "The proxy could not resolve or reach the Cisco host itself (500, 502, 503 or 504 to CONNECT).",
        "The proxy at <proxy> cannot reach <host> itself: check the proxy's DNS and its outbound firewall rules for port <port>.";
    ProxyFailed => "proxy_failed", Some(Stage::Proxy),
        "The proxy closed the connection or answered something that is not HTTP.",
        "Check that <proxy> is an HTTP proxy that supports CONNECT (not a SOCKS or transparent proxy) and read its logs.";
    TlsTimeout => "tls_timeout", Some(Stage::Tls),
        "The TLS handshake did not complete within the timeout (the server accepted but never answered).",
        "Something in the path accepts TCP but stalls TLS (IPS, TLS inspection, broken MTU): test with `curl -v -k https://<host>` and check for MSS/MTU issues.";
    TlsHandshakeFailed => "tls_handshake_failed", Some(Stage::Tls),
        "The TLS handshake failed (protocol error, alert or reset).",
        "Compare `curl -v -k https://<host>` from this network and from outside: a middlebox is interfering with TLS or forcing an unsupported protocol version.";
    TlsPlainHttp => "tls_plain_http", Some(Stage::Tls),
        "Plain HTTP answered on the TLS port: a web filter's block page, a captive portal, or a plain-HTTP service sits where the Cisco cloud should answer.",
        "The status line quoted in the detail is who answered: exempt <host> from the web filter or captive portal that sends it (through a proxy, from the proxy's policy), or fix the address or port that leads to a plain-HTTP service. `curl -v -k https://<host>` from the device shows the same answer.";
    TlsMtuBlackHole => "tls_mtu_black_hole", Some(Stage::Tls),
        "The TLS handshake stalls with full-size packets and completes with small ones: a hop on the path has a smaller MTU and the ICMP \"fragmentation needed\" messages that would tell the server are filtered (a path-MTU black hole).",
        "Allow ICMP type 3 code 4 (\"fragmentation needed\"; ICMPv6 \"packet too big\") back through every firewall on the path to <host>, or clamp the TCP MSS on the router with the smaller MTU (for example `ip tcp adjust-mss`, or `iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu`). The path trace shows how far full-size packets get.";
    TlsPartial => "tls_partial", Some(Stage::Tls),
        "The TLS handshake works with some of the name's addresses and fails with others: the device fails whenever it picks a failing one.",
        "The failing addresses and their errors are listed in the detail: something in the path to those addresses (an inspection device, an IPS) interferes with TLS to <host>. Test each failing address with `openssl s_client -servername <host> -connect` on port <port>.";
    TlsClientCertRequired => "tls_client_cert_required", Some(Stage::Tls),
        "The server asked for a client certificate and refused the session without one.",
        "The Cisco cloud answers `curl -v -k https://<host>` without a client certificate: a server that demands one is not the Cisco endpoint, or a TLS inspection device with client authentication sits in the path. Check what the name resolves to and who presents the certificate (`openssl s_client -connect <host>:<port> -servername <host>`).";
    TlsCertUntrusted => "tls_cert_untrusted", Some(Stage::Tls),
        "The certificate chain does not lead to a trusted root; the issuer shown is who really answered.",
        "The certificate for <host> was issued by <issuer>. If that is not a public CA, a TLS inspection device is decrypting this traffic: on that device, add a do-not-decrypt rule for the Cisco cloud names (Cisco requires it; the Firepower device trusts only the public roots, so it keeps failing while the traffic is decrypted). Do not add that CA to this exporter's `tls.ca_file`: the exporter would turn green while the device still fails. `curl -v -k https://<host>` shows the issuer from the device.";
    TlsCertExpired => "tls_cert_expired", Some(Stage::Tls),
        "The presented certificate has expired.",
        "The certificate for <host>, issued by <issuer>, has expired. If the device clock is right, something in the path presents a stale certificate (TLS inspection appliance): renew its certificate or exempt the Cisco hosts; otherwise fix the clock (NTP). `curl -v -k https://<host>` shows the dates.";
    TlsHostnameMismatch => "tls_hostname_mismatch", Some(Stage::Tls),
        "The certificate is not valid for the name that was asked for.",
        "A different server answered for <host> (DNS points elsewhere, captive portal or TLS inspection; the certificate's issuer is <issuer>): check what the name resolves to with `nslookup <host> <dns-server>` and who answers with `curl -v -k https://<host>`.";
    TlsCertInvalid => "tls_cert_invalid", Some(Stage::Tls),
        "The certificate is malformed, revoked or not usable for TLS servers.",
        "Read the certificate details (`openssl s_client -connect <host>:443 -servername <host>`) and report the presenting party.";
    HttpTimeout => "http_timeout", Some(Stage::Http),
        "The HTTPS request got no response within the timeout.",
        "The TLS session works but the request stalls: check proxies or inspection devices that hold HTTP requests.";
    HttpUnexpectedStatus => "http_unexpected_status", Some(Stage::Http),
        "The server answered with a status code that was not expected (a healthy path to api-sse.cisco.com answers 403).",
        "A status other than the expected one usually comes from a proxy, captive portal or block page: read the response with `curl -v -k https://<host>`.";
    HttpMtuBlackHole => "http_mtu_black_hole", Some(Stage::Http),
        "The HTTPS answer stalls with full-size packets and arrives with small ones: a hop on the path has a smaller MTU and the ICMP \"fragmentation needed\" messages that would tell the server are filtered (a path-MTU black hole).",
        "Allow ICMP type 3 code 4 (\"fragmentation needed\"; ICMPv6 \"packet too big\") back through every firewall on the path to <host>, or clamp the TCP MSS on the router with the smaller MTU (for example `ip tcp adjust-mss`, or `iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu`).";
    HttpBlockPage => "http_block_page", Some(Stage::Http),
        "A middlebox answered the HTTPS request instead of the Cisco cloud: the response carries a proxy's or web filter's marks (named in the detail), not Cisco's plain-text 403.",
        "TLS inspection or a web filter decrypts and blocks <host> (certificate issuer <issuer>): exempt the Cisco cloud names from decryption and filtering on that device. `curl -v -k https://<host>` from the device shows the same page.";
    HttpProxyAuthRequired => "http_proxy_auth_required", Some(Stage::Http),
        "An intercepting proxy answered 407 inside the TLS session: it decrypts the traffic and wants a login that the device cannot give there.",
        "A transparent proxy with TLS inspection (certificate issuer <issuer>) demands authentication: exempt the device's address and the Cisco cloud names from authentication and decryption on it.";
    HttpInvalidResponse => "http_invalid_response", Some(Stage::Http),
        "The server's answer was not valid HTTP or the connection closed mid-response.",
        "Something between here and the Cisco cloud is rewriting or cutting the HTTPS session: look for TLS inspection or an IPS.";
    ClockSkew => "clock_skew", Some(Stage::Clock),
        "The local clock and the server's clock differ by more than the allowed skew.",
        "Fix time synchronisation (NTP) on this host and on the device: certificate and token checks fail with a skewed clock.";
    Skipped => "skipped", None,
        "This check did not run because an earlier stage failed.",
        "Fix the earlier failing stage first.";
    BudgetExhausted => "budget_exhausted", None,
        "The scrape's time budget ran out before this check could run.",
        "Raise the scrape timeout, lower the number of targets per scrape or raise `max_concurrent_probes`.";
    CloudIntegrationDisabled => "cloud_integration_disabled", None,
        "Cloud integration is disabled on purpose; the device reports a failure for this row, as expected.",
        "Nothing to do while the integration is off on purpose. To stop the management center raising the row, switch it off as Cisco's troubleshooting note says: System > Health > Policy, edit the policy, Threat Data Updates on Devices, Enabled: Off, Save Policy and Exit. To use the cloud instead, enable the integration (management center: Integration > Cisco Security Cloud, called SecureX in older releases) and set `cloud_integration: enabled` here.";
}

impl Reason {
    /// A real failure: not success, and not a stage that simply did not run.
    pub(crate) fn is_failure(self) -> bool {
        !matches!(
            self,
            Reason::Ok | Reason::Skipped | Reason::CloudIntegrationDisabled
        )
    }

    /// Full-size packets stall where small ones pass: a path-MTU black hole at TLS or HTTP.
    pub(crate) fn is_mtu_black_hole(self) -> bool {
        matches!(self, Reason::TlsMtuBlackHole | Reason::HttpMtuBlackHole)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Where in the checklist a failure sits: the lowest rank is *the* reason. DNS not configured comes
/// before any other name-resolution failure, then TCP, proxy, TLS, HTTP and the clock.
pub(crate) fn checklist_rank(stage: Stage, reason: Reason) -> u8 {
    match (stage, reason) {
        (_, Reason::DnsNotConfigured) => 0,
        (Stage::Dns, _) => 1,
        (Stage::Tcp, _) => 2,
        (Stage::Proxy, _) => 3,
        (Stage::Tls, _) => 4,
        (Stage::Http, _) => 5,
        (Stage::Clock, _) => 6,
    }
}

/// The reason table as Markdown (`docs/reasons.md` is this text; a test keeps them equal).
pub fn reasons_markdown() -> String {
    let mut out = String::from(
        "# Failure reasons and remedies\n\n\
         Generated from the table in `src/checklist/mod.rs`, the one copy that metrics (`reason` and \
         `remedy` labels), `firepower-cloud-exporter check`, the status page and the alerts use. \
         Regenerate with `UPDATE_DOCS=1 cargo test --test it docs`.\n\n\
         Stages run in checklist order: DNS, TCP (or the proxy tunnel), TLS, HTTPS, clock; TCP and \
         TLS try every address of the name (up to 8). The verdict is decided once from every fact \
         the probe recorded (`src/probe/verdict/`): a sinkhole or loopback answer explains the \
         connections after it; otherwise each step is read again with the facts beside it (the \
         proxy's offered schemes, the first bytes of a failed handshake, the marks of an HTTP \
         answer, each address's result) and the failure earliest in checklist order explains the \
         target, and the target whose failure comes earliest explains its FMC row.\n\n\
         The owner is the team that owns the fix, also the `owner` label of the verdict series and \
         the alerts (route on it in Alertmanager: `docs/runbook.md`).\n\n\
         | reason | stage | owner | what was observed | next step |\n|---|---|---|---|---|\n",
    );
    for &reason in Reason::ALL {
        let stage = reason.stage().map_or("—", Stage::as_str);
        let owner = reason.owner().map_or("—", Owner::as_str);
        out.push_str(&format!(
            "| <a id=\"{0}\"></a>`{0}` | {stage} | {owner} | {1} | {2} |\n",
            reason.as_str(),
            reason.summary().replace('|', "\\|"),
            reason.remedy().replace('|', "\\|"),
        ));
    }
    out.push_str(
        "\n## Owners\n\nThe `owner` label values, each the team that owns the fix. The alerts \
         about the management center carry `fmc_admin` (its API cannot be read) or `cisco` (it \
         reports a failure the network does not show), the exporter's own alerts `monitoring`.\n\n\
         | owner | team |\n|---|---|\n",
    );
    for owner in Owner::ALL {
        out.push_str(&format!("| `{}` | {} |\n", owner.as_str(), owner.title()));
    }
    out.push_str(COMMANDS_AND_SOURCES);
    out
}

/// Where the remedies' commands run and what their facts rest on.
const COMMANDS_AND_SOURCES: &str = "
## Where the commands run

The status page, `check` and the alerts show each remedy with this failure's facts filled in: the
host and port, the DNS server that answered (`nslookup host server`), the certificate's issuer,
and for a target behind a proxy the proxy's address and user in every `curl` (`--proxy`,
`--proxy-user`, `--proxy-anyauth`; curl asks for the password, which no output ever shows). The
table above shows the placeholders.

- `show network`, `configure network dns servers` and `configure network http-proxy` are commands
  of the FTD CLI, at its `>` prompt (Cisco Secure Firewall Threat Defense Command Reference; the
  troubleshooting note uses the first two).
- `curl`, `nslookup`, `telnet`, `openssl` and `cat /etc/hosts` run in the device's Linux shell,
  which `expert` opens from the `>` prompt (the note's own prompts are that shell's:
  `root@fp:/home/admin#`); a packet capture there needs `sudo`, which asks for the admin password.
  A remedy that names such a command says so at its end.
- The management center's proxy, DNS servers and management interfaces are under System >
  Configuration > Management Interfaces (Management Center Administration Guide 7.x, *Management
  Interfaces*; older releases had a separate *HTTP Proxy* page).
- The health policy path that switches the row off when the cloud integration is off on purpose
  is the troubleshooting note's: System > Health > Policy, edit, Threat Data Updates on Devices,
  Enabled: Off, Save Policy and Exit.
- The cloud integration is Integration > Cisco Security Cloud in current management center
  releases; SecureX, its former name and Cisco's former platform, is retired (its functions moved
  to Cisco XDR and Security Cloud Control).
- Cisco bug CSCvs05084 (\"FTD: Cisco Cloud Configuration failure due to proxy\", listed in the
  note's known issues) is named only for a proxy failure of a target of the Cisco Cloud
  Configuration row.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_names_are_unique_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for &reason in Reason::ALL {
            let name = reason.as_str();
            assert!(seen.insert(name), "duplicate reason {name}");
            assert!(
                name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{name} is not snake_case"
            );
            assert!(!reason.summary().is_empty() && !reason.remedy().is_empty());
        }
    }

    #[test]
    fn reason_stage_matches_its_prefix() {
        for &reason in Reason::ALL {
            if let Some(stage) = reason.stage() {
                assert!(
                    reason.as_str().starts_with(stage.as_str()),
                    "{reason} belongs to {stage}"
                );
            }
        }
    }

    #[test]
    fn checklist_puts_missing_dns_first_and_clock_last() {
        let dns_missing = checklist_rank(Stage::Dns, Reason::DnsNotConfigured);
        let nx = checklist_rank(Stage::Dns, Reason::DnsNxdomain);
        let tcp = checklist_rank(Stage::Tcp, Reason::TcpTimeout);
        let proxy = checklist_rank(Stage::Proxy, Reason::ProxyAuthRequired);
        let tls = checklist_rank(Stage::Tls, Reason::TlsCertUntrusted);
        let http = checklist_rank(Stage::Http, Reason::HttpUnexpectedStatus);
        let clock = checklist_rank(Stage::Clock, Reason::ClockSkew);
        assert!(dns_missing < nx && nx < tcp && tcp < proxy && proxy < tls);
        assert!(tls < http && http < clock);
    }
}
