//! Form login with everything issue 16 builds on the session: a CSRF token in every form,
//! a flash message after login and logout, a "remember me" box, and "log out everywhere",
//! which bumps the user's stamp so that every other session of the user ends within the
//! revalidation interval (30 s here), in client mode too.
//!
//! ```text
//! cargo run --example login          # then open http://127.0.0.1:3000 (ada / lovelace)
//! ```
//!
//! - `cycle` on login (a new session lifetime, a new CSRF secret), `flush` on logout;
//! - forms carry `csrf_token()` in a hidden field, checked with `verify_csrf` (plain HTML
//!   forms cannot send the `X-CSRF-Token` header that `CsrfLayer` reads); `POST /api/note`
//!   shows the header check, as `CsrfLayer` does it, for scripts:
//!   `fetch("/api/note", {method: "POST", headers: {"X-CSRF-Token": token}})`;
//! - "remember me": `set_session_expiry(Idle(30 days))`, else a browser-session cookie;
//! - `set_auth_stamp(user, stamp)` at login and `SessionLayer::revalidate` with a validator
//!   that reads the user table.
//!
//! With curl (the token comes from the page):
//! ```text
//! T=$(curl -s -c jar -b jar http://127.0.0.1:3000/ | sed -n 's/.*name="csrf" value="\([^"]*\)".*/\1/p' | head -1)
//! curl -c jar -b jar -d "csrf=$T&user=ada&password=lovelace&remember=on" http://127.0.0.1:3000/login
//! curl -c jar -b jar http://127.0.0.1:3000/        # "Welcome back, ada." once, then gone
//! ```

#[path = "support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use http::{header, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use sealed_session::data::SessionExpiry;
use sealed_session::session::{CsrfReject, Level};
use sealed_session::Session;

/// The demo user table: name → (password, stamp). A real application keeps password hashes
/// in its database, and a stamp column it changes on password change and "log out everywhere".
static USERS: LazyLock<Mutex<HashMap<&'static str, (&'static str, u64)>>> = LazyLock::new(|| {
    Mutex::new(HashMap::from([
        ("ada", ("lovelace", 1)),
        ("grace", ("hopper", 1)),
    ]))
});

fn stamp_of(user: &str) -> Option<String> {
    let users = USERS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    users.get(user).map(|(_, stamp)| stamp.to_string())
}

/// How often a session's stamp is checked against the table.
const REVALIDATE_EVERY: Duration = Duration::from_secs(30);
/// How long "remember me" keeps an idle session (capped by the absolute timeout).
const REMEMBER_FOR: Duration = Duration::from_hours(30 * 24);
/// The largest form body read.
const MAX_FORM: usize = 4096;

fn html(body: String) -> Response<support::Body> {
    let mut res = support::text(StatusCode::OK, body);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/html; charset=utf-8"),
    );
    res
}

fn see_other(to: &'static str) -> Response<support::Body> {
    let mut res = support::text(StatusCode::SEE_OTHER, "");
    res.headers_mut()
        .insert(header::LOCATION, http::HeaderValue::from_static(to));
    res
}

/// Escapes text for HTML (flash texts and user names come from the application, but escape
/// anyway).
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(session: &Session) -> Result<Response<support::Body>, sealed_session::Error> {
    let mut out = String::from("<!doctype html><title>login</title>\n");
    for f in session.take_flashes()? {
        let _ = writeln!(out, "<p class=\"{}\">{}</p>", f.level, esc(&f.text));
    }
    let token = session.csrf_token()?;
    let csrf = format!("<input type=hidden name=\"csrf\" value=\"{token}\">");
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
    Ok(html(out))
}

/// The form's fields, read with a bounded body read; `None` when it is too long or not a
/// form.
async fn form(req: Request<Incoming>) -> Option<HashMap<String, String>> {
    let body = Limited::new(req.into_body(), MAX_FORM)
        .collect()
        .await
        .ok()?
        .to_bytes();
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()
        .map(|v| v.into_iter().collect())
}

/// The form's CSRF field checked against the session: `Err` is the reason to answer 403 with.
fn checked(session: &Session, form: &HashMap<String, String>) -> Result<(), CsrfReject> {
    let token = form.get("csrf").map_or("", String::as_str);
    session.verify_csrf(token)
}

async fn handle(req: Request<Incoming>) -> Response<support::Body> {
    let session = req
        .extensions()
        .get::<Session>()
        .expect("layer installed")
        .clone();
    let result = match (req.method().clone(), req.uri().path()) {
        (Method::GET, "/") => page(&session),
        // For scripts: the token in the `X-CSRF-Token` header, checked as `CsrfLayer` does.
        (Method::POST, "/api/note") => {
            if let Err(reason) = sealed_session::csrf::check(req.method(), req.headers(), &session)
            {
                return support::text(StatusCode::FORBIDDEN, format!("{reason}\n"));
            }
            Ok(support::text(StatusCode::OK, "noted\n"))
        }
        (Method::POST, path @ ("/login" | "/logout" | "/logout-everywhere")) => {
            let path = path.to_owned();
            let Some(form) = form(req).await else {
                return support::text(StatusCode::BAD_REQUEST, "expected a small form\n");
            };
            if let Err(reason) = checked(&session, &form) {
                return support::text(StatusCode::FORBIDDEN, format!("{reason}\n"));
            }
            match path.as_str() {
                "/login" => login(&session, &form),
                "/logout" => logout(&session, "You have been logged out."),
                _ => {
                    if let Ok(Some(user)) = session.get::<String>("user") {
                        let mut users = USERS
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner);
                        if let Some((_, stamp)) = users.get_mut(user.as_str()) {
                            *stamp += 1; // every session with the old stamp ends
                        }
                    }
                    logout(&session, "You have been logged out on every device.")
                }
            }
        }
        _ => Ok(support::text(StatusCode::NOT_FOUND, "not found\n")),
    };
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "session error");
        support::text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n")
    })
}

fn login(
    session: &Session,
    form: &HashMap<String, String>,
) -> Result<Response<support::Body>, sealed_session::Error> {
    let user = form.get("user").map_or("", String::as_str);
    let password = form.get("password").map_or("", String::as_str);
    let known = {
        let users = USERS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        users
            .get_key_value(user)
            .filter(|(_, (pw, _))| *pw == password)
            .map(|(name, (_, stamp))| (*name, stamp.to_string()))
    };
    let Some((user, stamp)) = known else {
        session.flash(Level::Error, "Unknown user or wrong password.")?;
        return Ok(see_other("/"));
    };
    session.cycle();
    session.insert("user", user)?;
    session.set_auth_stamp(user, stamp)?;
    session.set_session_expiry(Some(if form.contains_key("remember") {
        SessionExpiry::idle(REMEMBER_FOR)
    } else {
        SessionExpiry::BrowserSession
    }));
    session.flash(Level::Success, format!("Welcome back, {user}."))?;
    Ok(see_other("/"))
}

fn logout(
    session: &Session,
    message: &str,
) -> Result<Response<support::Body>, sealed_session::Error> {
    session.flush();
    session.flash(Level::Info, message)?;
    Ok(see_other("/"))
}

#[tokio::main]
async fn main() {
    let layer = support::layer()
        .await
        .revalidate(REVALIDATE_EVERY, |user: String| async move {
            Ok::<_, Infallible>(stamp_of(&user))
        });
    support::serve(layer, handle).await;
}
