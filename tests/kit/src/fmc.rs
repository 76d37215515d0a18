//! A management center's REST API on loopback, as Cisco's specification and REST API Quick Start
//! describe it, over HTTPS with an rcgen certificate: tokens from `generatetoken` (HTTP Basic →
//! 204 with `X-auth-access-token`, `X-auth-refresh-token`, `DOMAIN_UUID`, `DOMAINS`) that expire
//! after a lifetime the test sets, three refreshes per login, `429` with `Retry-After` when told,
//! lists paged by `offset`/`limit` with `paging.next`, errors in the documented
//! `{"error": {"severity", "category", "messages": [{"description"}]}}` shape, device records,
//! health alerts filtered by `moduleIDs`/`deviceUUIDs`, and the cloud integration settings.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

use crate::servers::Leaf;

pub const GLOBAL_UUID: &str = "e276abec-e0f2-11e3-8169-6d9ed49b625f";

/// What the fake management center holds and how it behaves; tests change it at any time.
#[derive(Debug, Clone)]
pub struct FmcWorld {
    pub user: String,
    pub password: String,
    /// How long an access token is accepted.
    pub token_lifetime: Duration,
    /// How many requests an access token is accepted for (a token that expires mid-poll).
    pub token_uses: Option<usize>,
    /// Refreshes allowed per login.
    pub max_refreshes: u8,
    /// `(name, uuid)`; the first is the one in `DOMAIN_UUID`.
    pub domains: Vec<(String, String)>,
    /// `(uuid, name, healthStatus)`.
    pub devices: Vec<(String, String, String)>,
    /// Health alert items as the API returns them.
    pub alerts: Vec<Value>,
    /// `securexconfigs[].enabled`; `None`: the endpoint answers 404 (an older FMC).
    pub securex_enabled: Option<bool>,
    /// `cloudeventsconfigs[].send*Events`; `None`: 404.
    pub cloud_events: Option<bool>,
    /// The most items a page holds, whatever `limit` asks.
    pub page_size: usize,
    /// The next this many requests answer 429 with `Retry-After: retry_after_secs`.
    pub rate_limit_next: usize,
    pub retry_after_secs: u64,
    /// The alert list answers truncated JSON.
    pub malformed_alerts: bool,
    /// The alert list answers a body of this many bytes (valid JSON).
    pub huge_alerts: Option<usize>,
    /// A cloud-delivered FMC: the API token it accepts as `Authorization: Bearer`; it has no
    /// `generatetoken` (404), and a wrong or revoked token is 401.
    pub api_token: Option<String>,
    /// `(device uuid, domain uuid)`: a device listed here exists in that domain only; the others
    /// in every domain.
    pub device_domains: Vec<(String, String)>,
}

impl Default for FmcWorld {
    fn default() -> Self {
        FmcWorld {
            user: "prometheus-ro".into(),
            password: "s3cret-FMC-pa55".into(),
            token_lifetime: Duration::from_secs(30 * 60),
            token_uses: None,
            max_refreshes: 3,
            domains: vec![
                ("Global".into(), GLOBAL_UUID.into()),
                (
                    "Global/Branches".into(),
                    "b1a2c3d4-0000-1111-2222-333344445555".into(),
                ),
            ],
            devices: Vec::new(),
            alerts: Vec::new(),
            securex_enabled: Some(true),
            cloud_events: Some(true),
            page_size: 1000,
            rate_limit_next: 0,
            retry_after_secs: 1,
            malformed_alerts: false,
            huge_alerts: None,
            api_token: None,
            device_domains: Vec::new(),
        }
    }
}

impl FmcWorld {
    /// A device record.
    pub fn device(&mut self, uuid: &str, name: &str) -> &mut Self {
        self.devices
            .push((uuid.into(), name.into(), "green".into()));
        self
    }

    /// A device of one domain only (`domain` its UUID).
    pub fn device_in(&mut self, domain: &str, uuid: &str, name: &str) -> &mut Self {
        self.device_domains.push((uuid.into(), domain.into()));
        self.device(uuid, name)
    }

    /// Whether `device` (uuid) exists in `domain` (uuid).
    fn in_domain(&self, device: &str, domain: &str) -> bool {
        self.device_domains
            .iter()
            .find(|(d, _)| d == device)
            .is_none_or(|(_, dom)| dom == domain)
    }

    /// A health alert for `device` (uuid) of `module` with `status` and this description.
    pub fn alert(
        &mut self,
        device: &str,
        module: &str,
        status: &str,
        description: &str,
    ) -> &mut Self {
        let n = self.alerts.len();
        self.alerts.push(json!({
            "id": format!("alert-{n}"),
            "type": "Alert",
            "deviceUUID": device,
            "moduleID": module,
            "moduleUUID": format!("module-{module}"),
            "status": status,
            // Raised just now, in the order added (the newest last).
            "timestamp": now_unix() - 600 + i64::try_from(n).unwrap_or(0),
            "name": module,
            "description": description,
            "details": "",
        }));
        self
    }
}

/// What the fake saw, for the tests' assertions.
#[derive(Debug, Default, Clone)]
pub struct FmcSeen {
    pub logins: usize,
    pub failed_logins: usize,
    pub refreshes: usize,
    /// Refreshes refused (a fourth refresh, or a stale refresh token).
    pub refused_refreshes: usize,
    pub rejected_tokens: usize,
    pub rate_limited: usize,
    /// `METHOD path?query` of every request.
    pub requests: Vec<String>,
    /// The most requests in flight at once.
    pub max_in_flight: usize,
    /// Every `Authorization` header value seen (to prove what travels where).
    pub basic_headers: usize,
    /// Requests a cloud-delivered FMC accepted with its bearer token.
    pub bearer_requests: usize,
}

struct Token {
    issued: Instant,
    uses: usize,
    refresh: String,
    refreshes: u8,
}

#[derive(Default)]
struct Inner {
    tokens: HashMap<String, Token>,
    counter: u64,
    in_flight: usize,
}

/// The fake management center on 127.0.0.1.
pub struct FakeFmc {
    pub addr: SocketAddr,
    world: Arc<Mutex<FmcWorld>>,
    seen: Arc<Mutex<FmcSeen>>,
    inner: Arc<Mutex<Inner>>,
}

impl FakeFmc {
    pub async fn start(leaf: Leaf, world: FmcWorld) -> FakeFmc {
        let acceptor = crate::servers::acceptor(leaf);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let fmc = FakeFmc {
            addr,
            world: Arc::new(Mutex::new(world)),
            seen: Arc::default(),
            inner: Arc::default(),
        };
        let shared = (fmc.world.clone(), fmc.seen.clone(), fmc.inner.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                let shared = shared.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |request| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(answer(&shared, addr, &request)) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        fmc
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.addr.port())
    }

    pub fn set(&self, change: impl FnOnce(&mut FmcWorld)) {
        change(&mut self.world.lock().expect("world"));
    }

    pub fn seen(&self) -> FmcSeen {
        self.seen.lock().expect("seen").clone()
    }
}

type Shared = (Arc<Mutex<FmcWorld>>, Arc<Mutex<FmcSeen>>, Arc<Mutex<Inner>>);

fn error(status: StatusCode, description: &str) -> Response<Full<Bytes>> {
    let body = json!({"error": {"category": "FRAMEWORK", "severity": "ERROR",
        "messages": [{"description": description}]}});
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("response")
}

fn json_response(body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("response")
}

fn answer(shared: &Shared, addr: SocketAddr, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (_, seen, inner) = shared;
    {
        let mut inner = inner.lock().expect("inner");
        inner.in_flight += 1;
        let mut seen = seen.lock().expect("seen");
        seen.max_in_flight = seen.max_in_flight.max(inner.in_flight);
    }
    let response = route(shared, addr, request);
    inner.lock().expect("inner").in_flight -= 1;
    response
}

fn header(request: &Request<Incoming>, name: &str) -> Option<String> {
    request
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

fn new_token(inner: &mut Inner, refreshes: u8) -> (String, String) {
    inner.counter += 1;
    let access = format!("access-{:08x}", inner.counter);
    let refresh = format!("refresh-{:08x}", inner.counter);
    inner.tokens.insert(
        access.clone(),
        Token {
            issued: Instant::now(),
            uses: 0,
            refresh: refresh.clone(),
            refreshes,
        },
    );
    (access, refresh)
}

fn route(shared: &Shared, addr: SocketAddr, request: &Request<Incoming>) -> Response<Full<Bytes>> {
    let (world, seen, inner) = shared;
    let world = world.lock().expect("world").clone();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let method = request.method().as_str().to_string();
    {
        let mut seen = seen.lock().expect("seen");
        seen.requests.push(format!("{method} {path}?{query}"));
        if request.headers().contains_key("authorization") {
            seen.basic_headers += 1;
        }
    }
    {
        let mut w = shared.0.lock().expect("world");
        if w.rate_limit_next > 0 {
            w.rate_limit_next -= 1;
            seen.lock().expect("seen").rate_limited += 1;
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Too Many Requests");
            response.headers_mut().insert(
                "retry-after",
                w.retry_after_secs.to_string().parse().expect("header"),
            );
            return response;
        }
    }
    if let Some(token) = &world.api_token {
        // Security Cloud Control's cdFMC: the API token, and no session endpoints.
        if path.starts_with("/api/fmc_platform/v1/auth/") {
            return error(StatusCode::NOT_FOUND, "Not found");
        }
        if header(request, "authorization") != Some(format!("Bearer {token}")) {
            seen.lock().expect("seen").rejected_tokens += 1;
            return error(StatusCode::UNAUTHORIZED, "Invalid or expired token");
        }
        seen.lock().expect("seen").bearer_requests += 1;
        return match method.as_str() {
            "GET" => get(&world, addr, &path, &query),
            _ => error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
        };
    }
    let mut inner = inner.lock().expect("inner");
    match (method.as_str(), path.as_str()) {
        ("POST", "/api/fmc_platform/v1/auth/generatetoken") => {
            let expected = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", world.user, world.password));
            if header(request, "authorization") != Some(format!("Basic {expected}")) {
                seen.lock().expect("seen").failed_logins += 1;
                return error(StatusCode::UNAUTHORIZED, "Unauthorized");
            }
            seen.lock().expect("seen").logins += 1;
            let (access, refresh) = new_token(&mut inner, 0);
            let domains: Vec<Value> = world
                .domains
                .iter()
                .map(|(name, uuid)| json!({"name": name, "uuid": uuid}))
                .collect();
            Response::builder()
                .status(StatusCode::NO_CONTENT)
                .header("X-auth-access-token", access)
                .header("X-auth-refresh-token", refresh)
                .header("DOMAIN_UUID", world.domains[0].1.clone())
                .header("DOMAINS", Value::Array(domains).to_string())
                .header("USER_UUID", "user-uuid")
                .body(Full::new(Bytes::new()))
                .expect("response")
        }
        ("POST", "/api/fmc_platform/v1/auth/refreshtoken") => {
            let access = header(request, "x-auth-access-token").unwrap_or_default();
            let refresh = header(request, "x-auth-refresh-token").unwrap_or_default();
            let valid = inner
                .tokens
                .get(&access)
                .filter(|t| t.refresh == refresh && t.refreshes < world.max_refreshes)
                .map(|t| t.refreshes);
            let Some(done) = valid else {
                seen.lock().expect("seen").refused_refreshes += 1;
                return error(StatusCode::UNAUTHORIZED, "Invalid refresh token");
            };
            inner.tokens.remove(&access);
            seen.lock().expect("seen").refreshes += 1;
            let (access, refresh) = new_token(&mut inner, done + 1);
            Response::builder()
                .status(StatusCode::NO_CONTENT)
                .header("X-auth-access-token", access)
                .header("X-auth-refresh-token", refresh)
                .body(Full::new(Bytes::new()))
                .expect("response")
        }
        ("GET", _) => {
            let access = header(request, "x-auth-access-token").unwrap_or_default();
            let valid = inner.tokens.get_mut(&access).is_some_and(|t| {
                t.uses += 1;
                t.issued.elapsed() < world.token_lifetime
                    && world.token_uses.is_none_or(|max| t.uses <= max)
            });
            if !valid {
                seen.lock().expect("seen").rejected_tokens += 1;
                return error(StatusCode::UNAUTHORIZED, "Access token invalid.");
            }
            drop(inner);
            get(&world, addr, &path, &query)
        }
        _ => error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed"),
    }
}

fn params(query: &str) -> HashMap<String, String> {
    url_decode_pairs(query).into_iter().collect()
}

fn url_decode_pairs(query: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

fn get(world: &FmcWorld, addr: SocketAddr, path: &str, query: &str) -> Response<Full<Bytes>> {
    let Some(rest) = path.strip_prefix("/api/fmc_config/v1/domain/") else {
        return error(StatusCode::NOT_FOUND, "Not found");
    };
    let (domain, resource) = rest.split_once('/').unwrap_or((rest, ""));
    if !world.domains.iter().any(|(_, uuid)| uuid == domain) {
        return error(StatusCode::NOT_FOUND, "Invalid domain UUID");
    }
    let p = params(query);
    let items: Vec<Value> = match resource {
        "devices/devicerecords" => world
            .devices
            .iter()
            .filter(|(uuid, _, _)| world.in_domain(uuid, domain))
            .map(|(uuid, name, health)| {
                json!({"id": uuid, "name": name, "type": "Device", "healthStatus": health,
                       "model": "Cisco Firepower Threat Defense for VMware", "sw_version": "7.4.1"})
            })
            .collect(),
        "health/alerts" => {
            if world.malformed_alerts {
                return json_response(
                    r#"{"items": [{"moduleID": "THREAT_DATA_UPDATES", "sta"#.into(),
                );
            }
            if let Some(size) = world.huge_alerts {
                let filler = "x".repeat(size);
                return json_response(format!(
                    r#"{{"items": [{{"moduleID": "THREAT_DATA_UPDATES", "deviceUUID": "d", "status": "RED", "description": "{filler}"}}]}}"#
                ));
            }
            let filter = p.get("filter").cloned().unwrap_or_default();
            let mut modules: Option<Vec<String>> = None;
            let mut devices: Option<Vec<String>> = None;
            let (mut start, mut end): (Option<i64>, Option<i64>) = (None, None);
            for part in filter.split(';') {
                if let Some(t) = part.strip_prefix("startTime:") {
                    start = t.parse().ok();
                }
                if let Some(t) = part.strip_prefix("endTime:") {
                    end = t.parse().ok();
                }
                if let Some(list) = part.strip_prefix("moduleIDs:") {
                    modules = Some(list.split(',').map(str::to_string).collect());
                }
                if let Some(list) = part.strip_prefix("deviceUUIDs:") {
                    devices = Some(list.split(',').map(str::to_string).collect());
                }
            }
            world
                .alerts
                .iter()
                .filter(|a| {
                    let field = |k: &str| {
                        a.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    };
                    // startTime and endTime only together, as the specification says.
                    let at = a.get("timestamp").and_then(Value::as_i64).unwrap_or(0);
                    let in_window = match (start, end) {
                        (Some(s), Some(e)) => s <= at && at <= e,
                        _ => true,
                    };
                    in_window
                        && world.in_domain(&field("deviceUUID"), domain)
                        && modules
                            .as_ref()
                            .is_none_or(|m| m.contains(&field("moduleID")))
                        && devices
                            .as_ref()
                            .is_none_or(|d| d.contains(&field("deviceUUID")))
                })
                .cloned()
                .collect()
        }
        "integration/securexconfigs" => match world.securex_enabled {
            Some(enabled) => vec![json!({"id": "securexConfigUUID", "type": "SecurexConfig",
                "name": "securexconfig", "enabled": enabled, "clientId": "client-1234",
                "clientPassword": "*********"})],
            None => return error(StatusCode::NOT_FOUND, "Not found"),
        },
        "integration/cloudeventsconfigs" => match world.cloud_events {
            Some(on) => vec![
                json!({"id": "CloudEventsConfigsUUID", "type": "CloudEventsConfig",
                "sendIntrusionEvents": on, "sendFileEvents": on, "sendConnectionEvents": on}),
            ],
            None => return error(StatusCode::NOT_FOUND, "Not found"),
        },
        _ => return error(StatusCode::NOT_FOUND, "Not found"),
    };
    let offset: usize = p.get("offset").and_then(|v| v.parse().ok()).unwrap_or(0);
    let limit: usize = p
        .get("limit")
        .and_then(|v| v.parse().ok())
        .unwrap_or(25)
        .min(world.page_size)
        .max(1);
    let count = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    let mut paging = json!({"offset": offset, "limit": limit, "count": count,
        "pages": count.div_ceil(limit)});
    if offset + limit < count {
        let mut pairs: Vec<(String, String)> = url_decode_pairs(query)
            .into_iter()
            .filter(|(k, _)| k != "offset" && k != "limit")
            .collect();
        pairs.push(("offset".into(), (offset + limit).to_string()));
        pairs.push(("limit".into(), limit.to_string()));
        let next_query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&pairs)
            .finish();
        paging["next"] = json!([format!(
            "https://127.0.0.1:{}{path}?{}",
            addr.port(),
            next_query
        )]);
    }
    json_response(
        json!({"links": {"self": format!("https://127.0.0.1:{}{path}?{query}", addr.port())},
               "items": page, "paging": paging})
        .to_string(),
    )
}

/// Now, as Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
