//! Encrypted, authenticated cookie sessions for hyper, axum and any tower stack.
//!
//! A session is a small map of string keys to `serde` values (a visit count, a user id, a
//! cart), encoded as MessagePack so it survives deploys that change its type, sealed with an
//! AEAD under a key ring, and kept in a cookie — or, in server mode, kept in a store behind a
//! sealed id, with the same API. Keys rotate
//! through configuration without logging anyone out. See `SECURITY.md` for the threat model
//! (by trust boundary: network, configuration, public API), the wire format, what is not
//! protected, nonce limits and the key rotation runbook.
//!
//! # Quick start: the visit counter on any tower stack
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
//! With hyper 1, wrap the service in hyper-util's `TowerToHyperService`. Run the real server
//! with `cargo run --example visit_counter`. In server mode with `load = "lazy"`, a handler
//! that takes the session from the extensions calls `session.load().await?` before reading
//! it (answering 503 on the error), as the examples do; the axum extractor does it itself.
//!
//! # The same on axum (feature `axum`)
//! `Session` is an extractor, and the session's errors are responses (a generic 500, details
//! to `tracing`), so `?` works in handlers. The feature implements axum 0.8's traits
//! (axum-core 0.5): without it, or on another axum major version, a handler that takes
//! `Session` fails to compile with axum's ``the trait `Handler<_, _>` is not implemented``.
//! ```
//! # #[cfg(feature = "axum")] {
//! use axum::{routing::get, Router};
//! use http::{header, Request};
//! use sealed_session::{Session, SessionConfig, SessionLayer};
//! use tower::ServiceExt;
//!
//! async fn counter(session: Session) -> Result<String, sealed_session::Error> {
//!     let count: u64 = session.get("visit_count")?.unwrap_or(0) + 1;
//!     session.insert("visit_count", &count)?;
//!     Ok(format!("You have visited this page {count} times."))
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let app = Router::new()
//!     .route("/", get(counter))
//!     .layer(SessionLayer::new(SessionConfig::ephemeral()).unwrap());
//!
//! let res = app.clone().oneshot(Request::new(axum::body::Body::empty())).await.unwrap();
//! let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap();
//! let req = Request::builder().header(header::COOKIE, cookie).body(axum::body::Body::empty());
//! let res = app.oneshot(req.unwrap()).await.unwrap();
//! let body = axum::body::to_bytes(res.into_body(), 1024).await.unwrap();
//! assert_eq!(body, "You have visited this page 2 times.");
//! # });
//! # }
//! ```
//! Run it with `cargo run --example axum_app --features axum`.
//!
//! # Layers
//! A lower layer never imports a higher one; `tests/architecture.rs` checks it on every
//! `cargo test`.
//! ```text
//! request ─▶ cookie I/O ─▶ Session (lazy) ─▶ handler ─▶ Session ─▶ Sealer ─▶ cookie I/O ─▶ response
//!
//! extract      `Session` as an axum extractor (feature `axum`)
//! csrf         CsrfLayer: unsafe requests need the session's CSRF token
//! tower_sessions  tower_sessions::Session over Session; tower-sessions stores as ours
//! middleware   SessionLayer / SessionService / ResponseFuture; Vary, Cache-Control
//! session      Session handle and the layer's Engine; client mode, server mode, outcome
//! reload       KeyRingHandle: the live key ring and expiry policy, reloaded together
//! store        SessionStore, MemoryStore, RedisStore; the store a configuration names
//! cookies      find our cookie and its chunks; Set-Cookie, chunking, removal
//! config       SessionConfig from TOML / environment; validation; rotation report
//! seal         Sealer: SessionData ↔ one sealed value (cookies, server ids and records)
//! data         SessionData: string keys → MessagePack values, timestamps
//! codec        wire format v2 (v1 read): header, nonce, AEAD seal/open, base64url (crate-private)
//! keys         Key, KeyId, KeyRing: HKDF, one cipher per key, primary schedule
//! metrics      metric names; counters and a histogram (feature `metrics`)
//! time, limits, error   clocks and the expiry policy; every bound; error types
//! ```
//!
//! # Where things are
//! The root holds what an application writes every day: [`Session`], [`SessionLayer`],
//! [`SessionConfig`] and the error types. Everything else lives in the module named for it:
//! [`middleware`] (the service, its future, [`OversizePolicy`](middleware::OversizePolicy)),
//! [`csrf`] ([`CsrfLayer`](csrf::CsrfLayer): CSRF tokens for unsafe requests),
//! `tower_sessions` (feature `tower-sessions`: the tower-sessions ecosystem),
//! [`config`] (the configuration sections and the rotation report), [`keys`] (keys and the
//! key ring), [`reload`] (the live key ring and expiry policy), [`store`] (server-mode
//! stores), [`seal`] and [`data`] (sealing a session without the middleware), [`session`]
//! (typed values: [`Typed`](session::Typed), [`SessionValue`](session::SessionValue)),
//! [`time`] (clocks, the expiry policy), [`limits`] and [`metrics`] (metric names).
//!
//! # Features
//! | feature | unlocks |
//! |---|---|
//! | `axum` | `Session` as an axum extractor ([`MissingSessionLayer`] when the layer is missing); [`Typed`](session::Typed), [`Csrf`](csrf::Csrf) and `csrf::CsrfForm` as extractors |
//! | `redis` | [`store::RedisStore`] and `redis://` store URLs in [`SessionConfig`] |
//! | `redis-tls` | `rediss://` store URLs (TLS with rustls): the system's roots, or a private CA ([`store::RedisStoreBuilder::tls_ca_pem`], `store.tls_ca_file`) |
//! | `redis-cluster` | Redis Cluster as the store: [`store::RedisStore::cluster_builder`], `store.cluster` |
//! | `metrics` | counters and a store latency histogram through the `metrics` facade (names in [`metrics`]) |
//! | `cli` | the `sealed-session` binary: `keygen`, `check-config`, `inspect` |
//! | `tower-sessions` | [`tower_sessions`]: `tower_sessions::Session` (axum-login, axum-messages) on sealed cookies or our stores; any tower-sessions store as a server-mode backend |
//!
//! No feature is on by default.
//!
//! # The codec alone
//! ```
//! use sealed_session::data::SessionData;
//! use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
//! use sealed_session::seal::Sealer;
//! use sealed_session::time::ExpiryPolicy;
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

mod codec;
pub mod config;
mod cookies;
pub mod csrf;
pub mod data;
pub mod error;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
mod extract;
pub mod keys;
pub mod limits;
pub mod metrics;
pub mod middleware;
pub mod reload;
pub mod seal;
pub mod session;
pub mod store;
pub mod time;
#[cfg(feature = "tower-sessions")]
#[cfg_attr(docsrs, doc(cfg(feature = "tower-sessions")))]
pub mod tower_sessions;

/// The fuzz targets' bodies name the crate `sealed_session`, as they do from `fuzz/`.
#[cfg(test)]
extern crate self as sealed_session;

/// The committed fuzz corpora, replayed through the fuzz targets' bodies.
#[cfg(test)]
#[path = "../fuzz/replay.rs"]
mod fuzz_replay;

/// The README's code blocks, compiled (and run where they can) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// Seams for the fuzz targets only (cargo-fuzz builds with `--cfg fuzzing`; the unit tests
/// replay the committed corpora through the same target bodies); not API.
#[cfg(any(fuzzing, test))]
#[doc(hidden)]
pub mod __fuzz {
    use std::time::SystemTime;

    use crate::codec::{self, Purpose};
    use crate::error::RejectReason;
    use crate::keys::KeyRing;

    /// Seals any plaintext as a client cookie of wire format `version` (1 or 2).
    ///
    /// # Panics
    /// If the AEAD refuses (it does not for fuzz-sized inputs).
    pub fn seal_plaintext(
        ring: &KeyRing,
        version: u8,
        name: &str,
        now: SystemTime,
        plaintext: &[u8],
    ) -> String {
        let write = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(plaintext);
            Ok(())
        };
        codec::seal_versioned(
            version,
            ring,
            Purpose::Data,
            name.as_bytes(),
            now,
            None,
            0,
            write,
        )
        .expect("seals")
    }

    /// Opens a client cookie down to its plaintext, without decoding a payload.
    ///
    /// # Errors
    /// The codec's rejection.
    pub fn open_plaintext(
        ring: &KeyRing,
        name: &str,
        value: &str,
        now: SystemTime,
    ) -> Result<Vec<u8>, RejectReason> {
        let max = crate::limits::MAX_SEALED_LEN;
        codec::open(ring, Purpose::Data, name.as_bytes(), value, now, max)
            .map(|o| o.plaintext().to_vec())
    }
}

pub use config::SessionConfig;
pub use error::{ConfigError, DataError, Error, RejectReason, Result, StoreError};
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use extract::{MissingSessionLayer, SessionRejection};
pub use middleware::SessionLayer;
pub use session::Session;
