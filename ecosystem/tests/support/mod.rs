//! Test plumbing: a real hyper server on a free 127.0.0.1 port serving an axum `Router`, and a
//! client with a cookie jar (cookies parsed with the `cookie` crate).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use sealed_session::SessionConfig;
use tokio::task::JoinHandle;

pub const KEY1: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
pub const KEY2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

/// A configuration from TOML `extra` plus the key ring `keys` of (id, secret, state).
pub fn config_with(extra: &str, keys: &[(u8, &str, &str)]) -> SessionConfig {
    use std::fmt::Write as _;
    let mut toml = format!("{extra}\n");
    for (id, secret, state) in keys {
        write!(
            toml,
            "[[keys]]\nid = {id}\nsecret = \"{secret}\"\nstate = \"{state}\"\n"
        )
        .unwrap();
    }
    SessionConfig::from_toml_str(&toml).expect("test config parses")
}

/// One xaes key (id 1), default (secure) cookie settings.
pub fn config() -> SessionConfig {
    config_with("", &[(1, KEY1, "primary")])
}

/// A hyper (HTTP/1) server for `app`; dropping it stops accepting connections.
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
    pub async fn serve(app: axum::Router) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let svc = TowerToHyperService::new(app.clone());
                tokio::spawn(async move {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        TestServer { addr, task }
    }
}

#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION)?.to_str().ok()
    }
}

/// A client with a cookie jar (it does not follow redirects).
pub struct Browser {
    base: String,
    pub jar: BTreeMap<String, String>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Browser {
    pub fn new(server: &TestServer) -> Browser {
        Browser {
            base: format!("http://{}", server.addr),
            jar: BTreeMap::new(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.send(Method::GET, path, None).await
    }

    pub async fn post_form(&mut self, path: &str, form: &str) -> Reply {
        self.send(Method::POST, path, Some(form)).await
    }

    pub async fn send(&mut self, method: Method, path: &str, form: Option<&str>) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        let cookie = self
            .jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        if !cookie.is_empty() {
            req = req.header(header::COOKIE, cookie);
        }
        if form.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        let body = Full::new(Bytes::from(form.unwrap_or_default().to_owned()));
        let res = self.client.request(req.body(body).unwrap()).await.unwrap();
        let (parts, body) = res.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        let reply = Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        for line in reply.set_cookies() {
            let c = cookie::Cookie::parse(line).unwrap();
            if c.max_age() == Some(cookie::time::Duration::ZERO) {
                self.jar.remove(c.name());
            } else {
                self.jar.insert(c.name().to_owned(), c.value().to_owned());
            }
        }
        reply
    }
}
