//! Real servers from Debian, as an operator meets them: squid, tinyproxy, dnsmasq and
//! `openssl s_server`, each started on 127.0.0.1 with a configuration the test writes into its own
//! temporary folder, and killed when dropped (also when the test fails).

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::process::{Child, Command};

/// How long a daemon may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running server program.
pub struct Daemon {
    pub addr: SocketAddr,
    /// The daemon's folder: its configuration, logs and files.
    pub dir: PathBuf,
    child: Child,
    _tmp: tempfile::TempDir,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

impl Daemon {
    /// The daemon's own log (stdout and stderr), for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("output.log")).unwrap_or_default()
    }
}

/// Where `name` is installed: on `PATH`, or in the `sbin` folders root's `PATH` has.
pub fn program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// A port that was free a moment ago for both TCP and UDP (for programs that cannot be told to
/// pick one; DNS daemons listen on both, and another test's DNS server may hold the UDP port of a
/// number that is free for TCP).
pub fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = tcp.local_addr().expect("addr").port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

fn folder() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Daemons started as root drop to their own user (proxy, nobody): they must read and write here.
    set_mode(tmp.path(), 0o777);
    tmp
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    set_mode(&path, 0o644);
    path
}

/// Starts `program` with `args` in `tmp` and waits until `addr` accepts TCP connections.
async fn start(
    program_name: &str,
    args: &[String],
    tmp: tempfile::TempDir,
    addr: SocketAddr,
) -> Daemon {
    let dir = tmp.path().to_path_buf();
    let exe = program(program_name)
        .unwrap_or_else(|| panic!("`{program_name}` is not installed (scripts/test installs it)"));
    let log = std::fs::File::create(dir.join("output.log")).expect("log");
    let child = Command::new(exe)
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log"))
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program_name}: {e}"));
    let mut daemon = Daemon {
        addr,
        dir,
        child,
        _tmp: tmp,
    };
    let started = std::time::Instant::now();
    loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return daemon;
        }
        if let Ok(Some(status)) = daemon.child.try_wait() {
            panic!("{program_name} exited with {status}:\n{}", daemon.log());
        }
        assert!(
            started.elapsed() < START_TIMEOUT,
            "{program_name} did not listen on {addr}:\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Writes `conf` as `file` in the daemon's folder and starts `program` with `flags` then the
/// file's path, waiting until it listens on 127.0.0.1:`port`.
async fn start_with(
    program: &str,
    tmp: tempfile::TempDir,
    port: u16,
    file: &str,
    conf: &str,
    flags: &[&str],
) -> Daemon {
    let conf_file = write(tmp.path(), file, conf);
    let mut args: Vec<String> = flags.iter().map(|f| (*f).to_string()).collect();
    args.push(conf_file.display().to_string());
    start(
        program,
        &args,
        tmp,
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
    .await
}

/// The `server:` section every unbound here starts with: on 127.0.0.1:`port`, in the foreground,
/// files in `dir`, iterator only, nothing cached between probes.
fn unbound_server(port: u16, dir: &Path) -> String {
    let d = dir.display();
    format!(
        "server:\n  interface: 127.0.0.1\n  port: {port}\n  do-daemonize: no\n  username: \"\"\n  chroot: \"\"\n  directory: \"{d}\"\n  pidfile: \"{d}/unbound.pid\"\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  num-threads: 1\n  access-control: 127.0.0.0/8 allow\n  do-ip6: no\n  module-config: \"iterator\"\n  cache-max-ttl: 0\n  cache-max-negative-ttl: 0\n"
    )
}

/// How squid authenticates its clients.
pub enum SquidAuth {
    None,
    /// `basic_ncsa_auth` with an htpasswd file (apr1 hash made by `openssl passwd`).
    Basic {
        user: String,
        password: String,
    },
    /// `digest_file_auth` with a plain-text password file.
    Digest {
        user: String,
        password: String,
    },
    /// NTLM only (`ntlm_fake_auth`), as a Windows-integrated proxy offers it.
    Ntlm,
    /// Negotiate (Kerberos) and NTLM, as a proxy joined to Active Directory offers them.
    NegotiateAndNtlm,
}

/// squid as an HTTP proxy: `hosts` are its name table, other names it asks the DNS server at
/// `dns` (port 53), and CONNECT to a port of `denied_ports` is refused by policy.
pub async fn squid(
    auth: SquidAuth,
    hosts: &[(&str, IpAddr)],
    dns: IpAddr,
    denied_ports: &[u16],
) -> Daemon {
    let tmp = folder();
    let dir = tmp.path();
    let port = free_port();
    let hosts_text: String = hosts.iter().map(|(n, ip)| format!("{ip} {n}\n")).collect();
    let hosts_file = write(dir, "hosts", &hosts_text);
    let d = dir.display();
    let mut conf = format!(
        "http_port 127.0.0.1:{port}\npid_filename {d}/squid.pid\naccess_log stdio:{d}/access.log\ncache_log {d}/cache.log\ncache_store_log none\ncoredump_dir {d}\ncache deny all\nhosts_file {}\ndns_nameservers {dns}\nshutdown_lifetime 0 seconds\n",
        hosts_file.display()
    );
    let helpers = "/usr/lib/squid";
    match &auth {
        SquidAuth::None => {}
        SquidAuth::Basic { user, password } => {
            let hash = std::process::Command::new("openssl")
                .args(["passwd", "-apr1", password])
                .output()
                .expect("openssl passwd");
            let line = format!("{user}:{}", String::from_utf8_lossy(&hash.stdout).trim());
            let file = write(dir, "passwd", &format!("{line}\n"));
            conf.push_str(&format!(
                "auth_param basic program {helpers}/basic_ncsa_auth {}\nauth_param basic realm fmc-proxy\n",
                file.display()
            ));
        }
        SquidAuth::Digest { user, password } => {
            let file = write(dir, "digest", &format!("{user}:{password}\n"));
            conf.push_str(&format!(
                "auth_param digest program {helpers}/digest_file_auth {}\nauth_param digest realm fmc-proxy\n",
                file.display()
            ));
        }
        // The helpers start only when a client answers the challenge (startup=0): the 407 and
        // its schemes come from squid itself.
        SquidAuth::Ntlm => conf.push_str(&format!(
            "auth_param ntlm program {helpers}/ntlm_fake_auth\nauth_param ntlm children 1 startup=0\n"
        )),
        SquidAuth::NegotiateAndNtlm => conf.push_str(&format!(
            "auth_param negotiate program {helpers}/negotiate_kerberos_auth -s GSS_C_NO_NAME\nauth_param negotiate children 1 startup=0\nauth_param ntlm program {helpers}/ntlm_fake_auth\nauth_param ntlm children 1 startup=0\n"
        )),
    }
    for p in denied_ports {
        conf.push_str(&format!(
            "acl denied_port port {p}\nhttp_access deny CONNECT denied_port\n"
        ));
    }
    if matches!(auth, SquidAuth::None) {
        conf.push_str("http_access allow all\n");
    } else {
        conf.push_str(
            "acl authed proxy_auth REQUIRED\nhttp_access allow authed\nhttp_access deny all\n",
        );
    }
    start_with("squid", tmp, port, "squid.conf", &conf, &["-N", "-f"]).await
}

/// tinyproxy with Basic authentication, allowing CONNECT to `connect_ports` only.
pub async fn tinyproxy(user: &str, password: &str, connect_ports: &[u16]) -> Daemon {
    let tmp = folder();
    let dir = tmp.path();
    let port = free_port();
    let d = dir.display();
    let mut conf = format!(
        "Port {port}\nListen 127.0.0.1\nTimeout 10\nMaxClients 50\nLogFile \"{d}/tinyproxy.log\"\nLogLevel Info\nPidFile \"{d}/tinyproxy.pid\"\nBasicAuth {user} {password}\n"
    );
    for p in connect_ports {
        conf.push_str(&format!("ConnectPort {p}\n"));
    }
    start_with(
        "tinyproxy",
        tmp,
        port,
        "tinyproxy.conf",
        &conf,
        &["-d", "-c"],
    )
    .await
}

/// dnsmasq as the device's resolver, forwarding every query to `upstream` (no cache, no hosts
/// file, no resolv.conf: only what the upstream answers), with `extra` options (a sinkhole's
/// `--address=/name/0.0.0.0`).
pub async fn dnsmasq(upstream: SocketAddr, extra: &[&str]) -> Daemon {
    let tmp = folder();
    let dir = tmp.path();
    let port = free_port();
    let args = vec![
        "--keep-in-foreground".to_string(),
        "--log-facility=-".into(),
        "--log-queries".into(),
        format!("--port={port}"),
        "--listen-address=127.0.0.1".into(),
        "--bind-interfaces".into(),
        "--no-resolv".into(),
        "--no-hosts".into(),
        "--cache-size=0".into(),
        format!("--server={}#{}", upstream.ip(), upstream.port()),
        format!("--pid-file={}/dnsmasq.pid", dir.display()),
    ];
    let mut args = args;
    args.extend(extra.iter().map(|a| (*a).to_string()));
    start(
        "dnsmasq",
        &args,
        tmp,
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
    .await
}

/// `openssl s_server` answering `GET /` (`-www`) with `cert` and `key` (PEM), and `extra`
/// arguments (protocol versions, client certificates, ciphers).
pub async fn openssl_server(cert_pem: &str, key_pem: &str, extra: &[&str]) -> Daemon {
    let tmp = folder();
    let dir = tmp.path();
    let port = free_port();
    let cert = write(dir, "server.crt", cert_pem);
    let key = write(dir, "server.key", key_pem);
    let mut args = vec![
        "s_server".to_string(),
        "-accept".into(),
        format!("127.0.0.1:{port}"),
        "-cert".into(),
        cert.display().to_string(),
        "-key".into(),
        key.display().to_string(),
        "-www".into(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_string()));
    start(
        "openssl",
        &args,
        tmp,
        SocketAddr::from(([127, 0, 0, 1], port)),
    )
    .await
}

/// unbound as a recursive resolver that reaches `zone` through a delegation (a stub zone) to the
/// name server at `server`; iterator only (no DNSSEC), nothing cached between probes.
pub async fn unbound(zone: &str, server: SocketAddr) -> Daemon {
    let tmp = folder();
    let dir = tmp.path();
    let port = free_port();
    let conf = format!(
        "{}  do-not-query-localhost: no\n  qname-minimisation: no\n  infra-host-ttl: 1\nstub-zone:\n  name: \"{zone}\"\n  stub-addr: {}@{}\n",
        unbound_server(port, dir),
        server.ip(),
        server.port()
    );
    start_with("unbound", tmp, port, "unbound.conf", &conf, &["-d", "-c"]).await
}

/// Where `scripts/test` unpacks Debian's `squid-openssl` (squid built with OpenSSL, for ssl-bump),
/// beside the plain `squid` it would replace if installed: `FCE_SQUID_OPENSSL` names its
/// `usr/sbin/squid`, or the default place under `target/`.
pub fn squid_openssl() -> Option<PathBuf> {
    let path = std::env::var_os("FCE_SQUID_OPENSSL").map_or_else(
        || {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/middleboxes/squid-openssl/usr/sbin/squid")
        },
        PathBuf::from,
    );
    path.is_file().then_some(path)
}

/// squid with ssl-bump as an enterprise's TLS inspection: CONNECT is allowed, the TLS session is
/// decrypted with certificates minted by its own CA (`inspection-ca.pem` in its folder, made by
/// `openssl req`, named `common_name`), and every request inside to `blocked` is denied with
/// squid's own error page (403, `X-Squid-Error`, HTML).
pub async fn squid_bump(squid: &Path, common_name: &str, blocked: &str) -> Daemon {
    let tmp = folder();
    let dir = tmp.path();
    let port = free_port();
    let ca = dir.join("inspection-ca.pem");
    let key = dir.join("inspection-ca.key");
    let made = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj",
        ])
        .arg(format!("/O=Corp/CN={common_name}"))
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&ca)
        .output()
        .expect("openssl req");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    set_mode(&ca, 0o644);
    set_mode(&key, 0o644);
    // squid's certificate generator and its database, from the same unpacked package.
    let root = squid
        .ancestors()
        .nth(3)
        .expect("the package's root above usr/sbin/squid");
    let certgen = root.join("usr/lib/squid/security_file_certgen");
    let db = dir.join("ssl_db");
    let init = std::process::Command::new(&certgen)
        .args(["-c", "-s"])
        .arg(&db)
        .args(["-M", "4MB"])
        .output()
        .expect("security_file_certgen");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let _ = std::process::Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(&db)
        .status();
    let d = dir.display();
    let conf = format!(
        "http_port 127.0.0.1:{port} ssl-bump tls-cert={ca} tls-key={key} generate-host-certificates=on dynamic_cert_mem_cache_size=4MB\n\
         sslcrtd_program {certgen} -s {db} -M 4MB\n\
         sslcrtd_children 2 startup=1 idle=1\n\
         ssl_bump bump all\n\
         acl blocked dstdomain {blocked}\n\
         http_access deny blocked\n\
         http_access allow all\n\
         pid_filename {d}/squid.pid\naccess_log stdio:{d}/access.log\ncache_log {d}/cache.log\ncache_store_log none\ncoredump_dir {d}\ncache deny all\nshutdown_lifetime 0 seconds\n",
        ca = ca.display(),
        key = key.display(),
        certgen = certgen.display(),
        db = db.display(),
    );
    start_with(
        &squid.display().to_string(),
        tmp,
        port,
        "squid.conf",
        &conf,
        &["-N", "-f"],
    )
    .await
}

/// nginx speaking plain HTTP on a port a TLS client expects TLS on (a plain-HTTP service on 443,
/// a captive portal): it answers a TLS `ClientHello` with `400 Bad Request`. It listens on every
/// address a test world's names resolve to.
pub async fn nginx_plain_http() -> Daemon {
    let tmp = folder();
    let port = free_port();
    let listen: String = crate::servers::WORLD_ADDRESSES
        .iter()
        .map(|[a, b, c, e]| format!("    listen {a}.{b}.{c}.{e}:{port};\n"))
        .collect();
    let conf = nginx_conf(
        tmp.path(),
        &format!("{listen}    location / {{ return 403 \"blocked by policy\\n\"; }}\n"),
    );
    let prefix = tmp.path().display().to_string();
    start_with(
        "nginx",
        tmp,
        port,
        "nginx.conf",
        &conf,
        &["-p", &prefix, "-c"],
    )
    .await
}

/// An nginx configuration for one `server` block (its lines in `server`), in the foreground
/// without a master process, every file in `dir`; start it with `nginx -p DIR -c FILE`.
pub fn nginx_conf(dir: &Path, server: &str) -> String {
    let d = dir.display();
    format!(
        "daemon off;\nmaster_process off;\nworker_processes 1;\nuser root;\npid {d}/nginx.pid;\nerror_log {d}/error.log;\nevents {{ worker_connections 64; }}\nhttp {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  server {{\n{server}  }}\n}}\n"
    )
}

/// unbound answering from `local-data` records only (`"name. A 192.0.2.1"`), as a resolver with
/// a response policy or a split-horizon zone does; several A records of one name come back in a
/// rotating order (`rrset-roundrobin`).
pub async fn unbound_local(records: &[&str]) -> Daemon {
    let tmp = folder();
    let dir = tmp.path();
    let port = free_port();
    let mut conf = unbound_server(port, dir) + "  rrset-roundrobin: yes\n";
    for record in records {
        conf.push_str(&format!("  local-data: \"{record}\"\n"));
    }
    start_with("unbound", tmp, port, "unbound.conf", &conf, &["-d", "-c"]).await
}
