//! An HTTP proxy section of the configuration (`defaults.proxy`, a target's, `fmc.proxy`), checked
//! into a [`ProxySpec`]; its password never leaves [`Credentials`].

use super::model::{Credentials, ProxySpec};
use super::raw::RawProxy;
use super::secret::read_secret;
use super::yaml::{ConfigError, FileContext};

/// An HTTP proxy section (`field` its place: `defaults.proxy`, `fmc.proxy`…).
pub(super) fn validate_proxy(
    ctx: &FileContext,
    field: &str,
    raw: Option<&RawProxy>,
) -> Result<Option<ProxySpec>, ConfigError> {
    let Some(raw) = raw else { return Ok(None) };
    let Some(text) = raw.url.as_deref().filter(|u| !u.is_empty()) else {
        return Ok(None);
    };
    // Never echo the URL back: it may carry the password.
    let bad = |why: &str| {
        ctx.err(
            format!("{field}.url"),
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
        password = Some(read_secret(&path).map_err(|e| {
            ctx.err(
                format!("{field}.password_file"),
                format!("cannot read `{}`: {e}", path.display()),
            )
        })?);
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
