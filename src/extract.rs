//! [`Session`] as an axum extractor, and the session's errors as axum responses (feature
//! `axum`), so that `?` works in handlers.
//!
//! An error becomes a response with a generic body (`500 Internal Server Error`, or `503
//! Service Unavailable` for a store failure); what went wrong goes to `tracing` only, never to
//! the client.
//!
//! ```
//! use sealed_session::Session;
//!
//! async fn handler(session: Session) -> Result<String, sealed_session::Error> {
//!     let count: u64 = session.get("visit_count")?.unwrap_or(0) + 1;
//!     session.insert("visit_count", &count)?;
//!     Ok(format!("You have visited this page {count} times."))
//! }
//! let _app: axum::Router = axum::Router::new().route("/", axum::routing::get(handler));
//! ```

use axum_core::extract::{FromRequest, FromRequestParts, Request};
use axum_core::response::{IntoResponse, Response};
use bytes::Bytes;
use http::request::Parts;
use http::StatusCode;
use serde::de::DeserializeOwned;

use crate::csrf::{self, Csrf, CsrfForm};
use crate::error::{DataError, Error, StoreError};
use crate::session::{CsrfReject, Session, SessionValue, Typed};

/// The rejection when a handler asks for a [`Session`] but no [`SessionLayer`](crate::SessionLayer)
/// wraps the route: a 500 that says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissingSessionLayer;

const MESSAGE: &str = "sealed-session: no Session in the request extensions; \
add `SessionLayer` around this route (e.g. `Router::new().route(..).layer(session_layer)`; \
axum's `.layer` wraps only the routes added before it)";

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

/// Why the [`Session`] extractor refused: no layer around the route (a 500 that says so), or
/// the server-mode store failed while loading the record (a 503, logged).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionRejection {
    /// No [`SessionLayer`](crate::SessionLayer) wraps the route.
    #[error(transparent)]
    MissingLayer(#[from] MissingSessionLayer),
    /// The store failed while loading the session (server mode, lazy loading).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoResponse for SessionRejection {
    fn into_response(self) -> Response {
        match self {
            SessionRejection::MissingLayer(e) => e.into_response(),
            SessionRejection::Store(e) => e.into_response(),
        }
    }
}

/// The request's session. In server mode with [`LoadPolicy::Lazy`](crate::config::LoadPolicy)
/// this is where its record is loaded: a route that never takes a `Session` makes no store
/// call.
impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let session = parts
            .extensions
            .get::<Session>()
            .cloned()
            .ok_or(MissingSessionLayer)?;
        session.load().await?;
        Ok(session)
    }
}

/// `Typed<T>` for a [`SessionValue`] `T`: its key of the request's session, as an extractor.
///
/// ```
/// use sealed_session::session::{SessionValue, Typed};
///
/// #[derive(Default, serde::Serialize, serde::Deserialize)]
/// struct Preferences { theme: String }
/// impl SessionValue for Preferences { const KEY: &'static str = "prefs"; }
///
/// async fn theme(prefs: Typed<Preferences>) -> Result<String, sealed_session::Error> {
///     Ok(prefs.get_or_default()?.theme)
/// }
/// let _app: axum::Router = axum::Router::new().route("/theme", axum::routing::get(theme));
/// ```
impl<S: Send + Sync, T: SessionValue> FromRequestParts<S> for Typed<T> {
    type Rejection = SessionRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state).await?;
        Ok(session.typed(T::KEY))
    }
}

/// [`Csrf`]: refuses an unsafe request without the session's token (`403 Forbidden` with the
/// reason), as [`CsrfLayer`](crate::csrf::CsrfLayer) does.
impl<S: Send + Sync> FromRequestParts<S> for Csrf {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let session = Session::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        match csrf::check(&parts.method, &parts.headers, &session) {
            Ok(()) => Ok(Csrf { session }),
            // A form that sent the field: the reason must not say "send the field".
            Err(CsrfReject::Missing) if csrf::is_urlencoded_form(&parts.headers) => {
                tracing::info!(
                    reason = CsrfReject::Missing.as_str(),
                    "request refused: a form posted to a route whose Csrf extractor reads only \
                     the header"
                );
                Err((StatusCode::FORBIDDEN, FORM_TO_HEADER_ONLY).into_response())
            }
            Err(reason) => Err(reason.into_response()),
        }
    }
}

/// The 403 of a urlencoded form posted without the header to a route that takes [`Csrf`].
const FORM_TO_HEADER_ONLY: &str = "CSRF token missing: this route's `Csrf` extractor reads only \
the X-CSRF-Token header, not the `csrf_token` form field; take the form with `CsrfForm`, or put \
the route behind `CsrfLayer`";

/// [`CsrfForm`]: the form, after its token was checked. See its docs for the refusals.
impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for CsrfForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let session = Session::from_request_parts(&mut parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if !csrf::is_unsafe(&parts.method) {
            // Unchecked, but left out as from a body: a template that puts the hidden field
            // in every form puts it in GET forms too.
            let query = parts.uri.query().unwrap_or_default();
            return deserialize(&csrf::without_token(query.as_bytes()))
                .map(CsrfForm)
                .map_err(IntoResponse::into_response);
        }
        if !csrf::is_urlencoded_form(&parts.headers) {
            return Err((
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "expected a form (Content-Type: application/x-www-form-urlencoded)",
            )
                .into_response());
        }
        let header = csrf::header_token(&parts.headers).map(|t| t.map(str::to_owned));
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let verdict = match header {
            Some(token) => token.and_then(|t| session.verify_csrf(&t)),
            None => csrf::check_form(&bytes, &session),
        };
        verdict.map_err(IntoResponse::into_response)?;
        deserialize(&csrf::without_token(&bytes))
            .map(CsrfForm)
            .map_err(IntoResponse::into_response)
    }
}

/// A form as `T`, or [`UnmatchedForm`].
fn deserialize<T: DeserializeOwned>(form: &[u8]) -> Result<T, UnmatchedForm> {
    serde_urlencoded::from_bytes(form).map_err(|_| UnmatchedForm)
}

/// A form that does not deserialize as the handler's type: `422` with a generic reason, as
/// serde's message can quote a field's value (`invalid type: string "hunter2"`), and a form
/// may hold a password, so it is neither sent nor logged.
struct UnmatchedForm;

impl IntoResponse for UnmatchedForm {
    fn into_response(self) -> Response {
        tracing::info!("form refused: its fields do not deserialize as the handler's type");
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "the form's fields do not match what this page expects",
        )
            .into_response()
    }
}

impl IntoResponse for CsrfReject {
    /// `403 Forbidden` with the reason as plain text; logged at `info`.
    fn into_response(self) -> Response {
        tracing::info!(reason = self.as_str(), "request refused: {self}");
        (StatusCode::FORBIDDEN, self.message()).into_response()
    }
}

/// A generic response for `status`; `error` goes to `tracing` only.
fn generic(status: StatusCode, error: &dyn std::error::Error) -> Response {
    tracing::error!(error = %error, status = status.as_u16(), "session error in a handler");
    let reason = status.canonical_reason().unwrap_or("Error");
    (status, reason).into_response()
}

impl IntoResponse for DataError {
    /// `500 Internal Server Error` with a generic body; the error (which names the session
    /// key, never a value) is logged.
    fn into_response(self) -> Response {
        generic(StatusCode::INTERNAL_SERVER_ERROR, &self)
    }
}

impl IntoResponse for StoreError {
    /// `503 Service Unavailable` with a generic body; the error is logged (an unavailable
    /// store at `debug`: [`Session::load`] reports an outage once, when it starts).
    fn into_response(self) -> Response {
        if let StoreError::Unavailable(_) = self {
            tracing::debug!(error = %self, "session store unavailable; answering 503");
            let status = StatusCode::SERVICE_UNAVAILABLE;
            return (status, status.canonical_reason().unwrap_or("Error")).into_response();
        }
        generic(StatusCode::SERVICE_UNAVAILABLE, &self)
    }
}

impl IntoResponse for Error {
    /// `503 Service Unavailable` for a store failure, else `500 Internal Server Error`, with a
    /// generic body; the error is logged.
    fn into_response(self) -> Response {
        match self {
            Error::Store(e) => e.into_response(),
            other => generic(StatusCode::INTERNAL_SERVER_ERROR, &other),
        }
    }
}
