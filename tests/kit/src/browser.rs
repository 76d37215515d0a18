//! A real browser for layout checks: Debian's Chromium driven by its `chromedriver` over the W3C
//! `WebDriver` protocol (JSON over HTTP on loopback), so a test reads the page as a person's screen
//! lays it out: widths, positions, what shows first.

use std::net::SocketAddr;
use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

use crate::client::exchange;
use crate::daemons::free_port;

/// Narrower than this, a session emulates a phone.
const PHONE_WIDTH: u32 = 600;

/// A Chromium session of a given window size; the driver and the browser end with it.
pub struct Browser {
    driver: Child,
    addr: SocketAddr,
    session: String,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// Starts `chromedriver` and one headless Chromium session with a `width` × `height` viewport.
    pub async fn start(width: u32, height: u32) -> Browser {
        let port = free_port();
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver runs (scripts/test installs chromium-driver)");
        let ready = async {
            loop {
                if let Ok((200, status)) = call(addr, "GET", "/status", None).await
                    && status["value"]["ready"] == true
                {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), ready)
            .await
            .expect("chromedriver ready within 30 s");
        let profile = tempfile::tempdir().expect("profile");
        let mut options = json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--hide-scrollbars",
                format!("--window-size={width},{height}"),
                format!("--user-data-dir={}", profile.path().display()),
            ],
        });
        // A phone-sized viewport is a phone: Chromium's own device emulation (a window cannot be
        // made that narrow), which also honours the page's viewport meta tag as a phone does.
        if width < PHONE_WIDTH {
            options["mobileEmulation"] = json!({"deviceMetrics": {
                "width": width, "height": height, "pixelRatio": 1.0, "mobile": true, "touch": true,
            }});
        }
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": options,
        }}});
        let (status, answer) = call(addr, "POST", "/session", Some(&capabilities))
            .await
            .expect("new session");
        assert_eq!(status, 200, "new session: {answer}");
        let session = answer["value"]["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        Browser {
            driver,
            addr,
            session,
            _profile: profile,
        }
    }

    /// Opens `url` and waits for the page to load.
    pub async fn open(&self, url: &str) {
        self.command("POST", "/url", Some(&json!({ "url": url })))
            .await;
    }

    /// Runs `script` (a function body that `return`s) in the page and gives its value.
    pub async fn eval(&self, script: &str) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(&json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// The viewport as a PNG.
    pub async fn screenshot(&self) -> Vec<u8> {
        let data = self.command("GET", "/screenshot", None).await;
        base64::engine::general_purpose::STANDARD
            .decode(data.as_str().expect("base64 screenshot"))
            .expect("screenshot decodes")
    }

    async fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        let (status, answer) = call(self.addr, method, &path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        assert_eq!(status, 200, "{method} {path}: {answer}");
        answer["value"].clone()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.start_kill();
    }
}

/// One `WebDriver` call: the status and the JSON answer.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    let bytes = body.map_or_else(Vec::new, |b| b.to_string().into_bytes());
    let (status, answer) = exchange(
        stream,
        &addr.to_string(),
        method,
        path,
        &[("content-type", "application/json")],
        bytes,
    )
    .await?;
    Ok((
        status,
        serde_json::from_slice(&answer).unwrap_or(Value::Null),
    ))
}
