//! [`Session`]: the handle a handler uses, shared through request extensions.
//!
//! It is a cheap `Clone` (one `Arc`). In client mode the cookie is opened on first access,
//! once; a handler that never touches the session costs no decoding and sends no
//! `Set-Cookie`. Every method takes `&self`, so the handle can be cloned into tasks; a short
//! internal lock guards it and never spans user code other than `serde` (de)serialization.
//! What is written once the handler has returned its response (from a spawned task, or a
//! streaming body) reaches neither the client nor the store: it is lost, and logged as lost.
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | the `Session` handle and its per-request state |
//! | `engine.rs` | `Engine`: what a layer shares with its requests |
//! | `client.rs` | client mode: open the cookie, decide the `Set-Cookie` |
//! | `server.rs` | server mode: the sealed id, the record, the store calls |
//! | `outcome.rs` | `Outcome`: what the response must do |
//! | `typed.rs` | `Typed`: one key as the application's own type |
//! | `csrf.rs` | CSRF tokens: `csrf_token`, `verify_csrf`, the secret under the reserved key `_csrf` |
//! | `flash.rs` | flash messages: `flash`, `take_flashes`, under the reserved key `_flash` |
//! | `stamp.rs` | per-user revocation: `set_auth_stamp` (reserved key `_auth`), the due check |
//! | `validator.rs` | `StampValidator` and a layer's revalidation settings |
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

mod client;
mod csrf;
mod engine;
mod flash;
mod merge;
mod outcome;
mod server;
mod stamp;
mod typed;
mod validator;

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, SystemTime};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::cookies::{Candidates, ChunkSet, Lifetime, RawCookies};
use crate::data::SessionData;
use crate::error::{DataError, Error, RejectReason};
use crate::reload::Live;
use crate::seal::SessionId;
use crate::store::RecordKey;
use crate::time::unix_seconds;

pub use crate::data::SessionExpiry;
pub use csrf::{CsrfReject, CSRF_TOKEN_LEN};
pub(crate) use engine::Engine;
pub use flash::{Flash, Level, FLASH_KEY, MAX_FLASHES, MAX_FLASH_TEXT_LEN};
pub(crate) use merge::{write, Written};
pub(crate) use outcome::{CookieOp, Outcome, StoreOps};
pub(crate) use stamp::StampCheck;
pub use stamp::{AuthStamp, AUTH_KEY};
pub use typed::{SessionValue, Typed};
pub(crate) use validator::Revalidation;
pub use validator::{StampError, StampFuture, StampValidator};

/// The session key the CSRF secret is kept under ([`Session::csrf_token`]); [`Session::cycle`]
/// renews it. Applications must not use it for their own values.
pub const CSRF_KEY: &str = "_csrf";

/// Server-mode state of one request.
#[derive(Default)]
struct ServerState {
    /// The id the cookie carried (and whose record was loaded), or the one issued.
    id: Option<SessionId>,
    /// Records to delete on the way out (after `cycle` or `flush`).
    delete: Vec<RecordKey>,
    /// The record as loaded (the expected bytes of the compare-and-swap that writes it back).
    record: Option<Vec<u8>>,
    /// The record was loaded (or there was none to load).
    loaded: bool,
    /// The handler used the session before it was loaded (lazy loading without
    /// [`Session::load`]): it read as empty, and nothing is written back.
    used_unloaded: bool,
}

enum Load {
    /// Not opened yet: the request's `Cookie` headers, unparsed.
    Pending(Option<RawCookies>),
    /// Opened (or there was nothing to open).
    Done,
}

// Independent facts about one request's cookie; a state enum would have to spell out their
// combinations.
#[allow(clippy::struct_excessive_bools)]
struct Inner {
    engine: Option<Arc<Engine>>,
    /// The key ring and sealer (expiry policy) this request uses from first access on (a
    /// reload mid-request changes neither).
    live: Option<Arc<Live>>,
    load: Load,
    data: SessionData,
    /// The handler read or wrote the session (the response gets `Vary: Cookie`).
    accessed: bool,
    /// A cookie was present and opened.
    had_valid: bool,
    /// Our cookies the request carried.
    present: ChunkSet,
    /// A cookie was present but rejected.
    had_invalid: bool,
    needs_reseal: bool,
    needs_renewal: bool,
    /// The response was decided ([`Session::finish`]): a change from now on reaches neither
    /// the client nor the store (see the `Drop` of `Inner`).
    finished: bool,
    /// The session was ended in this request ([`Session::flush`], a revoked auth stamp): it
    /// ends even if the handler answers 5xx, whatever was written after.
    ended: bool,
    /// `Some` in server mode.
    server: Option<ServerState>,
}

impl Drop for Inner {
    /// A clone kept past the response (a spawned task, a streaming body) that changed the
    /// session: the change is lost, and said so once, when the last clone goes.
    fn drop(&mut self) {
        if self.finished && self.data.is_dirty() {
            tracing::error!(
                "session changed after its response was sent (by a `Session` clone kept in a \
                 spawned task or a streaming body): the change is lost; write the session \
                 before the handler returns its response"
            );
        }
    }
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

impl Session {
    /// The session of a request of a layer with `engine`, from the request's `Cookie`
    /// headers (kept unparsed until needed). Client mode opens them on first access; server
    /// mode through [`Session::open_id`] before the handler runs.
    pub(crate) fn new(engine: Arc<Engine>, cookies: Option<RawCookies>) -> Self {
        let server = engine.store.is_some().then(ServerState::default);
        Self::from_inner(Some(engine), Load::Pending(cookies), server)
    }

    /// A session not attached to any request or cookie: for unit-testing handlers. Nothing
    /// is ever sealed from it.
    #[must_use]
    pub fn detached() -> Self {
        Self::from_inner(None, Load::Done, None)
    }

    fn from_inner(engine: Option<Arc<Engine>>, load: Load, server: Option<ServerState>) -> Self {
        Session {
            inner: Arc::new(Mutex::new(Inner {
                engine,
                live: None,
                load,
                data: SessionData::new(),
                accessed: false,
                had_valid: false,
                present: ChunkSet::default(),
                had_invalid: false,
                needs_reseal: false,
                needs_renewal: false,
                finished: false,
                ended: false,
                server,
            })),
        }
    }

    /// Whether this is the session of a layer whose cookie is `name` (a layer installed again
    /// inside one with the same cookie steps aside: see `SessionService::call`).
    pub(crate) fn is_for_cookie(&self, name: &str) -> bool {
        self.lock()
            .engine
            .as_ref()
            .is_some_and(|e| e.cookie.name == name)
    }

    /// See [`Inner::carries_cookie`].
    #[cfg(feature = "tower-sessions")]
    pub(crate) fn carries_cookie(&self) -> bool {
        self.lock().carries_cookie()
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic in a value's `Serialize` cannot leave `Inner` half-updated in a way that
        // matters: at worst one entry is missing. Keep serving.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks, opens the cookie if not done yet (client mode), and marks the session accessed.
    fn loaded(&self) -> MutexGuard<'_, Inner> {
        let mut inner = self.lock();
        inner.accessed = true;
        match &mut inner.server {
            Some(server) if !server.loaded => {
                if !server.used_unloaded {
                    server.used_unloaded = true;
                    tracing::error!(
                        "server-mode session used before it was loaded (`[store] load = \"lazy\"`): \
                         call `session.load().await` first (the axum `Session` extractor does); \
                         it reads as empty and nothing is written back"
                    );
                }
            }
            Some(_) => {}
            None => {
                inner.with_candidates(Inner::open);
            }
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
    /// [`DataError::Encode`] if the value cannot be encoded (a failing `Serialize`, or a
    /// value nested deeper than [`MAX_VALUE_DEPTH`](crate::limits::MAX_VALUE_DEPTH)).
    pub fn insert<T: Serialize + ?Sized>(
        &self,
        key: impl AsRef<str> + Into<String>,
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

    /// Removes every entry, the reserved ones too: the CSRF secret ([`CSRF_KEY`]: tokens
    /// handed out before stop working), queued flash messages ([`FLASH_KEY`]) and the auth
    /// stamp ([`AUTH_KEY`]). The session's lifetime (`created_at`) and expiry choice stay.
    /// A session left empty is ended on the response (its cookie removed, its record deleted);
    /// one given new values goes on. To log out, use [`flush`](Self::flush).
    pub fn clear(&self) {
        self.loaded().data.clear();
    }

    /// Whether `key` is present.
    pub fn contains(&self, key: &str) -> bool {
        self.loaded().data.contains(key)
    }

    /// The keys, sorted, the crate's reserved ones included ([`CSRF_KEY`], [`FLASH_KEY`],
    /// [`AUTH_KEY`], when in use; [`len`](Self::len) counts them too). A page that shows the
    /// session's entries must skip them: the CSRF secret there is the raw one, not a masked
    /// token.
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
        inner.ended = true;
        inner.data = SessionData::new();
        inner.data.mark_dirty();
    }

    /// Starts a new session lifetime with the same entries: a new `created_at` (so the
    /// absolute timeout counts from now) and a fresh nonce. Call it on login and on any
    /// privilege change.
    ///
    /// In server mode the session also gets a new id and the old record is deleted
    /// (protection against session fixation). The CSRF secret, if the session had one, is
    /// replaced by a fresh one (as Django's `rotate_token` does at login), so tokens handed
    /// out before the login stop working, and pages opened together after it all mask the
    /// new secret (were it only dropped, each would make its own, and the cookie kept last
    /// would refuse the others' forms).
    pub fn cycle(&self) {
        let mut inner = self.loaded();
        inner.retire_id();
        csrf::renew_secret(&mut inner.data);
        inner.data.renew_created();
    }

    /// Sets this session's idle timeout (`None`: back to the configured one). It travels
    /// inside the sealed value. The same as
    /// [`set_session_expiry`](Self::set_session_expiry)`(idle.map(SessionExpiry::idle))`.
    pub fn set_expiry(&self, idle: Option<Duration>) {
        self.set_session_expiry(idle.map(SessionExpiry::idle));
    }

    /// Chooses how this session expires ("remember me"), in either mode; `None`: back to the
    /// configured policy. Every choice is capped by the configured absolute timeout (counted
    /// from the last [`cycle`](Self::cycle)) and by `not_before`; see [`SessionExpiry`].
    ///
    /// - [`SessionExpiry::Idle`]: a rolling idle timeout of its own (e.g. 30 days when the
    ///   "remember me" box was ticked), and a cookie with `Max-Age` even where
    ///   `cookie.browser_session` is on (as for [`Until`](SessionExpiry::Until));
    /// - [`SessionExpiry::BrowserSession`]: the cookie is sent without `Max-Age`/`Expires`
    ///   (the box was not ticked), whatever `cookie.browser_session` says; the configured
    ///   timeouts still apply inside the sealed value;
    /// - [`SessionExpiry::Until`]: a fixed instant, not renewed.
    ///
    /// It travels inside the sealed value (client mode) or the record (server mode, where the
    /// id cookie is sent again with the new lifetime).
    ///
    /// ```
    /// use std::time::Duration;
    /// use sealed_session::data::SessionExpiry;
    /// use sealed_session::Session;
    /// let session = Session::detached();
    /// let remember = true; // the login form's box
    /// session.set_session_expiry(Some(if remember {
    ///     SessionExpiry::idle(Duration::from_secs(30 * 24 * 3600))
    /// } else {
    ///     SessionExpiry::BrowserSession
    /// }));
    /// assert_eq!(session.session_expiry(), Some(SessionExpiry::Idle(2_592_000)));
    /// ```
    pub fn set_session_expiry(&self, expiry: Option<SessionExpiry>) {
        let mut inner = self.loaded();
        if inner.data.session_expiry() != expiry {
            inner.data.set_session_expiry(expiry);
        }
    }

    /// This session's expiry choice (`None`: the configured policy).
    pub fn session_expiry(&self) -> Option<SessionExpiry> {
        self.loaded().data.session_expiry()
    }

    /// A copy of the whole session data.
    pub fn data(&self) -> SessionData {
        self.loaded().data.clone()
    }

    /// Decides what the response must do, and seals if needed; `None` when the handler never
    /// touched the session (the response is left alone).
    ///
    /// `failed`: the handler answered 5xx, so its work did not complete, and its changes are
    /// not saved (as Django's `SessionMiddleware` and tower-sessions' layer do); a session it
    /// ended (`flush`, a revoked auth stamp) still ends, without what was written after, so
    /// that a logout that fails after `flush` still logs out. A session merely left empty
    /// (its last entry taken) is a change like any other, and kept.
    ///
    /// From then on the session counts as unchanged: a later change (a clone kept past the
    /// response) is logged as lost when the last clone goes.
    pub(crate) fn finish(&self, failed: bool) -> Option<Result<Outcome, Error>> {
        let mut inner = self.lock();
        inner.finished = true;
        if !inner.accessed {
            inner.data.dirty = false;
            return None;
        }
        if failed && inner.ended {
            // A logout that failed still logs out; what it wrote to the new session (a
            // "logged out" flash) is not saved.
            inner.data = SessionData::new();
            inner.data.mark_dirty();
        }
        // Whether the handler ended the session, not whether it left it empty: taking the
        // last entry (the only flash of an anonymous session) is a change like any other.
        let outcome = if failed && !inner.ended {
            if inner.data.is_dirty() {
                tracing::debug!("the handler answered 5xx: the session's changes are not saved");
            }
            Ok(Outcome::cookie(CookieOp::Keep, inner.present))
        } else if inner.server.is_some() {
            inner.outcome_server()
        } else {
            inner.outcome_client()
        };
        inner.data.dirty = false;
        Some(outcome)
    }
}

impl Inner {
    fn now(&self) -> SystemTime {
        self.engine
            .as_ref()
            .map_or_else(SystemTime::now, |e| e.now())
    }

    fn live(&mut self) -> Option<Arc<Live>> {
        if self.live.is_none() {
            self.live = self.engine.as_ref().map(|e| e.live());
        }
        self.live.clone()
    }

    /// Whether the request carried a cookie of ours, valid or not, found without opening it
    /// or marking the session used (no `Vary: Cookie` for asking).
    #[cfg(feature = "tower-sessions")]
    pub(crate) fn carries_cookie(&self) -> bool {
        match (&self.load, &self.engine) {
            (Load::Pending(Some(raw)), Some(engine)) => {
                let candidates = engine.candidates(raw);
                !candidates.values().is_empty() || !candidates.rejected.is_empty()
            }
            (Load::Pending(_), _) => false,
            (Load::Done, _) => self.had_valid || self.had_invalid,
        }
    }

    /// The first time only: parses the request's cookies (the one place either mode does),
    /// records which of ours were present, traces those that could not even be joined, and
    /// hands the candidates to `f`. `None` after the first time, for a detached session, or
    /// without a `Cookie` header.
    ///
    /// The candidate values borrow from the request's headers (a value in one cookie is not
    /// copied), so they live only as long as this call: hence the callback.
    fn with_candidates<R>(&mut self, f: impl FnOnce(&mut Self, &Candidates<'_>) -> R) -> Option<R> {
        let Load::Pending(cookies) = &mut self.load else {
            return None;
        };
        let cookies = cookies.take();
        self.load = Load::Done;
        let cookies = cookies?;
        let candidates = self.engine.as_ref()?.candidates(&cookies);
        self.present = candidates.present;
        for &reason in &candidates.rejected {
            self.had_invalid = true;
            trace_rejection(reason);
        }
        Some(f(self, &candidates))
    }

    /// A cookie (or id) was rejected.
    fn rejected(&mut self, reason: RejectReason) {
        self.had_invalid = true;
        trace_rejection(reason);
    }

    /// The cookie's `Max-Age`/`Expires` as of `now`: see [`cookie_lifetime`].
    fn cookie_lifetime(&self, now: SystemTime) -> Option<Lifetime> {
        let default = self.browser_session_default();
        cookie_lifetime(&self.data, default, now)
    }

    /// `cookie.browser_session`: the cookie of a session without an expiry choice of its own.
    fn browser_session_default(&self) -> bool {
        self.engine
            .as_ref()
            .is_some_and(|e| e.cookie.browser_session())
    }

    /// Whether the request carried a cookie of ours, valid or not.
    fn had_cookie(&self) -> bool {
        self.had_valid || self.had_invalid || !self.present.is_empty()
    }
}

/// The cookie's `Max-Age`/`Expires` for `data` as of `now` (`None`: a browser-session cookie,
/// or no expiry). The session's own choice decides ("remember me" gets its `Max-Age` even
/// where `cookie.browser_session` is on); without one, `browser_session_default` does. Also
/// what a merged server-mode write sends, from the merged record.
pub(super) fn cookie_lifetime(
    data: &SessionData,
    browser_session_default: bool,
    now: SystemTime,
) -> Option<Lifetime> {
    let browser_session = match data.session_expiry() {
        Some(choice) => choice.is_browser_session(),
        None => browser_session_default,
    };
    match data.expires_at() {
        0 => None,
        _ if browser_session => None,
        e => Some(Lifetime::new(unix_seconds(now), e)),
    }
}

/// Every rejection reaches `tracing` with its reason; expiry is routine (`debug`), the rest
/// may be an attack or a misconfiguration (`info`).
fn trace_rejection(reason: RejectReason) {
    crate::metrics::rejection(reason);
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
