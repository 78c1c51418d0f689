//! Any string as a cookie value, opened against a fixed key ring (one key per algorithm).
//!
//! The body of the fuzz target `open_cookie`, apart from its `fuzz_target!` so that `cargo test`
//! replays the committed corpus through the same code on stable (`fuzz/replay.rs`).

use std::time::{Duration, UNIX_EPOCH};

use sealed_session::__fuzz::open_plaintext;
use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
use sealed_session::seal::Sealer;
use sealed_session::time::ExpiryPolicy;

fn ring() -> KeyRing {
    KeyRing::new_at(
        [
            Key::new(KeyId(1), Algorithm::Xaes256Gcm, &[1; 32]),
            Key::new(KeyId(2), Algorithm::Aes256Gcm, &[2; 32]).decrypt_only(),
            Key::new(KeyId(3), Algorithm::ChaCha20Poly1305, &[3; 32]).decrypt_only(),
        ],
        UNIX_EPOCH,
    )
    .expect("valid ring")
}

/// One fuzz input.
pub fn run(data: &[u8]) {
    let ring = ring();
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let value = String::from_utf8_lossy(data);
    let sealer = Sealer::new("session", ExpiryPolicy::default());
    let _ = sealer.open(&ring, &value, now);
    let _ = open_plaintext(&ring, "session", &value, now);
}
