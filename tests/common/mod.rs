//! Shared fixtures for the integration tests: fixed secrets, a fixed clock, a typical session.
//!
//! Nothing here reads the system clock or the OS RNG for secrets, so every test is
//! reproducible. Each test file says `mod common;` and takes what it needs:
//!
//! - this file: keys, key rings, sealers, the clock, a typical session, base64 helpers;
//! - [`http`]: a test configuration and a real hyper client with a cookie jar (`Browser`);
//! - [`load`]: the one loopback server harness (`TestServer`) and a bounded load generator;
//! - [`logs`]: `tracing` events captured as text;
//! - [`redis`]: a throwaway `redis-server` for the Redis tests (which skip without one);
//! - [`redis_tls`]: a TLS-only `redis-server` and a CA made in the test;
//! - [`redis_cluster`]: a three-master Redis Cluster of throwaway servers;
//! - [`browser`]: headless Chromium over WebDriver and an https server for it (the browser
//!   test skips without Chromium);
//! - [`outside`]: the wire format written again from the `RustCrypto` crates;
//! - [`spy`]: a memory store that counts its calls;
//! - [`plant`]: a value planted in every configuration field, and the errors that come back.
//!
//! Every integration-test file is its own crate and uses only part of this tree, so rustc
//! would warn about the rest as dead code (rust-lang/rust#46379). The one `allow` below covers
//! the whole tree, so that no submodule and no test file has to repeat it.
#![allow(dead_code)]

pub mod browser;
pub mod http;
pub mod load;
pub mod logs;
pub mod outside;
pub mod plant;
pub mod redis;
pub mod redis_cluster;
pub mod redis_tls;
pub mod spy;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sealed_session::data::SessionData;
use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
use sealed_session::seal::Sealer;
use sealed_session::time::{ExpiryPolicy, ManualClock};

/// The fixed instant the tests run "at": 2023-11-14T22:13:20Z.
pub const T0: u64 = 1_700_000_000;

/// The cookie name the tests seal for.
pub const COOKIE: &str = "session";

/// One fixed secret per algorithm (never reused across algorithms).
pub const SECRET_XAES: [u8; 32] = [0x11; 32];
pub const SECRET_AES: [u8; 32] = [0x22; 32];
pub const SECRET_CHACHA: [u8; 32] = [0x33; 32];

/// `T0 + secs` as a `SystemTime`.
pub fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(T0 + secs)
}

/// `T0` as a `SystemTime`.
pub fn t0() -> SystemTime {
    at(0)
}

/// A manual clock reading `T0`.
pub fn clock() -> ManualClock {
    ManualClock::at_unix(T0)
}

/// The id of the fixed key for `alg`: 1 (xaes-256-gcm), 2 (aes-256-gcm), 3 (chacha20-poly1305).
pub fn key_id(alg: Algorithm) -> KeyId {
    match alg {
        Algorithm::Xaes256Gcm => KeyId(1),
        Algorithm::Aes256Gcm => KeyId(2),
        Algorithm::ChaCha20Poly1305 => KeyId(3),
    }
}

/// The fixed secret for `alg`.
pub fn secret(alg: Algorithm) -> [u8; 32] {
    match alg {
        Algorithm::Xaes256Gcm => SECRET_XAES,
        Algorithm::Aes256Gcm => SECRET_AES,
        Algorithm::ChaCha20Poly1305 => SECRET_CHACHA,
    }
}

/// The fixed (primary) key for `alg`.
pub fn key(alg: Algorithm) -> Key {
    Key::new(key_id(alg), alg, &secret(alg))
}

/// A ring holding all three fixed keys, `primary` sealing and the other two decrypt-only.
pub fn ring(primary: Algorithm) -> KeyRing {
    let keys = Algorithm::ALL.into_iter().map(|alg| {
        if alg == primary {
            key(alg)
        } else {
            key(alg).decrypt_only()
        }
    });
    KeyRing::new_at(keys, t0()).expect("the fixed ring is valid")
}

/// A ring holding only the fixed key for `alg`.
pub fn single_ring(alg: Algorithm) -> KeyRing {
    KeyRing::new_at([key(alg)], t0()).expect("a single primary is valid")
}

/// A sealer for [`COOKIE`] with the default policy (24 h idle, 7 days absolute, 60 s skew).
pub fn sealer() -> Sealer {
    Sealer::new(COOKIE, ExpiryPolicy::default())
}

/// A sealer for [`COOKIE`] with no skew and the given idle and absolute timeouts (seconds).
pub fn strict_sealer(idle: u64, absolute: u64) -> Sealer {
    Sealer::new(
        COOKIE,
        ExpiryPolicy::default()
            .idle(Duration::from_secs(idle))
            .absolute(Duration::from_secs(absolute))
            .skew(Duration::ZERO),
    )
}

/// The "typical session" of the benchmarks: a logged-in user with a small cart.
pub fn typical_session() -> SessionData {
    let mut data = SessionData::new();
    data.insert("user_id", &1_234_567u64).expect("encodes");
    data.insert("username", "alice_01").expect("encodes");
    data.insert("roles", &["admin", "editor"][..])
        .expect("encodes");
    data.insert("csrf_token", &[0x5au8; 32]).expect("encodes");
    let cart: [(u32, u16); 5] = [(1001, 1), (1002, 2), (20_456, 1), (333_333, 3), (7, 12)];
    data.insert("cart", &cart[..]).expect("encodes");
    data.insert("theme", "dark").expect("encodes");
    data.insert("last_seen", &T0).expect("encodes");
    data
}

/// Decodes a sealed value (base64url, no padding) into its raw bytes.
pub fn decode(value: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(value)
        .expect("a sealed value is base64url")
}

/// Encodes raw bytes as a sealed value would be (base64url, no padding).
pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The two modes most suites run in: client mode, and server mode with the memory store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Client,
    Memory,
}

impl Mode {
    /// `layer` in this mode (a fresh `MemoryStore` for `Memory`).
    pub fn layer(self, layer: sealed_session::SessionLayer) -> sealed_session::SessionLayer {
        match self {
            Mode::Client => layer,
            Mode::Memory => layer.server_store(sealed_session::store::MemoryStore::new()),
        }
    }
}

/// One `#[tokio::test]` per suite function and mode: `both_modes!(a, b)` makes `client::a`,
/// `memory::a`, … each calling `a(Mode::Client)` or `a(Mode::Memory)`. (Test crates that do
/// not use it would warn, like the dead code above.)
#[allow(unused_macros)]
macro_rules! both_modes {
    ($($name:ident),* $(,)?) => {
        mod client {
            $( #[tokio::test] async fn $name() { super::$name(crate::common::Mode::Client).await } )*
        }
        mod memory {
            $( #[tokio::test] async fn $name() { super::$name(crate::common::Mode::Memory).await } )*
        }
    };
}
#[allow(unused_imports)]
pub(crate) use both_modes;
