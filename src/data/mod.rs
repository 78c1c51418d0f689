//! [`SessionData`]: string keys mapped to self-describing values, with timestamps.
//!
//! This layer knows nothing of crypto or HTTP. Values are encoded (MessagePack, structs as
//! maps of field names; see `value.rs` for the choice) when inserted and decoded when read, so
//! any `serde` type works, and a value that does not read as the requested type is a
//! [`DataError::Decode`] that names the key, never a panic; the value stays as it was (but
//! [`take`](SessionData::take) removes it either way).
//!
//! # Schema evolution: what survives a deploy
//! A value inserted with one version of a type reads back with the next when the change is
//! one of these (each is a test in `tests/values.rs`, through a real server in both modes):
//!
//! | change between deploys | reads back |
//! |---|---|
//! | a field appended with `#[serde(default)]` | yes: the default |
//! | an `Option` field added | yes: `None` |
//! | a field removed | yes: the stored field is ignored (unless `deny_unknown_fields`) |
//! | a field renamed with `#[serde(alias = "old")]` | yes |
//! | an enum variant added | yes: old values keep their variant (variants are stored by name) |
//! | `skip_serializing_if`, `#[serde(flatten)]`, untagged / internally / adjacently tagged enums | yes, byte containers (`Vec<u8>`, `[u8; N]`) inside them included |
//! | `serde_json::Value`, maps with string or integer keys, `u128`/`i128` | yes |
//! | a newtype (`struct UserId(u64)`) ↔ its plain type; `Vec` ↔ `HashSet`/`BTreeSet`; `String` → `Box<str>`; `u32` → `u64`/`i64`/`f64` | yes |
//! | `char`, `Duration`, `SystemTime`, `IpAddr`, `[u8; 16]` | yes |
//! | `#[serde(other)]` added to an enum | yes for unit variants (stored as their name); a removed variant with data is still an error |
//! | a field's type changed (`u32` → `String`), a field renamed without `alias`, a variant removed or renamed, a field removed under `deny_unknown_fields` | no: a `DataError::Decode` naming the key; the stored value stays until the handler replaces or removes it |
//!
//! The table reads one way: new code, old values. During a rolling deploy, and after a
//! rollback, the old build reads what the new one wrote, so the table must hold backwards
//! too: adding an `Option` or `#[serde(default)]` field is safe both ways, but a field
//! removed is refused by an old build that requires it, and neither a new enum variant nor a
//! name written under an `alias` reads in an old build. Ship the reading side (the variant,
//! the `default`, the `alias`) one deploy before the first write that needs it.
//!
//! Integers read into any integer type they fit (`u8` → `u64`, `u64` → `u128` are safe), with
//! these exceptions, all from how rmp-serde 1.3 writes 128-bit integers (as 16 bytes): a
//! stored `u128`/`i128` does not read as a narrower type even when it fits (`u128` → `u64`
//! fails), nor inside an untagged or internally tagged enum or a `flatten`ed struct (serde
//! buffers it as bytes there); and a negative integer read as `u128` is not refused but wraps
//! (`-1` reads as `u128::MAX`), so never change a signed field to `u128`. `Option<Option<T>>`
//! reads `Some(None)` back as `None` (as JSON does): use an enum for three states. Values sealed by
//! wire format v1 (postcard) still read with the type they were written with, and become
//! self-describing the next time the handler inserts them.
//!
//! # Representation
//! A map of owned strings to owned byte buffers would cost two allocations per entry on every
//! request that opens a cookie. Instead, an opened session keeps the decrypted plaintext buffer
//! as it is and an index of `(key, value)` byte ranges into it, sorted by key: opening costs
//! the index and nothing per entry. Inserts encode straight into the same buffer (replaced
//! bytes are compacted away once they outweigh the live ones).
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

mod changes;
mod expiry;
mod payload;
mod value;

use std::fmt;
use std::ops::Range;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::DataError;
pub(crate) use changes::{Changes, Patch};
pub use expiry::SessionExpiry;

/// The plaintext layout of a sealed session, as the wire format version names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Format {
    /// Wire format v1: postcard values with a length prefix each (read only).
    V1,
    /// Wire format v2: MessagePack values (written).
    V2,
}

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
    /// Unix seconds; 0 for no expiry. Not on the wire in v2: worked out from `written_at` and
    /// the current policy when opened (so a shorter timeout reaches cookies already issued).
    pub(crate) expires_at: u64,
    /// Unix seconds of the last write (seal); `None` until first sealed, and for a value of
    /// wire format v1 (which sealed `expires_at` instead).
    pub(crate) written_at: Option<u64>,
    /// The per-session expiry choice (`set_expiry`, `set_session_expiry`); `None`: the policy.
    pub(crate) expiry: Option<SessionExpiry>,
    /// Unix seconds of the last check of the session's auth stamp against the application
    /// (`SessionLayer::revalidate`); `None`: never checked (or no stamp).
    pub(crate) validated_at: Option<u64>,
    pub(crate) dirty: bool,
    /// What changed since opened (server mode merges exactly these onto a newer record).
    pub(crate) changes: Changes,
}

impl PartialEq for SessionData {
    /// Same entries and timestamps (the dirty flag and the buffer layout do not count).
    fn eq(&self, other: &Self) -> bool {
        self.created_at == other.created_at
            && self.written_at == other.written_at
            && self.expires_at == other.expires_at
            && self.expiry == other.expiry
            && self.validated_at == other.validated_at
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
            .field("written_at", &self.written_at)
            .field("expires_at", &self.expires_at)
            .field("expiry", &self.expiry)
            .field("validated_at", &self.validated_at)
            .field("dirty", &self.dirty)
            .finish_non_exhaustive()
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

    /// Stores `value` under `key` (MessagePack, structs as maps of field names). Storing the
    /// bytes already there does not mark the session dirty. A `HashMap` or `HashSet` read
    /// back and stored unchanged is not those bytes (its entries come out in another order in
    /// every request): use a `BTreeMap`/`BTreeSet`, or `Typed::update`, which stores nothing
    /// when its closure changed nothing.
    ///
    /// # Errors
    /// [`DataError::Encode`] if the value cannot be encoded (a `Serialize` impl that fails, or
    /// a value nested deeper than [`MAX_VALUE_DEPTH`](crate::limits::MAX_VALUE_DEPTH)); the
    /// session is unchanged then.
    ///
    /// The key may be a `&str` or a `String`; it is copied into the session's buffer (when
    /// new), and an owned `String` is made of it only for the error.
    pub fn insert<T: Serialize + ?Sized>(
        &mut self,
        key: impl AsRef<str> + Into<String>,
        value: &T,
    ) -> Result<(), DataError> {
        // Encoded straight into the backing buffer: no allocation per insert.
        let start = self.buf.len();
        if let Err(source) = value::encode(value, &mut self.buf) {
            return Err(DataError::Encode {
                key: key.into(),
                source,
            });
        }
        self.place(key.as_ref(), start);
        Ok(())
    }

    /// Reads `key` as a `T` (the default when absent), applies `f`, and stores the result,
    /// unless `f` left the value encoding to the bytes it had before `f` ran: then nothing is
    /// stored and the session stays clean. The value is encoded before and after `f`, not
    /// compared with the stored bytes, because a value read back may encode to other bytes
    /// though unchanged (a `HashMap`'s entries come out in another order in every process
    /// and request); a value that is absent is stored whatever `f` does.
    ///
    /// # Errors
    /// As [`get`](Self::get) (then `f` does not run and nothing is stored) and
    /// [`insert`](Self::insert).
    pub(crate) fn update<T, R>(
        &mut self,
        key: &str,
        f: impl FnOnce(&mut T) -> R,
    ) -> Result<R, DataError>
    where
        T: Serialize + DeserializeOwned + Default,
    {
        let Some(mut value) = self.get::<T>(key)? else {
            let mut value = T::default();
            let out = f(&mut value);
            self.insert(key, &value)?;
            return Ok(out);
        };
        // Both encodings go to the end of the buffer: no allocation of their own.
        let before = self.buf.len();
        let encode_error = |source| DataError::Encode {
            key: key.to_owned(),
            source,
        };
        value::encode(&value, &mut self.buf).map_err(encode_error)?;
        let after = self.buf.len();
        let out = f(&mut value);
        if let Err(source) = value::encode(&value, &mut self.buf) {
            self.buf.truncate(before);
            return Err(encode_error(source));
        }
        if self.buf[before..after] == self.buf[after..] {
            self.buf.truncate(before);
            return Ok(out);
        }
        self.buf.copy_within(after.., before);
        self.buf.truncate(self.buf.len() - (after - before));
        self.place(key, before);
        Ok(out)
    }

    /// Stores already encoded value bytes under `key` (a value of another copy of this
    /// session).
    pub(crate) fn insert_encoded(&mut self, key: &str, bytes: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(bytes);
        self.place(key, start);
    }

    /// Files the value encoded at `buf[start..]` under `key`; records the change unless the
    /// bytes were already there.
    fn place(&mut self, key: &str, start: usize) {
        let val = (start, self.buf.len() - start);
        match self.find(key) {
            Ok(i) => {
                let old = self.index[i].val;
                if self.buf[range(old)] == self.buf[range(val)] {
                    self.buf.truncate(start);
                    return;
                }
                self.garbage += old.1;
                self.index[i].val = val;
            }
            Err(i) => {
                let entry = Entry {
                    key: self.push(key.as_bytes()),
                    val,
                };
                self.index.insert(i, entry);
            }
        }
        self.changes.key(key);
        self.dirty = true;
        self.compact_if_wasteful();
    }

    fn push(&mut self, bytes: &[u8]) -> (usize, usize) {
        let start = self.buf.len();
        self.buf.extend_from_slice(bytes);
        (start, bytes.len())
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
                self.changes.key(key);
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
            self.changes.clear();
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

    /// Expiry time in Unix seconds (0: none): as of the last seal, or, for an opened session,
    /// as the current policy computes it from the last write.
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
    /// inside the sealed value. The same as
    /// [`set_session_expiry`](Self::set_session_expiry)`(idle.map(SessionExpiry::idle))`.
    pub fn set_idle_timeout(&mut self, idle: Option<std::time::Duration>) {
        self.set_session_expiry(idle.map(SessionExpiry::idle));
    }

    /// The per-session idle timeout override (`None` also when another [`SessionExpiry`] was
    /// chosen).
    #[must_use]
    pub fn idle_timeout(&self) -> Option<std::time::Duration> {
        match self.expiry {
            Some(SessionExpiry::Idle(s)) => Some(std::time::Duration::from_secs(u64::from(s))),
            _ => None,
        }
    }

    /// Chooses how this session expires (`None`: back to the configured policy); capped by
    /// the absolute timeout whatever the choice. Stored inside the sealed value; marks the
    /// session dirty when it changes.
    ///
    /// ```
    /// use sealed_session::data::{SessionData, SessionExpiry};
    /// let mut data = SessionData::new();
    /// data.set_session_expiry(Some(SessionExpiry::BrowserSession));
    /// assert_eq!(data.session_expiry(), Some(SessionExpiry::BrowserSession));
    /// assert!(data.is_dirty());
    /// ```
    pub fn set_session_expiry(&mut self, expiry: Option<SessionExpiry>) {
        if expiry != self.expiry {
            self.expiry = expiry;
            self.dirty = true;
            self.changes.expiry();
        }
    }

    /// The per-session expiry choice, if any.
    #[must_use]
    pub fn session_expiry(&self) -> Option<SessionExpiry> {
        self.expiry
    }

    /// When the session's auth stamp was last checked (Unix seconds), if it has one: set at
    /// login by `Session::set_auth_stamp` and by each passed check of
    /// `SessionLayer::revalidate`.
    #[must_use]
    pub fn validated_at(&self) -> Option<u64> {
        self.validated_at
    }

    /// An estimate of the encoded payload size, to size buffers.
    pub(crate) fn encoded_len_hint(&self) -> usize {
        24 + self
            .index
            .iter()
            .map(|e| e.key.1 + e.val.1 + 2)
            .sum::<usize>()
    }

    /// The payload in the current format (wire format v2) for a write at `written_at`,
    /// appended to `out`.
    pub(crate) fn encode_payload(
        &self,
        created_at: u64,
        written_at: u64,
        out: &mut Vec<u8>,
    ) -> Result<(), postcard::Error> {
        let header = payload::Header {
            created_at,
            written_at,
            expiry: self.expiry,
            validated_at: self.validated_at,
        };
        payload::encode_header(&header, self.index.len(), out)?;
        for e in &self.index {
            payload::encode_key(self.key_bytes(e), out)?;
            out.extend_from_slice(self.value_bytes(e));
        }
        Ok(())
    }

    /// Decodes the payload in `buf[range]`, written in `format`. A v2 payload keeps `buf` as
    /// the backing store. The whole range must be consumed and keys must be strictly
    /// increasing (as this crate writes them).
    pub(crate) fn decode_payload_in(
        format: Format,
        buf: Vec<u8>,
        range: Range<usize>,
    ) -> Option<Self> {
        let decoded = match format {
            Format::V2 => payload::decode_v2(buf, range)?,
            Format::V1 => payload::decode_v1(&buf, range)?,
        };
        // `into_iter` + `collect` between types of one size and alignment reuses the
        // decoder's allocation (std's in-place collect): one `Vec` per open, not two.
        let index: Vec<Entry> = decoded
            .entries
            .into_iter()
            .map(|e| Entry {
                key: (e.key.start, e.key.len()),
                val: (e.value.start, e.value.len()),
            })
            .collect();
        // Keys are UTF-8: v2 keys were read as `str`, v1 keys too.
        let live: usize = index.iter().map(|e| e.key.1 + e.val.1).sum();
        Some(SessionData {
            garbage: decoded.buf.len() - live,
            buf: decoded.buf,
            index,
            created_at: Some(decoded.created_at),
            expires_at: decoded.expires_at,
            written_at: decoded.written_at,
            expiry: decoded.expiry,
            validated_at: decoded.validated_at,
            dirty: false,
            changes: Changes::default(),
        })
    }

    /// Decodes a current-format payload from a slice (copies it).
    #[cfg(test)]
    pub(crate) fn decode_payload(bytes: &[u8]) -> Option<Self> {
        Self::decode_payload_in(Format::V2, bytes.to_vec(), 0..bytes.len())
    }
}

impl SessionData {
    /// The changes made to this data, with the values they left.
    pub(crate) fn patch(&self) -> Patch {
        let c = &self.changes;
        Patch {
            cleared: c.cleared,
            entries: c
                .keys()
                .map(|k| {
                    let value = self.find(k).ok().map(|i| self.value_bytes(&self.index[i]));
                    (k.to_owned(), value.map(<[u8]>::to_vec))
                })
                .collect(),
            set_expiry: c.expiry,
            expiry: self.expiry,
            set_validated_at: c.validated,
            validated_at: self.validated_at,
        }
    }

    /// Sets the time of the last auth-stamp check (Unix seconds).
    pub(crate) fn set_validated_at(&mut self, at: u64) {
        self.validated_at = Some(at);
        self.changes.validated();
        self.dirty = true;
    }

    /// Applies `patch` (another copy's changes) to this data, the latest stored copy: the
    /// keys the patch set take its values, the keys it removed are removed, every other key
    /// keeps its value here (unless the patch cleared the session: then only its own keys
    /// remain).
    pub(crate) fn apply(&mut self, patch: &Patch) {
        if patch.cleared {
            self.clear();
        }
        for (key, value) in &patch.entries {
            match value {
                Some(bytes) => self.insert_encoded(key, bytes),
                None => {
                    self.remove(key);
                }
            }
        }
        if patch.set_expiry {
            self.set_session_expiry(patch.expiry);
        }
        if patch.set_validated_at {
            self.validated_at = patch.validated_at;
        }
        self.dirty = true;
    }
}

fn decode_value<T: DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, DataError> {
    value::decode(bytes).map_err(|source| DataError::Decode {
        key: key.to_owned(),
        source,
    })
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
    fn an_update_that_changes_nothing_stores_nothing_even_for_a_hash_map() {
        use std::collections::HashMap;
        let mut d = SessionData::new();
        let map: HashMap<String, u32> = (0..16).map(|i| (i.to_string(), i)).collect();
        d.insert("m", &map).unwrap();
        d.dirty = false;
        d.changes = Changes::default();
        let len = d.buf.len();
        for _ in 0..3 {
            let n = d
                .update("m", |m: &mut HashMap<String, u32>| m.len())
                .unwrap();
            assert_eq!(n, 16);
        }
        assert!(!d.is_dirty());
        assert_eq!(d.changes.keys().count(), 0);
        assert_eq!(d.buf.len(), len, "nothing left behind in the buffer");
        // A change is stored, in place of the old value.
        d.update("m", |m: &mut HashMap<String, u32>| m.insert("x".into(), 99))
            .unwrap();
        assert!(d.is_dirty());
        assert_eq!(
            d.get::<HashMap<String, u32>>("m").unwrap().unwrap()["x"],
            99
        );
        assert_eq!(
            d.get::<HashMap<String, u32>>("m").unwrap().unwrap().len(),
            17
        );
        // Absent: the default is stored, whatever the closure does.
        d.update("n", |_: &mut u8| ()).unwrap();
        assert_eq!(d.get::<u8>("n").unwrap(), Some(0));
        // Unreadable: the closure does not run, nothing changes.
        d.insert("s", "text").unwrap();
        let before = d.clone();
        let ran = std::cell::Cell::new(false);
        assert!(matches!(
            d.update("s", |_: &mut u32| ran.set(true)),
            Err(DataError::Decode { .. })
        ));
        assert!(!ran.get());
        assert_eq!(d, before);
        assert_eq!(d.buf.len(), before.buf.len());
    }

    /// A closure that panics inside `update` stores nothing: the value is as it was, and the
    /// data goes on working (what `Session`'s lock relies on when it recovers from poison).
    #[test]
    fn a_panicking_update_closure_stores_nothing() {
        let mut d = SessionData::new();
        d.insert("n", &1u32).unwrap();
        d.dirty = false;
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            d.update("n", |n: &mut u32| {
                *n = 2;
                panic!("in the closure");
            })
        }));
        assert!(panicked.is_err());
        assert_eq!(d.get::<u32>("n").unwrap(), Some(1));
        assert!(!d.is_dirty());
        d.update("n", |n: &mut u32| *n = 3).unwrap();
        assert_eq!(d.get::<u32>("n").unwrap(), Some(3));
        let mut out = Vec::new();
        d.encode_payload(1, 2, &mut out).unwrap();
        let back = SessionData::decode_payload(&out).unwrap();
        assert_eq!(back.get::<u32>("n").unwrap(), Some(3));
        assert_eq!(back.len(), 1);
    }

    /// `get` leaves a value that does not read; `take` removes it either way (what the docs
    /// say of each).
    #[test]
    fn get_leaves_an_unreadable_value_and_take_removes_it() {
        let mut d = SessionData::new();
        d.insert("k", "text").unwrap();
        assert!(d.get::<u32>("k").is_err());
        assert!(d.contains("k"));
        assert!(matches!(
            d.take::<u32>("k"),
            Err(DataError::Decode { key, .. }) if key == "k"
        ));
        assert!(!d.contains("k"));
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
        assert_eq!(back.written_at, Some(20));
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
        let mut back = SessionData::decode_payload_in(Format::V2, out, 7..len).unwrap();
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
    fn session_expiry_header_bytes_are_pinned() {
        // created 1, written 2, then the option and the enum as postcard writes them, no entry.
        let cases: [(Option<SessionExpiry>, &[u8]); 5] = [
            (None, &[1, 2, 0x00, 0x00, 0]),
            (
                Some(SessionExpiry::Idle(600)),
                &[1, 2, 0x01, 0x00, 0xd8, 0x04, 0x00, 0],
            ),
            (
                Some(SessionExpiry::BrowserSession),
                &[1, 2, 0x01, 0x01, 0x00, 0],
            ),
            (
                Some(SessionExpiry::Until(1_700_000_000)),
                &[1, 2, 0x01, 0x02, 0x80, 0xe2, 0xcf, 0xaa, 0x06, 0x00, 0],
            ),
            (
                Some(SessionExpiry::Idle(0)),
                &[1, 2, 0x01, 0x00, 0x00, 0x00, 0],
            ),
        ];
        for (expiry, bytes) in cases {
            let mut d = SessionData::new();
            d.set_session_expiry(expiry);
            let mut out = Vec::new();
            d.encode_payload(1, 2, &mut out).unwrap();
            assert_eq!(out, bytes, "{expiry:?}");
            let back = SessionData::decode_payload(bytes).unwrap();
            assert_eq!(back.session_expiry(), expiry);
        }
        // An unknown variant is malformed.
        assert!(SessionData::decode_payload(&[1, 2, 0x01, 0x03, 0x00, 0]).is_none());
    }

    #[test]
    fn validated_at_header_bytes_are_pinned() {
        let mut d = SessionData::new();
        d.validated_at = Some(1_700_000_000);
        let mut out = Vec::new();
        d.encode_payload(1, 2, &mut out).unwrap();
        let bytes = [1, 2, 0x00, 0x01, 0x80, 0xe2, 0xcf, 0xaa, 0x06, 0];
        assert_eq!(out, bytes);
        let back = SessionData::decode_payload(&bytes).unwrap();
        assert_eq!(back.validated_at, Some(1_700_000_000));
    }

    #[test]
    fn v1_idle_override_reads_as_an_idle_choice() {
        // created 1, expires 2, idle Some(600), empty map.
        let v1 = [1, 2, 0x01, 0xd8, 0x04, 0];
        let d = SessionData::decode_payload_in(Format::V1, v1.to_vec(), 0..v1.len()).unwrap();
        assert_eq!(d.session_expiry(), Some(SessionExpiry::Idle(600)));
        assert_eq!(d.idle_timeout(), Some(std::time::Duration::from_mins(10)));
    }

    #[test]
    fn unsorted_or_duplicate_keys_are_rejected() {
        // created 1, written 2, no expiry choice, never validated, 2 entries: "b" -> 0,
        // "a" -> 0 (MessagePack fixint 0)
        let unsorted = [1, 2, 0, 0, 2, 1, b'b', 0, 1, b'a', 0];
        assert!(SessionData::decode_payload(&unsorted).is_none());
        let duplicate = [1, 2, 0, 0, 2, 1, b'a', 0, 1, b'a', 0];
        assert!(SessionData::decode_payload(&duplicate).is_none());
        let sorted = [1, 2, 0, 0, 2, 1, b'a', 0, 1, b'b', 0];
        assert_eq!(SessionData::decode_payload(&sorted).unwrap().len(), 2);
        // v1: map of 2: "b" -> bytes [0], "a" -> bytes [0]
        let v1 = |b: &[u8]| SessionData::decode_payload_in(Format::V1, b.to_vec(), 0..b.len());
        assert!(v1(&[1, 2, 0, 2, 1, b'b', 1, 0, 1, b'a', 1, 0]).is_none());
        assert_eq!(
            v1(&[1, 2, 0, 2, 1, b'a', 1, 0, 1, b'b', 1, 0])
                .unwrap()
                .len(),
            2
        );
    }

    #[test]
    fn a_claimed_entry_count_beyond_the_input_is_refused_before_allocating() {
        // count = 2^60 with three bytes of input left.
        let mut p = vec![1, 2, 0, 0];
        p.extend_from_slice(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]);
        p.extend_from_slice(&[1, b'a', 0]);
        assert!(SessionData::decode_payload(&p).is_none());
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

    /// A session with `a = 1u8`, `b = "x"`, created at 10, expiring at 20, idle 30 s.
    fn sample() -> SessionData {
        let mut d = SessionData::new();
        d.insert("b", "x").unwrap();
        d.insert("a", &1u8).unwrap();
        d.created_at = Some(10);
        d.written_at = Some(15);
        d.expires_at = 20;
        d.expiry = Some(SessionExpiry::Idle(30));
        d
    }

    #[test]
    fn sessions_with_the_same_entries_and_timestamps_are_equal_whatever_their_layout() {
        let d = sample();
        let mut out = vec![0xAA; 3];
        d.encode_payload(10, 15, &mut out).unwrap();
        let len = out.len();
        let mut back = SessionData::decode_payload_in(Format::V2, out, 3..len).unwrap();
        back.expires_at = 20;
        assert_ne!(back.buf, d.buf);
        assert_ne!(back.dirty, d.dirty);
        assert_eq!(back, d);
    }

    #[test]
    fn sessions_differing_in_one_value_one_key_or_one_timestamp_are_not_equal() {
        let d = sample();
        assert_eq!(d, sample());

        let mut other = sample();
        other.insert("b", "y").unwrap();
        assert_ne!(other, d, "one value");

        let mut other = sample();
        other.remove("b");
        other.insert("c", "x").unwrap();
        assert_ne!(other, d, "one key");

        let mut other = sample();
        other.remove("b");
        assert_ne!(other, d, "one entry fewer");

        let mut other = sample();
        other.created_at = Some(11);
        assert_ne!(other, d, "created_at");

        let mut other = sample();
        other.expires_at = 21;
        assert_ne!(other, d, "expires_at");

        let mut other = sample();
        other.expiry = None;
        assert_ne!(other, d, "idle timeout");

        let mut other = sample();
        other.written_at = Some(16);
        assert_ne!(other, d, "written_at");
    }

    #[test]
    fn entries_are_the_keys_in_order_with_their_messagepack_bytes() {
        let d = sample();
        let expected: [(&str, &[u8]); 2] = [("a", &[0x01]), ("b", &[0xa1, b'x'])];
        assert_eq!(d.entries().collect::<Vec<_>>(), expected);
        assert_eq!(SessionData::new().entries().count(), 0);
    }

    /// Replaces `k` (whose value encodes to `old_len` bytes, a MessagePack str16) with a
    /// two-byte value, after an entry `a` whose value encodes to `live_len` bytes (0: none).
    fn replaced(old_len: usize, live_len: usize) -> SessionData {
        let mut d = SessionData::new();
        d.insert("k", &"o".repeat(old_len - 3)).unwrap();
        if live_len > 0 {
            d.insert("a", &"l".repeat(live_len - 3)).unwrap();
        }
        d.insert("k", "x").unwrap();
        d
    }

    #[test]
    fn compaction_starts_once_unused_bytes_pass_4096() {
        // 4096 unused bytes, 3 live ("k" and "x"): kept as it is.
        let d = replaced(4096, 0);
        assert_eq!(d.garbage, 4096);
        assert_eq!(d.buf.len(), 4096 + 1 + 2);
        // 4097 unused bytes: rewritten with the live bytes only.
        let d = replaced(4097, 0);
        assert_eq!(d.garbage, 0);
        assert_eq!(d.buf.len(), 3);
        assert_eq!(d.get::<String>("k").unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn compaction_starts_once_unused_bytes_outweigh_the_live_ones() {
        // 5000 unused bytes, 5000 live (1 + 4996 for "a", 1 + 2 for "k"): kept.
        let d = replaced(5000, 4996);
        assert_eq!(d.garbage, 5000);
        assert_eq!(d.buf.len(), 10_000);
        // 5000 unused bytes, 4999 live: rewritten.
        let d = replaced(5000, 4995);
        assert_eq!(d.garbage, 0);
        assert_eq!(d.buf.len(), 4999);
        assert_eq!(d.get::<String>("a").unwrap().unwrap().len(), 4992);
        assert_eq!(d.get::<String>("k").unwrap().as_deref(), Some("x"));
    }

    #[test]
    fn remove_counts_the_key_and_value_bytes_as_unused() {
        let mut d = SessionData::new();
        d.insert("ab", "xyz").unwrap();
        assert!(d.remove("ab"));
        assert_eq!(d.garbage, 2 + 4);

        // Removing 4097 bytes (key "k" and a 4096-byte value) makes the next insert compact.
        let mut d = SessionData::new();
        d.insert("k", &"o".repeat(4093)).unwrap();
        assert!(d.remove("k"));
        assert_eq!(d.garbage, 4097);
        d.insert("n", &1u8).unwrap();
        assert_eq!(d.buf.len(), 2);
    }

    #[test]
    fn debug_shows_key_names_and_sizes_but_no_value() {
        let mut d = sample();
        d.insert("token", "hunter2").unwrap();
        let shown = format!("{d:?}");
        assert_eq!(
            shown,
            "SessionData { entries: [(\"a\", 1), (\"b\", 2), (\"token\", 8)], \
             created_at: Some(10), written_at: Some(15), expires_at: 20, expiry: Some(Idle(30)), \
             validated_at: None, dirty: true, .. }"
        );
        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn a_patch_carries_only_the_touched_keys_onto_another_copy() {
        let mut base = SessionData::new();
        base.insert("kept", &1u8).unwrap();
        base.insert("gone", &2u8).unwrap();
        base.insert("set", &3u8).unwrap();
        let mut ours = base.clone();
        ours.changes = Changes::default();
        ours.insert("set", &30u8).unwrap();
        ours.insert("new", &4u8).unwrap();
        assert!(ours.remove("gone"));
        assert!(!ours.remove("never-there"));
        // Meanwhile another request changed `kept` and added `theirs`.
        base.insert("kept", &10u8).unwrap();
        base.insert("theirs", &5u8).unwrap();
        base.apply(&ours.patch());
        assert_eq!(
            base.keys().collect::<Vec<_>>(),
            ["kept", "new", "set", "theirs"]
        );
        assert_eq!(base.get::<u8>("kept").unwrap(), Some(10));
        assert_eq!(base.get::<u8>("set").unwrap(), Some(30));
        assert_eq!(base.get::<u8>("new").unwrap(), Some(4));
    }

    #[test]
    fn a_cleared_patch_keeps_only_its_own_keys_and_header_changes_travel() {
        let mut base = SessionData::new();
        base.insert("a", &1u8).unwrap();
        let mut ours = base.clone();
        ours.changes = Changes::default();
        // Meanwhile another request added `c`: cleared too, as this request asked.
        base.insert("c", &3u8).unwrap();
        ours.clear();
        ours.insert("b", &2u8).unwrap();
        ours.set_session_expiry(Some(SessionExpiry::BrowserSession));
        ours.set_validated_at(77);
        base.apply(&ours.patch());
        assert_eq!(base.keys().collect::<Vec<_>>(), ["b"]);
        assert_eq!(base.session_expiry(), Some(SessionExpiry::BrowserSession));
        assert_eq!(base.validated_at(), Some(77));
        // Untouched header fields keep the base's values.
        let mut base2 = SessionData::new();
        base2.set_session_expiry(Some(SessionExpiry::Idle(60)));
        base2.apply(&SessionData::new().patch());
        assert_eq!(base2.session_expiry(), Some(SessionExpiry::Idle(60)));
    }
}
