//! [`CsrfLayer`]: refuses unsafe requests (POST, PUT, PATCH, DELETE, and any method other
//! than GET, HEAD, OPTIONS and TRACE) that do not carry the session's CSRF token in the
//! `X-CSRF-Token` header, with `403 Forbidden` and the reason in a plain-text body.
//!
//! The synchronizer-token pattern complements `SameSite` (`cookie.same_site`, `lax` by
//! default): `SameSite=Lax` keeps browsers from sending the session cookie on cross-site
//! POSTs, but not on requests from a sibling subdomain (same *site*), not in browsers that
//! ignore it, and not on cross-site GETs (keep GETs free of side effects). A token that only
//! pages of the application can read closes those gaps. See [`Session::csrf_token`] for the
//! token itself (a per-session secret, masked differently on every call against BREACH, checked
//! in constant time, renewed by [`Session::cycle`]).
//!
//! **Header only.** The layer reads the token from the `X-CSRF-Token` header, never from the
//! request body: reading a form body here would mean buffering it and handing the handler
//! another body type. Pages send it from script (`fetch(url, {method: "POST", headers:
//! {"X-CSRF-Token": token}})`); a plain HTML form that cannot set headers checks its hidden
//! field itself with [`Session::verify_csrf`] on a route outside the layer (as the `login`
//! example does).
//!
//! Place it inside the [`SessionLayer`](crate::SessionLayer), whose session it reads:
//! ```
//! use std::convert::Infallible;
//! use http::{header, Method, Request, Response, StatusCode};
//! use sealed_session::csrf::{CsrfLayer, CSRF_HEADER};
//! use sealed_session::{Session, SessionConfig, SessionLayer};
//! use tower::{service_fn, ServiceBuilder, ServiceExt};
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let app = ServiceBuilder::new()
//!     .layer(SessionLayer::new(SessionConfig::ephemeral()).unwrap())
//!     .layer(CsrfLayer::new())
//!     .service(service_fn(|req: Request<String>| async move {
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
//! // POST with it: through.
//! let req = post().header(CSRF_HEADER, &token).body(String::new()).unwrap();
//! assert_eq!(app.oneshot(req).await.unwrap().status(), StatusCode::OK);
//! # });
//! ```

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::session::{CsrfReject, Session};

/// The request header the token is read from.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Whether `method` may change state, and so needs a token: everything but GET, HEAD,
/// OPTIONS and TRACE (RFC 9110 §9.2.1's safe methods).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

/// Checks the token of an unsafe request `parts`-wise: `Ok` for safe methods, else the
/// session's verdict on the `X-CSRF-Token` header.
///
/// # Errors
/// The [`CsrfReject`] reason.
pub fn check(
    method: &Method,
    headers: &http::HeaderMap,
    session: &Session,
) -> Result<(), CsrfReject> {
    if !is_unsafe(method) {
        return Ok(());
    }
    let mut values = headers.get_all(CSRF_HEADER).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        // None, or two (which one would count?).
        return Err(if headers.contains_key(CSRF_HEADER) {
            CsrfReject::Malformed
        } else {
            CsrfReject::Missing
        });
    };
    let token = value.to_str().map_err(|_| CsrfReject::Malformed)?;
    session.verify_csrf(token)
}

/// The axum extractor (feature `axum`) for routes that want the check without the layer:
/// extracting it refuses an unsafe request without the session's token (`403`, as the layer
/// does), and [`token`](Self::token) hands out a token for the page.
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

/// A [`Layer`] that refuses unsafe requests without the session's CSRF token. See the
/// [module docs](self).
#[derive(Clone, Copy, Debug, Default)]
pub struct CsrfLayer {
    _private: (),
}

impl CsrfLayer {
    /// The layer (header `X-CSRF-Token`, refusal `403 Forbidden`).
    #[must_use]
    pub fn new() -> Self {
        CsrfLayer { _private: () }
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService { inner }
    }
}

/// The service of a [`CsrfLayer`].
#[derive(Clone, Debug)]
pub struct CsrfService<S> {
    inner: S,
}

impl<S> CsrfService<S> {
    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for CsrfService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<&'static str>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = CsrfFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let verdict = match req.extensions().get::<Session>() {
            Some(session) => check(req.method(), req.headers(), session).map_err(Refusal::Csrf),
            None if is_unsafe(req.method()) => Err(Refusal::NoSession),
            None => Ok(()),
        };
        match verdict {
            Ok(()) => CsrfFuture {
                kind: Kind::Inner {
                    fut: self.inner.call(req),
                },
            },
            Err(refusal) => CsrfFuture {
                kind: Kind::Refused {
                    res: Some(refusal.response()),
                },
            },
        }
    }
}

enum Refusal {
    Csrf(CsrfReject),
    NoSession,
}

impl Refusal {
    fn response<B: From<&'static str>>(self) -> Response<B> {
        let (status, body) = match self {
            Refusal::Csrf(reason) => {
                tracing::info!(reason = reason.as_str(), "request refused: {reason}");
                (StatusCode::FORBIDDEN, reason.message())
            }
            Refusal::NoSession => {
                tracing::error!("CsrfLayer found no Session: put it inside SessionLayer");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "sealed-session: CsrfLayer needs a Session; put it inside SessionLayer",
                )
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

pin_project! {
    /// Response future of [`CsrfService`]: the inner future, or a ready refusal.
    pub struct CsrfFuture<F, B> {
        #[pin]
        kind: Kind<F, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F, B> {
        Inner {
            #[pin]
            fut: F,
        },
        Refused {
            res: Option<Response<B>>,
        },
    }
}

impl<F, B, E> Future for CsrfFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: From<&'static str>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { fut } => fut.poll(cx),
            KindProj::Refused { res } => Poll::Ready(Ok(res.take().unwrap_or_else(|| {
                let mut res = Response::new(B::from(""));
                *res.status_mut() = StatusCode::FORBIDDEN;
                res
            }))),
        }
    }
}
