//! Form login with everything issue 16 builds on the session, in an axum app: CSRF tokens in
//! every form (checked by `CsrfLayer`), a flash message after login and logout, a "remember
//! me" box, and "log out everywhere", which bumps the user's stamp so that every other
//! session of the user ends within the revalidation interval (30 s here), in client mode too.
//!
//! ```text
//! cargo run --example login          # then open http://127.0.0.1:3000 (ada / lovelace)
//! ```
//!
//! - `CsrfLayer` around the router: every POST needs the session's token, from the forms'
//!   hidden `csrf_token` field or, for scripts, the `X-CSRF-Token` header
//!   (`fetch("/api/note", {method: "POST", headers: {"X-CSRF-Token": token}})`, the token
//!   from the page's `<meta name=csrf-token>`); handlers read their forms with axum's `Form`;
//! - `cycle` on login (a new session lifetime, a new CSRF secret), `flush` on logout;
//! - "remember me": `set_session_expiry(Idle(30 days))`, else a browser-session cookie;
//! - `set_auth_stamp(user, stamp)` at login and `SessionLayer::revalidate` with a validator
//!   that reads the user table.
//!
//! With curl (the token comes from the page):
//! ```text
//! T=$(curl -s -c jar -b jar http://127.0.0.1:3000/ | sed -n 's/.*name=csrf_token value="\([^"]*\)".*/\1/p' | head -1)
//! curl -c jar -b jar -d "csrf_token=$T&user=ada&password=lovelace&remember=on" http://127.0.0.1:3000/login
//! curl -c jar -b jar http://127.0.0.1:3000/        # "Welcome back, ada." once, then gone
//! ```
//!
//! `tests/login_example.rs` drives this file's [`app`] through a real server and cookie jar.

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::State;
use axum::response::{Html, Redirect};
use axum::routing::{get, post};
use axum::{Form, Router};
use sealed_session::csrf::CsrfLayer;
use sealed_session::data::SessionExpiry;
use sealed_session::session::Level;
use sealed_session::{Session, SessionLayer};

/// How often a session's stamp is checked against the user table.
pub const REVALIDATE_EVERY: Duration = Duration::from_secs(30);
/// How long "remember me" keeps an idle session (capped by the absolute timeout).
pub const REMEMBER_FOR: Duration = Duration::from_hours(30 * 24);
/// The largest form the CSRF layer reads.
const MAX_FORM: usize = 4096;

/// The demo user table: name → (password, stamp). A real application keeps password hashes
/// in its database, and a stamp column it changes on password change and "log out
/// everywhere".
#[derive(Clone)]
pub struct Users(Arc<Mutex<HashMap<String, (String, u64)>>>);

impl Users {
    /// ada / lovelace and grace / hopper.
    pub fn demo() -> Users {
        Users(Arc::new(Mutex::new(HashMap::from([
            ("ada".to_owned(), ("lovelace".to_owned(), 1)),
            ("grace".to_owned(), ("hopper".to_owned(), 1)),
        ]))))
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, u64)>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The user's current stamp, `None` for an unknown user.
    pub fn stamp_of(&self, user: &str) -> Option<String> {
        self.table().get(user).map(|(_, stamp)| stamp.to_string())
    }

    /// The user's name and stamp if the password is right. A demo table of plain passwords:
    /// real code stores a password hash (argon2, scrypt) and checks it with that crate's
    /// verify function, which also compares in constant time.
    fn check(&self, user: &str, password: &str) -> Option<(String, String)> {
        self.table()
            .get_key_value(user)
            .filter(|(_, (pw, _))| pw == password)
            .map(|(name, (_, stamp))| (name.clone(), stamp.to_string()))
    }

    /// Ends every session of `user` (within the revalidation interval).
    fn bump(&self, user: &str) {
        if let Some((_, stamp)) = self.table().get_mut(user) {
            *stamp += 1;
        }
    }
}

/// The application: pages and form handlers, `CsrfLayer`, and the session layer with a
/// validator of the users' stamps run at most once per `revalidate_every` per session.
pub fn app(layer: SessionLayer, users: Users, revalidate_every: Duration) -> Router {
    let table = users.clone();
    let layer = layer.revalidate(revalidate_every, move |user: String| {
        let stamp = table.stamp_of(&user);
        async move { Ok::<_, Infallible>(stamp) }
    });
    Router::new()
        .route("/", get(page))
        .route("/login", post(login))
        .route("/logout", post(logout))
        .route("/logout-everywhere", post(logout_everywhere))
        .route("/api/note", post(note))
        .with_state(users)
        .layer(CsrfLayer::new().max_form_bytes(MAX_FORM))
        .layer(layer)
}

/// Escapes text for HTML (flash texts and user names come from the application, but escape
/// anyway).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn page(session: Session) -> Result<Html<String>, sealed_session::Error> {
    let mut out = String::from("<!doctype html><title>login</title>\n");
    for f in session.take_flashes()? {
        let _ = writeln!(out, "<p class=\"{}\">{}</p>", f.level, esc(&f.text));
    }
    let token = session.csrf_token()?;
    let csrf = format!("<input type=hidden name=csrf_token value=\"{token}\">");
    match session.get::<String>("user")? {
        Some(user) => {
            let _ = write!(
                out,
                "<p>Logged in as {}.</p>\n\
                 <form method=post action=/logout>{csrf}<button>Log out</button></form>\n\
                 <form method=post action=/logout-everywhere>{csrf}\
                 <button>Log out everywhere</button></form>\n",
                esc(&user)
            );
        }
        None => {
            let _ = write!(
                out,
                "<form method=post action=/login>{csrf}\n\
                 <input name=user placeholder=user> <input name=password type=password \
                 placeholder=password>\n\
                 <label><input type=checkbox name=remember> Remember me</label>\n\
                 <button>Log in</button></form>\n"
            );
        }
    }
    let _ = writeln!(out, "<meta name=csrf-token content=\"{token}\">");
    Ok(Html(out))
}

/// The login form (its `csrf_token` field was checked by the layer; serde ignores it here).
#[derive(serde::Deserialize)]
struct LoginForm {
    user: String,
    password: String,
    remember: Option<String>,
}

async fn login(
    State(users): State<Users>,
    session: Session,
    Form(form): Form<LoginForm>,
) -> Result<Redirect, sealed_session::Error> {
    let Some((user, stamp)) = users.check(&form.user, &form.password) else {
        session.flash(Level::Error, "Unknown user or wrong password.")?;
        return Ok(Redirect::to("/"));
    };
    session.cycle();
    session.insert("user", &user)?;
    session.set_auth_stamp(&user, stamp)?;
    session.set_session_expiry(Some(if form.remember.is_some() {
        SessionExpiry::idle(REMEMBER_FOR)
    } else {
        SessionExpiry::BrowserSession
    }));
    session.flash(Level::Success, format!("Welcome back, {user}."))?;
    Ok(Redirect::to("/"))
}

async fn logout(session: Session) -> Result<Redirect, sealed_session::Error> {
    session.flush();
    session.flash(Level::Info, "You have been logged out.")?;
    Ok(Redirect::to("/"))
}

async fn logout_everywhere(
    State(users): State<Users>,
    session: Session,
) -> Result<Redirect, sealed_session::Error> {
    if let Some(user) = session.get::<String>("user")? {
        users.bump(&user); // every session with the old stamp ends
    }
    session.flush();
    session.flash(Level::Info, "You have been logged out on every device.")?;
    Ok(Redirect::to("/"))
}

/// For scripts: reached only with the token in the `X-CSRF-Token` header.
async fn note() -> &'static str {
    "noted\n"
}

#[tokio::main]
async fn main() {
    let app = app(support::layer().await, Users::demo(), REVALIDATE_EVERY);
    let addr = support::addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1)
        });
    eprintln!("listening on http://{addr}");
    axum::serve(listener, app).await.expect("server error");
}
