//! The plaintext of a sealed session (and of a server-mode record), by wire format version.
//!
//! ```text
//! v2 = postcard( created_at:varint, written_at:varint, expiry:option<SessionExpiry>,
//!                validated_at:option<varint>, count:varint )
//!      ‖ count × ( key: postcard str ‖ value: one MessagePack value )       keys strictly increasing
//! SessionExpiry = 0x00 idle_secs:varint(u32)  |  0x01 (browser session)  |  0x02 until:varint(u64)
//! v1 = postcard( created_at:varint, expires_at:varint, idle_secs:option<varint>,
//!                entries: map<str, bytes> )                                 values postcard-encoded
//! ```
//!
//! `option<T>` is postcard's: `0x00` for none, `0x01` then `T`; an enum is its variant index
//! (a varint) then its field. A v1 `idle_secs` reads as `SessionExpiry::Idle`. `validated_at`
//! is when the session's auth stamp was last checked (Unix seconds; v1 has none).
//!
//! MessagePack values delimit themselves, so v2 needs no length prefix per value. v2 records
//! when the session was last written instead of when it expires: the expiry is worked out
//! when it is opened, from the policy in force then. Both
//! decoders keep nothing from the input but ranges into it (v1 values are re-wrapped, see
//! [`value`](super::value)), consume the whole input, allocate at most in proportion to it,
//! and refuse unsorted or repeated keys.

use std::fmt;
use std::ops::Range;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::value;
use super::SessionExpiry;

/// One decoded entry: the key and value ranges in the buffer that holds them.
pub(super) struct RawEntry {
    pub key: Range<usize>,
    pub value: Range<usize>,
}

/// A decoded payload: its fields and its entries as ranges into `buf`.
pub(super) struct Decoded {
    pub buf: Vec<u8>,
    pub created_at: u64,
    /// v2: the last write; v1: `None`.
    pub written_at: Option<u64>,
    /// v1: the sealed expiry; v2: 0 (worked out by the sealer).
    pub expires_at: u64,
    pub expiry: Option<SessionExpiry>,
    /// v2: the last auth-stamp check; v1: `None`.
    pub validated_at: Option<u64>,
    pub entries: Vec<RawEntry>,
}

/// The header of a v2 payload.
type HeaderV2 = (u64, u64, Option<SessionExpiry>, Option<u64>, u64);

/// The fields of a v2 header before the entry count.
pub(super) struct Header {
    pub created_at: u64,
    pub written_at: u64,
    pub expiry: Option<SessionExpiry>,
    pub validated_at: Option<u64>,
}

/// Appends the v2 header for `count` entries.
pub(super) fn encode_header(
    h: &Header,
    count: usize,
    out: &mut Vec<u8>,
) -> Result<(), postcard::Error> {
    let header: HeaderV2 = (
        h.created_at,
        h.written_at,
        h.expiry,
        h.validated_at,
        count as u64,
    );
    let taken = std::mem::take(out);
    *out = postcard::to_extend(&header, taken)?;
    Ok(())
}

/// Appends a key as postcard writes a `str` (varint length, then the bytes).
pub(super) fn encode_key(key: &[u8], out: &mut Vec<u8>) -> Result<(), postcard::Error> {
    let taken = std::mem::take(out);
    *out = postcard::to_extend(serde_bytes::Bytes::new(key), taken)?;
    Ok(())
}

/// Offset and length of `part` within `whole` (a subslice of it).
fn range_in(whole: &[u8], part: &[u8]) -> Range<usize> {
    let start = part.as_ptr() as usize - whole.as_ptr() as usize;
    start..start + part.len()
}

/// Decodes a v2 payload in `buf[range]`.
pub(super) fn decode_v2(buf: Vec<u8>, range: Range<usize>) -> Option<Decoded> {
    let bytes = buf.get(range)?;
    let ((created_at, written_at, expiry, validated_at, count), mut rest) =
        postcard::take_from_bytes::<HeaderV2>(bytes).ok()?;
    // Every entry takes at least two bytes: a claimed count beyond that is malformed, and
    // nothing is sized from it before this check.
    let count = usize::try_from(count).ok()?;
    if count > rest.len() / 2 {
        return None;
    }
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let (key, after_key) = postcard::take_from_bytes::<&str>(rest).ok()?;
        let len = value::skip(after_key)?;
        let (val, after) = after_key.split_at_checked(len)?;
        entries.push(RawEntry {
            key: range_in(&buf, key.as_bytes()),
            value: range_in(&buf, val),
        });
        rest = after;
    }
    if !rest.is_empty() || !sorted(&buf, &entries) {
        return None;
    }
    Some(Decoded {
        buf,
        created_at,
        written_at: Some(written_at),
        expires_at: 0,
        expiry,
        validated_at,
        entries,
    })
}

/// Decodes a v1 payload in `buf[range]`; its postcard values are re-wrapped into a new
/// buffer as legacy MessagePack values.
pub(super) fn decode_v1(buf: &[u8], range: Range<usize>) -> Option<Decoded> {
    let bytes = buf.get(range)?;
    let (p, rest) = postcard::take_from_bytes::<PayloadV1<'_>>(bytes).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() + 6 * p.entries.0.len());
    let mut entries = Vec::with_capacity(p.entries.0.len());
    for (key, val) in &p.entries.0 {
        let key_start = out.len();
        out.extend_from_slice(key.as_bytes());
        let value_start = out.len();
        value::wrap_legacy(val, &mut out)?;
        entries.push(RawEntry {
            key: key_start..value_start,
            value: value_start..out.len(),
        });
    }
    if !sorted(&out, &entries) {
        return None;
    }
    Some(Decoded {
        buf: out,
        created_at: p.created_at,
        written_at: None,
        expires_at: p.expires_at,
        expiry: p.idle_secs.map(SessionExpiry::Idle),
        validated_at: None,
        entries,
    })
}

fn sorted(buf: &[u8], entries: &[RawEntry]) -> bool {
    entries
        .windows(2)
        .all(|w| buf[w[0].key.clone()] < buf[w[1].key.clone()])
}

#[derive(Deserialize)]
struct PayloadV1<'a> {
    created_at: u64,
    expires_at: u64,
    idle_secs: Option<u32>,
    #[serde(borrow)]
    entries: EntriesV1<'a>,
}

/// The v1 entries as slices of the input, in the order encoded.
struct EntriesV1<'a>(Vec<(&'a str, &'a [u8])>);

impl<'de: 'a, 'a> Deserialize<'de> for EntriesV1<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = EntriesV1<'a>;
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
                Ok(EntriesV1(out))
            }
        }
        deserializer.deserialize_map(V(std::marker::PhantomData))
    }
}
