//! [`KeyRingHandle`]: the live key ring of a layer, swapped while it serves, and its reload
//! from the configuration file (on demand, or on `SIGHUP` with [`reload_on_sighup`]).
//!
//! A request keeps the ring it first used; the next requests use the new one. A reload builds
//! and validates the new ring first and swaps it in only if it is valid: a bad file is
//! reported (and, on `SIGHUP`, logged) and the current ring stays.
//!
//! [`KeyRingHandle::reload_from_file`] reads the TOML file alone; it does not apply
//! `SEALED_SESSION_*` variables. Only the key ring is reloaded: cookie attributes and timeouts
//! are fixed for the life of the layer (changing them under live traffic would change what
//! clients hold).
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
//! # Ok::<(), sealed_session::ConfigError>(())
//! ```

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use crate::config::SessionConfig;
use crate::error::ConfigError;
use crate::keys::KeyRing;
use crate::time::Clock;

/// Swaps a layer's key ring atomically. Get it from
/// [`SessionLayer::key_ring_handle`](crate::SessionLayer::key_ring_handle); cloning is cheap
/// and every clone (and every layer built from the same one) swaps the same ring.
#[derive(Clone)]
pub struct KeyRingHandle {
    live: Arc<ArcSwap<KeyRing>>,
    /// The layer's clock: a reloaded ring is validated at its time.
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for KeyRingHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRingHandle")
            .field("key_ring", &self.live.load())
            .finish_non_exhaustive()
    }
}

impl KeyRingHandle {
    pub(crate) fn new(ring: KeyRing, clock: Arc<dyn Clock>) -> Self {
        KeyRingHandle {
            live: Arc::new(ArcSwap::from_pointee(ring)),
            clock,
        }
    }

    /// The same live ring, validated against another clock on reload.
    pub(crate) fn with_clock(&self, clock: Arc<dyn Clock>) -> Self {
        KeyRingHandle {
            live: self.live.clone(),
            clock,
        }
    }

    /// Replaces the key ring.
    pub fn replace(&self, ring: KeyRing) {
        self.live.store(Arc::new(ring));
        tracing::info!("session key ring replaced");
    }

    /// Builds the key ring of `config` (validated at the layer's clock) and swaps it in. On
    /// error the current ring stays.
    ///
    /// # Errors
    /// The [`ConfigError`] of the new ring.
    pub fn reload(&self, config: &SessionConfig) -> Result<(), ConfigError> {
        let ring = config.key_ring_at(self.clock.now())?;
        self.replace(ring);
        Ok(())
    }

    /// Reads `path` (TOML), builds and validates its key ring, and swaps it in. On error the
    /// current ring stays.
    ///
    /// # Errors
    /// The [`ConfigError`] of the file or its key ring.
    pub fn reload_from_file(&self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        let config = SessionConfig::from_file(path.as_ref())?;
        self.reload(&config)
    }

    /// The ring in use now.
    #[must_use]
    pub fn current(&self) -> Arc<KeyRing> {
        self.live.load_full()
    }
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

/// Reloads the key ring from `path` on every `SIGHUP` (unix), until the returned guard is
/// dropped. Each reload is logged (`info` on success, `error` with the reason otherwise; the
/// current ring then stays).
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
    use signal_hook::consts::SIGHUP;
    use signal_hook::iterator::Signals;

    let path = path.into();
    let mut signals = Signals::new([SIGHUP])?;
    let close = signals.handle();
    let thread = std::thread::Builder::new()
        .name("sealed-session-sighup".into())
        .spawn(move || {
            for _ in signals.forever() {
                match handle.reload_from_file(&path) {
                    Ok(()) => tracing::info!(path = %path.display(), "key ring reloaded on SIGHUP"),
                    Err(e) => tracing::error!(
                        path = %path.display(),
                        error = %e,
                        "key ring reload failed; keeping the current ring"
                    ),
                }
            }
        })?;
    Ok(SighupReloader {
        handle: close,
        thread: Some(thread),
    })
}
