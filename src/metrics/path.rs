//! Where the path breaks, on `/probe`: for each failing target and port with a finished trace,
//! how many hops it listed, the last hop that answered, how the path ends and when it was traced.
//! One series per failing target and port at most (bounded by the configuration).

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;

use super::{gauge, names};
use crate::diagnosis::TargetView;
use crate::probe::unix_seconds;

pub(super) fn encode_paths(
    encoder: &mut DescriptorEncoder,
    targets: &[TargetView],
) -> Result<(), std::fmt::Error> {
    let paths: Vec<_> = targets
        .iter()
        .flat_map(|t| {
            t.paths
                .iter()
                .map(move |p| (t.name.as_str(), p.trace.destination.port().to_string(), p))
        })
        .collect();
    if paths.is_empty() {
        return Ok(());
    }
    let mut e = gauge(
        encoder,
        names::PATH_HOPS,
        "Hops the last path trace of a failing target and port listed, up to where the path ends.",
    )?;
    for (target, port, p) in &paths {
        let hops = i64::try_from(p.trace.hops.len()).unwrap_or(i64::MAX);
        ConstGauge::new(hops)
            .encode(e.encode_family(&[("target", *target), ("port", port.as_str())])?)?;
    }
    let mut e = gauge(
        encoder,
        names::PATH_LAST_HOP,
        "The last hop that answered (a router's ICMP, or the destination); 0 when none did.",
    )?;
    for (target, port, p) in &paths {
        let last = p.trace.last_answer().map_or(0, |(hop, _)| i64::from(hop));
        ConstGauge::new(last)
            .encode(e.encode_family(&[("target", *target), ("port", port.as_str())])?)?;
    }
    let mut e = gauge(
        encoder,
        names::PATH_INFO,
        "Always 1: how the traced path ends (silent, rejected_admin_prohibited, rejected_host_unreachable, rejected_net_unreachable, refused, reached, local_no_route, local_no_address) and the last answering hop's address.",
    )?;
    for (target, port, p) in &paths {
        let address = p
            .trace
            .last_answer()
            .map(|(_, a)| a.to_string())
            .unwrap_or_default();
        ConstGauge::new(1).encode(e.encode_family(&[
            ("target", *target),
            ("port", port.as_str()),
            ("end", p.trace.end.label()),
            ("last_hop_address", address.as_str()),
        ])?)?;
    }
    let mut e = gauge(
        encoder,
        names::PATH_TRACED_AT,
        "When the path was traced, as Unix seconds (one trace per target and port per path_trace.interval).",
    )?;
    for (target, port, p) in &paths {
        ConstGauge::new(unix_seconds(p.trace.at))
            .encode(e.encode_family(&[("target", *target), ("port", port.as_str())])?)?;
    }
    let drops: Vec<_> = paths
        .iter()
        .filter_map(|(target, port, p)| p.trace.mtu.map(|m| (*target, port, m)))
        .collect();
    if drops.is_empty() {
        return Ok(());
    }
    let mut e = gauge(
        encoder,
        names::PATH_MTU_HOP,
        "After a path-MTU black hole: the first router full-size packets with \"don't fragment\" do not reach and small ones do (the MTU drops on the link before it).",
    )?;
    for (target, port, m) in drops {
        ConstGauge::new(i64::from(m.first_small.hop)).encode(e.encode_family(&[
            ("target", target),
            ("port", port.as_str()),
            ("address", m.first_small.address.to_string().as_str()),
        ])?)?;
    }
    Ok(())
}
