//! [`SessionConfig`]: everything the layer needs, deserializable with serde (TOML file or
//! environment variables).
//!
//! # Example
//! ```
//! use sealed_session::SessionConfig;
//! let config: SessionConfig = toml::from_str(r#"
//!     [cookie]
//!     name = "id"
//!
//!     [expiry]
//!     idle = "30m"
//!     absolute = "12h"
//!
//!     [[keys]]
//!     id = 1
//!     secret = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
//! "#)?;
//! assert_eq!(config.cookie.name, "id");
//! assert_eq!(config.key_ring()?.keys().len(), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Deserializer};

use crate::error::ConfigError;
use crate::keys::{decode_secret, Algorithm, Key, KeyId, KeyRing, KeyState};
use crate::time::ExpiryPolicy;

/// The whole configuration. Every field has a default; only `keys` must be given (or use
/// [`SessionConfig::ephemeral`] for development).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Cookie name and attributes.
    pub cookie: CookieConfig,
    /// Timeouts.
    pub expiry: ExpiryConfig,
    /// The key ring.
    pub keys: Vec<KeyConfig>,
}

/// `SameSite` attribute values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SameSite {
    /// Sent on same-site requests only.
    Strict,
    /// Sent on same-site requests and top-level navigations (default).
    #[default]
    Lax,
    /// Sent on every request; requires `Secure`.
    None,
}

/// Cookie name and attributes. Secure by default.
///
/// | field | default | |
/// |---|---|---|
/// | `name` | `"session"` | sent as `__Host-session` while `host_prefix` is on |
/// | `host_prefix` | `true` | RFC 6265bis §4.1.3.2: `__Host-` requires `Secure`, `Path=/`, no `Domain` |
/// | `path` | `"/"` | |
/// | `domain` | none | |
/// | `secure` | `true` | turn off (with `host_prefix`) only for plain http on 127.0.0.1 |
/// | `http_only` | `true` | |
/// | `same_site` | `"lax"` | |
/// | `browser_session` | `false` | no `Max-Age`: the browser drops it on close (expiry inside still applies) |
/// | `max_cookie_len` | `4096` | bytes of one whole `Set-Cookie` line (name, value, attributes) |
/// | `max_chunks` | `4` | at most this many cookies per session (1–16) |
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CookieConfig {
    /// Cookie name, without the `__Host-` prefix.
    pub name: String,
    /// Prefix the name with `__Host-`.
    pub host_prefix: bool,
    /// `Path` attribute.
    pub path: String,
    /// `Domain` attribute.
    pub domain: Option<String>,
    /// `Secure` attribute.
    pub secure: bool,
    /// `HttpOnly` attribute.
    pub http_only: bool,
    /// `SameSite` attribute.
    pub same_site: SameSite,
    /// Leave out `Max-Age`/`Expires`.
    pub browser_session: bool,
    /// Largest `Set-Cookie` line in bytes before the value is split into chunks.
    pub max_cookie_len: usize,
    /// Largest number of chunks.
    pub max_chunks: usize,
}

impl Default for CookieConfig {
    fn default() -> Self {
        CookieConfig {
            name: "session".into(),
            host_prefix: true,
            path: "/".into(),
            domain: None,
            secure: true,
            http_only: true,
            same_site: SameSite::Lax,
            browser_session: false,
            max_cookie_len: 4096,
            max_chunks: 4,
        }
    }
}

/// Timeouts, as human durations (`"30m"`, `"12h"`, `"7days"`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExpiryConfig {
    /// Idle timeout (default `24h`); `"0s"` disables it.
    #[serde(deserialize_with = "de_duration")]
    pub idle: Duration,
    /// Absolute timeout (default `7days`); `"0s"` disables it.
    #[serde(deserialize_with = "de_duration")]
    pub absolute: Duration,
    /// Clock skew tolerance (default `60s`).
    #[serde(deserialize_with = "de_duration")]
    pub skew: Duration,
    /// Renewal interval (default: a quarter of `idle`).
    #[serde(deserialize_with = "de_opt_duration")]
    pub renew_after: Option<Duration>,
    /// Reject sessions created before this RFC 3339 instant (mass logout).
    #[serde(deserialize_with = "de_opt_time")]
    pub not_before: Option<SystemTime>,
}

impl Default for ExpiryConfig {
    fn default() -> Self {
        let p = ExpiryPolicy::default();
        ExpiryConfig {
            idle: p.idle.unwrap_or_default(),
            absolute: p.absolute.unwrap_or_default(),
            skew: p.skew,
            renew_after: None,
            not_before: None,
        }
    }
}

impl ExpiryConfig {
    /// The policy these settings describe.
    #[must_use]
    pub fn policy(&self) -> ExpiryPolicy {
        let mut p = ExpiryPolicy::default().skew(self.skew);
        p = if self.idle.is_zero() { p.no_idle() } else { p.idle(self.idle) };
        p = if self.absolute.is_zero() {
            p.no_absolute()
        } else {
            p.absolute(self.absolute)
        };
        if let Some(r) = self.renew_after {
            p = p.renew_after(r);
        }
        if let Some(nb) = self.not_before {
            p = p.not_before(nb);
        }
        p
    }
}

/// One key of the ring. Exactly one of `secret`, `secret_env`, `secret_file` gives the
/// 32-byte secret as base64.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// Key id, 0–255 (written into every value it seals).
    pub id: u8,
    /// `xaes-256-gcm` (default), `aes-256-gcm` or `chacha20-poly1305`.
    #[serde(default = "default_algorithm")]
    pub algorithm: String,
    /// The secret inline (base64). Prefer `secret_env` or `secret_file` in production.
    #[serde(default)]
    pub secret: Option<String>,
    /// Name of an environment variable holding the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// Path of a file holding the secret (e.g. a mounted secret).
    #[serde(default)]
    pub secret_file: Option<std::path::PathBuf>,
    /// `primary` (default) or `decrypt-only`.
    #[serde(default, deserialize_with = "de_state")]
    pub state: KeyState,
    /// RFC 3339 instant at which a primary key starts sealing.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub activate_at: Option<SystemTime>,
}

fn default_algorithm() -> String {
    Algorithm::default().name().to_owned()
}

impl fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyConfig")
            .field("id", &self.id)
            .field("algorithm", &self.algorithm)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("secret_env", &self.secret_env)
            .field("secret_file", &self.secret_file)
            .field("state", &self.state)
            .field("activate_at", &self.activate_at)
            .finish()
    }
}

impl KeyConfig {
    /// Builds the key: resolves the secret, parses the algorithm.
    ///
    /// # Errors
    /// A [`ConfigError`] naming this key's id and the field at fault.
    pub fn build(&self) -> Result<Key, ConfigError> {
        let algorithm: Algorithm =
            self.algorithm
                .parse()
                .map_err(|_| ConfigError::UnknownAlgorithm {
                    id: self.id,
                    name: self.algorithm.clone(),
                })?;
        let id = KeyId(self.id);
        let secret = match (&self.secret, &self.secret_env, &self.secret_file) {
            (Some(s), None, None) => decode_secret(id, s)?,
            _ => {
                return Err(ConfigError::Invalid {
                    field: format!("keys[id={}]", self.id),
                    message: "give exactly one of `secret`, `secret_env`, `secret_file`".into(),
                })
            }
        };
        let mut key = Key::new(id, algorithm, &secret).state(self.state);
        if let Some(at) = self.activate_at {
            key = key.activate_at(at);
        }
        Ok(key)
    }
}

impl SessionConfig {
    /// Builds and validates the key ring at the current time.
    ///
    /// # Errors
    /// The first [`ConfigError`] of any key, or of the ring as a whole.
    pub fn key_ring(&self) -> Result<KeyRing, ConfigError> {
        self.key_ring_at(SystemTime::now())
    }

    /// Builds and validates the key ring at `now`.
    ///
    /// # Errors
    /// As [`SessionConfig::key_ring`].
    pub fn key_ring_at(&self, now: SystemTime) -> Result<KeyRing, ConfigError> {
        let keys = self
            .keys
            .iter()
            .map(KeyConfig::build)
            .collect::<Result<Vec<_>, _>>()?;
        KeyRing::new_at(keys, now)
    }
}

fn de_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_duration(&s).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{s}` is not a duration ({e}); write e.g. \"30m\", \"12h\", \"7days\""
        ))
    })
}

fn de_opt_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    de_duration(d).map(Some)
}

fn de_opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
    let s = String::deserialize(d)?;
    humantime::parse_rfc3339_weak(&s).map(Some).map_err(|e| {
        serde::de::Error::custom(format!(
            "`{s}` is not an RFC 3339 time ({e}); write e.g. \"2026-12-01T00:00:00Z\""
        ))
    })
}

fn de_state<'de, D: Deserializer<'de>>(d: D) -> Result<KeyState, D::Error> {
    let s = String::deserialize(d)?;
    match s.as_str() {
        "primary" => Ok(KeyState::Primary),
        "decrypt-only" => Ok(KeyState::DecryptOnly),
        _ => Err(serde::de::Error::custom(format!(
            "unknown key state `{s}`; expected \"primary\" or \"decrypt-only\""
        ))),
    }
}
