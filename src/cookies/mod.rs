//! Cookie I/O: find our cookie (and its chunks) in `Cookie` headers, and build the
//! `Set-Cookie` lines that carry a sealed value, split it over chunks, or remove it.
//!
//! This layer knows nothing of crypto: it moves opaque strings. Parsing and formatting go
//! through the [`cookie`] crate; nothing here hand-writes the cookie grammar.
//!
//! # Chunks
//! A `Set-Cookie` line (name, value and attributes) longer than `max_cookie_len` (default 4096
//! bytes, the minimum RFC 6265 §6.1 asks browsers to keep) is split over `NAME`, `NAME.1`, …,
//! `NAME.{n-1}`. The first chunk's value starts with `n.` (base64url has no `.`), so a reader
//! knows how many parts to join without trusting anything it has not bounded first: `n` is at
//! most two digits and at most `max_chunks`. The joined value is opened as one AEAD message,
//! so a chunk swapped, dropped or reordered fails authentication.

mod parse;
mod set_cookie;

pub(crate) use parse::{find, Candidates, RawCookies};
pub(crate) use set_cookie::{CookieSettings, Lifetime};

/// The most candidate values (cookies with our name, e.g. tossed from a sibling domain) that
/// are tried per request. Each costs at most one AEAD open.
pub const MAX_CANDIDATES: usize = 4;

/// The longest `Max-Age` sent, in seconds: RFC 6265bis §5.6.2 has user agents cap it at 400
/// days.
pub(crate) const MAX_AGE_CAP: u64 = 400 * 24 * 3600;

/// The most chunks a session may span, whatever the configuration says.
pub const MAX_CHUNKS: usize = 16;

const _: () = assert!(
    MAX_CHUNKS < 100,
    "chunk counts are read as at most two digits"
);
