//! The golden vectors of wire format v2 (pinned in `src/codec/tests.rs`) checked against the
//! construction written again outside the library (`tests/common/outside.rs`, from the
//! RustCrypto crates directly): each vector opens there with the documented AAD, and a value
//! sealed there opens in the library.

mod common;

use std::time::{Duration, UNIX_EPOCH};

use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
use sealed_session::seal::Sealer;
use sealed_session::time::ExpiryPolicy;

use common::decode;
use common::outside::{open_outside, seal_outside};

/// The secret of the golden vectors: bytes 0 to 31.
fn secret() -> [u8; 32] {
    std::array::from_fn(|i| u8::try_from(i).unwrap())
}

const VECTORS_V2: &[(Algorithm, &str, &[u8], &str)] = &[
    (
        Algorithm::Xaes256Gcm,
        "session",
        b"hello",
        "AgGlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaX31XJfay0UDmBV4HLQCVQ-FxZo_ew",
    ),
    (
        Algorithm::Aes256Gcm,
        "session",
        b"hello",
        "AgKlpaWlpaWlpaWlpaW-VGkjvXYhFYoGNaR_zvzyvVE0bek",
    ),
    (
        Algorithm::ChaCha20Poly1305,
        "__Host-id",
        b"",
        "AgOlpaWlpaWlpaWlpaUZceDl8wjFa3trIc3-SRxk",
    ),
];

#[test]
fn v2_golden_vectors_open_with_the_independent_construction() {
    for &(alg, name, plaintext, sealed) in VECTORS_V2 {
        let bytes = decode(sealed);
        assert_eq!(bytes[0], 2, "{alg:?}");
        assert_eq!(
            open_outside(alg, &secret(), name, &bytes).as_deref(),
            Some(plaintext),
            "{alg:?}"
        );
        // Bound to the name: under another name the independent construction refuses it too.
        assert_eq!(open_outside(alg, &secret(), "other", &bytes), None);
    }
}

#[test]
fn the_v2_session_vector_opens_with_the_independent_construction() {
    let sealed = "AgGlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaUfUtGZArhQzikoOgAAdAll2B2KkyyZvrWrwzXy0OPbqRIgCJWvftiwrEI";
    let plaintext =
        open_outside(Algorithm::Xaes256Gcm, &secret(), "session", &decode(sealed)).expect("opens");
    // created_at = written_at = T0, no expiry choice, never validated, one entry.
    let mut expected = vec![
        0x80, 0xe2, 0xcf, 0xaa, 0x06, 0x80, 0xe2, 0xcf, 0xaa, 0x06, 0x00, 0x00, 0x01,
    ];
    expected.push(11);
    expected.extend_from_slice(b"visit_count");
    expected.push(0x07);
    assert_eq!(plaintext, expected);
}

#[test]
fn a_payload_sealed_by_the_independent_construction_opens_in_the_library() {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for alg in Algorithm::ALL {
        let ring = KeyRing::new_at([Key::new(KeyId(4), alg, &secret())], now).unwrap();
        // created_at = written_at = now, no expiry choice, never validated,
        // {"n": 300 as MessagePack uint16}.
        let payload = [
            0x80, 0xe2, 0xcf, 0xaa, 0x06, 0x80, 0xe2, 0xcf, 0xaa, 0x06, 0x00, 0x00, 0x01, 0x01,
            b'n', 0xcd, 0x01, 0x2c,
        ];
        let value = seal_outside(alg, &secret(), 4, "session", &payload);
        let opened = Sealer::new("session", ExpiryPolicy::default())
            .open(&ring, &value, now)
            .expect("opens");
        assert_eq!(opened.data.get::<u16>("n").unwrap(), Some(300), "{alg:?}");
    }
}
