//! The store a [`StoreConfig`] names: none (client mode), a [`MemoryStore`], or a
//! [`RedisStore`](super::RedisStore) (feature `redis`; connected at once, or on first use:
//! [`ConnectPolicy`](crate::config::ConnectPolicy)).

use std::sync::Arc;

use super::{MemoryStore, SharedStore};
use crate::config::{SessionMode, StoreConfig, StoreKind};
use crate::error::{ConfigError, Error};

/// The store `config` names without connecting to anything: `None` in client mode, a
/// [`MemoryStore`] for `url = "memory"`.
///
/// # Errors
/// A Redis URL (it needs a connection: see [`connect`]), or an invalid store setting.
pub(crate) fn from_config(config: &StoreConfig) -> Result<Option<SharedStore>, ConfigError> {
    if config.mode == SessionMode::Client {
        return Ok(None);
    }
    match config.kind()? {
        StoreKind::Memory => Ok(Some(Arc::new(memory_from_config(config)))),
        StoreKind::Redis | StoreKind::RedisCluster => Err(ConfigError::Invalid {
            field: "store.url".into(),
            message: "a Redis store needs a connection: build the layer with \
                      `SessionLayer::connect(config).await`"
                .into(),
        }),
    }
}

/// The store `config` names, for Redis (feature `redis`) connecting now with
/// `connect = "eager"`, on first use otherwise.
///
/// # Errors
/// An invalid store setting, or [`Error::Store`] when Redis cannot be reached (eager only).
pub(crate) async fn connect(config: &StoreConfig) -> Result<Option<SharedStore>, Error> {
    #[cfg(feature = "redis")]
    if config.mode == SessionMode::Server && config.kind()?.is_redis() {
        let builder = redis_builder(config)?;
        let store = match config.connect {
            crate::config::ConnectPolicy::Eager => builder.connect().await?,
            crate::config::ConnectPolicy::Lazy => builder.connect_lazy()?,
        };
        return Ok(Some(Arc::new(store)));
    }
    Ok(from_config(config)?)
}

/// The Redis store settings `config` names: one server or a cluster, the key prefix, and
/// the CA file (`tls_ca_file`, read now).
#[cfg(feature = "redis")]
#[cfg_attr(not(feature = "redis-tls"), allow(clippy::unnecessary_wraps))]
fn redis_builder(config: &StoreConfig) -> Result<super::RedisStoreBuilder, ConfigError> {
    #[cfg(feature = "redis-cluster")]
    let builder = if config.kind()? == StoreKind::RedisCluster {
        super::RedisStore::cluster_builder(config.cluster.iter().cloned())
    } else {
        super::RedisStore::builder(config.url.clone())
    };
    #[cfg(not(feature = "redis-cluster"))]
    let builder = super::RedisStore::builder(config.url.clone());
    #[cfg(feature = "redis-tls")]
    let builder = match &config.tls_ca_file {
        Some(path) => {
            let pem =
                std::fs::read(path).map_err(|e| ConfigError::io("store.tls_ca_file", path, e))?;
            builder.tls_ca_pem(pem)
        }
        None => builder,
    };
    Ok(builder.prefix(config.prefix.clone()))
}

/// A memory store bounded by `capacity`, or by the default bound when it is not set.
fn memory_from_config(config: &StoreConfig) -> MemoryStore {
    let store = MemoryStore::new();
    match config.capacity {
        Some(c) => store.capacity(c),
        None => store,
    }
}
