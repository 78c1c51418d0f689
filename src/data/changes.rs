//! The change log of a `SessionData`: which keys a request set or removed, whether it
//! cleared the entries, and which header fields it changed. Server mode applies exactly these
//! changes to the latest stored record when another request wrote it meanwhile (a [`Patch`];
//! `SessionData::patch` makes one, `SessionData::apply` applies it).

use super::expiry::SessionExpiry;

/// What changed since the data was opened (or created).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Keys set or removed, each once, in the order first touched: one buffer of
    /// length-prefixed keys (the length as a native-endian `usize`, then the key), so that
    /// recording changes allocates once per request, not once per key.
    keys: Vec<u8>,
    /// Every entry was removed ([`SessionData::clear`]) before the keys above were touched.
    pub(super) cleared: bool,
    /// The per-session expiry choice was changed.
    pub(super) expiry: bool,
    /// The auth-stamp check time was changed.
    pub(super) validated: bool,
}

impl Changes {
    pub(crate) fn key(&mut self, key: &str) {
        if !self.keys().any(|k| k == key) {
            // One allocation for the first few keys, not a growth per `extend`.
            let len = size_of::<usize>() + key.len();
            self.keys.reserve(len.max(64));
            self.keys.extend_from_slice(&key.len().to_ne_bytes());
            self.keys.extend_from_slice(key.as_bytes());
        }
    }

    /// The keys set or removed, in the order first touched.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        let mut rest = self.keys.as_slice();
        std::iter::from_fn(move || {
            let (len, tail) = rest.split_first_chunk::<{ size_of::<usize>() }>()?;
            let len = usize::from_ne_bytes(*len);
            let (key, tail) = tail.split_at_checked(len)?;
            rest = tail;
            // Written from a `&str` by `key`.
            std::str::from_utf8(key).ok()
        })
    }

    pub(crate) fn clear(&mut self) {
        self.keys.clear();
        self.cleared = true;
    }

    pub(crate) fn expiry(&mut self) {
        self.expiry = true;
    }

    pub(crate) fn validated(&mut self) {
        self.validated = true;
    }
}

/// The changes of one request with their values, to apply to another copy of the session.
#[derive(Clone, Debug, Default)]
pub(crate) struct Patch {
    pub(super) cleared: bool,
    /// Each key with its encoded value (`None`: removed).
    pub(super) entries: Vec<(String, Option<Vec<u8>>)>,
    /// The expiry choice was changed (to `expiry`).
    pub(super) set_expiry: bool,
    pub(super) expiry: Option<SessionExpiry>,
    /// The auth-stamp check time was changed (to `validated_at`).
    pub(super) set_validated_at: bool,
    pub(super) validated_at: Option<u64>,
}
