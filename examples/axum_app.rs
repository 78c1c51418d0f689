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

async fn counter(session: Session) -> String {
    let count: u64 = session.get("visit_count").ok().flatten().unwrap_or(0) + 1;
    if let Err(e) = session.insert("visit_count", &count) {
        tracing::error!(error = %e, "could not store the count");
    }
    format!("You have visited this page {count} times.")
}

#[derive(serde::Deserialize)]
struct Login {
    user: String,
}

async fn login(session: Session, Query(form): Query<Login>) -> Result<String, StatusCode> {
    // A real app checks a password here. Then: a new session lifetime on privilege change.
    session.cycle();
    session
        .insert("user", &form.user)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(format!("welcome, {}\n", form.user))
}

async fn me(session: Session) -> Result<String, StatusCode> {
    match session.get::<String>("user") {
        Ok(Some(user)) => Ok(format!("logged in as {user}\n")),
        _ => Err(StatusCode::UNAUTHORIZED),
    }
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
