//! [`KeyRingHandle`]: the live key ring and expiry policy of a layer, swapped while it
//! serves, and their reload from the configuration (on demand, or on `SIGHUP` with
//! [`reload_on_sighup`]).
//!
//! # What a reload does
//! A reload builds the **whole** configuration the way start-up does, validates it at the
//! layer's clock, and then swaps the key ring **and** the expiry policy (timeouts, skew,
//! renewal, `not_before`) in one atomic step: a request keeps the ring and policy it first
//! used, the next requests use the new ones, and no request ever sees a new ring with an old
//! policy. Raising `not_before` and reloading is therefore a mass logout, as it is at start-up.
//!
//! - [`KeyRingHandle::reload_from_file`] (and [`reload_on_sighup`]) read the file, and apply
//!   the `SEALED_SESSION_*` variables on top of it when `SEALED_SESSION_CONFIG` names that
//!   file — exactly what [`SessionConfig::from_env`] did at start-up, so a key removed or a
//!   setting changed through the environment stays so. A file that `SEALED_SESSION_CONFIG`
//!   does not name is read alone, as [`SessionConfig::from_file`] reads it.
//! - [`KeyRingHandle::reload_from_env`] is [`SessionConfig::from_env`];
//!   [`KeyRingHandle::reload`] takes a configuration you built; [`reload_on_sighup_with`]
//!   reloads whatever your own loader returns (for a configuration adjusted in code after
//!   loading).
//!
//! Settings that cannot change while serving — the cookie's name and attributes, chunking,
//! the mode and the store — are compared with those the layer was built with; a reload that
//! changes one is refused with an error naming the setting (logged), and the current ring and
//! policy stay. Restart to change them: clients hold cookies made with the current ones.
//! Every refused reload (an invalid file, a bad key, a fixed setting) is logged at `error`
//! and leaves the layer as it was.
//!
//! The environment is the one the process started with: variables set afterwards are never
//! seen, so a key added by reload must give its secret with `secret_file` (read anew on each
//! reload) or inline, not with `secret_env`
//! (`a_key_added_by_reload_with_secret_env_is_refused_with_the_fix`). A new secret in the
//! file of a key that keeps its id is not a rotation: what the old secret sealed stops
//! opening, and the reload logs a warning saying so
//! (`a_reload_that_changes_a_keys_secret_under_the_same_id_warns`); rotate with a new id.
//!
//! Tested in `tests/reload.rs`.
//!
//! # Example
//! ```
//! use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
//! use sealed_session::{SessionConfig, SessionLayer};
//!
//! let layer = SessionLayer::new(SessionConfig::ephemeral())?;
//! let handle = layer.key_ring_handle();
//! handle.replace(KeyRing::new([Key::new(KeyId(9), Algorithm::default(), &[9; 32])])?);
//! assert!(handle.current().get(KeyId(9)).is_some());
//!
//! // A configuration that changes the cookie is refused; the ring stays.
//! let mut other = SessionConfig::ephemeral();
//! other.cookie.name = "other".into();
//! let err = handle.reload(&other).unwrap_err();
//! assert!(err.to_string().starts_with("cookie.name: cannot change while the layer serves"));
//! assert!(handle.current().get(KeyId(9)).is_some());
//! # Ok::<(), sealed_session::ConfigError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::{self, CookieConfig, SessionConfig, StoreConfig};
use crate::error::ConfigError;
use crate::keys::KeyRing;
use crate::seal::Sealer;
use crate::time::{Clock, ExpiryPolicy};

/// What a layer's requests read from the live state: the key ring and the sealer (cookie
/// name, length cap and expiry policy), swapped as one.
#[derive(Debug)]
pub(crate) struct Live {
    pub ring: Arc<KeyRing>,
    pub sealer: Sealer,
}

/// The settings a reload must not change, as the layer was built with them.
struct Fixed {
    cookie: CookieConfig,
    store: StoreConfig,
}

impl Fixed {
    /// The first setting `config` changes, as written in the configuration.
    ///
    /// Both structures are taken apart field by field (the store's in
    /// `StoreConfig::first_difference`), so a setting added to either fails to compile until
    /// it is listed: every cookie and store setting is fixed (a reload
    /// that changed one would be accepted and then ignored, since the cookie writer and the
    /// store are built once).
    fn changed_by(&self, config: &SessionConfig) -> Option<&'static str> {
        let CookieConfig {
            name,
            host_prefix,
            path,
            domain,
            secure,
            http_only,
            same_site,
            browser_session,
            max_cookie_len,
            max_chunks,
        } = &self.cookie;
        let b = &config.cookie;
        let cookie = [
            ("cookie.name", *name == b.name),
            ("cookie.host_prefix", *host_prefix == b.host_prefix),
            ("cookie.path", *path == b.path),
            ("cookie.domain", *domain == b.domain),
            ("cookie.secure", *secure == b.secure),
            ("cookie.http_only", *http_only == b.http_only),
            ("cookie.same_site", *same_site == b.same_site),
            (
                "cookie.browser_session",
                *browser_session == b.browser_session,
            ),
            ("cookie.max_cookie_len", *max_cookie_len == b.max_cookie_len),
            ("cookie.max_chunks", *max_chunks == b.max_chunks),
        ];
        cookie
            .into_iter()
            .find_map(|(setting, same)| (!same).then_some(setting))
            .or_else(|| self.store.first_difference(&config.store))
    }
}

/// Swaps a layer's key ring and expiry policy atomically. Get it from
/// [`SessionLayer::key_ring_handle`](crate::SessionLayer::key_ring_handle); cloning is cheap
/// and every clone (and every layer built from the same one) swaps the same state.
#[derive(Clone)]
pub struct KeyRingHandle {
    live: Arc<ArcSwap<Live>>,
    fixed: Arc<Fixed>,
    /// The layer's clock: a reloaded configuration is validated at its time.
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for KeyRingHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let live = self.live.load();
        f.debug_struct("KeyRingHandle")
            .field("key_ring", &live.ring)
            .field("policy", live.sealer.policy())
            .finish_non_exhaustive()
    }
}

/// Logs a refused reload; the layer keeps its state.
fn refused(e: &ConfigError) {
    tracing::error!(
        error = %e,
        "session configuration reload refused; keeping the current key ring and expiry policy"
    );
}

impl KeyRingHandle {
    /// The live state of a layer built from `config`, sealing with `sealer`.
    pub(crate) fn new(
        ring: KeyRing,
        sealer: Sealer,
        config: &SessionConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        KeyRingHandle {
            live: Arc::new(ArcSwap::from_pointee(Live {
                ring: Arc::new(ring),
                sealer,
            })),
            fixed: Arc::new(Fixed {
                cookie: config.cookie.clone(),
                store: config.store.clone(),
            }),
            clock,
        }
    }

    /// The same live state, validated against another clock on reload.
    pub(crate) fn with_clock(&self, clock: Arc<dyn Clock>) -> Self {
        KeyRingHandle {
            live: self.live.clone(),
            fixed: self.fixed.clone(),
            clock,
        }
    }

    /// The key ring and sealer in use now; a request loads it once and keeps it.
    pub(crate) fn live(&self) -> Arc<Live> {
        self.live.load_full()
    }

    /// Replaces the key ring; the expiry policy stays.
    pub fn replace(&self, ring: KeyRing) {
        let ring = Arc::new(ring);
        self.live.rcu(|live| Live {
            ring: ring.clone(),
            sealer: live.sealer.clone(),
        });
        tracing::info!("session key ring replaced");
    }

    /// Validates all of `config` at the layer's clock and swaps in its key ring and expiry
    /// policy together. Refused, with the current state kept and the reason logged, when
    /// `config` is invalid or changes a setting that cannot change live (see the
    /// [module docs](self)).
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] whose `field` is the cookie or store setting that changed,
    /// or the first [`ConfigError`] of the configuration or its key ring.
    pub fn reload(&self, config: &SessionConfig) -> Result<(), ConfigError> {
        self.apply(config).inspect_err(refused)
    }

    fn apply(&self, config: &SessionConfig) -> Result<(), ConfigError> {
        if let Some(setting) = self.fixed.changed_by(config) {
            return Err(ConfigError::Invalid {
                field: setting.into(),
                message: "cannot change while the layer serves (clients hold cookies made with \
                          the current setting); restart to apply it"
                    .into(),
            });
        }
        let now = self.clock.now();
        let ring = Arc::new(config.checked_ring(now)?);
        // A new secret under an id the ring already has is not a rotation: what the old
        // secret sealed under that id stops opening. Allowed (a leaked key may be replaced in
        // a hurry), but said.
        let old = self.current();
        for key in ring.keys() {
            if old.get(key.id()).is_some_and(|o| !o.same_material(key)) {
                tracing::warn!(
                    key_id = key.id().0,
                    "key {}: its secret or algorithm changed on this reload: every value sealed \
                     with the old one under id {} no longer opens, so those sessions end (and \
                     instances not yet reloaded refuse the new ones); to rotate, add the new \
                     secret under a new key id (SECURITY.md, key rotation runbook)",
                    key.id(),
                    key.id()
                );
            }
        }
        let policy = config.expiry.policy();
        self.live.rcu(|live| Live {
            ring: ring.clone(),
            sealer: Sealer::new(live.sealer.name(), policy).max_len(live.sealer.max_value_len()),
        });
        // The ring as swapped in (ids and states, never a secret): the runbook has operators
        // check this line before promoting a new key, and a reload can succeed without the
        // key they added (`SEALED_SESSION_KEYS` replaces the file's keys).
        tracing::info!(
            "session key ring and expiry policy reloaded; keys: {}; primary now: key {}",
            ring.describe(),
            ring.primary_at(now).id()
        );
        Ok(())
    }

    /// Reloads from the TOML file at `path`, with the `SEALED_SESSION_*` variables applied on
    /// top when `SEALED_SESSION_CONFIG` names that file (as [`SessionConfig::from_env`] does
    /// at start-up), else from the file alone; then as [`reload`](Self::reload).
    ///
    /// # Errors
    /// The [`ConfigError`] of the file, a variable, or the configuration.
    pub fn reload_from_file(&self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        load_file(path.as_ref(), &config::process_env)
            .inspect_err(refused)
            .and_then(|config| self.reload(&config))
    }

    /// Reloads from [`SessionConfig::from_env`]; then as [`reload`](Self::reload).
    ///
    /// # Errors
    /// As [`SessionConfig::from_env`] and [`reload`](Self::reload).
    pub fn reload_from_env(&self) -> Result<(), ConfigError> {
        self.reload_from_env_map(config::process_env)
    }

    /// Reloads from [`SessionConfig::from_env_map`]`(env)`; then as
    /// [`reload`](Self::reload).
    ///
    /// # Errors
    /// As [`SessionConfig::from_env_map`] and [`reload`](Self::reload).
    pub fn reload_from_env_map(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        SessionConfig::from_env_map(env)
            .inspect_err(refused)
            .and_then(|config| self.reload(&config))
    }

    /// The ring in use now.
    #[must_use]
    pub fn current(&self) -> Arc<KeyRing> {
        self.live.load().ring.clone()
    }

    /// The expiry policy in use now.
    #[must_use]
    pub fn policy(&self) -> ExpiryPolicy {
        *self.live.load().sealer.policy()
    }
}

/// The configuration start-up would build from `path`: with the variables of `env` on top
/// when `SEALED_SESSION_CONFIG` names that file.
fn load_file(
    path: &Path,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<SessionConfig, ConfigError> {
    let named = env(config::CONFIG_VAR).filter(|p| !p.trim().is_empty());
    match named {
        Some(named) if same_file(Path::new(named.trim()), path) => SessionConfig::from_env_map(env),
        _ => SessionConfig::from_file(path),
    }
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(a), Ok(b)) if a == b
        )
}

/// Stops the `SIGHUP` watcher when dropped.
#[cfg(unix)]
#[derive(Debug)]
pub struct SighupReloader {
    handle: signal_hook::iterator::Handle,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[cfg(unix)]
impl Drop for SighupReloader {
    fn drop(&mut self) {
        self.handle.close();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reloads the key ring and expiry policy from `path` on every `SIGHUP` (unix), until the
/// returned guard is dropped, as [`KeyRingHandle::reload_from_file`] does (so the
/// `SEALED_SESSION_*` variables apply when `SEALED_SESSION_CONFIG` names `path`). Each
/// reload is logged (`info` on success, `error` with the reason otherwise; the current state
/// then stays).
///
/// ```no_run
/// # fn f(layer: &sealed_session::SessionLayer) -> std::io::Result<()> {
/// let _reloader = sealed_session::reload::reload_on_sighup(layer.key_ring_handle(), "session.toml")?;
/// // ... serve; `kill -HUP <pid>` after editing session.toml rotates the keys.
/// # Ok(()) }
/// ```
///
/// # Errors
/// The OS refused to install the signal handler.
#[cfg(unix)]
pub fn reload_on_sighup(
    handle: KeyRingHandle,
    path: impl Into<PathBuf>,
) -> std::io::Result<SighupReloader> {
    let path = path.into();
    let env = config::process_env;
    reload_on_sighup_with(handle, move || load_file(&path, &env))
}

/// Reloads from what `load` returns on every `SIGHUP` (unix), until the returned guard is
/// dropped: for a configuration your program adjusts after loading it, so that a reload
/// builds it the same way start-up did. Logged as [`reload_on_sighup`].
///
/// ```no_run
/// # fn f(layer: &sealed_session::SessionLayer) -> std::io::Result<()> {
/// use sealed_session::SessionConfig;
/// let load = || {
///     let mut config = SessionConfig::from_file("session.toml")?;
///     config.expiry.idle = std::time::Duration::from_secs(15 * 60);
///     Ok(config)
/// };
/// let _reloader = sealed_session::reload::reload_on_sighup_with(layer.key_ring_handle(), load)?;
/// # Ok(()) }
/// ```
///
/// # Errors
/// The OS refused to install the signal handler.
#[cfg(unix)]
pub fn reload_on_sighup_with<F>(
    handle: KeyRingHandle,
    mut load: F,
) -> std::io::Result<SighupReloader>
where
    F: FnMut() -> Result<SessionConfig, ConfigError> + Send + 'static,
{
    use signal_hook::consts::SIGHUP;
    use signal_hook::iterator::Signals;

    let mut signals = Signals::new([SIGHUP])?;
    let close = signals.handle();
    let thread = std::thread::Builder::new()
        .name("sealed-session-sighup".into())
        .spawn(move || {
            for _ in signals.forever() {
                let reloaded = load()
                    .inspect_err(refused)
                    .and_then(|config| handle.reload(&config));
                if reloaded.is_ok() {
                    tracing::info!("session configuration reloaded on SIGHUP");
                }
            }
        })?;
    Ok(SighupReloader {
        handle: close,
        thread: Some(thread),
    })
}
