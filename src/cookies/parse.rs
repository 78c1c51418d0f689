//! Reading our cookie and its chunks from `Cookie` request headers.

use cookie::Cookie;

use crate::error::RejectReason;
use crate::limits::{MAX_CANDIDATES, MAX_CHUNKS};

/// The request's `Cookie` header values, kept unparsed (reference-counted, no copy) until the
/// handler touches the session.
pub(crate) struct RawCookies {
    pub first: http::HeaderValue,
    /// Further `Cookie` headers (HTTP/2 may split cookies); usually empty, not allocated.
    pub rest: Vec<http::HeaderValue>,
}

impl RawCookies {
    pub fn iter(&self) -> impl Iterator<Item = &http::HeaderValue> {
        std::iter::once(&self.first).chain(&self.rest)
    }
}

/// Which of our cookies a request carried: `NAME` (chunk 0) and `NAME.1` … `NAME.15`. The
/// response removes the ones it no longer uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ChunkSet(u16);

const _: () = assert!(MAX_CHUNKS <= u16::BITS as usize);

impl ChunkSet {
    /// Records that chunk `i` (< [`MAX_CHUNKS`]) was present.
    pub(crate) fn insert(&mut self, i: usize) {
        if i < MAX_CHUNKS {
            self.0 |= 1 << i;
        }
    }

    /// Whether chunk `i` was present.
    pub(crate) fn contains(self, i: usize) -> bool {
        i < MAX_CHUNKS && self.0 & (1 << i) != 0
    }

    /// Whether no cookie of ours was present.
    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The chunks at index `n` and above (the ones a value of `n` chunks leaves unused).
    pub(crate) fn at_or_above(self, n: usize) -> Self {
        match u32::try_from(n) {
            Ok(n) if n < u16::BITS => ChunkSet(self.0 & !((1u16 << n) - 1)),
            _ => ChunkSet(0),
        }
    }
}

/// What the request carried under our name.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Candidates {
    /// Whole candidate values (chunks joined), at most [`MAX_CANDIDATES`].
    pub values: Vec<String>,
    /// Candidates that could not even be joined (bad chunk count, missing chunk).
    pub rejected: Vec<RejectReason>,
    /// The cookies of ours that were present, joined or not.
    pub present: ChunkSet,
}

/// One or two decimal digits without a leading zero: the only spellings of a chunk number.
fn is_small_number(s: &str) -> bool {
    matches!(s.as_bytes(), [b'1'..=b'9'] | [b'1'..=b'9', b'0'..=b'9'])
}

/// Parses `NAME.i` into `i` (1 ≤ i < `max_chunks`).
fn chunk_index(cookie_name: &str, name: &str, max_chunks: usize) -> Option<usize> {
    let rest = cookie_name.strip_prefix(name)?.strip_prefix('.')?;
    if !is_small_number(rest) {
        return None;
    }
    let i: usize = rest.parse().ok()?;
    (1..max_chunks).contains(&i).then_some(i)
}

/// Splits `n.part0` into `(n, part0)`; plain values are one chunk.
fn chunk_count(value: &str, max_chunks: usize) -> Result<(usize, &str), RejectReason> {
    let Some((count, part)) = value.split_once('.') else {
        return Ok((1, value));
    };
    if !is_small_number(count) {
        return Err(RejectReason::Malformed);
    }
    let n: usize = count.parse().map_err(|_| RejectReason::Malformed)?;
    if n > max_chunks {
        return Err(RejectReason::Oversized);
    }
    if n < 2 {
        return Err(RejectReason::Malformed);
    }
    Ok((n, part))
}

/// Finds the cookie `name` and its chunks in the given `Cookie` header values.
///
/// Runs in time linear in the header length and keeps at most [`MAX_CANDIDATES`] values of
/// at most `max_chunks * max_len` bytes each; nothing is sized from a number the client sent.
pub(crate) fn find<'a>(
    headers: impl IntoIterator<Item = &'a [u8]>,
    name: &str,
    max_chunks: usize,
    max_len: usize,
) -> Candidates {
    let max_chunks = max_chunks.clamp(1, MAX_CHUNKS);
    let mut found = Candidates::default();
    let mut bases: Vec<&str> = Vec::new();
    let mut chunks: [Option<&str>; MAX_CHUNKS] = [None; MAX_CHUNKS];
    for header in headers {
        let Ok(header) = std::str::from_utf8(header) else {
            continue;
        };
        for cookie in Cookie::split_parse(header).flatten() {
            let cname = cookie.name_raw().unwrap_or_default();
            let Some(value) = cookie.value_raw() else {
                continue;
            };
            if cname == name {
                found.present.insert(0);
                if bases.len() < MAX_CANDIDATES {
                    bases.push(value);
                }
            } else if let Some(i) = chunk_index(cname, name, max_chunks) {
                found.present.insert(i);
                chunks[i].get_or_insert(value);
            }
        }
    }
    for base in bases {
        if base.len() > max_len {
            found.rejected.push(RejectReason::Oversized);
            continue;
        }
        match chunk_count(base, max_chunks) {
            Ok((1, value)) => found.values.push(value.to_owned()),
            Ok((n, first)) => {
                let parts = &chunks[1..n];
                if parts.iter().any(Option::is_none) {
                    found.rejected.push(RejectReason::Malformed);
                    continue;
                }
                let len = first.len() + parts.iter().flatten().map(|p| p.len()).sum::<usize>();
                if parts.iter().flatten().any(|p| p.len() > max_len) {
                    found.rejected.push(RejectReason::Oversized);
                    continue;
                }
                let mut joined = String::with_capacity(len);
                joined.push_str(first);
                parts.iter().flatten().for_each(|p| joined.push_str(p));
                found.values.push(joined);
            }
            Err(reason) => found.rejected.push(reason),
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(chunks: &[usize]) -> ChunkSet {
        let mut s = ChunkSet::default();
        for &i in chunks {
            s.insert(i);
        }
        s
    }

    #[test]
    fn chunk_set_at_or_above_keeps_the_unused_tail() {
        let s = set(&[0, 1, 2, 15]);
        assert_eq!(s.at_or_above(2), set(&[2, 15]));
        assert_eq!(s.at_or_above(0), s);
        assert_eq!(s.at_or_above(16), ChunkSet::default());
        assert!(s.contains(15) && !s.contains(3) && !s.contains(16));
    }

    fn f(headers: &[&str]) -> Candidates {
        find(headers.iter().map(|h| h.as_bytes()), "s", 4, 4096)
    }

    #[test]
    fn finds_single_value_among_others() {
        let got = f(&["a=1; s=abc; b=2"]);
        assert_eq!(got.values, ["abc"]);
        assert_eq!(got.present, set(&[0]));
    }

    #[test]
    fn joins_chunks_in_order_across_headers() {
        let got = f(&["s.2=ghi; s=3.abc", "s.1=def"]);
        assert_eq!(got.values, ["abcdefghi"]);
        assert_eq!(got.present, set(&[0, 1, 2]));
    }

    #[test]
    fn missing_chunk_and_huge_counts_are_rejected_without_allocation() {
        assert_eq!(f(&["s=3.abc; s.1=x"]).rejected, [RejectReason::Malformed]);
        assert_eq!(f(&["s=4294967295.abc"]).rejected, [RejectReason::Malformed]);
        assert_eq!(f(&["s=9.abc"]).rejected, [RejectReason::Oversized]);
        assert_eq!(f(&["s=1.abc"]).rejected, [RejectReason::Malformed]);
        assert_eq!(f(&["s=02.abc; s.1=x"]).rejected, [RejectReason::Malformed]);
    }

    #[test]
    fn duplicate_names_are_bounded() {
        let header = (0..1000)
            .map(|i| format!("s=v{i}"))
            .collect::<Vec<_>>()
            .join("; ");
        let got = f(&[&header]);
        assert_eq!(got.values.len(), MAX_CANDIDATES);
        assert_eq!(got.values[0], "v0");
    }

    #[test]
    fn chunk_names_out_of_range_are_ignored() {
        let got = f(&["s.4=x; s.0=y; s.01=z; s.999=w; s.1=u; s=v"]);
        assert_eq!(got.present, set(&[0, 1]));
    }
}
