//! [`SessionConfig`]: everything the layer needs, from a TOML file, from `SEALED_SESSION_*`
//! environment variables, or both; its validation; and the building blocks of key rotation
//! ([`SessionConfig::key_ring_at`], [`SessionConfig::rotation_report`]).
//!
//! | file | holds |
//! |---|---|
//! | `mod.rs` | `SessionConfig`: loading, validation, key ring, rotation report |
//! | `cookie.rs` | `CookieConfig`, `SameSite` and the RFC 6265bis checks |
//! | `expiry.rs` | `ExpiryConfig` |
//! | `key.rs` | `KeyConfig` and its secret sources |
//! | `env.rs` | the environment form and the `SEALED_SESSION_KEYS` grammar |
//! | `rotation.rs` | `RotationReport` |
//! | `de.rs` | durations and RFC 3339 instants |
//!
//! # Example
//! ```
//! use sealed_session::SessionConfig;
//! // A secret as `sealed-session keygen --format secret` prints it (in production, keep it in
//! // `secret_file` or `secret_env`, not in the file).
//! let secret = sealed_session::keys::generate_secret();
//! let config = SessionConfig::from_toml_str(&format!(r#"
//!     [cookie]
//!     name = "id"
//!
//!     [expiry]
//!     idle = "30m"
//!     absolute = "12h"
//!
//!     [[keys]]
//!     id = 1
//!     secret = "{secret}"
//! "#))?;
//! config.validate()?;
//! assert_eq!(config.cookie.name, "id");
//! assert_eq!(config.key_ring()?.keys().len(), 1);
//! # Ok::<(), sealed_session::ConfigError>(())
//! ```

use std::path::Path;
use std::time::SystemTime;

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::error::ConfigError;
use crate::keys::KeyRing;

mod cookie;
mod de;
mod env;
mod expiry;
mod key;
mod rotation;
mod store;

#[cfg(test)]
pub(crate) use cookie::ATTRS_BOUND;
pub use cookie::{CookieConfig, SameSite};
pub(crate) use de::process_env;
pub(crate) use env::CONFIG_VAR;
pub use expiry::ExpiryConfig;
pub use key::KeyConfig;
pub use rotation::{KeyReport, KeyStatus, RotationReport};
#[cfg(feature = "redis")]
pub(crate) use store::redact_url;
pub(crate) use store::StoreKind;
pub use store::{ConnectPolicy, LoadPolicy, SessionMode, StoreConfig};

/// The whole configuration. Every field has a default; only `keys` must be given (or use
/// [`SessionConfig::ephemeral`] for development).
///
/// Load it with [`from_file`](Self::from_file) (TOML), [`from_env`](Self::from_env)
/// (`SEALED_SESSION_*` variables, optionally on top of a file), or build it in code; then
/// [`validate`](Self::validate) it. Unknown settings are errors, so a typo never silently
/// falls back to a default. `Debug` never shows a secret.
///
/// Every setting, with its default (see [`CookieConfig`], [`ExpiryConfig`], [`KeyConfig`]):
///
/// ```toml
/// [cookie]
/// name = "session"          # sent as `__Host-session`
/// host_prefix = true        # RFC 6265bis §4.1.3.2: needs secure, path "/", no domain
/// path = "/"
/// # domain = "example.com"  # default: none (host-only)
/// secure = true
/// http_only = true
/// same_site = "lax"         # "strict", "lax", "none" (needs secure)
/// browser_session = false   # true: no Max-Age, gone when the browser closes
/// max_cookie_len = 4096     # bytes per Set-Cookie line, 256-8192
/// max_chunks = 4            # cookies per session, 1-16
///
/// [expiry]
/// idle = "24h"              # "0s" disables
/// absolute = "7days"        # "0s" disables (not recommended)
/// skew = "60s"
/// # renew_after = "6h"      # default: idle / 4
/// # not_before = 2026-12-01T00:00:00Z   # mass logout
///
/// [store]
/// mode = "client"           # or "server": the cookie carries a sealed id, data in the store
/// url = "memory"            # server mode: "memory" or "redis://127.0.0.1:6379/0"
/// # url = "rediss://redis.internal:6380/0"     # TLS (feature `redis-tls`)
/// # tls_ca_file = "/etc/ssl/redis-ca.pem"      # a private CA; default: the system's roots
/// # cluster = ["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]   # instead of `url`
/// prefix = "sealed-session:"  # Redis key prefix
/// # capacity = 100000       # memory store bound (live records; this is the default)
/// load = "eager"            # server mode: "eager" (before the handler) or "lazy"
/// connect = "lazy"          # Redis: "lazy" (start without it, 503 until it answers) or "eager"
///
/// [[keys]]
/// id = 2
/// algorithm = "xaes-256-gcm"            # or "aes-256-gcm", "chacha20-poly1305"
/// secret_file = "/run/secrets/session-key-2"   # or `secret`, or `secret_env`
/// state = "primary"                     # or "decrypt-only"
/// activate_at = 2026-12-01T00:00:00Z    # optional: seal from this instant on
///
/// [[keys]]
/// id = 1
/// secret_env = "SESSION_KEY_1"
/// state = "decrypt-only"
/// retired_at = 2026-11-20T00:00:00Z     # optional: when it stopped sealing
/// ```
///
/// # Rotating keys
/// Stage a rotation so that no instance ever meets a value sealed with a key it lacks:
/// 1. add the new key as `decrypt-only` on every instance;
/// 2. make it `primary` (or give it `activate_at`, so every instance switches at one instant);
/// 3. demote the old key to `decrypt-only` with `retired_at`; values it sealed are re-sealed
///    under the new key as their sessions come back;
/// 4. remove it once [`rotation_report`](Self::rotation_report) (or `sealed-session
///    check-config`) lists it as safe to remove: after the absolute timeout.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SessionConfig {
    /// Cookie name and attributes.
    pub cookie: CookieConfig,
    /// Timeouts.
    pub expiry: ExpiryConfig,
    /// Client or server mode, and the store.
    pub store: StoreConfig,
    /// The key ring.
    pub keys: Vec<KeyConfig>,
}

/// 1-based line and column of byte `offset` in `text`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

impl SessionConfig {
    /// Parses a TOML document. Relative `secret_file` paths stay relative to the working
    /// directory.
    ///
    /// ```
    /// let err = sealed_session::SessionConfig::from_toml_str("[cookie]\nnmae = \"id\"\n").unwrap_err();
    /// assert!(err.to_string().starts_with("line 2, column 1: unknown field `nmae`"));
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] whose `field` is the line and column and whose message says
    /// what is wrong (syntax, an unknown setting, a wrong type, a bad duration or time). The
    /// offending line is not quoted and secret-sized tokens are redacted, so that a misplaced
    /// secret is never echoed.
    pub fn from_toml_str(text: &str) -> Result<Self, ConfigError> {
        Self::parse(text, |line, col| format!("line {line}, column {col}"))
    }

    fn parse(text: &str, at: impl Fn(usize, usize) -> String) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let (line, col) = line_col(text, e.span().map_or(0, |s| s.start));
            ConfigError::Invalid {
                field: at(line, col),
                message: de::redact(e.message().trim_end()),
            }
        })
    }

    /// Reads and parses a TOML file. A relative `secret_file` is resolved against the
    /// directory of the file, so a configuration and its secrets can move together. The
    /// file's text is zeroized after parsing (it may hold inline secrets).
    ///
    /// # Errors
    /// [`ConfigError::Io`] naming the path if it cannot be read; [`ConfigError::Invalid`]
    /// whose `field` is `path:line:column` and whose message says what is wrong.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map(Zeroizing::new)
            .map_err(|source| ConfigError::io("config file", path, source))?;
        let mut config = Self::parse(&text, |line, col| {
            format!("{}:{line}:{col}", path.display())
        })?;
        let dir = path.parent().unwrap_or(Path::new(""));
        for key in &mut config.keys {
            if let Some(file) = &mut key.secret_file {
                if file.is_relative() {
                    *file = dir.join(&*file);
                }
            }
        }
        Ok(config)
    }

    /// Loads the configuration from `SEALED_SESSION_*` environment variables.
    ///
    /// If `SEALED_SESSION_CONFIG` names a file, it is loaded first
    /// ([`from_file`](Self::from_file)) and the variables override it; otherwise they
    /// override the defaults. Unset or empty variables change nothing.
    ///
    /// | variable | setting | example |
    /// |---|---|---|
    /// | `SEALED_SESSION_CONFIG` | TOML file loaded first | `/etc/app/session.toml` |
    /// | `SEALED_SESSION_COOKIE_NAME` | `cookie.name` | `id` |
    /// | `SEALED_SESSION_HOST_PREFIX` | `cookie.host_prefix` | `false` |
    /// | `SEALED_SESSION_COOKIE_PATH` | `cookie.path` | `/app` |
    /// | `SEALED_SESSION_COOKIE_DOMAIN` | `cookie.domain` | `example.com` |
    /// | `SEALED_SESSION_SECURE` | `cookie.secure` | `false` |
    /// | `SEALED_SESSION_HTTP_ONLY` | `cookie.http_only` | `true` |
    /// | `SEALED_SESSION_SAME_SITE` | `cookie.same_site` | `strict` |
    /// | `SEALED_SESSION_BROWSER_SESSION` | `cookie.browser_session` | `true` |
    /// | `SEALED_SESSION_MAX_COOKIE_LEN` | `cookie.max_cookie_len` | `4096` |
    /// | `SEALED_SESSION_MAX_CHUNKS` | `cookie.max_chunks` | `4` |
    /// | `SEALED_SESSION_IDLE` | `expiry.idle` | `30m` |
    /// | `SEALED_SESSION_ABSOLUTE` | `expiry.absolute` | `12h` |
    /// | `SEALED_SESSION_SKEW` | `expiry.skew` | `30s` |
    /// | `SEALED_SESSION_RENEW_AFTER` | `expiry.renew_after` | `5m` |
    /// | `SEALED_SESSION_NOT_BEFORE` | `expiry.not_before` | `2026-12-01T00:00:00Z` |
    /// | `SEALED_SESSION_MODE` | `store.mode` | `server` |
    /// | `SEALED_SESSION_STORE_URL` | `store.url` | `redis://127.0.0.1:6379/0` |
    /// | `SEALED_SESSION_STORE_CLUSTER` | `store.cluster` (comma-separated) | `redis://10.0.0.1:7000,redis://10.0.0.2:7000` |
    /// | `SEALED_SESSION_STORE_TLS_CA_FILE` | `store.tls_ca_file` | `/etc/ssl/redis-ca.pem` |
    /// | `SEALED_SESSION_STORE_PREFIX` | `store.prefix` | `myapp:session:` |
    /// | `SEALED_SESSION_STORE_CAPACITY` | `store.capacity` | `100000` |
    /// | `SEALED_SESSION_STORE_LOAD` | `store.load` | `lazy` |
    /// | `SEALED_SESSION_STORE_CONNECT` | `store.connect` | `eager` |
    /// | `SEALED_SESSION_KEYS` | `keys` (replaces every key of the file) | see below |
    ///
    /// Booleans are `true`/`false` (also `1`/`0`, `yes`/`no`, `on`/`off`); durations and
    /// times are written as in TOML.
    ///
    /// # `SEALED_SESSION_KEYS`
    /// The whole key ring in one variable:
    ///
    /// ```text
    /// keys      = entry *( ";" entry )           ; empty entries and spaces around fields are ignored
    /// entry     = id ":" algorithm ":" state [ "@" time ] ":" secret
    /// id        = 0-255
    /// algorithm = "xaes-256-gcm" / "aes-256-gcm" / "chacha20-poly1305"
    /// state     = "primary" / "decrypt-only"
    /// time      = RFC 3339 instant with offset, e.g. 2026-12-01T00:00:00Z
    /// secret    = 32 bytes as base64 (standard or URL-safe, padding optional)
    /// ```
    ///
    /// `@time` is the instant the key enters its state: `primary@T` is `activate_at = T`,
    /// `decrypt-only@T` is `retired_at = T`. The secret comes last because base64 never holds
    /// a `:` while a time does. For example:
    ///
    /// ```text
    /// SEALED_SESSION_KEYS="2:xaes-256-gcm:primary@2026-12-01T00:00:00Z:BASE64; 1:xaes-256-gcm:primary:BASE64; 0:aes-256-gcm:decrypt-only@2026-11-01T00:00:00Z:BASE64"
    /// ```
    ///
    /// Errors name the entry (counting from 1) and the key id, never the secret.
    /// `sealed-session keygen --format env` prints an entry.
    ///
    /// A `SEALED_SESSION_*` variable that is set but is none of these (nor a key's
    /// `secret_env`) is ignored, and logged as a `tracing` warning naming it (never its
    /// value): a misspelled `SEALED_SESSION_NOT_BEFORE` would otherwise log no one out,
    /// silently.
    ///
    /// # Errors
    /// As [`from_file`](Self::from_file) for `SEALED_SESSION_CONFIG`;
    /// [`ConfigError::Invalid`] whose `field` is the variable name for a value that does not
    /// parse. Nothing is validated beyond parsing: call [`validate`](Self::validate).
    pub fn from_env() -> Result<Self, ConfigError> {
        let config = Self::from_env_map(de::process_env)?;
        for name in config.unread_env_vars() {
            tracing::warn!(
                variable = %name,
                "`{name}` is set, but sealed-session reads no such variable: it is ignored (a \
                 misspelled setting? the variables are listed on `SessionConfig::from_env`)"
            );
        }
        Ok(config)
    }

    /// The `SEALED_SESSION_*` variables set in this process's environment that nothing reads:
    /// none of the variables of [`from_env`](Self::from_env)'s table, nor the `secret_env` of
    /// one of this configuration's keys. Each is most likely a misspelled setting, silently
    /// ignored; `from_env` logs a warning for each, and a program that reads the environment
    /// through [`from_env_map`](Self::from_env_map) can do the same. Names only, sorted;
    /// never a value.
    ///
    /// ```
    /// let config = sealed_session::SessionConfig::ephemeral();
    /// for name in config.unread_env_vars() {
    ///     eprintln!("warning: `{name}` is set, but sealed-session reads no such variable");
    /// }
    /// ```
    #[must_use]
    pub fn unread_env_vars(&self) -> Vec<String> {
        let set = std::env::vars_os().filter_map(|(name, _)| name.into_string().ok());
        env::unread(set, &self.keys)
    }

    /// As [`from_env`](Self::from_env), reading variables through `env` instead of the
    /// process environment (tests, or another source of settings).
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use sealed_session::SessionConfig;
    /// // What `sealed-session keygen --format env` prints.
    /// let keys = format!("1:xaes-256-gcm:primary:{}", sealed_session::keys::generate_secret());
    /// let vars = HashMap::from([
    ///     ("SEALED_SESSION_COOKIE_NAME", "id"),
    ///     ("SEALED_SESSION_IDLE", "30m"),
    ///     ("SEALED_SESSION_KEYS", keys.as_str()),
    /// ]);
    /// let config = SessionConfig::from_env_map(|name| vars.get(name).map(|v| v.to_string()))?;
    /// config.validate()?;
    /// assert_eq!(config.cookie.name, "id");
    /// assert_eq!(config.expiry.idle.as_secs(), 1800);
    /// # Ok::<(), sealed_session::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// As [`from_env`](Self::from_env).
    pub fn from_env_map(env: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = match env(env::CONFIG_VAR).filter(|p| !p.trim().is_empty()) {
            Some(path) => Self::from_file(path.trim())?,
            None => Self::default(),
        };
        let sections = env::Sections {
            cookie: &mut config.cookie,
            expiry: &mut config.expiry,
            store: &mut config.store,
            keys: &mut config.keys,
        };
        env::apply(sections, &env)?;
        Ok(config)
    }

    /// The defaults plus one fresh random primary key (id 0), for development: sessions do
    /// not survive a restart and instances do not share the key. The key is marked
    /// ([`KeyConfig::is_ephemeral`]) and [`SessionLayer`](crate::SessionLayer) logs a warning
    /// when it is built with it.
    ///
    /// ```
    /// let config = sealed_session::SessionConfig::ephemeral();
    /// config.validate()?;
    /// assert_eq!(config.keys.len(), 1);
    /// # Ok::<(), sealed_session::ConfigError>(())
    /// ```
    #[must_use]
    pub fn ephemeral() -> Self {
        SessionConfig {
            keys: vec![KeyConfig::ephemeral(0)],
            ..Self::default()
        }
    }

    /// Checks everything the layer needs, at the current time: cookie name and attributes
    /// (RFC 6265bis `__Host-` rules, `SameSite=None` needs `Secure`, size limits), timeouts,
    /// and the key ring with every secret resolved.
    ///
    /// # Errors
    /// The first [`ConfigError`] found; each names the setting (and key id) at fault and what
    /// to write instead, never a secret.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_at(SystemTime::now())
    }

    /// As [`validate`](Self::validate), at `now` (injected time, for tests and tools).
    ///
    /// # Errors
    /// As [`validate`](Self::validate).
    pub fn validate_at(&self, now: SystemTime) -> Result<(), ConfigError> {
        self.checked_ring(now).map(drop)
    }

    /// Validates everything at `now` and returns the key ring.
    pub(crate) fn checked_ring(&self, now: SystemTime) -> Result<KeyRing, ConfigError> {
        self.cookie.validate()?;
        self.expiry.validate_at(now)?;
        self.store.validate()?;
        self.key_ring_at(now)
    }

    /// Builds and validates the key ring at the current time.
    ///
    /// # Errors
    /// The first [`ConfigError`] of any key, or of the ring as a whole.
    pub fn key_ring(&self) -> Result<KeyRing, ConfigError> {
        self.key_ring_at(SystemTime::now())
    }

    /// Builds and validates the key ring at `now`: every key's algorithm, state and secret
    /// (read from its variable or file now, at each reload too: a new secret under an
    /// old id ends the sessions sealed with the old one, so rotate with a new id),
    /// distinct ids, a primary active at `now`, no two primaries from one instant.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for no keys at all, else as [`KeyConfig::build`] for the
    /// first bad key, then [`ConfigError::DuplicateKeyId`], [`ConfigError::TwoPrimaries`]
    /// or [`ConfigError::NoPrimary`].
    pub fn key_ring_at(&self, now: SystemTime) -> Result<KeyRing, ConfigError> {
        if self.keys.is_empty() {
            return Err(ConfigError::Invalid {
                field: "keys".into(),
                message: "no key configured; add a `[[keys]]` table (`sealed-session keygen` \
                          prints one) or set SEALED_SESSION_KEYS"
                    .into(),
            });
        }
        let keys = self
            .keys
            .iter()
            .map(KeyConfig::build)
            .collect::<Result<Vec<_>, _>>()?;
        KeyRing::new_at(keys, now)
    }

    /// The rotation state at `now`: the primary, the next scheduled switch, and which keys
    /// are safe to remove (see [`KeyStatus`] for the rule). Validates first.
    ///
    /// # Errors
    /// As [`validate_at`](Self::validate_at).
    pub fn rotation_report(&self, now: SystemTime) -> Result<RotationReport, ConfigError> {
        let ring = self.checked_ring(now)?;
        Ok(RotationReport::new(&self.keys, &self.expiry, &ring, now))
    }
}
