//! Preferences (language and theme) as the application's own struct, with a typed handle on
//! the session, plus activity tracking (last seen, pages viewed).
//!
//! ```text
//! cargo run --example preferences
//! curl -c jar -b jar -X POST 'http://127.0.0.1:3000/prefs?lang=fr&theme=dark'
//! curl -c jar -b jar http://127.0.0.1:3000/
//! ```
//!
//! `Prefs` can change between deploys and keep every user's stored value: `font_size` below
//! was added after the first release (`#[serde(default)]`), and values stored before it still
//! read (see the schema-evolution table in the `data` module docs).

#[path = "support/mod.rs"]
mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use sealed_session::{DataError, Session};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug)]
struct Prefs {
    lang: String,
    dark: bool,
    /// Added in a later deploy: values stored without it read as `None`.
    #[serde(default)]
    font_size: Option<u8>,
}

impl Default for Prefs {
    fn default() -> Self {
        Prefs {
            lang: "en".into(),
            dark: false,
            font_size: None,
        }
    }
}

async fn handle(req: Request<Incoming>) -> http::Response<support::Body> {
    let session = req
        .extensions()
        .get::<Session>()
        .expect("layer installed")
        .clone();
    // In server mode with `load = "lazy"` this loads the record (a tower handler's job; the
    // axum extractor does it); otherwise it does nothing.
    if let Err(e) = session.load().await {
        return support::store_error(&e);
    }
    match page(&req, &session) {
        Ok(response) => response,
        // A value that does not read is a 500, logged; it stays in the session as it was.
        Err(e) => support::session_error(&e),
    }
}

fn page(
    req: &Request<Incoming>,
    session: &Session,
) -> Result<http::Response<support::Body>, DataError> {
    let prefs = session.typed::<Prefs>("prefs");
    match (req.method(), req.uri().path()) {
        (&Method::POST, "/prefs") => {
            prefs.update(|p| {
                for kv in req.uri().query().unwrap_or("").split('&') {
                    match kv.split_once('=') {
                        Some(("lang", l)) if matches!(l, "en" | "fr" | "de" | "es") => {
                            p.lang = l.into();
                        }
                        Some(("theme", t)) => p.dark = t == "dark",
                        Some(("font", f)) => p.font_size = f.parse().ok(),
                        _ => {}
                    }
                }
            })?;
        }
        (&Method::GET, "/") => {}
        _ => return Ok(support::text(StatusCode::NOT_FOUND, "not found\n")),
    }
    let prefs = prefs.get_or_default()?;
    // Activity tracking: pages viewed and last visit (Unix seconds).
    let views = session.typed::<u32>("views").update(|v| {
        *v += 1;
        *v
    })?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let last: Option<u64> = session.get("last_seen")?;
    session.insert("last_seen", &now)?;
    let greeting = match prefs.lang.as_str() {
        "fr" => "Bonjour",
        "de" => "Hallo",
        "es" => "Hola",
        _ => "Hello",
    };
    let theme = if prefs.dark { "dark" } else { "light" };
    let font = prefs
        .font_size
        .map_or(String::new(), |f| format!("; font size {f}"));
    let last = last.map_or("first visit".to_owned(), |t| {
        format!("last seen {}s ago", now.saturating_sub(t))
    });
    Ok(support::text(
        StatusCode::OK,
        format!("{greeting}! theme: {theme}{font}; {views} page view(s); {last}\n"),
    ))
}

#[tokio::main]
async fn main() {
    let layer = support::layer().await;
    support::serve(layer, handle).await;
}
