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

/// The loopback addresses a test world's names resolve to, as a CDN name has several: a server
/// that stands for a Cisco host listens on each of them, on one port.
pub const WORLD_ADDRESSES: [[u8; 4]; 2] = [[127, 0, 0, 1], [127, 0, 0, 2]];

/// A loopback listener with room for thousands of connections arriving at once (the benchmark's
/// labs), so a full accept queue never turns into a one-second SYN retransmission.
pub fn wide_listener() -> TcpListener {
    listen_on(SocketAddr::from((WORLD_ADDRESSES[0], 0))).expect("bind")
}

fn listen_on(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(addr)?;
    socket.listen(8192)
}

/// Wide listeners on one port of every [`WORLD_ADDRESSES`] address (the first one's address is
/// the server's address).
pub fn world_listeners() -> Vec<TcpListener> {
    loop {
        let first = wide_listener();
        let port = first.local_addr().expect("addr").port();
        let others: Result<Vec<TcpListener>, _> = WORLD_ADDRESSES[1..]
            .iter()
            .map(|ip| listen_on(SocketAddr::from((*ip, port))))
            .collect();
        if let Ok(others) = others {
            return std::iter::once(first).chain(others).collect();
        }
    }
}

/// A plain TCP listener on every world address that accepts and closes (what
/// `telnet host 8989` needs to see).
pub async fn tcp_listener() -> SocketAddr {
    let listeners = world_listeners();
    let addr = listeners[0].local_addr().expect("addr");
    for listener in listeners {
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        });
    }
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
    black_hole_at("127.0.0.1:0".parse().expect("addr")).await
}

/// The same at `addr` (a port another server holds on another loopback address, say).
pub async fn black_hole_at(
    addr: SocketAddr,
) -> (
    SocketAddr,
    Vec<tokio::net::TcpStream>,
    tokio::net::TcpListener,
) {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.bind(addr).expect("bind");
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

/// A port nothing listens on: connections are refused. The port stays bound (never listening,
/// without `SO_REUSEADDR`) for the rest of the test process, so no server a later test starts can
/// take it and answer there.
pub fn closed_port() -> u16 {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind("127.0.0.1:0".parse().expect("addr"))
        .expect("bind");
    let port = socket.local_addr().expect("addr").port();
    std::mem::forget(socket);
    port
}
