//! [`Bridge`]: the per-request "store" behind a `tower_sessions::Session`, which reads and
//! writes the request's own [`Session`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use http::Request;

use async_trait::async_trait;
use serde_json::Value;
use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{Error as TsError, Result as TsResult};
use tower_sessions_core::{Expiry, SessionStore as TsStore};

use crate::data::SessionExpiry;
use crate::session::{Session, AUTH_KEY, CSRF_KEY, FLASH_KEY};

/// The id a tower-sessions `Session` starts with when the request carried a session cookie:
/// tower-sessions takes an id up front, and knowing the real one would mean opening the
/// cookie (or loading the record) on every request. The bridge ignores it; a session made or
/// cycled in the request gets a random one.
const CARRIED: Id = Id(0);

/// Keys of sealed-session's own that a tower-sessions record does not show.
pub(super) fn is_reserved(key: &str) -> bool {
    matches!(key, CSRF_KEY | FLASH_KEY | AUTH_KEY)
}

/// How long a record handed to tower-sessions says it lives when the session's own expiry is
/// rolling (its `expiry_date` is informational here: sealed-session's envelope decides).
const NOMINAL_LIFETIME: time::Duration = time::Duration::weeks(2);

/// The store tower-sessions' `Session` of one request talks to: `load` reads the entries of
/// the request's [`Session`] as JSON values, `save`/`create` write back only what changed
/// since, `delete` (tower-sessions' `flush` and `cycle_id`) ends the session at once, so that
/// the next `create` starts the new one with the record's data.
#[derive(Debug)]
pub(super) struct Bridge {
    session: Session,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// What `load` handed out: the base `save` compares with. `None` when tower-sessions
    /// saves a record it never loaded (after `clear`): the record then replaces every entry
    /// tower-sessions can see.
    loaded: Option<HashMap<String, Value>>,
}

impl Bridge {
    pub(super) fn new(session: Session) -> Self {
        Bridge {
            session,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes `record` into the session: its id, the entries that differ from what was
    /// loaded, and removals of loaded entries it no longer has. Entries tower-sessions never
    /// saw (sealed-session's own, or written by a native handler) are left alone.
    fn write(&self, record: &Record) -> TsResult<()> {
        // Checked before anything is written: a refused record changes nothing.
        if let Some(key) = record.data.keys().find(|k| is_reserved(k)) {
            return Err(TsError::Encode(format!(
                "`{key}` is a key sealed-session reserves for itself; use another name"
            )));
        }
        let mut state = self.lock();
        let base = match state.loaded.take() {
            Some(loaded) => loaded,
            None => self
                .session
                .keys()
                .into_iter()
                .filter(|k| !is_reserved(k))
                .map(|k| (k, Value::Null))
                .collect(),
        };
        for (key, value) in &record.data {
            // An entry the base did not have, or had with another value (a `Null` placeholder
            // of an unloaded base is written over, to be safe).
            if base
                .get(key)
                .is_none_or(|old| old != value || old.is_null())
            {
                self.session
                    .insert(key, value)
                    .map_err(|e| TsError::Encode(e.to_string()))?;
            }
        }
        for key in base.keys() {
            if !record.data.contains_key(key) {
                self.session.remove(key);
            }
        }
        state.loaded = Some(record.data.clone());
        Ok(())
    }
}

#[async_trait]
impl TsStore for Bridge {
    async fn create(&self, record: &mut Record) -> TsResult<()> {
        record.id = Id::default();
        load(&self.session).await?;
        // After `cycle_id` or `flush` (see `delete`) the session was ended and `loaded` is
        // empty: the record's data starts the new one. Otherwise a session tower-sessions has
        // not seen before: whatever the request's session already holds (written by native
        // handlers) is not its to replace.
        self.lock().loaded.get_or_insert_with(HashMap::new);
        self.write(record)
    }

    async fn save(&self, record: &Record) -> TsResult<()> {
        load(&self.session).await?;
        self.write(record)
    }

    async fn load(&self, id: &Id) -> TsResult<Option<Record>> {
        load(&self.session).await?;
        if self.session.is_empty() {
            // The cookie did not open, or its session expired: tower-sessions starts anew.
            return Ok(None);
        }
        let mut data = HashMap::new();
        for key in self.session.keys() {
            if is_reserved(&key) {
                continue;
            }
            // A native value JSON cannot hold (bytes, a map with non-string keys) is left
            // out of the record rather than failing every tower-sessions read of the
            // session; it is not in `loaded` either, so saves leave it as it is.
            match self.session.get::<Value>(&key) {
                Ok(value) => {
                    data.insert(key, value.unwrap_or(Value::Null));
                }
                Err(e) => {
                    tracing::debug!(key, error = %e, "a session value tower-sessions cannot show");
                }
            }
        }
        self.lock().loaded = Some(data.clone());
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date: expiry_date(self.session.session_expiry()),
        }))
    }

    /// tower-sessions' `flush` (logout) and `cycle_id` (login) delete the record at once;
    /// the session ends here too, at once, so that what the handler writes natively
    /// afterwards (a flash message, an auth stamp) belongs to the new session. For
    /// `cycle_id`, the record's data is written into it when tower-sessions saves.
    async fn delete(&self, _id: &Id) -> TsResult<()> {
        load(&self.session).await?;
        self.session.flush();
        self.lock().loaded = Some(HashMap::new());
        Ok(())
    }
}

/// Loads the session's record if it is not loaded yet (server mode with `load = "lazy"`), as
/// tower-sessions loads from its store on first use; a no-op otherwise.
async fn load(session: &Session) -> TsResult<()> {
    session
        .load()
        .await
        .map_err(|e| TsError::Backend(e.to_string()))
}

/// A record's nominal expiry date for sealed-session's expiry choice.
fn expiry_date(expiry: Option<SessionExpiry>) -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    match expiry {
        Some(SessionExpiry::Until(at)) => {
            OffsetDateTime::from_unix_timestamp(i64::try_from(at).unwrap_or(i64::MAX))
                .unwrap_or(now)
        }
        Some(SessionExpiry::Idle(secs)) => now + time::Duration::seconds(i64::from(secs)),
        Some(SessionExpiry::BrowserSession) | None => now + NOMINAL_LIFETIME,
    }
}

/// sealed-session's expiry choice for tower-sessions' (whole seconds; an instant before
/// 1970 or a negative duration ends the session at once).
pub(super) fn from_tower(expiry: Option<Expiry>) -> Option<SessionExpiry> {
    Some(match expiry? {
        Expiry::OnSessionEnd => SessionExpiry::BrowserSession,
        Expiry::OnInactivity(d) => {
            SessionExpiry::Idle(u32::try_from(d.whole_seconds().max(0)).unwrap_or(u32::MAX))
        }
        Expiry::AtDateTime(at) => {
            SessionExpiry::Until(u64::try_from(at.unix_timestamp().max(0)).unwrap_or(0))
        }
    })
}

/// Gives `req` its `tower_sessions::Session`, over the request's loaded `session`.
pub(super) fn attach<B>(req: &mut Request<B>, session: Session) -> Attached {
    let bridge = Arc::new(Bridge::new(session.clone()));
    // The session's stored expiry choice is not read here (that would open the cookie on
    // every request): tower-sessions' `expiry()` starts at `None` (the configured default),
    // and only a `set_expiry` of this request is carried over.
    let initial = None;
    let id = session.carries_cookie().then_some(CARRIED);
    let ts = tower_sessions_core::Session::new(id, bridge, initial);
    req.extensions_mut().insert(ts.clone());
    Attached {
        ts,
        session,
        initial,
    }
}

/// What the response side needs of a request's tower-sessions session.
pub(super) struct Attached {
    pub(super) ts: tower_sessions_core::Session,
    pub(super) session: Session,
    pub(super) initial: Option<tower_sessions_core::Expiry>,
}
