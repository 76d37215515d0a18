//! The second stage of configuration: raw values from the file become the typed model, and every
//! error names the file, the field and what was expected.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use rustls::pki_types::ServerName;

use super::ca_files::CaFiles;
use super::model::{
    Config, DEFAULT_MAX_CLOCK_SKEW, DEFAULT_MAX_CONCURRENT_PROBES, DEFAULT_MIN_INTERVAL,
    DEFAULT_RESOLV_CONF, DEFAULT_TIMEOUT, HttpCheck, PathTraceSettings, Region, ResolverSpec,
    Target, TlsCheck, needs_dns,
};
use super::proxy::validate_proxy;
use super::raw::{Check, Provenance, RawConfig, RawPathTrace, RawSettings, RawTarget, UsedBy};
use super::yaml::{ConfigError, FileContext, QUOTE_CHARS, clip};
use crate::checklist::Service;

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

    let (raw_targets, extra_from) = super::embedded::target_list(
        ctx,
        region,
        raw.targets,
        raw.targets_disabled.as_deref(),
        raw.targets_extra,
    )?;
    if raw_targets.is_empty() {
        return Err(ctx.err("targets", "at least one target is required"));
    }

    let mut names = HashSet::new();
    let mut targets = Vec::with_capacity(raw_targets.len());
    let ca_files = CaFiles::default();
    for (i, rt) in raw_targets.iter().enumerate() {
        // Errors in an added target name it where it was written.
        let field = match extra_from {
            Some(from) if i >= from => format!("targets_extra[{}]", i - from),
            _ => format!("targets[{i}]"),
        };
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
        targets.push(Arc::new(validate_target(
            ctx, &field, rt, &settings, &ca_files,
        )?));
    }

    let path_trace = validate_path_trace(ctx, raw.path_trace.unwrap_or_default())?;
    let fmc = match raw.fmc {
        Some(fmc) => Some(Arc::new(super::fmc::validate_fmc(ctx, fmc, &ca_files)?)),
        None => None,
    };
    Ok(Config {
        source: ctx.name.clone(),
        cloud_integration_enabled,
        max_concurrent_probes,
        targets,
        path_trace,
        fmc,
    })
}

fn validate_path_trace(
    ctx: &FileContext,
    raw: RawPathTrace,
) -> Result<PathTraceSettings, ConfigError> {
    let d = PathTraceSettings::default();
    let settings = PathTraceSettings {
        enabled: raw.enabled.unwrap_or(d.enabled),
        interval: raw.interval.unwrap_or(d.interval),
        max_hops: raw.max_hops.unwrap_or(d.max_hops),
        hop_timeout: raw.hop_timeout.unwrap_or(d.hop_timeout),
        max_concurrent: raw.max_concurrent.unwrap_or(d.max_concurrent),
    };
    if !(1..=64).contains(&settings.max_hops) {
        return Err(ctx.err("path_trace.max_hops", "must be between 1 and 64"));
    }
    if settings.hop_timeout.is_zero() || settings.hop_timeout > std::time::Duration::from_secs(10) {
        return Err(ctx.err(
            "path_trace.hop_timeout",
            "must be more than 0 and at most `10s`",
        ));
    }
    if settings.max_concurrent == 0 {
        return Err(ctx.err("path_trace.max_concurrent", "must be at least 1"));
    }
    Ok(settings)
}

fn validate_target(
    ctx: &FileContext,
    field: &str,
    rt: &RawTarget,
    s: &RawSettings,
    ca_files: &CaFiles,
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
    let former = Service::former_name(&rt.service);
    if let Some(now) = former {
        tracing::warn!(
            file = %ctx.name,
            field = %format!("{field}.service"),
            "service `{}` is now `{now}`: \"AMP Cloud Lookups\" is no FMC row; malware cloud lookups belong to the AMP Connection Status health module",
            rt.service
        );
    }
    let service = former
        .or_else(|| Service::from_name(&rt.service))
        .ok_or_else(|| {
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
            Some(p) => ca_files
                .load(&ctx.path(&p))
                .map_err(|m| ctx.err(format!("{field}.tls.ca_file"), m))?,
            None => Arc::from([]),
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
    let proxy = validate_proxy(ctx, &format!("{field}.proxy"), s.proxy.as_ref())?;
    Ok(Target {
        name: rt.name.clone(),
        host: rt.host.clone(),
        service,
        source: rt.source.map_or("configured", Provenance::as_str),
        used_by: rt.used_by.map_or("", UsedBy::as_str),
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

fn is_label_safe(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}
