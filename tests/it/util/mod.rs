//! Shared test harness: real servers on loopback and the exporter in-process.
#![allow(dead_code)]

pub mod dns;
pub mod exporter;
pub mod servers;

// Not every user of the harness (tests, the benchmark) needs every piece.
#[allow(unused_imports)]
pub use dns::{Answer, DnsServer};
#[allow(unused_imports)]
pub use exporter::{Exporter, Exposition};
#[allow(unused_imports)]
pub use servers::{Behaviour, Pki, Proxy, ProxyMode, TlsServer};
