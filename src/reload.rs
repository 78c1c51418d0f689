//! Reloading the key ring from the configuration file while serving.
//!
//! [`KeyRingHandle::reload_from_file`] re-reads a TOML file (plus `SEALED_SESSION_*`
//! overrides, as [`SessionConfig::from_env`] does when `SEALED_SESSION_CONFIG` names it) and
//! swaps the ring in; a bad file is logged and the current ring stays. On unix,
//! [`reload_on_sighup`] does that on every `SIGHUP`, from a background thread.
//!
//! Only the key ring is reloaded: cookie attributes and timeouts are fixed for the life of
//! the layer (changing them under live traffic would change what clients hold).

use std::path::{Path, PathBuf};

use crate::config::SessionConfig;
use crate::error::ConfigError;
use crate::middleware::KeyRingHandle;

impl KeyRingHandle {
    /// Reads `path` (TOML), builds and validates its key ring, and swaps it in. On error the
    /// current ring stays.
    ///
    /// # Errors
    /// The [`ConfigError`] of the file or its key ring.
    pub fn reload_from_file(&self, path: impl AsRef<Path>) -> Result<(), ConfigError> {
        let config = SessionConfig::from_file(path.as_ref())?;
        self.reload(&config)
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
/// let _reloader = sealed_session::reload_on_sighup(layer.key_ring_handle(), "session.toml")?;
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
