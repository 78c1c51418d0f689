//! HTTP test plumbing: a fixed test configuration, and a real hyper client with a small cookie
//! jar (cookies parsed with the `cookie` crate) for the server harness, [`TestServer`].

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use sealed_session::SessionConfig;

pub use super::load::TestServer;

pub type Body = Full<Bytes>;

/// A fixed test configuration: one xaes key (id 1), default (secure) cookie settings.
pub const KEY1: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
pub const KEY2: &str = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

pub fn config(extra: &str) -> SessionConfig {
    toml::from_str(&format!("{extra}\n[[keys]]\nid = 1\nsecret = \"{KEY1}\"\n"))
        .expect("test config parses")
}

pub fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut res = Response::new(Full::new(Bytes::from(body.into())));
    *res.status_mut() = status;
    res
}

/// What came back.
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
}

/// A keep-alive client with a cookie jar.
pub struct Browser {
    pub base: String,
    pub jar: BTreeMap<String, String>,
    client: Client<HttpConnector, Body>,
}

impl Browser {
    pub fn new(server: &TestServer) -> Browser {
        Self::with_base(format!("http://{}", server.addr))
    }

    pub fn with_base(base: String) -> Browser {
        Browser {
            base,
            jar: BTreeMap::new(),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub async fn get(&mut self, path: &str) -> Reply {
        self.request(Method::GET, path).await
    }

    /// GETs `path` every 100 ms, for at most 30 s, while the store behind the layer is
    /// unavailable: every answer before the first 200 must be a 503. The body of that 200,
    /// or `None` when none came in time.
    pub async fn get_once_available(&mut self, path: &str) -> Option<String> {
        // Bounded in time, not tries: on a loaded machine (a mutation run beside other
        // builds) Redis's start and the client's reconnection backoff took more than the
        // 5 s that 50 tries of 100 ms gave, and the test failed for the machine's sake.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let r = self.get(path).await;
            if r.status == StatusCode::OK {
                return Some(r.body);
            }
            assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        None
    }

    pub async fn post(&mut self, path: &str) -> Reply {
        self.request(Method::POST, path).await
    }

    /// Sends with the jar's cookies and stores what comes back.
    pub async fn request(&mut self, method: Method, path: &str) -> Reply {
        self.request_with(method, path, &[]).await
    }

    /// As [`request`](Self::request), with extra request headers.
    pub async fn request_with(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.request_full(method, path, headers, "").await
    }

    /// POSTs `form` as `application/x-www-form-urlencoded`, with the jar's cookies.
    pub async fn post_form(&mut self, path: &str, form: &str) -> Reply {
        let headers = [("content-type", "application/x-www-form-urlencoded")];
        self.request_full(Method::POST, path, &headers, form).await
    }

    /// As [`request`](Self::request), with extra request headers and a body.
    pub async fn request_full(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let cookie = self.cookie_header();
        let reply = self
            .send_full(
                method,
                path,
                (!cookie.is_empty()).then_some(cookie),
                headers,
                body,
            )
            .await;
        for line in reply.set_cookies() {
            let c = cookie::Cookie::parse(line).expect("server sends valid Set-Cookie");
            if c.max_age() == Some(cookie::time::Duration::ZERO) {
                self.jar.remove(c.name());
            } else {
                self.jar.insert(c.name().to_owned(), c.value().to_owned());
            }
        }
        reply
    }

    /// Sends with exactly this `Cookie` header (or none), leaving the jar alone.
    pub async fn send_raw(&self, method: Method, path: &str, cookie: Option<String>) -> Reply {
        self.send_with(method, path, cookie, &[]).await
    }

    /// Sends with exactly this `Cookie` header (or none) and extra headers, leaving the jar
    /// alone.
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        cookie: Option<String>,
        headers: &[(&str, &str)],
    ) -> Reply {
        self.send_full(method, path, cookie, headers, "").await
    }

    /// Sends with exactly this `Cookie` header (or none), extra headers and a body, leaving
    /// the jar alone.
    pub async fn send_full(
        &self,
        method: Method,
        path: &str,
        cookie: Option<String>,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Reply {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(c) = cookie {
            req = req.header(header::COOKIE, c);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = self
            .client
            .request(req.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
            .await
            .expect("request to the test server");
        let (parts, body) = res.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Reply {
            status: parts.status,
            headers: parts.headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }
}
