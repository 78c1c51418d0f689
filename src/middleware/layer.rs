//! [`SessionLayer`]: configuration, validated once, shared by every service it makes.

use std::sync::Arc;

use arc_swap::ArcSwap;
use tower_layer::Layer;

use super::service::SessionService;
use crate::config::{SessionConfig, SessionMode, StoreKind};
use crate::cookies::CookieSettings;
use crate::error::ConfigError;
use crate::keys::KeyRing;
use crate::seal::Sealer;
use crate::session::Engine;
use crate::store::{MemoryStore, SessionStore};
use crate::time::{Clock, SystemClock};

/// What happens when a session outgrows `max_chunks` cookies on the response.
///
/// Data is never dropped silently: both choices log an error naming the sizes.
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

pub(crate) struct Shared {
    pub engine: Arc<Engine>,
    pub cookie: CookieSettings,
    pub oversize: OversizePolicy,
}

/// Everything a layer is made of; builder methods change one field and make a new layer.
struct Parts {
    ring: KeyRing,
    sealer: Sealer,
    cookie: CookieSettings,
    clock: Arc<dyn Clock>,
    oversize: OversizePolicy,
    store: Option<Arc<dyn SessionStore>>,
}

impl Parts {
    fn into_layer(self) -> SessionLayer {
        let reader = self.cookie.clone();
        SessionLayer {
            shared: Arc::new(Shared {
                engine: Arc::new(Engine {
                    ring: ArcSwap::from_pointee(self.ring),
                    sealer: self.sealer,
                    clock: self.clock,
                    store: self.store,
                    parse: Box::new(move |raw| reader.candidates(raw)),
                }),
                cookie: self.cookie,
                oversize: self.oversize,
            }),
        }
    }
}

/// A [`Layer`] that gives every request a [`Session`](crate::Session) kept in an encrypted
/// cookie.
///
/// Cloning is cheap (one `Arc`). See the [module docs](crate::middleware) for an example.
#[derive(Clone)]
pub struct SessionLayer {
    pub(crate) shared: Arc<Shared>,
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayer")
            .field("cookie", &self.shared.cookie.name)
            .field("key_ring", &self.shared.engine.ring.load())
            .finish_non_exhaustive()
    }
}

impl SessionLayer {
    /// Validates `config` and builds the layer: client mode, or server mode with the memory
    /// store. For a Redis store use [`SessionLayer::connect`].
    ///
    /// # Errors
    /// The first [`ConfigError`] in the configuration or its key ring; a Redis store URL is
    /// an error here (it needs a connection: use [`SessionLayer::connect`]).
    // By value, as in `SessionLayer::new(SessionConfig::from_env()?)`: the layer owns its
    // configuration from here on.
    #[allow(clippy::needless_pass_by_value)]
    pub fn new(config: SessionConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let store: Option<Arc<dyn SessionStore>> = match config.store.mode {
            SessionMode::Client => None,
            SessionMode::Server => match config.store.kind()? {
                StoreKind::Memory => {
                    let mut store = MemoryStore::new();
                    if let Some(c) = config.store.capacity {
                        store = store.capacity(c);
                    }
                    Some(Arc::new(store))
                }
                StoreKind::Redis => {
                    return Err(ConfigError::Invalid {
                        field: "store.url".into(),
                        message: "a Redis store needs a connection: build the layer with \
                                  `SessionLayer::connect(config).await`"
                            .into(),
                    })
                }
            },
        };
        Self::build(&config, store)
    }

    /// Validates `config`, connects to its store if it names Redis (feature `redis`), and
    /// builds the layer. Works for every mode.
    ///
    /// # Errors
    /// As [`SessionLayer::new`], plus [`Error::Store`](crate::Error::Store) when Redis cannot
    /// be reached.
    pub async fn connect(config: SessionConfig) -> Result<Self, crate::Error> {
        config.validate()?;
        #[cfg(feature = "redis")]
        if config.store.mode == SessionMode::Server && config.store.kind()? == StoreKind::Redis {
            let store = crate::store::RedisStore::connect(&config.store.url)
                .await
                .map_err(|e| crate::Error::Store(Box::new(e)))?
                .prefix(config.store.prefix.clone());
            return Ok(Self::build(&config, Some(Arc::new(store)))?);
        }
        Ok(Self::new(config)?)
    }

    fn build(
        config: &SessionConfig,
        store: Option<Arc<dyn SessionStore>>,
    ) -> Result<Self, ConfigError> {
        let cookie = CookieSettings::new(&config.cookie);
        Ok(Parts {
            ring: config.key_ring()?,
            sealer: Sealer::new(cookie.name.clone(), config.expiry.policy())
                .max_len(cookie.max_value_len()),
            cookie,
            clock: Arc::new(SystemClock),
            oversize: OversizePolicy::Fail,
            store,
        }
        .into_layer())
    }

    /// This layer's settings, to change one in a builder method.
    fn parts(&self) -> Parts {
        let s = &self.shared;
        Parts {
            ring: KeyRing::clone(&s.engine.ring.load()),
            sealer: s.engine.sealer.clone(),
            cookie: s.cookie.clone(),
            clock: s.engine.clock.clone(),
            oversize: s.oversize,
            store: s.engine.store.clone(),
        }
    }

    /// Uses `clock` instead of the system clock (tests, simulations).
    #[must_use]
    pub fn clock(self, clock: impl Clock) -> Self {
        Parts {
            clock: Arc::new(clock),
            ..self.parts()
        }
        .into_layer()
    }

    /// Sets what happens when a session no longer fits in the cookies.
    #[must_use]
    pub fn oversize_policy(self, policy: OversizePolicy) -> Self {
        Parts {
            oversize: policy,
            ..self.parts()
        }
        .into_layer()
    }

    /// Switches to server mode: the cookie carries a sealed random id and the session lives
    /// in `store`. Handler code does not change.
    ///
    /// Unlike client mode, the record is loaded before the handler runs whenever a valid id
    /// cookie arrives (a store round trip), and written before the response leaves. A store
    /// error answers the request with a 503 and is logged; it is never taken for an empty
    /// session.
    #[must_use]
    pub fn store(self, store: impl SessionStore) -> Self {
        self.store_arc(Arc::new(store))
    }

    /// Switches to server mode with a shared store handle.
    #[must_use]
    pub fn store_arc(self, store: Arc<dyn SessionStore>) -> Self {
        Parts {
            store: Some(store),
            ..self.parts()
        }
        .into_layer()
    }

    /// Whether the layer runs in server mode.
    #[must_use]
    pub fn is_server_mode(&self) -> bool {
        self.shared.engine.store.is_some()
    }

    /// A handle that swaps the key ring of this layer (and every service it made) while it
    /// serves. Take it after the builder calls: they make a new layer.
    #[must_use]
    pub fn key_ring_handle(&self) -> KeyRingHandle {
        KeyRingHandle {
            engine: self.shared.engine.clone(),
        }
    }

    /// The cookie name as sent (with the `__Host-` prefix when configured).
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        &self.shared.cookie.name
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService::new(inner, self.shared.clone())
    }
}

/// Swaps a layer's key ring atomically. A request keeps the ring it first used; the next
/// requests use the new one. Cloning is cheap.
///
#[derive(Clone)]
pub struct KeyRingHandle {
    engine: Arc<Engine>,
}

impl std::fmt::Debug for KeyRingHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRingHandle")
            .field("key_ring", &self.engine.ring.load())
            .finish()
    }
}

impl KeyRingHandle {
    /// Replaces the key ring.
    pub fn store(&self, ring: KeyRing) {
        self.engine.ring.store(Arc::new(ring));
        tracing::info!("session key ring replaced");
    }

    /// Builds the key ring of `config` (validated at the layer's clock) and swaps it in. On
    /// error the current ring stays.
    ///
    /// # Errors
    /// The [`ConfigError`] of the new ring.
    pub fn reload(&self, config: &SessionConfig) -> Result<(), ConfigError> {
        let ring = config.key_ring_at(self.engine.clock.now())?;
        self.store(ring);
        Ok(())
    }

    /// The ring in use now.
    #[must_use]
    pub fn current(&self) -> Arc<KeyRing> {
        self.engine.ring.load_full()
    }
}
