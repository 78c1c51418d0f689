//! The one loopback server harness of the tests and benches ([`TestServer`]: a real hyper
//! server on a free 127.0.0.1 port, serving a tower service, stopped on drop), and a bounded,
//! in-process HTTP load generator over it: N keep-alive clients, each with its own cookie jar,
//! each sending a fixed number of requests. Only ever targets 127.0.0.1.
//!
//! `benches/http.rs` includes this file on its own (`#[path]`), so it stays self-contained:
//! it names no sibling module, and keeps its own `allow(dead_code)` (a bench uses part of it).
#![allow(dead_code)]
// `serve` picks one of two long arms on `Option<SessionLayer>`; a `match` reads best there.
#![allow(clippy::single_match_else)]

use std::convert::Infallible;
use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use sealed_session::{Session, SessionLayer};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tower::{Service, ServiceBuilder};

/// A real hyper (HTTP/1, keep-alive, `TCP_NODELAY`) server on a free 127.0.0.1 port, serving a
/// tower service. Dropping it stops accepting connections.
pub struct TestServer {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TestServer {
    /// Serves `svc`, any tower service of `Request<Incoming>` (a layered `service_fn`, an axum
    /// `Router`), cloned once per connection.
    pub async fn serve<S, B>(svc: S) -> TestServer
    where
        S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let svc = TowerToHyperService::new(svc.clone());
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        TestServer { addr, task }
    }

    /// Serves the async `handler` behind `layer`.
    pub async fn start<F, Fut>(layer: SessionLayer, handler: F) -> TestServer
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
    {
        let svc = ServiceBuilder::new().layer(layer).service_fn(move |req| {
            let handler = handler.clone();
            async move { Ok::<_, Infallible>(handler(req).await) }
        });
        TestServer::serve(svc).await
    }
}

/// The visit counter: reads and writes the session on every request.
#[allow(clippy::unused_async)] // an async handler, as the servers expect
pub async fn counter(req: Request<Incoming>) -> Response<Full<Bytes>> {
    let count: u64 = match req.extensions().get::<Session>() {
        Some(session) => {
            let n = session.get("visit_count").ok().flatten().unwrap_or(0) + 1;
            let _ = session.insert("visit_count", &n);
            n
        }
        None => 0,
    };
    Response::new(Full::new(Bytes::from(count.to_string())))
}

/// Serves [`counter`] behind `layer`, or bare (the baseline) when `None`.
pub async fn serve(layer: Option<SessionLayer>) -> TestServer {
    let app = tower::service_fn(|req| async move { Ok::<_, Infallible>(counter(req).await) });
    match layer {
        Some(layer) => TestServer::serve(ServiceBuilder::new().layer(layer).service(app)).await,
        None => TestServer::serve(app).await,
    }
}

/// What a run measured.
#[derive(Debug)]
pub struct Report {
    pub requests: usize,
    pub errors: usize,
    /// Clients whose final count was not exactly their number of requests.
    pub wrong_counts: usize,
    pub elapsed: Duration,
    /// Sorted latencies of every request.
    pub latencies: Vec<Duration>,
}

// Statistics in f64: counts and indices stay far below 2^52, and `p` is in 0..=1.
#[allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)]
impl Report {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    pub fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i]
    }
}

/// One keep-alive client: sends `requests` GETs, keeps the session cookie, checks each count.
async fn client(addr: SocketAddr, requests: u64, check: bool) -> (u64, usize, bool, Vec<Duration>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let _ = stream.set_nodelay(true);
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    let conn = tokio::spawn(conn);
    let mut cookie: Option<String> = None;
    let (mut errors, mut exact, mut last) = (0usize, true, 0u64);
    let mut latencies = Vec::with_capacity(usize::try_from(requests).unwrap_or(0));
    for expected in 1..=requests {
        let mut req = Request::builder().uri("/");
        if let Some(c) = &cookie {
            req = req.header(header::COOKIE, c.as_str());
        }
        let req = req.body(Full::new(Bytes::new())).unwrap();
        let start = Instant::now();
        let Ok(res) = sender.send_request(req).await else {
            errors += 1;
            break;
        };
        let status = res.status();
        if let Some(line) = res.headers().get(header::SET_COOKIE) {
            let line = line.to_str().unwrap_or_default();
            cookie = line.split(';').next().map(str::to_owned);
        }
        let body = res
            .into_body()
            .collect()
            .await
            .map(http_body_util::Collected::to_bytes);
        latencies.push(start.elapsed());
        match (status, body) {
            (StatusCode::OK, Ok(body)) => {
                last = std::str::from_utf8(&body)
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                if check && last != expected {
                    exact = false;
                }
            }
            _ => errors += 1,
        }
    }
    drop(sender);
    let _ = conn.await;
    (last, errors, exact, latencies)
}

/// Runs `clients` concurrent clients of `requests` requests each against `addr`.
/// `check`: every response must carry the exact count (a session layer is installed).
pub async fn run(addr: SocketAddr, clients: usize, requests: u64, check: bool) -> Report {
    let start = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|_| tokio::spawn(client(addr, requests, check)))
        .collect();
    let mut report = Report {
        requests: 0,
        errors: 0,
        wrong_counts: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::with_capacity(clients * usize::try_from(requests).unwrap_or(0)),
    };
    for t in tasks {
        let (last, errors, exact, latencies) = t.await.unwrap();
        report.requests += latencies.len();
        report.errors += errors;
        if check && (!exact || last != requests) {
            report.wrong_counts += 1;
        }
        report.latencies.extend(latencies);
    }
    report.elapsed = start.elapsed();
    report.latencies.sort_unstable();
    report
}

/// Resident set size of this process in KiB (Linux), for flat-memory checks.
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
