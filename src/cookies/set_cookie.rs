//! Building `Set-Cookie` lines: one cookie, chunks, and removals.
//!
//! # One buffer per line
//! The attributes that are the same on every line of a layer (`HttpOnly`, `SameSite`,
//! `Secure`, `Path`, `Domain`) are rendered once, by the [`cookie`] crate, when the settings
//! are made. A line is then written into one `String` of its exact length: name, `=`, the
//! value, those attributes, and `Max-Age`/`Expires` from the session's expiry (the `Expires`
//! date through `time`'s calendar). The `String` becomes the `HeaderValue` without a copy.
//! Building a `cookie::Cookie` per line and formatting it through `Display` cost about 16%
//! of a typical read+write request (issue 13's profile in BENCHMARKS.md); the lines are
//! byte-for-byte what the `cookie` crate renders, which a test checks
//! (`lines_are_what_the_cookie_crate_renders`).
//!
//! DESIGN.md's "never hand-write a cookie grammar" stands for parsing, where a hostile client
//! chooses the input (`parse.rs` hands every candidate to the `cookie` crate). Writing is
//! different: every byte here is ours (a cookie token, base64url, validated attributes), and
//! issue 13 asks for the line to be written once into a preallocated buffer; the test above
//! holds the result to the crate's own rendering.

use std::fmt::Write as _;

use cookie::time::{Month, OffsetDateTime, Weekday};
use cookie::Cookie;
use http::HeaderValue;

use super::{Candidates, ChunkSet, RawCookies};
use crate::config::{CookieConfig, SameSite};
use crate::limits::{MAX_AGE_SECS, MAX_CHUNKS, MAX_SEALED_LEN};

/// Cookie attributes, resolved once from [`CookieConfig`].
#[derive(Clone, Debug)]
pub(crate) struct CookieSettings {
    /// The name as sent (with `__Host-` when configured).
    pub name: String,
    /// `; HttpOnly; SameSite=Lax; Secure; Path=/` and the like: every attribute but
    /// `Max-Age` and `Expires`, as the cookie crate renders them.
    attrs: String,
    browser_session: bool,
    pub max_line: usize,
    pub max_chunks: usize,
}

/// When a cookie expires, as `Max-Age` and `Expires` (for clients that predate `Max-Age`),
/// both from the session's own expiry and capped at 400 days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lifetime {
    max_age: u64,
    /// Unix seconds.
    expires: u64,
}

/// `; Max-Age=` and `; Expires=`.
const MAX_AGE_ATTR: &str = "; Max-Age=";
const EXPIRES_ATTR: &str = "; Expires=";
/// An IMF-fixdate (`Tue, 14 Nov 2023 22:14:20 GMT`) with a four-digit year.
const HTTP_DATE_LEN: usize = 29;

impl Lifetime {
    /// From the current time and the session's `expires_at`, both in Unix seconds.
    pub(crate) fn new(now: u64, expires_at: u64) -> Self {
        let max_age = expires_at.saturating_sub(now).min(MAX_AGE_SECS);
        Lifetime {
            max_age,
            expires: now.saturating_add(max_age),
        }
    }

    /// What removes a cookie: `Max-Age=0` and an `Expires` at the Unix epoch.
    const REMOVED: Lifetime = Lifetime {
        max_age: 0,
        expires: 0,
    };

    /// Seconds until expiry.
    pub(crate) fn max_age(self) -> u64 {
        self.max_age
    }

    /// `Expires` as a date, `None` where `time` cannot represent it or the year is not four
    /// digits (neither happens for the clock of a running server plus 400 days).
    fn expires_at(self) -> Option<OffsetDateTime> {
        let at = OffsetDateTime::from_unix_timestamp(i64::try_from(self.expires).ok()?).ok()?;
        (1000..=9999).contains(&at.year()).then_some(at)
    }

    /// `; Max-Age=…; Expires=…` as the cookie crate renders them, worked out once per
    /// response (the date conversion is the costly part) and copied into each line.
    fn render(self) -> LifetimeText {
        let mut out = LifetimeText::default();
        out.push(MAX_AGE_ATTR.as_bytes());
        let (digits, start) = decimal(self.max_age);
        out.push(&digits[start..]);
        if let Some(at) = self.expires_at() {
            out.push(EXPIRES_ATTR.as_bytes());
            out.push(weekday(at.weekday()).as_bytes());
            out.push(b", ");
            push_two_digits(&mut out, at.day());
            out.push(b" ");
            out.push(month(at.month()).as_bytes());
            out.push(b" ");
            // Four digits (`expires_at` checks).
            let year = u16::try_from(at.year()).unwrap_or_default();
            push_two_digits(&mut out, u8::try_from(year / 100).unwrap_or_default());
            push_two_digits(&mut out, u8::try_from(year % 100).unwrap_or_default());
            out.push(b" ");
            push_two_digits(&mut out, at.hour());
            out.push(b":");
            push_two_digits(&mut out, at.minute());
            out.push(b":");
            push_two_digits(&mut out, at.second());
            out.push(b" GMT");
        }
        out
    }
}

/// The longest rendered lifetime: `; Max-Age=` and the 20 digits of a `u64`, `; Expires=`
/// and an IMF-fixdate.
const LIFETIME_TEXT_MAX: usize = MAX_AGE_ATTR.len() + 20 + EXPIRES_ATTR.len() + HTTP_DATE_LEN;

/// The rendered `Max-Age` and `Expires` attributes, on the stack.
#[derive(Clone, Copy)]
pub(crate) struct LifetimeText {
    buf: [u8; LIFETIME_TEXT_MAX],
    len: usize,
}

impl Default for LifetimeText {
    fn default() -> Self {
        LifetimeText {
            buf: [0; LIFETIME_TEXT_MAX],
            len: 0,
        }
    }
}

impl LifetimeText {
    /// Appends `bytes` (never past the buffer: the longest text fits).
    fn push(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if let Some(dst) = self.buf.get_mut(self.len..end) {
            dst.copy_from_slice(bytes);
            self.len = end;
        }
    }

    /// The text (ASCII: written from ASCII pieces only).
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// `n` in decimal, as `{}` formats it: the digits are `buf[start..]` of the returned
/// `(buf, start)` (without `core::fmt`'s machinery, which cost ten times as much per line).
fn decimal(mut n: u64) -> ([u8; 20], usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + u8::try_from(n % 10).unwrap_or_default();
        n /= 10;
        if n == 0 {
            break;
        }
    }
    (digits, i)
}

fn push_two_digits(out: &mut LifetimeText, n: u8) {
    out.push(&[b'0' + n / 10 % 10, b'0' + n % 10]);
}

fn weekday(d: Weekday) -> &'static str {
    match d {
        Weekday::Monday => "Mon",
        Weekday::Tuesday => "Tue",
        Weekday::Wednesday => "Wed",
        Weekday::Thursday => "Thu",
        Weekday::Friday => "Fri",
        Weekday::Saturday => "Sat",
        Weekday::Sunday => "Sun",
    }
}

fn month(m: Month) -> &'static str {
    match m {
        Month::January => "Jan",
        Month::February => "Feb",
        Month::March => "Mar",
        Month::April => "Apr",
        Month::May => "May",
        Month::June => "Jun",
        Month::July => "Jul",
        Month::August => "Aug",
        Month::September => "Sep",
        Month::October => "Oct",
        Month::November => "Nov",
        Month::December => "Dec",
    }
}

/// The session does not fit in `max_chunks` cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub needed: usize,
    pub max: usize,
}

impl CookieSettings {
    pub(crate) fn new(c: &CookieConfig) -> Self {
        let same_site = match c.same_site {
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::None => cookie::SameSite::None,
        };
        let mut b = Cookie::build(("", ""))
            .path(c.path.clone())
            .secure(c.secure)
            .http_only(c.http_only)
            .same_site(same_site);
        if let Some(d) = &c.domain {
            b = b.domain(d.clone());
        }
        // `=; HttpOnly; …`: the empty cookie's rendering without its `=`.
        let rendered = b.build().to_string();
        let attrs = rendered.strip_prefix('=').unwrap_or(&rendered).to_owned();
        CookieSettings {
            name: c.full_name(),
            attrs,
            browser_session: c.browser_session,
            max_line: c.max_cookie_len,
            max_chunks: c.max_chunks.clamp(1, MAX_CHUNKS),
        }
    }

    /// Our candidate values in the request's `Cookie` headers.
    pub(crate) fn candidates<'r>(&self, raw: &'r RawCookies) -> Candidates<'r> {
        super::find(
            raw.iter().map(HeaderValue::as_bytes),
            &self.name,
            self.max_chunks,
            self.max_line,
        )
    }

    /// `cookie.browser_session`: the default for a session that made no
    /// [`SessionExpiry`](crate::data::SessionExpiry) choice of its own. A choice outranks it
    /// (the session decides the lifetime it passes to [`set`](Self::set)).
    pub(crate) fn browser_session(&self) -> bool {
        self.browser_session
    }

    /// The longest sealed value (characters) worth opening: everything that fits the chunks,
    /// and never more than `open` accepts ([`MAX_SEALED_LEN`]). [`set`](Self::set) never writes
    /// a longer one.
    pub(crate) fn max_value_len(&self) -> usize {
        (self.max_line * self.max_chunks).min(MAX_SEALED_LEN)
    }

    fn chunk_name_len(&self, i: usize) -> usize {
        if i == 0 {
            self.name.len()
        } else {
            self.name.len() + 1 + decimal_digits(i as u64)
        }
    }

    /// Length of the attributes part of a line (everything after `name=value`), with
    /// `lifetime` rendered by [`Lifetime::render`] (empty for none).
    fn attrs_len(&self, lifetime: &[u8]) -> usize {
        self.attrs.len() + lifetime.len()
    }

    /// One `Set-Cookie` line: chunk `i`'s name, `=`, `prefix` and `value`, the attributes
    /// and `lifetime` (from [`Lifetime::render`]), written into a buffer of exactly its
    /// length.
    fn line(&self, i: usize, prefix: &str, value: &str, lifetime: &[u8]) -> HeaderValue {
        let len =
            self.chunk_name_len(i) + 1 + prefix.len() + value.len() + self.attrs_len(lifetime);
        let mut out = Vec::with_capacity(len);
        out.extend_from_slice(self.name.as_bytes());
        if i > 0 {
            let (digits, start) = decimal(i as u64);
            out.push(b'.');
            out.extend_from_slice(&digits[start..]);
        }
        out.push(b'=');
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(self.attrs.as_bytes());
        out.extend_from_slice(lifetime);
        debug_assert_eq!(out.len(), len);
        // Names and values we produced (a cookie token and base64url) and attributes from
        // validated configuration: always a valid header value (`HeaderValue` checks it
        // again, and takes the buffer as it is).
        HeaderValue::try_from(out).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Emits the `Set-Cookie` lines carrying `value`, split over chunks if needed, then
    /// removals for chunks the request had (`present`) that are no longer used. Nothing is
    /// emitted when the value does not fit.
    /// `lifetime` is the session's (`None`: a browser-session cookie, see
    /// [`browser_session`](Self::browser_session)).
    pub(crate) fn set(
        &self,
        value: &str,
        lifetime: Option<Lifetime>,
        present: ChunkSet,
        mut emit: impl FnMut(HeaderValue),
    ) -> Result<(), TooLarge> {
        let text = lifetime.map(Lifetime::render);
        let lifetime = text.as_ref().map_or(&[][..], LifetimeText::as_bytes);
        let attrs = self.attrs_len(lifetime);
        let room = |i: usize| {
            self.max_line
                .saturating_sub(self.chunk_name_len(i) + 1 + attrs)
        };
        // The longest value `chunks` cookies carry: the first of several gives up room to the
        // `n.` prefix; a single cookie has none.
        let capacity = |chunks: usize| match chunks {
            1 => room(0),
            _ => (0..chunks)
                .map(room)
                .sum::<usize>()
                .saturating_sub(decimal_digits(chunks as u64) + 1),
        };
        let too_large = || TooLarge {
            needed: value.len(),
            max: capacity(self.max_chunks).min(MAX_SEALED_LEN),
        };
        // What `open` would refuse on the next request is never written (issue 12, S5):
        // validation keeps the chunks within `MAX_SEALED_LEN`, and this holds without it.
        if value.len() > MAX_SEALED_LEN {
            return Err(too_large());
        }
        let n = if value.len() <= room(0) {
            1
        } else if self.max_chunks == 1 {
            // No second cookie allowed: the next request would refuse two.
            return Err(too_large());
        } else {
            // Each part after the first loses its own name length; the first loses `n.`.
            let mut n = 2;
            loop {
                if capacity(n) >= value.len() || n >= self.max_chunks {
                    break;
                }
                n += 1;
            }
            n
        };
        // The first of several chunks starts with `n.`.
        let mut count = String::new();
        if n > 1 {
            let _ = write!(count, "{n}.");
        }
        let take = |i: usize| {
            if i == 0 {
                room(0).saturating_sub(count.len())
            } else {
                room(i)
            }
        };
        if (0..n).map(take).sum::<usize>() < value.len() {
            return Err(too_large());
        }
        let mut rest = value;
        for i in 0..n {
            // base64url is ASCII: any byte index is a char boundary.
            let (head, tail) = rest.split_at(take(i).min(rest.len()));
            rest = tail;
            let prefix = if i == 0 { count.as_str() } else { "" };
            emit(self.line(i, prefix, head, lifetime));
        }
        self.remove(present.at_or_above(n), emit);
        Ok(())
    }

    /// Emits a removal line for every cookie of ours in `present`.
    pub(crate) fn remove(&self, present: ChunkSet, mut emit: impl FnMut(HeaderValue)) {
        if present.is_empty() {
            return;
        }
        let removed = Lifetime::REMOVED.render();
        for i in 0..MAX_CHUNKS {
            if present.contains(i) {
                emit(self.line(i, "", "", removed.as_bytes()));
            }
        }
    }
}

fn decimal_digits(n: u64) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(max_line: usize, max_chunks: usize) -> CookieSettings {
        CookieSettings::new(&CookieConfig {
            max_cookie_len: max_line,
            max_chunks,
            ..CookieConfig::default()
        })
    }

    /// The lines `set` emits, collected.
    fn set(
        s: &CookieSettings,
        value: &str,
        lifetime: Option<Lifetime>,
        present: ChunkSet,
    ) -> Result<Vec<HeaderValue>, TooLarge> {
        let mut lines = Vec::new();
        s.set(value, lifetime, present, |l| lines.push(l))?;
        Ok(lines)
    }

    fn all_eight() -> ChunkSet {
        let mut s = ChunkSet::default();
        (0..8).for_each(|i| s.insert(i));
        s
    }

    /// `max_age` (also the server-mode store TTL) is the time left, 0 once past, and at most
    /// 400 days; `Expires` is that many seconds from now.
    #[test]
    fn a_lifetime_is_the_time_left_capped_at_400_days() {
        let now = 1_700_000_000;
        let l = Lifetime::new(now, now + 60);
        assert_eq!((l.max_age(), l.expires), (60, now + 60));
        let l = Lifetime::new(now, now - 1);
        assert_eq!((l.max_age(), l.expires), (0, now));
        let l = Lifetime::new(now, now + MAX_AGE_SECS + 1);
        assert_eq!((l.max_age(), l.expires), (MAX_AGE_SECS, now + MAX_AGE_SECS));
    }

    #[test]
    fn secure_defaults() {
        let s = settings(4096, 4);
        let lines = set(
            &s,
            "abc",
            Some(Lifetime::new(1_700_000_000, 1_700_000_060)),
            ChunkSet::default(),
        )
        .unwrap();
        assert_eq!(lines.len(), 1);
        let l = lines[0].to_str().unwrap();
        assert!(l.starts_with("__Host-session=abc"), "{l}");
        for attr in [
            "HttpOnly",
            "Secure",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=60",
            "Expires=Tue, 14 Nov 2023 22:14:20 GMT",
        ] {
            assert!(l.contains(attr), "{l} lacks {attr}");
        }
        assert!(!l.contains("Domain"));
    }

    #[test]
    fn splits_long_values_within_the_line_limit_and_removes_stale_chunks() {
        let s = settings(512, 8);
        let value = "x".repeat(1500);
        let lines = set(&s, &value, Some(Lifetime::new(0, 60)), all_eight()).unwrap();
        let sets: Vec<_> = lines.iter().map(|l| l.to_str().unwrap()).collect();
        let parts = sets.iter().filter(|l| !l.contains("Max-Age=0")).count();
        assert!(parts >= 3);
        assert!(sets.iter().all(|l| l.len() <= 512), "{sets:?}");
        assert!(sets[0].starts_with(&format!("__Host-session={parts}.")));
        let removed = sets.iter().filter(|l| l.contains("Max-Age=0")).count();
        assert_eq!(parts + removed, 8);
        // Joining the parts gives the value back.
        let header = sets[..parts]
            .iter()
            .map(|l| l.split(';').next().unwrap())
            .collect::<Vec<_>>()
            .join("; ");
        let found = super::super::find([header.as_bytes()], "__Host-session", 8, 512);
        assert_eq!(found.values(), [value]);
    }

    /// The line the `cookie` crate renders for the same cookie (how lines were built before
    /// issue 13): the oracle for the hand-assembled lines.
    fn rendered_by_the_cookie_crate(
        c: &CookieConfig,
        name: &str,
        value: &str,
        lifetime: Option<Lifetime>,
    ) -> String {
        let same_site = match c.same_site {
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::None => cookie::SameSite::None,
        };
        let mut b = Cookie::build((name.to_owned(), value.to_owned()))
            .path(c.path.clone())
            .secure(c.secure)
            .http_only(c.http_only)
            .same_site(same_site);
        if let Some(d) = &c.domain {
            b = b.domain(d.clone());
        }
        if let Some(l) = lifetime {
            let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
            b = b.max_age(cookie::time::Duration::seconds(secs(l.max_age)));
            if let Ok(at) = OffsetDateTime::from_unix_timestamp(secs(l.expires)) {
                b = b.expires(at);
            }
        }
        b.build().to_string()
    }

    /// Every line, chunk and removal is byte for byte what the `cookie` crate renders, for
    /// every attribute setting and dates across days, months, years and leap days.
    #[test]
    fn lines_are_what_the_cookie_crate_renders() {
        let configs = [
            CookieConfig::default(),
            CookieConfig {
                domain: Some("example.com".into()),
                host_prefix: false,
                path: "/app".into(),
                same_site: SameSite::Strict,
                ..CookieConfig::default()
            },
            CookieConfig {
                host_prefix: false,
                secure: false,
                http_only: false,
                same_site: SameSite::None,
                name: "sid".into(),
                ..CookieConfig::default()
            },
            CookieConfig {
                browser_session: true,
                ..CookieConfig::default()
            },
        ];
        let mut checked = 0;
        for c in &configs {
            let s = CookieSettings::new(c);
            let lifetime = |now: u64, age: u64| {
                (!c.browser_session).then(|| Lifetime::new(now, now.saturating_add(age)))
            };
            // One second before and after midnight, every day of 2023–2025 (a leap year, all
            // weekdays and months), and ages from 0 to past the 400-day cap.
            for day in 19_358..19_358 + 3 * 366 {
                for now in [day * 86_400 - 1, day * 86_400 + 45_296] {
                    for age in [0, 9, 10, 86_400, MAX_AGE_SECS, u64::MAX / 2] {
                        let l = lifetime(now, age);
                        let lines = set(&s, "abc", l, ChunkSet::default()).unwrap();
                        let want = rendered_by_the_cookie_crate(c, &s.name, "abc", l);
                        assert_eq!(lines[0].to_str().unwrap(), want);
                        let text = l.map(Lifetime::render);
                        let text = text.as_ref().map_or(&[][..], LifetimeText::as_bytes);
                        assert_eq!(lines[0].len() - s.name.len() - 4, s.attrs_len(text));
                        checked += 1;
                    }
                }
            }
            // Chunks and removals.
            let s = CookieSettings::new(&CookieConfig {
                max_cookie_len: 300,
                max_chunks: 12,
                ..c.clone()
            });
            let l = lifetime(1_700_000_000, 3_600);
            let value = "v".repeat(1_000);
            let lines = set(&s, &value, l, all_eight()).unwrap();
            // Several chunks and the removal of the ones left over.
            assert!(lines.len() >= 5, "{lines:?}");
            let mut joined = String::new();
            for (i, line) in lines.iter().enumerate() {
                let line = line.to_str().unwrap();
                let (name, rest) = line.split_once('=').unwrap();
                let v = rest.split(';').next().unwrap();
                let removal = line.contains("Max-Age=0");
                let want = if removal {
                    let gone = Some(Lifetime::REMOVED);
                    rendered_by_the_cookie_crate(c, name, "", gone)
                } else {
                    joined.push_str(v);
                    rendered_by_the_cookie_crate(c, name, v, l)
                };
                assert_eq!(line, want, "line {i}");
            }
            assert!(joined.ends_with(&value));
            // Every chunk a request can carry, two-digit names included.
            let mut every = ChunkSet::default();
            (0..MAX_CHUNKS).for_each(|i| every.insert(i));
            let mut removals = Vec::new();
            s.remove(every, |l| removals.push(l));
            assert_eq!(removals.len(), MAX_CHUNKS);
            for (i, line) in removals.iter().enumerate() {
                let name = if i == 0 {
                    s.name.clone()
                } else {
                    format!("{}.{i}", s.name)
                };
                let want = rendered_by_the_cookie_crate(c, &name, "", Some(Lifetime::REMOVED));
                assert_eq!(line.to_str().unwrap(), want);
            }
        }
        assert!(checked > 20_000);
    }

    /// A value that fills the line limit exactly still goes in one cookie; one byte more
    /// takes two.
    #[test]
    fn a_value_filling_the_line_limit_exactly_takes_one_cookie() {
        let s = settings(512, 4);
        let l = Some(Lifetime::new(1_700_000_000, 1_700_000_060));
        let empty = set(&s, "", l, ChunkSet::default()).unwrap()[0].len();
        let value = "x".repeat(512 - empty);
        let lines = set(&s, &value, l, ChunkSet::default()).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), 512);
        let lines = set(&s, &format!("{value}x"), l, ChunkSet::default()).unwrap();
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|l| l.len() <= 512));
    }

    /// S5 (issue 12): settings that chunk more than `open` accepts (validation refuses them,
    /// but the write side does not rely on it) still never write such a value.
    #[test]
    fn set_refuses_a_value_open_would_reject() {
        use crate::limits::MAX_SEALED_LEN;
        let s = settings(8192, 16);
        assert_eq!(s.max_value_len(), MAX_SEALED_LEN);
        assert!(set(&s, &"x".repeat(MAX_SEALED_LEN), None, ChunkSet::default()).is_ok());
        let err = set(
            &s,
            &"x".repeat(MAX_SEALED_LEN + 1),
            None,
            ChunkSet::default(),
        )
        .unwrap_err();
        assert_eq!(err.needed, MAX_SEALED_LEN + 1);
        assert!(err.max <= MAX_SEALED_LEN);
    }

    /// A value takes the fewest cookies it fits in: growing it by one byte at a time adds at
    /// most one cookie per byte, up to `max_chunks`, and never skips a count.
    #[test]
    fn each_byte_more_takes_at_most_one_more_cookie() {
        let s = settings(300, 12);
        let l = Some(Lifetime::new(1_700_000_000, 1_700_000_060));
        let mut counts = Vec::new();
        for len in 1.. {
            let Ok(lines) = set(&s, &"x".repeat(len), l, ChunkSet::default()) else {
                break;
            };
            let n = lines.len();
            let last = counts.last().copied().unwrap_or(1);
            assert!(
                n == last || n == last + 1,
                "{len} bytes: {n} cookies after {last}"
            );
            assert!(
                lines.iter().all(|l| l.len() <= 300),
                "{len} bytes: {lines:?}"
            );
            counts.push(n);
        }
        assert_eq!(counts.first(), Some(&1));
        assert_eq!(counts.last(), Some(&12));
    }

    /// Never more cookies than `max_chunks`, 1 included (it wrote `NAME=2.…` and `NAME.1`
    /// with a 200, which the next request refused, so the session was silently lost), and
    /// the error's `max` is the longest value that was written.
    #[test]
    fn never_more_cookies_than_max_chunks() {
        let l = Some(Lifetime::new(1_700_000_000, 1_700_000_060));
        for max_chunks in 1..=4 {
            let s = settings(256, max_chunks);
            let mut longest = 0;
            for len in 1.. {
                match set(&s, &"x".repeat(len), l, ChunkSet::default()) {
                    Ok(lines) => {
                        assert!(lines.len() <= max_chunks, "{max_chunks}: {lines:?}");
                        longest = len;
                    }
                    Err(e) => {
                        assert_eq!((e.needed, e.max), (len, longest), "max_chunks {max_chunks}");
                        break;
                    }
                }
            }
            assert!(longest > 100, "max_chunks {max_chunks}: {longest}");
        }
    }

    /// Validation's bound on the attributes (`config::cookie::ATTRS_BOUND`, plus the path and
    /// domain) holds for the longest rendering: every attribute on, the longest `Max-Age`.
    #[test]
    fn the_attributes_fit_the_bound_validation_assumes() {
        use crate::config::ATTRS_BOUND;
        let c = CookieConfig {
            host_prefix: false,
            same_site: SameSite::Strict,
            path: "/a/longer/path".into(),
            domain: Some("sub.example.com".into()),
            ..CookieConfig::default()
        };
        let s = CookieSettings::new(&c);
        let text = Lifetime::new(1_700_000_000, u64::MAX).render();
        let bound = ATTRS_BOUND + c.path.len() + c.domain.as_ref().map_or(0, String::len);
        assert!(
            s.attrs_len(text.as_bytes()) <= bound,
            "{} > {bound}",
            s.attrs_len(text.as_bytes())
        );
        assert!(
            bound - s.attrs_len(text.as_bytes()) < 8,
            "the bound is loose"
        );
    }

    #[test]
    fn too_large_past_max_chunks() {
        let s = settings(512, 2);
        assert!(set(&s, &"x".repeat(2000), None, ChunkSet::default()).is_err());
    }
}
