//! A path trace in words: what each hop answered, and one sentence on where the path breaks (and,
//! after a path-MTU black hole, where the MTU drops). The trace itself (`probe/trace/`) records
//! only what came back.

use crate::probe::{HopAnswer, LocalCause, MtuDrop, PathEnd, PathTrace, Rejection};

/// What one hop answered, for the page and `check`.
pub(crate) fn hop_words(answer: HopAnswer) -> &'static str {
    match answer {
        HopAnswer::TimeExceeded => "time exceeded (a router)",
        HopAnswer::Unreachable(r) => rejection_words(r),
        HopAnswer::Refused => "reset (refused)",
        HopAnswer::Reached => "connected (destination)",
        HopAnswer::Silent => "no answer",
        HopAnswer::Local(cause) => local_words(cause),
    }
}

fn rejection_words(rejection: Rejection) -> &'static str {
    match rejection {
        Rejection::AdminProhibited => "ICMP administratively prohibited",
        Rejection::HostUnreachable => "ICMP host unreachable",
        Rejection::NetUnreachable => "ICMP network unreachable",
        Rejection::PortUnreachable => "ICMP port unreachable",
        Rejection::Other => "ICMP unreachable",
    }
}

fn local_words(cause: LocalCause) -> &'static str {
    match cause {
        LocalCause::NoRoute => "this host has no route (its own routing table)",
        LocalCause::NoAddress => "this host has no address of that family",
    }
}

/// One sentence: where the path breaks and what that means (and where the MTU drops).
pub(crate) fn summary(path: &PathTrace) -> String {
    match &path.mtu {
        Some(mtu) => format!("{}; {}", ends(path), mtu_words(mtu)),
        None => ends(path),
    }
}

/// Where the path stops, in a few words (the evidence of a verdict): the last hop that answered
/// and how the path ends there, and where the MTU drops.
pub(crate) fn brief(path: &PathTrace) -> String {
    let port = path.destination.port();
    let mut text = match (path.end, path.last_answer()) {
        (PathEnd::Silent, Some((hop, addr))) => {
            format!("TCP {port} goes silent after hop {hop} ({addr})")
        }
        (PathEnd::Silent, None) => format!("no hop answers for TCP {port}"),
        (PathEnd::Rejected { hop, rejection }, _) => {
            format!(
                "hop {hop} rejects TCP {port} ({})",
                rejection_words(rejection)
            )
        }
        (PathEnd::Refused { hop }, _) => format!("a reset for TCP {port} comes from hop {hop}"),
        (PathEnd::Reached { hop }, _) => format!("TCP {port} reaches the server at hop {hop}"),
        (PathEnd::Local { cause }, _) => local_words(cause).to_string(),
    };
    if let Some(mtu) = &path.mtu {
        text.push_str("; ");
        text.push_str(&mtu_words(mtu));
    }
    text
}

fn ends(path: &PathTrace) -> String {
    let port = path.destination.port();
    let destination = path.destination.ip();
    let after = match path.last_answer() {
        Some((hop, addr)) => format!("the path answers up to hop {hop} ({addr})"),
        None => "no hop answers (not even the first router)".to_string(),
    };
    match path.end {
        PathEnd::Silent => match path.last_answer() {
            Some((_, addr)) => format!(
                "{after}, then nothing: the device or network after {addr} drops TCP {port}"
            ),
            None => {
                format!("{after}: the first router or this host's own firewall drops TCP {port}")
            }
        },
        PathEnd::Rejected { hop, rejection } => {
            let from = path
                .hops
                .get(usize::from(hop.saturating_sub(1)))
                .and_then(|h| h.from)
                .map_or_else(|| "a router".to_string(), |a| a.to_string());
            format!(
                "{from} at hop {hop} rejects TCP {port} to {destination} ({}): a router or firewall there refuses it",
                rejection_words(rejection)
            )
        }
        PathEnd::Refused { hop } => format!(
            "a reset for TCP {port} comes from hop {hop}: {destination} refuses the port (or a device at that distance answers for it)"
        ),
        PathEnd::Reached { hop } => format!(
            "TCP {port} reaches {destination} at hop {hop}: the connection opens, so what stops the exchange sits above TCP (TLS inspection, an IPS, a path-MTU black hole that drops large packets while ICMP \"fragmentation needed\" is filtered) or comes and goes"
        ),
        PathEnd::Local { cause } => format!(
            "nothing left this host for {destination}: {}, so this is the host's own network configuration (interfaces, addresses, routes), not a router or firewall on the way",
            local_words(cause)
        ),
    }
}

/// Where full-size packets stop, in words.
fn mtu_words(mtu: &MtuDrop) -> String {
    let first = mtu.first_small;
    let reach = match mtu.last_full {
        Some(last) => format!(
            "{}-byte packets with \"don't fragment\" reach hop {} ({}) but not hop {} ({}), small ones do",
            mtu.size, last.hop, last.address, first.hop, first.address
        ),
        None => format!(
            "{}-byte packets with \"don't fragment\" do not reach hop {} ({}), small ones do",
            mtu.size, first.hop, first.address
        ),
    };
    let reported = mtu.reported.map_or_else(String::new, |r| {
        format!(" ({} reports a next-hop MTU of {} bytes)", r.by, r.mtu)
    });
    format!(
        "{reach}: the MTU drops on the link just before {}{reported}, and ICMP \"fragmentation needed\" does not get back to the sender",
        first.address
    )
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::SystemTime;

    use super::*;
    use crate::probe::{Hop, HopAt, Reported};

    fn path(hops: &[(Option<&str>, HopAnswer)], end: PathEnd, mtu: Option<MtuDrop>) -> PathTrace {
        let destination: SocketAddr = "192.0.2.10:8989".parse().expect("addr");
        PathTrace {
            destination,
            hops: hops
                .iter()
                .zip(1..)
                .map(|((from, answer), ttl)| Hop {
                    ttl,
                    from: from.map(|a| a.parse().expect("ip")),
                    answer: *answer,
                    rtt: None,
                })
                .collect(),
            end,
            mtu,
            at: SystemTime::now(),
        }
    }

    #[test]
    fn where_the_path_ends_in_one_sentence() {
        let router = |a| (Some(a), HopAnswer::TimeExceeded);
        let silent = path(
            &[
                router("10.0.1.1"),
                router("10.0.2.1"),
                (None, HopAnswer::Silent),
            ],
            PathEnd::Silent,
            None,
        );
        assert_eq!(
            summary(&silent),
            "the path answers up to hop 2 (10.0.2.1), then nothing: the device or network after 10.0.2.1 drops TCP 8989"
        );
        let refused = path(
            &[(Some("192.0.2.10"), HopAnswer::Refused)],
            PathEnd::Refused { hop: 1 },
            None,
        );
        assert!(
            summary(&refused).contains("refuses the port"),
            "{}",
            summary(&refused)
        );
        for cause in [LocalCause::NoRoute, LocalCause::NoAddress] {
            let local = path(
                &[(None, HopAnswer::Local(cause))],
                PathEnd::Local { cause },
                None,
            );
            let words = summary(&local);
            assert!(
                words.contains(local_words(cause)) && words.contains("not a router or firewall"),
                "{words}"
            );
        }
    }

    #[test]
    fn where_the_mtu_drops_follows_where_the_path_ends() {
        let at = |hop, a: &str| HopAt {
            hop,
            address: a.parse().expect("ip"),
        };
        let mtu = MtuDrop {
            size: 1500,
            last_full: Some(at(2, "10.77.2.2")),
            first_small: at(3, "10.77.3.2"),
            reported: Some(Reported {
                by: "10.77.2.2".parse().expect("ip"),
                mtu: 1280,
            }),
        };
        let reached = path(
            &[(Some("192.0.2.10"), HopAnswer::Reached)],
            PathEnd::Reached { hop: 1 },
            Some(mtu),
        );
        assert!(
            summary(&reached).ends_with("; 1500-byte packets with \"don't fragment\" reach hop 2 (10.77.2.2) but not hop 3 (10.77.3.2), small ones do: the MTU drops on the link just before 10.77.3.2 (10.77.2.2 reports a next-hop MTU of 1280 bytes), and ICMP \"fragmentation needed\" does not get back to the sender"),
            "{}",
            summary(&reached)
        );
    }
}
