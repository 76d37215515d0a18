//! Loopback peers: certificates from rcgen (`pki.rs`), TLS servers that answer HTTP or misbehave
//! (`tls.rs`), HTTP CONNECT proxies (`proxy.rs`), and plain TCP listeners.

use std::net::SocketAddr;

use tokio::net::TcpListener;

mod pki;
mod proxy;
mod relay;
mod tls;

pub use pki::{Leaf, Pki, self_signed_ca_leaf};
pub use proxy::{Proxy, ProxyMode};
pub use relay::DelayRelay;
pub use tls::{Behaviour, TlsServer, acceptor};

/// A loopback listener with room for thousands of connections arriving at once (the benchmark's
/// labs), so a full accept queue never turns into a one-second SYN retransmission.
pub fn wide_listener() -> TcpListener {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    socket.listen(8192).expect("listen")
}

/// A plain TCP listener that accepts and closes (what `telnet host 8989` needs to see).
pub async fn tcp_listener() -> SocketAddr {
    let listener = wide_listener();
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            drop(stream);
        }
    });
    addr
}

/// A listener whose accept queue is full and never drained: the kernel drops further SYNs, so a
/// connection attempt gets no answer at all (a silent drop, on loopback). Keep the returned value
/// alive for as long as the port must stay that way.
pub async fn black_hole() -> (
    SocketAddr,
    Vec<tokio::net::TcpStream>,
    tokio::net::TcpListener,
) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let listener = socket.listen(0).expect("listen");
    let addr = listener.local_addr().expect("addr");
    let mut fillers = Vec::new();
    // Fill the queue: connections that complete while the queue has room.
    for _ in 0..8 {
        match tokio::time::timeout(
            std::time::Duration::from_millis(200),
            tokio::net::TcpStream::connect(addr),
        )
        .await
        {
            Ok(Ok(stream)) => fillers.push(stream),
            _ => break,
        }
    }
    (addr, fillers, listener)
}

/// A port nothing listens on: connections are refused.
pub fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
