//! Properties of the codec and the sealer: round trips, no panic on any input, and no
//! one-byte change that still opens.
#![forbid(unsafe_code)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;
use proptest::sample::{select, Index};
use sealed_session::data::{SessionData, SessionExpiry};
use sealed_session::keys::{Algorithm, KeyId};
use sealed_session::seal::Sealer;
use sealed_session::time::ExpiryPolicy;
use sealed_session::RejectReason;

use common::{decode, encode, key_id, ring, sealer, t0};

const CASES: u32 = 256;

fn algorithm() -> impl Strategy<Value = Algorithm> {
    select(Algorithm::ALL.to_vec())
}

fn entries() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    btree_map(any::<String>(), vec(any::<u8>(), 0..64), 0..12)
}

fn session_of(entries: &BTreeMap<String, Vec<u8>>) -> SessionData {
    let mut data = SessionData::new();
    for (k, v) in entries {
        data.insert(k.as_str(), v).expect("a byte vector encodes");
    }
    data
}

type Typed = (
    u64,
    i64,
    bool,
    String,
    Vec<(u32, u16)>,
    Option<[u8; 16]>,
    char,
);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn entries_round_trip_for_every_algorithm(entries in entries()) {
        let data = session_of(&entries);
        for alg in Algorithm::ALL {
            let ring = ring(alg);
            let value = sealer().seal(&ring, &data, t0()).expect("seals");
            let opened = sealer().open(&ring, &value, t0()).expect("opens");
            prop_assert_eq!(opened.key_id, key_id(alg));
            prop_assert!(!opened.data.is_dirty());
            prop_assert_eq!(
                opened.data.keys().collect::<Vec<_>>(),
                entries.keys().map(String::as_str).collect::<Vec<_>>()
            );
            for (k, v) in &entries {
                prop_assert_eq!(opened.data.get::<Vec<u8>>(k).expect("bytes"), Some(v.clone()));
            }
        }
    }

    #[test]
    fn typed_values_and_idle_override_round_trip(
        alg in algorithm(),
        value in any::<Typed>(),
        idle in proptest::option::of(0u32..=u32::MAX),
    ) {
        let ring = ring(alg);
        let mut data = SessionData::new();
        data.insert("v", &value).expect("encodes");
        data.set_idle_timeout(idle.map(|s| Duration::from_secs(u64::from(s))));
        let sealed = sealer().seal(&ring, &data, t0()).expect("seals");
        let opened = sealer().open(&ring, &sealed, t0()).expect("opens");
        prop_assert_eq!(opened.data.get::<Typed>("v").expect("same type"), Some(value));
        prop_assert_eq!(opened.data.idle_timeout(), data.idle_timeout());
        prop_assert_eq!(opened.data.created_at(), Some(common::T0));
    }

    #[test]
    fn every_session_expiry_choice_round_trips(
        alg in algorithm(),
        choice in prop_oneof![
            Just(None),
            any::<u32>().prop_map(|s| Some(SessionExpiry::Idle(s))),
            Just(Some(SessionExpiry::BrowserSession)),
            any::<u64>().prop_map(|t| Some(SessionExpiry::Until(t))),
        ],
    ) {
        let ring = ring(alg);
        let mut data = SessionData::new();
        data.insert("v", &1u8).expect("encodes");
        data.set_session_expiry(choice);
        let sealed = sealer().seal(&ring, &data, t0()).expect("seals");
        // Opened at the instant it was sealed: an `Until` in the past is expired then.
        match sealer().open(&ring, &sealed, t0()) {
            Ok(opened) => prop_assert_eq!(opened.data.session_expiry(), choice),
            Err(reason) => {
                let past = matches!(choice, Some(SessionExpiry::Until(t)) if t.saturating_add(60) < common::T0);
                prop_assert!(past, "{:?} refused: {:?}", choice, reason);
            }
        }
    }

    #[test]
    fn values_are_bound_to_their_cookie_name(
        alg in algorithm(),
        a in any::<String>(),
        b in any::<String>(),
    ) {
        let ring = ring(alg);
        let seal_as = Sealer::new(a.as_str(), ExpiryPolicy::default());
        let value = seal_as.seal(&ring, &SessionData::new(), t0()).expect("seals");
        prop_assert!(seal_as.open(&ring, &value, t0()).is_ok());
        let open_as = Sealer::new(b.as_str(), ExpiryPolicy::default());
        let result = open_as.open(&ring, &value, t0());
        if a == b {
            prop_assert!(result.is_ok());
        } else {
            prop_assert_eq!(result.unwrap_err(), RejectReason::Unauthenticated);
        }
    }

    #[test]
    fn open_never_panics_on_arbitrary_strings(alg in algorithm(), s in any::<String>()) {
        let ring = ring(alg);
        prop_assert!(sealer().open(&ring, &s, t0()).is_err());
    }

    #[test]
    fn open_never_panics_on_base64url_text(alg in algorithm(), s in "[A-Za-z0-9_-]{0,400}") {
        let ring = ring(alg);
        prop_assert!(sealer().open(&ring, &s, t0()).is_err());
    }

    #[test]
    fn open_never_panics_on_arbitrary_bytes(alg in algorithm(), bytes in vec(any::<u8>(), 0..400)) {
        let ring = ring(alg);
        let s = encode(&bytes);
        prop_assert!(sealer().open(&ring, &s, t0()).is_err());
    }

    /// Random bytes behind a valid header reach the key lookup and the AEAD, and get the
    /// precise reason for where they stop.
    #[test]
    fn random_bodies_behind_a_valid_header_are_rejected_precisely(
        alg in algorithm(),
        id in 0u8..=4,
        body in vec(any::<u8>(), 0..120),
    ) {
        let ring = ring(alg);
        let bytes = [&[common::outside::VERSION, id][..], &body].concat();
        let reason = sealer().open(&ring, &encode(&bytes), t0()).unwrap_err();
        let expected = match ring.get(KeyId(id)) {
            None => RejectReason::UnknownKey,
            Some(key) if body.len() < key.algorithm().nonce_len() + 16 => RejectReason::Malformed,
            Some(_) => RejectReason::Unauthenticated,
        };
        prop_assert_eq!(reason, expected);
    }

    #[test]
    fn a_sealed_value_with_any_one_byte_changed_never_opens(
        alg in algorithm(),
        entries in entries(),
        at in any::<Index>(),
        mask in 1u8..=255,
    ) {
        let ring = ring(alg);
        let value = sealer().seal(&ring, &session_of(&entries), t0()).expect("seals");
        let mut bytes = decode(&value);
        let i = at.index(bytes.len());
        bytes[i] ^= mask;
        let tampered = encode(&bytes);
        prop_assert!(sealer().open(&ring, &tampered, t0()).is_err());
    }
}
