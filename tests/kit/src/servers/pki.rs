//! A private CA from rcgen that signs leaf certificates for the tests' servers.

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::{CertificateDer, PrivatePkcs8KeyDer};

/// A private CA that signs leaf certificates for the tests.
pub struct Pki {
    issuer: Issuer<'static, KeyPair>,
    pub ca_pem: String,
    pub ca_der: CertificateDer<'static>,
    pub ca_file: PathBuf,
}

/// A certificate chain and its key, ready for a TLS server.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivatePkcs8KeyDer<'static>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Leaf {
    /// Writes `NAME.crt` and `NAME.key` into `dir`.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, &self.cert_pem).expect("write cert");
        std::fs::write(&key, &self.key_pem).expect("write key");
        (cert, key)
    }
}

/// A self-signed certificate for `names` that is also a CA (`basicConstraints CA:TRUE`), what
/// `openssl req -x509`, many appliances and captive portals present.
pub fn self_signed_ca_leaf(names: &[&str]) -> Leaf {
    let key = KeyPair::generate().expect("key");
    let mut params = leaf_params(names);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "Captive Portal");
    let cert = params.self_signed(&key).expect("self-signed");
    Leaf {
        chain: vec![cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// Certificate parameters with `names` as subject alternative names.
fn leaf_params(names: &[&str]) -> CertificateParams {
    CertificateParams::new(
        names
            .iter()
            .map(std::string::ToString::to_string)
            .collect::<Vec<_>>(),
    )
    .expect("params")
}

fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    params
        .distinguished_name
        .push(DnType::OrganizationName, "Test PKI");
    params
}

impl Pki {
    /// A CA named `common_name`, its PEM written to `dir`.
    pub fn new(dir: &Path, common_name: &str) -> Pki {
        let key = KeyPair::generate().expect("key");
        let params = ca_params(common_name);
        let cert = params.self_signed(&key).expect("ca");
        let ca_pem = cert.pem();
        let file_name: String = common_name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        let ca_file = dir.join(format!("{file_name}.pem"));
        std::fs::write(&ca_file, &ca_pem).expect("write ca");
        Pki {
            issuer: Issuer::new(params, key),
            ca_pem,
            ca_der: cert.der().clone(),
            ca_file,
        }
    }

    /// A leaf for `names`, valid from `not_before` to `not_after` (offsets from now, in days).
    pub fn leaf_valid(&self, names: &[&str], not_before_days: i64, not_after_days: i64) -> Leaf {
        let key = KeyPair::generate().expect("key");
        let mut params = leaf_params(names);
        params.distinguished_name.push(DnType::CommonName, names[0]);
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now + time::Duration::days(not_before_days);
        params.not_after = now + time::Duration::days(not_after_days);
        let cert = params.signed_by(&key, &self.issuer).expect("sign");
        Leaf {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// A leaf for `names`, valid for a year.
    pub fn leaf(&self, names: &[&str]) -> Leaf {
        self.leaf_valid(names, -1, 365)
    }
}
