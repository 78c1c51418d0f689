//! [`SessionService`]: puts a [`Session`] into each request and hands the response to
//! [`ResponseFuture`].

use std::sync::Arc;
use std::task::{Context, Poll};

use http::{header::COOKIE, HeaderValue, Request, Response};
use tower_service::Service;

use super::future::ResponseFuture;
use super::layer::Shared;
use crate::cookies;
use crate::session::{Candidates, Loader, Session};

/// Middleware that keeps a [`Session`] in a sealed cookie. Made by
/// [`SessionLayer`](super::SessionLayer).
#[derive(Clone)]
pub struct SessionService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> std::fmt::Debug for SessionService<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionService")
            .field("cookie", &self.shared.cookie.name)
            .finish_non_exhaustive()
    }
}

impl<S> SessionService<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        SessionService { inner, shared }
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

/// Our cookie's candidate values in the `Cookie` headers.
fn candidates<'a>(
    shared: &Shared,
    headers: impl IntoIterator<Item = &'a HeaderValue>,
) -> Candidates {
    let c = &shared.cookie;
    let found = cookies::find(
        headers.into_iter().map(HeaderValue::as_bytes),
        &c.name,
        c.max_chunks,
        c.max_line,
    );
    Candidates {
        values: found.candidates,
        rejected: found.rejected,
        present: found.present,
    }
}

fn loader(shared: &Arc<Shared>, headers: Vec<HeaderValue>) -> Loader {
    let shared = shared.clone();
    Box::new(move || candidates(&shared, &headers))
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
        let shared = self.shared.clone();
        if let Some(store) = &shared.engine.store {
            // Server mode: the id is checked now (one AEAD open, no store call for a forged
            // id), and the record is loaded before the handler runs.
            let found = candidates(&shared, req.headers().get_all(COOKIE));
            let (session, key) = Session::new_server(shared.engine.clone(), &found);
            req.extensions_mut().insert(session.clone());
            return match key {
                Some(key) => {
                    let store = store.clone();
                    let load = Box::pin(async move { store.load(&key).await });
                    // The ready service goes into the future; a clone stays for the next call.
                    let clone = self.inner.clone();
                    let inner = std::mem::replace(&mut self.inner, clone);
                    ResponseFuture::loading(load, inner, req, session, shared)
                }
                None => ResponseFuture::inner(self.inner.call(req), session, shared),
            };
        }
        let mut cookie_headers = req.headers().get_all(COOKIE).iter().peekable();
        let loader = cookie_headers
            .peek()
            .is_some()
            .then(|| loader(&self.shared, cookie_headers.cloned().collect()));
        let session = Session::new(self.shared.engine.clone(), loader);
        req.extensions_mut().insert(session.clone());
        ResponseFuture::inner(self.inner.call(req), session, shared)
    }
}
