//! [`Outcome`]: what a response must do with the cookie and the store once the handler is done.

use super::merge::{Save, Written};
use crate::cookies::{ChunkSet, Lifetime};
use crate::store::{RecordKey, SharedStore};

/// What the response must do with the cookie.
#[derive(Debug)]
pub(crate) enum CookieOp {
    /// Leave the client's cookie as it is.
    Keep,
    /// Send this sealed value; `lifetime` from the session's expiry (`None`: no expiry).
    Set {
        value: String,
        lifetime: Option<Lifetime>,
    },
    /// Remove our cookies.
    Remove,
}

impl CookieOp {
    /// The cookie to send once the store call ended as `written`, this one having been
    /// decided before it.
    pub fn after(self, written: &Written) -> CookieOp {
        match (written, self) {
            // Never hand out the id of a record that is gone, nor remove a cookie that may
            // already be the one of a new session.
            // And when this request emptied its copy, but other requests' keys remain.
            (Written::Dropped, _)
            | (Written::Stored | Written::Merged { .. }, CookieOp::Remove) => CookieOp::Keep,
            // Merged onto others' removals, the session came out empty and its record was
            // deleted: the cookie goes too, rather than naming a record that is gone.
            (Written::Deleted, CookieOp::Set { .. }) => CookieOp::Remove,
            // The cookie lives as long as the merged session does (another request may have
            // chosen "remember me", or a browser-session cookie, meanwhile).
            (Written::Merged { lifetime }, CookieOp::Set { value, .. }) => CookieOp::Set {
                value,
                lifetime: *lifetime,
            },
            (_, decided) => decided,
        }
    }
}

/// Store calls to make before the response goes out (server mode).
pub(crate) struct StoreOps {
    pub store: SharedStore,
    /// Records to delete once the save is done (after `cycle` or `flush`).
    pub delete: Vec<RecordKey>,
    pub save: Option<Save>,
}

/// What the response of a request that used its session must do.
pub(crate) struct Outcome {
    pub cookie: CookieOp,
    pub store: Option<StoreOps>,
    /// Our cookies the request carried (chunks no longer used are removed).
    pub present: ChunkSet,
}

impl Outcome {
    pub fn cookie(cookie: CookieOp, present: ChunkSet) -> Self {
        Outcome {
            cookie,
            store: None,
            present,
        }
    }
}
