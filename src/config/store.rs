//! [`StoreConfig`]: client mode (default) or server mode with a store.

use std::fmt;

use serde::Deserialize;

use crate::error::{shown, ConfigError};

/// Where sessions live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SessionMode {
    /// In the cookie, sealed (default).
    #[default]
    Client,
    /// In a store; the cookie carries a sealed random id.
    Server,
}

/// When a server-mode session's record is loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadPolicy {
    /// Before the handler runs, whenever a valid id cookie arrives (default): every handler
    /// style works unchanged, and a route that ignores the session still pays the store
    /// round trip.
    #[default]
    Eager,
    /// When the handler asks for it: the axum `Session` extractor loads it, a tower handler
    /// calls [`Session::load`](crate::Session::load) first. A route that never takes the
    /// session makes no store call and opens no cookie. A session used without being loaded
    /// reads as empty and is never written back (an error is logged). A layer with
    /// [`SessionLayer::revalidate`](crate::SessionLayer::revalidate) loads eagerly all the
    /// same: the auth-stamp check needs the session before the handler runs.
    Lazy,
}

/// When a Redis store is connected to (`[store] connect`).
///
/// ```
/// use sealed_session::config::{ConnectPolicy, StoreConfig};
/// let store: StoreConfig = toml::from_str("mode = \"server\"\nconnect = \"eager\"")?;
/// assert_eq!(store.connect, ConnectPolicy::Eager);
/// assert_eq!(StoreConfig::default().connect, ConnectPolicy::Lazy);
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectPolicy {
    /// On first use (default): `SessionLayer::connect` succeeds while Redis is unreachable;
    /// requests that need the store are answered 503 (the outage is logged once) until it
    /// answers, then everything works without a restart.
    #[default]
    Lazy,
    /// At start-up: `SessionLayer::connect` waits for Redis (the connection timeout, 1 s)
    /// and fails when it cannot be reached, so that a deploy with a wrong URL or a dead Redis
    /// stops at once.
    Eager,
}

/// Mode and store. Defaults: client mode; in server mode, the in-process `MemoryStore`.
///
/// | field | default | |
/// |---|---|---|
/// | `mode` | `"client"` | or `"server"` |
/// | `url` | `"memory"` | server mode only: `"memory"`, or `"redis://host:port/db"` (feature `redis`) |
/// | `prefix` | `"sealed-session:"` | Redis key prefix |
/// | `capacity` | `100000` | `MemoryStore` bound (live records; [`MEMORY_STORE_CAPACITY`](crate::limits::MEMORY_STORE_CAPACITY)) |
/// | `load` | `"eager"` | server mode: `"eager"` (before the handler) or `"lazy"` (see [`LoadPolicy`]) |
/// | `connect` | `"lazy"` | Redis: `"lazy"` (on first use; start-up never waits) or `"eager"` (start-up requires Redis; see [`ConnectPolicy`]) |
///
/// `Debug` hides a password in the URL.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Client or server mode.
    pub mode: SessionMode,
    /// The store, in server mode.
    pub url: String,
    /// Key prefix (Redis).
    pub prefix: String,
    /// Bound on live records (memory store); `None`: the default,
    /// [`MEMORY_STORE_CAPACITY`](crate::limits::MEMORY_STORE_CAPACITY).
    pub capacity: Option<usize>,
    /// When a server-mode record is loaded.
    pub load: LoadPolicy,
    /// When a Redis store is connected to.
    pub connect: ConnectPolicy,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            mode: SessionMode::Client,
            url: "memory".into(),
            prefix: "sealed-session:".into(),
            capacity: None,
            load: LoadPolicy::Eager,
            connect: ConnectPolicy::Lazy,
        }
    }
}

impl StoreConfig {
    /// Sets when a Redis store is connected to (default [`ConnectPolicy::Lazy`]; also
    /// `[store] connect` and `SEALED_SESSION_STORE_CONNECT`).
    ///
    /// ```
    /// use sealed_session::config::{ConnectPolicy, StoreConfig};
    /// // Start-up requires Redis, as before lazy connecting.
    /// let store = StoreConfig::default().connect_policy(ConnectPolicy::Eager);
    /// assert_eq!(store.connect, ConnectPolicy::Eager);
    /// ```
    #[must_use]
    pub fn connect_policy(mut self, policy: ConnectPolicy) -> Self {
        self.connect = policy;
        self
    }
}

/// The URL with any password replaced by `***`.
pub(crate) fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("mode", &self.mode)
            .field("url", &redact_url(&self.url))
            .field("prefix", &self.prefix)
            .field("capacity", &self.capacity)
            .field("load", &self.load)
            .field("connect", &self.connect)
            .finish()
    }
}

/// What the store URL names.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum StoreKind {
    Memory,
    Redis,
}

fn invalid(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: format!("store.{field}"),
        message: message.into(),
    }
}

impl StoreConfig {
    pub(crate) fn kind(&self) -> Result<StoreKind, ConfigError> {
        if self.url == "memory" {
            Ok(StoreKind::Memory)
        } else if self.url.starts_with("redis://") || self.url.starts_with("rediss://") {
            Ok(StoreKind::Redis)
        } else {
            Err(invalid(
                "url",
                format!(
                    "`{}` is not a store; expected \"memory\" or \"redis://host:port/db\"",
                    shown(&redact_url(&self.url))
                ),
            ))
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        let kind = self.kind()?;
        if self.capacity.is_some() && kind != StoreKind::Memory {
            return Err(invalid("capacity", "applies to the \"memory\" store only"));
        }
        if self.capacity == Some(0) {
            return Err(invalid(
                "capacity",
                "is 0; give at least 1, or leave it out for the default bound (100000 records)",
            ));
        }
        if kind == StoreKind::Redis && self.prefix.is_empty() {
            return Err(invalid(
                "prefix",
                "is empty; give a prefix such as \"myapp:session:\"",
            ));
        }
        if kind == StoreKind::Redis && !cfg!(feature = "redis") {
            return Err(invalid(
                "url",
                "a Redis store needs sealed-session's `redis` feature; enable it in Cargo.toml",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_password() {
        let c = StoreConfig {
            url: "redis://app:hunter2@127.0.0.1:6379/0".into(),
            ..StoreConfig::default()
        };
        let d = format!("{c:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("redis://app:***@127.0.0.1:6379/0"), "{d}");
    }

    #[test]
    fn urls_are_checked() {
        let mut c = StoreConfig::default();
        assert_eq!(c.kind().unwrap(), StoreKind::Memory);
        c.url = "postgres://x".into();
        assert!(c.validate().unwrap_err().to_string().contains("store.url"));
        c.url = "memory".into();
        c.capacity = Some(0);
        assert!(c.validate().is_err());
    }
}
