//! [`CsrfLayer`]: refuses unsafe requests (POST, PUT, PATCH, DELETE, and any method other
//! than GET, HEAD, OPTIONS and TRACE) that do not carry the session's CSRF token, with `403
//! Forbidden` and the reason in a plain-text body.
//!
//! The synchronizer-token pattern complements `SameSite` (`cookie.same_site`, `lax` by
//! default): `SameSite=Lax` keeps browsers from sending the session cookie on cross-site
//! POSTs, but not on requests from a sibling subdomain (same *site*), not in browsers that
//! ignore it, and not on cross-site GETs (keep GETs free of side effects). A token that only
//! pages of the application can read closes those gaps. See [`Session::csrf_token`] for the
//! token itself (a per-session secret, masked differently on every call against BREACH, checked
//! in constant time, renewed by [`Session::cycle`]).
//!
//! # Where the token is read
//! - The `X-CSRF-Token` header ([`CSRF_HEADER`]), from script: `fetch(url, {method: "POST",
//!   headers: {"X-CSRF-Token": token}})`. When the header is present it decides alone.
//! - Else, for an `application/x-www-form-urlencoded` body (a plain HTML `<form>`), the
//!   `csrf_token` field ([`CSRF_FIELD`]): `<input type=hidden name=csrf_token value=…>`. The
//!   layer reads the body (at most [`CsrfLayer::max_form_bytes`], 2 MiB by default, as axum's
//!   default body limit; more is `413`), checks the field, and hands the same bytes on, so the
//!   handler still reads its form (axum's `Form`, or [`CsrfForm`], which leaves the token out).
//!   The inner service sees the body as a [`CsrfBody`].
//! - `multipart/form-data` bodies are not read (that would need a multipart parser in the
//!   layer): upload forms send the header from script, or are routed outside the layer and
//!   call [`Session::verify_csrf`] on their field. Such a body (or JSON) without the header
//!   is refused with a reason that says it was not read.
//!
//! Place it inside the [`SessionLayer`](crate::SessionLayer), whose session it reads: after
//! it in a `ServiceBuilder` (as below), before it on an axum `Router`, whose last `.layer` is
//! the outermost (`router.layer(CsrfLayer::new()).layer(session_layer)`). Outside it, every
//! unsafe request is a `500` that says so. In
//! server mode with `load = "lazy"` it loads the session's record for an unsafe request
//! before checking the token (a store outage is then a `503`); safe requests stay lazy.
//!
//! ```
//! use std::convert::Infallible;
//! use http::{header, Method, Request, Response, StatusCode};
//! use sealed_session::csrf::{CsrfBody, CsrfLayer, CSRF_HEADER};
//! use sealed_session::{Session, SessionConfig, SessionLayer};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let app = ServiceBuilder::new()
//!     .layer(SessionLayer::new(SessionConfig::ephemeral()).unwrap())
//!     .layer(CsrfLayer::new())
//!     .service(service_fn(|req: Request<CsrfBody<String>>| async move {
//!         let session = req.extensions().get::<Session>().unwrap();
//!         Ok::<_, Infallible>(Response::new(session.csrf_token().unwrap()))
//!     }));
//!
//! // GET: a token (and the cookie that holds the secret).
//! let res = app.clone().oneshot(Request::new(String::new())).await.unwrap();
//! let cookie = res.headers()[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
//! let token = res.into_body();
//!
//! // POST without the token: refused.
//! let post = || Request::builder().method(Method::POST).header(header::COOKIE, &cookie);
//! let res = app.clone().oneshot(post().body(String::new()).unwrap()).await.unwrap();
//! assert_eq!(res.status(), StatusCode::FORBIDDEN);
//! assert!(res.body().starts_with("CSRF token missing"));
//!
//! // POST with it in the header: through.
//! let req = post().header(CSRF_HEADER, &token).body(String::new()).unwrap();
//! assert_eq!(app.clone().oneshot(req).await.unwrap().status(), StatusCode::OK);
//!
//! // A form with it in the `csrf_token` field: through.
//! let req = post()
//!     .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
//!     .body(format!("comment=hi&csrf_token={token}"))
//!     .unwrap();
//! assert_eq!(app.oneshot(req).await.unwrap().status(), StatusCode::OK);
//! # });
//! ```

use std::borrow::Cow;

use http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use http::{HeaderMap, Method, Request};

use refusal::Refusal;

use crate::session::{CsrfReject, Session};

mod body;
mod future;
mod layer;
mod refusal;

pub use body::CsrfBody;
pub use future::CsrfFuture;
pub use layer::{CsrfLayer, CsrfService};

/// The request header the token is read from.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The form field the token is read from, in `application/x-www-form-urlencoded` bodies.
pub const CSRF_FIELD: &str = "csrf_token";

/// The default cap on a form body the layer reads to find [`CSRF_FIELD`]: 2 MiB, axum's
/// default body limit.
pub const DEFAULT_MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

/// Whether `method` may change state, and so needs a token: everything but GET, HEAD,
/// OPTIONS and TRACE (RFC 9110 §9.2.1's safe methods).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Checks the token of a request from its method and headers: `Ok` for safe methods, else
/// the session's verdict on the `X-CSRF-Token` header. A form field is not looked at here
/// (that needs the body): see [`check_form`].
///
/// # Errors
/// The [`CsrfReject`] reason.
pub fn check(method: &Method, headers: &HeaderMap, session: &Session) -> Result<(), CsrfReject> {
    if !is_unsafe(method) {
        return Ok(());
    }
    match header_token(headers) {
        Some(token) => session.verify_csrf(token?),
        None => Err(CsrfReject::Missing),
    }
}

/// Checks the `csrf_token` field of an `application/x-www-form-urlencoded` body against the
/// session: missing, repeated (which one would count?) or wrong is refused.
///
/// ```
/// use sealed_session::{csrf, Session};
/// let session = Session::detached();
/// let token = session.csrf_token()?;
/// let body = format!("item=42&csrf_token={token}");
/// assert!(csrf::check_form(body.as_bytes(), &session).is_ok());
/// assert!(csrf::check_form(b"item=42", &session).is_err());
/// # Ok::<(), sealed_session::Error>(())
/// ```
///
/// # Errors
/// The [`CsrfReject`] reason.
pub fn check_form(body: &[u8], session: &Session) -> Result<(), CsrfReject> {
    session.verify_csrf(&form_token(body)?)
}

/// The header's token: `None` when absent, an error when repeated or not visible ASCII.
pub(crate) fn header_token(headers: &HeaderMap) -> Option<Result<&str, CsrfReject>> {
    let mut values = headers.get_all(CSRF_HEADER).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return Some(Err(CsrfReject::Malformed));
    }
    Some(value.to_str().map_err(|_| CsrfReject::Malformed))
}

/// The one `csrf_token` field of a urlencoded body.
fn form_token(body: &[u8]) -> Result<Cow<'_, str>, CsrfReject> {
    let mut found = None;
    for (name, value) in form_urlencoded::parse(body) {
        if name == CSRF_FIELD {
            if found.is_some() {
                return Err(CsrfReject::Malformed);
            }
            found = Some(value);
        }
    }
    found.ok_or(CsrfReject::Missing)
}

/// Whether the request's body is a urlencoded form (`Content-Type`'s essence, any
/// parameters such as `charset` ignored).
pub(crate) fn is_urlencoded_form(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// The declared `Content-Length`, when there is one and it parses.
/// What to do with a request, from its head alone (its session loaded).
enum Decision {
    Pass,
    Refuse(Refusal),
    ReadForm,
}

fn decide<B>(req: &Request<B>, max_form_bytes: usize) -> Decision {
    if !is_unsafe(req.method()) {
        return Decision::Pass;
    }
    let Some(session) = req.extensions().get::<Session>() else {
        return Decision::Refuse(Refusal::NoSession);
    };
    if let Some(token) = header_token(req.headers()) {
        return match token.and_then(|t| session.verify_csrf(t)) {
            Ok(()) => Decision::Pass,
            Err(reason) => Decision::Refuse(Refusal::Csrf(reason)),
        };
    }
    if !is_urlencoded_form(req.headers()) {
        // A body of another type (a multipart upload form, JSON) is not read: say so, or
        // "send the `csrf_token` form field" sends the developer of a multipart form that
        // has the field looking for what is wrong with it.
        return Decision::Refuse(if req.headers().contains_key(CONTENT_TYPE) {
            Refusal::UnreadBody
        } else {
            Refusal::Csrf(CsrfReject::Missing)
        });
    }
    match content_length(req.headers()) {
        Some(len) if len > max_form_bytes as u64 => Decision::Refuse(Refusal::TooLarge),
        _ => Decision::ReadForm,
    }
}

fn content_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH)?.to_str().ok()?.parse().ok()
}

/// The axum extractor (feature `axum`) for routes that want the check without the layer:
/// extracting it refuses an unsafe request without the session's token (`403`, as the layer
/// does), and [`token`](Self::token) hands out a token for the page. It reads only the
/// `X-CSRF-Token` header (it does not consume the body): an HTML form's `csrf_token` field is
/// checked by [`CsrfForm`] or [`CsrfLayer`], and a form posted here is refused with a reason
/// that says so.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use sealed_session::csrf::Csrf;
/// async fn form(csrf: Csrf) -> Result<String, sealed_session::Error> {
///     Ok(format!("<meta name=csrf-token content={}>", csrf.token()?))
/// }
/// async fn transfer(_csrf: Csrf) -> &'static str {
///     "done" // only reached with a valid X-CSRF-Token header
/// }
/// let _app: axum::Router = axum::Router::new()
///     .route("/form", axum::routing::get(form))
///     .route("/transfer", axum::routing::post(transfer));
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Csrf {
    pub(crate) session: Session,
}

impl Csrf {
    /// A fresh masked token of the request's session ([`Session::csrf_token`]).
    ///
    /// # Errors
    /// As [`Session::csrf_token`].
    pub fn token(&self) -> Result<String, crate::error::Error> {
        self.session.csrf_token()
    }

    /// The request's session.
    pub fn session(&self) -> &Session {
        &self.session
    }
}

/// The axum extractor (feature `axum`) for HTML form posts: the request's urlencoded form,
/// deserialized as axum's `Form<T>` would, after its `csrf_token` field (or the
/// `X-CSRF-Token` header, if sent) was checked against the session. The token field is left
/// out before `T` is deserialized, so `T` needs no field for it, even with
/// `#[serde(deny_unknown_fields)]`.
///
/// Refusals: no or wrong token `403` (with the reason, as [`CsrfLayer`]); a body that is not
/// `application/x-www-form-urlencoded` `415`; a form that does not deserialize as `T` `422`;
/// a body over axum's `DefaultBodyLimit` `413`. Safe methods (GET, HEAD) are not checked and
/// read the query string, as `Form` does (a `csrf_token` field in it is left out as well).
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use sealed_session::csrf::CsrfForm;
/// #[derive(serde::Deserialize)]
/// struct Comment {
///     text: String,
/// }
/// async fn post_comment(CsrfForm(comment): CsrfForm<Comment>) -> String {
///     format!("posted {}", comment.text) // only reached with the session's token
/// }
/// let _app: axum::Router =
///     axum::Router::new().route("/comment", axum::routing::post(post_comment));
/// # }
/// ```
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
#[derive(Clone, Copy, Debug, Default)]
pub struct CsrfForm<T>(pub T);

/// The fields of a urlencoded form other than [`CSRF_FIELD`], encoded again (only when the
/// form has that field; else the body as it is).
#[cfg(feature = "axum")]
pub(crate) fn without_token(body: &[u8]) -> Cow<'_, [u8]> {
    if !form_urlencoded::parse(body).any(|(name, _)| name == CSRF_FIELD) {
        return Cow::Borrowed(body);
    }
    let mut out = form_urlencoded::Serializer::new(String::with_capacity(body.len()));
    out.extend_pairs(form_urlencoded::parse(body).filter(|(name, _)| name != CSRF_FIELD));
    Cow::Owned(out.finish().into_bytes())
}
