//! [`StoreConfig`]: client mode (default) or server mode with a store.

use std::fmt;
use std::path::PathBuf;

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
/// | `url` | `"memory"` | server mode only: `"memory"`, or `"redis://host:port/db"` (feature `redis`; `rediss://` for TLS, feature `redis-tls`) |
/// | `cluster` | `[]` | server mode: Redis Cluster seed nodes, `["redis://10.0.0.1:7000", …]`, instead of `url` (feature `redis-cluster`) |
/// | `tls_ca_file` | none: the system's roots | PEM file of the CA(s) that sign the Redis server's certificate (`rediss://` only) |
/// | `prefix` | `"sealed-session:"` | Redis key prefix |
/// | `capacity` | `100000` | `MemoryStore` bound (live records; [`MEMORY_STORE_CAPACITY`](crate::limits::MEMORY_STORE_CAPACITY)) |
/// | `load` | `"eager"` | server mode: `"eager"` (before the handler) or `"lazy"` (see [`LoadPolicy`]) |
/// | `connect` | `"lazy"` | Redis: `"lazy"` (on first use; start-up never waits) or `"eager"` (start-up requires Redis; see [`ConnectPolicy`]) |
///
/// In client mode (the default) every setting but `mode` must be left at its default:
/// validation refuses a store setting there, since no store is used and it would be ignored.
///
/// `Debug` hides a password in the URL.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Client or server mode.
    pub mode: SessionMode,
    /// The store, in server mode.
    pub url: String,
    /// Redis Cluster: the URLs of some of its nodes (the rest are discovered). Leave `url`
    /// out when this is set.
    pub cluster: Vec<String>,
    /// `rediss://`: a PEM file with the certificate(s) of the CA that signed the Redis
    /// server's certificate, trusted instead of the system's roots (a private CA). Read when
    /// the layer connects.
    pub tls_ca_file: Option<PathBuf>,
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
            cluster: Vec::new(),
            tls_ca_file: None,
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

/// The URL with everything that may be a password replaced by `***`: the user info before
/// the last `@`, keeping a user name written as `user:password`. A URL whose scheme is
/// mistyped (`redis:/:pw@host`, `redis//:pw@host`) has everything before its `@` withheld, and
/// a lone user info (`redis://pw@host`, often a password in the wrong place) is withheld whole.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(at) = url.rfind('@') else {
        return url.to_owned();
    };
    let (head, userinfo) = match url[..at].find("://") {
        Some(scheme) => (&url[..scheme + 3], &url[scheme + 3..at]),
        None => ("", &url[..at]),
    };
    let kept = match userinfo.split_once(':') {
        Some((user, _)) if !head.is_empty() && !crate::error::could_be_secret(user) => {
            format!("{user}:")
        }
        _ => String::new(),
    };
    format!("{head}{kept}***{}", &url[at..])
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("mode", &self.mode)
            .field("url", &redact_url(&self.url))
            .field(
                "cluster",
                &self
                    .cluster
                    .iter()
                    .map(|u| redact_url(u))
                    .collect::<Vec<_>>(),
            )
            .field("tls_ca_file", &self.tls_ca_file)
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
    RedisCluster,
}

impl StoreKind {
    pub(crate) fn is_redis(&self) -> bool {
        matches!(self, StoreKind::Redis | StoreKind::RedisCluster)
    }
}

fn is_redis_url(url: &str) -> bool {
    url.starts_with("redis://") || url.starts_with("rediss://")
}

fn invalid(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: format!("store.{field}"),
        message: message.into(),
    }
}

impl StoreConfig {
    pub(crate) fn kind(&self) -> Result<StoreKind, ConfigError> {
        if !self.cluster.is_empty() {
            if self.url != "memory" {
                return Err(invalid(
                    "url",
                    "is set together with `store.cluster`; a cluster store takes its nodes \
                     from `cluster` alone: leave `url` out",
                ));
            }
            return match self.cluster.iter().find(|u| !is_redis_url(u)) {
                Some(u) => Err(invalid(
                    "cluster",
                    format!(
                        "`{}` is not a Redis node URL; expected \"redis://host:port\" \
                         (or \"rediss://host:port\" for TLS)",
                        shown(&redact_url(u))
                    ),
                )),
                None => Ok(StoreKind::RedisCluster),
            };
        }
        if self.url == "memory" {
            Ok(StoreKind::Memory)
        } else if is_redis_url(&self.url) {
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

    /// Whether the store is reached over TLS: a `rediss://` URL, or cluster nodes all
    /// given as `rediss://` (mixing the two schemes is refused by `validate`).
    pub(crate) fn is_tls(&self) -> bool {
        if self.cluster.is_empty() {
            self.url.starts_with("rediss://")
        } else {
            self.cluster.iter().any(|u| u.starts_with("rediss://"))
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.validate_client_mode()?;
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
        if kind.is_redis() && self.prefix.is_empty() {
            return Err(invalid(
                "prefix",
                "is empty; give a prefix such as \"myapp:session:\"",
            ));
        }
        self.validate_no_fragment(&kind)?;
        // First: `redis-tls` and `redis-cluster` name the feature to enable (each turns on
        // `redis` too).
        self.validate_cluster_and_tls(&kind)?;
        if kind.is_redis() && !cfg!(feature = "redis") {
            return Err(invalid(
                "url",
                "a Redis store needs sealed-session's `redis` feature; enable it in Cargo.toml",
            ));
        }
        Ok(())
    }

    /// In client mode no store is used, so a store setting would be accepted and ignored: a
    /// Redis URL without `mode = "server"` ran in client mode, and the operator believed
    /// sessions were in Redis (and that `flush` revoked a stolen cookie). Every store setting
    /// is refused there: none may differ from its default.
    fn validate_client_mode(&self) -> Result<(), ConfigError> {
        if self.mode != SessionMode::Client {
            return Ok(());
        }
        match self.first_difference(&StoreConfig::default()) {
            Some(setting) => Err(invalid(
                setting.trim_start_matches("store."),
                "is a server-mode setting, but `store.mode` is \"client\" (the default): the \
                 session is sealed in the cookie and no store is used. Set `mode = \"server\"` \
                 (SEALED_SESSION_MODE=server) to keep sessions in the store, or leave the \
                 setting out",
            )),
            None => Ok(()),
        }
    }

    /// The first setting (`"store.url"`, …) in which `self` and `other` differ. Taken apart
    /// field by field, so that a setting added to the struct fails to compile here until it
    /// is listed: both the reload check (no store setting changes while serving) and the
    /// client-mode check (no store setting without a store) rest on this list.
    pub(crate) fn first_difference(&self, other: &StoreConfig) -> Option<&'static str> {
        let StoreConfig {
            mode,
            url,
            cluster,
            tls_ca_file,
            prefix,
            capacity,
            load,
            connect,
        } = self;
        let same = [
            ("store.mode", *mode == other.mode),
            ("store.url", *url == other.url),
            ("store.cluster", *cluster == other.cluster),
            ("store.tls_ca_file", *tls_ca_file == other.tls_ca_file),
            ("store.prefix", *prefix == other.prefix),
            ("store.capacity", *capacity == other.capacity),
            ("store.load", *load == other.load),
            ("store.connect", *connect == other.connect),
        ];
        same.into_iter()
            .find_map(|(setting, same)| (!same).then_some(setting))
    }

    /// redis-rs reads a `#insecure` fragment on a `rediss://` URL as "accept any certificate"
    /// when its `tls-rustls-insecure` feature is on, which any crate of the application can
    /// turn on: a fragment would then switch certificate checking off in silence. A Redis URL
    /// needs none, so any fragment is refused.
    fn validate_no_fragment(&self, kind: &StoreKind) -> Result<(), ConfigError> {
        let (field, urls) = match kind {
            StoreKind::Memory => return Ok(()),
            StoreKind::Redis => ("url", std::slice::from_ref(&self.url)),
            StoreKind::RedisCluster => ("cluster", self.cluster.as_slice()),
        };
        if urls.iter().any(|u| u.contains('#')) {
            return Err(invalid(
                field,
                "has a `#` fragment; a Redis URL takes none (redis-rs reads `#insecure` as \
                 \"accept any certificate\"): remove it",
            ));
        }
        Ok(())
    }

    fn validate_cluster_and_tls(&self, kind: &StoreKind) -> Result<(), ConfigError> {
        if *kind == StoreKind::RedisCluster {
            if !cfg!(feature = "redis-cluster") {
                return Err(invalid(
                    "cluster",
                    "a Redis Cluster store needs sealed-session's `redis-cluster` feature; \
                     enable it in Cargo.toml",
                ));
            }
            let tls = self.cluster.iter().filter(|u| u.starts_with("rediss://"));
            if tls.count() % self.cluster.len() != 0 {
                return Err(invalid(
                    "cluster",
                    "mixes `redis://` and `rediss://` nodes; a cluster is reached over TLS \
                     on every node or on none",
                ));
            }
        }
        let field = if *kind == StoreKind::RedisCluster {
            "cluster"
        } else {
            "url"
        };
        if self.tls_ca_file.is_some() && !self.is_tls() {
            return Err(invalid(
                "tls_ca_file",
                format!("applies to `rediss://` (TLS) stores only; `store.{field}` is not one"),
            ));
        }
        if self.is_tls() && !cfg!(feature = "redis-tls") {
            return Err(invalid(
                field,
                "`rediss://` (Redis over TLS) needs sealed-session's `redis-tls` feature; \
                 enable it in Cargo.toml",
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
        let c = StoreConfig {
            cluster: vec!["rediss://:hunter2@10.0.0.1:7000".into()],
            ..StoreConfig::default()
        };
        let d = format!("{c:?}");
        assert!(!d.contains("hunter2"), "{d}");
        assert!(d.contains("rediss://:***@10.0.0.1:7000"), "{d}");
    }

    #[test]
    fn a_url_fragment_is_refused() {
        let mut c = StoreConfig {
            mode: SessionMode::Server,
            url: "rediss://127.0.0.1:6380/0#insecure".into(),
            ..StoreConfig::default()
        };
        let err = c.validate().unwrap_err().to_string();
        assert!(err.starts_with("store.url: has a `#` fragment"), "{err}");
        c.url = "memory".into();
        c.cluster = vec!["redis://127.0.0.1:7000/#insecure".into()];
        let err = c.validate().unwrap_err().to_string();
        assert!(
            err.starts_with("store.cluster: has a `#` fragment"),
            "{err}"
        );
    }

    /// A mistyped scheme, or a password written where the user name goes, was shown whole
    /// (`redact_url` looked for `://` only, and kept the part before any `:`).
    #[test]
    fn a_password_in_a_malformed_url_is_withheld() {
        for (url, shown) in [
            ("redis:/:hunter2pw@127.0.0.1/", "***@127.0.0.1/"),
            ("redis:hunter2pw@127.0.0.1/", "***@127.0.0.1/"),
            ("redis//:hunter2pw@127.0.0.1/", "***@127.0.0.1/"),
            ("redis://hunter2pw@127.0.0.1/", "redis://***@127.0.0.1/"),
            (
                "redis://a:b:hunter2pw@127.0.0.1/",
                "redis://a:***@127.0.0.1/",
            ),
            ("redis://127.0.0.1/", "redis://127.0.0.1/"),
        ] {
            assert_eq!(redact_url(url), shown);
            let c = StoreConfig {
                mode: SessionMode::Server,
                url: url.into(),
                ..StoreConfig::default()
            };
            let text = format!(
                "{c:?} {}",
                c.validate()
                    .err()
                    .map(|e| e.to_string())
                    .unwrap_or_default()
            );
            assert!(!text.contains("hunter2pw"), "{text}");
        }
    }

    #[test]
    fn urls_are_checked() {
        let mut c = StoreConfig {
            mode: SessionMode::Server,
            ..StoreConfig::default()
        };
        assert_eq!(c.kind().unwrap(), StoreKind::Memory);
        c.url = "postgres://x".into();
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("store.url: `postgres://x` is not a store"),
            "{e}"
        );
        c.url = "memory".into();
        c.capacity = Some(0);
        let e = c.validate().unwrap_err().to_string();
        assert!(e.starts_with("store.capacity: is 0"), "{e}");
    }

    #[test]
    fn cluster_nodes_are_checked() {
        let mut c = StoreConfig {
            mode: SessionMode::Server,
            cluster: vec!["redis://127.0.0.1:7000".into(), "postgres://x".into()],
            ..StoreConfig::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("store.cluster"));
        c.cluster[1] = "rediss://127.0.0.1:7001".into();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("mixes"), "{e}");
        c.cluster[1] = "redis://127.0.0.1:7001".into();
        c.url = "redis://127.0.0.1:6379".into();
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("leave `url` out"), "{e}");
        c.url = "memory".into();
        assert_eq!(c.kind().unwrap(), StoreKind::RedisCluster);
        assert_eq!(c.validate().is_ok(), cfg!(feature = "redis-cluster"));
    }

    #[test]
    fn tls_needs_its_feature_and_a_ca_file_needs_tls() {
        let mut c = StoreConfig {
            mode: SessionMode::Server,
            url: "redis://127.0.0.1:6379".into(),
            tls_ca_file: Some("/etc/ca.pem".into()),
            ..StoreConfig::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("store.tls_ca_file"), "{e}");
        c.url = "rediss://127.0.0.1:6379".into();
        let result = c.validate();
        if cfg!(feature = "redis-tls") {
            assert!(result.is_ok(), "{result:?}");
        } else {
            let e = result.unwrap_err().to_string();
            assert!(e.contains("`redis-tls` feature"), "{e}");
        }
    }
}
