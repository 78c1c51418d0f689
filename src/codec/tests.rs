//! Golden vectors pin the exact bytes of wire format v2, and v1 values still open (through the test-only fixed-nonce
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

const VECTORS_V1: &[TestVector] = &[
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

/// Wire format v2 (AAD = header ‖ purpose ‖ cookie name): the same plaintexts. Printed by
/// this build and checked against the construction written again outside the library in
/// `tests/common/outside.rs` (`tests/codec_vectors.rs`).
const VECTORS_V2: &[TestVector] = &[
    TestVector {
        algorithm: Algorithm::Xaes256Gcm,
        key_id: 1,
        name: "session",
        plaintext: b"hello",
        sealed: "AgGlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaX31XJfay0UDmBV4HLQCVQ-FxZo_ew",
    },
    TestVector {
        algorithm: Algorithm::Aes256Gcm,
        key_id: 2,
        name: "session",
        plaintext: b"hello",
        sealed: "AgKlpaWlpaWlpaWlpaW-VGkjvXYhFYoGNaR_zvzyvVE0bek",
    },
    TestVector {
        algorithm: Algorithm::ChaCha20Poly1305,
        key_id: 3,
        name: "__Host-id",
        plaintext: b"",
        sealed: "AgOlpaWlpaWlpaWlpaUZceDl8wjFa3trIc3-SRxk",
    },
];

/// The session payload vector in v2: `visit_count = 7` sealed at T0 with the default policy.
const SESSION_VECTOR_V2: &str =
    "AgGlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaUfUtGZArhQzikoOgAAdAll2B2KkyyZvrWrwzXy0OPbqRIgCJWvftiwrEI";

/// The AES-256-GCM and ChaCha20-Poly1305 vectors above were checked independently with
/// Python's `cryptography` (HKDF-SHA256 then `AESGCM` / `ChaCha20Poly1305`), and the XAES-256-GCM
/// one with the C2SP XAES construction written over its AES primitive.
///
/// The session payload vector: `visit_count = 7` sealed at T0 with the default policy.
const SESSION_VECTOR_V1: &str =
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

fn seal_fixed(ring: &KeyRing, purpose: Purpose, name: &str, pt: &[u8], nonce_len: usize) -> String {
    seal_with(
        ring,
        purpose,
        name.as_bytes(),
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

const CAP: usize = crate::limits::MAX_SEALED_LEN;

/// Values of the previous release (wire format v1) still open, as client cookies and as id
/// cookies, never as store records.
#[test]
fn golden_vectors_of_wire_format_v1_still_open() {
    for v in VECTORS_V1 {
        let ring = ring_for(v);
        for purpose in [Purpose::Data, Purpose::Id] {
            let opened = open(&ring, purpose, v.name.as_bytes(), v.sealed, at(T0), CAP).unwrap();
            assert_eq!(opened.plaintext(), v.plaintext);
            assert_eq!(opened.key_id(), KeyId(v.key_id));
            assert_eq!(opened.version(), 1);
        }
        assert_eq!(
            open(
                &ring,
                Purpose::Record,
                v.name.as_bytes(),
                v.sealed,
                at(T0),
                CAP
            )
            .unwrap_err(),
            RejectReason::UnknownVersion
        );
        let raw = URL_SAFE_NO_PAD.decode(v.sealed).unwrap();
        assert_eq!(&raw[..2], &[1, v.key_id]);
        assert_eq!(raw.len(), overhead(v.algorithm) + v.plaintext.len());
    }
}

#[test]
fn golden_vectors_pin_wire_format_v2() {
    for v in VECTORS_V2 {
        let ring = ring_for(v);
        let sealed = seal_fixed(
            &ring,
            Purpose::Data,
            v.name,
            v.plaintext,
            v.algorithm.nonce_len(),
        );
        assert_eq!(sealed, v.sealed, "{:?}", v.algorithm);
        let opened = open(
            &ring,
            Purpose::Data,
            v.name.as_bytes(),
            v.sealed,
            at(T0),
            CAP,
        )
        .unwrap();
        assert_eq!(opened.plaintext(), v.plaintext);
        assert_eq!(opened.key_id(), KeyId(v.key_id));
        assert_eq!(opened.version(), 2);
        let raw = URL_SAFE_NO_PAD.decode(v.sealed).unwrap();
        assert_eq!(&raw[..2], &[VERSION, v.key_id]);
        assert_eq!(
            &raw[2..2 + v.algorithm.nonce_len()],
            &NONCE[..v.algorithm.nonce_len()]
        );
        assert_eq!(raw.len(), overhead(v.algorithm) + v.plaintext.len());
    }
}

/// A value sealed for one purpose opens as no other (finding S3: a client cookie replayed as
/// a server-mode id cookie).
#[test]
fn a_value_sealed_for_one_purpose_opens_as_no_other() {
    let v = &VECTORS_V2[0];
    let ring = ring_for(v);
    let purposes = [Purpose::Data, Purpose::Id, Purpose::Record];
    for sealed_as in purposes {
        let value = seal_fixed(&ring, sealed_as, v.name, b"0123456789abcdef", 24);
        for opened_as in purposes {
            let got = open(&ring, opened_as, v.name.as_bytes(), &value, at(T0), CAP);
            if sealed_as == opened_as {
                assert!(got.is_ok());
            } else {
                assert_eq!(
                    got.unwrap_err(),
                    RejectReason::Unauthenticated,
                    "{sealed_as:?} as {opened_as:?}"
                );
            }
        }
    }
}

#[test]
fn golden_session_payload_v1_still_reads() {
    let ring =
        KeyRing::new_at([Key::new(KeyId(1), Algorithm::Xaes256Gcm, &SECRET)], at(T0)).unwrap();
    let sealer = Sealer::new("session", ExpiryPolicy::default());
    let opened = sealer.open(&ring, SESSION_VECTOR_V1, at(T0)).unwrap();
    assert_eq!(opened.data.get::<u64>("visit_count").unwrap(), Some(7));
    assert!(opened.needs_reseal, "a v1 value is re-sealed as v2");
    assert_eq!(opened.data.created_at(), Some(T0));
}

#[test]
fn golden_session_payload_v2() {
    let ring =
        KeyRing::new_at([Key::new(KeyId(1), Algorithm::Xaes256Gcm, &SECRET)], at(T0)).unwrap();
    let sealer = Sealer::new("session", ExpiryPolicy::default());
    let mut data = SessionData::new();
    data.insert("visit_count", &7u64).unwrap();
    let value = sealer
        .seal_inner(&ring, &data, at(T0), Some(&NONCE))
        .unwrap();
    assert_eq!(value, SESSION_VECTOR_V2);
    let opened = open(&ring, Purpose::Data, b"session", &value, at(T0), CAP).unwrap();
    // created_at = T0, written_at = T0, no expiry choice, never validated, one entry.
    let mut expected = Vec::new();
    expected.extend_from_slice(&[0x80, 0xe2, 0xcf, 0xaa, 0x06]); // varint(1_700_000_000)
    expected.extend_from_slice(&[0x80, 0xe2, 0xcf, 0xaa, 0x06]); // varint(1_700_000_000)
    expected.push(0x00); // expiry choice: None
    expected.push(0x00); // validated_at: None
    expected.push(0x01); // one entry
    expected.push(11);
    expected.extend_from_slice(b"visit_count");
    expected.push(0x07); // MessagePack positive fixint 7
    assert_eq!(opened.plaintext(), expected.as_slice());
    let back = sealer.open(&ring, &value, at(T0)).unwrap();
    assert!(!back.needs_reseal);
    // The expiry is worked out from the write time and the policy: T0 + 24 h.
    assert_eq!(back.data.expires_at(), T0 + 86_400);
}

#[test]
fn fixed_nonce_of_wrong_length_is_refused() {
    let ring = ring_for(&VECTORS_V1[0]);
    let sealed = seal_with(
        &ring,
        Purpose::Data,
        b"s",
        at(T0),
        Some(&NONCE[..12]),
        0,
        |_| Ok(()),
    );
    assert!(sealed.is_err());
}

#[test]
fn opened_debug_does_not_print_the_plaintext() {
    let ring = ring_for(&VECTORS_V2[0]);
    let secret = b"csrf=hunter2-secret-token";
    let nonce_len = VECTORS_V2[0].algorithm.nonce_len();
    let sealed = seal_fixed(&ring, Purpose::Data, "session", secret, nonce_len);
    let opened = open(&ring, Purpose::Data, b"session", &sealed, at(T0), CAP).unwrap();
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
