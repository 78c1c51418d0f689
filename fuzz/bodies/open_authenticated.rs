//! Arbitrary plaintext sealed with a real key, then opened: fuzzes the payload decoders that
//! run after authentication (postcard framing, MessagePack values, entry order, timestamps).
//! The first input byte picks wire format v1 (postcard values) or v2 (MessagePack values).
//!
//! The body of the fuzz target `open_authenticated`, apart from its `fuzz_target!` so that `cargo test`
//! replays the committed corpus through the same code on stable (`fuzz/replay.rs`).

use std::time::{Duration, UNIX_EPOCH};

use sealed_session::__fuzz::{open_plaintext, seal_plaintext};
use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
use sealed_session::seal::Sealer;
use sealed_session::time::ExpiryPolicy;

/// One fuzz input.
pub fn run(input: &[u8]) {
    let Some((&first, data)) = input.split_first() else {
        return;
    };
    let version = if first & 1 == 0 { 1 } else { 2 };
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ring = KeyRing::new_at(
        [Key::new(KeyId(1), Algorithm::Aes256Gcm, &[1; 32])],
        UNIX_EPOCH,
    )
    .expect("valid ring");
    let value = seal_plaintext(&ring, version, "session", now, data);
    let opened = open_plaintext(&ring, "session", &value, now).expect("a value just sealed opens");
    assert_eq!(opened, data);
    let sealer = Sealer::new("session", ExpiryPolicy::default().no_absolute().no_idle());
    if let Ok(session) = sealer.open(&ring, &value, now) {
        // Whatever decoded must survive a round trip (re-sealed as v2).
        let again = sealer.seal(&ring, &session.data, now).expect("reseal");
        let back = sealer.open(&ring, &again, now).expect("reopen");
        assert_eq!(
            back.data.keys().collect::<Vec<_>>(),
            session.data.keys().collect::<Vec<_>>()
        );
        for key in session.data.keys() {
            let _ = session.data.get::<u64>(key);
            let _ = session.data.get::<String>(key);
            let _ = session.data.get::<Vec<(u32, u16)>>(key);
            assert_eq!(
                back.data.get::<serde_json::Value>(key).ok(),
                session.data.get::<serde_json::Value>(key).ok()
            );
        }
    }
}
