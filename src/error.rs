//! Error types.
//!
//! - [`RejectReason`]: why a cookie from the network was not accepted. It is `Copy`, carries no
//!   detail from a failed AEAD open, and never becomes a 500: the middleware traces it and the
//!   request continues with an empty session.
//! - [`DataError`]: a value could not be encoded or read back as the type asked for.
//! - [`ConfigError`]: the key ring or configuration is unusable; names the key and the field,
//!   never a secret.
//! - [`StoreError`]: a server-mode store failed; the request it served is answered `503`.
//! - [`Error`]: everything above joined through `From`, plus failures to seal.
//!
//! The root of the crate re-exports all of them; this module also holds [`Expiry`] and
//! [`Result`].
//!
//! # What a configuration error may quote
//! Errors quote what the operator wrote, so that a typo is easy to find, except where it could
//! be a secret pasted into the wrong place. A secret is 32 random bytes in base64: 43
//! characters of one alphabet (standard `A–Z a–z 0–9 + /` or URL-safe `A–Z a–z 0–9 - _`),
//! then `=` if padded. In one alphabet at a time, a *run* of its characters is withheld
//! (shown as `<redacted>`) when it is
//!
//! - 43 characters or longer: every 32-byte secret, standard or URL-safe, padded or not, is
//!   such a run, so no error can ever show one whole; or
//! - 22 characters or longer and mixes upper- and lower-case letters, as random base64 does:
//!   a quoted run then holds at most 21 characters (126 bits) of anything random-looking,
//!   while names such as `SEALED_SESSION_KEY_2` and paths such as `/run/secrets/session-key`
//!   (one case per run) stay readable.
//!
//! A value is judged whole, with spaces and `=` continuing a run (a secret wrapped over two
//! lines is still one run). It is also withheld when, with every other character taken out,
//! 40 or more characters of one alphabet remain and they mix upper- and lower-case letters:
//! a secret pasted with a stray character in it, or percent-encoded, is one character from
//! the secret; and when it holds 32 hexadecimal digits in a row (a 128-bit key in hex). The
//! price: a mixed-case path of 40 letters and more is withheld though it is no secret (the
//! error still names the field); lower-case paths and upper-case names stay readable.
//! A parser's message is judged run by run, and each quoted part of it as a value.
//! `tests/decoder_props.rs` plants a secret in every field
//! (`a_secret_pasted_into_any_field_is_never_echoed`, its malformed forms in
//! `a_secret_pasted_with_a_stray_character_or_encoded_is_never_echoed`, and a proptest over
//! random secrets).

use std::borrow::Cow;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// Result type of this crate, defaulting to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which timeout ended a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Expiry {
    /// No write (or renewal) within the idle timeout, or past the fixed instant the session
    /// chose (`SessionExpiry::Until`): the session's own expiry passed.
    Idle,
    /// The session is older than the absolute timeout, counted from its creation.
    Absolute,
    /// The session was created before the configured revocation instant (`not_before`).
    Revoked,
}

/// Why a sealed value was rejected.
///
/// Checks run in this order, and the first failure is reported: length cap, base64, version,
/// key id, authentication tag, payload, key retirement, expiry. Expiry is only looked at after the tag verified,
/// so an attacker learns nothing from timing about a forged value's timestamps.
///
/// ```
/// use sealed_session::RejectReason;
/// assert_eq!(RejectReason::UnknownKey.to_string(), "sealed with a key id that is not in the key ring");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RejectReason {
    /// Not base64url, shorter than a header, nonce and tag, or an undecodable payload.
    Malformed,
    /// Longer than the configured cap; rejected before any decoding.
    Oversized,
    /// A format version this build does not know.
    UnknownVersion,
    /// A key id that is not in the key ring. No other key is tried.
    UnknownKey,
    /// The AEAD tag did not verify: tampered, truncated, or moved to another cookie name.
    Unauthenticated,
    /// Authentic, but past one of its timeouts.
    Expired(Expiry),
    /// Authentic under a decrypt-only key, but created after that key's `retired_at` (plus
    /// the skew): only a leaked copy of the key could have sealed it.
    RetiredKey,
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Malformed => "malformed sealed value",
            Self::Oversized => "sealed value longer than the configured cap",
            Self::UnknownVersion => "unknown wire format version",
            Self::UnknownKey => "sealed with a key id that is not in the key ring",
            Self::Unauthenticated => "authentication failed (tampered, truncated or renamed)",
            Self::Expired(Expiry::Idle) => "session expired (idle timeout)",
            Self::Expired(Expiry::Absolute) => "session expired (absolute timeout)",
            Self::Expired(Expiry::Revoked) => "session revoked (created before `not_before`)",
            Self::RetiredKey => "created after its key was retired (`retired_at`)",
        })
    }
}

impl std::error::Error for RejectReason {}

impl RejectReason {
    /// A short, stable, machine-readable name (`"unauthenticated"`, `"expired_idle"`, …),
    /// used as the `reason` field of tracing events.
    ///
    /// ```
    /// assert_eq!(sealed_session::RejectReason::Malformed.as_str(), "malformed");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Oversized => "oversized",
            Self::UnknownVersion => "unknown_version",
            Self::UnknownKey => "unknown_key",
            Self::Unauthenticated => "unauthenticated",
            Self::Expired(Expiry::Idle) => "expired_idle",
            Self::Expired(Expiry::Absolute) => "expired_absolute",
            Self::Expired(Expiry::Revoked) => "revoked",
            Self::RetiredKey => "retired_key",
        }
    }
}

/// A session value could not be encoded, or could not be read back as the requested type.
///
/// A value that does not decode stays in the session as it was: nothing is removed or
/// overwritten unless the handler does so (`remove`, `insert`, `take`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// `insert` could not encode the value.
    #[error("could not encode the value for session key `{key}`: {source}")]
    Encode {
        /// The session key.
        key: String,
        /// Why.
        #[source]
        source: ValueError,
    },
    /// `get` found a value that does not read as the requested type.
    #[error("session key `{key}` does not read as the requested type ({source}); read it with a type its stored form fits (see the schema-evolution rules in the `data` module docs), or `remove` it")]
    Decode {
        /// The session key.
        key: String,
        /// Why, in serde's words, with any quoted part of the value cut out.
        #[source]
        source: ValueError,
    },
}

/// Why a session value could not be encoded or decoded (serde's message, with any part of
/// the value itself cut out: values may be secrets).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueError {
    reason: String,
}

impl ValueError {
    pub(crate) fn from_reason(reason: String) -> Self {
        ValueError { reason }
    }
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for ValueError {}

/// The key ring or configuration is unusable. Messages name the key and field, never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A secret was not valid base64.
    #[error("key {id}: `secret` is not valid base64; expected 32 random bytes encoded as base64 (generate one with `sealed-session keygen`)")]
    SecretNotBase64 {
        /// The key id.
        id: u8,
    },
    /// A secret decoded to the wrong number of bytes.
    #[error("key {id}: secret is {len} bytes; expected exactly 32 random bytes encoded as base64 (generate one with `sealed-session keygen`)")]
    SecretLength {
        /// The key id.
        id: u8,
        /// The decoded length.
        len: usize,
    },
    /// The secret is one printed in documentation
    /// ([`PUBLISHED_SECRETS`](crate::keys::PUBLISHED_SECRETS)): everyone knows it.
    #[error("key {id}: this is the sample secret printed in sealed-session's documentation, which everyone can read; generate your own with `sealed-session keygen`")]
    SampleSecret {
        /// The key id.
        id: u8,
    },
    /// Two keys share an id.
    #[error("key id {id} appears twice; every key needs its own id (0-255)")]
    DuplicateKeyId {
        /// The repeated id.
        id: u8,
    },
    /// No key is primary now.
    #[error("no primary key is active now (keys: {keys}); mark one key `state = \"primary\"` without `activate_at` (or with an `activate_at` in the past)")]
    NoPrimary {
        /// The keys of the ring and their states, e.g. `17 decrypt-only, 42 primary from
        /// 2030-01-01T00:00:00Z` (`none` for an empty ring).
        keys: String,
    },
    /// Two primaries become active at the same instant.
    #[error("keys {a} and {b} are both primary from the same instant; give one an `activate_at` or make it `decrypt-only`")]
    TwoPrimaries {
        /// First key id.
        a: u8,
        /// Second key id.
        b: u8,
    },
    /// An algorithm name that is not supported.
    #[error("key {id}: unknown algorithm `{name}`; expected one of `xaes-256-gcm`, `aes-256-gcm`, `chacha20-poly1305`")]
    UnknownAlgorithm {
        /// The key id.
        id: u8,
        /// The name given, or `<redacted>` when it could be a secret.
        name: String,
    },
    /// Some other invalid setting.
    #[error("{field}: {message}")]
    Invalid {
        /// The setting, as written in the configuration.
        field: String,
        /// What is wrong and what is expected.
        message: String,
    },
    /// A file (configuration or secret) could not be read.
    #[error("cannot read {what} `{path}`")]
    Io {
        /// What the file was for.
        what: String,
        /// The path, or `<redacted>` when it could be a secret pasted in its place.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl ConfigError {
    /// [`ConfigError::Io`], with `path` replaced by `<redacted>` when it could be a pasted
    /// secret (a file that cannot be read may well be one).
    pub(crate) fn io(what: impl Into<String>, path: &Path, source: std::io::Error) -> Self {
        let path = if could_be_secret(&path.to_string_lossy()) {
            PathBuf::from(REDACTED)
        } else {
            path.to_owned()
        };
        ConfigError::Io {
            what: what.into(),
            path,
            source,
        }
    }
}

/// The crate's error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value could not be encoded or decoded.
    #[error(transparent)]
    Data(#[from] DataError),
    /// Configuration or key ring problem.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A sealed value was rejected.
    #[error("sealed value rejected: {0}")]
    Rejected(#[from] RejectReason),
    /// The AEAD refused to seal (only possible for absurd lengths), or the operating system's
    /// random generator failed to give a nonce.
    #[error("could not seal the session (the AEAD refused, or the OS random generator failed)")]
    Seal,
    /// A server-mode record would be larger than
    /// [`MAX_RECORD_LEN`](crate::limits::MAX_RECORD_LEN).
    #[error("the session needs a {len}-byte store record, more than the {max} allowed; store less in the session (large data belongs in your database)")]
    RecordTooLarge {
        /// The sealed record's length.
        len: usize,
        /// The cap.
        max: usize,
    },
    /// A server-side store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A server-mode store failed. The request it served is answered with a 503.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend could not be reached or answered with an error.
    #[error("session store unavailable: {0}")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The store is at its capacity bound.
    #[error(
        "session store is full ({capacity} records); raise the capacity or shorten the timeouts"
    )]
    Full {
        /// The configured capacity.
        capacity: usize,
    },
    /// Other requests of the same session kept writing its record while this one merged
    /// its changes in ([`MAX_SAVE_ATTEMPTS`](crate::limits::MAX_SAVE_ATTEMPTS) attempts):
    /// this request's changes were not saved (the request is answered 503).
    #[error(
        "session record kept changing under concurrent writes ({attempts} attempts); \
         this request's changes were not saved, retry it"
    )]
    Conflict {
        /// Attempts made.
        attempts: u32,
    },
}

// ---------------------------------------------------------------------------- redaction

/// What replaces a withheld value.
pub(crate) const REDACTED: &str = "<redacted>";

/// A run this long is a secret, whatever its letters: a 32-byte secret is 43 characters.
const SECRET_RUN: usize = 43;

/// A run this long that mixes upper- and lower-case letters looks random: withheld too.
const MIXED_RUN: usize = 22;

#[derive(Clone, Copy)]
enum Alphabet {
    Standard,
    UrlSafe,
}

impl Alphabet {
    fn has(self, c: char) -> bool {
        c.is_ascii_alphanumeric()
            || match self {
                Alphabet::Standard => c == '+' || c == '/',
                Alphabet::UrlSafe => c == '-' || c == '_',
            }
    }
}

/// The byte ranges of `text` that hold a run of `alphabet` withheld by the rule in the module
/// docs; `join` says which other characters continue a run without counting.
fn secret_runs(text: &str, alphabet: Alphabet, join: fn(char) -> bool) -> Vec<Range<usize>> {
    struct Run {
        start: usize,
        end: usize,
        count: usize,
        upper: bool,
        lower: bool,
    }
    fn flush(run: &mut Option<Run>, out: &mut Vec<Range<usize>>) {
        if let Some(r) = run.take() {
            if r.count >= SECRET_RUN || (r.count >= MIXED_RUN && r.upper && r.lower) {
                out.push(r.start..r.end);
            }
        }
    }
    let mut out = Vec::new();
    let mut run: Option<Run> = None;
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        if alphabet.has(c) {
            let r = run.get_or_insert(Run {
                start: i,
                end,
                count: 0,
                upper: false,
                lower: false,
            });
            r.count += 1;
            r.end = end;
            r.upper |= c.is_ascii_uppercase();
            r.lower |= c.is_ascii_lowercase();
        } else if let (Some(r), true) = (run.as_mut(), join(c)) {
            if c == '=' {
                r.end = end;
            }
        } else {
            flush(&mut run, &mut out);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Whether an error must not quote `value`: it could be (or hold) a secret.
pub(crate) fn could_be_secret(value: &str) -> bool {
    let join = |c: char| c == '=' || c.is_whitespace();
    [Alphabet::Standard, Alphabet::UrlSafe]
        .into_iter()
        .any(|a| !secret_runs(value, a, join).is_empty() || looks_random_squeezed(value, a))
        || longest_hex_run(value) >= HEX_SECRET_RUN
}

/// With every character outside `alphabet` taken out, `value` is long enough to hold most of
/// a secret and mixes upper- and lower-case letters: a secret with a stray character in it,
/// or percent-encoded, is still (one character from) a secret.
fn looks_random_squeezed(value: &str, alphabet: Alphabet) -> bool {
    let (mut count, mut upper, mut lower) = (0, false, false);
    for c in value.chars().filter(|&c| alphabet.has(c)) {
        count += 1;
        upper |= c.is_ascii_uppercase();
        lower |= c.is_ascii_lowercase();
    }
    count >= SQUEEZED_RUN && upper && lower
}

/// Letters and digits, all together, that make a mixed-case value a secret's near miss: a
/// secret less a few stray characters.
const SQUEEZED_RUN: usize = 40;

/// A run of this many hexadecimal digits is withheld: a 128-bit key in hex.
const HEX_SECRET_RUN: usize = 32;

fn longest_hex_run(value: &str) -> usize {
    value
        .split(|c: char| !c.is_ascii_hexdigit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// `value`, or `<redacted>` when it could be a secret.
pub(crate) fn shown(value: &str) -> Cow<'_, str> {
    if could_be_secret(value) {
        Cow::Borrowed(REDACTED)
    } else {
        Cow::Borrowed(value)
    }
}

/// `message` (say, a parser's) with every quoted part (between backticks or double quotes)
/// that could be a secret, and every run the rule withholds, replaced by `<redacted>`.
pub(crate) fn redact(message: &str) -> String {
    // Quoted parts first, judged as values.
    let mut quoted = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['`', '"']) {
        let q = rest[open..].chars().next().unwrap_or('`');
        let inner = &rest[open + 1..];
        let Some(close) = inner.find(q) else { break };
        quoted.push_str(&rest[..=open]);
        quoted.push_str(&shown(&inner[..close]));
        quoted.push(q);
        rest = &inner[close + 1..];
    }
    quoted.push_str(rest);
    // Then any run left, in either alphabet.
    let mut ranges: Vec<Range<usize>> = [Alphabet::Standard, Alphabet::UrlSafe]
        .into_iter()
        .flat_map(|a| secret_runs(&quoted, a, |c| c == '='))
        .collect();
    if ranges.is_empty() {
        return quoted;
    }
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(quoted.len());
    let mut at = 0;
    for r in ranges {
        if r.end <= at {
            continue;
        }
        out.push_str(&quoted[at..r.start.max(at)]);
        out.push_str(REDACTED);
        at = r.end;
    }
    out.push_str(&quoted[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_secrets_are_withheld_in_every_form() {
        // 32 bytes whose standard and URL-safe forms differ.
        for secret in [
            "R0Co3CrEszRPB+C4p/QqeQRK7mYnyv1I/ZoOUpWRCkg=",
            "R0Co3CrEszRPB+C4p/QqeQRK7mYnyv1I/ZoOUpWRCkg",
            "R0Co3CrEszRPB-C4p_QqeQRK7mYnyv1I_ZoOUpWRCkg=",
            "R0Co3CrEszRPB-C4p_QqeQRK7mYnyv1I_ZoOUpWRCkg",
            // Single-case secrets too: the 43-character rule does not look at letters.
            "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE",
        ] {
            assert!(could_be_secret(secret), "{secret}");
            assert!(could_be_secret(&format!("/run/{secret}.key")), "{secret}");
            let message = redact(&format!("unknown `{secret}`; or {secret} bare"));
            assert_eq!(message, "unknown `<redacted>`; or <redacted> bare");
        }
        // Wrapped over two lines: one run as a value, so a quoted one is withheld whole.
        let wrapped = "R0Co3CrEszRPB+C4p/QqeQRK\n7mYnyv1I/ZoOUpWRCkg=";
        assert!(could_be_secret(wrapped));
        assert_eq!(redact(&format!("`{wrapped}`")), "`<redacted>`");
    }

    #[test]
    fn names_and_paths_stay_readable() {
        for value in [
            "SEALED_SESSION_CLI_TEST_KEY",
            "KEY_FOUR",
            "/tmp/sealed-session-config-1234567/no-such-secret",
            "/run/secrets/session-key-2",
            "aes-128-cbc",
            "1 fortnight",
            "2026-12-01T00:00:00+02:00",
            "redis://127.0.0.1:6379/0",
        ] {
            assert!(!could_be_secret(value), "{value}");
        }
        // A random-looking run of 22 is withheld, one of 21 is not.
        assert!(could_be_secret("R0Co3CrEszRPB+C4p/QqeQ"));
        assert!(!could_be_secret("R0Co3CrEszRPB+C4p/Qqe"));
        let plain = "unknown field `secrt`, expected one of `id`, `algorithm`";
        assert_eq!(redact(plain), plain);
    }

    #[test]
    fn a_secret_cut_by_stray_characters_is_still_withheld() {
        // 40 letters and digits, mixed case, with no run of 22: a secret broken up by stray
        // characters (or percent-encoded) is withheld by its squeezed length.
        let cut = "R0Co3CrEszRPB.C4p.QqeQRK7mYnyv1I.ZoOUpWRCkg";
        assert!(could_be_secret(cut), "{cut}");
        assert!(could_be_secret(&cut.replace('.', "%2F")));
        // One letter fewer (39) is not.
        assert!(!could_be_secret(&cut[1..]), "{}", &cut[1..]);
        // Nor are 40 of a single case.
        assert!(!could_be_secret(&cut.to_ascii_lowercase()));
    }

    #[test]
    fn a_run_of_32_hex_digits_is_withheld_and_31_are_not() {
        let hex = "0123456789abcdef0123456789abcdef";
        assert!(could_be_secret(hex));
        assert!(could_be_secret(&format!("/run/key-{hex}.bin")));
        assert!(!could_be_secret(&hex[1..]));
        assert!(!could_be_secret(&format!("/run/key-{}.bin", &hex[1..])));
    }
}
