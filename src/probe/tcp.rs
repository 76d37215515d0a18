//! The `telnet host port` step: open a TCP connection and tell a refusal from a silent drop.

use std::io;
use std::net::SocketAddr;

use tokio::net::TcpStream;
use tokio::time::{Instant, timeout_at};

use super::detail::TcpDetail;
use super::error::StageError;
use crate::checklist::Reason;

/// Connects to `addr` before `deadline`.
pub(crate) async fn connect(addr: SocketAddr, deadline: Instant) -> Result<TcpStream, StageError> {
    match timeout_at(deadline, TcpStream::connect(addr)).await {
        Ok(Ok(stream)) => {
            // Probes exchange a few small messages: do not let Nagle delay them.
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(err)) => Err(failed(addr, &err)),
        Err(_) => Err(silent(addr)),
    }
}

fn failed(addr: SocketAddr, err: &io::Error) -> StageError {
    StageError::new(
        classify(err),
        TcpDetail::Failed {
            addr,
            error: err.into(),
        },
    )
}

fn silent(addr: SocketAddr) -> StageError {
    StageError::new(Reason::TcpTimeout, TcpDetail::Silent { addr })
}

/// The segment size of the second try after a stall: small enough for any path (the IPv4
/// minimum datagram of 576 bytes less 40 bytes of headers), so no packet needs fragmenting.
pub(crate) const SMALL_MSS: u32 = 536;

/// Connects to `addr` before `deadline` with segments of at most [`SMALL_MSS`] bytes each way (the
/// MSS is announced in the SYN, so the peer sends small segments too).
pub(crate) async fn connect_small_mss(
    addr: SocketAddr,
    deadline: Instant,
) -> Result<TcpStream, StageError> {
    let fail = |err: &io::Error| failed(addr, err);
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(|e| fail(&e))?;
    nix::sys::socket::setsockopt(&socket, nix::sys::socket::sockopt::TcpMaxSeg, &SMALL_MSS)
        .map_err(|e| fail(&io::Error::from(e)))?;
    match timeout_at(deadline, socket.connect(addr)).await {
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
        Ok(Err(err)) => Err(fail(&err)),
        Err(_) => Err(silent(addr)),
    }
}

/// Maps a connect error to a reason.
fn classify(err: &io::Error) -> Reason {
    match err.kind() {
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionReset => Reason::TcpRefused,
        io::ErrorKind::TimedOut => Reason::TcpTimeout,
        io::ErrorKind::NetworkUnreachable
        | io::ErrorKind::HostUnreachable
        | io::ErrorKind::AddrNotAvailable => Reason::TcpUnreachable,
        _ => Reason::TcpError,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_closed_port_is_refused() {
        // Bind then drop: the port is free and nothing listens on it.
        let addr = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr")
        };
        let err = connect(addr, Instant::now() + Duration::from_secs(2))
            .await
            .expect_err("nothing listens");
        assert_eq!(err.reason, Reason::TcpRefused);
        assert!(
            matches!(err.detail, super::super::Detail::Tcp(TcpDetail::Failed { addr: a, error }) if a == addr && error.kind == io::ErrorKind::ConnectionRefused),
            "{:?}",
            err.detail
        );
    }

    #[tokio::test]
    async fn a_listening_port_connects() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        connect(addr, Instant::now() + Duration::from_secs(2))
            .await
            .expect("connects");
    }
}
