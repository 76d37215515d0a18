//! An in-process DNS server (hickory-server) whose answers the test sets and changes at run time,
//! and a hostile one that answers garbage.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, RwLock};

use hickory_server::Server;
use hickory_server::proto::op::{Metadata, ResponseCode};
use hickory_server::proto::rr::rdata::{A, AAAA, CNAME};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tokio::net::{TcpListener, UdpSocket};

/// What the server does for a name.
#[derive(Debug, Clone)]
pub enum Answer {
    Addresses(Vec<IpAddr>),
    /// A CNAME to another name of this server, answered with the target's addresses too.
    Cname(String),
    NxDomain,
    ServFail,
    Refused,
    FormErr,
    NotImp,
    /// Never answers.
    Silent,
    /// Over UDP an empty answer with the TC bit set; over TCP these addresses.
    Truncated(Vec<IpAddr>),
    /// These addresses, after this many milliseconds.
    Late(u64, Vec<IpAddr>),
}

type Zone = Arc<RwLock<HashMap<LowerName, Answer>>>;

pub struct DnsServer {
    pub addr: SocketAddr,
    zone: Zone,
    _server: Server<Handler>,
}

fn lower(name: &str) -> LowerName {
    let fqdn = if name.ends_with('.') {
        name.to_string()
    } else {
        format!("{name}.")
    };
    LowerName::from(Name::from_ascii(&fqdn).expect("valid test name"))
}

impl DnsServer {
    /// Starts on 127.0.0.1 with UDP and TCP on the same port.
    pub async fn start() -> DnsServer {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
            let port = udp.local_addr().expect("addr").port();
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)).await {
                break (udp, tcp);
            }
        };
        Self::serve(udp, tcp)
    }

    /// Starts on port 53 of a loopback address of its own (127.53.x.y), for programs that only
    /// ask port 53 (squid's `dns_nameservers`). Needs root, as the tests have.
    pub async fn start_on_port_53() -> DnsServer {
        for attempt in 0..64u16 {
            let seed = u16::try_from(std::process::id() % 200).unwrap_or(0) + attempt;
            let ip = std::net::Ipv4Addr::new(
                127,
                53,
                u8::try_from(seed / 250).unwrap_or(0),
                u8::try_from(seed % 250 + 1).unwrap_or(1),
            );
            let Ok(udp) = UdpSocket::bind((ip, 53)).await else {
                continue;
            };
            if let Ok(tcp) = TcpListener::bind((ip, 53)).await {
                return Self::serve(udp, tcp);
            }
        }
        panic!("no loopback address with a free port 53 (the tests run as root)");
    }

    fn serve(udp: UdpSocket, tcp: TcpListener) -> DnsServer {
        let zone: Zone = Arc::default();
        let mut server = Server::new(Handler { zone: zone.clone() });
        let addr = udp.local_addr().expect("addr");
        server.register_socket(udp);
        server.register_listener(tcp, std::time::Duration::from_secs(5), 4096);
        DnsServer {
            addr,
            zone,
            _server: server,
        }
    }

    /// Sets (or replaces) the answer for `name`.
    pub fn set(&self, name: &str, answer: Answer) {
        self.zone.write().expect("zone").insert(lower(name), answer);
    }
}

struct Handler {
    zone: Zone,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: hickory_server::net::runtime::Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let query = &request.queries.queries()[0];
        let qtype = query.query_type();
        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.recursion_available = true;
        let mut answers = Vec::new();
        let mut name = query.name().clone();
        let mut code = ResponseCode::NoError;
        let over_udp = request.protocol() == hickory_server::net::xfer::Protocol::Udp;
        // Follow CNAMEs inside the zone, like a recursive resolver would.
        for _ in 0..8 {
            let answer = self.zone.read().expect("zone").get(&name).cloned();
            let answer = match answer {
                Some(Answer::Truncated(_)) if over_udp => {
                    metadata.truncation = true;
                    break;
                }
                Some(Answer::Truncated(addrs)) => Some(Answer::Addresses(addrs)),
                Some(Answer::Late(ms, addrs)) => {
                    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
                    Some(Answer::Addresses(addrs))
                }
                other => other,
            };
            match answer {
                Some(Answer::Addresses(addrs)) => {
                    for ip in addrs {
                        let rdata = match (ip, qtype) {
                            (IpAddr::V4(v4), RecordType::A) => RData::A(A(v4)),
                            (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(v6)),
                            _ => continue,
                        };
                        answers.push(Record::from_rdata(Name::from(name.clone()), 60, rdata));
                    }
                    break;
                }
                Some(Answer::Cname(target)) => {
                    let target = lower(&target);
                    answers.push(Record::from_rdata(
                        Name::from(name.clone()),
                        60,
                        RData::CNAME(CNAME(Name::from(target.clone()))),
                    ));
                    name = target;
                }
                Some(Answer::NxDomain) | None => {
                    code = ResponseCode::NXDomain;
                    break;
                }
                Some(Answer::ServFail) => {
                    code = ResponseCode::ServFail;
                    break;
                }
                Some(Answer::Refused) => {
                    code = ResponseCode::Refused;
                    break;
                }
                Some(Answer::FormErr) => {
                    code = ResponseCode::FormErr;
                    break;
                }
                Some(Answer::NotImp) => {
                    code = ResponseCode::NotImp;
                    break;
                }
                Some(Answer::Truncated(_) | Answer::Late(..)) => break,
                Some(Answer::Silent) => {
                    return ResponseInfo::from(hickory_server::proto::op::Header {
                        metadata,
                        counts: Default::default(),
                    });
                }
            }
        }
        metadata.response_code = code;
        let response = MessageResponseBuilder::from_message_request(request).build(
            metadata,
            answers.iter(),
            std::iter::empty(),
            std::iter::empty(),
            std::iter::empty(),
        );
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(_) => ResponseInfo::from(hickory_server::proto::op::Header {
                metadata,
                counts: Default::default(),
            }),
        }
    }
}

/// A UDP "DNS server" that answers every query with a well-formed NOERROR response carrying
/// another query's id, which a resolver must ignore (so the query times out).
pub async fn mismatched_id_dns() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            if n < 12 {
                continue;
            }
            let mut reply = buf[..n].to_vec();
            reply[0] ^= 0x5a;
            reply[2] |= 0x80;
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    addr
}

/// A UDP "DNS server" that answers every query with bytes that are not DNS.
pub async fn garbage_dns() -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let addr = socket.local_addr().expect("addr");
    tokio::spawn(async move {
        let mut buf = [0u8; 1500];
        while let Ok((n, peer)) = socket.recv_from(&mut buf).await {
            // Echo the query id, then noise: a header claiming 65535 answers that are not there.
            let mut reply = vec![0u8; 12];
            if n >= 2 {
                reply[..2].copy_from_slice(&buf[..2]);
            }
            reply[2] = 0x81;
            reply[6] = 0xff;
            reply[7] = 0xff;
            reply.extend_from_slice(b"\xde\xad\xbe\xef garbage");
            let _ = socket.send_to(&reply, peer).await;
        }
    });
    addr
}
