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

use crate::codec;
use crate::cookies::{Candidates, Lifetime, RawCookies};
use crate::data::SessionData;
use crate::error::{DataError, Error, RejectReason};
use crate::keys::KeyRing;
use crate::seal::Sealer;
use crate::store::{RecordKey, SessionStore, SESSION_ID_LEN};
use crate::time::{unix_seconds, Clock};

/// What the session layer needs to open and seal: shared by every request of a layer.
pub(crate) struct Engine {
    pub ring: ArcSwap<KeyRing>,
    pub sealer: Sealer,
    pub clock: Arc<dyn Clock>,
    /// `Some`: server mode, the cookie carries a sealed id of a record in this store.
    pub store: Option<Arc<dyn SessionStore>>,
    pub parse: CookieParser,
}

/// A server-mode session id.
pub(crate) type SessionId = [u8; SESSION_ID_LEN];

/// Server-mode state of one request.
#[derive(Default)]
struct ServerState {
    /// The id the cookie carried (and whose record was loaded), or the one issued.
    id: Option<SessionId>,
    /// Records to delete on the way out (after `cycle` or `flush`).
    delete: Vec<RecordKey>,
}

/// Finds our candidate values in the raw cookies; installed once per layer by the cookie
/// layer, so this layer never parses cookies itself.
pub(crate) type CookieParser = Box<dyn Fn(&RawCookies) -> Candidates + Send + Sync>;

enum Load {
    /// Not opened yet.
    Pending(Option<RawCookies>),
    /// Opened (or there was nothing to open).
    Done,
}

// Independent facts about one request's cookie; a state enum would have to spell out their
// combinations.
#[allow(clippy::struct_excessive_bools)]
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
    server: Option<ServerState>,
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

/// Store calls to make before the response goes out (server mode).
pub(crate) struct StoreOps {
    pub store: Arc<dyn SessionStore>,
    pub delete: Vec<RecordKey>,
    pub save: Option<(RecordKey, Vec<u8>, Duration)>,
}

/// What the response must do.
pub(crate) struct Outcome {
    pub cookie: CookieOp,
    pub store: Option<StoreOps>,
}

impl Outcome {
    fn cookie(cookie: CookieOp) -> Self {
        Outcome {
            cookie,
            store: None,
        }
    }
}

/// The longest TTL given to a store record (when no timeout is configured): as long as the
/// longest cookie lifetime browsers honour, since the id cookie cannot outlive that.
const MAX_TTL: Duration = Duration::from_secs(crate::cookies::MAX_AGE_CAP);

impl Session {
    /// A client-mode session, opened lazily from `cookies`.
    pub(crate) fn new(engine: Arc<Engine>, cookies: Option<RawCookies>) -> Self {
        Self::from_inner(Some(engine), Load::Pending(cookies))
    }

    /// A server-mode session whose id cookie was already looked at: `id` is the id it carried
    /// (its record still to be loaded with [`Session::apply_record`]).
    pub(crate) fn new_server(engine: Arc<Engine>, found: &Candidates) -> (Self, Option<RecordKey>) {
        let session = Self::from_inner(Some(engine), Load::Done);
        let key = {
            let mut inner = session.lock();
            inner.server = Some(ServerState::default());
            inner.open_id(found);
            inner
                .server
                .as_ref()
                .and_then(|s| s.id)
                .map(|id| RecordKey::of_id(&id))
        };
        (session, key)
    }

    /// Installs the record loaded for the id (server mode).
    pub(crate) fn apply_record(&self, record: Option<Vec<u8>>) {
        self.lock().apply_record(record);
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
                server: None,
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
        if let Load::Pending(cookies) = &mut inner.load {
            let loader = cookies.take();
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
        inner.retire_id();
        inner.data = SessionData::new();
        inner.data.mark_dirty();
    }

    /// Starts a new session lifetime with the same entries: a new `created_at` (so the
    /// absolute timeout counts from now) and a fresh nonce. Call it on login and on any
    /// privilege change.
    ///
    /// In server mode the session also gets a new id and the old record is deleted
    /// (protection against session fixation).
    pub fn cycle(&self) {
        let mut inner = self.loaded();
        inner.retire_id();
        inner.data.renew_created();
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
    pub(crate) fn finish(&self) -> (Result<Outcome, Error>, bool, u32) {
        let mut inner = self.lock();
        if !inner.accessed {
            return (Ok(Outcome::cookie(CookieOp::Keep)), false, 0);
        }
        let outcome = if inner.server.is_some() {
            inner.outcome_server()
        } else {
            inner.outcome()
        };
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

    fn open(&mut self, cookies: Option<RawCookies>) {
        let Some(cookies) = cookies else { return };
        let (Some(engine), Some(ring)) = (self.engine.clone(), self.ring()) else {
            return;
        };
        let candidates = (engine.parse)(&cookies);
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
                        tracing::debug!(
                            key_id = opened.key_id.0,
                            "session sealed with a non-primary key; re-sealing"
                        );
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

    /// `Max-Age`/`Expires` for the session's `expires_at` as of `now` (`None`: no expiry).
    fn lifetime(&self, now: SystemTime) -> Option<Lifetime> {
        match self.data.expires_at() {
            0 => None,
            e => Some(Lifetime::new(unix_seconds(now), e)),
        }
    }

    fn outcome(&mut self) -> Result<Outcome, Error> {
        let Some(engine) = self.engine.clone() else {
            return Ok(Outcome::cookie(CookieOp::Keep));
        };
        if self.data.is_empty() {
            // Empty sessions are never sent; a cookie that came in is removed.
            let had_cookie = self.had_valid || self.had_invalid || self.present != 0;
            return Ok(Outcome::cookie(if had_cookie {
                CookieOp::Remove
            } else {
                CookieOp::Keep
            }));
        }
        if !(self.data.is_dirty() || self.needs_reseal || self.needs_renewal) {
            return Ok(Outcome::cookie(CookieOp::Keep));
        }
        let Some(ring) = self.ring() else {
            return Ok(Outcome::cookie(CookieOp::Keep));
        };
        let now = self.now();
        let value = engine.sealer.seal_data(&ring, &mut self.data, now)?;
        let lifetime = self.lifetime(now);
        Ok(Outcome::cookie(CookieOp::Set { value, lifetime }))
    }

    /// Server mode: opens the first candidate that is a sealed session id.
    fn open_id(&mut self, found: &Candidates) {
        self.present = found.present;
        for &reason in &found.rejected {
            self.had_invalid = true;
            trace_rejection(reason);
        }
        let (Some(engine), Some(ring)) = (self.engine.clone(), self.ring()) else {
            return;
        };
        let now = self.now();
        let name = engine.sealer.name();
        let max = engine.sealer.max_value_len();
        for value in &found.values {
            let opened = codec::open(&ring, name, value, now, max).and_then(|o| {
                let id: SessionId = o
                    .plaintext()
                    .try_into()
                    .map_err(|_| RejectReason::Malformed)?;
                Ok((id, !o.is_primary()))
            });
            match opened {
                Ok((id, needs_reseal)) => {
                    self.had_invalid = false;
                    self.needs_reseal = needs_reseal;
                    if let Some(server) = &mut self.server {
                        server.id = Some(id);
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

    /// Server mode: the record of the id arrived (or did not exist).
    fn apply_record(&mut self, record: Option<Vec<u8>>) {
        let Some(engine) = self.engine.clone() else {
            return;
        };
        let now = self.now();
        let checked = record
            // The loaded buffer becomes the session's backing store, as in client mode.
            .and_then(|r| {
                let len = r.len();
                SessionData::decode_payload_in(r, 0..len)
            })
            .ok_or(None)
            .and_then(|data| match engine.sealer.check_expiry(&data, now) {
                Ok(renew) => Ok((data, renew)),
                Err(reason) => Err(Some(reason)),
            });
        match checked {
            Ok((data, renew)) => {
                self.data = data;
                self.had_valid = true;
                self.needs_renewal = renew;
            }
            Err(reason) => {
                // No record (expired, deleted, revoked) or an unusable one: a new session
                // with a new id; the old id is never reused.
                if let Some(reason) = reason {
                    trace_rejection(reason);
                }
                tracing::debug!("no live record for the session id; starting a new session");
                self.retire_id();
                self.had_invalid = true;
                self.needs_reseal = false;
            }
        }
    }

    /// Server mode: the current id will be deleted and a new one issued on the next write.
    fn retire_id(&mut self) {
        if let Some(server) = &mut self.server {
            if let Some(id) = server.id.take() {
                server.delete.push(RecordKey::of_id(&id));
            }
        }
    }

    fn outcome_server(&mut self) -> Result<Outcome, Error> {
        let (Some(engine), Some(ring)) = (self.engine.clone(), self.ring()) else {
            return Ok(Outcome::cookie(CookieOp::Keep));
        };
        let Some(store) = engine.store.clone() else {
            return Ok(Outcome::cookie(CookieOp::Keep));
        };
        let now = self.now();
        if self.data.is_empty() {
            self.retire_id();
        }
        let server = self.server.get_or_insert_with(ServerState::default);
        let delete = std::mem::take(&mut server.delete);
        if self.data.is_empty() {
            let cookie = if self.present != 0 {
                CookieOp::Remove
            } else {
                CookieOp::Keep
            };
            return Ok(Outcome {
                cookie,
                store: (!delete.is_empty()).then_some(StoreOps {
                    store,
                    delete,
                    save: None,
                }),
            });
        }
        let new_id = server.id.is_none();
        let write = new_id || self.data.is_dirty() || self.needs_renewal;
        let id = *server.id.get_or_insert_with(new_session_id);
        let save = if write {
            engine.sealer.stamp(&mut self.data, now);
            let mut record = Vec::new();
            let created = self.data.created_at().unwrap_or_else(|| unix_seconds(now));
            self.data
                .encode_payload(created, self.data.expires_at(), &mut record)
                .map_err(|source| DataError::Encode {
                    key: String::new(),
                    source,
                })?;
            let ttl = self.lifetime(now).map_or(MAX_TTL, |l| {
                Duration::from_secs(l.max_age())
                    .saturating_add(engine.sealer.policy().skew)
                    .min(MAX_TTL)
            });
            Some((RecordKey::of_id(&id), record, ttl))
        } else {
            None
        };
        let cookie = if new_id || self.needs_reseal || self.needs_renewal {
            let value = codec::seal(&ring, engine.sealer.name(), now, &id)?;
            CookieOp::Set {
                value,
                lifetime: self.lifetime(now),
            }
        } else {
            CookieOp::Keep
        };
        let store = (save.is_some() || !delete.is_empty()).then_some(StoreOps {
            store,
            delete,
            save,
        });
        Ok(Outcome { cookie, store })
    }
}

/// 128 bits from the thread-local CSPRNG.
fn new_session_id() -> SessionId {
    use rand::Rng as _;
    let mut id = [0u8; SESSION_ID_LEN];
    rand::rng().fill_bytes(&mut id);
    id
}

/// Every rejection reaches `tracing` with its reason; expiry is routine (`debug`), the rest
/// may be an attack or a misconfiguration (`info`).
fn trace_rejection(reason: RejectReason) {
    if let RejectReason::Expired(_) = reason {
        tracing::debug!(
            reason = reason.as_str(),
            "session cookie rejected: {reason}"
        );
    } else {
        tracing::info!(
            reason = reason.as_str(),
            "session cookie rejected: {reason}"
        );
    }
}
