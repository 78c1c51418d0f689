//! [`SessionData`]: string keys mapped to postcard-encoded values, with timestamps.
//!
//! This layer knows nothing of crypto or HTTP. Values are encoded with postcard when inserted
//! and decoded when read, so any `serde` type works and a value read back as another type is a
//! [`DataError::Decode`], never a panic.
//!
//! # Example
//! ```
//! use sealed_session::SessionData;
//! let mut data = SessionData::new();
//! data.insert("visit_count", &3u64)?;
//! assert_eq!(data.get::<u64>("visit_count")?, Some(4 - 1));
//! assert!(data.is_dirty());
//! assert!(data.get::<String>("visit_count").is_err());
//! # Ok::<(), sealed_session::DataError>(())
//! ```

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

use crate::error::DataError;

/// The decrypted contents of a session.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SessionData {
    pub(crate) entries: BTreeMap<String, ByteBuf>,
    /// Unix seconds; `None` until first sealed (or after `cycle`).
    pub(crate) created_at: Option<u64>,
    /// Unix seconds; 0 for no idle expiry.
    pub(crate) expires_at: u64,
    /// Per-session idle timeout override in seconds (`set_expiry`).
    pub(crate) idle_secs: Option<u32>,
    pub(crate) dirty: bool,
}

/// The plaintext of wire format v1, as postcard encodes it:
/// `created_at:varint ‖ expires_at:varint ‖ idle_secs:option<varint> ‖ entries:map<str, bytes>`.
#[derive(Serialize)]
pub(crate) struct PayloadRef<'a> {
    pub created_at: u64,
    pub expires_at: u64,
    pub idle_secs: Option<u32>,
    pub entries: &'a BTreeMap<String, ByteBuf>,
}

#[derive(Deserialize)]
pub(crate) struct PayloadOwned {
    pub created_at: u64,
    pub expires_at: u64,
    pub idle_secs: Option<u32>,
    pub entries: BTreeMap<String, ByteBuf>,
}

impl SessionData {
    /// An empty, new session.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `key` as a `T`.
    ///
    /// # Errors
    /// [`DataError::Decode`] when the stored bytes are not exactly one `T` (another type was
    /// inserted under this key).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DataError> {
        let Some(bytes) = self.entries.get(key) else {
            return Ok(None);
        };
        decode_value(key, bytes).map(Some)
    }

    /// Stores `value` under `key`, encoded with postcard. Storing the bytes already there does
    /// not mark the session dirty.
    ///
    /// # Errors
    /// [`DataError::Encode`] if postcard cannot encode the type.
    pub fn insert<T: Serialize + ?Sized>(
        &mut self,
        key: impl Into<String>,
        value: &T,
    ) -> Result<(), DataError> {
        let key = key.into();
        let bytes = match postcard::to_allocvec(value) {
            Ok(b) => b,
            Err(source) => return Err(DataError::Encode { key, source }),
        };
        self.insert_raw(key, bytes);
        Ok(())
    }

    pub(crate) fn insert_raw(&mut self, key: String, bytes: Vec<u8>) {
        if self.entries.get(&key).map(|b| b.as_slice()) != Some(bytes.as_slice()) {
            self.entries.insert(key, ByteBuf::from(bytes));
            self.dirty = true;
        }
    }

    /// Removes `key`; returns whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let removed = self.entries.remove(key).is_some();
        self.dirty |= removed;
        removed
    }

    /// Removes `key` and returns its value as a `T`.
    ///
    /// # Errors
    /// As [`SessionData::get`]; the entry is removed either way.
    pub fn take<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, DataError> {
        let Some(bytes) = self.entries.remove(key) else {
            return Ok(None);
        };
        self.dirty = true;
        decode_value(key, &bytes).map(Some)
    }

    /// Removes every entry (keeps `created_at`).
    pub fn clear(&mut self) {
        if !self.entries.is_empty() {
            self.entries.clear();
            self.dirty = true;
        }
    }

    /// Whether `key` is present.
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(key)
    }

    /// The keys, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Each key with the encoded size of its value in bytes (for inspection tools).
    pub fn sizes(&self) -> impl Iterator<Item = (&str, usize)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.len()))
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Whether anything changed since it was opened (or created).
    #[must_use]
    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    /// Marks the session changed, so that it is sealed again.
    pub fn mark_dirty(&mut self) {
        self.dirty = true;
    }

    /// Creation time in Unix seconds, once sealed.
    #[must_use]
    pub fn created_at(&self) -> Option<u64> {
        self.created_at
    }

    /// Expiry time in Unix seconds as of the last seal (0: no idle expiry).
    #[must_use]
    pub fn expires_at(&self) -> u64 {
        self.expires_at
    }

    /// Starts a new session lifetime keeping the entries: `created_at` is reset at the next
    /// seal (call on login, so the absolute timeout counts from the login).
    pub fn renew_created(&mut self) {
        self.created_at = None;
        self.dirty = true;
    }

    /// Overrides the idle timeout for this session only (`None`: back to the policy). Stored
    /// inside the sealed value.
    pub fn set_idle_timeout(&mut self, idle: Option<std::time::Duration>) {
        let secs = idle.map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        if secs != self.idle_secs {
            self.idle_secs = secs;
            self.dirty = true;
        }
    }

    /// The per-session idle timeout override.
    #[must_use]
    pub fn idle_timeout(&self) -> Option<std::time::Duration> {
        self.idle_secs
            .map(|s| std::time::Duration::from_secs(u64::from(s)))
    }

    /// Postcard encoding of the payload, appended to `out`.
    pub(crate) fn encode_payload(
        &self,
        created_at: u64,
        expires_at: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), postcard::Error> {
        let payload = PayloadRef {
            created_at,
            expires_at,
            idle_secs: self.idle_secs,
            entries: &self.entries,
        };
        let taken = std::mem::take(out);
        *out = postcard::to_extend(&payload, taken)?;
        Ok(())
    }

    /// Decodes a payload; the whole input must be consumed.
    pub(crate) fn decode_payload(bytes: &[u8]) -> Option<Self> {
        let (p, rest) = postcard::take_from_bytes::<PayloadOwned>(bytes).ok()?;
        if !rest.is_empty() {
            return None;
        }
        Some(SessionData {
            entries: p.entries,
            created_at: Some(p.created_at),
            expires_at: p.expires_at,
            idle_secs: p.idle_secs,
            dirty: false,
        })
    }
}

fn decode_value<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, DataError> {
    match postcard::take_from_bytes::<T>(bytes) {
        Ok((v, [])) => Ok(v),
        Ok(_) => Err(DataError::Decode {
            key: key.to_owned(),
            source: postcard::Error::DeserializeBadEncoding,
        }),
        Err(source) => Err(DataError::Decode {
            key: key.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_with_another_type_is_a_typed_error() {
        let mut d = SessionData::new();
        d.insert("n", &300u64).unwrap();
        assert!(matches!(d.get::<u8>("n"), Err(DataError::Decode { .. })));
        assert!(matches!(
            d.get::<String>("n"),
            Err(DataError::Decode { .. })
        ));
        assert_eq!(d.get::<u64>("n").unwrap(), Some(300));
    }

    #[test]
    fn inserting_the_same_value_keeps_clean() {
        let mut d = SessionData::new();
        d.insert("k", "v").unwrap();
        d.dirty = false;
        d.insert("k", "v").unwrap();
        assert!(!d.is_dirty());
        d.insert("k", "w").unwrap();
        assert!(d.is_dirty());
    }

    #[test]
    fn remove_clear_contains_keys_len() {
        let mut d = SessionData::new();
        assert!(!d.remove("x"));
        assert!(!d.is_dirty());
        d.insert("b", &1u8).unwrap();
        d.insert("a", &2u8).unwrap();
        assert_eq!(d.keys().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(d.len(), 2);
        assert!(d.contains("a"));
        assert!(d.remove("a"));
        assert_eq!(d.take::<u8>("b").unwrap(), Some(1));
        assert!(d.is_empty());
        d.insert("c", &1u8).unwrap();
        d.clear();
        assert!(d.is_empty());
    }

    #[test]
    fn payload_round_trips_and_rejects_trailing_bytes() {
        let mut d = SessionData::new();
        d.insert("cart", &vec![(1u32, 2u16)]).unwrap();
        let mut out = Vec::new();
        d.encode_payload(10, 20, &mut out).unwrap();
        let back = SessionData::decode_payload(&out).unwrap();
        assert_eq!(back.created_at, Some(10));
        assert_eq!(back.expires_at, 20);
        assert_eq!(back.entries, d.entries);
        out.push(0);
        assert!(SessionData::decode_payload(&out).is_none());
    }
}
