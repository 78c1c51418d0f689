//! [`RedisStore`] (feature `redis`): records in Redis with a server-side TTL.

use std::future::Future;
use std::time::Duration;

use super::redis_connect::{unavailable, Connection, Settings};
use super::{RecordKey, SessionStore, StoreFuture, Swap};
use crate::error::StoreError;

/// Records in Redis under `PREFIX` + hex(SHA-256 of the id), written with `SET … PX ttl`
/// (milliseconds, rounded up), so Redis expires them by itself.
///
/// Uses redis-rs's tokio `ConnectionManager`: one multiplexed connection shared by all
/// requests, re-established in the background after an I/O error (a Redis restart). While
/// Redis is down or hung, each store call fails after the timeout (default 1 s) — the whole
/// call, reconnection attempts included — and the request gets a 503; once Redis is back,
/// requests succeed again without restarting the app.
/// [`RedisStore::builder`] adds TLS roots (`rediss://`, feature `redis-tls`), and
/// [`RedisStore::cluster_builder`] reaches a Redis Cluster (feature `redis-cluster`), where
/// each record, one key, lives in one hash slot.
///
/// [`connect`](Self::connect) needs Redis to answer at start-up; [`lazy`](Self::lazy) does
/// not (the first request that needs the store connects, and requests get 503 until Redis
/// answers). Conditional writes ([`SessionStore::compare_and_swap`]) are one Lua script on
/// the record's one key, so they are atomic, and work unchanged where each key may live on
/// another node (Redis Cluster).
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
    /// Bounds each store call as a whole. redis-rs's own connection and response timeouts
    /// bound one attempt each, and its connection manager retries: against a host that
    /// accepts connections and never answers, one call took 3.5 times the timeout.
    timeout: Duration,
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

    /// Connects with the given timeout (each store call's, connecting included).
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

    /// A store for `url` that connects on first use (1 s connection and response
    /// timeouts): it is made while Redis is down, requests that need the store are answered
    /// 503 until Redis answers, then everything works without a restart. What
    /// `SessionLayer::connect` builds unless `[store] connect = "eager"`. The same for TLS
    /// and cluster settings: [`RedisStoreBuilder::connect_lazy`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use sealed_session::store::RedisStore;
    /// // Nothing listens on port 1: made all the same.
    /// let store = RedisStore::lazy("redis://127.0.0.1:1/").unwrap();
    /// # let _ = store; }
    /// ```
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the URL is invalid.
    ///
    /// # Panics
    /// Outside a Tokio runtime (the connection manager starts a task).
    pub fn lazy(url: &str) -> Result<Self, StoreError> {
        Self::builder(url).connect_lazy()
    }

    /// As [`lazy`](Self::lazy), with the given timeout (each store call's, connecting
    /// included).
    ///
    /// # Errors
    /// As [`RedisStore::lazy`].
    ///
    /// # Panics
    /// As [`RedisStore::lazy`].
    pub fn lazy_with(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        Self::builder(url).timeout(timeout).connect_lazy()
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
/// Defaults: a 1 s timeout per store call, the system's roots for `rediss://`, the
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

    /// How long a store call may take, connecting included (default 1 s): how long a request
    /// waits for a Redis that is down or hung before it is answered 503, and how long
    /// [`connect`](Self::connect) waits for Redis at start-up.
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
        let timeout = self.settings.timeout;
        let conn = bounded(timeout, self.settings.open()).await?;
        Ok(RedisStore {
            conn,
            prefix: self.prefix,
            timeout,
        })
    }

    /// Makes the store without connecting: the first store call connects (and each call
    /// after a failed attempt tries again), so the store can be made while Redis is down.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if a URL is invalid (or `rediss://` without the
    /// `redis-tls` feature) or the CA PEM holds no certificate.
    ///
    /// # Panics
    /// Outside a Tokio runtime (the connection manager starts a task).
    pub fn connect_lazy(self) -> Result<RedisStore, StoreError> {
        let conn = self.settings.open_lazy()?;
        Ok(RedisStore {
            conn,
            prefix: self.prefix,
            timeout: self.settings.timeout,
        })
    }
}

/// A store call that has not finished within `timeout` fails as [`StoreError::Unavailable`].
async fn bounded<T>(
    timeout: Duration,
    call: impl Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(timeout, call)
        .await
        .unwrap_or_else(|_| Err(StoreError::Unavailable(Box::new(TimedOut(timeout)))))
}

/// Redis did not answer a store call within the store's timeout.
#[derive(Debug)]
struct TimedOut(Duration);

impl std::fmt::Display for TimedOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Redis did not answer within {} (the store's timeout)",
            humantime::format_duration(self.0)
        )
    }
}

impl std::error::Error for TimedOut {}

/// The largest TTL sent to Redis, in milliseconds (about 31 700 years): Redis refuses an
/// expiry whose absolute time would overflow, and the layer never asks for more than
/// [`MAX_AGE_SECS`](crate::limits::MAX_AGE_SECS) anyway.
const MAX_TTL_MS: u64 = 1_000_000_000_000_000;

/// `ttl` in whole milliseconds, rounded up (a record never dies before its TTL), at least 1
/// (Redis refuses 0; a zero TTL is gone after a millisecond) and at most [`MAX_TTL_MS`].
fn ttl_ms(ttl: Duration) -> u64 {
    let ms = ttl.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).unwrap_or(u64::MAX).clamp(1, MAX_TTL_MS)
}

/// `KEYS[1]`: the record; `ARGV`: whether a record is expected (`"1"`/`"0"`), the expected
/// bytes, whether to write (`"1"`) or delete (`"0"`), the new bytes, the TTL in milliseconds.
/// Returns 1 when swapped, else the current record (a bulk string), or 0 when there is none.
/// One key only: atomic in Redis, and valid in Redis Cluster.
const COMPARE_AND_SWAP: &str = r"
local current = redis.call('GET', KEYS[1])
local matches
if ARGV[1] == '1' then matches = (current == ARGV[2]) else matches = (current == false) end
if not matches then
  if current then return current end
  return 0
end
if ARGV[3] == '1' then
  redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
else
  redis.call('DEL', KEYS[1])
end
return 1
";

impl SessionStore for RedisStore {
    fn load<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        Box::pin(bounded(self.timeout, async move {
            redis::cmd("GET")
                .arg(key)
                .query_async::<Option<Vec<u8>>>(&mut conn)
                .await
                .map_err(unavailable)
        }))
    }

    fn save<'a>(
        &'a self,
        key: &'a RecordKey,
        record: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let ms = ttl_ms(ttl);
        Box::pin(bounded(self.timeout, async move {
            redis::cmd("SET")
                .arg(key)
                .arg(record)
                .arg("PX")
                .arg(ms)
                .query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)
        }))
    }

    fn delete<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, ()> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        Box::pin(bounded(self.timeout, async move {
            redis::cmd("DEL")
                .arg(key)
                .query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)
        }))
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a RecordKey,
        expected: Option<&'a [u8]>,
        new: Option<&'a [u8]>,
        ttl: Duration,
    ) -> StoreFuture<'a, Swap> {
        let mut conn = self.conn.clone();
        let key = self.key(key);
        let ms = ttl_ms(ttl);
        let flag = |present: bool| if present { "1" } else { "0" };
        Box::pin(bounded(self.timeout, async move {
            let reply = redis::cmd("EVAL")
                .arg(COMPARE_AND_SWAP)
                .arg(1)
                .arg(key)
                .arg(flag(expected.is_some()))
                .arg(expected.unwrap_or_default())
                .arg(flag(new.is_some()))
                .arg(new.unwrap_or_default())
                .arg(ms)
                .query_async::<redis::Value>(&mut conn)
                .await
                .map_err(unavailable)?;
            match reply {
                redis::Value::Int(1) => Ok(Swap::Done),
                redis::Value::Int(0) => Ok(Swap::Changed(None)),
                redis::Value::BulkString(current) => Ok(Swap::Changed(Some(current))),
                other => Err(StoreError::Unavailable(
                    format!("unexpected reply to the compare-and-swap script: {other:?}").into(),
                )),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_are_whole_milliseconds_rounded_up_within_what_redis_accepts() {
        assert_eq!(ttl_ms(Duration::from_millis(1900)), 1900);
        assert_eq!(ttl_ms(Duration::from_micros(1_900_001)), 1901);
        assert_eq!(ttl_ms(Duration::ZERO), 1);
        assert_eq!(ttl_ms(Duration::from_nanos(1)), 1);
        assert_eq!(ttl_ms(Duration::MAX), MAX_TTL_MS);
        assert_eq!(ttl_ms(Duration::from_hours(24)), 86_400_000);
    }
}
