//! Reading our cookie and its chunks from `Cookie` request headers.

use std::borrow::Cow;

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

/// What the request carried under our name, borrowed from its `Cookie` headers: a value in
/// one cookie is not copied, only chunks are joined into a new `String`.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Candidates<'h> {
    /// Whole candidate values (chunks joined), the first `n` of them.
    values: [Cow<'h, str>; MAX_CANDIDATES],
    n: usize,
    /// Candidates that could not even be joined (bad chunk count, missing chunk).
    pub rejected: Vec<RejectReason>,
    /// The cookies of ours that were present, joined or not.
    pub present: ChunkSet,
}

impl<'h> Candidates<'h> {
    /// Whole candidate values (chunks joined), at most [`MAX_CANDIDATES`], in header order.
    pub fn values(&self) -> &[Cow<'h, str>] {
        &self.values[..self.n]
    }

    /// Keeps `value` (`find` offers at most [`MAX_CANDIDATES`]; more are dropped).
    fn push(&mut self, value: Cow<'h, str>) {
        if let Some(slot) = self.values.get_mut(self.n) {
            *slot = value;
            self.n += 1;
        }
    }
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

/// Calls `f` with each cookie of `header` whose name starts with `prefix`, as `(name,
/// value)`, in order.
///
/// `Cookie::split_parse` with every cookie parsed, less the parsing of the others: a part
/// (between `;`) is handed to the `cookie` crate's parser only when, trimmed as the crate
/// trims it, it starts with `prefix` (a browser sends every cookie of the site, analytics and
/// all, and only ours matter). The same cookies come out as from `split_parse`
/// (`named_like_keeps_what_split_parse_keeps`).
///
/// A header that is not UTF-8 as a whole is split into parts as bytes, and each part read as
/// UTF-8 on its own: a foreign cookie whose value is not UTF-8 (a sibling application
/// writing Latin-1, sent in the same header as ours) is skipped alone instead of hiding ours.
/// A UTF-8 header, nearly every one, is split as a `str` (one validation for the header, and
/// a `memchr` search for `;`): the byte-wise split with a check per part cost ≈ 1 100
/// instructions more per request, and one iterator chaining both ways ≈ 250. The two give
/// the same parts: `;` is ASCII, never part of a multi-byte character.
fn named_like<'h>(header: &'h [u8], prefix: &str, mut f: impl FnMut(&'h str, &'h str)) {
    let mut each = |part: &'h str| {
        let part = part.trim();
        if !part.starts_with(prefix) {
            return;
        }
        if let Ok(cookie) = Cookie::parse(part) {
            if let (Some(name), Some(value)) = (cookie.name_raw(), cookie.value_raw()) {
                f(name, value);
            }
        }
    };
    match std::str::from_utf8(header) {
        Ok(header) => header.split(';').for_each(&mut each),
        Err(_) => header
            .split(|&b| b == b';')
            .filter_map(|part| std::str::from_utf8(part).ok())
            .for_each(&mut each),
    }
}

/// Finds the cookie `name` and its chunks in the given `Cookie` header values.
///
/// Runs in time linear in the header length and keeps at most [`MAX_CANDIDATES`] values,
/// together at most `max_chunks * max_len` bytes (one value of the largest size): the
/// candidates share the chunk cookies, so without the shared bound a header of four bases
/// over the same full chunks would make the caller join and open four times what it sent.
/// A candidate past what is left of it is rejected as oversized. Nothing is sized from a
/// number the client sent.
pub(crate) fn find<'a>(
    headers: impl IntoIterator<Item = &'a [u8]>,
    name: &str,
    max_chunks: usize,
    max_len: usize,
) -> Candidates<'a> {
    let max_chunks = max_chunks.clamp(1, MAX_CHUNKS);
    let mut found = Candidates::default();
    // At most `MAX_CANDIDATES` values named exactly ours, kept in place (no allocation).
    let mut bases: [&str; MAX_CANDIDATES] = [""; MAX_CANDIDATES];
    let mut n_bases = 0;
    let mut chunks: [Option<&str>; MAX_CHUNKS] = [None; MAX_CHUNKS];
    for header in headers {
        named_like(header, name, |cname, value| {
            if cname == name {
                found.present.insert(0);
                if n_bases < MAX_CANDIDATES {
                    bases[n_bases] = value;
                    n_bases += 1;
                }
            } else if let Some(i) = chunk_index(cname, name, MAX_CHUNKS) {
                // Every chunk name is recorded, so a write removes it; only the ones the
                // current `max_chunks` allows can be part of a value. (A site that lowered
                // `max_chunks` would otherwise leave its browsers sending the higher ones
                // until they expired.)
                found.present.insert(i);
                if i < max_chunks {
                    chunks[i].get_or_insert(value);
                }
            }
        });
    }
    // What the candidates may still hold together: one value of the largest size.
    let mut budget = max_chunks * max_len;
    for &base in &bases[..n_bases] {
        if base.len() > max_len || base.len() > budget {
            found.rejected.push(RejectReason::Oversized);
            continue;
        }
        match chunk_count(base, max_chunks) {
            Ok((1, value)) => {
                budget -= value.len();
                found.push(Cow::Borrowed(value));
            }
            Ok((n, first)) => {
                let parts = &chunks[1..n];
                if parts.iter().any(Option::is_none) {
                    found.rejected.push(RejectReason::Malformed);
                    continue;
                }
                let len = first.len() + parts.iter().flatten().map(|p| p.len()).sum::<usize>();
                if len > budget || parts.iter().flatten().any(|p| p.len() > max_len) {
                    found.rejected.push(RejectReason::Oversized);
                    continue;
                }
                budget -= len;
                let mut joined = String::with_capacity(len);
                joined.push_str(first);
                parts.iter().flatten().for_each(|p| joined.push_str(p));
                found.push(Cow::Owned(joined));
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

    #[test]
    fn chunk_set_ignores_indexes_past_max_chunks() {
        let mut s = set(&[0, MAX_CHUNKS - 1]);
        s.insert(MAX_CHUNKS);
        s.insert(usize::MAX);
        assert_eq!(s, set(&[0, MAX_CHUNKS - 1]));
        assert!(!s.contains(MAX_CHUNKS) && !s.contains(usize::MAX));
        assert!(!s.is_empty() && ChunkSet::default().is_empty());
    }

    fn f<'a>(headers: &[&'a str]) -> Candidates<'a> {
        find(headers.iter().map(|h| h.as_bytes()), "s", 4, 4096)
    }

    #[test]
    fn finds_single_value_among_others() {
        let got = f(&["a=1; s=abc; b=2"]);
        assert_eq!(got.values(), ["abc"]);
        assert_eq!(got.present, set(&[0]));
    }

    /// Only the part that is not UTF-8 is skipped: ours, before or after it, and its chunks
    /// are found; a part of ours that is not UTF-8 is not.
    #[test]
    fn a_foreign_cookie_that_is_not_utf8_hides_nothing_else() {
        let got = find([&b"a=caf\xe9; s=2.ab; s.1=cd"[..]], "s", 4, 4096);
        assert_eq!(got.values(), ["abcd"]);
        let got = find([&b"s=abc; a=\xff\xfe"[..]], "s", 4, 4096);
        assert_eq!(got.values(), ["abc"]);
        let got = find([&b"s=ab\xe9; s=xyz"[..]], "s", 4, 4096);
        assert_eq!(got.values(), ["xyz"]);
    }

    #[test]
    fn joins_chunks_in_order_across_headers() {
        let got = f(&["s.2=ghi; s=3.abc", "s.1=def"]);
        assert_eq!(got.values(), ["abcdefghi"]);
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
        assert_eq!(got.values().len(), MAX_CANDIDATES);
        assert_eq!(got.values()[0], "v0");
    }

    /// `s.4` is past `max_chunks` (4) but a chunk name a site with a higher `max_chunks`
    /// wrote: recorded, so the next write removes it, and never part of a value. Names no
    /// configuration writes (`s.0`, `s.01`, `s.999`) are ignored.
    #[test]
    fn chunk_names_past_max_chunks_are_recorded_for_removal_but_never_joined() {
        let got = f(&["s.4=x; s.0=y; s.01=z; s.999=w; s.1=u; s=v"]);
        assert_eq!(got.present, set(&[0, 1, 4]));
        assert_eq!(got.values(), ["v"]);
        let got = f(&["s=2.a; s.1=b; s.5=c; s.15=d; s.16=e"]);
        assert_eq!(got.values(), ["ab"]);
        assert_eq!(got.present, set(&[0, 1, 5, 15]));
        let got = f(&["s=5.a; s.1=b; s.2=c; s.3=d; s.4=e"]);
        assert_eq!(got.rejected, [RejectReason::Oversized]);
    }

    #[test]
    fn chunk_count_accepts_exactly_max_chunks_and_refuses_one_more_as_oversized() {
        assert_eq!(chunk_count("4.abc", 4), Ok((4, "abc")));
        assert_eq!(chunk_count("5.abc", 4), Err(RejectReason::Oversized));
        assert_eq!(chunk_count("16.abc", 16), Ok((16, "abc")));
        assert_eq!(chunk_count("17.abc", 16), Err(RejectReason::Oversized));
    }

    #[test]
    fn chunk_count_accepts_two_chunks_and_refuses_one_as_malformed() {
        assert_eq!(chunk_count("2.abc", 4), Ok((2, "abc")));
        assert_eq!(chunk_count("1.abc", 4), Err(RejectReason::Malformed));
        assert_eq!(chunk_count("abc", 4), Ok((1, "abc")));
    }

    #[test]
    fn find_joins_exactly_max_chunks_and_exactly_two_chunks() {
        let four = f(&["s=4.a; s.1=b; s.2=c; s.3=d"]);
        assert_eq!(four.values(), ["abcd"]);
        assert!(four.rejected.is_empty());
        let two = f(&["s=2.a; s.1=b"]);
        assert_eq!(two.values(), ["ab"]);
        assert!(two.rejected.is_empty());
    }

    /// `find` with a per-cookie cap of `max_len` bytes and four chunks.
    fn capped<'a>(headers: &[&'a str], max_len: usize) -> Candidates<'a> {
        find(headers.iter().map(|h| h.as_bytes()), "s", 4, max_len)
    }

    #[test]
    fn a_single_value_of_exactly_max_len_is_kept_and_one_byte_more_is_oversized() {
        let exact = "v".repeat(10);
        let header = format!("s={exact}");
        let got = capped(&[&header], 10);
        assert_eq!(got.values(), [exact.as_str()]);
        assert!(got.rejected.is_empty());

        let over = "v".repeat(11);
        let header = format!("s={over}");
        let got = capped(&[&header], 10);
        assert!(got.values().is_empty());
        assert_eq!(got.rejected, [RejectReason::Oversized]);

        let short = capped(&["s=v"], 10);
        assert_eq!(short.values(), ["v"]);
    }

    /// Four bases over the same full chunks would make four values of the largest size out
    /// of one header's worth of chunks; together the candidates hold at most one such value
    /// (here 4 chunks × 10 bytes), to the byte.
    #[test]
    fn the_candidates_together_hold_at_most_one_value_of_the_largest_size() {
        let chunks = "s.1=wwwwwwwwww; s.2=wwwwwwwwww; s.3=wwwwwwwwww";
        let bases = "s=4.vvvvvvvv; s=4.vvvvvvvv; s=4.vvvvvvvv; s=4.vvvvvvvv";
        let got = capped(&[bases, chunks], 10);
        assert_eq!(got.values().len(), 1);
        assert_eq!(got.values()[0].len(), 38);
        assert_eq!(got.rejected, [RejectReason::Oversized; 3]);

        // 38 + 2 bytes fill the 40 exactly; one byte more does not fit.
        let got = capped(&["s=4.vvvvvvvv; s=vv; s=v", chunks], 10);
        assert_eq!(got.values().len(), 2);
        assert_eq!(got.values()[1], "vv");
        assert_eq!(got.rejected, [RejectReason::Oversized]);
    }

    #[test]
    fn a_first_chunk_of_exactly_max_len_is_joined_and_one_byte_more_is_oversized() {
        // The first chunk's cookie value is `2.` and its part: 10 bytes in all.
        let got = capped(&["s=2.vvvvvvvv; s.1=w"], 10);
        assert_eq!(got.values(), ["vvvvvvvvw"]);
        let got = capped(&["s=2.vvvvvvvvv; s.1=w"], 10);
        assert!(got.values().is_empty());
        assert_eq!(got.rejected, [RejectReason::Oversized]);
    }

    #[test]
    fn a_later_chunk_of_exactly_max_len_is_joined_and_one_byte_more_is_oversized() {
        let exact = "w".repeat(10);
        let header = format!("s=2.v; s.1={exact}");
        let got = capped(&[&header], 10);
        assert_eq!(got.values(), [format!("v{exact}")]);
        assert!(got.rejected.is_empty());

        let header = format!("s=2.v; s.1={exact}w");
        let got = capped(&[&header], 10);
        assert!(got.values().is_empty());
        assert_eq!(got.rejected, [RejectReason::Oversized]);

        let got = capped(&["s=3.v; s.1=w; s.2=x"], 10);
        assert_eq!(got.values(), ["vwx"]);
    }

    /// The documented memory bound: each joined value is at most `max_chunks * max_len`
    /// bytes, and no more is reserved for it (its capacity is its joined length).
    #[test]
    fn a_joined_value_reserves_no_more_than_the_sum_of_its_chunks() {
        let chunk = "w".repeat(100);
        let header = format!(
            "s=4.{}; s.1={chunk}; s.2={chunk}; s.3={chunk}",
            "v".repeat(98)
        );
        let got = capped(&[&header], 100);
        assert_eq!(got.values().len(), 1);
        let Cow::Owned(joined) = &got.values()[0] else {
            panic!("a joined value is a new String");
        };
        assert_eq!(joined.len(), 98 + 3 * 100);
        assert!(
            joined.capacity() <= 4 * 100,
            "reserved {}",
            joined.capacity()
        );
    }

    proptest::proptest! {
        /// The prefilter drops only cookies whose name does not start with ours: over headers
        /// mixing our name, its chunks, look-alikes, whitespace, parts without `=` and
        /// foreign cookies, `named_like` yields exactly the cookies `Cookie::split_parse`
        /// parses with a name starting with ours, in the same order.
        #[test]
        fn named_like_keeps_what_split_parse_keeps(
            parts in proptest::collection::vec(
                (
                    proptest::prop_oneof![
                        proptest::strategy::Just("s"), proptest::strategy::Just("s.1"),
                        proptest::strategy::Just("s.12"), proptest::strategy::Just(" s"),
                        proptest::strategy::Just("s "), proptest::strategy::Just("\u{a0}s"),
                        proptest::strategy::Just("s\t"), proptest::strategy::Just("sx"),
                        proptest::strategy::Just("x"), proptest::strategy::Just(""),
                        proptest::strategy::Just("S"), proptest::strategy::Just("ss"),
                    ],
                    proptest::option::of("[A-Za-z0-9_.= \\-\"]{0,10}"),
                ),
                0..8,
            ),
            sep in proptest::prop_oneof![
                proptest::strategy::Just(";"), proptest::strategy::Just("; "),
                proptest::strategy::Just(" ;  "), proptest::strategy::Just(";;"),
            ],
        ) {
            let header = parts
                .iter()
                .map(|(n, v)| match v {
                    Some(v) => format!("{n}={v}"),
                    None => (*n).to_owned(),
                })
                .collect::<Vec<_>>()
                .join(sep);
            let reference: Vec<(&str, &str)> = Cookie::split_parse(header.as_str())
                .flatten()
                .filter_map(|c| Some((c.name_raw()?, c.value_raw()?)))
                .filter(|(n, _)| n.starts_with('s'))
                .collect();
            let mut ours: Vec<(&str, &str)> = Vec::new();
            named_like(header.as_bytes(), "s", |n, v| ours.push((n, v)));
            proptest::prop_assert_eq!(&ours, &reference, "{:?}", header);
            // The same header with a part that is not UTF-8 (in the middle, so both the `str`
            // and the byte-wise split are exercised): that part alone is skipped.
            let mid = parts.len() / 2;
            let (before, after) = parts.split_at(mid);
            let text = |ps: &[(&str, Option<String>)]| {
                ps.iter()
                    .map(|(n, v)| v.as_ref().map_or_else(|| (*n).to_owned(), |v| format!("{n}={v}")))
                    .collect::<Vec<_>>()
                    .join(sep)
            };
            let mut mixed = text(before).into_bytes();
            mixed.extend_from_slice(sep.as_bytes());
            mixed.extend_from_slice(b"s.2=caf\xe9");
            mixed.extend_from_slice(sep.as_bytes());
            mixed.extend_from_slice(text(after).as_bytes());
            let mut skipped: Vec<(&str, &str)> = Vec::new();
            named_like(&mixed, "s", |n, v| skipped.push((n, v)));
            proptest::prop_assert_eq!(skipped, reference, "{:?}", mixed);
        }
    }
}
