//! The change log of a `SessionData`: which keys a request set or removed, whether it
//! cleared the entries, and which header fields it changed. Server mode applies exactly these
//! changes to the latest stored record when another request wrote it meanwhile (a [`Patch`];
//! `SessionData::patch` makes one, `SessionData::apply` applies it).

use super::expiry::SessionExpiry;

/// What changed since the data was opened (or created).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    /// Keys set or removed, each once, in the order first touched.
    pub(super) keys: Vec<String>,
    /// Every entry was removed ([`SessionData::clear`]) before the keys above were touched.
    pub(super) cleared: bool,
    /// The per-session expiry choice was changed.
    pub(super) expiry: bool,
    /// The auth-stamp check time was changed.
    pub(super) validated: bool,
}

impl Changes {
    pub(crate) fn key(&mut self, key: &str) {
        if !self.keys.iter().any(|k| k == key) {
            self.keys.push(key.to_owned());
        }
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
