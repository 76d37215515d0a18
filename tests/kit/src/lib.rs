//! The project's test kit: real servers on loopback for the exporter to probe (DNS with
//! hickory-server, TCP, TLS with rcgen certificates, HTTP, CONNECT proxies), a small HTTP client,
//! a fake management center REST API (`fmc.rs`), a parser for the exposition format, and the benchmark's lab and contenders. Used by the
//! integration tests (`tests/it/`) and the benchmark (`examples/compare/`) alike.

pub mod bench;
pub mod browser;
pub mod client;
pub mod daemons;
pub mod dns;
pub mod exporter;
pub mod exposition;
pub mod fmc;
pub mod servers;

pub use client::{request, request_tls};
pub use dns::{Answer, DnsServer};
pub use exposition::{Exposition, Sample};
pub use servers::{Behaviour, Pki, Proxy, ProxyMode, TlsServer};
