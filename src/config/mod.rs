//! Configuration in two stages: `raw.rs` mirrors the YAML file as written, `validate.rs` turns it
//! into the typed model of `model.rs`; `yaml.rs` is the one loader every file goes through, and
//! `connector.rs` applies a device's `connector.properties` on top. Every error names the file, the
//! field and what was expected.

mod ca_files;
mod connector;
mod embedded;
mod fmc;
mod indent;
mod model;
mod proxy;
mod raw;
mod secret;
#[cfg(test)]
mod tests;
mod validate;
mod yaml;

use std::path::PathBuf;

pub use connector::KNOWN_KEYS as CONNECTOR_KEYS;
pub(crate) use fmc::CDFMC_GLOBAL_DOMAIN;
pub use model::Region;
pub(crate) use model::{
    Config, Credentials, FmcAuth, FmcSettings, FmcTrust, PathTraceSettings, ProxySpec,
    ResolverSpec, Target, TlsCheck,
};
pub(crate) use raw::{DnsProtocol, IpPreference};
pub(crate) use secret::read_secret;
pub use yaml::ConfigError;
pub(crate) use yaml::{FileContext, clip};

/// What to load, as the command line says it.
#[derive(Debug, Clone, Default)]
pub struct Source {
    pub file: Option<PathBuf>,
    pub region: Option<Region>,
    /// A device's `connector.properties`, applied on top of the configuration.
    pub connector_properties: Option<PathBuf>,
}

/// A configuration from YAML text, for tests that need a typed one (panics when it is invalid).
#[cfg(test)]
pub(crate) fn parse_for_test(text: &str) -> Config {
    validate::parse(text, &FileContext::embedded("test"), None).expect("a valid configuration")
}

impl Source {
    /// Reads and validates the configuration (and the connector properties, when given).
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut config = self.load_file()?;
        if let Some(path) = &self.connector_properties {
            connector::load(path)?.apply(&mut config);
            // The page and `check` say where the targets came from: not the embedded list alone.
            config.source = format!("{} with {}", config.source, path.display());
        }
        Ok(config)
    }

    fn load_file(&self) -> Result<Config, ConfigError> {
        match &self.file {
            Some(path) => {
                let (ctx, text) = FileContext::read(path, "the configuration file")?;
                validate::parse(&text, &ctx, self.region)
            }
            None => {
                let region = self.region.unwrap_or(Region::Us);
                let ctx = FileContext::embedded(format!("embedded default ({})", region.as_str()));
                validate::parse("{}", &ctx, Some(region))
            }
        }
    }
}
