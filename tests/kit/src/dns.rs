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

/// What [`SerialDns`] does for a name.
#[derive(Debug, Clone)]
pub enum SerialAnswer {
    /// Over UDP an empty answer with the TC bit set; over TCP these addresses.
    TruncatedThen(Vec<IpAddr>),
    /// Over UDP an empty answer with the TC bit set; over TCP no answer, ever.
    TruncatedThenSilent,
}

type SerialZone = Arc<RwLock<HashMap<LowerName, SerialAnswer>>>;

/// A DNS server that answers TCP queries one at a time per connection, in order, as dnsmasq
/// does: a query it never answers holds every later query on the same connection. It counts the
/// queries each TCP connection carried.
pub struct SerialDns {
    pub addr: SocketAddr,
    zone: SerialZone,
    most_per_connection: Arc<std::sync::atomic::AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for SerialDns {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl SerialDns {
    pub async fn start() -> SerialDns {
        let (udp, tcp) = loop {
            let udp = UdpSocket::bind("127.0.0.1:0").await.expect("bind udp");
            let port = udp.local_addr().expect("addr").port();
            if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)).await {
                break (udp, tcp);
            }
        };
        let addr = udp.local_addr().expect("addr");
        let zone: SerialZone = Arc::default();
        let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let udp_zone = zone.clone();
        let udp_task = tokio::spawn(async move {
            let mut buf = [0u8; 1500];
            while let Ok((n, peer)) = udp.recv_from(&mut buf).await {
                if let Some(reply) = serial_reply(&udp_zone, &buf[..n], true) {
                    let _ = udp.send_to(&reply, peer).await;
                }
            }
        });
        let tcp_zone = zone.clone();
        let tcp_most = most.clone();
        let tcp_task = tokio::spawn(async move {
            while let Ok((stream, _)) = tcp.accept().await {
                let zone = tcp_zone.clone();
                let most = tcp_most.clone();
                tokio::spawn(serve_serially(stream, zone, most));
            }
        });
        SerialDns {
            addr,
            zone,
            most_per_connection: most,
            tasks: vec![udp_task, tcp_task],
        }
    }

    pub fn set(&self, name: &str, answer: SerialAnswer) {
        self.zone.write().expect("zone").insert(lower(name), answer);
    }

    /// The most queries any one TCP connection carried.
    pub fn most_queries_on_one_connection(&self) -> usize {
        self.most_per_connection
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// One query at a time: read it, answer it (or never), then read the next.
async fn serve_serially(
    mut stream: tokio::net::TcpStream,
    zone: SerialZone,
    most: Arc<std::sync::atomic::AtomicUsize>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut queries = 0;
    loop {
        let mut len = [0u8; 2];
        if stream.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
        if stream.read_exact(&mut query).await.is_err() {
            return;
        }
        queries += 1;
        most.fetch_max(queries, std::sync::atomic::Ordering::Relaxed);
        let Some(reply) = serial_reply(&zone, &query, false) else {
            // Never answered: this connection is stuck, like a forwarder waiting on its upstream.
            std::future::pending::<()>().await;
            return;
        };
        let Ok(len) = u16::try_from(reply.len()) else {
            return;
        };
        let mut framed = len.to_be_bytes().to_vec();
        framed.extend_from_slice(&reply);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

fn serial_reply(zone: &SerialZone, query: &[u8], over_udp: bool) -> Option<Vec<u8>> {
    use hickory_server::proto::op::{Message, MessageType};
    let request = Message::from_vec(query).ok()?;
    let question = request.queries.first()?.clone();
    let answer = zone
        .read()
        .expect("zone")
        .get(&LowerName::from(question.name().clone()))
        .cloned();
    let mut reply = Message::new(
        request.metadata.id,
        MessageType::Response,
        request.metadata.op_code,
    );
    reply.metadata.recursion_desired = request.metadata.recursion_desired;
    reply.metadata.recursion_available = true;
    reply.add_query(question.clone());
    match answer {
        None => reply.metadata.response_code = ResponseCode::NXDomain,
        Some(_) if over_udp => reply.metadata.truncation = true,
        Some(SerialAnswer::TruncatedThenSilent) => return None,
        Some(SerialAnswer::TruncatedThen(addrs)) => {
            for ip in addrs {
                let rdata = match (ip, question.query_type()) {
                    (IpAddr::V4(v4), RecordType::A) => RData::A(A(v4)),
                    (IpAddr::V6(v6), RecordType::AAAA) => RData::AAAA(AAAA(v6)),
                    _ => continue,
                };
                reply.add_answer(Record::from_rdata(question.name().clone(), 60, rdata));
            }
        }
    }
    reply.to_vec().ok()
}
