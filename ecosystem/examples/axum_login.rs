//! axum-login and axum-messages on sealed cookies: a login form, a protected page, logout,
//! with axum-login's `AuthSession` and axum-messages flash messages, unchanged, over
//! sealed-session's `TowerSessionsLayer` instead of tower-sessions' `SessionManagerLayer`.
//!
//! ```text
//! cargo run --example axum_login     # then open http://127.0.0.1:3000 (ada / lovelace)
//! ```
//!
//! The whole change from a tower-sessions application is the session layer:
//! ```text
//! - .layer(SessionManagerLayer::new(MemoryStore::default()))
//! + .layer(TowerSessionsLayer::new())
//! + .layer(SessionLayer::new(config)?)       // sealed cookies, key rotation, chunking
//! ```
//! With `SEALED_SESSION_MODE=server` (and a store URL) the same code keeps its sessions in
//! sealed-session's server mode instead.
//!
//! `tests/axum_login.rs` drives this file's [`app`] through a real server in both modes.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::extract::Query;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_login::{AuthManager, AuthSession, AuthUser, AuthnBackend, UserId};
use axum_messages::{Messages, MessagesManagerLayer};
use sealed_session::tower_sessions::TowerSessionsLayer;
use sealed_session::{SessionConfig, SessionLayer};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tower::ServiceBuilder;

/// A user of the in-memory backend. `pw_hash` doubles as axum-login's session auth hash, so a
/// password change ends the user's sessions.
#[derive(Clone)]
pub struct User {
    id: u64,
    name: String,
    salt: [u8; 16],
    pw_hash: [u8; 32],
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the hash.
        f.debug_struct("User")
            .field("id", &self.id)
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Salted SHA-256, compared in constant time. A demo: real applications hash passwords with
/// a slow function (argon2, as the `password-auth` crate does).
fn hash(salt: &[u8; 16], password: &str) -> [u8; 32] {
    Sha256::new()
        .chain_update(salt)
        .chain_update(password.as_bytes())
        .finalize()
        .into()
}

impl AuthUser for User {
    type Id = u64;

    fn id(&self) -> u64 {
        self.id
    }

    fn session_auth_hash(&self) -> &[u8] {
        &self.pw_hash
    }
}

/// The user table, in memory.
#[derive(Clone, Debug)]
pub struct Backend {
    users: HashMap<u64, User>,
}

impl Backend {
    /// ada / lovelace and grace / hopper.
    pub fn demo() -> Backend {
        let user = |id: u64, name: &str, password: &str| {
            let salt = [u8::try_from(id).unwrap_or(0); 16];
            User {
                id,
                name: name.to_owned(),
                salt,
                pw_hash: hash(&salt, password),
            }
        };
        Backend {
            users: HashMap::from([
                (1, user(1, "ada", "lovelace")),
                (2, user(2, "grace", "hopper")),
            ]),
        }
    }
}

/// What the login form posts.
#[derive(Clone, Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
    next: Option<String>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl AuthnBackend for Backend {
    type User = User;
    type Credentials = Credentials;
    type Error = std::convert::Infallible;

    async fn authenticate(&self, creds: Credentials) -> Result<Option<User>, Self::Error> {
        Ok(self
            .users
            .values()
            .find(|u| u.name == creds.username)
            .filter(|u| bool::from(hash(&u.salt, &creds.password).ct_eq(&u.pw_hash)))
            .cloned())
    }

    async fn get_user(&self, id: &UserId<Self>) -> Result<Option<User>, Self::Error> {
        Ok(self.users.get(id).cloned())
    }
}

type Auth = AuthSession<Backend>;

/// The application: `/` (public), `/protected`, `/login` (form and post), `/logout`; behind
/// axum-messages, axum-login's `AuthManager`, sealed-session's `TowerSessionsLayer` and
/// `layer` (client or server mode, as configured).
pub fn app(layer: SessionLayer, backend: Backend) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/protected", get(protected))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .layer(
            ServiceBuilder::new()
                .layer(layer)
                .layer(TowerSessionsLayer::new())
                .layer(tower::layer::layer_fn(move |inner| {
                    AuthManager::new(inner, backend.clone(), "axum-login.data")
                }))
                .layer(MessagesManagerLayer),
        )
}

fn page(messages: Messages, body: &str) -> Html<String> {
    let mut out = String::from("<!doctype html><title>axum-login on sealed cookies</title>\n");
    for m in messages {
        let _ = writeln!(out, "<p class=\"{}\">{}</p>", m.level, m.message);
    }
    out.push_str(body);
    Html(out)
}

async fn home(auth: Auth, messages: Messages) -> Html<String> {
    let who = match &auth.user {
        Some(user) => format!(
            "<p>Logged in as {}.</p>\n\
             <form method=post action=/logout><button id=logout>Log out</button></form>",
            user.name
        ),
        None => "<p>Not logged in. <a href=/login>Log in</a></p>".to_owned(),
    };
    page(messages, &who)
}

async fn protected(auth: Auth, messages: Messages) -> Response {
    match auth.user {
        Some(user) => {
            page(messages, &format!("<p>Secret page of {}.</p>", user.name)).into_response()
        }
        None => Redirect::to("/login?next=/protected").into_response(),
    }
}

#[derive(Deserialize)]
struct Next {
    next: Option<String>,
}

/// `next` if it is a plain path on this site, else `None`. Only letters, digits and `/-_.~`
/// pass: no quote can close the HTML attribute it is written into, and neither `//host` nor
/// `/\host` (which browsers read as `//host`) can send the user to another site.
fn local_path(next: &str) -> Option<&str> {
    let plain = next
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"/-_.~".contains(&b));
    (plain && next.starts_with('/') && !next.starts_with("//")).then_some(next)
}

async fn login_page(messages: Messages, Query(Next { next }): Query<Next>) -> Html<String> {
    let next = next
        .as_deref()
        .and_then(local_path)
        .map(|n| format!("<input type=hidden name=next value=\"{n}\">"))
        .unwrap_or_default();
    page(
        messages,
        &format!(
            "<form method=post action=/login>{next}\
             <input name=username placeholder=user> \
             <input name=password type=password placeholder=password> \
             <button id=login>Log in</button></form>\n"
        ),
    )
}

async fn login(mut auth: Auth, messages: Messages, Form(creds): Form<Credentials>) -> Response {
    let next = creds.next.clone();
    let user = match auth.authenticate(creds).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            messages.error("Invalid credentials.");
            return Redirect::to("/login").into_response();
        }
        Err(_) => return http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if auth.login(&user).await.is_err() {
        return http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
    }
    messages.success(format!("Welcome, {}.", user.name));
    let to = next.as_deref().and_then(local_path).unwrap_or("/");
    Redirect::to(to).into_response()
}

async fn logout(mut auth: Auth, messages: Messages) -> Response {
    match auth.logout().await {
        Ok(_) => {
            messages.info("Logged out.");
            Redirect::to("/").into_response()
        }
        Err(_) => http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// The configuration from the environment; without keys, an ephemeral key and development
/// cookies over plain http (as the other examples).
fn config() -> SessionConfig {
    let mut config = SessionConfig::from_env().unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2)
    });
    if config.keys.is_empty() {
        eprintln!(
            "note: no key configured; using an ephemeral key and development cookies over http"
        );
        config.keys = SessionConfig::ephemeral().keys;
        config.cookie.secure = false;
        config.cookie.host_prefix = false;
    }
    config
}

/// `--addr HOST:PORT`, else `127.0.0.1:$PORT`, else `127.0.0.1:3000`, as the other examples.
fn addr() -> std::net::SocketAddr {
    let args: Vec<String> = std::env::args().collect();
    if let Some(a) = args
        .iter()
        .position(|a| a == "--addr")
        .and_then(|i| args.get(i + 1))
    {
        return a.parse().unwrap_or_else(|e| {
            eprintln!("--addr {a}: {e}; expected e.g. 127.0.0.1:3000");
            std::process::exit(2)
        });
    }
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(3000);
    std::net::SocketAddr::from(([127, 0, 0, 1], port))
}

#[tokio::main]
async fn main() {
    // Warnings and errors to stderr (a misspelled `SEALED_SESSION_*` variable, an insecure
    // cookie setting, a store outage), or what `RUST_LOG` asks for, as the other examples.
    let level = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::WARN);
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .init();
    let layer = SessionLayer::connect(config()).await.unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2)
    });
    let addr = addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1)
        });
    let addr = listener.local_addr().unwrap_or(addr);
    eprintln!("listening on http://{addr} (ada / lovelace)");
    axum::serve(listener, app(layer, Backend::demo()))
        .await
        .expect("server error");
}
