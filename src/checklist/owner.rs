//! Who owns the fix of a failure: the team an alert routes to (`owner`), for every reason.

use serde::Serialize;

use super::Reason;

/// The team that owns the fix of a failure, as an Alertmanager routing label (`owner`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Owner {
    /// Whoever runs the DNS servers the device (and this exporter) asks.
    Dns,
    /// Whoever runs the firewalls and routers on the path to the Cisco cloud.
    Firewall,
    /// Whoever runs the HTTP proxy and web filter.
    Proxy,
    /// Whoever runs TLS inspection and the PKI behind it.
    TlsInspection,
    /// Whoever administers the management center and the devices' settings.
    FmcAdmin,
    /// Cisco (the cloud service, through a TAC case).
    Cisco,
    /// Whoever runs this exporter and Prometheus.
    Monitoring,
}

impl Owner {
    pub(crate) const ALL: [Owner; 7] = [
        Owner::Dns,
        Owner::Firewall,
        Owner::Proxy,
        Owner::TlsInspection,
        Owner::FmcAdmin,
        Owner::Cisco,
        Owner::Monitoring,
    ];

    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Owner::Dns => "dns",
            Owner::Firewall => "firewall",
            Owner::Proxy => "proxy",
            Owner::TlsInspection => "tls_inspection",
            Owner::FmcAdmin => "fmc_admin",
            Owner::Cisco => "cisco",
            Owner::Monitoring => "monitoring",
        }
    }

    /// The team in words.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Owner::Dns => "DNS",
            Owner::Firewall => "firewall and network",
            Owner::Proxy => "proxy and web filter",
            Owner::TlsInspection => "PKI / TLS inspection",
            Owner::FmcAdmin => "FMC administrator",
            Owner::Cisco => "Cisco (TAC)",
            Owner::Monitoring => "monitoring (this exporter)",
        }
    }
}

impl Serialize for Owner {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl Reason {
    /// Who owns the fix (`None` for a verdict that needs no fix). Every reason is listed here, so
    /// a new one must be given an owner.
    pub(crate) fn owner(self) -> Option<Owner> {
        use Reason as R;
        match self {
            R::Ok | R::Skipped => None,
            R::DnsNxdomain
            | R::DnsSinkhole
            | R::DnsLoopback
            | R::DnsServfail
            | R::DnsRefused
            | R::DnsTimeout
            | R::DnsNoAnswer
            | R::DnsCnameLoop
            | R::DnsError => Some(Owner::Dns),
            R::TcpRefused
            | R::TcpTimeout
            | R::TcpUnreachable
            | R::TcpError
            | R::TcpPartial
            | R::TlsMtuBlackHole
            | R::HttpMtuBlackHole => Some(Owner::Firewall),
            R::ProxyUnreachable
            | R::ProxyTimeout
            | R::ProxyAuthRequired
            | R::ProxyAuthUnsupported
            | R::ProxyConnectRefused
            | R::ProxyUpstreamFailed
            | R::ProxyFailed
            | R::TlsPlainHttp
            | R::HttpUnexpectedStatus
            | R::HttpBlockPage
            | R::HttpProxyAuthRequired => Some(Owner::Proxy),
            R::TlsTimeout
            | R::TlsHandshakeFailed
            | R::TlsPartial
            | R::TlsClientCertRequired
            | R::TlsCertUntrusted
            | R::TlsCertExpired
            | R::TlsHostnameMismatch
            | R::TlsCertInvalid
            | R::HttpTimeout
            | R::HttpInvalidResponse => Some(Owner::TlsInspection),
            R::DnsNotConfigured | R::ClockSkew | R::CloudIntegrationDisabled => {
                Some(Owner::FmcAdmin)
            }
            R::BudgetExhausted => Some(Owner::Monitoring),
        }
    }
}
