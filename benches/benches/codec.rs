//! Sealing and opening sessions with the library, beside a raw pipeline built from the same
//! crates, for each algorithm; the typical session also beside the `cookie` crate's
//! `PrivateJar` with `serde_json`; and seal/open as the session grows.
//!
//! - `seal/<algorithm>/library`: `Sealer::seal` of a `SessionData` (entries already encoded).
//! - `seal/<algorithm>/raw`: postcard of an equivalent plain struct, then the same AEAD crate
//!   (key derived once with HKDF-SHA256, a random nonce from `rand::rng()`, in place, AAD =
//!   cookie name), then base64url without padding.
//! - `open/<algorithm>/library`: `Sealer::open` (length cap, base64, header, key lookup, AEAD,
//!   payload decode into `SessionData`, expiry checks).
//! - `open/<algorithm>/raw`: base64url decode, AEAD open in place, postcard into the struct.
//! - `seal/cookie-private-jar/serde_json`: what axum-extra's `PrivateCookieJar` and
//!   actix-session's cookie store do per request: `serde_json` of the same struct, then
//!   `CookieJar::private_mut(&key).add(..)` (AES-256-GCM, 12-byte nonce, standard base64) and
//!   the sealed value read back from the jar.
//! - `open/cookie-private-jar/serde_json`: a new jar holding the incoming cookie,
//!   `private(&key).get(..)`, then `serde_json` into the struct.
//! - `scale_seal/<algorithm>/<bytes>` and `scale_open/<algorithm>/<bytes>` (`library`, `raw`):
//!   a session holding one byte-string entry of 64, 256, 1024 or 3072 bytes. The raw struct
//!   uses `serde_bytes` (postcard writes the same bytes as the library's `Vec<u8>` entry, with
//!   a `memcpy`), so the floor is as low as it gets.
//!
//! Run: `cargo bench -p sealed-session-benches --bench codec` (the measured run used
//! `-- --warm-up-time 1 --measurement-time 2`). Cookie value lengths are printed on stderr
//! before the runs.

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aes_gcm::aead::{AeadInOut, KeyInit};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use criterion::{criterion_main, Criterion, Throughput};
use hkdf::Hkdf;
use rand::Rng as _;
use sealed_session::data::SessionData;
use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
use sealed_session::seal::Sealer;
use sealed_session::time::ExpiryPolicy;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

const COOKIE: &str = "session";
const TAG_LEN: usize = 16;
const SECRET: [u8; 32] = [0x42; 32];
/// Data sizes of the scaling runs (bytes of session data).
const SIZES: [usize; 4] = [64, 256, 1024, 3072];

/// The typical session as a plain struct (what a hand-written pipeline would serialize).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Typical {
    user_id: u64,
    username: String,
    roles: Vec<String>,
    csrf_token: [u8; 32],
    cart: Vec<(u32, u16)>,
    theme: String,
    last_seen: u64,
}

fn typical() -> Typical {
    Typical {
        user_id: 1_234_567,
        username: "alice_01".to_owned(),
        roles: vec!["admin".to_owned(), "editor".to_owned()],
        csrf_token: [0x5a; 32],
        cart: vec![(1001, 1), (1002, 2), (20_456, 1), (333_333, 3), (7, 12)],
        theme: "dark".to_owned(),
        last_seen: 1_700_000_000,
    }
}

/// The same session as library entries.
fn typical_data() -> SessionData {
    let t = typical();
    let mut data = SessionData::new();
    data.insert("user_id", &t.user_id).expect("encodes");
    data.insert("username", &t.username).expect("encodes");
    data.insert("roles", &t.roles).expect("encodes");
    data.insert("csrf_token", &t.csrf_token).expect("encodes");
    data.insert("cart", &t.cart).expect("encodes");
    data.insert("theme", &t.theme).expect("encodes");
    data.insert("last_seen", &t.last_seen).expect("encodes");
    data
}

/// A session holding `len` bytes of data, as a plain struct.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Blob {
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
}

fn blob(len: usize) -> Blob {
    Blob {
        data: (0..len)
            .map(|i| u8::try_from(i * 31 % 251).expect("below 251"))
            .collect(),
    }
}

/// The same session as one library entry (postcard writes the same bytes for `Vec<u8>`).
fn blob_data(len: usize) -> SessionData {
    let mut data = SessionData::new();
    data.insert("data", &blob(len).data).expect("encodes");
    data
}

/// A hand-written pipeline over one AEAD: `base64url(nonce ‖ ciphertext ‖ tag)`.
struct Raw<C> {
    cipher: C,
    nonce_len: usize,
}

impl<C: AeadInOut + KeyInit> Raw<C> {
    fn new(alg: Algorithm) -> Self {
        let info = format!("bench {} cookie", alg.name());
        let mut key = [0u8; 32];
        Hkdf::<Sha256>::new(None, &SECRET)
            .expand(info.as_bytes(), &mut key)
            .expect("32 bytes is a valid HKDF-SHA256 length");
        Raw {
            cipher: C::new_from_slice(&key).expect("32-byte key"),
            nonce_len: alg.nonce_len(),
        }
    }

    /// Seals `session`; `size_hint` is the expected postcard length (the buffer is sized once).
    fn seal<T: Serialize>(&self, session: &T, size_hint: usize) -> String {
        let n = self.nonce_len;
        let mut buf = Vec::with_capacity(n + size_hint + TAG_LEN);
        buf.resize(n, 0);
        rand::rng().fill_bytes(&mut buf[..n]);
        let mut buf = postcard::to_extend(session, buf).expect("encodes");
        let (nonce, body) = buf.split_at_mut(n);
        let tag = self
            .cipher
            .encrypt_inout_detached(
                (&*nonce).try_into().expect("nonce length"),
                COOKIE.as_bytes(),
                body.into(),
            )
            .expect("seals");
        buf.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(&buf)
    }

    fn open<T: DeserializeOwned>(&self, value: &str) -> Option<T> {
        let mut buf = URL_SAFE_NO_PAD.decode(value).ok()?;
        let (nonce, rest) = buf.split_at_mut_checked(self.nonce_len)?;
        let ct_len = rest.len().checked_sub(TAG_LEN)?;
        let (ciphertext, tag) = rest.split_at_mut(ct_len);
        self.cipher
            .decrypt_inout_detached(
                (&*nonce).try_into().ok()?,
                COOKIE.as_bytes(),
                (&mut *ciphertext).into(),
                (&*tag).try_into().ok()?,
            )
            .ok()?;
        postcard::from_bytes(ciphertext).ok()
    }
}

/// The peer: `serde_json` in a `cookie` crate private cookie (AES-256-GCM).
struct PrivateJarJson {
    key: cookie::Key,
}

impl PrivateJarJson {
    fn new() -> Self {
        PrivateJarJson {
            key: cookie::Key::from(&[0x42; 64]),
        }
    }

    /// Seals `session` into a new jar and returns the jar, whose `COOKIE` holds the sealed
    /// value (read with [`Self::value`]).
    fn seal<T: Serialize>(&self, session: &T) -> cookie::CookieJar {
        let json = serde_json::to_string(session).expect("encodes");
        let mut jar = cookie::CookieJar::new();
        jar.private_mut(&self.key)
            .add(cookie::Cookie::new(COOKIE, json));
        jar
    }

    fn value(jar: &cookie::CookieJar) -> &str {
        jar.get(COOKIE).expect("jar holds the cookie").value()
    }

    /// Opens an incoming sealed value as a jar does: a jar of the request's cookies, then the
    /// private view.
    fn open<T: DeserializeOwned>(&self, value: &str) -> Option<T> {
        let mut jar = cookie::CookieJar::new();
        jar.add_original(cookie::Cookie::new(COOKIE, value.to_owned()));
        let cookie = jar.private(&self.key).get(COOKIE)?;
        serde_json::from_str(cookie.value()).ok()
    }
}

fn now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn ring(alg: Algorithm) -> KeyRing {
    KeyRing::new_at([Key::new(KeyId(1), alg, &SECRET)], now()).expect("valid ring")
}

fn bench_pair<C: AeadInOut + KeyInit>(c: &mut Criterion, alg: Algorithm) {
    let ring = ring(alg);
    let sealer = Sealer::new(COOKIE, ExpiryPolicy::default());
    let data = typical_data();
    let session = typical();
    let raw = Raw::<C>::new(alg);
    let hint = postcard::to_allocvec(&session).expect("encodes").len();

    let lib_value = sealer.seal(&ring, &data, now()).expect("seals");
    let raw_value = raw.seal(&session, hint);
    // Both pipelines must work before they are timed.
    let opened = sealer.open(&ring, &lib_value, now()).expect("opens");
    assert_eq!(
        opened.data.get::<Vec<(u32, u16)>>("cart").expect("cart"),
        Some(session.cart.clone())
    );
    assert_eq!(raw.open(&raw_value).as_ref(), Some(&session));
    eprintln!(
        "cookie value length, typical session, {}: library {} chars, raw {} chars",
        alg.name(),
        lib_value.len(),
        raw_value.len()
    );

    let mut group = c.benchmark_group(format!("seal/{}", alg.name()));
    group.bench_function("library", |b| {
        b.iter(|| sealer.seal(&ring, black_box(&data), now()).expect("seals"));
    });
    group.bench_function("raw", |b| b.iter(|| raw.seal(black_box(&session), hint)));
    group.finish();

    let mut group = c.benchmark_group(format!("open/{}", alg.name()));
    group.bench_function("library", |b| {
        b.iter(|| {
            sealer
                .open(&ring, black_box(&lib_value), now())
                .expect("opens")
        });
    });
    group.bench_function("raw", |b| {
        b.iter(|| raw.open::<Typical>(black_box(&raw_value)).expect("opens"));
    });
    group.finish();
}

fn bench_private_jar(c: &mut Criterion) {
    let jar = PrivateJarJson::new();
    let session = typical();
    let sealed = jar.seal(&session);
    let value = PrivateJarJson::value(&sealed).to_owned();
    assert_eq!(jar.open::<Typical>(&value).as_ref(), Some(&session));
    let json_len = serde_json::to_string(&session).expect("encodes").len();
    eprintln!(
        "cookie value length, typical session, cookie PrivateJar + serde_json: {} chars \
         (JSON {json_len} bytes; the 32-byte csrf_token is a JSON array of numbers)",
        value.len()
    );

    let mut group = c.benchmark_group("seal/cookie-private-jar");
    group.bench_function("serde_json", |b| {
        b.iter(|| {
            let sealed = jar.seal(black_box(&session));
            black_box(PrivateJarJson::value(&sealed).len());
            sealed
        });
    });
    group.finish();

    let mut group = c.benchmark_group("open/cookie-private-jar");
    group.bench_function("serde_json", |b| {
        b.iter(|| jar.open::<Typical>(black_box(&value)).expect("opens"));
    });
    group.finish();
}

fn bench_scale<C: AeadInOut + KeyInit>(c: &mut Criterion, alg: Algorithm) {
    let ring = ring(alg);
    let sealer = Sealer::new(COOKIE, ExpiryPolicy::default());
    let raw = Raw::<C>::new(alg);
    for len in SIZES {
        let data = blob_data(len);
        let session = blob(len);
        let hint = postcard::to_allocvec(&session).expect("encodes").len();
        let lib_value = sealer.seal(&ring, &data, now()).expect("seals");
        let raw_value = raw.seal(&session, hint);
        let opened = sealer.open(&ring, &lib_value, now()).expect("opens");
        assert_eq!(
            opened.data.get::<Vec<u8>>("data").expect("data"),
            Some(session.data.clone())
        );
        assert_eq!(raw.open(&raw_value).as_ref(), Some(&session));
        eprintln!(
            "cookie value length, {len} B session, {}: library {} chars, raw {} chars",
            alg.name(),
            lib_value.len(),
            raw_value.len()
        );

        let mut group = c.benchmark_group(format!("scale_seal/{}/{len}", alg.name()));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function("library", |b| {
            b.iter(|| sealer.seal(&ring, black_box(&data), now()).expect("seals"));
        });
        group.bench_function("raw", |b| b.iter(|| raw.seal(black_box(&session), hint)));
        group.finish();

        let mut group = c.benchmark_group(format!("scale_open/{}/{len}", alg.name()));
        group.throughput(Throughput::Bytes(len as u64));
        group.bench_function("library", |b| {
            b.iter(|| {
                sealer
                    .open(&ring, black_box(&lib_value), now())
                    .expect("opens")
            });
        });
        group.bench_function("raw", |b| {
            b.iter(|| raw.open::<Blob>(black_box(&raw_value)).expect("opens"));
        });
        group.finish();
    }
}

fn codec(c: &mut Criterion) {
    bench_pair::<xaes_256_gcm::Xaes256Gcm>(c, Algorithm::Xaes256Gcm);
    bench_pair::<aes_gcm::Aes256Gcm>(c, Algorithm::Aes256Gcm);
    bench_pair::<chacha20poly1305::ChaCha20Poly1305>(c, Algorithm::ChaCha20Poly1305);
    bench_private_jar(c);
}

fn scale(c: &mut Criterion) {
    bench_scale::<xaes_256_gcm::Xaes256Gcm>(c, Algorithm::Xaes256Gcm);
    bench_scale::<aes_gcm::Aes256Gcm>(c, Algorithm::Aes256Gcm);
    bench_scale::<chacha20poly1305::ChaCha20Poly1305>(c, Algorithm::ChaCha20Poly1305);
}

/// What `criterion_group!(benches, codec, scale)` expands to, but private: the macro's
/// `pub fn` has no doc and trips the workspace's `missing_docs`.
fn benches() {
    let mut c = Criterion::default().configure_from_args();
    codec(&mut c);
    scale(&mut c);
}

criterion_main!(benches);
