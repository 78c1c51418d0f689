//! Golden vectors pin the exact bytes of wire format v1 (through the test-only fixed-nonce
//! seam), so any change to the format, the key derivation or the payload encoding fails here.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::data::SessionData;
use crate::keys::{Algorithm, Key};
use crate::seal::Sealer;
use crate::time::ExpiryPolicy;

struct TestVector {
    algorithm: Algorithm,
    key_id: u8,
    name: &'static str,
    plaintext: &'static [u8],
    sealed: &'static str,
}

const SECRET: [u8; 32] = [
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31,
];
const NONCE: [u8; 24] = [0xa5; 24];
const T0: u64 = 1_700_000_000;

const VECTORS: &[TestVector] = &[
    TestVector {
        algorithm: Algorithm::Xaes256Gcm,
        key_id: 1,
        name: "session",
        plaintext: b"hello",
        sealed: "AQGlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaX31XJfa032ci8LUpCPiRNoT8JEFi8",
    },
    TestVector {
        algorithm: Algorithm::Aes256Gcm,
        key_id: 2,
        name: "session",
        plaintext: b"hello",
        sealed: "AQKlpaWlpaWlpaWlpaW-VGkjvZGXW8GUCZAp85O5rrc1dEA",
    },
    TestVector {
        algorithm: Algorithm::ChaCha20Poly1305,
        key_id: 3,
        name: "__Host-id",
        plaintext: b"",
        sealed: "AQOlpaWlpaWlpaWlpaV0gl5Blisiw58uh7YMIfOC",
    },
];

/// The AES-256-GCM and ChaCha20-Poly1305 vectors above were checked independently with
/// Python's `cryptography` (HKDF-SHA256 then `AESGCM` / `ChaCha20Poly1305`), and the XAES-256-GCM
/// one with the C2SP XAES construction written over its AES primitive.
///
/// The session payload vector: `visit_count = 7` sealed at T0 with the default policy.
const SESSION_VECTOR: &str =
    "AQGlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaUfUtGZArg31CkoOgEKCRZ_wgChryCDpa_eww-lwci54ysKbcCErW91GCc";

/// Bytes a sealed value adds to its plaintext for `algorithm` (before base64).
fn overhead(algorithm: Algorithm) -> usize {
    HEADER_LEN + algorithm.nonce_len() + TAG_LEN
}

fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s)
}

fn ring_for(v: &TestVector) -> KeyRing {
    KeyRing::new_at([Key::new(KeyId(v.key_id), v.algorithm, &SECRET)], at(T0)).unwrap()
}

fn seal_fixed(ring: &KeyRing, name: &str, pt: &[u8], nonce_len: usize) -> String {
    seal_with(
        ring,
        name,
        at(T0),
        Some(&NONCE[..nonce_len]),
        pt.len(),
        |b| {
            b.extend_from_slice(pt);
            Ok(())
        },
    )
    .unwrap()
}

#[test]
fn golden_vectors_pin_wire_format_v1() {
    for v in VECTORS {
        let ring = ring_for(v);
        let sealed = seal_fixed(&ring, v.name, v.plaintext, v.algorithm.nonce_len());
        assert_eq!(sealed, v.sealed, "{:?}", v.algorithm);
        let opened = open(&ring, v.name, v.sealed, at(T0), MAX_SEALED_LEN).unwrap();
        assert_eq!(opened.plaintext(), v.plaintext);
        assert_eq!(opened.key_id(), KeyId(v.key_id));
        let raw = URL_SAFE_NO_PAD.decode(v.sealed).unwrap();
        assert_eq!(&raw[..2], &[VERSION, v.key_id]);
        assert_eq!(
            &raw[2..2 + v.algorithm.nonce_len()],
            &NONCE[..v.algorithm.nonce_len()]
        );
        assert_eq!(raw.len(), overhead(v.algorithm) + v.plaintext.len());
    }
}

#[test]
fn golden_session_payload() {
    let ring =
        KeyRing::new_at([Key::new(KeyId(1), Algorithm::Xaes256Gcm, &SECRET)], at(T0)).unwrap();
    let sealer = Sealer::new("session", ExpiryPolicy::default());
    let mut data = SessionData::new();
    data.insert("visit_count", &7u64).unwrap();
    let value = sealer
        .seal_inner(&ring, &data, at(T0), Some(&NONCE))
        .unwrap();
    assert_eq!(value, SESSION_VECTOR);
    let opened = open(&ring, "session", &value, at(T0), MAX_SEALED_LEN).unwrap();
    // created_at = T0, expires_at = T0 + 24 h, no idle override, one entry.
    let mut expected = Vec::new();
    expected.extend_from_slice(&[0x80, 0xe2, 0xcf, 0xaa, 0x06]); // varint(1_700_000_000)
    expected.extend_from_slice(&[0x80, 0x85, 0xd5, 0xaa, 0x06]); // varint(1_700_086_400)
    expected.push(0x00); // idle_secs: None
    expected.push(0x01); // one entry
    expected.push(11);
    expected.extend_from_slice(b"visit_count");
    expected.extend_from_slice(&[0x01, 0x07]); // bytes(postcard(7u64))
    assert_eq!(opened.plaintext(), expected.as_slice());
}

#[test]
fn fixed_nonce_of_wrong_length_is_refused() {
    let ring = ring_for(&VECTORS[0]);
    assert!(seal_with(&ring, "s", at(T0), Some(&NONCE[..12]), 0, |_| Ok(())).is_err());
}

#[test]
fn opened_debug_does_not_print_the_plaintext() {
    let ring = ring_for(&VECTORS[0]);
    let secret = b"csrf=hunter2-secret-token";
    let sealed = seal_fixed(&ring, "session", secret, VECTORS[0].algorithm.nonce_len());
    let opened = open(&ring, "session", &sealed, at(T0), MAX_SEALED_LEN).unwrap();
    let debug = format!("{opened:?}");
    // Neither as text nor as the byte list a derived `Debug` of `Vec<u8>` prints.
    assert!(!debug.contains("hunter2"), "{debug}");
    let bytes = format!("{:?}", &secret[..4]);
    assert!(!debug.contains(bytes.trim_matches(['[', ']'])), "{debug}");
    // What it may show: lengths and the key.
    assert!(
        debug.contains(&format!("plaintext_len: {}", secret.len())),
        "{debug}"
    );
    assert!(debug.contains("KeyId(1)"), "{debug}");
}
