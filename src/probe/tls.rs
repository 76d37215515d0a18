//! The TLS part of `curl -v -k`: complete the handshake whatever the certificate, then verify the
//! chain separately so a failure says *why* (untrusted, expired, wrong name) and shows who presented
//! it. A TLS-inspecting middlebox shows up here as an untrusted chain with its own issuer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{Instant, timeout_at};
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::detail::{LibraryError, TlsDetail};
use super::error::StageError;
use super::facts::{TlsFacts, Trust};
use super::first_bytes::{FirstBytes, taken};
use super::settle::{AskedForCertificate, Replay, Settled, settle};
use crate::checklist::Reason;
use crate::config::TlsCheck;
use crate::handshake::SignaturesOnly;

/// A client configuration and the verifier used after the handshake; shared by every target with
/// the same extra trust anchors.
pub(crate) struct TlsClient {
    /// The shared settings; each handshake gets its own copy with its own client-cert resolver.
    config: Arc<ClientConfig>,
    verifier: Arc<WebPkiServerVerifier>,
    /// The public roots alone, when extra roots are configured: says whether a chain that
    /// verified needed them.
    public_only: Option<Arc<WebPkiServerVerifier>>,
}

/// The shared TLS clients, keyed by extra roots.
#[derive(Default)]
pub(crate) struct TlsClients {
    clients: Mutex<HashMap<Arc<[CertificateDer<'static>]>, Arc<TlsClient>>>,
}

impl TlsClients {
    /// The client for `check`, built on first use.
    pub(crate) fn get(&self, check: &TlsCheck) -> Result<Arc<TlsClient>, StageError> {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(&check.extra_roots) {
            return Ok(client.clone());
        }
        let client = Arc::new(TlsClient::new(&check.extra_roots)?);
        clients.insert(check.extra_roots.clone(), client.clone());
        Ok(client)
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsClient {
    fn new(extra_roots: &[CertificateDer<'static>]) -> Result<Self, StageError> {
        let setup = |e: &dyn std::fmt::Display| {
            StageError::new(
                Reason::TlsHandshakeFailed,
                TlsDetail::Setup {
                    error: LibraryError::other(e),
                },
            )
        };
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let public = roots.clone();
        for cert in extra_roots {
            roots.add(cert.clone()).map_err(|e| setup(&e))?;
        }
        let provider = provider();
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| setup(&e))?;
        let public_only = if extra_roots.is_empty() {
            None
        } else {
            Some(
                WebPkiServerVerifier::builder_with_provider(Arc::new(public), provider.clone())
                    .build()
                    .map_err(|e| setup(&e))?,
            )
        };
        let mut config = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| setup(&e))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(SignaturesOnly {
                // The chain is verified after the handshake (see `handshake` below).
                provider,
                pin: None,
            }))
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        config.resumption = rustls::client::Resumption::disabled();
        Ok(TlsClient {
            config: Arc::new(config),
            verifier,
            public_only,
        })
    }

    /// Runs the handshake on `stream` before `deadline`, then makes sure the server accepted the
    /// session (see `settle.rs`). A chain that does not verify still yields the session (like
    /// `curl -k`), with the verification failure as the verdict.
    pub(crate) async fn handshake<S>(
        &self,
        stream: S,
        server_name: &ServerName<'static>,
        deadline: Instant,
    ) -> Handshake<FirstBytes<S>>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let (stream, first_bytes) = FirstBytes::new(stream);
        let name = server_name.to_str();
        let asked = Arc::new(AskedForCertificate::default());
        let mut config = ClientConfig::clone(&self.config);
        config.client_auth_cert_resolver = asked.clone();
        let connector = TlsConnector::from(Arc::new(config));
        let started = Instant::now();
        let failed = |reason, detail: TlsDetail| Handshake {
            session: None,
            facts: None,
            first_bytes: taken(&first_bytes),
            verdict: Err(StageError::new(reason, detail)),
        };
        let mut tls =
            match timeout_at(deadline, connector.connect(server_name.clone(), stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(err)) if asked.asked() => {
                    return failed(
                        Reason::TlsClientCertRequired,
                        TlsDetail::ClientCertFailed {
                            name: name.to_string(),
                            error: LibraryError::io(&err),
                        },
                    );
                }
                Ok(Err(err)) => {
                    return failed(
                        Reason::TlsHandshakeFailed,
                        TlsDetail::Failed {
                            name: name.to_string(),
                            error: LibraryError::io(&err),
                        },
                    );
                }
                Err(_) => {
                    return failed(
                        Reason::TlsTimeout,
                        TlsDetail::Silent {
                            name: name.to_string(),
                        },
                    );
                }
            };
        let (facts, verified) = self.examine(tls.get_ref().1, server_name);
        let tls13 = tls.get_ref().1.protocol_version() == Some(rustls::ProtocolVersion::TLSv1_3);
        let mut pending = Vec::new();
        if asked.asked() && tls13 {
            match settle(&mut tls, started.elapsed(), deadline).await {
                Settled::Accepted(bytes) => pending = bytes,
                Settled::Refused(refusal) => {
                    return Handshake {
                        session: None,
                        facts: Some(facts),
                        first_bytes: Vec::new(),
                        verdict: Err(StageError::new(
                            Reason::TlsClientCertRequired,
                            TlsDetail::ClientCertRefused {
                                name: name.to_string(),
                                refusal,
                            },
                        )),
                    };
                }
            }
        }
        Handshake {
            session: Some(Replay::new(pending, tls)),
            facts: Some(facts),
            first_bytes: Vec::new(),
            verdict: verified,
        }
    }

    /// The session's facts, and whether the presented chain verifies for `server_name`.
    fn examine(
        &self,
        conn: &rustls::ClientConnection,
        server_name: &ServerName<'static>,
    ) -> (TlsFacts, Result<(), StageError>) {
        let mut facts = TlsFacts {
            version: conn
                .protocol_version()
                .map(|v| version_name(v).to_string())
                .unwrap_or_default(),
            cipher: conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default(),
            alpn: conn
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            ..TlsFacts::default()
        };
        let chain = conn.peer_certificates().unwrap_or(&[]);
        facts.chain_length = chain.len();
        describe_chain(chain, &mut facts);
        let verified = match chain.split_first() {
            None => Err(StageError::new(
                Reason::TlsCertInvalid,
                TlsDetail::NoCertificate,
            )),
            Some((leaf, intermediates)) => self
                .verifier
                .verify_server_cert(leaf, intermediates, server_name, &[], UnixTime::now())
                .map(|_| ())
                .map_err(|err| {
                    StageError::new(classify_verify_error(&err), TlsDetail::Unverified(err))
                }),
        };
        match &verified {
            Ok(()) => {
                facts.verify = "ok".into();
                facts.trusted_via = Some(self.trust(chain, server_name));
            }
            Err(f) => {
                facts.verify = f.reason.as_str().into();
            }
        }
        (facts, verified)
    }
}

impl TlsClient {
    /// Which roots a chain that verified leads to.
    fn trust(&self, chain: &[CertificateDer<'_>], server_name: &ServerName<'_>) -> Trust {
        let Some((public, (leaf, intermediates))) =
            self.public_only.as_ref().zip(chain.split_first())
        else {
            return Trust::PublicRoots;
        };
        match public.verify_server_cert(leaf, intermediates, server_name, &[], UnixTime::now()) {
            Ok(_) => Trust::PublicRoots,
            Err(_) => Trust::ConfiguredCa,
        }
    }
}

/// How a TLS handshake ended.
pub(crate) struct Handshake<S> {
    /// The session, when the server accepted it (also with a chain that does not verify).
    pub(crate) session: Option<Replay<TlsStream<S>>>,
    /// What the handshake showed, when it completed.
    pub(crate) facts: Option<TlsFacts>,
    /// When the handshake failed: the first bytes the peer sent (empty when it sent none).
    pub(crate) first_bytes: Vec<u8>,
    pub(crate) verdict: Result<(), StageError>,
}

fn version_name(v: rustls::ProtocolVersion) -> &'static str {
    match v {
        rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2",
        rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3",
        _ => "other",
    }
}

/// Leaf subject and issuer, and the earliest expiry in the chain. A certificate that does not
/// parse leaves those facts empty rather than failing the probe.
fn describe_chain(chain: &[CertificateDer<'_>], facts: &mut TlsFacts) {
    for (i, der) in chain.iter().enumerate() {
        let Ok((_, cert)) = x509_parser::parse_x509_certificate(der.as_ref()) else {
            continue;
        };
        if i == 0 {
            facts.subject = cert.subject().to_string();
            facts.issuer = cert.issuer().to_string();
        }
        let not_after = cert.validity().not_after.timestamp();
        facts.not_after = Some(facts.not_after.map_or(not_after, |t| t.min(not_after)));
    }
}

/// Maps a verification error to a reason.
fn classify_verify_error(err: &rustls::Error) -> Reason {
    match err {
        rustls::Error::InvalidCertificate(cert) => match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                Reason::TlsCertExpired
            }
            CertificateError::UnknownIssuer => Reason::TlsCertUntrusted,
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                Reason::TlsHostnameMismatch
            }
            // A self-signed certificate that is also a CA (`openssl req -x509`, appliances,
            // captive portals): nobody trusted vouches for it.
            CertificateError::Other(other)
                if matches!(
                    other.0.downcast_ref::<webpki::Error>(),
                    Some(webpki::Error::CaUsedAsEndEntity)
                ) =>
            {
                Reason::TlsCertUntrusted
            }
            _ => Reason::TlsCertInvalid,
        },
        _ => Reason::TlsCertInvalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verification_errors_map_to_reasons() {
        let cases = [
            (CertificateError::Expired, Reason::TlsCertExpired),
            (CertificateError::UnknownIssuer, Reason::TlsCertUntrusted),
            (
                CertificateError::NotValidForName,
                Reason::TlsHostnameMismatch,
            ),
            (CertificateError::BadEncoding, Reason::TlsCertInvalid),
            (
                CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
                    webpki::Error::CaUsedAsEndEntity,
                ))),
                Reason::TlsCertUntrusted,
            ),
            (
                CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
                    webpki::Error::EndEntityUsedAsCa,
                ))),
                Reason::TlsCertInvalid,
            ),
        ];
        for (err, reason) in cases {
            let err = rustls::Error::InvalidCertificate(err);
            assert_eq!(classify_verify_error(&err), reason);
        }
    }
}
