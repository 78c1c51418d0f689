//! Building `Set-Cookie` lines: one cookie, chunks, and removals.

use cookie::{Cookie, CookieBuilder};
use http::HeaderValue;

use super::{Candidates, ChunkSet, RawCookies};
use crate::config::{CookieConfig, SameSite};
use crate::limits::{MAX_AGE_SECS, MAX_CHUNKS, MAX_SEALED_LEN};

/// Cookie attributes, resolved once from [`CookieConfig`].
#[derive(Clone, Debug)]
pub(crate) struct CookieSettings {
    /// The name as sent (with `__Host-` when configured).
    pub name: String,
    path: String,
    domain: Option<String>,
    secure: bool,
    http_only: bool,
    same_site: SameSite,
    browser_session: bool,
    pub max_line: usize,
    pub max_chunks: usize,
    /// Length of the rendered attributes without `Max-Age`, and what `Max-Age` adds besides
    /// its digits: measured once from the cookie crate's own rendering.
    attrs_base: usize,
    max_age_extra: usize,
}

/// When a cookie expires, as `Max-Age` and `Expires` (for clients that predate `Max-Age`),
/// both from the session's own expiry and capped at 400 days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Lifetime {
    max_age: u64,
    /// Unix seconds.
    expires: u64,
}

impl Lifetime {
    /// From the current time and the session's `expires_at`, both in Unix seconds.
    pub(crate) fn new(now: u64, expires_at: u64) -> Self {
        let max_age = expires_at.saturating_sub(now).min(MAX_AGE_SECS);
        Lifetime {
            max_age,
            expires: now.saturating_add(max_age),
        }
    }

    /// Seconds until expiry.
    pub(crate) fn max_age(self) -> u64 {
        self.max_age
    }

    fn apply(self, b: CookieBuilder<'static>) -> CookieBuilder<'static> {
        let secs = |s: u64| i64::try_from(s).unwrap_or(i64::MAX);
        let b = b.max_age(cookie::time::Duration::seconds(secs(self.max_age)));
        match cookie::time::OffsetDateTime::from_unix_timestamp(secs(self.expires)) {
            Ok(at) => b.expires(at),
            Err(_) => b,
        }
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
        let mut settings = CookieSettings {
            name: c.full_name(),
            path: c.path.clone(),
            domain: c.domain.clone(),
            secure: c.secure,
            http_only: c.http_only,
            same_site: c.same_site,
            browser_session: c.browser_session,
            max_line: c.max_cookie_len,
            max_chunks: c.max_chunks.clamp(1, MAX_CHUNKS),
            attrs_base: 0,
            max_age_extra: 0,
        };
        settings.attrs_base = settings.render_attrs_len(None);
        settings.max_age_extra =
            settings.render_attrs_len(Some(Lifetime::new(0, 0))) - settings.attrs_base - 1;
        settings
    }

    /// Our candidate values in the request's `Cookie` headers.
    pub(crate) fn candidates(&self, raw: &RawCookies) -> Candidates {
        super::find(
            raw.iter().map(HeaderValue::as_bytes),
            &self.name,
            self.max_chunks,
            self.max_line,
        )
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

    fn chunk_name(&self, i: usize) -> String {
        if i == 0 {
            self.name.clone()
        } else {
            format!("{}.{i}", self.name)
        }
    }

    fn builder(&self, name: String, value: String) -> CookieBuilder<'static> {
        let same_site = match self.same_site {
            SameSite::Strict => cookie::SameSite::Strict,
            SameSite::Lax => cookie::SameSite::Lax,
            SameSite::None => cookie::SameSite::None,
        };
        let mut b = Cookie::build((name, value))
            .path(self.path.clone())
            .secure(self.secure)
            .http_only(self.http_only)
            .same_site(same_site);
        if let Some(d) = &self.domain {
            b = b.domain(d.clone());
        }
        b
    }

    fn line(b: CookieBuilder<'static>) -> HeaderValue {
        // The cookie crate renders names and values we produced (a cookie token and base64url)
        // and attributes from validated configuration: always a valid header value.
        HeaderValue::try_from(b.build().to_string())
            .unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Length of the attributes part of a line (everything after `name=value`), without
    /// rendering a cookie. An HTTP date (`Expires`) has a fixed width for 4-digit years.
    fn attrs_len(&self, lifetime: Option<Lifetime>) -> usize {
        self.attrs_base + lifetime.map_or(0, |l| self.max_age_extra + decimal_digits(l.max_age))
    }

    /// Length of the attributes part of a line, by rendering an empty cookie.
    fn render_attrs_len(&self, lifetime: Option<Lifetime>) -> usize {
        let mut b = self.builder(String::new(), String::new());
        if let Some(l) = lifetime {
            b = l.apply(b);
        }
        b.build().to_string().len() - 1
    }

    /// `Set-Cookie` lines carrying `value`, split over chunks if needed, plus removals for
    /// chunks the request had (`present`) that are no longer used.
    /// `lifetime` comes from the session's expiry (ignored for browser-session cookies).
    pub(crate) fn set(
        &self,
        value: &str,
        lifetime: Option<Lifetime>,
        present: ChunkSet,
    ) -> Result<Vec<HeaderValue>, TooLarge> {
        let lifetime = lifetime.filter(|_| !self.browser_session);
        let attrs = self.attrs_len(lifetime);
        let room = |i: usize| {
            self.max_line
                .saturating_sub(self.chunk_name_len(i) + 1 + attrs)
        };
        let capacity = |chunks: usize| (0..chunks).map(room).sum::<usize>().saturating_sub(3);
        // What `open` would refuse on the next request is never written (issue 12, S5):
        // validation keeps the chunks within `MAX_SEALED_LEN`, and this holds without it.
        if value.len() > MAX_SEALED_LEN {
            return Err(TooLarge {
                needed: value.len(),
                max: capacity(self.max_chunks).min(MAX_SEALED_LEN),
            });
        }
        let n = if value.len() <= room(0) {
            1
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
        let mut lines = Vec::with_capacity(n + 1);
        let mut rest = value;
        for i in 0..n {
            let mut chunk_value = if n > 1 && i == 0 {
                format!("{n}.")
            } else {
                String::new()
            };
            let take = room(i).saturating_sub(chunk_value.len()).min(rest.len());
            // base64url is ASCII: any byte index is a char boundary.
            let (head, tail) = rest.split_at(take);
            chunk_value.push_str(head);
            rest = tail;
            let mut b = self.builder(self.chunk_name(i), chunk_value);
            if let Some(l) = lifetime {
                b = l.apply(b);
            }
            lines.push(Self::line(b));
        }
        if !rest.is_empty() {
            return Err(TooLarge {
                needed: value.len(),
                max: capacity(self.max_chunks),
            });
        }
        self.remove_into(present.at_or_above(n), &mut lines);
        Ok(lines)
    }

    /// Removal lines for every cookie of ours in `present`.
    pub(crate) fn remove(&self, present: ChunkSet) -> Vec<HeaderValue> {
        let mut lines = Vec::new();
        self.remove_into(present, &mut lines);
        lines
    }

    fn remove_into(&self, present: ChunkSet, lines: &mut Vec<HeaderValue>) {
        for i in 0..MAX_CHUNKS {
            if present.contains(i) {
                let b = self
                    .builder(self.chunk_name(i), String::new())
                    .max_age(cookie::time::Duration::ZERO)
                    .expires(cookie::time::OffsetDateTime::UNIX_EPOCH);
                lines.push(Self::line(b));
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
        let lines = s
            .set(
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
        let lines = s
            .set(&value, Some(Lifetime::new(0, 60)), all_eight())
            .unwrap();
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
        assert_eq!(found.values, [value]);
    }

    #[test]
    fn computed_attribute_length_matches_the_rendering() {
        for c in [
            CookieConfig::default(),
            CookieConfig {
                domain: Some("example.com".into()),
                host_prefix: false,
                ..CookieConfig::default()
            },
        ] {
            let s = CookieSettings::new(&c);
            let now = 1_700_000_000;
            for age in [0, 9, 10, 86_400, MAX_AGE_SECS, u64::MAX / 2] {
                let l = Some(Lifetime::new(now, now.saturating_add(age)));
                assert_eq!(s.attrs_len(l), s.render_attrs_len(l), "{age}");
            }
            assert_eq!(s.attrs_len(None), s.render_attrs_len(None));
        }
    }

    /// A value that fills the line limit exactly still goes in one cookie; one byte more
    /// takes two.
    #[test]
    fn a_value_filling_the_line_limit_exactly_takes_one_cookie() {
        let s = settings(512, 4);
        let l = Some(Lifetime::new(1_700_000_000, 1_700_000_060));
        let empty = s.set("", l, ChunkSet::default()).unwrap()[0].len();
        let value = "x".repeat(512 - empty);
        let lines = s.set(&value, l, ChunkSet::default()).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].len(), 512);
        let lines = s.set(&format!("{value}x"), l, ChunkSet::default()).unwrap();
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
        assert!(s
            .set(&"x".repeat(MAX_SEALED_LEN), None, ChunkSet::default())
            .is_ok());
        let err = s
            .set(&"x".repeat(MAX_SEALED_LEN + 1), None, ChunkSet::default())
            .unwrap_err();
        assert_eq!(err.needed, MAX_SEALED_LEN + 1);
        assert!(err.max <= MAX_SEALED_LEN);
    }

    #[test]
    fn too_large_past_max_chunks() {
        let s = settings(512, 2);
        assert!(s.set(&"x".repeat(2000), None, ChunkSet::default()).is_err());
    }
}
