//! Integration tests: the exporter against real DNS, TCP, TLS, HTTP servers and proxies on loopback.

mod util;

mod bench;

mod cli;
mod dashboards;
mod deploy;
mod docs;
mod e2e;
mod enterprise;
mod fmc;
mod fmc_e2e;
mod glossary;
mod hostile;
mod independence;
mod input;
mod layers;
mod middleboxes;
mod package;
mod paths;
mod probes;
mod service;
mod sites;
mod web;

use std::net::IpAddr;

use firepower_cloud_exporter::metrics::names;

use util::{Answer, Behaviour, DnsServer, Pki, TlsServer, servers};

/// A loopback "Internet": a DNS server, a CA the exporter trusts, and helpers to build targets.
pub struct World {
    pub dir: tempfile::TempDir,
    pub dns: DnsServer,
    pub pki: Pki,
}

pub const LOOPBACK: [u8; 4] = [127, 0, 0, 1];

impl World {
    pub async fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let dns = DnsServer::start().await;
        let pki = Pki::new(dir.path(), "Test Root CA");
        World { dir, dns, pki }
    }

    /// Points `host` at 127.0.0.1 through a CNAME, the way api-sse.cisco.com points at akadns.
    pub fn resolve_via_cname(&self, host: &str) {
        let canonical = format!("{host}.akadns.test");
        self.dns.set(host, Answer::Cname(canonical.clone()));
        self.dns.set(
            &canonical,
            Answer::Addresses(servers::WORLD_ADDRESSES.map(IpAddr::from).to_vec()),
        );
    }

    /// A TLS server for `host` with a certificate from the trusted CA.
    pub async fn https(&self, host: &str, behaviour: Behaviour) -> TlsServer {
        TlsServer::start(self.pki.leaf(&[host]), behaviour).await
    }

    /// A TLS server for `host` answering as the Cisco cloud does: `403 Forbidden`, plain text.
    pub async fn cisco(&self, host: &str) -> TlsServer {
        self.https(
            host,
            Behaviour::Http {
                status: 403,
                date_offset_secs: 0,
            },
        )
        .await
    }

    /// The configuration text: defaults pointing at this world, then `targets` (YAML list items).
    pub fn config(&self, extra_defaults: &str, targets: &[String]) -> String {
        let mut yaml = format!(
            "defaults:\n  timeout: 1s\n  min_interval: 0s\n  dns: {{ servers: [\"{}\"] }}\n  tls: {{ ca_file: \"{}\" }}\n{extra_defaults}targets:\n",
            self.dns.addr,
            self.pki.ca_file.display()
        );
        for t in targets {
            yaml.push_str(t);
        }
        yaml
    }
}

/// The stage and reason of `target`'s verdict in a `/probe` answer.
pub fn verdict(e: &util::Exposition, target: &str) -> (String, String) {
    let labels = [("target", target)];
    (
        e.label(names::TARGET_VERDICT, &labels, "stage"),
        e.label(names::TARGET_VERDICT, &labels, "reason"),
    )
}

/// A target doing the full api-sse.cisco.com checklist: TCP to `tls_port` and `other_port`, TLS and
/// HTTPS on `tls_port`.
pub fn sse_target(name: &str, host: &str, tls_port: u16, other_port: u16) -> String {
    format!(
        "  - name: {name}\n    host: {host}\n    service: cisco_cloud_configuration\n    checks: [dns, tcp, tls, http]\n    tcp_ports: [{tls_port}, {other_port}]\n    tls_port: {tls_port}\n    http: {{ expected_status: [403] }}\n"
    )
}

/// A target with DNS, TCP and TLS only (the AMP and Threat Grid hosts).
pub fn tls_target(name: &str, host: &str, service: &str, tls_port: u16) -> String {
    format!(
        "  - name: {name}\n    host: {host}\n    service: {service}\n    checks: [dns, tcp, tls]\n    tcp_ports: [{tls_port}]\n    tls_port: {tls_port}\n"
    )
}

/// A healthy api-sse: DNS through a CNAME, TLS with a trusted certificate answering 403, and a
/// listener standing in for port 8989.
pub async fn healthy_sse(world: &World, host: &str) -> (TlsServer, std::net::SocketAddr) {
    world.resolve_via_cname(host);
    let server = world.cisco(host).await;
    let plain = servers::tcp_listener().await;
    (server, plain)
}

/// The configuration of one target, `sse`: api-sse.cisco.com with TLS on 443 healthy and TCP
/// 8989 refused (a closed port, returned as the port probed), the firewall team's failure. The
/// server is returned so it lives as long as the test needs it.
pub async fn refused_8989_config(world: &World) -> (String, TlsServer, u16) {
    let (server, _plain) = healthy_sse(world, "api-sse.cisco.com").await;
    let closed = servers::closed_port();
    let target = sse_target("sse", "api-sse.cisco.com", server.port(), closed);
    (world.config("", &[target]), server, closed)
}

/// A running exporter whose one target, `sse`, is a healthy api-sse.cisco.com; the servers are
/// returned so they live as long as the test needs them.
pub async fn healthy_exporter(world: &World) -> (util::Exporter, TlsServer, std::net::SocketAddr) {
    let (server, plain) = healthy_sse(world, "api-sse.cisco.com").await;
    let target = sse_target("sse", "api-sse.cisco.com", server.port(), plain.port());
    let exporter = util::Exporter::start(&world.config("", &[target])).await;
    (exporter, server, plain)
}

/// Whether the tests run as root (installing a package and making network namespaces need it).
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}
