//! The TLS client for the management center: a chain to the public roots or to `ca_file`, or
//! exactly the certificate of `fingerprint_sha256`, or (said loudly) anything. Handshake
//! signatures are checked in every case.

use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::{ClientConfig, RootCertStore};

use super::FmcError;
use crate::config::FmcTrust;
use crate::handshake::SignaturesOnly;

pub(super) fn client_config(trust: &FmcTrust) -> Result<ClientConfig, FmcError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let setup = |e: &dyn std::fmt::Display| FmcError::Tls(format!("TLS client setup: {e}"));
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| setup(&e))?;
    let verifier: Arc<dyn ServerCertVerifier> = match trust {
        FmcTrust::PublicRoots | FmcTrust::Anchors(_) => {
            let mut roots = RootCertStore::empty();
            match trust {
                FmcTrust::Anchors(anchors) => {
                    for cert in anchors.iter() {
                        roots.add(cert.clone()).map_err(|e| setup(&e))?;
                    }
                }
                _ => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
            }
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| setup(&e))?
        }
        // An FMC's self-signed certificate names whatever it names: the pin replaces the chain
        // and name checks.
        FmcTrust::Fingerprint(pin) => Arc::new(SignaturesOnly {
            provider,
            pin: Some(*pin),
        }),
        FmcTrust::Anything => Arc::new(SignaturesOnly {
            provider,
            pin: None,
        }),
    };
    let mut config = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
