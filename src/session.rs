//! [`Session`]: the handle a handler uses, shared through request extensions.
//!
//! It is a cheap `Clone` (one `Arc`). The cookie is opened on first access, once; a handler
//! that never touches the session costs no decoding and sends no `Set-Cookie`. Every method
//! takes `&self`, so the handle can be cloned into tasks; a short internal lock guards it and
//! never spans user code other than `serde` (de)serialization.
//!
//! # Example
//! ```
//! use sealed_session::Session;
//! let session = Session::detached();
//! let count: u64 = session.get("visit_count")?.unwrap_or(0) + 1;
//! session.insert("visit_count", &count)?;
//! assert_eq!(session.get::<u64>("visit_count")?, Some(1));
//! # Ok::<(), sealed_session::DataError>(())
//! ```

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::data::SessionData;
use crate::error::{DataError, Error, RejectReason};
use crate::keys::KeyRing;
use crate::seal::Sealer;
use crate::time::{unix_seconds, Clock};

/// What the session layer needs to open and seal: shared by every request of a layer.
pub(crate) struct Engine {
    pub ring: ArcSwap<KeyRing>,
    pub sealer: Sealer,
    pub clock: Arc<dyn Clock>,
}

/// Produces the candidate sealed values of the request, on first access.
pub(crate) type Loader = Box<dyn FnOnce() -> Candidates + Send>;

/// Candidate values found in the request, and values rejected before any crypto.
#[derive(Default)]
pub(crate) struct Candidates {
    pub values: Vec<String>,
    pub rejected: Vec<RejectReason>,
    /// Opaque to this layer: which of our cookies the request carried (for clean-up).
    pub present: u32,
}

enum Load {
    /// Not opened yet.
    Pending(Option<Loader>),
    /// Opened (or there was nothing to open).
    Done,
}

struct Inner {
    engine: Option<Arc<Engine>>,
    /// The key ring this request uses from first access on (a reload mid-request does not
    /// change it).
    ring: Option<Arc<KeyRing>>,
    load: Load,
    data: SessionData,
    /// The handler read or wrote the session (the response gets `Vary: Cookie`).
    accessed: bool,
    /// A cookie was present and opened.
    had_valid: bool,
    /// [`Candidates::present`] of the request.
    present: u32,
    /// A cookie was present but rejected.
    had_invalid: bool,
    needs_reseal: bool,
    needs_renewal: bool,
}

/// The session of one request. Find it in the request extensions (or, with feature `axum`,
/// take it as an extractor).
#[derive(Clone)]
pub struct Session {
    inner: Arc<Mutex<Inner>>,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.lock();
        f.debug_struct("Session")
            .field("loaded", &matches!(inner.load, Load::Done))
            .field("keys", &inner.data.keys().collect::<Vec<_>>())
            .field("dirty", &inner.data.is_dirty())
            .finish_non_exhaustive()
    }
}

/// What the response must do with the cookie.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The handler never touched the session.
    Untouched,
    /// Read but unchanged: nothing to send.
    Unchanged,
    /// Send this sealed value; `max_age` is seconds until it expires.
    Set { value: String, max_age: Option<u64> },
    /// Remove our cookies.
    Remove,
    /// Sealing failed.
    Failed(Error),
}

impl Session {
    pub(crate) fn new(engine: Arc<Engine>, loader: Option<Loader>) -> Self {
        Self::from_inner(Some(engine), Load::Pending(loader))
    }

    /// A session not attached to any request or cookie: for unit-testing handlers. Nothing
    /// is ever sealed from it.
    #[must_use]
    pub fn detached() -> Self {
        Self::from_inner(None, Load::Done)
    }

    fn from_inner(engine: Option<Arc<Engine>>, load: Load) -> Self {
        Session {
            inner: Arc::new(Mutex::new(Inner {
                engine,
                ring: None,
                load,
                data: SessionData::new(),
                accessed: false,
                had_valid: false,
                present: 0,
                had_invalid: false,
                needs_reseal: false,
                needs_renewal: false,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic in a value's `Serialize` cannot leave `Inner` half-updated in a way that
        // matters: at worst one entry is missing. Keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks, opens the cookie if not done yet, and marks the session accessed.
    fn loaded(&self) -> MutexGuard<'_, Inner> {
        let mut inner = self.lock();
        inner.accessed = true;
        if let Load::Pending(loader) = &mut inner.load {
            let loader = loader.take();
            inner.load = Load::Done;
            inner.open(loader);
        }
        inner
    }

    /// Reads `key` as a `T`.
    ///
    /// # Errors
    /// [`DataError::Decode`] when another type was stored under `key`.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DataError> {
        self.loaded().data.get(key)
    }

    /// Stores `value` under `key`.
    ///
    /// # Errors
    /// [`DataError::Encode`] if postcard cannot encode the type.
    pub fn insert<T: Serialize + ?Sized>(
        &self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), DataError> {
        self.loaded().data.insert(key, value)
    }

    /// Removes `key`; returns whether it was there.
    pub fn remove(&self, key: &str) -> bool {
        self.loaded().data.remove(key)
    }

    /// Removes `key` and returns its value as a `T`.
    ///
    /// # Errors
    /// As [`Session::get`]; the entry is removed either way.
    pub fn take<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DataError> {
        self.loaded().data.take(key)
    }

    /// Removes every entry; the cookie stays (empty sessions are removed on the response).
    pub fn clear(&self) {
        self.loaded().data.clear();
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.loaded().data.contains(key)
    }

    /// The keys, sorted.
    pub fn keys(&self) -> Vec<String> {
        self.loaded().data.keys().map(str::to_owned).collect()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.loaded().data.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.loaded().data.is_empty()
    }

    /// Ends the session: removes every entry and the cookie (logout). Values inserted after
    /// `flush` in the same request start a new session.
    pub fn flush(&self) {
        let mut inner = self.loaded();
        inner.data = SessionData::new();
        inner.data.mark_dirty();
    }

    /// Starts a new session lifetime with the same entries: a new `created_at` (so the
    /// absolute timeout counts from now) and a fresh nonce. Call it on login and on any
    /// privilege change.
    pub fn cycle(&self) {
        self.loaded().data.renew_created();
    }

    /// Sets this session's idle timeout (`None`: back to the configured one). It travels
    /// inside the sealed value.
    pub fn set_expiry(&self, idle: Option<Duration>) {
        self.loaded().data.set_idle_timeout(idle);
    }

    /// A copy of the whole session data.
    pub fn data(&self) -> SessionData {
        self.loaded().data.clone()
    }

    /// Decides what the response must do, and seals if needed.
    ///
    /// Returns the outcome, whether the handler accessed the session, and which of our
    /// cookies the request carried.
    pub(crate) fn finish(&self) -> (Outcome, bool, u32) {
        let mut inner = self.lock();
        if !inner.accessed {
            return (Outcome::Untouched, false, 0);
        }
        let outcome = inner.outcome();
        (outcome, true, inner.present)
    }
}

impl Inner {
    fn now(&self) -> SystemTime {
        self.engine
            .as_ref()
            .map_or_else(SystemTime::now, |e| e.clock.now())
    }

    fn ring(&mut self) -> Option<Arc<KeyRing>> {
        if self.ring.is_none() {
            self.ring = self.engine.as_ref().map(|e| e.ring.load_full());
        }
        self.ring.clone()
    }

    fn open(&mut self, loader: Option<Loader>) {
        let Some(loader) = loader else { return };
        let (Some(engine), Some(ring)) = (self.engine.clone(), self.ring()) else {
            return;
        };
        let candidates = loader();
        self.present = candidates.present;
        for reason in candidates.rejected {
            self.had_invalid = true;
            trace_rejection(reason);
        }
        let now = self.now();
        for value in &candidates.values {
            match engine.sealer.open(&ring, value, now) {
                Ok(opened) => {
                    self.data = opened.data;
                    self.had_valid = true;
                    self.had_invalid = false;
                    self.needs_reseal = opened.needs_reseal;
                    self.needs_renewal = opened.needs_renewal;
                    if opened.needs_reseal {
                        tracing::debug!(key_id = opened.key_id.0, "session sealed with a non-primary key; re-sealing");
                    }
                    return;
                }
                Err(reason) => {
                    self.had_invalid = true;
                    trace_rejection(reason);
                }
            }
        }
    }

    fn outcome(&mut self) -> Outcome {
        let Some(engine) = self.engine.clone() else {
            return Outcome::Unchanged;
        };
        if self.data.is_empty() {
            // Empty sessions are never sent; a cookie that came in is removed.
            let had_cookie = self.had_valid || self.had_invalid || self.present != 0;
            return if had_cookie {
                Outcome::Remove
            } else {
                Outcome::Unchanged
            };
        }
        if !(self.data.is_dirty() || self.needs_reseal || self.needs_renewal) {
            return Outcome::Unchanged;
        }
        let Some(ring) = self.ring() else {
            return Outcome::Unchanged;
        };
        let now = self.now();
        match engine.sealer.seal_data(&ring, &mut self.data, now) {
            Ok(value) => {
                let max_age = match self.data.expires_at() {
                    0 => None,
                    e => Some(e.saturating_sub(unix_seconds(now))),
                };
                Outcome::Set { value, max_age }
            }
            Err(e) => Outcome::Failed(e),
        }
    }
}

fn trace_rejection(reason: RejectReason) {
    match reason {
        RejectReason::Expired(_) => {
            tracing::debug!(reason = reason.as_str(), "session cookie rejected: {reason}");
        }
        _ => tracing::info!(reason = reason.as_str(), "session cookie rejected: {reason}"),
    }
}
