//! Preferences (language and theme) in a typed struct, plus activity tracking (last seen,
//! pages viewed).
//!
//! ```text
//! cargo run --example preferences
//! curl -c jar -b jar -X POST 'http://127.0.0.1:3000/prefs?lang=fr&theme=dark'
//! curl -c jar -b jar http://127.0.0.1:3000/
//! ```

#[path = "support/mod.rs"]
mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use sealed_session::Session;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Default)]
struct Prefs {
    lang: String,
    dark: bool,
}

async fn handle(req: Request<Incoming>) -> http::Response<support::Body> {
    let session = req
        .extensions()
        .get::<Session>()
        .expect("layer installed")
        .clone();
    let mut prefs: Prefs = session
        .get("prefs")
        .ok()
        .flatten()
        .unwrap_or_else(|| Prefs {
            lang: "en".into(),
            dark: false,
        });
    match (req.method(), req.uri().path()) {
        (&Method::POST, "/prefs") => {
            for kv in req.uri().query().unwrap_or("").split('&') {
                match kv.split_once('=') {
                    Some(("lang", l)) if matches!(l, "en" | "fr" | "de" | "es") => {
                        prefs.lang = l.into();
                    }
                    Some(("theme", t)) => prefs.dark = t == "dark",
                    _ => {}
                }
            }
            if let Err(e) = session.insert("prefs", &prefs) {
                return support::text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"));
            }
        }
        (&Method::GET, "/") => {}
        _ => return support::text(StatusCode::NOT_FOUND, "not found\n"),
    }
    // Activity tracking: pages viewed and last visit (Unix seconds).
    let views: u32 = session.get("views").ok().flatten().unwrap_or(0) + 1;
    let last: Option<u64> = session.get("last_seen").ok().flatten();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let _ = session.insert("views", &views);
    let _ = session.insert("last_seen", &now);
    let greeting = match prefs.lang.as_str() {
        "fr" => "Bonjour",
        "de" => "Hallo",
        "es" => "Hola",
        _ => "Hello",
    };
    let theme = if prefs.dark { "dark" } else { "light" };
    let last = last.map_or("first visit".to_owned(), |t| {
        format!("last seen {}s ago", now.saturating_sub(t))
    });
    support::text(
        StatusCode::OK,
        format!("{greeting}! theme: {theme}; {views} page view(s); {last}\n"),
    )
}

#[tokio::main]
async fn main() {
    let layer = support::layer().await;
    support::serve(layer, handle).await;
}
