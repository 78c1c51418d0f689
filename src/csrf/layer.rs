//! [`CsrfLayer`] and its [`CsrfService`].

use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response};
use http_body::Body;
use http_body_util::{BodyExt as _, Limited};
use tower_layer::Layer;
use tower_service::Service;

use super::refusal::BoxError;
use super::{decide, is_unsafe, CsrfBody, CsrfFuture, Decision, DEFAULT_MAX_FORM_BYTES};
use crate::session::Session;

/// A [`Layer`] that refuses unsafe requests without the session's CSRF token, read from the
/// `X-CSRF-Token` header or a urlencoded form's `csrf_token` field. See the
/// [module docs](super).
#[derive(Clone, Copy, Debug)]
pub struct CsrfLayer {
    max_form_bytes: usize,
}

impl Default for CsrfLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl CsrfLayer {
    /// The layer: header `X-CSRF-Token`, else form field `csrf_token` in bodies of at most
    /// [`DEFAULT_MAX_FORM_BYTES`]; refusal `403 Forbidden`.
    #[must_use]
    pub fn new() -> Self {
        CsrfLayer {
            max_form_bytes: DEFAULT_MAX_FORM_BYTES,
        }
    }

    /// The most bytes of a urlencoded form body the layer reads to find the token (default
    /// 2 MiB). A larger form without the header is refused with `413 Payload Too Large`
    /// before it is read, if it says its length, or as soon as it passes the cap.
    ///
    /// ```
    /// let layer = sealed_session::csrf::CsrfLayer::new().max_form_bytes(64 * 1024);
    /// # let _ = layer;
    /// ```
    #[must_use]
    pub fn max_form_bytes(mut self, limit: usize) -> Self {
        self.max_form_bytes = limit;
        self
    }
}

impl<S> Layer<S> for CsrfLayer {
    type Service = CsrfService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        CsrfService {
            inner,
            max_form_bytes: self.max_form_bytes,
        }
    }
}

/// The service of a [`CsrfLayer`].
#[derive(Clone, Debug)]
pub struct CsrfService<S> {
    inner: S,
    max_form_bytes: usize,
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
    S: Service<Request<CsrfBody<ReqBody>>, Response = Response<ResBody>> + Clone,
    ReqBody: Body<Data = Bytes>,
    ReqBody::Error: Into<BoxError>,
    ResBody: From<&'static str>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = CsrfFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let lazy = is_unsafe(req.method())
            && req
                .extensions()
                .get::<Session>()
                .is_some_and(Session::needs_load);
        if lazy {
            // Server mode with `load = "lazy"`: the token is checked against the stored
            // session, so its record is loaded first (an unloaded session has no secret and
            // would refuse every token).
            let clone = self.inner.clone();
            let inner = std::mem::replace(&mut self.inner, clone);
            return CsrfFuture::loading(req, inner, self.max_form_bytes);
        }
        match decide(&req, self.max_form_bytes) {
            Decision::Pass => CsrfFuture::inner(self.inner.call(req.map(CsrfBody::streaming))),
            Decision::Refuse(refusal) => CsrfFuture::refused(refusal.response()),
            Decision::ReadForm => {
                // The service that was polled ready goes with the request; a clone takes its
                // place (tower's guidance for services that call their inner one later).
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let (parts, body) = req.into_parts();
                let collect = Limited::new(body, self.max_form_bytes).collect();
                CsrfFuture::reading(collect, parts, inner)
            }
        }
    }
}
