//! Session values: one MessagePack value each, structs as maps with their field names.
//!
//! # Why MessagePack, with named fields
//! A value must read back after the deploys people make: a field appended (with
//! `#[serde(default)]` or as an `Option`), a field removed, a new enum variant,
//! `skip_serializing_if`, `#[serde(flatten)]`, untagged and internally tagged enums,
//! `serde_json::Value`. All of these need a *self-describing* encoding (the decoder can say
//! what comes next, serde's `deserialize_any`) and structs written as maps of field names
//! (a positional encoding cannot tell an added `Option` from a removed field). postcard, the
//! wire format v1 value encoding, is neither, so values inserted with one struct failed to
//! read with the next.
//!
//! Among the self-describing compact formats measured (BENCHMARKS.md, "Value encodings"),
//! MessagePack through `rmp-serde` gave the shortest typical cookie: small integers are one
//! byte (CBOR spends two on 24–255), strings and arrays carry a one-byte header up to 31 / 15
//! elements, and every value is self-delimiting, so the envelope needs no length prefix per
//! value (which paid for most of the difference to postcard). Containers of bytes (`Vec<u8>`,
//! `[u8; N]`) are arrays of integers (rmp-serde's `BytesMode::Normal`; up to two bytes per
//! byte), and `serde_bytes` types (`ByteBuf`, `#[serde(with = "serde_bytes")]`) are `bin`, one
//! byte per byte: use those for large byte fields, as this crate does for its CSRF secret.
//! Until 2026-12-02 every byte container was `bin` (`BytesMode::ForceAll`), which is shorter
//! but wrong where serde buffers a value before choosing its type (untagged and internally
//! tagged enums, `flatten`, `serde_json::Value`): the buffer keeps `bin` as bytes, which
//! `Vec<u8>` refuses, so an untagged `Raw(Vec<u8>) | Name(String)` read back as `Name` or
//! not at all. `bin` written then still reads back as any sequence of integers.
//! `rmp-serde` is the maintained serde binding of the Rust MessagePack
//! implementation; enum variants are written by name, so adding a variant never shifts the
//! others. `ciborium` (CBOR) reads the same cases but is longer; `minicbor-serde` likewise.
//!
//! # Bounds
//! Decoding reads from the authenticated plaintext only, never allocates more than the
//! input holds (strings and byte strings are borrowed from it, a claimed length past its end
//! fails before anything is read), and nests at
//! most [`MAX_VALUE_DEPTH`](crate::limits::MAX_VALUE_DEPTH) levels deep.
//!
//! # Values from wire format v1
//! A cookie sealed by the previous release holds postcard values. They are carried as a
//! MessagePack extension value of type [`LEGACY_POSTCARD`] wrapping the postcard bytes, read
//! with postcard on `get`, and written back in that form until the handler inserts the key
//! again (then the value is MessagePack like any other).

use serde::de::DeserializeOwned;
use serde::Deserialize as _;
use serde::Serialize;
use std::fmt;

use crate::error::ValueError;
use crate::limits::MAX_VALUE_DEPTH;

/// MessagePack extension type of a postcard value carried over from wire format v1.
pub(crate) const LEGACY_POSTCARD: i8 = 1;

/// `value` as one MessagePack value, structs as maps of field names, appended to `out`.
pub(crate) fn encode<T: Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
) -> Result<(), ValueError> {
    let start = out.len();
    let mut se = rmp_serde::Serializer::new(&mut *out)
        .with_struct_map()
        .with_bytes(rmp_serde::config::BytesMode::Normal);
    // rmp-serde 1.3 stores this bound but never checks it (its serializer keeps no depth
    // count; found by mutation testing: changing it changes nothing). The bound on what is
    // written is the `skip` check below, after the value is encoded.
    se.unstable_set_max_depth(MAX_VALUE_DEPTH + 8);
    let mut written = value.serialize(&mut se).map_err(|e| ValueError::new(&e));
    // What is written must frame on the way out: `skip` (and so `open`) is the authority on
    // depth, and costs one walk over the new bytes, no allocation.
    if written.is_ok() && skip(&out[start..]) != Some(out.len() - start) {
        written = Err(ValueError::from_reason(format!(
            "the value nests deeper than {MAX_VALUE_DEPTH} levels"
        )));
    }
    if written.is_err() {
        out.truncate(start);
    }
    written
}

/// A deserializer over exactly `bytes`, bounded in depth. It reads from the slice itself:
/// strings and byte strings are handed to the visitor borrowed, not copied into a scratch
/// buffer first (rmp-serde's `Read`-based reader allocates one per value and copies every
/// string through it: about 1 700 instructions of issue 13's typical request).
fn deserializer(
    bytes: &[u8],
) -> rmp_serde::Deserializer<rmp_serde::decode::ReadRefReader<'_, [u8]>> {
    let mut de = rmp_serde::Deserializer::from_read_ref(bytes);
    // `skip` bounds the nesting of what `open` accepts at `MAX_VALUE_DEPTH`; rmp-serde counts
    // some levels twice (a newtype, an enum variant), so its own bound is looser, and still a
    // bound on the recursion.
    de.set_max_depth(2 * MAX_VALUE_DEPTH);
    de
}

/// Reads `bytes` (exactly one stored value) as a `T`.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ValueError> {
    if let Some(postcard_bytes) = legacy(bytes) {
        return match postcard::take_from_bytes::<T>(postcard_bytes) {
            Ok((v, [])) => Ok(v),
            Ok(_) => Err(ValueError::from_reason(
                "the value has bytes left over after one value of the requested type".into(),
            )),
            Err(e) => Err(ValueError::new(&e)),
        };
    }
    let mut de = deserializer(bytes);
    let value = T::deserialize(&mut de).map_err(|e| ValueError::decode(&e, bytes))?;
    // The slice reader keeps its position to itself: the value ended exactly at the end of
    // `bytes` when not even one more marker can be read.
    match serde::de::IgnoredAny::deserialize(&mut de) {
        Err(rmp_serde::decode::Error::InvalidMarkerRead(e))
            if e.kind() == std::io::ErrorKind::UnexpectedEof =>
        {
            Ok(value)
        }
        _ => Err(ValueError::from_reason(
            "the value has bytes left over after one value of the requested type".into(),
        )),
    }
}

/// The length of the one MessagePack value at the start of `bytes` (`None`: not a whole,
/// well-formed value within the depth bound).
///
/// It walks markers and lengths with `rmp`'s readers, without decoding anything: no
/// allocation, no copy, no UTF-8 check (a string is checked when it is read as one), and no
/// recursion (a fixed stack of [`MAX_VALUE_DEPTH`] counters). A claimed length or element
/// count beyond the input fails at once, before it is used.
// One arm per marker family, as the MessagePack spec lists them, even where two families
// happen to have the same sizes.
#[allow(clippy::match_same_arms)]
pub(crate) fn skip(bytes: &[u8]) -> Option<usize> {
    use rmp::decode::RmpRead as _;
    use rmp::Marker as M;

    let mut rd = bytes;
    // `pending[d]`: values still to skip at depth `d`; depth 0 is the value itself.
    let mut pending = [0u64; MAX_VALUE_DEPTH + 1];
    pending[0] = 1;
    let mut depth = 0;
    loop {
        while pending[depth] == 0 {
            if depth == 0 {
                return Some(bytes.len() - rd.len());
            }
            depth -= 1;
        }
        pending[depth] -= 1;
        let len = |n: u32| usize::try_from(n).ok();
        let (payload, children): (usize, u64) = match rmp::decode::read_marker(&mut rd).ok()? {
            M::FixPos(_) | M::FixNeg(_) | M::Null | M::True | M::False => (0, 0),
            M::U8 | M::I8 => (1, 0),
            M::U16 | M::I16 => (2, 0),
            M::U32 | M::I32 | M::F32 => (4, 0),
            M::U64 | M::I64 | M::F64 => (8, 0),
            M::FixStr(n) => (usize::from(n), 0),
            M::Str8 | M::Bin8 => (usize::from(rd.read_data_u8().ok()?), 0),
            M::Str16 | M::Bin16 => (usize::from(rd.read_data_u16().ok()?), 0),
            M::Str32 | M::Bin32 => (len(rd.read_data_u32().ok()?)?, 0),
            M::FixArray(n) => (0, u64::from(n)),
            M::Array16 => (0, u64::from(rd.read_data_u16().ok()?)),
            M::Array32 => (0, u64::from(rd.read_data_u32().ok()?)),
            M::FixMap(n) => (0, 2 * u64::from(n)),
            M::Map16 => (0, 2 * u64::from(rd.read_data_u16().ok()?)),
            M::Map32 => (0, 2 * u64::from(rd.read_data_u32().ok()?)),
            // An extension: its type byte, then its data.
            M::FixExt1 => (2, 0),
            M::FixExt2 => (3, 0),
            M::FixExt4 => (5, 0),
            M::FixExt8 => (9, 0),
            M::FixExt16 => (17, 0),
            M::Ext8 => (usize::from(rd.read_data_u8().ok()?) + 1, 0),
            M::Ext16 => (usize::from(rd.read_data_u16().ok()?) + 1, 0),
            M::Ext32 => (len(rd.read_data_u32().ok()?)?.checked_add(1)?, 0),
            M::Reserved => return None,
        };
        rd = rd.get(payload..)?;
        if children > 0 {
            // Every element takes at least one byte.
            if children > rd.len() as u64 || depth == MAX_VALUE_DEPTH {
                return None;
            }
            depth += 1;
            pending[depth] = children;
        }
    }
}

/// The postcard bytes of a value carried over from wire format v1, if it is one.
fn legacy(bytes: &[u8]) -> Option<&[u8]> {
    let mut rd = bytes;
    let meta = rmp::decode::read_ext_meta(&mut rd).ok()?;
    (meta.typeid == LEGACY_POSTCARD && usize::try_from(meta.size).ok() == Some(rd.len()))
        .then_some(rd)
}

/// Wraps the postcard bytes of a v1 value as a [`LEGACY_POSTCARD`] extension value.
pub(crate) fn wrap_legacy(postcard_bytes: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let len = u32::try_from(postcard_bytes.len()).ok()?;
    rmp::encode::write_ext_meta(out, len, LEGACY_POSTCARD).ok()?;
    out.extend_from_slice(postcard_bytes);
    Some(())
}

/// serde's own messages quote the value they met (`invalid type: string "…", expected u64`);
/// a session value may be a secret, so the quote is cut to its kind.
///
/// serde quotes a value (between backticks or double quotes) and nothing else, so a message
/// whose unexpected part quotes nothing (`invalid type: map, expected a string`) is kept whole.
pub(crate) fn redact(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: ", "unknown variant "] {
        let Some(at) = message.find(prefix) else {
            continue;
        };
        let rest = &message[at + prefix.len()..];
        let Some(quote) = rest.find(['`', '"']) else {
            return message.to_owned();
        };
        let kind = rest[..quote].trim().trim_end_matches(',');
        let expected = message.rfind(", expected ").map_or("", |e| &message[e..]);
        let kind = if kind.is_empty() { "value" } else { kind };
        return format!("{}{prefix}{kind} (not shown){expected}", &message[..at]);
    }
    message.to_owned()
}

impl ValueError {
    fn new(e: &dyn fmt::Display) -> Self {
        Self::from_reason(redact(&e.to_string()))
    }

    /// A decoding error, in words: rmp-serde's own type mismatch names a marker byte, which
    /// may be one inside `bytes` (a struct's field, an element): then the message names the
    /// kind of the whole value and the kind met inside it.
    fn decode(e: &rmp_serde::decode::Error, bytes: &[u8]) -> Self {
        use rmp::Marker;
        use rmp_serde::decode::Error as E;
        let kind = |m: &Marker| match m {
            Marker::FixPos(_) | Marker::U8 | Marker::U16 | Marker::U32 | Marker::U64 => {
                "an unsigned integer"
            }
            Marker::FixNeg(_) | Marker::I8 | Marker::I16 | Marker::I32 | Marker::I64 => {
                "an integer"
            }
            Marker::Null => "nil",
            Marker::True | Marker::False => "a boolean",
            Marker::F32 | Marker::F64 => "a float",
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => "a string",
            Marker::Bin8 | Marker::Bin16 | Marker::Bin32 => "a byte string",
            Marker::FixArray(_) | Marker::Array16 | Marker::Array32 => "an array",
            Marker::FixMap(_) | Marker::Map16 | Marker::Map32 => "a map (a struct or a map)",
            _ => "an extension value",
        };
        match e {
            E::TypeMismatch(m) => {
                let met = kind(m);
                let whole = rmp::decode::read_marker(&mut &bytes[..]).map_or(met, |w| kind(&w));
                Self::from_reason(if whole == met {
                    format!("the stored value is {met}")
                } else {
                    format!(
                        "the stored value is {whole}, with {met} where the requested type \
                         expects another kind"
                    )
                })
            }
            other => Self::new(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn round<T: Serialize + DeserializeOwned>(v: &T) -> T {
        let mut out = Vec::new();
        encode(v, &mut out).unwrap();
        assert_eq!(skip(&out), Some(out.len()));
        decode(&out).unwrap()
    }

    #[test]
    fn values_round_trip_and_skip_exactly() {
        assert_eq!(round(&7u64), 7);
        assert_eq!(round(&"alice".to_owned()), "alice");
        assert_eq!(round(&vec![(1001u32, 1u16)]), vec![(1001, 1)]);
        assert_eq!(round(&u128::MAX), u128::MAX);
        assert_eq!(round(&i128::MIN), i128::MIN);
    }

    /// Containers of bytes (`Vec<u8>`, `[u8; N]`) are arrays of integers, which read back in
    /// every serde position (see the module docs); `serde_bytes` types are `bin`, one byte per
    /// byte; and `bin` written by earlier builds (which wrote every byte container so) still
    /// reads back as any sequence of integers.
    #[test]
    fn byte_containers_are_arrays_serde_bytes_are_bin_and_bin_reads_as_any_sequence() {
        let mut out = Vec::new();
        encode(&[0x05u8; 32], &mut out).unwrap();
        assert_eq!(out.len(), 3 + 32, "array16 of positive fixints");
        out.clear();
        encode(&serde_bytes::ByteBuf::from(vec![0xffu8; 300]), &mut out).unwrap();
        assert_eq!(out.len(), 3 + 300, "bin16");
        assert_eq!(decode::<Vec<u8>>(&out).unwrap(), vec![0xff; 300]);
        assert_eq!(decode::<Vec<u32>>(&out).unwrap(), vec![255; 300]);
        // `bin` as an earlier build wrote `[1u8, 2, 3]`.
        let earlier = [0xc4, 3, 1, 2, 3];
        assert_eq!(decode::<[u8; 3]>(&earlier).unwrap(), [1, 2, 3]);
        assert_eq!(decode::<(u8, u16, u32)>(&earlier).unwrap(), (1, 2, 3));
        assert_eq!(decode::<Vec<u8>>(&earlier).unwrap(), [1, 2, 3]);
        out.clear();
        encode(&[1u8, 2, 3], &mut out).unwrap();
        assert_eq!(out, [0x93, 1, 2, 3]);
        assert_eq!(decode::<[u8; 3]>(&out).unwrap(), [1, 2, 3]);
    }

    /// The exceptions the `data` module docs list, held to what they say.
    #[test]
    fn the_documented_exceptions_hold() {
        let mut out = Vec::new();
        encode(&5u128, &mut out).unwrap();
        assert_eq!(decode::<u128>(&out).unwrap(), 5);
        assert!(decode::<u64>(&out).is_err(), "a u128 does not narrow");
        out.clear();
        encode(&5u64, &mut out).unwrap();
        assert_eq!(decode::<u128>(&out).unwrap(), 5, "a u64 widens");
        out.clear();
        encode(&Some(None::<u8>), &mut out).unwrap();
        assert_eq!(decode::<Option<Option<u8>>>(&out).unwrap(), None);
    }

    /// Empty sequences stay arrays, so they read back as anything, JSON values included.
    #[test]
    fn empty_sequences_read_back_as_json() {
        for v in [
            serde_json::json!([]),
            serde_json::json!({"a": []}),
            serde_json::json!([[]]),
        ] {
            assert_eq!(round(&v), v);
        }
        assert_eq!(round(&Vec::<String>::new()), Vec::<String>::new());
    }

    #[test]
    fn a_value_with_trailing_bytes_or_cut_short_is_refused() {
        let mut out = Vec::new();
        encode("abc", &mut out).unwrap();
        let mut longer = out.clone();
        longer.push(0);
        assert!(decode::<String>(&longer).is_err());
        assert_eq!(skip(&longer), Some(out.len()));
        assert!(skip(&out[..out.len() - 1]).is_none());
        assert!(decode::<String>(&out[..out.len() - 1]).is_err());
    }

    /// Maps and extensions in every length form, minimal or not (MessagePack allows a map16
    /// of three entries), each followed by one more byte that is not part of it.
    #[test]
    fn skip_frames_maps_and_extensions_in_every_length_form() {
        let cases: [&[u8]; 6] = [
            &[0x83, 1, 1, 2, 2, 3, 3],                // fixmap, 3 entries
            &[0xde, 0, 3, 1, 1, 2, 2, 3, 3],          // map16, 3 entries
            &[0xdf, 0, 0, 0, 3, 1, 1, 2, 2, 3, 3],    // map32, 3 entries
            &[0xc7, 3, 5, b'a', b'b', b'c'],          // ext8, type 5, 3 bytes
            &[0xc8, 0, 3, 5, b'a', b'b', b'c'],       // ext16
            &[0xc9, 0, 0, 0, 3, 5, b'a', b'b', b'c'], // ext32
        ];
        for value in cases {
            let mut bytes = value.to_vec();
            bytes.push(0xc0);
            assert_eq!(skip(&bytes), Some(value.len()), "{value:02x?}");
            assert!(skip(&value[..value.len() - 1]).is_none(), "{value:02x?}");
        }
    }

    #[test]
    fn a_huge_claimed_length_allocates_nothing_and_fails() {
        // str32 claiming 4 GiB, then 3 bytes.
        let bytes = [0xdb, 0xff, 0xff, 0xff, 0xff, b'a', b'b', b'c'];
        assert!(skip(&bytes).is_none());
        assert!(decode::<String>(&bytes).is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        // 10 000 nested one-element arrays.
        let mut bytes = vec![0x91; 10_000];
        bytes.push(0x00);
        assert!(skip(&bytes).is_none());
        assert!(decode::<serde::de::IgnoredAny>(&bytes).is_err());
    }

    /// `MAX_VALUE_DEPTH` nested arrays around a scalar are framed; one more array is not.
    #[test]
    fn skip_accepts_exactly_max_value_depth_nested_arrays() {
        let mut bytes = vec![0x91; MAX_VALUE_DEPTH];
        bytes.push(0x00);
        assert_eq!(skip(&bytes), Some(MAX_VALUE_DEPTH + 1));
        bytes.insert(0, 0x91);
        assert!(skip(&bytes).is_none());
    }

    /// The deepest value `insert` accepts is framed by `skip` (so a sealed session holding it
    /// opens) and reads back; one level deeper is refused on insert.
    #[test]
    fn the_deepest_value_insert_accepts_opens_and_reads_back() {
        let nested = |depth: usize| {
            let mut v = serde_json::json!(1);
            for _ in 0..depth {
                v = serde_json::Value::Array(vec![v]);
            }
            v
        };
        let mut deepest = None;
        for depth in 1..=MAX_VALUE_DEPTH + 2 {
            let mut out = Vec::new();
            if encode(&nested(depth), &mut out).is_ok() {
                deepest = Some((depth, out));
            }
        }
        let (depth, out) = deepest.expect("shallow values encode");
        assert!(depth >= MAX_VALUE_DEPTH - 1, "only {depth} levels encode");
        assert_eq!(skip(&out), Some(out.len()), "depth {depth}");
        assert_eq!(decode::<serde_json::Value>(&out).unwrap(), nested(depth));
        let mut deeper = Vec::new();
        assert!(encode(&nested(depth + 1), &mut deeper).is_err());
    }

    #[test]
    fn legacy_postcard_values_read_back() {
        let mut out = Vec::new();
        wrap_legacy(&postcard::to_allocvec(&300u64).unwrap(), &mut out).unwrap();
        assert_eq!(skip(&out), Some(out.len()));
        assert_eq!(decode::<u64>(&out).unwrap(), 300);
        assert!(decode::<String>(&out).is_err());
    }

    /// Only an extension of type `LEGACY_POSTCARD` is read with postcard; another type is an
    /// extension value, whatever its bytes.
    #[test]
    fn only_the_legacy_extension_type_is_read_as_postcard() {
        // fixext1 carrying the postcard bytes of 42u8, as type 1 and as type 5.
        assert_eq!(decode::<u8>(&[0xd4, 1, 42]).unwrap(), 42);
        let e = decode::<u8>(&[0xd4, 5, 42]).unwrap_err().to_string();
        assert_eq!(e, "the stored value is an extension value");
    }

    #[derive(Debug, Deserialize)]
    enum Role {
        Admin,
    }

    /// A type mismatch names the kind of value stored (rmp-serde's own error names a marker).
    #[test]
    fn a_type_mismatch_names_the_kind_of_the_stored_value() {
        /// What rmp-serde reads as a MessagePack extension (type, data).
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename = "_ExtStruct")]
        struct Ext(#[allow(dead_code)] (i8, serde_bytes::ByteBuf));
        fn stored<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
            let mut out = Vec::new();
            encode(value, &mut out).unwrap();
            out
        }
        let as_u64 = |b: Vec<u8>| decode::<u64>(&b).unwrap_err().to_string();
        let as_u128 = |b: Vec<u8>| decode::<u128>(&b).unwrap_err().to_string();
        assert_eq!(as_u128(stored(&())), "the stored value is nil");
        assert_eq!(as_u128(stored(&true)), "the stored value is a boolean");
        assert_eq!(as_u128(stored(&1.5f64)), "the stored value is a float");
        assert_eq!(as_u64(stored(&[1u32, 2])), "the stored value is an array");
        // Integers: rmp-serde reads them into every number type, so only a type that asks for
        // a MessagePack extension (a newtype struct named `_ExtStruct`, rmp-serde's own name
        // for one) meets them as a mismatch.
        let as_ext = |b: Vec<u8>| decode::<Ext>(&b).unwrap_err().to_string();
        assert_eq!(
            as_ext(stored(&5u64)),
            "the stored value is an unsigned integer"
        );
        assert_eq!(
            as_ext(stored(&300u64)),
            "the stored value is an unsigned integer"
        );
        assert_eq!(as_ext(stored(&-5i64)), "the stored value is an integer");
        assert_eq!(as_ext(stored(&-300i64)), "the stored value is an integer");
        // A byte string too long to be a 128-bit integer's 16 bytes (bin16).
        assert_eq!(
            as_u128(stored(&serde_bytes::ByteBuf::from(vec![0u8; 300]))),
            "the stored value is a byte string"
        );
        let map = std::collections::BTreeMap::from([(1u8, 2u8)]);
        assert_eq!(
            as_u64(stored(&map)),
            "the stored value is a map (a struct or a map)"
        );
    }

    /// A mismatch inside a struct, a sequence or a map is not the whole value's kind: the
    /// message names both, so that nobody goes looking for a string stored under a key that
    /// holds a struct.
    #[test]
    fn a_mismatch_inside_the_value_names_the_value_and_the_part() {
        #[derive(Serialize)]
        struct Stored {
            n: u32,
            name: String,
        }
        #[derive(Debug, Deserialize)]
        struct Read {
            #[allow(dead_code)]
            n: u32,
            #[allow(dead_code)]
            name: u32,
        }
        let mut out = Vec::new();
        let stored = Stored {
            n: 3,
            name: "hunter2".into(),
        };
        encode(&stored, &mut out).unwrap();
        let e = decode::<Read>(&out).unwrap_err().to_string();
        assert_eq!(
            e,
            "the stored value is a map (a struct or a map), \
             with a string where the requested type expects another kind"
        );
        out.clear();
        encode(&vec!["hunter2"], &mut out).unwrap();
        let e = decode::<Vec<u32>>(&out).unwrap_err().to_string();
        assert_eq!(
            e,
            "the stored value is an array, \
             with a string where the requested type expects another kind"
        );
        // A mismatch of the value itself reads as before.
        out.clear();
        encode("hunter2", &mut out).unwrap();
        let e = decode::<u32>(&out).unwrap_err().to_string();
        assert_eq!(e, "the stored value is a string");
    }

    /// serde's messages whose unexpected part quotes nothing (`invalid type: map, expected a
    /// string`) are left whole: only a quoted value is cut.
    #[test]
    fn a_message_that_quotes_no_value_is_left_whole() {
        for message in [
            "invalid type: map, expected a string",
            "invalid type: unit value, expected u8",
            "invalid type: sequence, expected unit",
        ] {
            assert_eq!(redact(message), message);
        }
        let mut out = Vec::new();
        encode(&std::collections::BTreeMap::from([("a", 1u8)]), &mut out).unwrap();
        let e = decode::<String>(&out).unwrap_err().to_string();
        assert_eq!(e, "invalid type: map, expected a string");
    }

    #[test]
    fn errors_never_quote_the_value() {
        let mut out = Vec::new();
        encode("hunter2-secret-token", &mut out).unwrap();
        let e = decode::<u64>(&out).unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert_eq!(e, "the stored value is a string");
        let e = decode::<Role>(&out).unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert_eq!(
            redact("invalid value: integer `5`, expected a role"),
            "invalid value: integer (not shown), expected a role"
        );
        let _ = Role::Admin;
    }
}
