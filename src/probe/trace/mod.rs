//! Where the path breaks: after a TCP stage fails, TCP connection attempts to the same address and
//! port with time-to-live 1, 2, 3… (what `traceroute -M tcpconn` does). Each router where the
//! TTL runs out answers with ICMP time exceeded; a router that rejects the connection answers
//! ICMP unreachable; the destination answers SYN-ACK or RST. With `IP_RECVERR` the kernel hands
//! the ICMP sender to this unprivileged process (no raw socket, no capability). The attempts run
//! together, one socket each, and each waits at most the hop timeout.

use std::io::IoSliceMut;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant, SystemTime};

use nix::errno::Errno;
use nix::sys::socket::{
    AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn,
    SockaddrIn6, SockaddrStorage, connect, recvmsg, setsockopt, socket, sockopt,
};
use serde::Serialize;

mod mtu;
pub(crate) use mtu::MtuDrop;
#[cfg(test)]
pub(crate) use mtu::{HopAt, Reported};

/// ICMP types and codes as the kernel reports them (`sock_extended_err.ee_type`/`ee_code`).
const ICMP_DEST_UNREACH: u8 = 3;
const ICMP_TIME_EXCEEDED: u8 = 11;
const ICMP6_DST_UNREACH: u8 = 1;
const ICMP6_TIME_EXCEEDED: u8 = 3;
const SO_EE_ORIGIN_ICMP: u8 = 2;
const SO_EE_ORIGIN_ICMP6: u8 = 3;

/// What one TTL got back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum HopAnswer {
    /// ICMP time exceeded: a router on the way.
    TimeExceeded,
    /// ICMP unreachable: a router (or the destination's host) rejects the connection.
    Unreachable(Rejection),
    /// RST: something at this distance refuses the port.
    Refused,
    /// SYN-ACK: the destination accepted.
    Reached,
    /// Nothing within the hop timeout.
    Silent,
    /// This host's own stack refused to send: no route or no address for the family.
    Local(LocalCause),
}

/// Why this host's own stack refused to send a packet toward the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LocalCause {
    /// `ENETUNREACH`: no route to the destination in this host's routing table.
    NoRoute,
    /// `EADDRNOTAVAIL`: no source address of the destination's family on this host.
    NoAddress,
}

/// Why an ICMP unreachable said no.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Rejection {
    /// Communication administratively prohibited (a firewall's reject rule, a `prohibit` route).
    AdminProhibited,
    HostUnreachable,
    NetUnreachable,
    PortUnreachable,
    Other,
}

impl Rejection {
    fn from_icmp(v6: bool, code: u8) -> Rejection {
        match (v6, code) {
            (false, 9 | 10 | 13) | (true, 1) => Rejection::AdminProhibited,
            (false, 1) | (true, 3) => Rejection::HostUnreachable,
            (false, 0) | (true, 0) => Rejection::NetUnreachable,
            (false, 3) | (true, 4) => Rejection::PortUnreachable,
            _ => Rejection::Other,
        }
    }
}

/// One TTL's attempt.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Hop {
    pub(crate) ttl: u8,
    /// Who answered: the router, or the destination for `Refused`/`Reached`.
    pub(crate) from: Option<IpAddr>,
    pub(crate) answer: HopAnswer,
    #[serde(rename = "rtt_ms", serialize_with = "as_millis")]
    pub(crate) rtt: Option<Duration>,
}

#[allow(clippy::ref_option)] // the signature serde's `serialize_with` calls
fn as_millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64() * 1000.0),
        None => s.serialize_none(),
    }
}

/// How the path ends, read from the hops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub(crate) enum PathEnd {
    /// Routers answer up to some hop, then nothing: a silent drop after the last one.
    Silent,
    /// A router (or the destination's network) sent ICMP unreachable at this hop.
    Rejected { hop: u8, rejection: Rejection },
    /// A RST came from this distance: the destination refuses the port (or a device at that
    /// distance answers for it).
    Refused { hop: u8 },
    /// The destination accepted at this distance (the failure did not repeat).
    Reached { hop: u8 },
    /// Nothing left this host: its own configuration has no route or address for the family.
    Local { cause: LocalCause },
}

impl PathEnd {
    /// The label value of `firepower_cloud_path_info{end}`.
    pub(crate) fn label(self) -> &'static str {
        match self {
            PathEnd::Silent => "silent",
            PathEnd::Rejected { rejection, .. } => match rejection {
                Rejection::AdminProhibited => "rejected_admin_prohibited",
                Rejection::HostUnreachable => "rejected_host_unreachable",
                Rejection::NetUnreachable => "rejected_net_unreachable",
                Rejection::PortUnreachable => "rejected_port_unreachable",
                Rejection::Other => "rejected",
            },
            PathEnd::Refused { .. } => "refused",
            PathEnd::Reached { .. } => "reached",
            PathEnd::Local {
                cause: LocalCause::NoRoute,
            } => "local_no_route",
            PathEnd::Local {
                cause: LocalCause::NoAddress,
            } => "local_no_address",
        }
    }
}

/// One trace to an address and port.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PathTrace {
    pub(crate) destination: SocketAddr,
    /// The hops up to where the path ends (later TTLs say nothing more).
    pub(crate) hops: Vec<Hop>,
    pub(crate) end: PathEnd,
    /// Where full-size packets stop, when a path-MTU black hole was traced and a router told.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mtu: Option<MtuDrop>,
    #[serde(skip)]
    pub(crate) at: SystemTime,
}

impl PathTrace {
    /// The last hop that answered (a router or the destination), with its address.
    pub(crate) fn last_answer(&self) -> Option<(u8, IpAddr)> {
        self.hops
            .iter()
            .rev()
            .find_map(|h| h.from.map(|a| (h.ttl, a)))
    }
}

/// What a trace looks for besides the hops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Look {
    /// Where the path ends.
    Path,
    /// Also where full-size packets stop (after a path-MTU black hole).
    Mtu,
}

/// Traces the path to `destination` with TTLs 1 to `max_hops`, all at once; with `Look::Mtu`,
/// then where full-size packets stop among the routers found.
pub(crate) async fn trace(
    destination: SocketAddr,
    max_hops: u8,
    hop_timeout: Duration,
    look: Look,
) -> PathTrace {
    let attempts = (1..=max_hops.max(1)).map(|ttl| attempt(destination, ttl, hop_timeout));
    let hops = futures_util::future::join_all(attempts).await;
    let mut path = read_path(destination, hops);
    if look == Look::Mtu {
        path.mtu = mtu::locate(destination, &path.hops, hop_timeout).await;
    }
    path
}

/// The path as the hops tell it: cut at the first final answer.
fn read_path(destination: SocketAddr, mut hops: Vec<Hop>) -> PathTrace {
    let end_at = hops.iter().position(|h| {
        matches!(
            h.answer,
            HopAnswer::Unreachable(_)
                | HopAnswer::Refused
                | HopAnswer::Reached
                | HopAnswer::Local(_)
        )
    });
    let end = match end_at.map(|i| &hops[i]) {
        Some(h) => match h.answer {
            HopAnswer::Unreachable(rejection) => PathEnd::Rejected {
                hop: h.ttl,
                rejection,
            },
            HopAnswer::Refused => PathEnd::Refused { hop: h.ttl },
            HopAnswer::Local(cause) => PathEnd::Local { cause },
            _ => PathEnd::Reached { hop: h.ttl },
        },
        None => PathEnd::Silent,
    };
    match end_at {
        Some(i) => hops.truncate(i + 1),
        // Keep the silence right after the last answering hop, not 30 rows of it.
        None => {
            let last = hops.iter().rposition(|h| h.from.is_some());
            hops.truncate(last.map_or(1, |i| i + 2));
        }
    }
    PathTrace {
        destination,
        hops,
        end,
        mtu: None,
        at: SystemTime::now(),
    }
}

/// One connection attempt with this TTL.
async fn attempt(destination: SocketAddr, ttl: u8, hop_timeout: Duration) -> Hop {
    let started = Instant::now();
    let (answer, from) = match attempt_inner(destination, ttl, hop_timeout).await {
        Ok(result) => result,
        Err(err) => {
            tracing::debug!(%destination, ttl, error = %err, "path trace attempt failed");
            (HopAnswer::Silent, None)
        }
    };
    let rtt = (answer != HopAnswer::Silent).then(|| started.elapsed());
    Hop {
        ttl,
        from,
        answer,
        rtt,
    }
}

async fn attempt_inner(
    destination: SocketAddr,
    ttl: u8,
    hop_timeout: Duration,
) -> nix::Result<(HopAnswer, Option<IpAddr>)> {
    let v6 = destination.is_ipv6();
    let fd = nonblocking_socket(destination.ip(), SockType::Stream, SockProtocol::Tcp)?;
    let hops = i32::from(ttl);
    let started = match destination {
        SocketAddr::V4(addr) => {
            setsockopt(&fd, sockopt::Ipv4Ttl, &hops)?;
            setsockopt(&fd, sockopt::Ipv4RecvErr, &true)?;
            connect(fd.as_raw_fd(), &SockaddrIn::from(addr))
        }
        SocketAddr::V6(addr) => {
            setsockopt(&fd, sockopt::Ipv6Ttl, &hops)?;
            setsockopt(&fd, sockopt::Ipv6RecvErr, &true)?;
            connect(fd.as_raw_fd(), &SockaddrIn6::from(addr))
        }
    };
    match started {
        Ok(()) => return Ok((HopAnswer::Reached, Some(destination.ip()))),
        Err(Errno::EINPROGRESS) => {}
        // The local stack refuses before any packet leaves: this host's configuration.
        Err(Errno::ENETUNREACH) => return Ok((HopAnswer::Local(LocalCause::NoRoute), None)),
        Err(Errno::EADDRNOTAVAIL) => {
            return Ok((HopAnswer::Local(LocalCause::NoAddress), None));
        }
        Err(e) => return Err(e),
    }
    // A socket whose connect is in progress, as tokio's own connect hands it over.
    let stream =
        tokio::net::TcpStream::from_std(std::net::TcpStream::from(fd)).map_err(|e| io_errno(&e))?;
    let Ok(ready) = tokio::time::timeout(hop_timeout, stream.writable()).await else {
        return Ok((HopAnswer::Silent, None));
    };
    ready.map_err(|e| io_errno(&e))?;
    match stream.take_error().map_err(|e| io_errno(&e))? {
        None => Ok((HopAnswer::Reached, Some(destination.ip()))),
        Some(err) if err.raw_os_error() == Some(Errno::ECONNREFUSED as i32) => {
            Ok((HopAnswer::Refused, Some(destination.ip())))
        }
        Some(_) => Ok(read_icmp(stream.as_fd(), v6).unwrap_or((HopAnswer::Silent, None))),
    }
}

/// A non-blocking socket of `kind` for the family of `to`.
fn nonblocking_socket(
    to: IpAddr,
    kind: SockType,
    protocol: impl Into<Option<SockProtocol>>,
) -> nix::Result<OwnedFd> {
    let family = if to.is_ipv6() {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    socket(
        family,
        kind,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        protocol,
    )
}

fn io_errno(err: &std::io::Error) -> Errno {
    Errno::from_raw(err.raw_os_error().unwrap_or(0))
}

/// The ICMP message the kernel queued for this socket: who sent it and what it says.
fn read_icmp(fd: BorrowedFd<'_>, v6: bool) -> Option<(HopAnswer, Option<IpAddr>)> {
    let (err, from) = queued_icmp(fd)?;
    let answer = match (v6, err.ee_type) {
        (false, ICMP_TIME_EXCEEDED) | (true, ICMP6_TIME_EXCEEDED) => HopAnswer::TimeExceeded,
        (false, ICMP_DEST_UNREACH) | (true, ICMP6_DST_UNREACH) => {
            HopAnswer::Unreachable(Rejection::from_icmp(v6, err.ee_code))
        }
        _ => return None,
    };
    Some((answer, from))
}

/// The ICMP error the kernel queued for a socket with `IP_RECVERR`: the error as the kernel
/// reports it (`ee_type`, `ee_code`, `ee_info`) and who sent it.
fn queued_icmp(fd: BorrowedFd<'_>) -> Option<(nix::libc::sock_extended_err, Option<IpAddr>)> {
    let mut buf = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!(nix::libc::sock_extended_err, nix::libc::sockaddr_in6);
    let msg = recvmsg::<SockaddrStorage>(
        fd.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT,
    )
    .ok()?;
    msg.cmsgs().ok()?.find_map(|cmsg| {
        let (err, from) = match cmsg {
            ControlMessageOwned::Ipv4RecvErr(err, from) => (
                err,
                from.map(|a| IpAddr::V4(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr)))),
            ),
            ControlMessageOwned::Ipv6RecvErr(err, from) => (
                err,
                from.map(|a| IpAddr::V6(Ipv6Addr::from(a.sin6_addr.s6_addr))),
            ),
            _ => return None,
        };
        (err.ee_origin == SO_EE_ORIGIN_ICMP || err.ee_origin == SO_EE_ORIGIN_ICMP6)
            .then_some((err, from))
    })
}

#[cfg(test)]
mod tests;
