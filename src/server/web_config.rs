//! `--web.config.file`, in the Prometheus exporter-toolkit format: TLS on the exporter's own
//! endpoints (rustls) with optional client certificates, and HTTP basic auth with bcrypt hashes.
//! The same file works for `node_exporter` and passes `promtool check web-config`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use serde::Deserialize;

use super::auth::BasicAuth;
use crate::config::{ConfigError, FileContext};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebConfig {
    tls_server_config: Option<RawTlsServer>,
    http_server_config: Option<RawHttpServer>,
    basic_auth_users: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTlsServer {
    cert_file: Option<String>,
    key_file: Option<String>,
    client_auth_type: Option<String>,
    client_ca_file: Option<String>,
    min_version: Option<String>,
    max_version: Option<String>,
    cipher_suites: Option<Vec<String>>,
    curve_preferences: Option<Vec<String>>,
    prefer_server_cipher_suites: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHttpServer {
    http2: Option<bool>,
    headers: Option<BTreeMap<String, String>>,
}

/// The validated web configuration.
#[derive(Clone, Default)]
pub struct WebConfig {
    pub(crate) tls: Option<Arc<ServerConfig>>,
    /// `RequireAndVerifyClientCert`: every request but the health checks needs a verified client
    /// certificate. The handshake lets a client without one through (a certificate that is
    /// given is still verified), so orchestrators can reach `/-/healthy` and `/-/ready`.
    pub(crate) require_client_cert: bool,
    pub(crate) auth: Option<Arc<BasicAuth>>,
    /// Extra response headers (`http_server_config.headers`).
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("tls", &self.tls.is_some())
            .field(
                "basic_auth_users",
                &self.auth.as_ref().map(|a| a.user_count()),
            )
            .field("headers", &self.headers.len())
            .finish()
    }
}

impl WebConfig {
    /// Whether the endpoints are served over TLS.
    pub fn serves_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Whether requests need basic-auth credentials.
    pub fn requires_auth(&self) -> bool {
        self.auth.is_some()
    }

    /// Whether a request with this `Authorization` header gets through (always, without users).
    pub fn accepts(&self, authorization: Option<&str>) -> bool {
        self.auth.as_ref().is_none_or(|a| a.check(authorization))
    }

    /// Reads and validates `path`. Relative paths inside are taken from the file's folder.
    pub fn load(path: &Path) -> Result<WebConfig, ConfigError> {
        let (file, text) = FileContext::read(path, "the web configuration")?;
        let raw: RawWebConfig = file.parse(&text)?;
        let err = |field: &str, message: String| file.err(field, message);
        let resolve = |p: &str| file.path(p);

        let require_client_cert = raw
            .tls_server_config
            .as_ref()
            .and_then(|t| t.client_auth_type.as_deref())
            == Some("RequireAndVerifyClientCert");
        let tls = match raw.tls_server_config {
            None => None,
            Some(t) => Some(Arc::new(tls_config(t, &resolve, &err)?)),
        };
        let auth = match raw.basic_auth_users {
            Some(users) if !users.is_empty() => {
                for (user, hash) in &users {
                    bcrypt::HashParts::from_str(hash).map_err(|_| {
                        err(
                            &format!("basic_auth_users.{user}"),
                            "not a bcrypt hash: store `htpasswd -nBC 10 \"\" | tr -d ':\\n'` output, never the password".into(),
                        )
                    })?;
                }
                Some(Arc::new(BasicAuth::new(users.into_iter().collect())))
            }
            _ => None,
        };
        let mut headers = Vec::new();
        if let Some(http) = raw.http_server_config {
            if http.http2 == Some(true) {
                tracing::warn!("web configuration: http2 is not served; HTTP/1.1 only");
            }
            for (name, value) in http.headers.unwrap_or_default() {
                let field = format!("http_server_config.headers.{name}");
                let header = HeaderName::from_str(&name)
                    .map_err(|_| err(&field, "not a valid header name".into()))?;
                let value = HeaderValue::from_str(&value)
                    .map_err(|_| err(&field, "not a valid header value".into()))?;
                headers.push((header, value));
            }
        }
        Ok(WebConfig {
            tls,
            require_client_cert,
            auth,
            headers,
        })
    }
}

fn tls_config(
    t: RawTlsServer,
    resolve: &dyn Fn(&str) -> PathBuf,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<ServerConfig, ConfigError> {
    let cert_file = t.cert_file.ok_or_else(|| {
        err(
            "tls_server_config.cert_file",
            "required when tls_server_config is set".into(),
        )
    })?;
    let key_file = t.key_file.ok_or_else(|| {
        err(
            "tls_server_config.key_file",
            "required when tls_server_config is set".into(),
        )
    })?;
    let cert_path = resolve(&cert_file);
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
        .and_then(std::iter::Iterator::collect::<Result<_, _>>)
        .map_err(|e| {
            err(
                "tls_server_config.cert_file",
                format!(
                    "cannot read PEM certificates from `{}`: {e}",
                    cert_path.display()
                ),
            )
        })?;
    if chain.is_empty() {
        return Err(err(
            "tls_server_config.cert_file",
            format!("`{}` holds no certificate", cert_path.display()),
        ));
    }
    let key_path = resolve(&key_file);
    let key = PrivateKeyDer::from_pem_file(&key_path).map_err(|e| {
        err(
            "tls_server_config.key_file",
            format!(
                "cannot read a PEM private key from `{}`: {e}",
                key_path.display()
            ),
        )
    })?;

    let versions = protocol_versions(t.min_version.as_deref(), t.max_version.as_deref(), err)?;
    if t.cipher_suites.is_some()
        || t.curve_preferences.is_some()
        || t.prefer_server_cipher_suites.is_some()
    {
        tracing::warn!(
            "web configuration: cipher_suites, curve_preferences and prefer_server_cipher_suites are ignored; rustls' safe defaults apply"
        );
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&versions)
        .map_err(|e| err("tls_server_config.min_version", e.to_string()))?;

    let auth_type = t.client_auth_type.as_deref().unwrap_or("NoClientCert");
    let builder = match auth_type {
        "NoClientCert" => builder.with_no_client_auth(),
        "VerifyClientCertIfGiven" | "RequireAndVerifyClientCert" => {
            let ca_file = t.client_ca_file.ok_or_else(|| {
                err(
                    "tls_server_config.client_ca_file",
                    format!("required with client_auth_type {auth_type}"),
                )
            })?;
            let ca_path = resolve(&ca_file);
            let mut roots = RootCertStore::empty();
            let cas = CertificateDer::pem_file_iter(&ca_path)
                .and_then(std::iter::Iterator::collect::<Result<Vec<_>, _>>)
                .map_err(|e| {
                    err(
                        "tls_server_config.client_ca_file",
                        format!(
                            "cannot read PEM certificates from `{}`: {e}",
                            ca_path.display()
                        ),
                    )
                })?;
            for ca in cas {
                roots
                    .add(ca)
                    .map_err(|e| err("tls_server_config.client_ca_file", e.to_string()))?;
            }
            // Both verify a certificate that is given; a missing one is refused per request for
            // RequireAndVerifyClientCert (health checks excepted), see `WebConfig`.
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| err("tls_server_config.client_ca_file", e.to_string()))?;
            builder.with_client_cert_verifier(verifier)
        }
        other => {
            return Err(err(
                "tls_server_config.client_auth_type",
                format!(
                    "`{other}` is not supported: use NoClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert"
                ),
            ));
        }
    };
    let mut config = builder.with_single_cert(chain, key).map_err(|e| {
        err(
            "tls_server_config.key_file",
            format!("the key does not fit the certificate: {e}"),
        )
    })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

fn protocol_versions(
    min: Option<&str>,
    max: Option<&str>,
    err: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, ConfigError> {
    let rank = |field: &str, v: &str| -> Result<u8, ConfigError> {
        match v {
            "TLS10" | "TLS11" | "TLS12" => Ok(12),
            "TLS13" => Ok(13),
            other => Err(err(
                field,
                format!("unknown TLS version `{other}`, expected TLS12 or TLS13"),
            )),
        }
    };
    if matches!(min, Some("TLS10" | "TLS11")) {
        tracing::warn!(
            "web configuration: TLS 1.0 and 1.1 are not offered; the minimum is TLS 1.2"
        );
    }
    let lo = min
        .map(|v| rank("tls_server_config.min_version", v))
        .transpose()?
        .unwrap_or(12);
    let hi = max
        .map(|v| rank("tls_server_config.max_version", v))
        .transpose()?
        .unwrap_or(13);
    let versions: Vec<_> = [(12, &rustls::version::TLS12), (13, &rustls::version::TLS13)]
        .into_iter()
        .filter(|(r, _)| (lo..=hi).contains(r))
        .map(|(_, v)| v)
        .collect();
    if versions.is_empty() {
        return Err(err(
            "tls_server_config.max_version",
            "max_version is below min_version".into(),
        ));
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn a_plain_password_instead_of_a_hash_is_refused_without_echoing_it() {
        let dir = tempfile::tempdir().expect("dir");
        let path = write(
            dir.path(),
            "web.yml",
            "basic_auth_users:\n  prometheus: hunter2\n",
        );
        let e = WebConfig::load(&path).expect_err("not a hash");
        let text = e.to_string();
        assert!(
            text.contains("basic_auth_users.prometheus") && text.contains("bcrypt"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn tls_errors_name_the_field() {
        let dir = tempfile::tempdir().expect("dir");
        let path = write(
            dir.path(),
            "web.yml",
            "tls_server_config:\n  cert_file: missing.crt\n  key_file: missing.key\n",
        );
        let e = WebConfig::load(&path).expect_err("missing files");
        assert!(e.to_string().contains("tls_server_config.cert_file"), "{e}");
        let path = write(
            dir.path(),
            "web2.yml",
            "tls_server_config:\n  certfile: x\n",
        );
        let e = WebConfig::load(&path).expect_err("typo");
        assert!(e.to_string().contains("unknown field `certfile`"), "{e}");
        let path = write(
            dir.path(),
            "web3.yml",
            "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_auth_type: RequireAnyClientCert\n",
        );
        assert!(WebConfig::load(&path).is_err());
    }
}
