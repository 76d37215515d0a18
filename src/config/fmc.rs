//! `fmc:`: the management center whose REST API the exporter reads for its own verdict, checked
//! into [`FmcSettings`]. The password is read from its file here and never leaves [`Credentials`].

use std::time::Duration;

use super::ca_files::CaFiles;
use super::model::{Credentials, FmcAuth, FmcSettings, FmcTrust};
use super::raw::RawFmc;
use super::yaml::{ConfigError, FileContext, QUOTE_CHARS, clip};

/// How often the management center is asked, by default.
pub(crate) const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);
/// How long one API request may take, by default.
pub(crate) const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The domain read when none is named.
pub(crate) const DEFAULT_DOMAIN: &str = "Global";
/// The Global domain's UUID, the domain a cloud-delivered FMC's API is read in by default.
pub(crate) const CDFMC_GLOBAL_DOMAIN: &str = "e276abec-e0f2-11e3-8169-6d9ed49b625f";

pub(super) fn validate_fmc(
    ctx: &FileContext,
    raw: RawFmc,
    ca_files: &CaFiles,
) -> Result<FmcSettings, ConfigError> {
    let field = |name: &str| format!("fmc.{name}");
    let url_text = raw.url.ok_or_else(|| {
        ctx.err(
            field("url"),
            "missing: the management center's address, e.g. `url: https://fmc.example.com`",
        )
    })?;
    let url = url::Url::parse(&url_text).map_err(|e| {
        ctx.err(
            field("url"),
            format!("{e}; expected `https://host[:port]`, e.g. `https://fmc.example.com`"),
        )
    })?;
    if url.scheme() != "https" {
        return Err(ctx.err(
            field("url"),
            "the REST API is served over HTTPS only: write `https://host[:port]`",
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo the URL: it may carry a password.
        return Err(ctx.err(
            field("url"),
            "credentials do not belong in the URL: use `username` and `password_file`",
        ));
    }
    if url.path() != "/" || url.query().is_some() {
        return Err(ctx.err(
            field("url"),
            "only the address: `https://host[:port]`, without a path or query (the API paths are known)",
        ));
    }
    let host = url
        .host_str()
        .ok_or_else(|| ctx.err(field("url"), "no host: expected `https://host[:port]`"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port().unwrap_or(443);
    let (credentials, path, auth) = match raw.token_file {
        Some(token_file) => {
            if raw.username.is_some() || raw.password_file.is_some() {
                return Err(ctx.err(
                    field("token_file"),
                    "a cloud-delivered FMC takes its API token only: remove `username` and `password_file`, or `token_file` for an on-premises one",
                ));
            }
            let path = ctx.path(&token_file);
            let token = first_line(ctx, &field("token_file"), &path, "the API token")?;
            (
                Credentials::new(String::new(), token),
                path,
                FmcAuth::ApiToken,
            )
        }
        None => {
            let username = raw
                .username
                .filter(|u| !u.trim().is_empty())
                .ok_or_else(|| {
                    ctx.err(
                        field("username"),
                        "missing: a dedicated read-only API user (docs/fmc.md), e.g. `username: prometheus-ro` (a cloud-delivered FMC takes `token_file` instead)",
                    )
                })?;
            let password_file = raw.password_file.ok_or_else(|| {
                ctx.err(
                    field("password_file"),
                    "missing: a file whose first line is the user's password, e.g. `password_file: /etc/firepower-cloud-exporter/fmc-password`",
                )
            })?;
            let path = ctx.path(&password_file);
            let password = first_line(ctx, &field("password_file"), &path, "the password")?;
            (
                Credentials::new(username, password),
                path,
                FmcAuth::Password,
            )
        }
    };
    let trust = match (
        raw.ca_file,
        raw.fingerprint_sha256,
        raw.insecure_skip_verify,
    ) {
        (None, None, None | Some(false)) => FmcTrust::PublicRoots,
        (Some(file), None, None | Some(false)) => {
            let anchors = ca_files
                .load(&ctx.path(&file))
                .map_err(|e| ctx.err(field("ca_file"), e))?;
            FmcTrust::Anchors(anchors)
        }
        (None, Some(hex), None | Some(false)) => FmcTrust::Fingerprint(
            parse_fingerprint(&hex).map_err(|e| ctx.err(field("fingerprint_sha256"), e))?,
        ),
        (None, None, Some(true)) => FmcTrust::Anything,
        _ => {
            return Err(ctx.err(
                "fmc",
                "give one of `ca_file`, `fingerprint_sha256` or `insecure_skip_verify: true`, not several",
            ));
        }
    };
    let wanted: Vec<String> = match (raw.domain, raw.domains) {
        (Some(_), Some(_)) => {
            return Err(ctx.err(
                field("domains"),
                "give `domain` (one) or `domains` (several), not both",
            ));
        }
        (Some(d), None) => vec![d],
        (None, Some(list)) if list.is_empty() => {
            return Err(ctx.err(
                field("domains"),
                "empty: name the domains, e.g. `[Global, Global/Branches]`, or `[all]`",
            ));
        }
        (None, Some(list)) => list,
        (None, None) => Vec::new(),
    };
    let mut domains = Vec::new();
    for (i, d) in wanted.iter().enumerate() {
        let at = if wanted.len() == 1 {
            field("domain")
        } else {
            format!("fmc.domains[{i}]")
        };
        if d.trim().is_empty() {
            return Err(ctx.err(
                at,
                "empty: name the domain as the FMC shows it, e.g. `Global` or `Global/Branches`",
            ));
        }
        let domain = match auth {
            // A cloud-delivered FMC is read by domain UUID (no login tells the names).
            FmcAuth::ApiToken if d.eq_ignore_ascii_case("Global") => {
                CDFMC_GLOBAL_DOMAIN.to_string()
            }
            FmcAuth::ApiToken if !is_uuid(d) => {
                return Err(ctx.err(
                    at,
                    format!(
                        "a cloud-delivered FMC is read by domain UUID: give `Global` or the domain's UUID (e.g. `{CDFMC_GLOBAL_DOMAIN}`), not `{}`",
                        clip(d, 64)
                    ),
                ));
            }
            _ => d.clone(),
        };
        domains.push(domain);
    }
    if domains.is_empty() {
        domains.push(match auth {
            FmcAuth::ApiToken => CDFMC_GLOBAL_DOMAIN.to_string(),
            FmcAuth::Password => DEFAULT_DOMAIN.to_string(),
        });
    }
    let poll_interval = raw.poll_interval.unwrap_or(DEFAULT_POLL_INTERVAL);
    if poll_interval < Duration::from_secs(1) || poll_interval > Duration::from_secs(3600) {
        return Err(ctx.err(
            field("poll_interval"),
            "must be between 1s and 1h (default 60s; requests stay under the FMC's rate limit whatever it is)",
        ));
    }
    let timeout = raw.timeout.unwrap_or(DEFAULT_REQUEST_TIMEOUT);
    if timeout < Duration::from_millis(100) || timeout > Duration::from_secs(120) {
        return Err(ctx.err(
            field("timeout"),
            "must be between 100ms and 2m (default 10s)",
        ));
    }
    let devices = raw.devices.unwrap_or_default();
    if let Some(i) = devices.iter().position(|d| d.trim().is_empty()) {
        return Err(ctx.err(
            format!("fmc.devices[{i}]"),
            "empty: name each device as the FMC shows it",
        ));
    }
    if let Some(name) = devices.iter().find(|d| d.chars().count() > 256) {
        return Err(ctx.err(
            "fmc.devices",
            format!(
                "`{}…` is too long for a device name",
                clip(name, QUOTE_CHARS)
            ),
        ));
    }
    Ok(FmcSettings {
        base: format!("https://{}", url.host_str().unwrap_or(&host))
            + &url.port().map(|p| format!(":{p}")).unwrap_or_default(),
        host,
        port,
        credentials,
        password_file: path,
        auth,
        proxy: super::proxy::validate_proxy(ctx, "fmc.proxy", raw.proxy.as_ref())?,
        trust,
        domains,
        poll_interval,
        timeout,
        devices,
    })
}

/// The first line of a secret's file, or an error naming the field.
fn first_line(
    ctx: &FileContext,
    field: &str,
    path: &std::path::Path,
    what: &str,
) -> Result<String, ConfigError> {
    let line = super::secret::read_secret(path)
        .map_err(|e| ctx.err(field, format!("cannot read `{}`: {e}", path.display())))?;
    if line.is_empty() {
        return Err(ctx.err(
            field,
            format!(
                "`{}` is empty: its first line must be {what}",
                path.display()
            ),
        ));
    }
    Ok(line)
}

/// `8-4-4-4-12` hex digits.
fn is_uuid(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// 32 bytes from 64 hex digits, colons and spaces allowed between them (as `openssl x509
/// -fingerprint -sha256` prints them).
fn parse_fingerprint(text: &str) -> Result<[u8; 32], String> {
    let digits: String = text.chars().filter(|c| !matches!(c, ':' | ' ')).collect();
    let bad = || {
        "expected the certificate's SHA-256 as 64 hex digits (`openssl x509 -noout -fingerprint -sha256 -in fmc.pem`)"
            .to_string()
    };
    if digits.len() != 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_are_read_as_openssl_prints_them() {
        let colons = "AB:".repeat(31) + "CD";
        let parsed = parse_fingerprint(&colons).expect("fingerprint");
        assert_eq!(parsed[0], 0xab);
        assert_eq!(parsed[31], 0xcd);
        assert!(parse_fingerprint("abcd").is_err());
        assert!(parse_fingerprint(&"zz".repeat(32)).is_err());
    }
}
