//! Cookie I/O: find our cookie (and its chunks) in `Cookie` headers, and build the
//! `Set-Cookie` lines that carry a sealed value, split it over chunks, or remove it.
//!
//! This layer knows nothing of crypto: it moves opaque strings. Parsing goes through the
//! [`cookie`] crate (only the cookies whose name starts with ours are parsed); nothing here
//! hand-writes the cookie grammar. `Set-Cookie` attributes are rendered once by the same
//! crate, and each line is then assembled in one buffer from name, value, those attributes,
//! `Max-Age` and `Expires` (see `set_cookie.rs`; a test holds every line byte-equal to the
//! crate's own rendering).
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

pub(crate) use parse::{find, Candidates, ChunkSet, RawCookies};
pub(crate) use set_cookie::{CookieSettings, Lifetime};

/// What happens when a session outgrows `max_chunks` cookies on the response.
///
/// Data is never dropped silently: both choices log an error naming the sizes.
///
/// ```
/// use sealed_session::middleware::OversizePolicy;
/// assert_eq!(OversizePolicy::default(), OversizePolicy::Fail);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OversizePolicy {
    /// Replace the response with an empty `500 Internal Server Error` (default): the
    /// handler's changes are not confirmed to the client, and the old cookie stays as it was.
    #[default]
    Fail,
    /// Keep the handler's response and leave the client's cookie unchanged (the write is
    /// lost, loudly).
    KeepResponse,
}
