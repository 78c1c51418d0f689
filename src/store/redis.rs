//! [`RedisStore`] (feature `redis`): records in Redis with a server-side TTL.

use std::time::Duration;

use super::redis_connect::{unavailable, Connection, Settings};
use super::{RecordKey, SessionStore, StoreFuture};
use crate::error::StoreError;

/// Records in Redis under `PREFIX` + hex(SHA-256 of the id), written with `SET … EX ttl`, so
/// Redis expires them by itself.
///
/// Uses redis-rs's tokio `ConnectionManager`: one multiplexed connection shared by all
/// requests, re-established in the background after an I/O error (a Redis restart). While
/// Redis is down each store call fails after the response timeout (default 1 s), and the
/// request gets a 503; once Redis is back, requests succeed again without restarting the app.
/// [`RedisStore::builder`] adds TLS roots (`rediss://`, feature `redis-tls`), and
/// [`RedisStore::cluster_builder`] reaches a Redis Cluster (feature `redis-cluster`), where
/// each record, one key, lives in one hash slot.
///
/// ```no_run
/// # async fn f() -> Result<(), sealed_session::store::StoreError> {
/// use sealed_session::store::RedisStore;
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?.prefix("myapp:session:");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    conn: Connection,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisStore {
    /// The default key prefix.
    pub const DEFAULT_PREFIX: &'static str = "sealed-session:";

    /// Connects to `url` (`redis://host:port/db`, or `rediss://` for TLS with the
    /// `redis-tls` feature, trusting the system's roots) with 1 s connection and response
    /// timeouts. [`RedisStore::builder`] sets more.
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
        Self::builder(url).timeout(timeout).connect().await
    }

    /// Settings for one Redis server at `url` (`redis://host:port/db`, or
    /// `rediss://host:port/db` for TLS with the `redis-tls` feature).
    pub fn builder(url: impl Into<String>) -> RedisStoreBuilder {
        RedisStoreBuilder::new(Settings::new(vec![url.into()], false))
    }

    /// Settings for a Redis Cluster, given the URLs of some of its nodes (`redis://host:port`,
    /// or all `rediss://` for TLS); the others are discovered from them.
    #[cfg(feature = "redis-cluster")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-cluster")))]
    pub fn cluster_builder<I, S>(nodes: I) -> RedisStoreBuilder
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let nodes = nodes.into_iter().map(Into::into).collect();
        RedisStoreBuilder::new(Settings::new(nodes, true))
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

/// Connection settings for a [`RedisStore`]: one server or a cluster, the timeout, the TLS
/// roots and the key prefix. Made by [`RedisStore::builder`] (or
/// [`RedisStore::cluster_builder`]); [`connect`](Self::connect) opens the connection.
///
/// Defaults: 1 s connection and response timeout, the system's roots for `rediss://`, the
/// prefix [`RedisStore::DEFAULT_PREFIX`].
///
/// ```no_run
/// # async fn f() -> Result<(), sealed_session::store::StoreError> {
/// use std::time::Duration;
/// use sealed_session::store::RedisStore;
/// let store = RedisStore::builder("redis://127.0.0.1:6379/0")
///     .timeout(Duration::from_millis(500))
///     .prefix("myapp:session:")
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct RedisStoreBuilder {
    settings: Settings,
    prefix: String,
}

impl RedisStoreBuilder {
    fn new(settings: Settings) -> Self {
        RedisStoreBuilder {
            settings,
            prefix: RedisStore::DEFAULT_PREFIX.to_owned(),
        }
    }

    /// The connection timeout and the response timeout of each store call (default 1 s):
    /// how long a request waits for a Redis that is down before it is answered 503.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = timeout;
        self
    }

    /// The key prefix (default [`RedisStore::DEFAULT_PREFIX`]).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Trusts the CA certificate(s) in `pem` (PEM text, one or more `CERTIFICATE` blocks)
    /// for `rediss://`, instead of the system's roots: for a Redis whose certificate a
    /// private CA signed. [`connect`](Self::connect) fails if `pem` holds no certificate.
    #[cfg(feature = "redis-tls")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis-tls")))]
    pub fn tls_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.settings.tls_ca = Some(pem.into());
        self
    }

    /// Connects now.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if a URL is invalid (or `rediss://` without the
    /// `redis-tls` feature), the CA PEM holds no certificate, or Redis cannot be reached
    /// within the timeout.
    pub async fn connect(self) -> Result<RedisStore, StoreError> {
        let conn = self.settings.open().await?;
        Ok(RedisStore {
            conn,
            prefix: self.prefix,
        })
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
