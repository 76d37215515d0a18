//! Shared test harness: real servers on loopback and the exporter in-process.
#![allow(dead_code)]

pub mod dns;
pub mod exporter;
pub mod servers;

pub use dns::{Answer, DnsServer};
pub use exporter::{Exporter, Exposition};
pub use servers::{Behaviour, Pki, Proxy, ProxyMode, TlsServer};
