//! The visit counter: `GET /` answers `You have visited this page N times.`
//!
//! ```text
//! cargo run --example visit_counter            # 127.0.0.1:3000, ephemeral key
//! PORT=8080 cargo run --example visit_counter
//! cargo run --example visit_counter -- --addr 127.0.0.1:4000
//! curl -c jar -b jar http://127.0.0.1:3000/    # 1, 2, 3, …
//! ```

#[path = "support/mod.rs"]
mod support;

use http::{Method, StatusCode};
use sealed_session::Session;

#[tokio::main]
async fn main() {
    support::init_logs(support::DEFAULT_LOGS);
    let layer = support::layer().await;
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
            // A stored value that does not read as a u64 is an error (a 500, logged), never
            // a reason to throw the value away.
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
