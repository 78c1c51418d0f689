//! CSRF tokens (the synchronizer-token pattern, as Django does it): a per-session secret,
//! handed out masked differently on every call, verified in constant time. The tower layer
//! that enforces them is [`CsrfLayer`](crate::csrf::CsrfLayer).
//!
//! - The secret is 32 bytes from the operating system's generator, created on the first
//!   [`Session::csrf_token`] and kept in the session under the reserved key [`CSRF_KEY`].
//! - Each token is `base64url(mask ‖ (mask XOR secret))` with a fresh random 32-byte `mask`:
//!   86 characters, different on every call, so a page that reflects the token next to
//!   attacker-chosen text gives a compression side channel (BREACH) nothing stable to find.
//! - [`Session::verify_csrf`] unmasks and compares with the secret in constant time
//!   (`subtle`); a session without a secret accepts no token.
//! - [`Session::cycle`] (login) replaces the secret with a fresh one (when there was one):
//!   tokens handed out before it stop working.
//!
//! # Example
//! ```
//! use sealed_session::Session;
//! let session = Session::detached();
//! let a = session.csrf_token()?;
//! let b = session.csrf_token()?;
//! assert_ne!(a, b); // masked differently
//! assert!(session.verify_csrf(&a).is_ok() && session.verify_csrf(&b).is_ok());
//! assert!(Session::detached().verify_csrf(&a).is_err()); // another session
//! session.cycle(); // login: a new secret
//! assert!(session.verify_csrf(&a).is_err());
//! # Ok::<(), sealed_session::Error>(())
//! ```

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_bytes::ByteBuf;
use subtle::ConstantTimeEq;

use super::{Session, CSRF_KEY};
use crate::data::SessionData;
use crate::error::Error;

/// Length of the CSRF secret and of each mask, in bytes.
pub(crate) const SECRET_LEN: usize = 32;

/// Length of a token in characters: base64url of `2 × SECRET_LEN` bytes, without padding.
pub const CSRF_TOKEN_LEN: usize = (2 * SECRET_LEN * 4).div_ceil(3);

const _: () = assert!(CSRF_TOKEN_LEN == 86);

/// Why a CSRF token was refused. `Copy`; [`as_str`](Self::as_str) gives a stable name for
/// logs, `Display` a reason for people (sent in the 403 body by
/// [`CsrfLayer`](crate::csrf::CsrfLayer)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CsrfReject {
    /// The request carried no token.
    Missing,
    /// The token is not 86 base64url characters.
    Malformed,
    /// The session has no CSRF secret (it expired or was flushed, or never had a token
    /// handed out): no token can match.
    NoSecret,
    /// The token was made for another secret (another session, or before a `cycle`, which
    /// renews the secret).
    Mismatch,
}

impl CsrfReject {
    /// A stable name for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            CsrfReject::Missing => "csrf_missing",
            CsrfReject::Malformed => "csrf_malformed",
            CsrfReject::NoSecret => "csrf_no_secret",
            CsrfReject::Mismatch => "csrf_mismatch",
        }
    }

    /// The reason for people, as `Display` writes it (and the 403 body says).
    ///
    /// ```
    /// use sealed_session::session::CsrfReject;
    /// assert!(CsrfReject::Missing.message().starts_with("CSRF token missing"));
    /// ```
    pub fn message(self) -> &'static str {
        match self {
            CsrfReject::Missing => {
                "CSRF token missing: send the token from `csrf_token()` in the X-CSRF-Token header \
                 or the `csrf_token` form field"
            }
            CsrfReject::Malformed => {
                "CSRF token malformed: expected the 86-character token from `csrf_token()`"
            }
            CsrfReject::NoSecret => {
                "CSRF token not valid for this session (the session has no CSRF secret; it may \
                 have expired or ended): reload the page"
            }
            CsrfReject::Mismatch => {
                "CSRF token not valid for this session (it was issued to another session, or \
                 before login): reload the page"
            }
        }
    }
}

impl fmt::Display for CsrfReject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for CsrfReject {}

/// `mask ‖ (mask XOR secret)`, base64url.
pub(crate) fn mask_token(secret: &[u8; SECRET_LEN], mask: &[u8; SECRET_LEN]) -> String {
    let mut raw = [0u8; 2 * SECRET_LEN];
    let (m, x) = raw.split_at_mut(SECRET_LEN);
    m.copy_from_slice(mask);
    for ((out, s), k) in x.iter_mut().zip(secret).zip(mask) {
        *out = s ^ k;
    }
    URL_SAFE_NO_PAD.encode(raw)
}

/// Whether `token` unmasks to `secret`, in time independent of the secret and the token's
/// bytes (only its length, which is public, is checked early).
pub(crate) fn token_matches(secret: &[u8], token: &str) -> Result<(), CsrfReject> {
    if token.len() != CSRF_TOKEN_LEN {
        return Err(CsrfReject::Malformed);
    }
    let raw = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| CsrfReject::Malformed)?;
    let (Some((mask, masked)), true) =
        (raw.split_at_checked(SECRET_LEN), secret.len() == SECRET_LEN)
    else {
        return Err(CsrfReject::Malformed);
    };
    let mut unmasked = [0u8; SECRET_LEN];
    for ((out, m), k) in unmasked.iter_mut().zip(masked).zip(mask) {
        *out = m ^ k;
    }
    if bool::from(unmasked.ct_eq(secret)) {
        Ok(())
    } else {
        Err(CsrfReject::Mismatch)
    }
}

/// Replaces the CSRF secret of `data`, if it has one, with a fresh one ([`Session::cycle`]);
/// drops it should the OS generator fail (the next `csrf_token` makes one).
pub(crate) fn renew_secret(data: &mut SessionData) {
    if !data.contains(CSRF_KEY) {
        return;
    }
    data.remove(CSRF_KEY);
    if let Ok(secret) = random::<SECRET_LEN>() {
        // A byte string encodes without fail; if it did not, the secret stays dropped.
        let _ = data.insert(CSRF_KEY, &ByteBuf::from(secret.to_vec()));
    }
}

fn random<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|_| Error::Seal)?;
    Ok(bytes)
}

impl Session {
    /// A CSRF token for this session, masked differently on every call: put it in the page
    /// (a `<meta>` tag for scripts, a hidden form field) and send it back in the
    /// `X-CSRF-Token` header of unsafe requests (see [`CsrfLayer`](crate::csrf::CsrfLayer)).
    /// The first call creates the session's secret (32 bytes from the OS generator), which
    /// makes the session send a cookie.
    ///
    /// Something other than a secret under [`CSRF_KEY`] (a handler used the reserved key) is
    /// replaced by a new secret, with a warning: an error here, propagated with `?`, would
    /// answer every page 500, and a 5xx response saves nothing, so it would never go away.
    ///
    /// # Errors
    /// [`Error::Seal`] if the OS random generator fails.
    pub fn csrf_token(&self) -> Result<String, Error> {
        let secret = if let Some(secret) = self.csrf_secret() {
            secret
        } else {
            let secret = random::<SECRET_LEN>()?;
            self.insert(CSRF_KEY, &ByteBuf::from(secret.to_vec()))?;
            secret
        };
        Ok(mask_token(&secret, &random::<SECRET_LEN>()?))
    }

    /// Checks a token from [`csrf_token`](Self::csrf_token) against this session's secret, in
    /// constant time.
    ///
    /// # Errors
    /// The [`CsrfReject`] reason: [`Malformed`](CsrfReject::Malformed),
    /// [`NoSecret`](CsrfReject::NoSecret) or [`Mismatch`](CsrfReject::Mismatch).
    pub fn verify_csrf(&self, token: &str) -> Result<(), CsrfReject> {
        let secret = self.csrf_secret().ok_or(CsrfReject::NoSecret)?;
        token_matches(&secret, token.trim())
    }

    /// The session's CSRF secret, if it has one: a byte string of the right length. Anything
    /// else under the key is no secret (and is replaced by the next `csrf_token`).
    fn csrf_secret(&self) -> Option<[u8; SECRET_LEN]> {
        let stored: Option<ByteBuf> = self.get(CSRF_KEY).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "an unreadable CSRF secret is ignored");
            None
        });
        stored.and_then(|b| <[u8; SECRET_LEN]>::try_from(b.as_slice()).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_masked_token_always_verifies(secret in any::<[u8; 32]>(), mask in any::<[u8; 32]>()) {
            let token = mask_token(&secret, &mask);
            prop_assert_eq!(token.len(), CSRF_TOKEN_LEN);
            prop_assert_eq!(token_matches(&secret, &token), Ok(()));
        }

        #[test]
        fn a_token_of_another_secret_never_verifies(
            a in any::<[u8; 32]>(),
            b in any::<[u8; 32]>(),
            mask in any::<[u8; 32]>(),
        ) {
            prop_assume!(a != b);
            prop_assert_eq!(token_matches(&a, &mask_token(&b, &mask)), Err(CsrfReject::Mismatch));
        }

        #[test]
        fn any_string_is_refused_without_panicking(secret in any::<[u8; 32]>(), token in ".{0,100}") {
            prop_assert!(token_matches(&secret, &token).is_err());
        }
    }

    #[test]
    fn a_flipped_character_is_refused() {
        let secret = [7u8; 32];
        let token = mask_token(&secret, &[9u8; 32]);
        for i in 0..token.len() {
            let mut bytes = token.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let flipped = String::from_utf8(bytes).unwrap();
            assert!(token_matches(&secret, &flipped).is_err(), "position {i}");
        }
    }

    /// A foreign value under the key (a handler used the reserved name) is no secret: the
    /// next token replaces it, instead of an error that `?` turned into a 500 on every page
    /// (and a 500 saves nothing, so the value stayed).
    #[test]
    fn a_foreign_value_under_the_key_is_replaced_by_a_secret() {
        let s = Session::detached();
        s.insert(CSRF_KEY, &7u32).unwrap();
        assert_eq!(s.verify_csrf(&"A".repeat(86)), Err(CsrfReject::NoSecret));
        let t = s.csrf_token().unwrap();
        assert_eq!(s.verify_csrf(&t), Ok(()));
        assert!(s.csrf_secret().is_some());
    }

    #[test]
    fn cycle_renews_the_secret_and_flush_drops_it() {
        let s = Session::detached();
        let t = s.csrf_token().unwrap();
        assert_eq!(s.verify_csrf(&t), Ok(()));
        let old = s.csrf_secret().unwrap();
        s.cycle();
        // Refused: a new secret is in place (not none, which would let pages opened
        // together after login each make their own).
        assert_eq!(s.verify_csrf(&t), Err(CsrfReject::Mismatch));
        assert_ne!(s.csrf_secret(), Some(old));
        assert!(s.csrf_secret().is_some());
        let t = s.csrf_token().unwrap();
        assert_eq!(s.verify_csrf(&t), Ok(()));
        s.flush();
        assert_eq!(s.verify_csrf(&t), Err(CsrfReject::NoSecret));
        // A session that had no secret gets none from `cycle`.
        s.cycle();
        assert!(!s.contains(CSRF_KEY));
    }
}
