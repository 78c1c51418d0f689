//! [`SessionService`]: puts a [`Session`] into each request and hands the response to
//! [`ResponseFuture`].

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{header::COOKIE, Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use crate::config::LoadPolicy;
use crate::cookies::RawCookies;
use crate::metrics::{store_call, StoreOp};
use crate::session::{Engine, Session};
use crate::store::StoreFuture;

/// Middleware that keeps a [`Session`] in a sealed cookie. Made by
/// [`SessionLayer`](super::SessionLayer).
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    engine: Arc<Engine>,
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService")
            .field("cookie", &self.engine.cookie.name)
            .finish_non_exhaustive()
    }
}

impl<S> SessionService<S> {
    pub(crate) fn new(inner: S, engine: Arc<Engine>) -> Self {
        SessionService { inner, engine }
    }

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

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for SessionService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        // Installed again inside a layer with the same cookie (a sub-router that adds the
        // layer, merged into an app that adds it too): the outer session is the request's
        // session. A second one would send its own `Set-Cookie` of the same name, and the
        // browser keeps only the last, dropping the other's writes.
        let name = &self.engine.cookie.name;
        if let Some(outer) = req.extensions().get::<Session>() {
            if outer.is_for_cookie(name) {
                let outer = outer.clone();
                return ResponseFuture::passthrough(
                    self.inner.call(req),
                    outer,
                    self.engine.clone(),
                );
            }
        }
        // Reference-counted clones of the `Cookie` header values; nothing is parsed yet.
        let mut headers = req.headers().get_all(COOKIE).iter();
        let cookies = headers.next().map(|first| RawCookies {
            first: first.clone(),
            rest: headers.cloned().collect(),
        });
        let session = Session::new(self.engine.clone(), cookies);
        req.extensions_mut().insert(session.clone());
        let engine = self.engine.clone();
        // Server mode, eager loading: the id is checked now (one AEAD open, no store call for a
        // forged id), and the record is loaded before the handler runs. Lazy loading waits for
        // the handler to ask, unless an auth-stamp check needs the session before it runs.
        let eager = self.engine.load == LoadPolicy::Eager || self.engine.revalidate.is_some();
        let load = self
            .engine
            .store
            .as_ref()
            .filter(|_| eager)
            .and_then(|store| {
                let key = session.open_id()?;
                let store = store.clone();
                let load = async move { store.load(&key).await };
                let load: StoreFuture<'static, _> = Box::pin(store_call(StoreOp::Load, load));
                Some(load)
            });
        // The ready service goes into the future; a clone stays for the next call.
        let take_ready = |inner: &mut S| {
            let clone = inner.clone();
            std::mem::replace(inner, clone)
        };
        if let Some(load) = load {
            return ResponseFuture::loading(
                load,
                take_ready(&mut self.inner),
                req,
                session,
                engine,
            );
        }
        // Client mode (or no record to load): an auth-stamp check, if one is due, is awaited
        // before the handler runs.
        let check = (self.engine.revalidate.as_ref()).and_then(|r| session.stamp_check(r));
        match check {
            Some(check) => {
                ResponseFuture::validating(check, take_ready(&mut self.inner), req, session, engine)
            }
            None => ResponseFuture::inner(self.inner.call(req), session, engine),
        }
    }
}
