//! Encrypted, authenticated cookie sessions for hyper, axum and any tower stack.
//!
//! A session is a small map of string keys to `serde` values (a visit count, a user id, a
//! cart), encoded with postcard, sealed with an AEAD under a key ring, and kept in a cookie —
//! or, in server mode, kept in a store behind a sealed id, with the same API. Keys rotate
//! through configuration without logging anyone out. See `SECURITY.md` for the threat model
//! (by trust boundary: network, configuration, public API), the wire format, what is not
//! protected, nonce limits and the key rotation runbook.
//!
//! # Quick start: the visit counter
//! ```
//! use std::convert::Infallible;
//! use http::{header, Request, Response};
//! use sealed_session::{Session, SessionConfig, SessionLayer};
//! use tower::{service_fn, Layer, Service, ServiceExt};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! // In production: SessionConfig::from_file("session.toml")? or SessionConfig::from_env()?
//! let layer = SessionLayer::new(SessionConfig::ephemeral()).unwrap();
//! let mut app = layer.layer(service_fn(|req: Request<()>| async move {
//!     let session = req.extensions().get::<Session>().unwrap();
//!     let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
//!     session.insert("visit_count", &count).unwrap();
//!     Ok::<_, Infallible>(Response::new(format!("You have visited this page {count} times.")))
//! }));
//!
//! let mut cookie: Option<String> = None;
//! for n in 1..=3 {
//!     let mut req = Request::new(());
//!     if let Some(c) = &cookie {
//!         req.headers_mut().insert(header::COOKIE, header::HeaderValue::from_str(c).unwrap());
//!     }
//!     let res = app.ready().await.unwrap().call(req).await.unwrap();
//!     assert_eq!(res.body(), &format!("You have visited this page {n} times."));
//!     let line = res.headers()[header::SET_COOKIE].to_str().unwrap();
//!     cookie = Some(line.split(';').next().unwrap().to_owned());
//! }
//! # });
//! ```
//! With hyper 1, wrap the service in hyper-util's `TowerToHyperService`; with axum, add the
//! layer to the router and take `session: Session` as an extractor (feature `axum`). Run the
//! real server with `cargo run --example visit_counter`.
//!
//! # Layers
//! A lower layer never uses a higher one.
//! ```text
//! request ─▶ cookie I/O ─▶ Session (lazy) ─▶ handler ─▶ Session ─▶ Sealer ─▶ cookie I/O ─▶ response
//!
//! middleware   SessionLayer / SessionService / ResponseFuture; Vary, Cache-Control
//! session      Session handle: lazy open, flush, cycle, set_expiry; server-mode outcome
//! store        SessionStore, MemoryStore, RedisStore (server mode)
//! cookies      find our cookie and its chunks; Set-Cookie, chunking, removal
//! seal         Sealer: SessionData ↔ one sealed value, with the ExpiryPolicy
//! data         SessionData: string keys → postcard values, timestamps
//! codec        wire format v1: header, nonce, AEAD seal/open, base64url
//! keys         Key, KeyId, KeyRing: HKDF, one cipher per key, primary schedule
//! config       SessionConfig from TOML / environment; reload on SIGHUP
//! ```
//!
//! # Features
//! | feature | unlocks |
//! |---|---|
//! | `axum` | `Session` as an axum extractor ([`MissingSessionLayer`] when the layer is missing) |
//! | `redis` | [`store::RedisStore`] and `redis://` store URLs in [`SessionConfig`] |
//! | `cli` | the `sealed-session` binary: `keygen`, `check-config`, `inspect` |
//!
//! No feature is on by default.
//!
//! # The codec alone
//! ```
//! use sealed_session::{Algorithm, ExpiryPolicy, Key, KeyId, KeyRing, Sealer, SessionData};
//! use std::time::SystemTime;
//!
//! let ring = KeyRing::new([Key::new(KeyId(1), Algorithm::default(), &[42; 32])])?;
//! let sealer = Sealer::new("session", ExpiryPolicy::default());
//! let mut data = SessionData::new();
//! data.insert("visit_count", &1u64)?;
//! let cookie_value = sealer.seal(&ring, &data, SystemTime::now())?;
//! let back = sealer.open(&ring, &cookie_value, SystemTime::now())?;
//! assert_eq!(back.data.get::<u64>("visit_count")?, Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod codec;
mod config;
mod cookies;
mod data;
mod error;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
mod extract;
mod keys;
pub mod middleware;
mod reload;
mod seal;
mod session;
pub mod store;
mod time;

pub use config::{
    CookieConfig, ExpiryConfig, KeyConfig, KeyReport, KeyStatus, RotationReport, SameSite,
    SessionConfig, SessionMode, StoreConfig,
};
pub use data::SessionData;
pub use error::{ConfigError, DataError, Error, Expiry, RejectReason, Result};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use extract::MissingSessionLayer;
pub use keys::{
    generate_secret, Algorithm, Key, KeyId, KeyRing, KeyState, UnknownAlgorithm, SECRET_LEN,
};
pub use middleware::{KeyRingHandle, OversizePolicy, SessionLayer, SessionService};
#[cfg(unix)]
pub use reload::{reload_on_sighup, SighupReloader};
pub use seal::{OpenedSession, Sealer};
pub use session::Session;
pub use time::{unix_seconds, Clock, ExpiryPolicy, ManualClock, SystemClock};
