//! Tower middleware: [`SessionLayer`] → [`SessionService`] → [`ResponseFuture`], in tower-http's
//! shape: `layer.rs` (configuration), `service.rs` (per request), `future.rs` (the response),
//! and here what they share.
//!
//! For each request the service puts a [`Session`](crate::Session) into the request
//! extensions. The cookie is opened only if the handler touches the session. On the response:
//!
//! - a `Set-Cookie` is sent only when needed: the session changed, its idle expiry is due
//!   for renewal, it was opened with a non-primary key (re-sealed under the primary), or a
//!   removal is due (flush, or an invalid cookie arrived);
//! - values longer than `max_cookie_len` are split over chunk cookies, and chunks no longer
//!   needed are removed;
//! - a 5xx response (the handler's work did not complete, or a panic a `CatchPanic` inside
//!   the layer turned into a 500) saves none of the handler's changes, as Django's and
//!   tower-sessions' layers do; a session it ended (`flush`) still ends;
//! - `Vary: Cookie` and `Cache-Control: private` are set on every response whose session was
//!   read or written; `private` is merged into the handler's `Cache-Control`, never weakening
//!   it (`no-cache`, `max-age=0`, `must-revalidate` stay; `public` and `s-maxage` go; a
//!   `no-store` is left as it is); a CDN-targeted field the handler set (`CDN-Cache-Control`,
//!   `Cloudflare-CDN-Cache-Control`, which a CDN obeys instead of `Cache-Control`) is merged
//!   the same way;
//! - a session that does not fit in `max_chunks` cookies turns the response into a 500 and
//!   logs an error (see [`OversizePolicy`]); a rejected cookie never does: it is traced with
//!   its [`RejectReason`](crate::RejectReason) and the request goes on with an empty session.
//!
//! # Concurrency
//! In client mode the session lives in the browser: two concurrent requests of one browser
//! each read the cookie as it was and the last response to arrive wins. Keep values that
//! must not be lost to a race (balances, counters that matter) in your database.
//!
//! # Example
//! ```
//! use std::convert::Infallible;
//! use http::{header, Request, Response};
//! use sealed_session::{Session, SessionConfig, SessionLayer};
//! use tower::{service_fn, Layer, Service, ServiceExt};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let mut config = SessionConfig::default();
//! let secret = sealed_session::keys::generate_secret(); // `sealed-session keygen` in production
//! config.keys.push(toml::from_str(&format!("id = 1\nsecret = \"{secret}\"")).unwrap());
//! let layer = SessionLayer::new(config).unwrap();
//! let mut svc = layer.layer(service_fn(|req: Request<String>| async move {
//!     let session = req.extensions().get::<Session>().unwrap();
//!     let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
//!     session.insert("visit_count", &count).unwrap();
//!     Ok::<_, Infallible>(Response::new(format!("You have visited this page {count} times.")))
//! }));
//!
//! let res = svc.ready().await.unwrap().call(Request::new(String::new())).await.unwrap();
//! let set_cookie = res.headers()[header::SET_COOKIE].to_str().unwrap();
//! assert!(set_cookie.starts_with("__Host-session="));
//! assert_eq!(res.headers()[header::VARY], "Cookie");
//!
//! let cookie = set_cookie.split(';').next().unwrap().to_owned();
//! let req = Request::builder().header(header::COOKIE, cookie).body(String::new()).unwrap();
//! let res = svc.ready().await.unwrap().call(req).await.unwrap();
//! assert_eq!(res.body(), "You have visited this page 2 times.");
//! # })
//! ```

mod future;
mod layer;
mod service;

pub use crate::cookies::OversizePolicy;
pub use future::ResponseFuture;
pub use layer::SessionLayer;
pub use service::SessionService;
