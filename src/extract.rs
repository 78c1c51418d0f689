//! [`Session`] as an axum extractor (feature `axum`).
//!
//! ```ignore
//! async fn handler(session: Session) -> String {
//!     let count: u64 = session.get("visit_count").unwrap_or_default().unwrap_or(0) + 1;
//!     session.insert("visit_count", &count).ok();
//!     format!("You have visited this page {count} times.")
//! }
//! ```

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use http::StatusCode;

use crate::session::Session;

/// The rejection when a handler asks for a [`Session`] but no [`SessionLayer`](crate::SessionLayer)
/// wraps the route: a 500 that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingSessionLayer;

const MESSAGE: &str = "sealed-session: no Session in the request extensions; \
add `SessionLayer` around this route (e.g. `Router::new().route(..).layer(session_layer)`)";

impl std::fmt::Display for MissingSessionLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(MESSAGE)
    }
}

impl std::error::Error for MissingSessionLayer {}

impl IntoResponse for MissingSessionLayer {
    fn into_response(self) -> Response {
        tracing::error!("{MESSAGE}");
        (StatusCode::INTERNAL_SERVER_ERROR, MESSAGE).into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = MissingSessionLayer;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(MissingSessionLayer)
    }
}
