//! [`RedisStore`] (feature `redis`): records in Redis with a server-side TTL.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{RecordKey, SessionStore, StoreFuture};
use crate::error::StoreError;

/// Records in Redis under `PREFIX` + hex(SHA-256 of the id), written with `SET … EX ttl`, so
/// Redis expires them by itself.
///
/// Uses redis-rs's tokio `ConnectionManager`: one multiplexed connection shared by all
/// requests, re-established in the background after an I/O error (a Redis restart). While
/// Redis is down each store call fails after the response timeout (default 1 s), and the
/// request gets a 503; once Redis is back, requests succeed again without restarting the app.
///
/// ```no_run
/// # async fn f() -> Result<(), sealed_session::store::StoreError> {
/// use sealed_session::store::RedisStore;
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?.prefix("myapp:session:");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: ConnectionManager,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

impl RedisStore {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "sealed-session:";

    /// Connects to `url` (`redis://host:port/db`, `rediss://` for TLS if redis-rs was built
    /// with it) with 1 s connection and response timeouts.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the URL is invalid or Redis cannot be reached now.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, Duration::from_secs(1)).await
    }

    /// Connects with the given connection and response timeout.
    ///
    /// # Errors
    /// As [`RedisStore::connect`].
    pub async fn connect_with(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_with_config(client, config)
            .await
            .map_err(unavailable)?;
        Ok(RedisStore {
            conn,
            prefix: Self::DEFAULT_PREFIX.to_owned(),
        })
    }

    /// Sets the key prefix (default `sealed-session:`).
    #[must_use]
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn key(&self, key: &RecordKey) -> String {
        format!("{}{}", self.prefix, key.to_hex())
    }
}

impl SessionStore for RedisStore {
    fn load<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        Box::pin(async move {
            redis::cmd("GET")
                .arg(key)
                .query_async::<Option<Vec<u8>>>(&mut conn)
                .await
                .map_err(unavailable)
        })
    }

    fn save<'a>(
        &'a self,
        key: &'a RecordKey,
        record: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let secs = ttl.as_secs().max(1);
        Box::pin(async move {
            redis::cmd("SET")
                .arg(key)
                .arg(record)
                .arg("EX")
                .arg(secs)
                .query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)
        })
    }

    fn delete<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, ()> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        Box::pin(async move {
            redis::cmd("DEL")
                .arg(key)
                .query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)
        })
    }
}
