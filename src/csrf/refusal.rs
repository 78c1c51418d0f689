//! Why the layer answered instead of the inner service, and that answer.

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Response, StatusCode};

use crate::session::CsrfReject;

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why the layer answered instead of the inner service.
pub(super) enum Refusal {
    /// No token, or not the session's.
    Csrf(CsrfReject),
    /// No header, and a body that is not a urlencoded form (multipart, JSON): its fields
    /// are not read.
    UnreadBody,
    /// No `Session` in the extensions: the layer is outside `SessionLayer`.
    NoSession,
    /// A form over the cap, without the header.
    TooLarge,
    /// The form body failed while being read.
    Unreadable(BoxError),
    /// The session's record could not be loaded to check the token (server mode, lazy).
    StoreUnavailable,
    /// The future was polled after it completed.
    Spent,
}

impl Refusal {
    pub(super) fn response<B: From<&'static str>>(self) -> Response<B> {
        let (status, body) = match self {
            Refusal::Csrf(reason) => {
                tracing::info!(reason = reason.as_str(), "request refused: {reason}");
                (StatusCode::FORBIDDEN, reason.message())
            }
            Refusal::UnreadBody => {
                let reason = CsrfReject::Missing;
                tracing::info!(
                    reason = reason.as_str(),
                    "request refused: no CSRF header, and a body that is not a urlencoded form"
                );
                (
                    StatusCode::FORBIDDEN,
                    "CSRF token missing: send the token from `csrf_token()` in the X-CSRF-Token \
                     header; only an application/x-www-form-urlencoded body is read for the \
                     `csrf_token` field (a multipart/form-data or JSON body is not)",
                )
            }
            Refusal::NoSession => {
                tracing::error!("CsrfLayer found no Session: put it inside SessionLayer");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "sealed-session: CsrfLayer needs a Session; put it inside SessionLayer: \
                     `ServiceBuilder::new().layer(session_layer).layer(CsrfLayer::new())`, or \
                     on an axum Router `.layer(CsrfLayer::new()).layer(session_layer)` (there \
                     the last `.layer` is the outermost)",
                )
            }
            Refusal::TooLarge => {
                tracing::info!(
                    reason = "csrf_form_too_large",
                    "request refused: form over the CSRF layer's limit"
                );
                (
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "form too large to look for its CSRF token: send the token in the \
                     X-CSRF-Token header, or raise CsrfLayer::max_form_bytes",
                )
            }
            Refusal::Unreadable(error) => {
                tracing::info!(error = %error, "request refused: form body could not be read");
                (
                    StatusCode::BAD_REQUEST,
                    "the form body could not be read to check its CSRF token",
                )
            }
            Refusal::StoreUnavailable => (
                // `Session::load` logged the outage.
                StatusCode::SERVICE_UNAVAILABLE,
                "the session store is unavailable",
            ),
            Refusal::Spent => {
                tracing::error!("CsrfFuture polled after completion");
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        };
        let mut res = Response::new(B::from(body));
        *res.status_mut() = status;
        res.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        res
    }
}
