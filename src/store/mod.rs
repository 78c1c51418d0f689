//! Server-side mode: the [`SessionStore`] trait and its stores.
//!
//! In server mode the cookie carries only a random 128-bit session id, sealed with the key
//! ring exactly like a client-side session (so a forged or tampered id is rejected by the AEAD
//! before any store round trip). Stores never see the raw id: records are keyed by
//! [`RecordKey`], the SHA-256 of the id, so a leaked store dump cannot be replayed as cookies.
//! The record is the payload a client-side cookie seals (entries, `created_at`, the last
//! write), sealed with the key ring and bound to its record key, so a store dump shows no
//! value and a store write cannot forge or move a session; the store expires it after its TTL.
//!
//! A store error is never treated as an empty session (that would overwrite the user's data
//! on the way out): the request is answered `503 Service Unavailable` and the error is logged.
//!
//! # Example
//! ```
//! use std::time::Duration;
//! use sealed_session::store::{MemoryStore, RecordKey, SessionStore};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let key = RecordKey::of_id(&[7; 16]);
//! store.save(&key, b"payload", Duration::from_secs(60)).await?;
//! assert_eq!(store.load(&key).await?.as_deref(), Some(&b"payload"[..]));
//! store.delete(&key).await?;
//! assert_eq!(store.load(&key).await?, None);
//! # Ok::<(), sealed_session::store::StoreError>(()) }).unwrap();
//! ```

mod from_config;
mod health;
mod memory;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
mod redis;
#[cfg(feature = "redis")]
mod redis_connect;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

pub use crate::error::StoreError;
pub(crate) use from_config::{connect, from_config};
pub(crate) use health::StoreHealth;
pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::{RedisStore, RedisStoreBuilder};

/// Length of a session id in bytes (128 bits from the OS generator).
pub const SESSION_ID_LEN: usize = crate::seal::ID_LEN;

/// The future a store method returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// The key a store files a record under: SHA-256 of the session id. Its `Debug` shows only
/// a prefix.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordKey([u8; 32]);

impl RecordKey {
    /// The record key of a session id.
    #[must_use]
    pub fn of_id(id: &[u8; SESSION_ID_LEN]) -> Self {
        let mut hasher = Sha256::new();
        hasher.update(b"sealed-session record v1\0");
        hasher.update(id);
        RecordKey(hasher.finalize().into())
    }

    /// The 32 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hex, 64 characters (as used in Redis keys).
    #[must_use]
    pub fn to_hex(&self) -> String {
        use std::fmt::Write as _;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

impl fmt::Debug for RecordKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordKey({}…)", &self.to_hex()[..8])
    }
}

/// What [`SessionStore::compare_and_swap`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Swap {
    /// The record was the one expected: it was replaced (or deleted).
    Done,
    /// The record was not the one expected; nothing was written. What the store holds now
    /// (`None`: no record), so that the caller can merge onto it without another round trip.
    Changed(Option<Vec<u8>>),
}

/// Where server-side sessions live. Implementations must be safe to share between requests.
///
/// Records are opaque bytes; `save` replaces any record under the key and must expire it
/// after `ttl`. [`compare_and_swap`](Self::compare_and_swap) is the atomic primitive the
/// merge of concurrent writes is built on (see docs/MODES.md).
pub trait SessionStore: Send + Sync + 'static {
    /// The record under `key`, or `None` (never existed, expired, or deleted).
    fn load<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>>;
    /// Stores `record` under `key` for `ttl`.
    fn save<'a>(
        &'a self,
        key: &'a RecordKey,
        record: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, ()>;
    /// Deletes the record under `key` (no error if absent).
    fn delete<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, ()>;
    /// Atomically: if the record under `key` is byte for byte `expected` (`None`: there is no
    /// live record), replaces it with `new` for `ttl` (`new = None`: deletes it) and returns
    /// [`Swap::Done`]; otherwise writes nothing and returns [`Swap::Changed`] with the record
    /// held now. An expired record counts as absent.
    ///
    /// Server mode writes every loaded session back with it, expecting the bytes it loaded:
    /// sealed records carry a fresh random nonce each time they are written, so equal bytes
    /// mean "not written since". It must be one atomic step in the store (a mutex, a Lua
    /// script, a transaction): a load followed by a save is not an implementation.
    ///
    /// ```
    /// use std::time::Duration;
    /// use sealed_session::store::{MemoryStore, RecordKey, SessionStore, Swap};
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let (store, key, ttl) = (MemoryStore::new(), RecordKey::of_id(&[7; 16]), Duration::from_secs(60));
    /// store.save(&key, b"v1", ttl).await?;
    /// assert_eq!(store.compare_and_swap(&key, Some(&b"v1"[..]), Some(&b"v2"[..]), ttl).await?, Swap::Done);
    /// // Another writer expecting v1 is told what is there now.
    /// assert_eq!(
    ///     store.compare_and_swap(&key, Some(&b"v1"[..]), Some(&b"v3"[..]), ttl).await?,
    ///     Swap::Changed(Some(b"v2".to_vec()))
    /// );
    /// # Ok::<(), sealed_session::store::StoreError>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    /// As [`save`](Self::save); a conflict is not an error.
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a RecordKey,
        expected: Option<&'a [u8]>,
        new: Option<&'a [u8]>,
        ttl: Duration,
    ) -> StoreFuture<'a, Swap>;
}

/// A shared store handle, as the layer holds it.
pub(crate) type SharedStore = Arc<dyn SessionStore>;
