//! Tampering: every change to a sealed value is rejected, with the documented reason.
//!
//! Each test runs for every algorithm, on the typical session sealed at `T0` and opened at
//! `T0`, so expiry never plays a part.
#![forbid(unsafe_code)]

mod common;

use sealed_session::data::SessionData;
use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
use sealed_session::seal::Sealer;
use sealed_session::time::ExpiryPolicy;
use sealed_session::RejectReason;

use common::outside::{open_outside, VERSION};
use common::{decode, encode, key_id, ring, sealer, t0, typical_session, COOKIE};

/// The base64url alphabet, then characters a sealed value never holds.
const REPLACEMENTS: &str =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. %\u{e9}\0";

fn sealed(alg: Algorithm) -> (KeyRing, String) {
    let ring = ring(alg);
    let value = sealer()
        .seal(&ring, &typical_session(), t0())
        .expect("seals");
    (ring, value)
}

/// Values of the typical session plus a 0-, 1- and 2-byte filler, so that their byte lengths
/// cover every residue modulo 3: no padding would be due, or 1 or 2 characters of it (and the
/// last character then has unused low bits).
fn sealed_variants(alg: Algorithm) -> (KeyRing, Vec<String>) {
    let ring = ring(alg);
    let values: Vec<String> = (0..3)
        .map(|k| {
            let mut data = typical_session();
            // A string (one header byte, then k bytes): consecutive encoded lengths.
            data.insert("filler", &"x".repeat(k)).expect("encodes");
            sealer().seal(&ring, &data, t0()).expect("seals")
        })
        .collect();
    let mut residues: Vec<usize> = values.iter().map(|v| decode(v).len() % 3).collect();
    residues.sort_unstable();
    assert_eq!(residues, [0, 1, 2]);
    (ring, values)
}

/// Opens `value` at `T0` and returns why it was rejected; fails the test if it opened.
#[track_caller]
fn reject(ring: &KeyRing, sealer: &Sealer, value: &str) -> RejectReason {
    match sealer.open(ring, value, t0()) {
        Ok(opened) => panic!(
            "tampered value {value:?} opened (key {:?}, {} entries)",
            opened.key_id,
            opened.data.len()
        ),
        Err(reason) => reason,
    }
}

#[test]
fn untampered_values_open() {
    for alg in Algorithm::ALL {
        let (ring, value) = sealed(alg);
        let opened = sealer().open(&ring, &value, t0()).expect("opens");
        assert_eq!(opened.key_id, key_id(alg));
        assert!(!opened.needs_reseal);
        assert_eq!(
            opened.data.get::<u64>("user_id").expect("u64"),
            Some(1_234_567)
        );
        assert_eq!(
            opened.data.get::<String>("username").expect("string"),
            Some("alice_01".to_owned())
        );
        assert_eq!(opened.data.len(), typical_session().len());
        assert!(!opened.data.is_dirty());
    }
}

#[test]
fn open_rejects_every_single_bit_flip() {
    for alg in Algorithm::ALL {
        let (ring, value) = sealed(alg);
        let bytes = decode(&value);
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[i] ^= 1 << bit;
                let reason = reject(&ring, &sealer(), &encode(&flipped));
                let expected = match i {
                    0 => RejectReason::UnknownVersion,
                    1 if ring.get(KeyId(flipped[1])).is_none() => RejectReason::UnknownKey,
                    _ => RejectReason::Unauthenticated,
                };
                assert_eq!(reason, expected, "{alg:?}: byte {i}, bit {bit}");
            }
        }
    }
}

#[test]
fn open_rejects_every_single_character_change() {
    for alg in Algorithm::ALL {
        let (ring, value) = sealed(alg);
        assert!(value.is_ascii());
        reject_every_char_change(&ring, &value, 0..value.len());
    }
}

/// Replaces the character at each position in `at` with every other one of
/// [`REPLACEMENTS`] and checks that each result is rejected.
fn reject_every_char_change(ring: &KeyRing, value: &str, at: std::ops::Range<usize>) {
    for i in at {
        for c in REPLACEMENTS.chars() {
            if value[i..].starts_with(c) {
                continue;
            }
            let changed = format!("{}{c}{}", &value[..i], &value[i + 1..]);
            reject(ring, &sealer(), &changed);
        }
    }
}

/// A changed last character that only alters its unused low bits decodes to the same bytes
/// with a lenient decoder; strict base64url rejects it (one value, one encoding).
#[test]
fn open_rejects_every_change_of_the_last_characters() {
    for alg in Algorithm::ALL {
        let (ring, values) = sealed_variants(alg);
        for value in &values {
            reject_every_char_change(&ring, value, value.len() - 4..value.len());
        }
    }
}

#[test]
fn open_rejects_non_canonical_trailing_bits() {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for alg in Algorithm::ALL {
        let (ring, values) = sealed_variants(alg);
        let mut checked = 0;
        for value in &values {
            // 2 leftover characters carry 4 unused bits, 3 carry 2.
            let unused_bits = match value.len() % 4 {
                2 => 4,
                3 => 2,
                _ => continue,
            };
            let (head, last) = value.split_at(value.len() - 1);
            let index = ALPHABET
                .iter()
                .position(|&b| b == last.as_bytes()[0])
                .expect("base64url");
            for low in 1..(1usize << unused_bits) {
                let other = char::from(ALPHABET[index ^ low]);
                let changed = format!("{head}{other}");
                assert_eq!(
                    reject(&ring, &sealer(), &changed),
                    RejectReason::Malformed,
                    "{alg:?}: {last:?} -> {other:?}"
                );
                checked += 1;
            }
        }
        assert_eq!(
            checked,
            15 + 3,
            "{alg:?}: both leftover lengths were covered"
        );
    }
}

#[test]
fn open_rejects_every_truncation() {
    for alg in Algorithm::ALL {
        let (ring, value) = sealed(alg);
        for len in 0..value.len() {
            reject(&ring, &sealer(), &value[..len]);
        }
        // Truncated bytes, re-encoded canonically: short ones are malformed, longer ones
        // lose (part of) the tag.
        let bytes = decode(&value);
        let min = 2 + alg.nonce_len() + 16;
        for len in 0..bytes.len() {
            let reason = reject(&ring, &sealer(), &encode(&bytes[..len]));
            let expected = if len < min {
                RejectReason::Malformed
            } else {
                RejectReason::Unauthenticated
            };
            assert_eq!(reason, expected, "{alg:?}: {len} of {} bytes", bytes.len());
        }
    }
}

#[test]
fn open_rejects_appended_bytes() {
    for alg in Algorithm::ALL {
        let (ring, value) = sealed(alg);
        let bytes = decode(&value);
        let tag = bytes[bytes.len() - 16..].to_vec();
        for extra in [&[0u8][..], &[0xff], &[0; 16], &tag] {
            let longer = [&bytes[..], extra].concat();
            let reason = reject(&ring, &sealer(), &encode(&longer));
            assert_eq!(reason, RejectReason::Unauthenticated, "{alg:?}: +{extra:?}");
        }
    }
}

#[test]
fn open_rejects_appended_characters() {
    for alg in Algorithm::ALL {
        let (ring, value) = sealed(alg);
        for c in REPLACEMENTS.chars() {
            reject(&ring, &sealer(), &format!("{value}{c}"));
        }
        for suffix in ["AA", "AAA", "AAAA", "____", &value] {
            reject(&ring, &sealer(), &format!("{value}{suffix}"));
        }
    }
}

#[test]
fn open_rejects_appended_padding() {
    for alg in Algorithm::ALL {
        let (ring, values) = sealed_variants(alg);
        for value in &values {
            // Includes the canonical padded form of each value (none, "=" or "==").
            for pad in ["=", "==", "===", "===="] {
                let reason = reject(&ring, &sealer(), &format!("{value}{pad}"));
                assert_eq!(reason, RejectReason::Malformed, "{alg:?}: {pad:?}");
            }
        }
    }
}

#[test]
fn open_rejects_value_moved_to_another_cookie_name() {
    let long_a = "a".repeat(100);
    let long_b = format!("{}b", "a".repeat(99));
    for alg in Algorithm::ALL {
        let (ring, value) = sealed(alg);
        for other in [
            "",
            "Session",
            "session2",
            "sessio",
            "__Host-session",
            &long_a,
        ] {
            let moved = Sealer::new(other, ExpiryPolicy::default());
            assert_eq!(
                reject(&ring, &moved, &value),
                RejectReason::Unauthenticated,
                "{alg:?}: moved to {other:?}"
            );
        }
        // Names longer than the stack buffer for the AAD are bound too.
        let a = Sealer::new(long_a.as_str(), ExpiryPolicy::default());
        let b = Sealer::new(long_b.as_str(), ExpiryPolicy::default());
        let long_value = a.seal(&ring, &typical_session(), t0()).expect("seals");
        assert!(a.open(&ring, &long_value, t0()).is_ok());
        assert_eq!(
            reject(&ring, &b, &long_value),
            RejectReason::Unauthenticated
        );
        assert_eq!(
            reject(&ring, &sealer(), &long_value),
            RejectReason::Unauthenticated
        );
    }
}

#[test]
fn open_rejects_spliced_values() {
    for alg in Algorithm::ALL {
        let (ring, a) = sealed(alg);
        let b = sealer()
            .seal(&ring, &SessionData::new(), t0())
            .expect("seals");
        let (a, b) = (decode(&a), decode(&b));
        let split = 2 + alg.nonce_len();
        // Header and nonce of one value, ciphertext and tag of another.
        let spliced = [&a[..split], &b[split..]].concat();
        assert_eq!(
            reject(&ring, &sealer(), &encode(&spliced)),
            RejectReason::Unauthenticated
        );
        // Tag of another value.
        let retagged = [&b[..b.len() - 16], &a[a.len() - 16..]].concat();
        assert_eq!(
            reject(&ring, &sealer(), &encode(&retagged)),
            RejectReason::Unauthenticated
        );
    }
}

/// Key 2 is a twin of key 1 (same secret, same algorithm, hence the same AEAD key), and the
/// ring holds key 2 only. A value sealed by key 1 must fail with `UnknownKey`: if `open` tried
/// any other key, key 2 would authenticate it and it would open.
#[test]
fn open_rejects_unknown_key_id_without_trying_other_keys() {
    const SECRET: [u8; 32] = [0x44; 32];
    for alg in Algorithm::ALL {
        let one = KeyRing::new_at([Key::new(KeyId(1), alg, &SECRET)], t0()).expect("ring");
        let twin = KeyRing::new_at([Key::new(KeyId(2), alg, &SECRET)], t0()).expect("ring");
        let both = KeyRing::new_at(
            [
                Key::new(KeyId(1), alg, &SECRET),
                Key::new(KeyId(2), alg, &SECRET).decrypt_only(),
            ],
            t0(),
        )
        .expect("ring");
        let value = sealer()
            .seal(&one, &typical_session(), t0())
            .expect("seals");
        let bytes = decode(&value);
        assert_eq!(bytes[1], 1);

        // Premise: key 2's secret and algorithm do decrypt this value.
        let plaintext = open_outside(alg, &SECRET, COOKIE, &bytes)
            .expect("the twin's AEAD key authenticates the value");
        assert!(!plaintext.is_empty());
        assert!(sealer().open(&one, &value, t0()).is_ok());

        // Fail closed: the twin is never tried.
        assert_eq!(reject(&twin, &sealer(), &value), RejectReason::UnknownKey);

        // Re-labelled to an id that is absent: still UnknownKey, in both rings.
        for absent in [0u8, 3, 7, 255] {
            let mut relabelled = bytes.clone();
            relabelled[1] = absent;
            for ring in [&twin, &both] {
                assert_eq!(
                    reject(ring, &sealer(), &encode(&relabelled)),
                    RejectReason::UnknownKey,
                    "{alg:?}: relabelled to {absent}"
                );
            }
        }

        // Re-labelled to the twin's id: the twin is tried, but the header is in the AAD.
        let mut relabelled = bytes.clone();
        relabelled[1] = 2;
        for ring in [&twin, &both] {
            assert_eq!(
                reject(ring, &sealer(), &encode(&relabelled)),
                RejectReason::Unauthenticated,
                "{alg:?}: relabelled to the twin"
            );
        }
    }
}

#[test]
fn one_secret_never_serves_two_algorithms() {
    const SECRET: [u8; 32] = [0x55; 32];
    for a in Algorithm::ALL {
        let sealing = KeyRing::new_at([Key::new(KeyId(9), a, &SECRET)], t0()).expect("ring");
        let value = sealer()
            .seal(&sealing, &typical_session(), t0())
            .expect("seals");
        for b in Algorithm::ALL.into_iter().filter(|&b| b != a) {
            let other = KeyRing::new_at([Key::new(KeyId(9), b, &SECRET)], t0()).expect("ring");
            assert_eq!(
                reject(&other, &sealer(), &value),
                RejectReason::Unauthenticated,
                "sealed with {a:?}, opened with {b:?}"
            );
        }
    }
}

#[test]
fn open_rejects_unknown_versions() {
    for alg in Algorithm::ALL {
        let (ring, value) = sealed(alg);
        let bytes = decode(&value);
        assert_eq!(bytes[0], VERSION);
        for version in (0..=255u8).filter(|&v| v != VERSION) {
            let mut other = bytes.clone();
            other[0] = version;
            // Version 1 is still read, but the version is authenticated: a v2 value
            // relabelled as v1 fails the tag. Every other version is unknown.
            let expected = if version == 1 {
                RejectReason::Unauthenticated
            } else {
                RejectReason::UnknownVersion
            };
            assert_eq!(
                reject(&ring, &sealer(), &encode(&other)),
                expected,
                "{alg:?}: version {version}"
            );
        }
        // Even a bare header with an unknown version says so (not "malformed").
        assert_eq!(
            reject(&ring, &sealer(), &encode(&[3, key_id(alg).0])),
            RejectReason::UnknownVersion
        );
    }
}

#[test]
fn open_rejects_oversized_before_decoding() {
    let ring = ring(Algorithm::default());
    let mib_of_junk = "!".repeat(1 << 20);
    assert_eq!(
        reject(&ring, &sealer(), &mib_of_junk),
        RejectReason::Oversized
    );
    assert_eq!(
        reject(&ring, &sealer().max_len(usize::MAX), &mib_of_junk),
        RejectReason::Oversized
    );

    // The global cap holds whatever `max_len` says.
    let over_cap = "!".repeat(sealed_session::limits::MAX_SEALED_LEN + 1);
    assert_eq!(
        reject(&ring, &sealer().max_len(usize::MAX), &over_cap),
        RejectReason::Oversized
    );
    let at_cap = "!".repeat(sealed_session::limits::MAX_SEALED_LEN);
    assert_eq!(
        reject(&ring, &sealer().max_len(usize::MAX), &at_cap),
        RejectReason::Malformed
    );

    // A configured cap: one past it is oversized, at it the junk is decoded (and malformed).
    let capped = sealer().max_len(100);
    assert_eq!(
        reject(&ring, &capped, &"!".repeat(101)),
        RejectReason::Oversized
    );
    assert_eq!(
        reject(&ring, &capped, &"!".repeat(100)),
        RejectReason::Malformed
    );

    // A genuine value longer than the cap is refused too; at the cap it opens.
    for alg in Algorithm::ALL {
        let (ring, value) = sealed(alg);
        let tight = sealer().max_len(value.len());
        assert!(tight.open(&ring, &value, t0()).is_ok());
        let tighter = sealer().max_len(value.len() - 1);
        assert_eq!(reject(&ring, &tighter, &value), RejectReason::Oversized);
    }
}
