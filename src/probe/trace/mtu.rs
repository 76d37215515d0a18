//! Where the MTU drops on the way, after a handshake or an answer stalled with full-size packets
//! and arrived with small ones (a path-MTU black hole). Each router the trace found gets two UDP
//! datagrams with "don't fragment" set: one of this host's full packet size toward the
//! destination, one small. A router the small one reaches (it answers ICMP port unreachable) and
//! the full-size one does not sits behind the link whose MTU is smaller; a router that sends ICMP
//! "fragmentation needed" names that MTU itself.
//!
//! The datagrams go to the routers' own addresses, never to the destination: a "fragmentation
//! needed" that does come back lowers this host's path MTU toward that router only, so the next
//! probe of the destination still meets the black hole (with `IP_PMTUDISC_PROBE` the kernel sends
//! full size whatever it cached, and still caches what ICMP reports).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use nix::sys::socket::{MsgFlags, SockType, SockaddrIn, SockaddrIn6, connect, setsockopt, sockopt};
use rustix::net::sockopt::{
    Ipv4PathMtuDiscovery, Ipv6PathMtuDiscovery, set_ip_mtu_discover, set_ipv6_mtu_discover,
};
use serde::Serialize;
use tokio::io::Interest;

use super::{Hop, HopAnswer, nonblocking_socket, queued_icmp};

/// The port the datagrams go to (traceroute's first UDP port: nothing listens there).
const PORT: u16 = 33434;
/// The small datagram's payload: far below any MTU on the way.
const SMALL: usize = 64;
/// IPv4 and UDP headers; IPv6 and UDP headers.
const V4_HEADERS: u32 = 28;
const V6_HEADERS: u32 = 48;
/// ICMP "fragmentation needed" (IPv4) and "packet too big" (IPv6).
const ICMP_FRAG_NEEDED: (u8, u8) = (3, 4);
const ICMP6_PACKET_TOO_BIG: u8 = 2;

/// Where full-size packets stop on the way to the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct MtuDrop {
    /// The packet size tried: this host's MTU toward the destination, what its TCP offers.
    pub(crate) size: u32,
    /// The last router full-size packets reach (`None`: not even the first).
    pub(crate) last_full: Option<HopAt>,
    /// The first router only small packets reach: the small link sits just before it.
    pub(crate) first_small: HopAt,
    /// The MTU a router reported in ICMP "fragmentation needed", and which router.
    pub(crate) reported: Option<Reported>,
}

/// A router of the trace: its distance and address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct HopAt {
    pub(crate) hop: u8,
    pub(crate) address: IpAddr,
}

/// What a router said in ICMP "fragmentation needed".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Reported {
    pub(crate) by: IpAddr,
    pub(crate) mtu: u32,
}

/// What one datagram got back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reply {
    /// The router answered (ICMP port unreachable, or any answer from the router itself).
    Reached,
    /// A router on the way could not forward it without fragmenting.
    TooBig(Reported),
    /// Nothing within the timeout.
    Silent,
}

/// Sends the full-size and the small datagram to every router of `hops` toward `destination`,
/// all at once, and reads where full-size packets stop. `None` when they reach every router that
/// answers small ones (the drop is past the last router, or only toward this host).
pub(crate) async fn locate(
    destination: SocketAddr,
    hops: &[Hop],
    timeout: Duration,
) -> Option<MtuDrop> {
    let size = full_size(destination).ok()?;
    let routers: Vec<HopAt> = hops
        .iter()
        .filter(|h| h.answer == HopAnswer::TimeExceeded)
        .filter_map(|h| {
            h.from.map(|address| HopAt {
                hop: h.ttl,
                address,
            })
        })
        .filter(|r| r.address != destination.ip())
        .collect();
    let replies = futures_util::future::join_all(routers.iter().map(|r| async move {
        let (full, small) = futures_util::future::join(
            send(r.address, payload(r.address, size), timeout),
            send(r.address, SMALL, timeout),
        )
        .await;
        (*r, full, small)
    }))
    .await;
    read_drop(size, &replies)
}

/// The first router small packets reach and full-size ones do not.
fn read_drop(size: u32, replies: &[(HopAt, Reply, Reply)]) -> Option<MtuDrop> {
    let at = replies
        .iter()
        .position(|(_, full, small)| *small == Reply::Reached && *full != Reply::Reached)?;
    let last_full = replies[..at]
        .iter()
        .rev()
        .find(|(_, full, _)| *full == Reply::Reached)
        .map(|(r, _, _)| *r);
    let reported = replies.iter().find_map(|(_, full, _)| match full {
        Reply::TooBig(reported) => Some(*reported),
        _ => None,
    });
    Some(MtuDrop {
        size,
        last_full,
        first_small: replies[at].0,
        reported,
    })
}

/// This host's MTU toward `destination` (what TCP sizes its segments by), as a UDP socket
/// connected there reads it; connecting a UDP socket sends nothing.
fn full_size(destination: SocketAddr) -> std::io::Result<u32> {
    let bind: SocketAddr = match destination {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = std::net::UdpSocket::bind(bind)?;
    socket.connect(destination)?;
    let mtu = match destination {
        SocketAddr::V4(_) => rustix::net::sockopt::ip_mtu(&socket)?,
        SocketAddr::V6(_) => rustix::net::sockopt::ipv6_mtu(&socket)?,
    };
    // One UDP datagram carries at most 65 535 bytes (loopback's MTU is larger).
    Ok(mtu.min(65_535))
}

/// The payload that makes a datagram of `size` bytes on the wire toward `to`.
fn payload(to: IpAddr, size: u32) -> usize {
    let headers = if to.is_ipv6() { V6_HEADERS } else { V4_HEADERS };
    usize::try_from(size.saturating_sub(headers)).unwrap_or(SMALL)
}

/// One datagram of `len` bytes with "don't fragment" to `to`, and what came back.
async fn send(to: IpAddr, len: usize, timeout: Duration) -> Reply {
    match send_inner(to, len, timeout).await {
        Ok(reply) => reply,
        Err(err) => {
            tracing::debug!(%to, len, error = %err, "path MTU datagram failed");
            Reply::Silent
        }
    }
}

async fn send_inner(to: IpAddr, len: usize, timeout: Duration) -> std::io::Result<Reply> {
    let fd = nonblocking_socket(to, SockType::Datagram, None)?;
    match SocketAddr::new(to, PORT) {
        SocketAddr::V4(addr) => {
            setsockopt(&fd, sockopt::Ipv4RecvErr, &true)?;
            set_ip_mtu_discover(&fd, Ipv4PathMtuDiscovery::PROBE)?;
            connect(fd.as_raw_fd(), &SockaddrIn::from(addr))?;
        }
        SocketAddr::V6(addr) => {
            setsockopt(&fd, sockopt::Ipv6RecvErr, &true)?;
            set_ipv6_mtu_discover(&fd, Ipv6PathMtuDiscovery::PROBE)?;
            connect(fd.as_raw_fd(), &SockaddrIn6::from(addr))?;
        }
    }
    nix::sys::socket::send(fd.as_raw_fd(), &vec![0u8; len], MsgFlags::empty())?;
    let socket = tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(fd))?;
    // The kernel flags the socket in error when it queues the ICMP message.
    let Ok(ready) = tokio::time::timeout(timeout, socket.ready(Interest::ERROR)).await else {
        return Ok(Reply::Silent);
    };
    ready?;
    Ok(read_reply(socket.as_fd(), to))
}

/// The ICMP message the kernel queued for this socket.
fn read_reply(fd: BorrowedFd<'_>, to: IpAddr) -> Reply {
    let Some((err, from)) = queued_icmp(fd) else {
        return Reply::Silent;
    };
    let too_big = if to.is_ipv6() {
        err.ee_type == ICMP6_PACKET_TOO_BIG
    } else {
        (err.ee_type, err.ee_code) == ICMP_FRAG_NEEDED
    };
    match from {
        Some(by) if too_big => Reply::TooBig(Reported {
            by,
            mtu: err.ee_info,
        }),
        // Only the router itself answers for its own address.
        Some(from) if from == to => Reply::Reached,
        _ => Reply::Silent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hop: u8, address: &str) -> HopAt {
        HopAt {
            hop,
            address: address.parse().expect("address"),
        }
    }

    #[test]
    fn the_drop_is_before_the_first_router_only_small_packets_reach() {
        let reported = Reported {
            by: "10.77.2.2".parse().expect("address"),
            mtu: 1280,
        };
        let replies = [
            (at(1, "10.77.1.1"), Reply::Reached, Reply::Reached),
            (at(2, "10.77.2.2"), Reply::Reached, Reply::Reached),
            (at(3, "10.77.3.2"), Reply::TooBig(reported), Reply::Reached),
        ];
        let found = read_drop(1500, &replies).expect("a drop");
        assert_eq!(found.last_full, Some(at(2, "10.77.2.2")));
        assert_eq!(found.first_small, at(3, "10.77.3.2"));
        assert_eq!(found.reported, Some(reported));
        // A router that answers neither size says nothing about the MTU.
        let replies = [
            (at(1, "10.77.1.1"), Reply::Silent, Reply::Silent),
            (at(2, "10.77.2.2"), Reply::Silent, Reply::Reached),
        ];
        let found = read_drop(1500, &replies).expect("a drop");
        assert_eq!(
            (found.last_full, found.first_small),
            (None, at(2, "10.77.2.2"))
        );
        let all_full = [(at(1, "10.77.1.1"), Reply::Reached, Reply::Reached)];
        assert_eq!(read_drop(1500, &all_full), None);
    }

    #[tokio::test]
    async fn a_router_on_loopback_answers_both_sizes() {
        let hops = [Hop {
            ttl: 1,
            from: Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            answer: HopAnswer::TimeExceeded,
            rtt: None,
        }];
        let destination: SocketAddr = "127.0.0.2:443".parse().expect("address");
        assert_eq!(
            send(
                Ipv4Addr::LOCALHOST.into(),
                payload(destination.ip(), 65_535),
                Duration::from_secs(1)
            )
            .await,
            Reply::Reached
        );
        assert_eq!(
            locate(destination, &hops, Duration::from_secs(1)).await,
            None
        );
    }
}
