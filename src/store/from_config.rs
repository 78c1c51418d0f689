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
        StoreKind::Redis => Err(ConfigError::Invalid {
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
    if config.mode == SessionMode::Server && config.kind()? == StoreKind::Redis {
        let store = match config.connect {
            crate::config::ConnectPolicy::Eager => super::RedisStore::connect(&config.url).await?,
            crate::config::ConnectPolicy::Lazy => super::RedisStore::lazy(&config.url)?,
        };
        let store = store.prefix(config.prefix.clone());
        return Ok(Some(Arc::new(store)));
    }
    Ok(from_config(config)?)
}

/// A memory store bounded by `capacity`, or by the default bound when it is not set.
fn memory_from_config(config: &StoreConfig) -> MemoryStore {
    let store = MemoryStore::new();
    match config.capacity {
        Some(c) => store.capacity(c),
        None => store,
    }
}
