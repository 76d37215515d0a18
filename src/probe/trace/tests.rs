use super::*;

#[tokio::test]
async fn a_listener_one_hop_away_is_reached_and_a_closed_port_refused() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let open = listener.local_addr().expect("addr");
    let path = trace(open, 3, Duration::from_secs(1), Look::Path).await;
    assert_eq!(path.end, PathEnd::Reached { hop: 1 }, "{path:?}");
    assert_eq!(path.hops.len(), 1);
    drop(listener);
    let path = trace(open, 3, Duration::from_secs(1), Look::Path).await;
    assert_eq!(path.end, PathEnd::Refused { hop: 1 }, "{path:?}");
    assert_eq!(path.last_answer(), Some((1, open.ip())));
}

#[test]
fn a_send_this_host_refuses_is_its_own_configuration_not_a_router() {
    for (cause, label) in [
        (LocalCause::NoRoute, "local_no_route"),
        (LocalCause::NoAddress, "local_no_address"),
    ] {
        let hops = (1..=30)
            .map(|ttl| Hop {
                ttl,
                from: None,
                answer: HopAnswer::Local(cause),
                rtt: None,
            })
            .collect();
        let path = read_path("192.0.2.10:8989".parse().expect("addr"), hops);
        assert_eq!(path.end, PathEnd::Local { cause });
        assert_eq!(path.end.label(), label);
        assert_eq!(path.hops.len(), 1);
    }
}

#[test]
fn silence_after_the_last_router_is_cut_to_one_row() {
    let hop = |ttl, from: Option<&str>, answer| Hop {
        ttl,
        from: from.map(|a| a.parse().expect("ip")),
        answer,
        rtt: None,
    };
    let mut hops = vec![
        hop(1, Some("10.0.1.1"), HopAnswer::TimeExceeded),
        hop(2, Some("10.0.2.1"), HopAnswer::TimeExceeded),
    ];
    hops.extend((3..=30).map(|t| hop(t, None, HopAnswer::Silent)));
    let path = read_path("192.0.2.10:8989".parse().expect("addr"), hops);
    assert_eq!(path.end, PathEnd::Silent);
    assert_eq!(path.hops.len(), 3);
    assert_eq!(
        path.last_answer(),
        Some((2, "10.0.2.1".parse().expect("ip")))
    );
}
