//! `/ngfw/etc/sf/connector.properties`: the SSE connector settings of a Firepower device. With
//! `--connector-properties` the exporter probes the FQDN, port and region-discovery endpoint the
//! device really uses instead of the embedded defaults.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::ServerName;

use super::model::{Config, HttpCheck, Target, TlsCheck, needs_dns};
use super::yaml::{ConfigError, FileContext};
use crate::checklist::Service;

/// The port the embedded defaults use for the connector; replaced by `connector_port`.
pub(crate) const DEFAULT_CONNECTOR_PORT: u16 = 8989;
/// The name of the target added for `region_discovery_endpoint`.
pub(crate) const REGION_DISCOVERY_TARGET: &str = "sse-region-discovery";

/// The settings the exporter uses from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnectorProperties {
    pub(crate) fqdn: Option<String>,
    pub(crate) port: Option<u16>,
    pub(crate) region_discovery_endpoint: Option<url::Url>,
    /// Checked, not used for probing: docs/configuration.md says why.
    pub(crate) registration_interval: Option<u64>,
}

/// The keys read from the file; docs/configuration.md says what each is used for (a test keeps
/// the two equal).
pub const KNOWN_KEYS: [&str; 4] = [
    "connector_fqdn",
    "connector_port",
    "region_discovery_endpoint",
    "registration_interval",
];

/// Reads and parses the file at `path`.
pub(crate) fn load(path: &Path) -> Result<ConnectorProperties, ConfigError> {
    let (ctx, text) = FileContext::read(path, "connector.properties")?;
    parse(&text, &ctx.name)
}

/// Parses `key=value` lines; `#` and `!` start comments. Keys the exporter does not use are
/// ignored (the device writes more than these four).
pub(crate) fn parse(text: &str, source_name: &str) -> Result<ConnectorProperties, ConfigError> {
    let mut props = ConnectorProperties {
        fqdn: None,
        port: None,
        region_discovery_endpoint: None,
        registration_interval: None,
    };
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let err =
            |message: String| ConfigError::new(source_name, format!("line {}", i + 1), message);
        let Some((key, value)) = line.split_once('=') else {
            return Err(err(format!("`{line}` is not a `key=value` line")));
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "connector_fqdn" => {
                if value.is_empty() || ServerName::try_from(value.to_string()).is_err() {
                    return Err(err(format!("connector_fqdn `{value}` is not a host name")));
                }
                props.fqdn = Some(value.to_string());
            }
            "connector_port" => {
                let port = value
                    .parse::<u16>()
                    .ok()
                    .filter(|p| *p != 0)
                    .ok_or_else(|| {
                        err(format!(
                            "connector_port `{value}` is not a port from 1 to 65535"
                        ))
                    })?;
                props.port = Some(port);
            }
            "region_discovery_endpoint" => {
                let url = url::Url::parse(value)
                    .ok()
                    .filter(|u| u.scheme() == "https" && u.host_str().is_some())
                    .ok_or_else(|| {
                        err(format!(
                            "region_discovery_endpoint `{value}` is not an https:// URL"
                        ))
                    })?;
                props.region_discovery_endpoint = Some(url);
            }
            "registration_interval" => {
                let secs = value.parse::<u64>().map_err(|_| {
                    err(format!(
                        "registration_interval `{value}` is not a number of seconds"
                    ))
                })?;
                props.registration_interval = Some(secs);
            }
            _ => {}
        }
    }
    Ok(props)
}

impl ConnectorProperties {
    /// Points the configuration at what the device uses: the first Cisco Cloud Configuration
    /// target gets `connector_fqdn` and `connector_port`, and the region discovery endpoint becomes
    /// a target of that row.
    pub(crate) fn apply(&self, config: &mut Config) {
        let sse = config
            .targets
            .iter()
            .position(|t| t.service == Service::CiscoCloudConfiguration);
        if let Some(index) = sse {
            let mut target = Target::clone(&config.targets[index]);
            if let Some(fqdn) = &self.fqdn {
                target.host.clone_from(fqdn);
                if let Some(tls) = &mut target.tls
                    && let Ok(name) = ServerName::try_from(fqdn.clone())
                {
                    tls.server_name = name;
                }
                target.dns = needs_dns(fqdn, target.proxy.as_ref());
            }
            if let Some(port) = self.port {
                match target
                    .tcp_ports
                    .iter()
                    .position(|p| *p == DEFAULT_CONNECTOR_PORT)
                {
                    Some(i) => target.tcp_ports[i] = port,
                    None if !target.tcp_ports.contains(&port) => target.tcp_ports.push(port),
                    None => {}
                }
            }
            config.targets[index] = Arc::new(target);
        }
        if let Some(url) = &self.region_discovery_endpoint
            && let Some(host) = url.host_str()
        {
            let template = sse.map(|i| config.targets[i].clone());
            let Some(template) = template else { return };
            let port = url.port().unwrap_or(443);
            let Ok(server_name) = ServerName::try_from(host.to_string()) else {
                return;
            };
            let extra_roots = template
                .tls
                .as_ref()
                .map(|t| t.extra_roots.clone())
                .unwrap_or_default();
            let target = Target {
                name: REGION_DISCOVERY_TARGET.into(),
                host: host.to_string(),
                service: Service::CiscoCloudConfiguration,
                dns: needs_dns(host, template.proxy.as_ref()),
                tcp_ports: vec![port],
                tls: Some(TlsCheck {
                    port,
                    server_name,
                    extra_roots,
                }),
                http: Some(HttpCheck {
                    path: match url.query() {
                        Some(q) => format!("{}?{q}", url.path()),
                        None => url.path().to_string(),
                    },
                    // The regions API answers without credentials with one of these; any of them
                    // proves the endpoint is reached.
                    expected_status: vec![200, 401, 403],
                }),
                ..Target::clone(&template)
            };
            config.targets.retain(|t| t.name != REGION_DISCOVERY_TARGET);
            config.targets.push(Arc::new(target));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Source;

    const SEED: &str = "registration_interval=180\nconnector_port=8989\nregion_discovery_endpoint=https://api-sse.cisco.com/providers/sse/api/v1/regions\nconnector_fqdn=api-sse.cisco.com\n";

    #[test]
    fn the_seed_file_parses() {
        let props = parse(SEED, "connector.properties").expect("valid");
        assert_eq!(props.fqdn.as_deref(), Some("api-sse.cisco.com"));
        assert_eq!(props.port, Some(8989));
        assert_eq!(props.registration_interval, Some(180));
        assert_eq!(
            props.region_discovery_endpoint.as_ref().map(url::Url::path),
            Some("/providers/sse/api/v1/regions")
        );
    }

    #[test]
    fn malformed_lines_are_reported_with_their_number() {
        let err = parse(
            "# comment\nconnector_fqdn=api-sse.cisco.com\nconnector_port 8989\n",
            "cp",
        )
        .expect_err("no equals sign");
        assert_eq!(err.field, "line 3");
        assert!(err.to_string().starts_with("cp: line 3: "), "{err}");
        let err = parse("connector_port=89890\n", "cp").expect_err("bad port");
        assert!(err.to_string().contains("line 1") && err.to_string().contains("89890"));
        let err = parse("region_discovery_endpoint=ftp://x\n", "cp").expect_err("bad url");
        assert!(err.to_string().contains("https://"));
    }

    #[test]
    fn applying_points_the_sse_target_at_the_device_settings() {
        let mut config = Source::default().load().expect("default");
        let props = parse(
            "connector_fqdn=sse.example.test\nconnector_port=9443\nregion_discovery_endpoint=https://regions.example.test:8443/providers/sse/api/v1/regions\n",
            "cp",
        )
        .expect("valid");
        props.apply(&mut config);
        let sse = &config.targets[0];
        assert_eq!(sse.host, "sse.example.test");
        assert_eq!(sse.tcp_ports, vec![443, 9443]);
        assert_eq!(
            sse.tls
                .as_ref()
                .map(|t| t.server_name.to_str().into_owned()),
            Some("sse.example.test".into())
        );
        let discovery = config.targets.last().expect("added");
        assert_eq!(discovery.name, REGION_DISCOVERY_TARGET);
        assert_eq!(discovery.host, "regions.example.test");
        assert_eq!(discovery.connect_ports(), vec![8443]);
        assert_eq!(
            discovery.http.as_ref().map(|h| h.path.as_str()),
            Some("/providers/sse/api/v1/regions")
        );
    }
}
