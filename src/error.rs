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

use std::fmt;

/// Result type of this crate, defaulting to [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Which timeout ended a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Expiry {
    /// No write (or renewal) within the idle timeout.
    Idle,
    /// The session is older than the absolute timeout, counted from its creation.
    Absolute,
    /// The session was created before the configured revocation instant (`not_before`).
    Revoked,
}

/// Why a sealed value was rejected.
///
/// Checks run in this order, and the first failure is reported: length cap, base64, version,
/// key id, authentication tag, payload, expiry. Expiry is only looked at after the tag verified,
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
        /// The name given.
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
        /// The path.
        path: std::path::PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
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
}
