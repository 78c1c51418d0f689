//! Key rotation at the core level: decrypt-only keys, scheduled primaries, re-sealing, and the
//! configuration errors of a key ring.
#![forbid(unsafe_code)]

mod common;

use std::time::{Duration, UNIX_EPOCH};

use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing, KeyState};
use sealed_session::{ConfigError, RejectReason};

use common::{at, decode, sealer, secret, t0, typical_session};

const HOUR: u64 = 3600;

fn key(id: u8, alg: Algorithm) -> Key {
    Key::new(KeyId(id), alg, &secret(alg))
}

/// The key id in the header of a sealed value.
fn header_id(value: &str) -> KeyId {
    KeyId(decode(value)[1])
}

/// Every (old, new) pair of algorithms, the same one included.
fn pairs() -> impl Iterator<Item = (Algorithm, Algorithm)> {
    Algorithm::ALL
        .into_iter()
        .flat_map(|a| Algorithm::ALL.into_iter().map(move |b| (a, b)))
}

#[test]
fn decrypt_only_keys_are_never_primary() {
    for (old, new) in pairs() {
        let ring = KeyRing::new_at(
            [
                key(1, old).decrypt_only(),
                key(2, new),
                // Even with an activation time, a decrypt-only key never seals.
                key(3, old).decrypt_only().activate_at(at(10)),
            ],
            t0(),
        )
        .expect("valid ring");
        for t in [
            UNIX_EPOCH,
            t0(),
            at(10),
            at(HOUR),
            at(100 * 365 * 24 * HOUR),
        ] {
            assert_eq!(ring.primary_at(t).id(), KeyId(2), "{old:?} -> {new:?}");
        }
        assert_eq!(ring.next_activation(t0()), None);
        assert_eq!(
            ring.get(KeyId(1)).map(Key::state),
            Some(KeyState::DecryptOnly)
        );
    }
}

#[test]
fn values_sealed_after_adding_a_decrypt_only_key_carry_the_primary_id() {
    for (old, new) in pairs() {
        // Step 1 of a rotation: the new key is deployed everywhere, decrypt-only.
        let ring =
            KeyRing::new_at([key(1, old), key(2, new).decrypt_only()], t0()).expect("valid ring");
        for t in [t0(), at(HOUR)] {
            let value = sealer().seal(&ring, &typical_session(), t).expect("seals");
            assert_eq!(header_id(&value), KeyId(1), "{old:?} -> {new:?}");
            let opened = sealer().open(&ring, &value, t).expect("opens");
            assert_eq!(opened.key_id, KeyId(1));
            assert!(!opened.needs_reseal);
        }
    }
}

#[test]
fn opening_with_a_decrypt_only_key_asks_for_a_reseal() {
    for (old, new) in pairs() {
        let before = KeyRing::new_at([key(1, old)], t0()).expect("valid ring");
        let old_value = sealer()
            .seal(&before, &typical_session(), t0())
            .expect("seals");

        // Step 2: the new key is primary, the old one decrypt-only.
        let after =
            KeyRing::new_at([key(2, new), key(1, old).decrypt_only()], t0()).expect("valid ring");
        let opened = sealer()
            .open(&after, &old_value, at(1))
            .expect("old values still open");
        assert_eq!(opened.key_id, KeyId(1));
        assert!(opened.needs_reseal, "{old:?} -> {new:?}");
        assert_eq!(
            opened.data.get::<u64>("user_id").expect("u64"),
            Some(1_234_567)
        );

        // Re-sealed under the primary: no further re-seal is asked for.
        let resealed = sealer().seal(&after, &opened.data, at(1)).expect("seals");
        assert_eq!(header_id(&resealed), KeyId(2));
        let reopened = sealer().open(&after, &resealed, at(2)).expect("opens");
        assert_eq!(reopened.key_id, KeyId(2));
        assert!(!reopened.needs_reseal);
        assert_eq!(
            reopened.data.created_at(),
            Some(common::T0),
            "a reseal keeps created_at"
        );

        // Step 3: the old key is removed; values it sealed fail closed.
        let done = KeyRing::new_at([key(2, new)], t0()).expect("valid ring");
        assert_eq!(
            sealer().open(&done, &old_value, at(3)).unwrap_err(),
            RejectReason::UnknownKey
        );
        assert!(sealer().open(&done, &resealed, at(3)).is_ok());
    }
}

/// During a staged rotation, an instance that has not switched yet opens values sealed by one
/// that has (and asks to re-seal them under its own primary).
#[test]
fn instances_at_different_rotation_steps_read_each_other() {
    let staged = KeyRing::new_at(
        [
            key(1, Algorithm::Aes256Gcm),
            key(2, Algorithm::Xaes256Gcm).decrypt_only(),
        ],
        t0(),
    )
    .expect("valid ring");
    let switched = KeyRing::new_at(
        [
            key(1, Algorithm::Aes256Gcm).decrypt_only(),
            key(2, Algorithm::Xaes256Gcm),
        ],
        t0(),
    )
    .expect("valid ring");
    let from_switched = sealer()
        .seal(&switched, &typical_session(), t0())
        .expect("seals");
    let from_staged = sealer()
        .seal(&staged, &typical_session(), t0())
        .expect("seals");
    let a = sealer().open(&staged, &from_switched, t0()).expect("opens");
    let b = sealer().open(&switched, &from_staged, t0()).expect("opens");
    assert!(a.needs_reseal && b.needs_reseal);
    assert_eq!((a.key_id, b.key_id), (KeyId(2), KeyId(1)));
}

#[test]
fn activate_at_switches_the_primary_at_the_exact_instant() {
    for (old, new) in pairs() {
        let switch = at(HOUR);
        let ring = KeyRing::new_at([key(1, old), key(2, new).activate_at(switch)], t0())
            .expect("valid ring");
        assert_eq!(ring.next_activation(t0()), Some((KeyId(2), switch)));
        assert_eq!(ring.next_activation(switch), None);

        let one_second_before = at(HOUR - 1);
        assert_eq!(ring.primary_at(one_second_before).id(), KeyId(1));
        assert_eq!(ring.primary_at(switch).id(), KeyId(2));
        assert_eq!(ring.primary_at(at(HOUR + 1)).id(), KeyId(2));

        let old_value = sealer()
            .seal(&ring, &typical_session(), one_second_before)
            .expect("seals");
        assert_eq!(header_id(&old_value), KeyId(1), "{old:?} -> {new:?}");
        let new_value = sealer()
            .seal(&ring, &typical_session(), switch)
            .expect("seals");
        assert_eq!(header_id(&new_value), KeyId(2), "{old:?} -> {new:?}");

        // Before the switch the old value is current; from the switch on it is re-sealed.
        let opened = sealer()
            .open(&ring, &old_value, one_second_before)
            .expect("opens");
        assert!(!opened.needs_reseal);
        let opened = sealer().open(&ring, &old_value, switch).expect("opens");
        assert!(opened.needs_reseal);
        assert_eq!(opened.key_id, KeyId(1));
        let opened = sealer().open(&ring, &new_value, switch).expect("opens");
        assert!(!opened.needs_reseal);
    }
}

#[test]
fn a_later_scheduled_primary_replaces_the_earlier_one_which_keeps_opening() {
    let ring = KeyRing::new_at(
        [
            key(1, Algorithm::ChaCha20Poly1305),
            key(2, Algorithm::Aes256Gcm).activate_at(at(HOUR)),
            key(3, Algorithm::Xaes256Gcm).activate_at(at(2 * HOUR)),
        ],
        t0(),
    )
    .expect("valid ring");
    let ids: Vec<KeyId> = [at(0), at(HOUR), at(2 * HOUR)]
        .into_iter()
        .map(|t| ring.primary_at(t).id())
        .collect();
    assert_eq!(ids, [KeyId(1), KeyId(2), KeyId(3)]);
    assert_eq!(
        ring.next_activation(at(HOUR)),
        Some((KeyId(3), at(2 * HOUR)))
    );
    let v1 = sealer()
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");
    let v2 = sealer()
        .seal(&ring, &typical_session(), at(HOUR))
        .expect("seals");
    for v in [&v1, &v2] {
        let opened = sealer()
            .open(&ring, v, at(2 * HOUR))
            .expect("replaced keys still open");
        assert!(opened.needs_reseal);
    }
}

/// Activation times from configuration may carry fractions of a second. The key that seals
/// must be the primary of the sealing instant, as `open` sees it; otherwise a value sealed
/// just after the switch carries the old id and is immediately flagged for a re-seal.
#[test]
fn seal_uses_the_primary_of_the_exact_instant() {
    let switch = at(HOUR) + Duration::from_millis(500);
    let ring = KeyRing::new_at(
        [
            key(1, Algorithm::Xaes256Gcm),
            key(2, Algorithm::Xaes256Gcm).activate_at(switch),
        ],
        t0(),
    )
    .expect("valid ring");
    let now = at(HOUR) + Duration::from_millis(700);
    assert_eq!(ring.primary_at(now).id(), KeyId(2));
    let value = sealer()
        .seal(&ring, &typical_session(), now)
        .expect("seals");
    let opened = sealer().open(&ring, &value, now).expect("opens");
    assert!(
        !opened.needs_reseal,
        "a value sealed now must not need a reseal now"
    );
    assert_eq!(header_id(&value), KeyId(2));
}

// ---- configuration errors ----

fn build(keys: Vec<Key>) -> ConfigError {
    KeyRing::new_at(keys, t0()).expect_err("invalid ring")
}

#[track_caller]
fn assert_names(err: &ConfigError, ids: &[u8]) {
    let message = err.to_string();
    for id in ids {
        assert!(
            message.contains(&id.to_string()),
            "{message:?} should name key {id}"
        );
    }
}

#[test]
fn duplicate_key_ids_are_refused() {
    let err = build(vec![
        key(5, Algorithm::ChaCha20Poly1305),
        key(17, Algorithm::Xaes256Gcm).decrypt_only(),
        key(17, Algorithm::Aes256Gcm).decrypt_only(),
    ]);
    assert!(
        matches!(err, ConfigError::DuplicateKeyId { id: 17 }),
        "{err:?}"
    );
    assert_names(&err, &[17]);
}

#[test]
fn two_primaries_without_activate_at_are_refused() {
    let err = build(vec![
        key(17, Algorithm::Xaes256Gcm),
        key(5, Algorithm::Aes256Gcm).decrypt_only(),
        key(42, Algorithm::ChaCha20Poly1305),
    ]);
    match err {
        ConfigError::TwoPrimaries { a, b } => {
            assert_eq!((a.min(b), a.max(b)), (17, 42));
        }
        ref other => panic!("expected TwoPrimaries, got {other:?}"),
    }
    assert_names(&err, &[17, 42]);
}

#[test]
fn two_primaries_with_the_same_activate_at_are_refused() {
    let when = at(HOUR);
    let err = build(vec![
        key(5, Algorithm::Aes256Gcm),
        key(17, Algorithm::Xaes256Gcm).activate_at(when),
        key(42, Algorithm::ChaCha20Poly1305).activate_at(when),
    ]);
    match err {
        ConfigError::TwoPrimaries { a, b } => {
            assert_eq!((a.min(b), a.max(b)), (17, 42));
        }
        ref other => panic!("expected TwoPrimaries, got {other:?}"),
    }
    assert_names(&err, &[17, 42]);

    // Distinct instants are fine, and so is an activation in the past.
    let ok = KeyRing::new_at(
        [
            key(5, Algorithm::Aes256Gcm),
            key(17, Algorithm::Xaes256Gcm).activate_at(at(HOUR)),
            key(42, Algorithm::ChaCha20Poly1305).activate_at(at(HOUR + 1)),
        ],
        t0(),
    )
    .expect("valid ring");
    assert_eq!(ok.primary_at(at(HOUR + 1)).id(), KeyId(42));
    let past = KeyRing::new_at(
        [
            key(5, Algorithm::Aes256Gcm),
            key(17, Algorithm::Xaes256Gcm).activate_at(at(0)),
        ],
        at(1),
    )
    .expect("valid ring");
    assert_eq!(past.primary_at(at(1)).id(), KeyId(17));
}

#[test]
// `NoPrimary { .. }` keeps compiling when the variant gains fields (it should name key ids).
#[allow(clippy::unneeded_struct_pattern)]
fn a_ring_without_a_primary_is_refused() {
    let err = build(vec![
        key(17, Algorithm::Xaes256Gcm).decrypt_only(),
        key(42, Algorithm::Aes256Gcm).decrypt_only(),
    ]);
    assert!(matches!(err, ConfigError::NoPrimary { .. }), "{err:?}");
    let err = build(Vec::new());
    assert!(matches!(err, ConfigError::NoPrimary { .. }), "{err:?}");
}

#[test]
// `NoPrimary { .. }` keeps compiling when the variant gains fields (it should name key ids).
#[allow(clippy::unneeded_struct_pattern)]
fn a_ring_whose_only_primary_is_scheduled_later_is_refused() {
    let err = build(vec![
        key(17, Algorithm::Xaes256Gcm).decrypt_only(),
        key(42, Algorithm::Aes256Gcm).activate_at(at(HOUR)),
    ]);
    assert!(matches!(err, ConfigError::NoPrimary { .. }), "{err:?}");
    // The same keys are valid from the activation on.
    let later = KeyRing::new_at(
        [
            key(17, Algorithm::Xaes256Gcm).decrypt_only(),
            key(42, Algorithm::Aes256Gcm).activate_at(at(HOUR)),
        ],
        at(HOUR),
    )
    .expect("valid from the activation on");
    assert_eq!(later.primary_at(at(HOUR)).id(), KeyId(42));
}

/// "No primary" should say which keys were looked at: the decrypt-only ones, and the primary
/// that is only scheduled (and from when), so the operator knows what to fix.
#[test]
fn no_primary_errors_name_the_key_ids() {
    let err = build(vec![
        key(17, Algorithm::Xaes256Gcm).decrypt_only(),
        key(42, Algorithm::Aes256Gcm).decrypt_only(),
    ]);
    assert_names(&err, &[17, 42]);
    let err = build(vec![
        key(17, Algorithm::Xaes256Gcm).decrypt_only(),
        key(42, Algorithm::Aes256Gcm).activate_at(at(HOUR)),
    ]);
    assert_names(&err, &[42]);
}

#[test]
fn config_errors_never_quote_a_secret() {
    let err = build(vec![
        Key::new(KeyId(17), Algorithm::Xaes256Gcm, &[0x41; 32]),
        Key::new(KeyId(17), Algorithm::Xaes256Gcm, &[0x41; 32]),
    ]);
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("AAAA") && !shown.contains("65, 65"),
        "{shown}"
    );
    let ring = KeyRing::new_at(
        [Key::new(KeyId(1), Algorithm::Xaes256Gcm, &[0x41; 32])],
        t0(),
    )
    .expect("valid ring");
    let shown = format!("{ring:?}");
    assert!(
        !shown.contains("AAAA") && !shown.contains("65, 65"),
        "{shown}"
    );
}

/// Whoever holds a leaked retired key writes the plaintext's timestamps himself: a session
/// created today that claims its last write at the retirement instant, with a far expiry of
/// its own, was accepted (only `written_at` was judged, and the absolute timeout counted from
/// the fresh `created_at`), long after `check-config` called the key removable.
#[test]
fn a_leaked_retired_key_cannot_backdate_a_fresh_session() {
    use common::outside::{seal_outside, varint};
    use common::COOKIE;

    let retired = 10 * HOUR;
    let ring = KeyRing::new_at(
        [
            key(2, Algorithm::Aes256Gcm),
            key(1, Algorithm::Xaes256Gcm)
                .decrypt_only()
                .retired_at(at(retired)),
        ],
        at(retired),
    )
    .unwrap();
    let sealer = sealer(); // 60 s skew
                           // A v2 plaintext: created_at, written_at, Some(Until(until)), no validated_at, {n: 1}.
    let forged = |created: u64, written: u64, until: u64| {
        let mut p = Vec::new();
        varint(common::T0 + created, &mut p);
        varint(common::T0 + written, &mut p);
        p.extend_from_slice(&[1, 2]);
        varint(until, &mut p);
        p.extend_from_slice(&[0, 1, 1, b'n', 1]);
        seal_outside(
            Algorithm::Xaes256Gcm,
            &secret(Algorithm::Xaes256Gcm),
            1,
            COOKIE,
            &p,
        )
    };
    for days in [0, 1, 30] {
        let now = retired + 3600 + days * 24 * HOUR;
        let value = forged(now, retired, u64::MAX);
        assert_eq!(
            sealer
                .open(&ring, &value, at(now))
                .map(|o| o.data.created_at()),
            Err(RejectReason::RetiredKey),
            "{days} days after the retirement"
        );
    }
    // The honest shape still opens: created and last written before the retirement.
    let honest = forged(retired - HOUR, retired, u64::MAX);
    assert!(sealer.open(&ring, &honest, at(retired + HOUR)).is_ok());
}

/// S13 (issue 12): a decrypt-only key with `retired_at` refuses values created after
/// `retired_at + skew` — a leaked retired key cannot mint fresh sessions — while the values
/// it sealed before keep opening (and are re-sealed under the primary).
#[test]
fn a_retired_key_refuses_cookies_created_after_its_retirement() {
    use base64::Engine as _;
    use sealed_session::config::KeyConfig;
    use sealed_session::SessionConfig;

    let b64 = |bytes: &[u8; 32]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let retired = 10 * HOUR;
    let config = SessionConfig {
        keys: vec![
            KeyConfig::new(2, b64(&secret(Algorithm::Aes256Gcm))),
            KeyConfig::new(1, b64(&secret(Algorithm::Xaes256Gcm)))
                .decrypt_only()
                .retired_at(at(retired)),
        ],
        ..SessionConfig::default()
    };
    let ring = config.key_ring_at(at(retired)).unwrap();
    // Key 1 as whoever leaked it holds it: able to seal.
    let leaked = KeyRing::new_at([key(1, Algorithm::Xaes256Gcm)], t0()).unwrap();
    let sealer = sealer(); // skew 60 s
    for (created, opens) in [
        (retired - HOUR, true),
        (retired, true),
        (retired + 60, true),
        (retired + 61, false),
        (retired + 24 * HOUR, false),
    ] {
        let value = sealer
            .seal(&leaked, &typical_session(), at(created))
            .unwrap();
        match sealer.open(&ring, &value, at(created + 1)) {
            Ok(opened) => {
                assert!(opens, "created {created}: a value of a retired key opened");
                assert!(opened.needs_reseal);
            }
            Err(reason) => {
                assert!(!opens, "created {created}: {reason}");
                assert_eq!(reason, RejectReason::RetiredKey);
                assert_eq!(reason.as_str(), "retired_key");
            }
        }
    }
}

/// `check-config`'s "safe to remove" must not come while a value the key sealed still opens.
/// A retired key opens values created up to `retired_at + skew` (an instance whose clock is
/// ahead stamps them so), and `not_before` revokes only those created before it: a
/// `not_before` inside that window leaves them valid, so it cannot make the key removable.
#[test]
fn a_not_before_within_the_skew_of_the_retirement_does_not_make_the_key_removable() {
    use base64::Engine as _;
    use sealed_session::config::{KeyConfig, KeyStatus};
    use sealed_session::seal::Sealer;
    use sealed_session::SessionConfig;

    let b64 = |bytes: &[u8; 32]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let retired = 10 * HOUR;
    let mut config = SessionConfig {
        keys: vec![
            KeyConfig::new(2, b64(&secret(Algorithm::Aes256Gcm))),
            KeyConfig::new(1, b64(&secret(Algorithm::Xaes256Gcm)))
                .decrypt_only()
                .retired_at(at(retired)),
        ],
        ..SessionConfig::default() // skew 60 s, absolute 7 days
    };
    config.expiry.not_before = Some(at(retired + 1));
    // Sealed by the last instance to stop sealing with key 1, its clock 30 s ahead.
    let old = KeyRing::new_at([key(1, Algorithm::Xaes256Gcm)], t0()).unwrap();
    let sealer = Sealer::new(common::COOKIE, config.expiry.policy());
    let value = sealer
        .seal(&old, &typical_session(), at(retired + 30))
        .unwrap();
    let now = retired + 120;
    let ring = config.key_ring_at(at(now)).unwrap();
    let opened = sealer.open(&ring, &value, at(now));
    assert!(opened.is_ok(), "{opened:?}");
    let report = config.rotation_report(at(now)).unwrap();
    assert!(
        !matches!(report.keys[1].status, KeyStatus::Removable { .. }),
        "key 1 still opens a valid value, yet: {report}"
    );
    // A `not_before` past the window does revoke every value the key opens.
    config.expiry.not_before = Some(at(retired + 61));
    let sealer = Sealer::new(common::COOKIE, config.expiry.policy());
    let opened = sealer.open(&ring, &value, at(now));
    assert!(opened.is_err());
    let report = config.rotation_report(at(now)).unwrap();
    assert_eq!(report.safe_to_remove(), [KeyId(1)]);
}
