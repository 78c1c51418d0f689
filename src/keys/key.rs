//! One key: id, algorithm, state, activation time, and its cipher built once.

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::Aes256Gcm;
use base64::Engine as _;
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use sha2::Sha256;
use xaes_256_gcm::Xaes256Gcm;
use zeroize::Zeroizing;

use crate::error::ConfigError;

/// Length of a key secret in bytes.
pub const SECRET_LEN: usize = 32;

/// Length of an AEAD tag in bytes (all three algorithms).
pub(crate) const TAG_LEN: usize = 16;

/// A key id, 0–255. It is the second byte of every sealed value, so lookup is one index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(pub u8);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The AEAD a key seals with. The algorithm belongs to the key, not the token.
///
/// | name | nonce | per-key limit |
/// |---|---|---|
/// | `xaes-256-gcm` (default) | 192-bit random | none in practice (2^80 messages) |
/// | `aes-256-gcm` | 96-bit random | 2^32 seals (NIST SP 800-38D §8.3) |
/// | `chacha20-poly1305` | 96-bit random | 2^32 seals (same birthday bound) |
///
/// ```
/// use sealed_session::keys::Algorithm;
/// let a: Algorithm = "chacha20-poly1305".parse().unwrap();
/// assert_eq!(a, Algorithm::ChaCha20Poly1305);
/// assert_eq!(Algorithm::default().name(), "xaes-256-gcm");
/// assert_eq!(Algorithm::default().nonce_len(), 24);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// XAES-256-GCM (C2SP): AES-256-GCM with a per-message derived key and a 192-bit nonce.
    #[default]
    Xaes256Gcm,
    /// AES-256-GCM with a 96-bit random nonce. NIST SP 800-38D §8.3 caps random nonces at
    /// 2^32 invocations per key: rotate before that.
    Aes256Gcm,
    /// ChaCha20-Poly1305 (RFC 8439), for CPUs without AES instructions.
    ChaCha20Poly1305,
}

impl Algorithm {
    /// Every supported algorithm.
    pub const ALL: [Algorithm; 3] = [
        Algorithm::Xaes256Gcm,
        Algorithm::Aes256Gcm,
        Algorithm::ChaCha20Poly1305,
    ];

    /// The configuration name (`xaes-256-gcm`, `aes-256-gcm`, `chacha20-poly1305`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Xaes256Gcm => "xaes-256-gcm",
            Self::Aes256Gcm => "aes-256-gcm",
            Self::ChaCha20Poly1305 => "chacha20-poly1305",
        }
    }

    /// Nonce length in bytes (24 for XAES-256-GCM, 12 otherwise).
    #[must_use]
    pub const fn nonce_len(self) -> usize {
        match self {
            Self::Xaes256Gcm => 24,
            Self::Aes256Gcm | Self::ChaCha20Poly1305 => 12,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The name was not one of the supported algorithms. It holds the name given, or
/// `<redacted>` when that could be a secret pasted in the wrong place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAlgorithm(pub String);

impl fmt::Display for UnknownAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown algorithm `{}`; expected one of `xaes-256-gcm`, `aes-256-gcm`, `chacha20-poly1305`",
            self.0
        )
    }
}

impl std::error::Error for UnknownAlgorithm {}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| UnknownAlgorithm(crate::error::shown(s).into_owned()))
    }
}

/// Whether a key may seal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum KeyState {
    /// Seals new values (from `activate_at`, if set) and opens old ones.
    #[default]
    Primary,
    /// Opens values only; a value it opens is re-sealed under the primary on the response.
    DecryptOnly,
}

/// The cipher of one key, built once (key schedule and GHASH tables are not rebuilt per request).
/// Each variant's cipher state is zeroized on drop by its crate (`zeroize` feature).
#[derive(Clone)]
pub(crate) enum Cipher {
    Xaes(Box<Xaes256Gcm>),
    Aes(Box<Aes256Gcm>),
    ChaCha(Box<ChaCha20Poly1305>),
}

/// The AEAD refused (wrong tag, or a length past its limits). Carries no detail on purpose.
#[derive(Debug)]
pub(crate) struct AeadFailure;

impl Cipher {
    /// Encrypts `buf` in place and returns the tag.
    pub(crate) fn seal_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; TAG_LEN], AeadFailure> {
        macro_rules! seal {
            ($c:expr) => {{
                let nonce = nonce.try_into().map_err(|_| AeadFailure)?;
                let tag = $c
                    .encrypt_inout_detached(nonce, aad, buf.into())
                    .map_err(|_| AeadFailure)?;
                Ok(tag.into())
            }};
        }
        match self {
            Cipher::Xaes(c) => seal!(c),
            Cipher::Aes(c) => seal!(c),
            Cipher::ChaCha(c) => seal!(c),
        }
    }

    /// Verifies `tag` and decrypts `buf` in place; on failure `buf` holds no plaintext.
    pub(crate) fn open_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8],
    ) -> Result<(), AeadFailure> {
        macro_rules! open {
            ($c:expr) => {{
                let nonce = nonce.try_into().map_err(|_| AeadFailure)?;
                let tag = tag.try_into().map_err(|_| AeadFailure)?;
                $c.decrypt_inout_detached(nonce, aad, buf.into(), tag)
                    .map_err(|_| AeadFailure)
            }};
        }
        match self {
            Cipher::Xaes(c) => open!(c),
            Cipher::Aes(c) => open!(c),
            Cipher::ChaCha(c) => open!(c),
        }
    }
}

/// One key of a [`KeyRing`](crate::keys::KeyRing).
///
/// The 32-byte secret is never used directly: the AEAD key is derived with HKDF-SHA256, with
/// the algorithm and purpose in `info`, so one secret never serves two algorithms. The cipher
/// is built at construction; the secret and derived key are zeroized right after, and the
/// cipher state on drop. `Debug` shows the id, algorithm and state only.
///
/// ```
/// use sealed_session::keys::{generate_secret, Algorithm, Key, KeyId};
/// let secret = generate_secret();
/// let key = Key::from_base64(KeyId(1), Algorithm::Aes256Gcm, &secret)?.decrypt_only();
/// assert!(format!("{key:?}").contains("DecryptOnly"));
/// assert!(!format!("{key:?}").contains(&secret[..8]));
/// # Ok::<(), sealed_session::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct Key {
    id: KeyId,
    algorithm: Algorithm,
    state: KeyState,
    activate_at: Option<SystemTime>,
    retired_at: Option<SystemTime>,
    pub(crate) cipher: Cipher,
}

/// HKDF `info` prefix; the algorithm name and purpose follow it.
const HKDF_INFO_PREFIX: &[u8] = b"sealed-session v1 ";
const PURPOSE_COOKIE: &[u8] = b" cookie";

impl Key {
    /// Builds a primary key from 32 secret bytes.
    ///
    /// # Panics
    /// Never: the HKDF output and cipher key lengths are fixed at 32 bytes, which every
    /// algorithm accepts.
    #[must_use]
    pub fn new(id: KeyId, algorithm: Algorithm, secret: &[u8; SECRET_LEN]) -> Self {
        let mut derived = Zeroizing::new([0u8; 32]);
        let mut info = Vec::with_capacity(40);
        info.extend_from_slice(HKDF_INFO_PREFIX);
        info.extend_from_slice(algorithm.name().as_bytes());
        info.extend_from_slice(PURPOSE_COOKIE);
        Hkdf::<Sha256>::new(None, secret)
            .expand(&info, derived.as_mut())
            // 32 bytes is far below HKDF-SHA256's 255 * 32 byte output limit.
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        let k = derived.as_ref();
        let cipher = match algorithm {
            Algorithm::Xaes256Gcm => Cipher::Xaes(Box::new(
                Xaes256Gcm::new_from_slice(k).expect("32-byte key"),
            )),
            Algorithm::Aes256Gcm => {
                Cipher::Aes(Box::new(Aes256Gcm::new_from_slice(k).expect("32-byte key")))
            }
            Algorithm::ChaCha20Poly1305 => Cipher::ChaCha(Box::new(
                ChaCha20Poly1305::new_from_slice(k).expect("32-byte key"),
            )),
        };
        Key {
            id,
            algorithm,
            state: KeyState::Primary,
            activate_at: None,
            retired_at: None,
            cipher,
        }
    }

    /// Builds a primary key from a base64 secret (standard or URL-safe alphabet, padding
    /// optional) that must decode to exactly 32 bytes and must not be a secret published in
    /// documentation ([`PUBLISHED_SECRETS`]).
    ///
    /// # Errors
    /// [`ConfigError::SecretNotBase64`], [`ConfigError::SecretLength`] or
    /// [`ConfigError::SampleSecret`]; none quotes the secret.
    pub fn from_base64(id: KeyId, algorithm: Algorithm, secret: &str) -> Result<Self, ConfigError> {
        let secret = decode_secret(id, secret)?;
        Ok(Self::new(id, algorithm, &secret))
    }

    /// Makes this key decrypt-only: it opens values but never seals.
    #[must_use]
    pub fn decrypt_only(mut self) -> Self {
        self.state = KeyState::DecryptOnly;
        self
    }

    /// Makes a primary key seal only from `at` on; before that it only opens. With this,
    /// every instance of a fleet switches primary at the same instant.
    #[must_use]
    pub fn activate_at(mut self, at: SystemTime) -> Self {
        self.activate_at = Some(at);
        self
    }

    /// Records when a decrypt-only key stopped sealing. From then on (plus the clock skew of
    /// the [`ExpiryPolicy`](crate::time::ExpiryPolicy)) it opens only values created before:
    /// a value it opens whose `created_at` is later was made with a leaked copy of it, and is
    /// rejected as [`RejectReason::RetiredKey`](crate::RejectReason::RetiredKey). Ignored on a
    /// primary key.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use sealed_session::keys::{Algorithm, Key, KeyId};
    /// let at = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    /// let key = Key::new(KeyId(1), Algorithm::default(), &[1; 32]).decrypt_only().retired_at(at);
    /// assert_eq!(key.retirement(), Some(at));
    /// ```
    #[must_use]
    pub fn retired_at(mut self, at: SystemTime) -> Self {
        self.retired_at = Some(at);
        self
    }

    /// The key id.
    #[must_use]
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The algorithm.
    #[must_use]
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The configured state (a scheduled primary reports `Primary` before its activation).
    #[must_use]
    pub fn state(&self) -> KeyState {
        self.state
    }

    /// The activation time of a scheduled primary.
    #[must_use]
    pub fn activation(&self) -> Option<SystemTime> {
        self.activate_at
    }

    /// When a decrypt-only key stopped sealing (see [`retired_at`](Self::retired_at)).
    #[must_use]
    pub fn retirement(&self) -> Option<SystemTime> {
        self.retired_at
    }

    /// Whether `other` holds the same key material: the same algorithm, and a probe sealed
    /// with this key (an empty message under a fresh random nonce) opens with `other`. The
    /// ciphers keep no secret to compare, and this compares none. `true` when it cannot tell
    /// (no random nonce), so that a caller that warns on `false` never warns wrongly.
    pub(crate) fn same_material(&self, other: &Key) -> bool {
        const AAD: &[u8] = b"sealed-session same-key probe";
        if self.algorithm != other.algorithm {
            return false;
        }
        let mut nonce = [0u8; 24];
        let nonce = &mut nonce[..self.algorithm.nonce_len()];
        if getrandom::fill(nonce).is_err() {
            return true;
        }
        let Ok(tag) = self.cipher.seal_in_place(nonce, AAD, &mut []) else {
            return true;
        };
        other
            .cipher
            .open_in_place(nonce, AAD, &mut [], &tag)
            .is_ok()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id.0)
            .field("algorithm", &self.algorithm)
            .field("state", &self.state)
            .field("activate_at", &self.activate_at)
            .field("retired_at", &self.retired_at)
            .finish_non_exhaustive()
    }
}

/// Secrets printed in documentation, known to everyone, and refused wherever a secret is
/// given as base64 (configuration, `SEALED_SESSION_KEYS`, [`Key::from_base64`]): the bytes 0
/// to 31, which earlier versions of this crate's documentation showed in every example as
/// `AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=`. `tests/readme.rs` checks that no other
/// secret the documentation prints is usable.
pub const PUBLISHED_SECRETS: [[u8; SECRET_LEN]; 1] = [[
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
    26, 27, 28, 29, 30, 31,
]];

/// Whether `secret` is one of [`PUBLISHED_SECRETS`] (without an early exit on the first
/// differing byte).
fn is_published(secret: &[u8]) -> bool {
    PUBLISHED_SECRETS.iter().any(|p| {
        p.len() == secret.len() && p.iter().zip(secret).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    })
}

/// Decodes a base64 secret into exactly 32 bytes, zeroizing every intermediate buffer, and
/// refuses a published one.
pub(crate) fn decode_secret(
    id: KeyId,
    secret: &str,
) -> Result<Zeroizing<[u8; SECRET_LEN]>, ConfigError> {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let trimmed = secret.trim().trim_end_matches('=');
    // Decoded into a buffer of ours that is zeroized on drop: `decode` returns a `Vec` of
    // its own, and when the standard alphabet fails part way through a URL-safe secret it
    // drops that `Vec`, the secret's first bytes in it, without zeroizing.
    let mut buf = Zeroizing::new(vec![0u8; base64::decoded_len_estimate(trimmed.len())]);
    let len = STANDARD_NO_PAD
        .decode_slice(trimmed, &mut buf[..])
        .or_else(|_| URL_SAFE_NO_PAD.decode_slice(trimmed, &mut buf[..]))
        .map_err(|_| ConfigError::SecretNotBase64 { id: id.0 })?;
    let bytes = &buf[..len];
    if bytes.len() == SECRET_LEN && is_published(bytes) {
        Err(ConfigError::SampleSecret { id: id.0 })
    } else if bytes.len() == SECRET_LEN {
        let mut out = Zeroizing::new([0u8; SECRET_LEN]);
        out.copy_from_slice(bytes);
        Ok(out)
    } else {
        Err(ConfigError::SecretLength {
            id: id.0,
            len: bytes.len(),
        })
    }
}

/// Encodes 32 fresh random bytes from the operating system's generator as standard base64:
/// a new secret.
///
/// ```
/// let s = sealed_session::keys::generate_secret();
/// assert_eq!(s.len(), 44);
/// ```
///
/// # Panics
/// If the operating system's generator fails (a broken system: no secret is better than a
/// weak one). It is called when configuring, never while serving.
#[must_use]
pub fn generate_secret() -> String {
    let mut bytes = Zeroizing::new([0u8; SECRET_LEN]);
    getrandom::fill(bytes.as_mut()).expect("the operating system's random generator failed");
    base64::engine::general_purpose::STANDARD.encode(bytes.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn algorithms_display_as_their_configuration_names() {
        let shown: Vec<String> = Algorithm::ALL.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["xaes-256-gcm", "aes-256-gcm", "chacha20-poly1305"]);
        for a in Algorithm::ALL {
            assert_eq!(a.to_string().parse::<Algorithm>(), Ok(a));
        }
    }

    #[test]
    fn unknown_algorithm_names_the_value_and_the_expected_ones() {
        let err = "aes-128-gcm".parse::<Algorithm>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown algorithm `aes-128-gcm`; expected one of `xaes-256-gcm`, `aes-256-gcm`, \
             `chacha20-poly1305`"
        );
    }

    #[test]
    fn key_ids_display_as_their_number() {
        assert_eq!(KeyId(0).to_string(), "0");
        assert_eq!(KeyId(255).to_string(), "255");
    }

    /// The documentation's old sample secret (the bytes 0 to 31) in base64.
    const PUBLISHED_B64: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn a_published_secret_is_refused_and_one_differing_from_it_is_accepted() {
        use base64::engine::general_purpose::STANDARD;
        assert!(matches!(
            decode_secret(KeyId(3), PUBLISHED_B64),
            Err(ConfigError::SampleSecret { id: 3 })
        ));
        // Two bytes changed by the same bit: a check that XORs the differences together
        // instead of ORing them would call this secret published.
        let mut near = PUBLISHED_SECRETS[0];
        near[0] ^= 0x40;
        near[31] ^= 0x40;
        let decoded = decode_secret(KeyId(3), &STANDARD.encode(near)).unwrap();
        assert_eq!(*decoded, near);
    }

    #[test]
    fn a_secret_decodes_to_its_32_bytes_in_either_alphabet_and_other_lengths_are_refused() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        // 0xfb repeated is `+/v7…` in the standard alphabet, `-_v7…` in the URL-safe one.
        let secret = [0xfbu8; SECRET_LEN];
        for given in [STANDARD.encode(secret), URL_SAFE_NO_PAD.encode(secret)] {
            assert_eq!(*decode_secret(KeyId(1), &given).unwrap(), secret, "{given}");
        }
        assert!(matches!(
            decode_secret(KeyId(1), &STANDARD.encode([7u8; 31])),
            Err(ConfigError::SecretLength { id: 1, len: 31 })
        ));
        assert!(matches!(
            decode_secret(KeyId(1), "not base64!"),
            Err(ConfigError::SecretNotBase64 { id: 1 })
        ));
    }

    #[test]
    fn generated_secrets_are_32_fresh_bytes_in_standard_base64() {
        use base64::engine::general_purpose::STANDARD;
        let a = generate_secret();
        let b = generate_secret();
        assert_eq!(STANDARD.decode(&a).unwrap().len(), SECRET_LEN);
        assert_ne!(a, b);
        assert!(decode_secret(KeyId(1), &a).is_ok());
    }
}
