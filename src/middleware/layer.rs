//! [`SessionLayer`]: configuration, validated once, shared by every service it makes.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tower_layer::Layer;

use super::service::SessionService;
use super::OversizePolicy;
use crate::config::{LoadPolicy, SessionConfig};
use crate::error::{ConfigError, Error};
use crate::reload::KeyRingHandle;
use crate::session::{Engine, Revalidation, StampValidator};
use crate::store::{self, SessionStore};
use crate::time::Clock;

/// A [`Layer`] that gives every request a [`Session`](crate::Session) kept in an encrypted
/// cookie (client mode) or in a store behind a sealed id (server mode).
///
/// Cloning is cheap (one `Arc`). See the [module docs](crate::middleware) for an example.
///
/// Installed twice on one route with the same cookie name (a sub-router that adds the layer,
/// merged into an app that adds it too), the inner one steps aside: the request has one
/// session, the outer layer's. Layers with different cookie names each give the request their
/// own session, and the innermost one is the one in the request extensions.
#[derive(Clone)]
pub struct SessionLayer {
    pub(crate) engine: Arc<Engine>,
}

impl std::fmt::Debug for SessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionLayer")
            .field("cookie", &self.engine.cookie.name)
            .field("key_ring", &self.engine.keys.current())
            .field("server_mode", &self.is_server_mode())
            .finish_non_exhaustive()
    }
}

impl SessionLayer {
    /// Validates `config` and builds the layer: client mode, or server mode with the memory
    /// store. For a Redis store use [`SessionLayer::connect`].
    ///
    /// Logs a `tracing` warning, once, for each insecure setting it is built with:
    /// `cookie.secure = false`, `cookie.host_prefix = false`, `cookie.http_only = false`, and
    /// a key from [`SessionConfig::ephemeral`].
    ///
    /// # Errors
    /// The first [`ConfigError`] in the configuration or its key ring; a Redis store URL is
    /// an error here (it needs a connection: use [`SessionLayer::connect`]).
    // By value, as in `SessionLayer::new(SessionConfig::from_env()?)`: the layer owns its
    // configuration from here on.
    #[allow(clippy::needless_pass_by_value)]
    pub fn new(config: SessionConfig) -> Result<Self, ConfigError> {
        // Validates everything; each secret is read once.
        let ring = config.checked_ring(SystemTime::now())?;
        let store = store::from_config(&config.store)?;
        let engine = Engine::new(&config, ring, store);
        warn_insecure(&config);
        Ok(Self::from_engine(engine))
    }

    /// Validates `config`, makes its store (for Redis, feature `redis`), and builds the layer.
    /// Works for every mode.
    ///
    /// A Redis store is connected to on first use by default (`[store] connect = "lazy"`):
    /// this succeeds while Redis is unreachable, and requests that need the store are
    /// answered `503 Service Unavailable` (the outage logged once, not per request) until
    /// Redis answers; then everything works without a restart. With `connect = "eager"`
    /// ([`ConnectPolicy::Eager`](crate::config::ConnectPolicy::Eager)) it connects now and
    /// fails when Redis cannot be reached.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), sealed_session::Error> {
    /// use sealed_session::config::SessionMode;
    /// use sealed_session::{SessionConfig, SessionLayer};
    /// let mut config = SessionConfig::ephemeral();
    /// config.store.mode = SessionMode::Server;
    /// config.store.url = "redis://127.0.0.1:6379/".into();
    /// let layer = SessionLayer::connect(config).await?; // Redis may still be starting
    /// assert!(layer.is_server_mode());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`SessionLayer::new`], plus [`Error::Store`] for an invalid Redis URL, or when
    /// Redis cannot be reached with `connect = "eager"`.
    pub async fn connect(config: SessionConfig) -> Result<Self, Error> {
        let ring = config.checked_ring(SystemTime::now())?;
        let store = store::connect(&config.store).await?;
        let engine = Engine::new(&config, ring, store);
        warn_insecure(&config);
        Ok(Self::from_engine(engine))
    }

    fn from_engine(engine: Engine) -> Self {
        SessionLayer {
            engine: Arc::new(engine),
        }
    }

    /// A copy of this layer's engine with one field changed.
    fn with(&self, change: impl FnOnce(&mut Engine)) -> Self {
        let mut engine = Engine::clone(&self.engine);
        change(&mut engine);
        Self::from_engine(engine)
    }

    /// Uses `clock` instead of the system clock (tests, simulations).
    #[must_use]
    pub fn clock(self, clock: impl Clock) -> Self {
        Self::from_engine(self.engine.with_clock(Arc::new(clock)))
    }

    /// Sets what happens when a session no longer fits in the cookies.
    #[must_use]
    pub fn oversize_policy(self, policy: OversizePolicy) -> Self {
        self.with(|e| e.oversize = policy)
    }

    /// Sets when a server-mode record is loaded (default [`LoadPolicy::Eager`]; also
    /// `[store] load` in the configuration).
    #[must_use]
    pub fn load_policy(self, policy: LoadPolicy) -> Self {
        self.with(|e| e.load = policy)
    }

    /// Switches to server mode with `store`: the cookie carries a sealed random id and the
    /// session lives in the store. Handler code does not change.
    ///
    /// By default the record is loaded before the handler runs whenever a valid id cookie
    /// arrives (a store round trip; see [`load_policy`](Self::load_policy) to load it only
    /// when the handler asks), and written before the response leaves. A store error answers
    /// the request with a 503 and is logged; it is never taken for an empty session.
    #[must_use]
    pub fn server_store(self, store: impl SessionStore) -> Self {
        self.server_store_arc(Arc::new(store))
    }

    /// Switches to server mode with a shared store handle.
    #[must_use]
    pub fn server_store_arc(self, store: Arc<dyn SessionStore>) -> Self {
        self.with(|e| e.store = Some(store))
    }

    /// Checks each session's auth stamp ([`Session::set_auth_stamp`](crate::Session::set_auth_stamp))
    /// against `validator` at most once per `every`, in either mode: per-user revocation
    /// (Django's session auth hash, ASP.NET's security stamp).
    ///
    /// On a request whose session carries a stamp last checked `every` ago or more, the
    /// validator's future is awaited before the handler runs (only that call is boxed); the
    /// same stamp seals the new check time into the session (one `Set-Cookie`, or one record
    /// write, per interval), another stamp or `None` (no such user) flushes the session, and
    /// an error answers `503 Service Unavailable` and keeps the session. Requests inside the
    /// interval, and sessions without a stamp, make no call. A changed stamp therefore ends
    /// every session of the user within `every` (plus the clock skew of a fleet). In client
    /// mode, a layer with a validator opens the cookie of every request that carries one
    /// (an AEAD open), to see whether a check is due.
    ///
    /// The layer puts no deadline on the validator: a lookup that hangs (a database that
    /// stopped answering) holds every request that is due a check. Bound it yourself, e.g.
    /// with `tokio::time::timeout`, whose elapsed error then answers `503` like any other
    /// (`a_validator_that_times_out_answers_503_and_keeps_the_session`).
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use std::time::Duration;
    /// use sealed_session::{SessionConfig, SessionLayer};
    /// let layer = SessionLayer::new(SessionConfig::ephemeral())?.revalidate(
    ///     Duration::from_secs(300),
    ///     |user: String| async move {
    ///         // SELECT stamp FROM users WHERE id = $1
    ///         Ok::<_, Infallible>(Some(format!("stamp-of-{user}")))
    ///     },
    /// );
    /// # Ok::<(), sealed_session::ConfigError>(())
    /// ```
    #[must_use]
    pub fn revalidate(self, every: Duration, validator: impl StampValidator) -> Self {
        let validator: Arc<dyn StampValidator> = Arc::new(validator);
        self.with(|e| e.revalidate = Some(Revalidation { every, validator }))
    }

    /// Whether the layer runs in server mode.
    #[must_use]
    pub fn is_server_mode(&self) -> bool {
        self.engine.store.is_some()
    }

    /// A handle that swaps the key ring and expiry policy of this layer (and every service it
    /// made, and every layer its builder methods made) while it serves; see
    /// [`reload`](crate::reload) for what a reload may change.
    #[must_use]
    pub fn key_ring_handle(&self) -> KeyRingHandle {
        self.engine.keys.clone()
    }

    /// The cookie name as sent (with the `__Host-` prefix when configured).
    #[must_use]
    pub fn cookie_name(&self) -> &str {
        &self.engine.cookie.name
    }
}

/// One `tracing` warning per insecure setting, when a layer is built (not on reloads, which
/// cannot change these, nor on builder methods).
fn warn_insecure(config: &SessionConfig) {
    let cookie = &config.cookie;
    if !cookie.secure {
        tracing::warn!(
            setting = "cookie.secure",
            "session cookie without `Secure` (`cookie.secure = false`): browsers send it over \
             plain http, where anyone on the path can read and replay it; for local development \
             only"
        );
    }
    if !cookie.host_prefix {
        tracing::warn!(
            setting = "cookie.host_prefix",
            "session cookie without the `__Host-` prefix (`cookie.host_prefix = false`): a \
             sibling subdomain can set or shadow it (cookie tossing)"
        );
    }
    if !cookie.http_only {
        tracing::warn!(
            setting = "cookie.http_only",
            "session cookie without `HttpOnly` (`cookie.http_only = false`): scripts on the page, \
             and any XSS, can read it"
        );
    }
    for key in config.keys.iter().filter(|k| k.is_ephemeral()) {
        tracing::warn!(
            setting = "keys",
            key_id = key.id,
            "key {} is ephemeral (`SessionConfig::ephemeral`): sessions do not survive a restart \
             and instances do not share them; for development only",
            key.id
        );
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = SessionService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SessionService::new(inner, self.engine.clone())
    }
}
