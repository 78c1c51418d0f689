//! Login and logout: `cycle` on login (a new session lifetime on privilege change), `flush`
//! on logout (entries and cookie gone).
//!
//! ```text
//! cargo run --example login
//! curl -c jar -b jar -X POST 'http://127.0.0.1:3000/login?user=ada'
//! curl -c jar -b jar http://127.0.0.1:3000/me        # logged in as ada
//! curl -c jar -b jar -X POST http://127.0.0.1:3000/logout
//! curl -c jar -b jar http://127.0.0.1:3000/me        # 401
//! ```

#[path = "support/mod.rs"]
mod support;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use sealed_session::Session;

async fn handle(req: Request<Incoming>) -> http::Response<support::Body> {
    let session = req
        .extensions()
        .get::<Session>()
        .expect("layer installed")
        .clone();
    match (req.method(), req.uri().path()) {
        (&Method::POST, "/login") => {
            let user = req
                .uri()
                .query()
                .and_then(|q| q.strip_prefix("user="))
                .filter(|u| {
                    !u.is_empty() && u.len() <= 64 && u.bytes().all(|b| b.is_ascii_alphanumeric())
                });
            let Some(user) = user else {
                return support::text(
                    StatusCode::BAD_REQUEST,
                    "need ?user=NAME (letters and digits)\n",
                );
            };
            // A real app verifies a password here.
            session.cycle();
            if let Err(e) = session.insert("user", user) {
                return support::session_error(&e);
            }
            support::text(StatusCode::OK, format!("welcome, {user}\n"))
        }
        (&Method::GET, "/me") => match session.get::<String>("user") {
            Ok(Some(user)) => support::text(StatusCode::OK, format!("logged in as {user}\n")),
            Ok(None) => support::text(StatusCode::UNAUTHORIZED, "not logged in\n"),
            Err(e) => support::session_error(&e),
        },
        (&Method::POST, "/logout") => {
            session.flush();
            support::text(StatusCode::OK, "bye\n")
        }
        _ => support::text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

#[tokio::main]
async fn main() {
    let layer = support::layer().await;
    support::serve(layer, handle).await;
}
