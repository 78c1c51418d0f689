//! [`SessionData`]: string keys mapped to postcard-encoded values, with timestamps.
//!
//! This layer knows nothing of crypto or HTTP. Values are encoded with postcard when inserted
//! and decoded when read, so any `serde` type works and a value read back as another type is a
//! [`DataError::Decode`], never a panic.
//!
//! # Representation
//! A map of owned strings to owned byte buffers would cost two allocations per entry on every
//! request that opens a cookie. Instead, an opened session keeps the decrypted plaintext buffer
//! as it is and an index of `(key, value)` byte ranges into it, sorted by key: opening costs
//! the index and nothing per entry. Inserts append to the same buffer (replaced bytes are
//! compacted away once they outweigh the live ones). The wire encoding is the same postcard
//! `map<str, bytes>` either way.
//!
//! # Example
//! ```
//! use sealed_session::data::SessionData;
//! let mut data = SessionData::new();
//! data.insert("visit_count", &3u64)?;
//! assert_eq!(data.get::<u64>("visit_count")?, Some(4 - 1));
//! assert!(data.is_dirty());
//! assert!(data.get::<String>("visit_count").is_err());
//! # Ok::<(), sealed_session::DataError>(())
//! ```

use std::fmt;
use std::ops::Range;

use serde::de::{DeserializeOwned, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::DataError;

/// One entry: byte ranges of its key and value in [`SessionData::buf`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Entry {
    key: (usize, usize),
    val: (usize, usize),
}

fn range((start, len): (usize, usize)) -> Range<usize> {
    start..start + len
}

/// The decrypted contents of a session.
#[derive(Clone, Default)]
pub struct SessionData {
    /// Backing bytes: the opened plaintext, then inserted keys and values.
    buf: Vec<u8>,
    /// Live entries, sorted by key bytes, keys unique.
    index: Vec<Entry>,
    /// Bytes of `buf` no live entry points to.
    garbage: usize,
    /// Unix seconds; `None` until first sealed (or after `cycle`).
    pub(crate) created_at: Option<u64>,
    /// Unix seconds; 0 for no idle expiry.
    pub(crate) expires_at: u64,
    /// Per-session idle timeout override in seconds (`set_expiry`).
    pub(crate) idle_secs: Option<u32>,
    pub(crate) dirty: bool,
}

impl PartialEq for SessionData {
    /// Same entries and timestamps (the dirty flag and the buffer layout do not count).
    fn eq(&self, other: &Self) -> bool {
        self.created_at == other.created_at
            && self.expires_at == other.expires_at
            && self.idle_secs == other.idle_secs
            && self.entries().eq(other.entries())
    }
}

impl Eq for SessionData {}

impl fmt::Debug for SessionData {
    /// Keys and value sizes only: values may be secrets (tokens, personal data).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionData")
            .field("entries", &self.sizes().collect::<Vec<_>>())
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("idle_secs", &self.idle_secs)
            .field("dirty", &self.dirty)
            .finish_non_exhaustive()
    }
}

/// The plaintext of wire format v1, as postcard encodes it:
/// `created_at:varint ‖ expires_at:varint ‖ idle_secs:option<varint> ‖ entries:map<str, bytes>`.
#[derive(Serialize)]
struct PayloadRef<'a> {
    created_at: u64,
    expires_at: u64,
    idle_secs: Option<u32>,
    entries: EntriesRef<'a>,
}

struct EntriesRef<'a>(&'a SessionData);

impl Serialize for EntriesRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        // postcard writes a `str` and a byte string the same way (varint length, then the
        // bytes), so the keys go out as bytes: no UTF-8 re-check on every seal. The golden
        // vectors pin that the encoding is unchanged.
        let data = self.0;
        let mut map = serializer.serialize_map(Some(data.index.len()))?;
        for e in &data.index {
            map.serialize_entry(
                serde_bytes::Bytes::new(data.key_bytes(e)),
                serde_bytes::Bytes::new(data.value_bytes(e)),
            )?;
        }
        map.end()
    }
}

#[derive(Deserialize)]
struct PayloadBorrowed<'a> {
    created_at: u64,
    expires_at: u64,
    idle_secs: Option<u32>,
    #[serde(borrow)]
    entries: EntriesBorrowed<'a>,
}

/// The entries as slices of the input, in the order encoded.
struct EntriesBorrowed<'a>(Vec<(&'a str, &'a [u8])>);

impl<'de: 'a, 'a> Deserialize<'de> for EntriesBorrowed<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = EntriesBorrowed<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of strings to bytes")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                // The claimed length is untrusted even after authentication (a bug of ours
                // could write it): preallocate a little, grow with what actually decodes.
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0).min(16));
                while let Some((k, v)) = map.next_entry::<&'de str, &'de [u8]>()? {
                    out.push((k, v));
                }
                Ok(EntriesBorrowed(out))
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}

impl SessionData {
    /// An empty, new session.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn key_bytes(&self, e: &Entry) -> &[u8] {
        &self.buf[range(e.key)]
    }

    fn value_bytes(&self, e: &Entry) -> &[u8] {
        &self.buf[range(e.val)]
    }

    /// Keys are valid UTF-8: checked when decoded, `&str` when inserted.
    fn key_str(&self, e: &Entry) -> &str {
        std::str::from_utf8(self.key_bytes(e)).unwrap_or_default()
    }

    fn find(&self, key: &str) -> Result<usize, usize> {
        self.index
            .binary_search_by(|e| self.key_bytes(e).cmp(key.as_bytes()))
    }

    fn entries(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.index
            .iter()
            .map(|e| (self.key_str(e), self.value_bytes(e)))
    }

    /// Reads `key` as a `T`.
    ///
    /// # Errors
    /// [`DataError::Decode`] when the stored bytes are not exactly one `T` (another type was
    /// inserted under this key).
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, DataError> {
        match self.find(key) {
            Ok(i) => decode_value(key, self.value_bytes(&self.index[i])).map(Some),
            Err(_) => Ok(None),
        }
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
        match postcard::to_allocvec(value) {
            Ok(bytes) => {
                self.insert_raw(&key, &bytes);
                Ok(())
            }
            Err(source) => Err(DataError::Encode { key, source }),
        }
    }

    fn push(&mut self, bytes: &[u8]) -> (usize, usize) {
        let start = self.buf.len();
        self.buf.extend_from_slice(bytes);
        (start, bytes.len())
    }

    pub(crate) fn insert_raw(&mut self, key: &str, bytes: &[u8]) {
        match self.find(key) {
            Ok(i) => {
                let e = self.index[i];
                if self.value_bytes(&e) == bytes {
                    return;
                }
                self.garbage += e.val.1;
                self.index[i].val = self.push(bytes);
            }
            Err(i) => {
                let entry = Entry {
                    key: self.push(key.as_bytes()),
                    val: self.push(bytes),
                };
                self.index.insert(i, entry);
            }
        }
        self.dirty = true;
        self.compact_if_wasteful();
    }

    /// Rewrites `buf` with only the live bytes once dead ones outweigh them (and 4 KiB).
    fn compact_if_wasteful(&mut self) {
        if self.garbage <= 4096 || self.garbage <= self.buf.len() - self.garbage {
            return;
        }
        let mut buf = Vec::with_capacity(self.buf.len() - self.garbage);
        for e in &mut self.index {
            for r in [&mut e.key, &mut e.val] {
                let start = buf.len();
                buf.extend_from_slice(&self.buf[range(*r)]);
                *r = (start, r.1);
            }
        }
        self.buf = buf;
        self.garbage = 0;
    }

    /// Removes `key`; returns whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.find(key) {
            Ok(i) => {
                let e = self.index.remove(i);
                self.garbage += e.key.1 + e.val.1;
                self.dirty = true;
                true
            }
            Err(_) => false,
        }
    }

    /// Removes `key` and returns its value as a `T`.
    ///
    /// # Errors
    /// As [`SessionData::get`]; the entry is removed either way.
    pub fn take<T: DeserializeOwned>(&mut self, key: &str) -> Result<Option<T>, DataError> {
        let value = self.get(key);
        self.remove(key);
        value
    }

    /// Removes every entry (keeps `created_at`).
    pub fn clear(&mut self) {
        if !self.index.is_empty() {
            self.index.clear();
            self.buf.clear();
            self.garbage = 0;
            self.dirty = true;
        }
    }

    /// Whether `key` is present.
    #[must_use]
    pub fn contains(&self, key: &str) -> bool {
        self.find(key).is_ok()
    }

    /// The keys, in sorted order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.index.iter().map(|e| self.key_str(e))
    }

    /// Each key with the encoded size of its value in bytes (for inspection tools).
    pub fn sizes(&self) -> impl Iterator<Item = (&str, usize)> {
        self.index.iter().map(|e| (self.key_str(e), e.val.1))
    }

    /// Number of entries.
    #[must_use]
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether there are no entries.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
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

    /// An estimate of the encoded payload size, to size buffers.
    pub(crate) fn encoded_len_hint(&self) -> usize {
        24 + self
            .index
            .iter()
            .map(|e| e.key.1 + e.val.1 + 4)
            .sum::<usize>()
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
            entries: EntriesRef(self),
        };
        let taken = std::mem::take(out);
        *out = postcard::to_extend(&payload, taken)?;
        Ok(())
    }

    /// Decodes the payload in `buf[range]`, keeping `buf` as the backing store; the whole
    /// range must be consumed and keys must be strictly increasing (as this crate writes them).
    pub(crate) fn decode_payload_in(buf: Vec<u8>, range: Range<usize>) -> Option<Self> {
        let bytes = buf.get(range)?;
        let base = buf.as_ptr() as usize;
        let (p, rest) = postcard::take_from_bytes::<PayloadBorrowed<'_>>(bytes).ok()?;
        if !rest.is_empty() {
            return None;
        }
        // Offsets of the borrowed slices within `buf` (safe address arithmetic, no unsafe).
        let offset = |s: &[u8]| (s.as_ptr() as usize - base, s.len());
        let index: Vec<Entry> = p
            .entries
            .0
            .iter()
            .map(|(k, v)| Entry {
                key: offset(k.as_bytes()),
                val: offset(v),
            })
            .collect();
        let sorted = p.entries.0.windows(2).all(|w| w[0].0 < w[1].0);
        if !sorted {
            return None;
        }
        let (created_at, expires_at, idle_secs) = (p.created_at, p.expires_at, p.idle_secs);
        let live: usize = index.iter().map(|e| e.key.1 + e.val.1).sum();
        Some(SessionData {
            garbage: buf.len() - live,
            buf,
            index,
            created_at: Some(created_at),
            expires_at,
            idle_secs,
            dirty: false,
        })
    }

    /// Decodes a payload from a slice (copies it).
    #[cfg(test)]
    pub(crate) fn decode_payload(bytes: &[u8]) -> Option<Self> {
        Self::decode_payload_in(bytes.to_vec(), 0..bytes.len())
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
        d.insert("a", "x").unwrap();
        let mut out = Vec::new();
        d.encode_payload(10, 20, &mut out).unwrap();
        let back = SessionData::decode_payload(&out).unwrap();
        assert_eq!(back.created_at, Some(10));
        assert_eq!(back.expires_at, 20);
        assert_eq!(
            back.entries().collect::<Vec<_>>(),
            d.entries().collect::<Vec<_>>()
        );
        out.push(0);
        assert!(SessionData::decode_payload(&out).is_none());
    }

    #[test]
    fn decoded_payload_can_be_changed_and_reencoded() {
        let mut d = SessionData::new();
        for k in ["b", "d", "f"] {
            d.insert(k, k).unwrap();
        }
        let mut out = vec![0xAA; 7]; // bytes before the payload, as in an opened cookie
        d.encode_payload(1, 2, &mut out).unwrap();
        let len = out.len();
        let mut back = SessionData::decode_payload_in(out, 7..len).unwrap();
        back.insert("a", "a").unwrap();
        back.insert("d", "changed").unwrap();
        assert!(back.remove("f"));
        assert_eq!(back.keys().collect::<Vec<_>>(), ["a", "b", "d"]);
        assert_eq!(back.get::<String>("d").unwrap().as_deref(), Some("changed"));
        let mut again = Vec::new();
        back.encode_payload(1, 2, &mut again).unwrap();
        let twice = SessionData::decode_payload(&again).unwrap();
        assert_eq!(twice, back);
    }

    #[test]
    fn unsorted_or_duplicate_keys_are_rejected() {
        // map of 2: "b" -> [0], "a" -> [0]
        let unsorted = [1, 2, 0, 2, 1, b'b', 1, 0, 1, b'a', 1, 0];
        assert!(SessionData::decode_payload(&unsorted).is_none());
        let duplicate = [1, 2, 0, 2, 1, b'a', 1, 0, 1, b'a', 1, 0];
        assert!(SessionData::decode_payload(&duplicate).is_none());
        let sorted = [1, 2, 0, 2, 1, b'a', 1, 0, 1, b'b', 1, 0];
        assert_eq!(SessionData::decode_payload(&sorted).unwrap().len(), 2);
    }

    #[test]
    fn rewriting_one_key_many_times_stays_compact() {
        let mut d = SessionData::new();
        for i in 0..10_000u32 {
            d.insert("blob", &vec![i; 64]).unwrap();
        }
        assert!(d.buf.len() < 3 * 4096 + 1024, "{}", d.buf.len());
        assert_eq!(d.get::<Vec<u32>>("blob").unwrap().unwrap(), vec![9_999; 64]);
    }
}
