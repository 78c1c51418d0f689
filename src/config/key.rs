//! [`KeyConfig`]: one key of the ring as configured, and where its secret comes from.

use std::fmt;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;
use zeroize::{Zeroize, Zeroizing};

use super::de::{de_opt_time, de_state};
use crate::error::{could_be_secret, shown, ConfigError};
use crate::keys::{decode_secret, generate_secret, Algorithm, Key, KeyId, KeyState, SECRET_LEN};

/// Largest `secret_file` read, in bytes: a base64 secret is 44, so anything bigger is a
/// wrong path.
const MAX_SECRET_FILE: u64 = 4096;

/// One key of the ring.
///
/// Exactly one of `secret`, `secret_env` and `secret_file` gives the secret: 32 random bytes
/// as base64 (standard or URL-safe alphabet, padding optional). `sealed-session keygen` prints
/// a ready `[[keys]]` table.
///
/// | field | default | |
/// |---|---|---|
/// | `id` | required | 0–255, written into every value the key seals |
/// | `algorithm` | `"xaes-256-gcm"` | or `"aes-256-gcm"`, `"chacha20-poly1305"` |
/// | `secret` | — | the secret inline; prefer the two below in production |
/// | `secret_env` | — | name of an environment variable holding the secret |
/// | `secret_file` | — | path of a file holding it (trailing whitespace ignored); relative paths are resolved against the configuration file's directory |
/// | `state` | `"primary"` | or `"decrypt-only"`: opens values, never seals |
/// | `activate_at` | none | RFC 3339 instant from which a primary key seals |
/// | `retired_at` | none | RFC 3339 instant at which a decrypt-only key stopped sealing (see [`RotationReport`](crate::config::RotationReport)); values created after it (plus the skew) are refused |
///
/// The inline `secret` is zeroized when the `KeyConfig` is dropped, as are the strings read
/// from `secret_env` and `secret_file` while building the key. `Debug` shows `<redacted>` in
/// place of the secret.
///
/// ```
/// use sealed_session::config::KeyConfig;
/// use sealed_session::keys::{generate_secret, Algorithm};
/// // In production the secret comes from `sealed-session keygen`, kept in a file or variable.
/// let secret = generate_secret();
/// let key = KeyConfig::new(1, secret.as_str())
///     .algorithm(Algorithm::Aes256Gcm)
///     .decrypt_only();
/// assert_eq!(key.build()?.algorithm(), Algorithm::Aes256Gcm);
/// assert!(!format!("{key:?}").contains(&secret));
/// # Ok::<(), sealed_session::ConfigError>(())
/// ```
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
    pub secret_file: Option<PathBuf>,
    /// `primary` (default) or `decrypt-only`.
    #[serde(default, deserialize_with = "de_state")]
    pub state: KeyState,
    /// RFC 3339 instant at which a primary key starts sealing.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub activate_at: Option<SystemTime>,
    /// RFC 3339 instant at which this key was demoted to decrypt-only (stopped sealing).
    /// Only for decrypt-only keys; it tells [`rotation_report`](crate::SessionConfig::rotation_report)
    /// when the key becomes safe to remove, and the key refuses values created after it
    /// (plus the skew), which only a leaked copy of it could have sealed (see
    /// [`Key::retired_at`]). Set it to when the **last** instance stopped sealing with it.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub retired_at: Option<SystemTime>,
    /// Made by [`SessionConfig::ephemeral`](crate::SessionConfig::ephemeral): a random secret
    /// that lives as long as the process (the layer warns about it).
    #[serde(skip)]
    ephemeral: bool,
}

fn default_algorithm() -> String {
    Algorithm::default().name().to_owned()
}

impl Drop for KeyConfig {
    fn drop(&mut self) {
        if let Some(secret) = &mut self.secret {
            secret.zeroize();
        }
    }
}

impl fmt::Debug for KeyConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyConfig")
            .field("id", &self.id)
            .field("algorithm", &shown(&self.algorithm))
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("secret_env", &self.secret_env.as_deref().map(shown))
            .field(
                "secret_file",
                &self
                    .secret_file
                    .as_deref()
                    .map(|p| shown(&p.to_string_lossy()).into_owned()),
            )
            .field("state", &self.state)
            .field("activate_at", &self.activate_at)
            .field("retired_at", &self.retired_at)
            .field("ephemeral", &self.ephemeral)
            .finish()
    }
}

fn invalid(id: u8, field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: format!("keys[id={id}].{field}"),
        message: message.into(),
    }
}

impl KeyConfig {
    fn with_source(
        id: u8,
        secret: Option<String>,
        secret_env: Option<String>,
        secret_file: Option<PathBuf>,
    ) -> Self {
        KeyConfig {
            id,
            algorithm: default_algorithm(),
            secret,
            secret_env,
            secret_file,
            state: KeyState::Primary,
            activate_at: None,
            retired_at: None,
            ephemeral: false,
        }
    }

    /// A primary key with a fresh random secret that lives as long as the process.
    pub(crate) fn ephemeral(id: u8) -> Self {
        let mut key = Self::new(id, generate_secret());
        key.ephemeral = true;
        key
    }

    /// Whether this key was made by [`SessionConfig::ephemeral`](crate::SessionConfig::ephemeral):
    /// its secret is random and lives as long as the process, so sessions do not survive a
    /// restart and instances do not share them. [`SessionLayer`](crate::SessionLayer) warns
    /// about such a key when it is built.
    ///
    /// ```
    /// let config = sealed_session::SessionConfig::ephemeral();
    /// assert!(config.keys[0].is_ephemeral());
    /// assert!(!sealed_session::config::KeyConfig::from_secret_env(1, "KEY").is_ephemeral());
    /// ```
    #[must_use]
    pub fn is_ephemeral(&self) -> bool {
        self.ephemeral
    }

    /// A primary `xaes-256-gcm` key with its secret inline (base64).
    #[must_use]
    pub fn new(id: u8, secret: impl Into<String>) -> Self {
        Self::with_source(id, Some(secret.into()), None, None)
    }

    /// A primary `xaes-256-gcm` key whose secret is read from environment variable `var`
    /// when the key is built.
    #[must_use]
    pub fn from_secret_env(id: u8, var: impl Into<String>) -> Self {
        Self::with_source(id, None, Some(var.into()), None)
    }

    /// A primary `xaes-256-gcm` key whose secret is read from the file at `path` when the
    /// key is built.
    #[must_use]
    pub fn from_secret_file(id: u8, path: impl Into<PathBuf>) -> Self {
        Self::with_source(id, None, None, Some(path.into()))
    }

    /// Sets the algorithm (default `xaes-256-gcm`).
    #[must_use]
    pub fn algorithm(mut self, algorithm: Algorithm) -> Self {
        algorithm.name().clone_into(&mut self.algorithm);
        self
    }

    /// Makes the key decrypt-only.
    #[must_use]
    pub fn decrypt_only(mut self) -> Self {
        self.state = KeyState::DecryptOnly;
        self
    }

    /// Schedules a primary key to start sealing at `at`.
    #[must_use]
    pub fn activate_at(mut self, at: SystemTime) -> Self {
        self.activate_at = Some(at);
        self
    }

    /// Records when a decrypt-only key stopped sealing.
    #[must_use]
    pub fn retired_at(mut self, at: SystemTime) -> Self {
        self.retired_at = Some(at);
        self
    }

    /// Checks everything but the secret itself: the algorithm, one secret source, and that
    /// `activate_at`/`retired_at` fit the state.
    pub(crate) fn check(&self) -> Result<Algorithm, ConfigError> {
        let id = self.id;
        let algorithm: Algorithm =
            self.algorithm
                .parse()
                .map_err(|_| ConfigError::UnknownAlgorithm {
                    id,
                    name: shown(&self.algorithm).into_owned(),
                })?;
        let given: Vec<&str> = [
            ("`secret`", self.secret.is_some()),
            ("`secret_env`", self.secret_env.is_some()),
            ("`secret_file`", self.secret_file.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect();
        match given.len() {
            0 => {
                return Err(ConfigError::Invalid {
                    field: format!("keys[id={id}]"),
                    message: "no secret; give one of `secret`, `secret_env` or `secret_file` \
                              (`sealed-session keygen` prints a new key)"
                        .into(),
                })
            }
            1 => {}
            _ => {
                return Err(ConfigError::Invalid {
                    field: format!("keys[id={id}]"),
                    message: format!(
                        "{} are {} given; keep exactly one of `secret`, `secret_env`, \
                         `secret_file`",
                        given.join(" and "),
                        if given.len() == 2 { "both" } else { "all" }
                    ),
                })
            }
        }
        if self.secret_env.as_deref().is_some_and(str::is_empty) {
            return Err(invalid(
                id,
                "secret_env",
                "is empty; give the name of an environment variable",
            ));
        }
        if self
            .secret_file
            .as_deref()
            .is_some_and(|p| p.as_os_str().is_empty())
        {
            return Err(invalid(
                id,
                "secret_file",
                "is empty; give the path of a file",
            ));
        }
        match self.state {
            KeyState::DecryptOnly if self.activate_at.is_some() => Err(invalid(
                id,
                "activate_at",
                "a decrypt-only key never seals, so it cannot be scheduled; to promote it at an \
                 instant, set `state = \"primary\"` with `activate_at`, or remove `activate_at`",
            )),
            KeyState::Primary if self.retired_at.is_some() => Err(invalid(
                id,
                "retired_at",
                "only a decrypt-only key can be retired; set `state = \"decrypt-only\"` or remove \
                 `retired_at`",
            )),
            _ => Ok(algorithm),
        }
    }

    /// Builds the key: parses the algorithm and resolves the secret (`secret_env` from the
    /// process environment, `secret_file` from disk).
    ///
    /// # Errors
    /// A [`ConfigError`] naming this key's id and the field at fault, never the secret:
    /// [`ConfigError::UnknownAlgorithm`]; [`ConfigError::SecretNotBase64`] or
    /// [`ConfigError::SecretLength`] or [`ConfigError::SampleSecret`] for an inline secret; [`ConfigError::Invalid`] for no
    /// or several secret sources, an unset variable, a secret from a variable or file that
    /// is not 32 bytes of base64, or `activate_at`/`retired_at` on the wrong state;
    /// [`ConfigError::Io`] naming the path of an unreadable `secret_file`.
    pub fn build(&self) -> Result<Key, ConfigError> {
        self.build_with_env(super::de::process_env)
    }

    /// As [`build`](Self::build), looking `secret_env` up with `env` instead of the process
    /// environment (for tests and embedders with their own secret source).
    ///
    /// ```
    /// use sealed_session::config::KeyConfig;
    /// let secret = sealed_session::keys::generate_secret();
    /// let key = KeyConfig::from_secret_env(3, "MY_SECRET").build_with_env(|name| {
    ///     (name == "MY_SECRET").then(|| secret.clone())
    /// })?;
    /// assert_eq!(key.id().0, 3);
    /// # Ok::<(), sealed_session::ConfigError>(())
    /// ```
    ///
    /// # Errors
    /// As [`build`](Self::build).
    pub fn build_with_env(&self, env: impl Fn(&str) -> Option<String>) -> Result<Key, ConfigError> {
        let algorithm = self.check()?;
        let secret = self.resolve_secret(&env)?;
        let mut key = Key::new(KeyId(self.id), algorithm, &secret);
        if self.state == KeyState::DecryptOnly {
            key = key.decrypt_only();
        }
        if let Some(at) = self.activate_at {
            key = key.activate_at(at);
        }
        if let Some(at) = self.retired_at {
            key = key.retired_at(at);
        }
        Ok(key)
    }

    fn resolve_secret(
        &self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Zeroizing<[u8; SECRET_LEN]>, ConfigError> {
        let id = KeyId(self.id);
        if let Some(secret) = &self.secret {
            return decode_secret(id, secret);
        }
        if let Some(var) = &self.secret_env {
            let value = Zeroizing::new(env(var).ok_or_else(|| {
                let message = if could_be_secret(var) {
                    "environment variable `<redacted>` is not set; `secret_env` takes the name \
                     of a variable holding the secret, not the secret itself"
                        .to_owned()
                } else {
                    format!(
                        "environment variable `{var}` is not set (a process sees only the \
                         variables it started with: a key added by reload must come from \
                         `secret_file`, or restart the process)"
                    )
                };
                invalid(self.id, "secret_env", message)
            })?);
            if value.trim().is_empty() {
                return Err(invalid(
                    self.id,
                    "secret_env",
                    format!("environment variable `{var}` is empty"),
                ));
            }
            return decode_secret(id, &value).map_err(|e| {
                reword(
                    e,
                    "secret_env",
                    &format!("the value of environment variable `{var}`"),
                )
            });
        }
        if let Some(path) = &self.secret_file {
            let bytes = read_secret_file(self.id, path)?;
            let what = format!("the contents of `{}`", path.display());
            let text = std::str::from_utf8(&bytes).map_err(|_| {
                invalid(self.id, "secret_file", format!("{what} are not UTF-8 text"))
            })?;
            // A byte-order mark (some Windows editors save text with one) is no part of a
            // base64 secret: without this, the file was "not valid base64" with nothing
            // visible to fix.
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            return decode_secret(id, text.trim_end()).map_err(|e| reword(e, "secret_file", &what));
        }
        // `check` ran first; kept as an error rather than a panic.
        Err(invalid(self.id, "secret", "no secret given"))
    }
}

/// Restates a decoding error for a secret that came from a variable or file, so the message
/// names the right field.
fn reword(e: ConfigError, field: &str, what: &str) -> ConfigError {
    const HINT: &str = "expected 32 random bytes encoded as base64 (generate one with \
                        `sealed-session keygen --format secret`)";
    match e {
        ConfigError::SecretNotBase64 { id } => {
            invalid(id, field, format!("{what} is not valid base64; {HINT}"))
        }
        ConfigError::SecretLength { id, len } => {
            invalid(id, field, format!("{what} decodes to {len} bytes; {HINT}"))
        }
        ConfigError::SampleSecret { id } => invalid(
            id,
            field,
            format!(
                "{what} is the sample secret printed in sealed-session's documentation, which \
                 everyone can read; generate your own with `sealed-session keygen --format secret`"
            ),
        ),
        other => other,
    }
}

/// Warns when a secret file is open to its group or to other users (any read or write bit
/// beyond the owner's): a secret is for the process that uses it. Only the mode bits are
/// checked (unix); ACLs and the directory's permissions are the operator's to check.
#[cfg(unix)]
fn warn_if_shared(id: u8, path: &Path, file: &std::fs::File) {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = file.metadata() else { return };
    let mode = meta.mode() & 0o7777;
    if mode & 0o066 != 0 {
        tracing::warn!(
            key_id = id,
            path = %path.display(),
            mode = format_args!("{mode:04o}"),
            "key {id}: `secret_file` {} is readable or writable by its group or other users \
             (mode {mode:04o}); restrict it to the owner: `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_id: u8, _path: &Path, _file: &std::fs::File) {}

/// Reads at most [`MAX_SECRET_FILE`] bytes into a buffer that is zeroized on drop (sized up
/// front so that it never reallocates and leaves a copy behind).
fn read_secret_file(id: u8, path: &Path) -> Result<Zeroizing<Vec<u8>>, ConfigError> {
    let io = |source| ConfigError::io(format!("`secret_file` of key {id}"), path, source);
    let file = std::fs::File::open(path).map_err(io)?;
    warn_if_shared(id, path, &file);
    let cap = usize::try_from(MAX_SECRET_FILE).unwrap_or(4096) + 64;
    let mut buf = Zeroizing::new(Vec::with_capacity(cap));
    file.take(MAX_SECRET_FILE + 1)
        .read_to_end(&mut buf)
        .map_err(io)?;
    if buf.len() as u64 > MAX_SECRET_FILE {
        return Err(invalid(
            id,
            "secret_file",
            format!(
                "`{}` is larger than {MAX_SECRET_FILE} bytes; expected one base64 secret",
                path.display()
            ),
        ));
    }
    Ok(buf)
}
