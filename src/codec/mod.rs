//! Wire format v2 (and v1, read only): seal and open bytes under a key ring, bound to what
//! they are for and to a cookie name (or a store record).
//!
//! ```text
//! value     = base64url_nopad( header ‖ nonce ‖ ciphertext ‖ tag )
//! header    = version:u8 (= 2; 1 is still opened) ‖ key_id:u8
//! nonce     = 24 bytes (xaes-256-gcm) or 12 bytes (aes-256-gcm, chacha20-poly1305),
//!             fresh from the operating system's generator for every seal
//! tag       = 16 bytes
//! AAD v2    = header ‖ purpose:u8 ‖ binding
//!             purpose 'c' client-mode session cookie, binding = cookie name
//!             purpose 'i' server-mode id cookie,      binding = cookie name
//!             purpose 'r' server-mode store record,   binding = the record key (32 bytes)
//! AAD v1    = header ‖ cookie name          (client cookies and id cookies alike)
//! ```
//!
//! A value moved to another cookie name, or from one purpose to another (a client cookie
//! replayed as a server-mode id, a record copied under another record key), fails
//! authentication. Version 1 values have no purpose byte: they are opened as client cookies
//! and as id cookies only (never as records), for the transition from the previous release.
//!
//! Nonces come from the OS generator (`getrandom`) on every seal, not from a user-space
//! generator whose state a `fork` or a VM snapshot restore would duplicate.
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

pub(crate) use header::{Header, HEADER_LEN, VERSION};

use crate::error::{Error, RejectReason};
use crate::keys::{KeyId, KeyRing, TAG_LEN};

use crate::limits::MAX_RECORD_LEN;

/// What a sealed value is for: part of its AAD (wire format v2), so a value sealed for one
/// purpose never opens as another.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Purpose {
    /// A client-mode session cookie; bound to the cookie name.
    Data,
    /// A server-mode id cookie; bound to the cookie name.
    Id,
    /// A server-mode store record; bound to its record key.
    Record,
}

impl Purpose {
    const fn byte(self) -> u8 {
        match self {
            Purpose::Data => b'c',
            Purpose::Id => b'i',
            Purpose::Record => b'r',
        }
    }

    /// Whether a version 1 value (no purpose in its AAD) may open as this purpose.
    const fn reads_v1(self) -> bool {
        matches!(self, Purpose::Data | Purpose::Id)
    }
}

/// An authenticated, decrypted value. Its `Debug` shows lengths and the key, never the
/// decrypted bytes.
pub(crate) struct Opened {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    key_id: KeyId,
    /// The wire format version it was sealed in.
    version: u8,
    is_primary: bool,
}

impl std::fmt::Debug for Opened {
    /// The plaintext is the decrypted session (tokens, personal data): lengths only.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("plaintext_len", &(self.end - self.start))
            .field("buf_len", &self.buf.len())
            .field("key_id", &self.key_id)
            .field("version", &self.version)
            .field("is_primary", &self.is_primary)
            .finish()
    }
}

impl Opened {
    /// The wire format version it was sealed in (1 or 2).
    #[must_use]
    pub(crate) fn version(&self) -> u8 {
        self.version
    }

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
    purpose: Purpose,
    binding: &[u8],
    now: SystemTime,
    plaintext: &[u8],
) -> Result<String, Error> {
    seal_with(ring, purpose, binding, now, None, plaintext.len(), |buf| {
        buf.extend_from_slice(plaintext);
        Ok(())
    })
}

/// Calls `f` with the AAD for a value whose header is `header`: `header ‖ purpose ‖ binding`
/// for version 2, `header ‖ binding` for version 1. On the stack for bindings up to 61 bytes.
fn with_aad<R>(header: &[u8], purpose: Purpose, binding: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
    const STACK: usize = 64;
    let mut head = [0u8; HEADER_LEN + 1];
    head[..HEADER_LEN].copy_from_slice(header);
    head[HEADER_LEN] = purpose.byte();
    let head: &[u8] = if header.first() == Some(&1) {
        &head[..HEADER_LEN]
    } else {
        &head
    };
    let total = head.len() + binding.len();
    if total <= STACK {
        let mut aad = [0u8; STACK];
        aad[..head.len()].copy_from_slice(head);
        aad[head.len()..total].copy_from_slice(binding);
        f(&aad[..total])
    } else {
        f(&[head, binding].concat())
    }
}

/// Seals whatever `write` appends to the buffer (after `header ‖ nonce`), without an
/// intermediate copy of the plaintext. `fixed_nonce` is the test-only seam for golden vectors.
pub(crate) fn seal_with(
    ring: &KeyRing,
    purpose: Purpose,
    binding: &[u8],
    now: SystemTime,
    fixed_nonce: Option<&[u8]>,
    size_hint: usize,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
) -> Result<String, Error> {
    seal_versioned(
        VERSION,
        ring,
        purpose,
        binding,
        now,
        fixed_nonce,
        size_hint,
        write,
    )
}

/// [`seal_with`] writing wire format `version`: this build writes [`VERSION`] only; the
/// fuzz targets write version 1 too, to reach its decoder.
#[allow(clippy::too_many_arguments)] // the parameters of `seal_with`, plus the version
pub(crate) fn seal_versioned(
    version: u8,
    ring: &KeyRing,
    purpose: Purpose,
    binding: &[u8],
    now: SystemTime,
    fixed_nonce: Option<&[u8]>,
    size_hint: usize,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), Error>,
) -> Result<String, Error> {
    let key = ring.primary_at(now);
    let nonce_len = key.algorithm().nonce_len();
    let pt_start = HEADER_LEN + nonce_len;
    let mut buf = Vec::with_capacity(pt_start + size_hint + TAG_LEN);
    buf.extend_from_slice(&Header::encode_version(version, key.id()));
    buf.resize(pt_start, 0);
    match fixed_nonce {
        Some(n) if n.len() == nonce_len => buf[HEADER_LEN..].copy_from_slice(n),
        Some(_) => return Err(Error::Seal),
        None => getrandom::fill(&mut buf[HEADER_LEN..]).map_err(|_| Error::Seal)?,
    }
    write(&mut buf)?;
    let (head, body) = buf.split_at_mut(pt_start);
    let (header, nonce) = head.split_at(HEADER_LEN);
    let tag = with_aad(header, purpose, binding, |aad| {
        key.cipher.seal_in_place(nonce, aad, body)
    })
    .map_err(|_| Error::Seal)?;
    buf.extend_from_slice(&tag);
    Ok(URL_SAFE_NO_PAD.encode(&buf))
}

/// Opens a value sealed for `purpose` and `binding`, at `now` (which decides whether the key
/// is the primary), refusing values longer than `max_len` characters (and, whatever it says,
/// longer than [`MAX_RECORD_LEN`]) before decoding anything. Cookie callers pass at most
/// [`MAX_SEALED_LEN`](crate::limits::MAX_SEALED_LEN).
///
/// # Errors
/// The [`RejectReason`] of the first failed check (see the module docs for the order).
pub(crate) fn open(
    ring: &KeyRing,
    purpose: Purpose,
    binding: &[u8],
    value: &str,
    now: SystemTime,
    max_len: usize,
) -> Result<Opened, RejectReason> {
    if value.len() > max_len.min(MAX_RECORD_LEN) {
        return Err(RejectReason::Oversized);
    }
    // Twice the decoded length: the opened buffer becomes the session's (`SessionData`), and
    // a handler that writes back values of the size it read appends them without growing it
    // (three reallocations per typical read+write before; issue 13).
    let mut buf = Vec::with_capacity(value.len().div_ceil(4) * 3 * 2);
    URL_SAFE_NO_PAD
        .decode_vec(value, &mut buf)
        .map_err(|_| RejectReason::Malformed)?;
    let (header, rest) = Header::parse(&buf)?;
    if header.version == 1 && !purpose.reads_v1() {
        return Err(RejectReason::UnknownVersion);
    }
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
    with_aad(header_bytes, purpose, binding, |aad| {
        key.cipher.open_in_place(nonce, aad, ciphertext, tag)
    })
    .map_err(|_| RejectReason::Unauthenticated)?;
    let is_primary = ring.primary_at(now).id() == header.key_id;
    Ok(Opened {
        buf,
        start,
        end,
        key_id: header.key_id,
        version: header.version,
        is_primary,
    })
}

#[cfg(test)]
mod tests;
