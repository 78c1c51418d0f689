//! Keys and the key ring.
//!
//! A [`Key`] is an id (0–255), an [`Algorithm`], a [`KeyState`] and an optional activation
//! time. Its AEAD key is derived from a 32-byte secret with HKDF-SHA256, bound to the algorithm
//! and purpose, and its cipher is built once. A [`KeyRing`] holds up to 256 keys, finds one by
//! id in O(1), and knows which key is primary at any instant.
//!
//! # Example
//! ```
//! use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
//! let ring = KeyRing::new([
//!     Key::new(KeyId(2), Algorithm::Xaes256Gcm, &[7; 32]),
//!     Key::new(KeyId(1), Algorithm::ChaCha20Poly1305, &[9; 32]).decrypt_only(),
//! ])?;
//! assert_eq!(ring.primary_at(std::time::SystemTime::now()).id(), KeyId(2));
//! # Ok::<(), sealed_session::ConfigError>(())
//! ```

mod key;
mod ring;

pub(crate) use key::{decode_secret, TAG_LEN};
pub use key::{
    generate_secret, Algorithm, Key, KeyId, KeyState, UnknownAlgorithm, PUBLISHED_SECRETS,
    SECRET_LEN,
};
pub use ring::KeyRing;
