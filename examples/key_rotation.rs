//! The visit counter with key rotation: serves from a TOML configuration file and reloads its
//! key ring and timeouts on `SIGHUP`, so keys rotate without a restart and without logging
//! anyone out.
//!
//! ```text
//! cargo run --features cli --bin sealed-session -- keygen --id 1 > session.toml
//! cargo run --example key_rotation -- --config session.toml
//! # rotate: add key 2 as decrypt-only, `kill -HUP <pid>`; promote it, demote key 1,
//! # `kill -HUP <pid>` again (see SECURITY.md, "Key rotation runbook")
//! ```
//!
//! With `--dev`, cookies work over plain http on 127.0.0.1 (`Secure` and `__Host-` off).
//!
//! The `SEALED_SESSION_*` variables apply on top of the file, at start-up and on every reload,
//! as `SessionConfig::from_env` does with `SEALED_SESSION_CONFIG` naming the file (so
//! `SEALED_SESSION_MODE=server` with `SEALED_SESSION_STORE_URL=redis://…` rehearses the
//! runbook on a Redis fleet). Unlike the other examples it has no ephemeral key: the keys are
//! what it rotates, so they come from the file (or `SEALED_SESSION_KEYS`).

#[path = "support/mod.rs"]
mod support;

use http::{Method, StatusCode};
use sealed_session::reload::reload_on_sighup_with;
use sealed_session::{ConfigError, Session, SessionConfig, SessionLayer};

/// The configuration from `path` with the `SEALED_SESSION_*` variables on top, adjusted for
/// `--dev`: start-up and every reload build it the same way (a reload may not change the
/// cookie settings).
///
/// A set `SEALED_SESSION_*` variable that nothing reads (a typo) is warned about, as
/// `SessionConfig::from_env` does: `from_env_map` leaves that to its caller.
fn load(path: &str, dev: bool) -> Result<SessionConfig, ConfigError> {
    let mut config = SessionConfig::from_env_map(|name| {
        if name == "SEALED_SESSION_CONFIG" {
            Some(path.to_owned())
        } else {
            std::env::var(name).ok()
        }
    })?;
    for name in config.unread_env_vars() {
        tracing::warn!(
            "`{name}` is set, but sealed-session reads no such variable: it is ignored (a \
             misspelled setting? the variables are listed on `SessionConfig::from_env`)"
        );
    }
    if dev {
        config.cookie.secure = false;
        config.cookie.host_prefix = false;
    }
    Ok(config)
}

#[tokio::main]
async fn main() {
    support::init_logs("info");
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args
        .iter()
        .position(|a| a == "--config")
        .and_then(|i| args.get(i + 1))
    else {
        eprintln!("usage: key_rotation --config FILE [--dev] [--addr HOST:PORT]");
        std::process::exit(2)
    };
    let dev = args.iter().any(|a| a == "--dev");
    let config = load(path, dev).unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2)
    });
    let layer = SessionLayer::connect(config).await.unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2)
    });
    let reload_path = path.clone();
    let reload = move || load(&reload_path, dev);
    let _reloader = reload_on_sighup_with(layer.key_ring_handle(), reload).unwrap_or_else(|e| {
        eprintln!("cannot watch SIGHUP: {e}");
        std::process::exit(1)
    });
    eprintln!(
        "pid {}: send SIGHUP to reload the key ring and timeouts from {path}",
        std::process::id()
    );
    support::serve(
        layer,
        |req: http::Request<hyper::body::Incoming>| async move {
            if req.method() != Method::GET || req.uri().path() != "/" {
                return support::text(StatusCode::NOT_FOUND, "not found\n");
            }
            let session = req
                .extensions()
                .get::<Session>()
                .expect("SessionLayer is installed");
            // In server mode with `load = "lazy"` this loads the record (a tower handler's
            // job; the axum extractor does it); otherwise it does nothing.
            if let Err(e) = session.load().await {
                return support::store_error(&e);
            }
            let count: u64 = match session.get("visit_count") {
                Ok(n) => n.unwrap_or(0) + 1,
                Err(e) => return support::session_error(&e),
            };
            if let Err(e) = session.insert("visit_count", &count) {
                return support::session_error(&e);
            }
            support::text(
                StatusCode::OK,
                format!("You have visited this page {count} times."),
            )
        },
    )
    .await;
}
