//! The visit counter and a login on axum, with `Session` as an extractor.
//!
//! ```text
//! cargo run --example axum_app --features axum
//! curl -c jar -b jar http://127.0.0.1:3000/
//! curl -c jar -b jar -X POST 'http://127.0.0.1:3000/login?user=ada'
//! curl -c jar -b jar http://127.0.0.1:3000/me
//! ```

#[path = "support/mod.rs"]
mod support;

use axum::extract::Query;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use sealed_session::Session;

/// `?` works: a session error is a generic 500 (details to `tracing`), and a stored value
/// that does not read stays as it was.
async fn counter(session: Session) -> Result<String, sealed_session::Error> {
    let count: u64 = session.get("visit_count")?.unwrap_or(0) + 1;
    session.insert("visit_count", &count)?;
    Ok(format!("You have visited this page {count} times."))
}

#[derive(serde::Deserialize)]
struct Login {
    user: String,
}

async fn login(
    session: Session,
    Query(form): Query<Login>,
) -> Result<String, sealed_session::Error> {
    // A real app checks a password here. Then: a new session lifetime on privilege change.
    session.cycle();
    session.insert("user", &form.user)?;
    Ok(format!("welcome, {}\n", form.user))
}

async fn me(session: Session) -> Result<Result<String, StatusCode>, sealed_session::Error> {
    Ok(match session.get::<String>("user")? {
        Some(user) => Ok(format!("logged in as {user}\n")),
        None => Err(StatusCode::UNAUTHORIZED),
    })
}

async fn logout(session: Session) -> &'static str {
    session.flush();
    "bye\n"
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .init();
    let layer = support::layer().await;
    let app = Router::new()
        .route("/", get(counter))
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/logout", post(logout))
        .layer(layer);
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
