//! A real browser for the tests: Debian's headless Chromium driven through W3C WebDriver
//! (`chromedriver`), and an https server for it on 127.0.0.1 with a self-signed certificate
//! made at start.
//!
//! The WebDriver client is the few JSON-over-HTTP calls the tests need, written here over the
//! hyper client the tests already use (plus `serde_json`), rather than a WebDriver crate and
//! its dependency tree. Every call has a timeout, and everything stays on loopback:
//! `chromedriver` listens on a free 127.0.0.1 port and Chromium runs with the flags this
//! machine needs (no background networking, no sync, no component updates), a fresh profile
//! directory, and `acceptInsecureCerts` for the test certificate.
//!
//! Without `chromium` and `chromedriver` on `PATH`, [`Chromium::start`] returns `None` after
//! writing a `SKIPPED (...)` line straight to stderr (past libtest's capture, as the Redis
//! tests do); with `SEALED_SESSION_REQUIRE_BROWSER=1` (CI) it panics instead.

use std::error::Error as StdError;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, Method, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use serde_json::{json, Value};
use tokio::task::JoinHandle;
use tokio_rustls::rustls;
use tower::Service;

use super::redis::current_test;

/// The Chromium flags this machine needs (see the module docs), before `--user-data-dir`.
const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
];

/// Bound on one WebDriver call; starting a session (a browser) gets [`START_TIMEOUT`].
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const START_TIMEOUT: Duration = Duration::from_mins(1);

/// The W3C key under which an element reference is returned.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Whether browser tests must run (CI sets `SEALED_SESSION_REQUIRE_BROWSER=1`).
pub fn required() -> bool {
    std::env::var("SEALED_SESSION_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

/// `name` on `PATH`, if it is there.
fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// A cookie as the browser holds it (WebDriver's cookie object).
#[derive(Clone, Debug)]
pub struct BrowserCookie {
    pub name: String,
    pub value: String,
    pub path: String,
    pub secure: bool,
    pub http_only: bool,
    pub same_site: String,
}

impl BrowserCookie {
    fn from_json(v: &Value) -> BrowserCookie {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
        BrowserCookie {
            name: s("name"),
            value: s("value"),
            path: s("path"),
            secure: v["secure"].as_bool().unwrap_or(false),
            http_only: v["httpOnly"].as_bool().unwrap_or(false),
            same_site: s("sameSite"),
        }
    }
}

/// `chromedriver` on a free loopback port with one Chromium session; both stopped on drop.
pub struct Chromium {
    driver: Child,
    base: String,
    session: String,
    profile: PathBuf,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Chromium {
    /// Starts `chromedriver` and a headless Chromium, or returns `None` (after printing
    /// `SKIPPED (...): <test>` to stderr) when either is not installed. Panics instead when a
    /// browser is required (`SEALED_SESSION_REQUIRE_BROWSER=1`).
    pub async fn start() -> Option<Chromium> {
        let (Some(chromium), Some(chromedriver)) = (on_path("chromium"), on_path("chromedriver"))
        else {
            let test = current_test();
            assert!(
                !required(),
                "SEALED_SESSION_REQUIRE_BROWSER=1 but `chromium` or `chromedriver` is not on \
                 PATH ({test}); install them (Debian: apt-get install chromium chromium-driver)"
            );
            let line = format!(
                "SKIPPED (chromium or chromedriver not found on PATH; install Debian's chromium \
                 and chromium-driver, or set SEALED_SESSION_REQUIRE_BROWSER=1 to fail instead): \
                 {test}\n"
            );
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
            return None;
        };
        let port = free_port();
        let profile = std::env::temp_dir().join(format!(
            "sealed-session-chromium-{}-{port}",
            std::process::id()
        ));
        std::fs::create_dir_all(&profile).expect("create the browser profile directory");
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!(
                "--log-path={}",
                profile.join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut browser = Chromium {
            driver,
            base: format!("http://127.0.0.1:{port}"),
            session: String::new(),
            profile,
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        browser.wait_ready().await;
        browser.session = browser.new_session(&chromium).await;
        Some(browser)
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(v) = self.call(Method::GET, "/status", None).await {
                if v["ready"].as_bool() == Some(true) {
                    return;
                }
            }
            if let Ok(Some(status)) = self.driver.try_wait() {
                panic!(
                    "chromedriver exited at start ({status}); {}",
                    self.driver_log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver not ready after {START_TIMEOUT:?}; {}",
                self.driver_log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn new_session(&self, chromium: &Path) -> String {
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|&f| f.to_owned()).collect();
        args.push(format!(
            "--user-data-dir={}",
            self.profile.join("profile").display()
        ));
        let caps = json!({
            "capabilities": {
                "alwaysMatch": {
                    "acceptInsecureCerts": true,
                    "pageLoadStrategy": "normal",
                    "timeouts": { "pageLoad": 30_000, "script": 10_000, "implicit": 0 },
                    "goog:chromeOptions": {
                        "binary": chromium.to_str().expect("a UTF-8 path"),
                        "args": args,
                    },
                }
            }
        });
        let v = tokio::time::timeout(
            START_TIMEOUT,
            self.call_unbounded(Method::POST, "/session", Some(&caps)),
        )
        .await
        .unwrap_or_else(|_| panic!("no browser after {START_TIMEOUT:?}; {}", self.driver_log()))
        .unwrap_or_else(|e| panic!("cannot start Chromium: {e}; {}", self.driver_log()));
        v["sessionId"]
            .as_str()
            .expect("a new session has an id")
            .to_owned()
    }

    /// The end of chromedriver's log, for failure messages.
    fn driver_log(&self) -> String {
        let log =
            std::fs::read_to_string(self.profile.join("chromedriver.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(20).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("chromedriver log (last lines):\n{}", tail.join("\n"))
    }

    /// One WebDriver call, bounded by [`CALL_TIMEOUT`]: its `value`, or the error it reported.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        tokio::time::timeout(
            CALL_TIMEOUT,
            self.call_unbounded(method.clone(), path, body),
        )
        .await
        .unwrap_or_else(|_| Err(format!("{method} {path}: no answer in {CALL_TIMEOUT:?}")))
    }

    async fn call_unbounded(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, String> {
        let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let req = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(Full::new(body))
            .expect("a valid request");
        let res = self
            .client
            .request(req)
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?;
        let status = res.status();
        let bytes = res
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{method} {path}: {e}"))?
            .to_bytes();
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{method} {path}: {status}, not JSON ({e})"))?;
        let value = v.get("value").cloned().unwrap_or(Value::Null);
        if status.is_success() {
            Ok(value)
        } else {
            Err(format!(
                "{method} {path}: {status} {} {}",
                value["error"], value["message"]
            ))
        }
    }

    /// A call of this session; panics with WebDriver's error.
    async fn session_call(&self, method: Method, path: &str, body: Option<&Value>) -> Value {
        let path = format!("/session/{}{path}", self.session);
        self.call(method, &path, body)
            .await
            .unwrap_or_else(|e| panic!("WebDriver: {e}"))
    }

    /// Navigates to `url` and waits for the page to load.
    pub async fn goto(&self, url: &str) {
        self.session_call(Method::POST, "/url", Some(&json!({ "url": url })))
            .await;
    }

    /// The page's HTML as the browser holds it.
    pub async fn source(&self) -> String {
        let v = self.session_call(Method::GET, "/source", None).await;
        v.as_str().unwrap_or_default().to_owned()
    }

    /// The rendered text of the page's `body`.
    pub async fn body_text(&self) -> String {
        let query = json!({ "using": "css selector", "value": "body" });
        let path = format!("/session/{}/element", self.session);
        let Ok(element) = self.call(Method::POST, &path, Some(&query)).await else {
            panic!("the page has no body; its source: {}", self.source().await);
        };
        let id = element[ELEMENT_KEY].as_str().expect("an element reference");
        let text = self
            .session_call(Method::GET, &format!("/element/{id}/text"), None)
            .await;
        text.as_str().expect("text is a string").to_owned()
    }

    /// The reference of the first element matching the CSS `selector`.
    async fn element(&self, selector: &str) -> String {
        let query = json!({ "using": "css selector", "value": selector });
        let element = self
            .session_call(Method::POST, "/element", Some(&query))
            .await;
        element[ELEMENT_KEY]
            .as_str()
            .unwrap_or_else(|| panic!("no element {selector}"))
            .to_owned()
    }

    /// Types `text` into the first element matching `selector` (a form field).
    pub async fn fill(&self, selector: &str, text: &str) {
        let id = self.element(selector).await;
        let body = json!({ "text": text });
        self.session_call(Method::POST, &format!("/element/{id}/value"), Some(&body))
            .await;
    }

    /// Clicks the first element matching `selector` (a submit button) and waits until the
    /// page it leads to has replaced this one: WebDriver's click can return before the
    /// navigation it starts, so the old page's `<html>` is polled until it is stale, then the
    /// new page's `<body>` until it is there (each bounded by [`CALL_TIMEOUT`]).
    pub async fn click(&self, selector: &str) {
        let html = self.element("html").await;
        let id = self.element(selector).await;
        self.session_call(
            Method::POST,
            &format!("/element/{id}/click"),
            Some(&json!({})),
        )
        .await;
        let session = format!("/session/{}", self.session);
        let deadline = Instant::now() + CALL_TIMEOUT;
        let gone = format!("{session}/element/{html}/name");
        while self.call(Method::GET, &gone, None).await.is_ok() {
            assert!(
                Instant::now() < deadline,
                "the click on {selector} led nowhere"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let query = json!({ "using": "css selector", "value": "body" });
        let find = format!("{session}/element");
        while self.call(Method::POST, &find, Some(&query)).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "the page after {selector} has no body"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Navigates to `url` and returns the page's text.
    pub async fn visit(&self, url: &str) -> String {
        self.goto(url).await;
        self.body_text().await
    }

    /// Every cookie the browser would send to the current page (`HttpOnly` ones included).
    pub async fn cookies(&self) -> Vec<BrowserCookie> {
        let v = self.session_call(Method::GET, "/cookie", None).await;
        v.as_array()
            .expect("a list of cookies")
            .iter()
            .map(BrowserCookie::from_json)
            .collect()
    }

    /// Sets a cookie for the current page's host (replacing one of the same name and path).
    pub async fn add_cookie(&self, cookie: &BrowserCookie) {
        let body = json!({ "cookie": {
            "name": cookie.name,
            "value": cookie.value,
            "path": cookie.path,
            "secure": cookie.secure,
            "httpOnly": cookie.http_only,
            "sameSite": cookie.same_site,
        }});
        self.session_call(Method::POST, "/cookie", Some(&body))
            .await;
    }

    /// Ends the session (closes Chromium); `chromedriver` stops on drop.
    pub async fn quit(mut self) {
        let path = format!("/session/{}", std::mem::take(&mut self.session));
        if let Err(e) = self.call(Method::DELETE, &path, None).await {
            eprintln!("closing Chromium: {e}");
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // After a panic the session is still open: ask chromedriver to close its browsers
        // (`/shutdown`) before stopping it, so that no Chromium outlives the test.
        if !self.session.is_empty() {
            let addr: SocketAddr = self
                .base
                .trim_start_matches("http://")
                .parse()
                .expect("a loopback address");
            if let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
                let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
                let _ = s.write_all(
                    format!("GET /shutdown HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")
                        .as_bytes(),
                );
                let _ = s.read_to_end(&mut Vec::new());
            }
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(self.driver.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// An https (HTTP/1.1 over TLS 1.3, rustls with the `ring` provider) server on a free
/// 127.0.0.1 port, with a self-signed certificate for `localhost` and `127.0.0.1` made at
/// start. Dropping it stops accepting connections.
pub struct HttpsServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl HttpsServer {
    /// Serves `svc`, cloned once per connection.
    pub async fn serve<S, B>(svc: S) -> HttpsServer
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(tls_config()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let (acceptor, svc) = (acceptor.clone(), svc.clone());
                tokio::spawn(async move {
                    let Ok(Ok(tls)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream))
                            .await
                    else {
                        return;
                    };
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(svc))
                        .await;
                });
            }
        });
        HttpsServer { addr, task }
    }

    /// `https://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.addr)
    }
}

/// A rustls server configuration with a fresh self-signed certificate.
fn tls_config() -> rustls::ServerConfig {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(["localhost".to_owned(), "127.0.0.1".to_owned()])
            .expect("a self-signed certificate");
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key.into())
        .expect("the certificate matches its key");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    config
}
