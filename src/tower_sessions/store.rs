//! [`TowerStore`]: any tower-sessions store as a server-mode [`SessionStore`].

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde_json::Value;
use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::SessionStore as TsStore;

use crate::error::StoreError;
use crate::store::{RecordKey, SessionStore, StoreFuture, Swap};

/// The field of a tower-sessions record that holds our sealed record (base64url).
pub const SEALED_FIELD: &str = "sealed";

/// A tower-sessions store (tower-sessions-sqlx-store's SQLite, Postgres and MySQL stores,
/// moka, the others) serving sealed-session's server mode.
///
/// Each of our records becomes one tower-sessions [`Record`]: its id is the first 128 bits
/// of the [`RecordKey`] (itself SHA-256 of the session id, so the store never sees the id
/// the cookie carries), its data the one field [`SEALED_FIELD`] with the sealed record in
/// base64url, its `expiry_date` now plus the TTL. The record is sealed and bound to its key
/// as in our own stores: the backend sees neither values nor ids, and a record moved to
/// another key does not open. Records that are not ours (no such field, not base64url) read
/// as absent.
///
/// tower-sessions stores have no conditional write, so [`compare_and_swap`](SessionStore::compare_and_swap)
/// is a load, a comparison and a save: atomic against the other requests of this process
/// (sealed-session serializes the saves of one record in a process), not against another
/// instance writing the same session in between. Across a fleet, concurrent writes of one
/// session through a `TowerStore` can be last-writer-wins; use `RedisStore` (or
/// `MemoryStore`) where the merge must hold fleet-wide.
///
/// ```
/// use sealed_session::tower_sessions::TowerStore;
/// use sealed_session::{SessionConfig, SessionLayer};
/// // Any `tower_sessions_core::SessionStore`, e.g. `SqliteStore::new(pool)`.
/// # #[derive(Debug, Clone, Default)]
/// # struct SomeStore;
/// # #[async_trait::async_trait]
/// # impl tower_sessions_core::SessionStore for SomeStore {
/// #     async fn save(&self, _: &tower_sessions_core::session::Record) -> tower_sessions_core::session_store::Result<()> { Ok(()) }
/// #     async fn load(&self, _: &tower_sessions_core::session::Id) -> tower_sessions_core::session_store::Result<Option<tower_sessions_core::session::Record>> { Ok(None) }
/// #     async fn delete(&self, _: &tower_sessions_core::session::Id) -> tower_sessions_core::session_store::Result<()> { Ok(()) }
/// # }
/// let layer = SessionLayer::new(SessionConfig::ephemeral())?
///     .server_store(TowerStore::new(SomeStore::default()));
/// # Ok::<(), sealed_session::ConfigError>(())
/// ```
#[derive(Clone, Default)]
pub struct TowerStore<T> {
    inner: T,
}

impl<T> TowerStore<T> {
    /// Wraps `store`.
    pub fn new(store: T) -> Self {
        TowerStore { inner: store }
    }

    /// The wrapped store.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }
}

impl<T: fmt::Debug> fmt::Debug for TowerStore<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TowerStore").field(&self.inner).finish()
    }
}

/// The tower-sessions id of a record key: its first 16 bytes.
fn id_of(key: &RecordKey) -> Id {
    let mut first = [0u8; 16];
    first.copy_from_slice(&key.as_bytes()[..16]);
    Id(i128::from_le_bytes(first))
}

fn unavailable(e: tower_sessions_core::session_store::Error) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

impl<T: TsStore> SessionStore for TowerStore<T> {
    fn load<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let Some(record) = self.inner.load(&id_of(key)).await.map_err(unavailable)? else {
                return Ok(None);
            };
            if record.expiry_date <= OffsetDateTime::now_utc() {
                return Ok(None);
            }
            let sealed = match record.data.get(SEALED_FIELD) {
                Some(Value::String(s)) => URL_SAFE_NO_PAD.decode(s).ok(),
                _ => None,
            };
            if sealed.is_none() {
                tracing::warn!(
                    "a record in the tower-sessions store is not sealed-session's; read as absent"
                );
            }
            Ok(sealed)
        })
    }

    fn save<'a>(
        &'a self,
        key: &'a RecordKey,
        record: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let ttl = time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX);
            let expiry_date =
                OffsetDateTime::now_utc()
                    .checked_add(ttl)
                    .unwrap_or(OffsetDateTime::new_utc(
                        time::Date::MAX,
                        time::Time::MIDNIGHT,
                    ));
            let record = Record {
                id: id_of(key),
                data: HashMap::from([(
                    SEALED_FIELD.to_owned(),
                    Value::String(URL_SAFE_NO_PAD.encode(record)),
                )]),
                expiry_date,
            };
            self.inner.save(&record).await.map_err(unavailable)
        })
    }

    fn delete<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.inner.delete(&id_of(key)).await.map_err(unavailable) })
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a RecordKey,
        expected: Option<&'a [u8]>,
        new: Option<&'a [u8]>,
        ttl: Duration,
    ) -> StoreFuture<'a, Swap> {
        Box::pin(async move {
            let current = self.load(key).await?;
            if current.as_deref() != expected {
                return Ok(Swap::Changed(current));
            }
            match new {
                Some(record) => self.save(key, record, ttl).await?,
                None => self.delete(key).await?,
            }
            Ok(Swap::Done)
        })
    }
}
