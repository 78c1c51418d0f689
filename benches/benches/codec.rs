//! Sealing and opening sessions with the library, beside a raw pipeline built from the same
//! crates, for each algorithm; the typical session also beside the `cookie` crate's
//! `PrivateJar` with `serde_json`; and seal/open as the session grows.
//!
//! - `seal/<algorithm>/library`: `Sealer::seal` of a `SessionData` (entries already encoded).
//! - `seal/<algorithm>/raw`: an equivalent plain struct encoded as the library encodes values
//!   (MessagePack by `rmp-serde`, structs as maps of field names), then the same AEAD crate
//!   (key derived once with HKDF-SHA256, a nonce from the OS by `getrandom::fill` as the
//!   library draws it, in place, AAD = cookie name), then base64url without padding.
//! - `open/<algorithm>/library`: `Sealer::open` (length cap, base64, header, key lookup, AEAD,
//!   payload decode into `SessionData`, expiry checks).
//! - `open/<algorithm>/raw`: base64url decode, AEAD open in place, `rmp_serde::from_slice`
//!   into the struct.
//! - `seal/cookie-private-jar/serde_json`: what axum-extra's `PrivateCookieJar` and
//!   actix-session's cookie store do per request: `serde_json` of the same struct, then
//!   `CookieJar::private_mut(&key).add(..)` (AES-256-GCM, 12-byte nonce, standard base64) and
//!   the sealed value read back from the jar.
//! - `open/cookie-private-jar/serde_json`: a new jar holding the incoming cookie,
//!   `private(&key).get(..)`, then `serde_json` into the struct.
//! - `scale_seal/<algorithm>/<bytes>` and `scale_open/<algorithm>/<bytes>` (`library`, `raw`):
//!   a session holding one byte-string entry of 64, 256, 1024 or 3072 bytes, a MessagePack
//!   `bin` on both sides: the raw struct's field is `#[serde(with = "serde_bytes")]` and the
//!   library entry is a `serde_bytes::Bytes` (a plain `Vec<u8>` would be an array of integers,
//!   up to two bytes each), so both copy the bytes with a `memcpy`.
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
use sealed_session::data::SessionData;
use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
use sealed_session::seal::Sealer;
use sealed_session::time::ExpiryPolicy;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

mod common;

use common::{typical, typical_data, Typical};

const COOKIE: &str = "session";
const TAG_LEN: usize = 16;
const SECRET: [u8; 32] = [0x42; 32];
/// Data sizes of the scaling runs (bytes of session data).
const SIZES: [usize; 4] = [64, 256, 1024, 3072];

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

/// The same session as one library entry, inserted as `serde_bytes::Bytes` so that it is a
/// MessagePack `bin` like the raw struct's field (a `Vec<u8>` would be an array of integers).
fn blob_data(len: usize) -> SessionData {
    let mut data = SessionData::new();
    data.insert("data", serde_bytes::Bytes::new(&blob(len).data))
        .expect("encodes");
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

    /// Seals `session`; `size_hint` is the expected encoded length (the buffer is sized once).
    fn seal<T: Serialize>(&self, session: &T, size_hint: usize) -> String {
        let n = self.nonce_len;
        let mut buf = Vec::with_capacity(n + size_hint + TAG_LEN);
        buf.resize(n, 0);
        getrandom::fill(&mut buf[..n]).expect("the OS generator works");
        encode(session, &mut buf);
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
        rmp_serde::from_slice(ciphertext).ok()
    }
}

/// Appends `value` as the library encodes a value: MessagePack, structs as maps of field names.
fn encode<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    value
        .serialize(
            &mut rmp_serde::Serializer::new(out)
                .with_struct_map()
                .with_bytes(rmp_serde::config::BytesMode::Normal),
        )
        .expect("encodes");
}

/// The encoded length of `value` (the raw pipeline's buffer size hint).
fn encoded_len<T: Serialize>(value: &T) -> usize {
    let mut out = Vec::new();
    encode(value, &mut out);
    out.len()
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
    let hint = encoded_len(&session);

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
        let hint = encoded_len(&session);
        let lib_value = sealer.seal(&ring, &data, now()).expect("seals");
        let raw_value = raw.seal(&session, hint);
        let opened = sealer.open(&ring, &lib_value, now()).expect("opens");
        assert_eq!(
            opened
                .data
                .get::<serde_bytes::ByteBuf>("data")
                .expect("data")
                .map(serde_bytes::ByteBuf::into_vec),
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
