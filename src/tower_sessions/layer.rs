//! [`TowerSessionsLayer`] and its [`TowerSessionsService`].

use std::task::{Context, Poll};

use http::{Request, Response};
use tower_layer::Layer;
use tower_service::Service;

use super::bridge::attach;
use super::future::ResponseFuture;
use crate::session::Session;

/// A [`Layer`] that gives each request a `tower_sessions::Session` backed by the request's
/// sealed-session [`Session`]: put it inside a [`SessionLayer`](crate::SessionLayer), after
/// it in a `ServiceBuilder`, before it on an axum `Router` (whose last `.layer` is the
/// outermost). Outside it, every request is a `500` whose body says so. See the
/// [module docs](super).
///
/// The response body needs `Default` (as tower-sessions' own layer asks) and
/// `From<&'static str>` (that `500`'s text), as axum's `Body`, `String` and `Full<Bytes>` have.
#[derive(Clone, Copy, Debug, Default)]
pub struct TowerSessionsLayer {
    _private: (),
}

impl TowerSessionsLayer {
    /// The layer.
    #[must_use]
    pub fn new() -> Self {
        TowerSessionsLayer { _private: () }
    }
}

impl<S> Layer<S> for TowerSessionsLayer {
    type Service = TowerSessionsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TowerSessionsService { inner }
    }
}

/// The service of a [`TowerSessionsLayer`].
#[derive(Clone, Debug)]
pub struct TowerSessionsService<S> {
    inner: S,
}

impl<S> TowerSessionsService<S> {
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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TowerSessionsService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default + From<&'static str>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let Some(session) = req.extensions().get::<Session>().cloned() else {
            tracing::error!("TowerSessionsLayer found no Session: put it inside SessionLayer");
            return ResponseFuture::failed();
        };
        let attached = attach(&mut req, session);
        ResponseFuture::inner(self.inner.call(req), attached)
    }
}
