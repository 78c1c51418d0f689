//! [`Outcome`]: what a response must do with the cookie and the store once the handler is done.

use std::time::Duration;

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

/// A record to write (server mode).
pub(crate) struct Save {
    pub key: RecordKey,
    pub record: Vec<u8>,
    pub ttl: Duration,
}

/// Store calls to make before the response goes out (server mode).
pub(crate) struct StoreOps {
    pub store: SharedStore,
    /// Records to delete first (after `cycle` or `flush`).
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
