//! Arbitrary bytes as one session value (wire format v2: MessagePack), authenticated, then
//! read as many types: fuzzes the value decoder (`skip` for the framing, typed decoding with
//! `deserialize_any`, depth and length bounds). Whatever reads as a JSON value re-inserts and
//! reads back equal.
//!
//! The body of the fuzz target `open_values`, apart from its `fuzz_target!` so that `cargo test`
//! replays the committed corpus through the same code on stable (`fuzz/replay.rs`).

use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

use sealed_session::__fuzz::seal_plaintext;
use sealed_session::data::SessionData;
use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
use sealed_session::seal::Sealer;
use sealed_session::time::ExpiryPolicy;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(untagged)]
#[allow(dead_code)]
enum Untagged {
    N(u64),
    S(String),
    P { x: i32, y: i32 },
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type")]
#[allow(dead_code)]
enum Tagged {
    A { n: u8 },
    B,
}

/// One fuzz input.
pub fn run(data: &[u8]) {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ring = KeyRing::new_at(
        [Key::new(KeyId(1), Algorithm::Aes256Gcm, &[1; 32])],
        UNIX_EPOCH,
    )
    .expect("valid ring");
    // created_at 1, no expiry, no idle override, one entry "v" whose value is the input.
    let mut payload = vec![1, 0, 0, 1, 1, b'v'];
    payload.extend_from_slice(data);
    let value = seal_plaintext(&ring, 2, "session", now, &payload);
    let sealer = Sealer::new("session", ExpiryPolicy::default().no_absolute().no_idle());
    let Ok(opened) = sealer.open(&ring, &value, now) else {
        return;
    };
    let d = &opened.data;
    let _ = d.get::<u64>("v");
    let _ = d.get::<i128>("v");
    let _ = d.get::<String>("v");
    let _ = d.get::<Vec<u8>>("v");
    let _ = d.get::<HashMap<String, u32>>("v");
    let _ = d.get::<(u8, String, Option<bool>)>("v");
    let _ = d.get::<Untagged>("v");
    let _ = d.get::<Tagged>("v");
    if let Ok(Some(json)) = d.get::<serde_json::Value>("v") {
        let mut again = SessionData::new();
        if again.insert("v", &json).is_ok() {
            assert_eq!(
                again.get::<serde_json::Value>("v").ok().flatten(),
                Some(json)
            );
        }
    }
}
