//! The second stage of configuration: raw values from the file become the typed model, and every
//! error names the file, the field and what was expected.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

use super::model::{
    Config, Credentials, DEFAULT_MAX_CLOCK_SKEW, DEFAULT_MAX_CONCURRENT_PROBES,
    DEFAULT_MIN_INTERVAL, DEFAULT_RESOLV_CONF, DEFAULT_TIMEOUT, HttpCheck, ProxySpec, Region,
    ResolverSpec, Target, TlsCheck, needs_dns,
};
use super::raw::{Check, RawConfig, RawSettings, RawTarget};
use super::yaml::{ConfigError, FileContext, clip};
use crate::checklist::Service;

/// Longest value quoted back in an error message.
const QUOTE_CHARS: usize = 80;

/// Parses and validates configuration text from `ctx`'s file. `region_override` wins over the
/// file's `region`.
pub(crate) fn parse(
    text: &str,
    ctx: &FileContext,
    region_override: Option<Region>,
) -> Result<Config, ConfigError> {
    let raw: RawConfig = ctx.parse(text)?;
    validate(raw, ctx, region_override)
}

fn validate(
    raw: RawConfig,
    ctx: &FileContext,
    region_override: Option<Region>,
) -> Result<Config, ConfigError> {
    let region = match (region_override, raw.region.as_deref()) {
        (Some(r), _) => r,
        (None, None) => Region::Us,
        (None, Some(name)) => Region::from_name(name).ok_or_else(|| {
            ctx.err(
                "region",
                format!("unknown region `{name}`, expected one of `us`, `eu`, `apjc`"),
            )
        })?,
    };
    let cloud_integration_enabled = match raw.cloud_integration.as_deref() {
        None | Some("enabled") => true,
        Some("disabled") => false,
        Some(other) => {
            return Err(ctx.err(
                "cloud_integration",
                format!("unknown value `{other}`, expected `enabled` or `disabled`"),
            ));
        }
    };
    let max_concurrent_probes = raw
        .max_concurrent_probes
        .unwrap_or(DEFAULT_MAX_CONCURRENT_PROBES);
    if max_concurrent_probes == 0 {
        return Err(ctx.err("max_concurrent_probes", "must be at least 1"));
    }

    let (raw_targets, targets_field) = match raw.targets {
        Some(t) => (t, "targets".to_string()),
        None => {
            let embedded: RawConfig =
                FileContext::embedded("embedded targets").parse(region.embedded())?;
            (embedded.targets.unwrap_or_default(), "targets".to_string())
        }
    };
    if raw_targets.is_empty() {
        return Err(ctx.err(targets_field, "at least one target is required"));
    }

    let mut names = HashSet::new();
    let mut targets = Vec::with_capacity(raw_targets.len());
    for (i, rt) in raw_targets.iter().enumerate() {
        let field = format!("targets[{i}]");
        if !names.insert(rt.name.clone()) {
            return Err(ctx.err(
                format!("{field}.name"),
                format!(
                    "duplicate target name `{}`: names must be unique",
                    clip(&rt.name, QUOTE_CHARS)
                ),
            ));
        }
        let settings = rt.settings().inherit(&raw.defaults);
        targets.push(Arc::new(validate_target(ctx, &field, rt, &settings)?));
    }

    Ok(Config {
        source: ctx.name.clone(),
        cloud_integration_enabled,
        max_concurrent_probes,
        targets,
    })
}

fn validate_target(
    ctx: &FileContext,
    field: &str,
    rt: &RawTarget,
    s: &RawSettings,
) -> Result<Target, ConfigError> {
    if !is_label_safe(&rt.name) {
        return Err(ctx.err(
            format!("{field}.name"),
            format!(
                "`{}` is not a valid target name: use 1 to 64 characters of letters, digits, `-`, `_` and `.`",
                clip(&rt.name, QUOTE_CHARS)
            ),
        ));
    }
    if rt.host.is_empty() || ServerName::try_from(rt.host.clone()).is_err() {
        return Err(ctx.err(
            format!("{field}.host"),
            format!(
                "`{}` is not a host name or IP address",
                clip(&rt.host, QUOTE_CHARS)
            ),
        ));
    }
    let service = Service::from_name(&rt.service).ok_or_else(|| {
        let known: Vec<&str> = Service::ALL.iter().map(|s| s.as_str()).collect();
        ctx.err(
            format!("{field}.service"),
            format!(
                "unknown service `{}`, expected one of {}",
                rt.service,
                known.join(", ")
            ),
        )
    })?;
    let checks = rt
        .checks
        .clone()
        .unwrap_or_else(|| vec![Check::Dns, Check::Tcp, Check::Tls]);
    if checks.is_empty() {
        return Err(ctx.err(format!("{field}.checks"), "at least one check is required"));
    }
    let has = |c| checks.contains(&c);
    let tcp_ports = if has(Check::Tcp) {
        let ports = rt.tcp_ports.clone().unwrap_or_else(|| vec![443]);
        if ports.is_empty() || ports.contains(&0) {
            return Err(ctx.err(
                format!("{field}.tcp_ports"),
                "expected a list of ports from 1 to 65535",
            ));
        }
        ports
    } else {
        Vec::new()
    };
    let tls_port = rt.tls_port.unwrap_or(443);
    if tls_port == 0 {
        return Err(ctx.err(
            format!("{field}.tls_port"),
            "expected a port from 1 to 65535",
        ));
    }
    let tls = if has(Check::Tls) || has(Check::Http) {
        let raw = s.tls.clone().unwrap_or_default();
        let name = raw.server_name.unwrap_or_else(|| rt.host.clone());
        let server_name = ServerName::try_from(name.clone()).map_err(|_| {
            ctx.err(
                format!("{field}.tls.server_name"),
                format!("`{name}` is not a valid TLS server name"),
            )
        })?;
        let extra_roots = match raw.ca_file {
            Some(p) => load_ca_file(&ctx.path(&p))
                .map_err(|m| ctx.err(format!("{field}.tls.ca_file"), m))?,
            None => Vec::new(),
        };
        Some(TlsCheck {
            port: tls_port,
            server_name,
            extra_roots,
        })
    } else {
        None
    };
    let http = if has(Check::Http) {
        let raw = s.http.clone().unwrap_or_default();
        let path = raw.path.unwrap_or_else(|| "/".into());
        if !path.starts_with('/') || path.parse::<hyper::Uri>().is_err() {
            return Err(ctx.err(
                format!("{field}.http.path"),
                format!("`{path}` is not an absolute request path such as `/`"),
            ));
        }
        let expected_status = raw.expected_status.unwrap_or_else(|| vec![403]);
        if expected_status.is_empty() || expected_status.iter().any(|c| !(100..=599).contains(c)) {
            return Err(ctx.err(
                format!("{field}.http.expected_status"),
                "expected a list of HTTP status codes from 100 to 599",
            ));
        }
        Some(HttpCheck {
            path,
            expected_status,
        })
    } else {
        None
    };
    let timeout = s.timeout.unwrap_or(DEFAULT_TIMEOUT);
    if timeout.is_zero() {
        return Err(ctx.err(
            format!("{field}.timeout"),
            "must be longer than zero, e.g. `3s`",
        ));
    }
    let proxy = validate_proxy(ctx, field, s)?;
    Ok(Target {
        name: rt.name.clone(),
        host: rt.host.clone(),
        service,
        // Name resolution comes first whenever anything connects (a proxy resolves for itself).
        dns: needs_dns(&rt.host, proxy.as_ref()),
        tcp_ports,
        tls,
        http,
        resolver: validate_resolver(ctx, field, s)?,
        ip_preference: s.ip_preference.unwrap_or_default(),
        timeout,
        min_interval: s.min_interval.unwrap_or(DEFAULT_MIN_INTERVAL),
        max_clock_skew: s.max_clock_skew.unwrap_or(DEFAULT_MAX_CLOCK_SKEW),
        proxy,
    })
}

fn validate_resolver(
    ctx: &FileContext,
    field: &str,
    s: &RawSettings,
) -> Result<ResolverSpec, ConfigError> {
    let dns = s.dns.clone().unwrap_or_default();
    let servers = dns.servers.unwrap_or_default();
    if servers.is_empty() {
        let path = dns
            .resolv_conf
            .unwrap_or_else(|| DEFAULT_RESOLV_CONF.into());
        return Ok(ResolverSpec::System {
            resolv_conf: ctx.path(&path),
        });
    }
    let mut parsed = Vec::with_capacity(servers.len());
    for (i, server) in servers.iter().enumerate() {
        let addr = server
            .parse::<SocketAddr>()
            .or_else(|_| server.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 53)))
            .map_err(|_| {
                ctx.err(
                    format!("{field}.dns.servers[{i}]"),
                    format!("`{server}` is not an address: expected `ip` or `ip:port`, e.g. `192.0.2.53` or `[2001:db8::53]:53`"),
                )
            })?;
        parsed.push(addr);
    }
    Ok(ResolverSpec::Servers {
        servers: parsed,
        protocol: dns.protocol.unwrap_or_default(),
    })
}

fn validate_proxy(
    ctx: &FileContext,
    field: &str,
    s: &RawSettings,
) -> Result<Option<ProxySpec>, ConfigError> {
    let Some(raw) = &s.proxy else { return Ok(None) };
    let Some(text) = raw.url.as_deref().filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    // Never echo the URL back: it may carry the password.
    let bad = |why: &str| {
        ctx.err(
            format!("{field}.proxy.url"),
            format!("{why}; expected `http://[user[:password]@]host:port`"),
        )
    };
    let url = url::Url::parse(text).map_err(|e| bad(&format!("not a URL ({e})")))?;
    if url.scheme() != "http" {
        return Err(bad(&format!("unsupported scheme `{}`", url.scheme())));
    }
    let host = url
        .host_str()
        .ok_or_else(|| bad("no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port().unwrap_or(8080);
    // Userinfo is percent-encoded, not form-encoded: `+` is a plus sign, not a space.
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    let user = decode(url.username());
    let mut password = url.password().map(decode);
    if let Some(file) = &raw.password_file {
        let path = ctx.path(file);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            ctx.err(
                format!("{field}.proxy.password_file"),
                format!("cannot read `{}`: {e}", path.display()),
            )
        })?;
        password = Some(text.lines().next().unwrap_or_default().to_string());
    }
    let credentials = match (user.is_empty(), password) {
        (true, None) => None,
        (true, Some(_)) => return Err(bad("a password without a user name")),
        (false, p) => Some(Credentials::new(user, p.unwrap_or_default())),
    };
    Ok(Some(ProxySpec {
        host,
        port,
        credentials,
    }))
}

fn load_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("`{}` is not a PEM certificate file: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("`{}` holds no PEM certificate", path.display()));
    }
    Ok(certs)
}

fn is_label_safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{DnsProtocol, ResolverSpec, Source};
    use std::time::Duration;

    fn parse_str(text: &str) -> Result<Config, ConfigError> {
        parse(text, &FileContext::embedded("test.yaml"), None)
    }

    #[test]
    fn embedded_defaults_validate_for_every_region() {
        for region in [Region::Us, Region::Eu, Region::Apjc] {
            let config = Source {
                region: Some(region),
                ..Source::default()
            }
            .load()
            .expect("embedded default is valid");
            assert!(config.targets.len() >= 5, "{region:?}");
            assert!(
                config
                    .targets
                    .iter()
                    .any(|t| t.service == Service::CiscoCloudConfiguration && t.http.is_some()),
                "{region:?} has an SSE target with the HTTPS check"
            );
        }
    }

    #[test]
    fn us_default_probes_api_sse_like_the_checklist() {
        let config = Source::default().load().expect("valid");
        let sse = &config.targets[0];
        assert_eq!(sse.host, "api-sse.cisco.com");
        assert_eq!(sse.tcp_ports, vec![443, 8989]);
        assert!(sse.dns);
        assert_eq!(sse.tls.as_ref().map(|t| t.port), Some(443));
        assert_eq!(
            sse.http.as_ref().map(|h| h.expected_status.clone()),
            Some(vec![403])
        );
        let hosts: Vec<&str> = config.targets.iter().map(|t| t.host.as_str()).collect();
        for host in [
            "cloud-sa.amp.cisco.com",
            "api.amp.sourcefire.com",
            "cloud-sa.amp.sourcefire.com",
            "panacea.threatgrid.com",
        ] {
            assert!(hosts.contains(&host), "{host} missing");
        }
    }

    #[test]
    fn defaults_are_inherited_field_by_field() {
        let config = parse_str(
            r#"
defaults:
  timeout: 2s
  dns: { servers: ["127.0.0.1:5353"], protocol: tcp }
targets:
  - name: a
    host: a.example
    service: cisco_cloud_configuration
    dns: { protocol: udp }
  - name: b
    host: b.example
    service: amp_cloud_lookups
    timeout: 500ms
"#,
        )
        .expect("valid");
        let a = &config.targets[0];
        assert_eq!(a.timeout, Duration::from_secs(2));
        assert_eq!(
            a.resolver,
            ResolverSpec::Servers {
                servers: vec!["127.0.0.1:5353".parse().expect("addr")],
                protocol: DnsProtocol::Udp
            }
        );
        assert_eq!(config.targets[1].timeout, Duration::from_millis(500));
    }

    fn error_of(text: &str) -> String {
        parse_str(text).expect_err("must fail").to_string()
    }

    #[test]
    fn a_typo_names_the_file_and_the_field() {
        let msg = error_of(
            "targets:\n  - name: a\n    host: a.example\n    service: amp_cloud_lookups\n    timout: 3s\n",
        );
        assert!(msg.starts_with("test.yaml: targets[0]"), "{msg}");
        assert!(msg.contains("unknown field `timout`"), "{msg}");
        assert!(msg.contains("line 5"), "{msg}");
    }

    #[test]
    fn a_wrong_type_names_the_field() {
        let msg = error_of("defaults:\n  timeout: [1]\ntargets: []\n");
        assert!(msg.contains("defaults.timeout"), "{msg}");
    }

    #[test]
    fn an_unknown_check_lists_the_known_ones() {
        let msg = error_of(
            "targets:\n  - {name: a, host: a.example, service: amp_cloud_lookups, checks: [dns, ping]}\n",
        );
        assert!(msg.contains("targets[0].checks[1]"), "{msg}");
        assert!(
            msg.contains("unknown variant `ping`") && msg.contains("`tls`"),
            "{msg}"
        );
    }

    #[test]
    fn a_bad_dns_server_address_is_named() {
        let msg = error_of(
            "targets:\n  - {name: a, host: a.example, service: amp_cloud_lookups, dns: {servers: [\"1.2.3.4:99999\"]}}\n",
        );
        assert!(msg.contains("targets[0].dns.servers[0]"), "{msg}");
        assert!(msg.contains("`ip:port`"), "{msg}");
    }

    #[test]
    fn unknown_service_duplicate_names_and_bad_names_are_refused() {
        assert!(
            error_of("targets:\n  - {name: a, host: a.example, service: smtp}\n")
                .contains("targets[0].service")
        );
        assert!(error_of("targets:\n  - {name: a, host: a.example, service: amp_cloud_lookups}\n  - {name: a, host: b.example, service: amp_cloud_lookups}\n").contains("duplicate target name"));
        assert!(
            error_of(
                "targets:\n  - {name: \"a b\", host: a.example, service: amp_cloud_lookups}\n"
            )
            .contains("targets[0].name")
        );
        assert!(error_of("region: mars\n").contains("region"));
    }

    #[test]
    fn proxy_password_is_never_printed() {
        let config = parse_str(
            "defaults:\n  proxy: { url: \"http://fmc:s3cr%40t@proxy.example:3128\" }\ntargets:\n  - {name: a, host: a.example, service: amp_cloud_lookups}\n",
        )
        .expect("valid");
        let proxy = config.targets[0].proxy.clone().expect("proxy");
        assert_eq!(
            proxy.credentials.as_ref().map(Credentials::password),
            Some("s3cr@t")
        );
        assert_eq!(proxy.to_string(), "http://fmc@proxy.example:3128");
        let debug = format!("{config:?}");
        assert!(!debug.contains("s3cr"), "{debug}");
        let err = error_of(
            "defaults:\n  proxy: { url: \"socks5://u:hunter2@p:1\" }\ntargets:\n  - {name: a, host: a.example, service: amp_cloud_lookups}\n",
        );
        assert!(
            !err.contains("hunter2") && err.contains("proxy.url"),
            "{err}"
        );
    }

    #[test]
    fn a_plus_in_the_proxy_password_stays_a_plus() {
        let config = parse_str(
            "defaults:\n  proxy: { url: \"http://fmc:a+b%2Bc@proxy.example:3128\" }\ntargets:\n  - {name: a, host: a.example, service: amp_cloud_lookups}\n",
        )
        .expect("valid");
        let proxy = config.targets[0].proxy.clone().expect("proxy");
        assert_eq!(
            proxy.credentials.as_ref().map(Credentials::password),
            Some("a+b+c")
        );
    }

    #[test]
    fn a_proxied_target_leaves_name_resolution_to_the_proxy() {
        let config = parse_str(
            "defaults:\n  proxy: { url: \"http://proxy.example:3128\" }\ntargets:\n  - {name: a, host: a.example, service: amp_cloud_lookups}\n",
        )
        .expect("valid");
        assert!(!config.targets[0].dns);
    }
}
