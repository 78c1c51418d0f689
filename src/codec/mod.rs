//! Wire format v1: seal and open bytes under a key ring, bound to a cookie name.
//!
//! ```text
//! value     = base64url_nopad( header ‖ nonce ‖ ciphertext ‖ tag )
//! header    = version:u8 (= 1) ‖ key_id:u8
//! nonce     = 24 bytes (xaes-256-gcm) or 12 bytes (aes-256-gcm, chacha20-poly1305),
//!             from a thread-local CSPRNG seeded by the OS
//! tag       = 16 bytes
//! AAD       = header ‖ cookie name        (a value moved to another cookie name fails)
//! ```
//!
//! The algorithm is not on the wire: it belongs to the key the id names. This layer knows
//! nothing of sessions or HTTP; [`Sealer`](crate::seal::Sealer), the only caller, puts the
//! session payload (or a server-mode id or record) inside. The module is crate-private: the
//! wire format is described in `SECURITY.md`, and its constants are not API.
//!
//! [`open`] works in this order and stops at the first failure: length cap (before any
//! decoding), strict base64url (no padding, no non-canonical trailing bits), version, key id
//! (an unknown id fails closed; no other key is tried), length of nonce and tag, then exactly
//! one AEAD open. Nothing is allocated beyond the capped input length.

mod header;

use std::time::SystemTime;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

#[cfg(test)]
use header::VERSION;
pub(crate) use header::{Header, HEADER_LEN};

use crate::error::{Error, RejectReason};
use crate::keys::{KeyId, KeyRing, TAG_LEN};

use crate::limits::MAX_SEALED_LEN;

/// An authenticated, decrypted value. Its `Debug` shows lengths and the key, never the
/// decrypted bytes.
pub(crate) struct Opened {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    key_id: KeyId,
    is_primary: bool,
}

impl std::fmt::Debug for Opened {
    /// The plaintext is the decrypted session (tokens, personal data): lengths only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("plaintext_len", &(self.end - self.start))
            .field("buf_len", &self.buf.len())
            .field("key_id", &self.key_id)
            .field("is_primary", &self.is_primary)
            .finish()
    }
}

impl Opened {
    /// The plaintext.
    #[must_use]
    pub(crate) fn plaintext(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// The decrypted buffer and the range of the plaintext in it (the buffer also holds the
    /// header and nonce before it and the tag after it), to keep it without a copy.
    #[must_use]
    pub(crate) fn into_parts(self) -> (Vec<u8>, std::ops::Range<usize>) {
        (self.buf, self.start..self.end)
    }

    /// The key that sealed it.
    #[must_use]
    pub(crate) fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Whether that key is the primary at the time of opening. If not, the value should be
    /// re-sealed under the primary.
    #[must_use]
    pub(crate) fn is_primary(&self) -> bool {
        self.is_primary
    }
}

/// Seals `plaintext` under the primary key at `now`, bound to cookie `name`.
///
/// # Errors
/// [`Error::Seal`] only if the AEAD refuses the length (gigabytes).
pub(crate) fn seal(
    ring: &KeyRing,
    name: &str,
    now: SystemTime,
    plaintext: &[u8],
) -> Result<String, Error> {
    seal_with(ring, name, now, None, plaintext.len(), |buf| {
        buf.extend_from_slice(plaintext);
        Ok(())
    })
}

/// Calls `f` with the AAD `header ‖ name`, on the stack for names up to 62 bytes.
fn with_aad<R>(header: &[u8], name: &str, f: impl FnOnce(&[u8]) -> R) -> R {
    const STACK: usize = 64;
    let total = header.len() + name.len();
    if total <= STACK {
        let mut aad = [0u8; STACK];
        aad[..header.len()].copy_from_slice(header);
        aad[header.len()..total].copy_from_slice(name.as_bytes());
        f(&aad[..total])
    } else {
        f(&[header, name.as_bytes()].concat())
    }
}

/// Seals whatever `write` appends to the buffer (after `header ‖ nonce`), without an
/// intermediate copy of the plaintext. `fixed_nonce` is the test-only seam for golden vectors.
pub(crate) fn seal_with(
    ring: &KeyRing,
    name: &str,
    now: SystemTime,
    fixed_nonce: Option<&[u8]>,
    size_hint: usize,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
) -> Result<String, Error> {
    use rand::Rng as _;

    let key = ring.primary_at(now);
    let nonce_len = key.algorithm().nonce_len();
    let pt_start = HEADER_LEN + nonce_len;
    let mut buf = Vec::with_capacity(pt_start + size_hint + TAG_LEN);
    buf.extend_from_slice(&Header::encode(key.id()));
    buf.resize(pt_start, 0);
    match fixed_nonce {
        Some(n) if n.len() == nonce_len => buf[HEADER_LEN..].copy_from_slice(n),
        Some(_) => return Err(Error::Seal),
        None => rand::rng().fill_bytes(&mut buf[HEADER_LEN..]),
    }
    write(&mut buf)?;
    let (head, body) = buf.split_at_mut(pt_start);
    let (header, nonce) = head.split_at(HEADER_LEN);
    let tag = with_aad(header, name, |aad| {
        key.cipher.seal_in_place(nonce, aad, body)
    })
    .map_err(|_| Error::Seal)?;
    buf.extend_from_slice(&tag);
    Ok(URL_SAFE_NO_PAD.encode(&buf))
}

/// Opens a sealed value for cookie `name`, at `now` (which decides whether the key is the
/// primary), refusing values longer than `max_len` characters (capped at
/// [`MAX_SEALED_LEN`]) before decoding anything.
///
/// # Errors
/// The [`RejectReason`] of the first failed check (see the module docs for the order).
pub(crate) fn open(
    ring: &KeyRing,
    name: &str,
    value: &str,
    now: SystemTime,
    max_len: usize,
) -> Result<Opened, RejectReason> {
    if value.len() > max_len.min(MAX_SEALED_LEN) {
        return Err(RejectReason::Oversized);
    }
    let mut buf = Vec::with_capacity(value.len().div_ceil(4) * 3);
    URL_SAFE_NO_PAD
        .decode_vec(value, &mut buf)
        .map_err(|_| RejectReason::Malformed)?;
    let (header, rest) = Header::parse(&buf)?;
    let key = ring.get(header.key_id).ok_or(RejectReason::UnknownKey)?;
    let nonce_len = key.algorithm().nonce_len();
    if rest.len() < nonce_len + TAG_LEN {
        return Err(RejectReason::Malformed);
    }
    let start = HEADER_LEN + nonce_len;
    let end = buf.len() - TAG_LEN;
    let (head, body) = buf.split_at_mut(start);
    let (header_bytes, nonce) = head.split_at(HEADER_LEN);
    let (ciphertext, tag) = body.split_at_mut(end - start);
    with_aad(header_bytes, name, |aad| {
        key.cipher.open_in_place(nonce, aad, ciphertext, tag)
    })
    .map_err(|_| RejectReason::Unauthenticated)?;
    let is_primary = ring.primary_at(now).id() == header.key_id;
    Ok(Opened {
        buf,
        start,
        end,
        key_id: header.key_id,
        is_primary,
    })
}

#[cfg(test)]
mod tests;
