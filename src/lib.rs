//! Encrypted, authenticated cookie sessions for hyper, axum and any tower stack.
//!
//! A session is a small map of string keys to `serde` values (a visit count, a user id, a
//! cart), encoded with postcard, sealed with an AEAD under a key ring, and kept in a cookie.
//! Keys rotate through configuration without logging anyone out. See `SECURITY.md` for the
//! threat model, the wire format and the key rotation runbook.
//!
//! # Layers
//! ```text
//! codec (wire format v1)  ◀─ keys (Key, KeyRing)
//!   ▲
//! data (SessionData) ◀─ seal (Sealer: payload + expiry)
//! ```
//!
//! # Quick start
//! ```
//! use sealed_session::{Algorithm, ExpiryPolicy, Key, KeyId, KeyRing, Sealer, SessionData};
//! use std::time::SystemTime;
//!
//! let ring = KeyRing::new([Key::new(KeyId(1), Algorithm::default(), &[42; 32])])?;
//! let sealer = Sealer::new("session", ExpiryPolicy::default());
//! let mut data = SessionData::new();
//! let count: u64 = data.get("visit_count")?.unwrap_or(0) + 1;
//! data.insert("visit_count", &count)?;
//! let cookie_value = sealer.seal(&ring, &data, SystemTime::now())?;
//! let back = sealer.open(&ring, &cookie_value, SystemTime::now())?;
//! assert_eq!(back.data.get::<u64>("visit_count")?, Some(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(clippy::pedantic)]
#![allow(clippy::module_name_repetitions, clippy::must_use_candidate)]
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
