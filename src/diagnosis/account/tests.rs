use std::net::SocketAddr;

use rustls::CertificateError;

use super::*;
use crate::probe::TlsDetail;

/// Verification failures read as words, never a Rust name such as `UnknownIssuer`.
#[test]
fn verification_failures_are_words() {
    let cases = [
        CertificateError::Expired,
        CertificateError::UnknownIssuer,
        CertificateError::NotValidForName,
        CertificateError::BadEncoding,
        CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
            webpki::Error::CaUsedAsEndEntity,
        ))),
        CertificateError::Other(rustls::OtherError(std::sync::Arc::new(
            webpki::Error::EndEntityUsedAsCa,
        ))),
    ];
    for err in cases {
        let detail = account(&TlsDetail::Unverified(rustls::Error::InvalidCertificate(err)).into());
        assert!(
            !detail
                .as_bytes()
                .windows(2)
                .any(|p| p[0].is_ascii_lowercase() && p[1].is_ascii_uppercase()),
            "{detail}"
        );
    }
}

/// Certificate dates as UTC dates with how far off they are, never Unix seconds.
#[test]
fn certificate_dates_are_dates() {
    use rustls::pki_types::UnixTime;
    let at = |secs| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let expired = CertificateError::ExpiredContext {
        time: at(1_796_176_182),
        not_after: at(1_796_176_182 - 31 * 86_400 - 3_600),
    };
    let words = account(&TlsDetail::Unverified(rustls::Error::InvalidCertificate(expired)).into());
    assert!(
        words.ends_with("it expired on 2026-11-01 00:49 UTC (31 days before this host's clock, 2026-12-02 01:49 UTC)"),
        "{words}"
    );
    assert!(
        !words.contains("UNIX") && !words.contains("seconds ago"),
        "{words}"
    );
}

#[test]
fn every_failing_address_is_named_with_its_own_account() {
    let addr: SocketAddr = "192.0.2.8:443".parse().expect("addr");
    let partial = Detail::Partial {
        failed: vec![
            (addr.ip(), TcpDetail::Silent { addr }.into()),
            (
                "192.0.2.9".parse().expect("ip"),
                TcpDetail::Failed {
                    addr: "192.0.2.9:443".parse().expect("addr"),
                    error: OsError::from(&io::Error::from_raw_os_error(111)),
                }
                .into(),
            ),
        ],
        working: 1,
    };
    assert_eq!(
        account(&partial),
        "2 of 3 addresses failed: 192.0.2.8 (connect to 192.0.2.8:443: no answer before the deadline); 192.0.2.9 (connect to 192.0.2.9:443: refused (a reset came back))"
    );
    let skipped = StepDetail::Skipped {
        after: Stage::Tcp,
        port: Some(8989),
    };
    assert_eq!(account(&skipped.into()), "no connection (tcp/8989 failed)");
}
