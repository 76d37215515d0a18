//! The integration tests' harness: the test kit's loopback servers, client and parser, and the
//! exporter started in-process.

pub mod exporter;

pub use exporter::Exporter;
pub use firepower_cloud_testkit::{
    Answer, Behaviour, DnsServer, Exposition, Pki, Proxy, ProxyMode, TlsServer, servers,
};
