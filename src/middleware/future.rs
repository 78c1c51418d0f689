//! [`ResponseFuture`]: writes the session back (or not) once the inner service answered.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use pin_project_lite::pin_project;

use super::layer::{OversizePolicy, Shared};
use crate::session::{Outcome, Session};

pin_project! {
    /// Response future of [`SessionService`](super::SessionService).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        session: Session,
        shared: Arc<Shared>,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, session: Session, shared: Arc<Shared>) -> Self {
        ResponseFuture {
            inner,
            session,
            shared,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: Default,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let res = ready!(this.inner.poll(cx))?;
        Poll::Ready(Ok(write_back(this.session, this.shared, res)))
    }
}

fn server_error<B: Default>() -> Response<B> {
    let mut res = Response::new(B::default());
    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    res
}

fn write_back<B: Default>(session: &Session, shared: &Shared, mut res: Response<B>) -> Response<B> {
    let (outcome, accessed, present) = session.finish();
    if !accessed {
        return res;
    }
    let lines = match outcome {
        Outcome::Untouched | Outcome::Unchanged => Vec::new(),
        Outcome::Remove => shared.cookie.remove(present),
        Outcome::Set { value, max_age } => match shared.cookie.set(&value, max_age, present) {
            Ok(lines) => lines,
            Err(too_large) => {
                tracing::error!(
                    needed = too_large.needed,
                    max = too_large.max,
                    "session does not fit in `max_chunks` cookies; store less in the session, raise `max_chunks`, or use server mode"
                );
                if shared.oversize == OversizePolicy::Fail {
                    res = server_error();
                }
                Vec::new()
            }
        },
        Outcome::Failed(e) => {
            tracing::error!(error = %e, "could not seal the session");
            res = server_error();
            Vec::new()
        }
    };
    let headers = res.headers_mut();
    for line in lines {
        headers.append(SET_COOKIE, line);
    }
    mark_private(headers);
    res
}

/// `Vary: Cookie` and `Cache-Control: private`: a response that depends on a session must
/// not be served to another user from a shared cache.
fn mark_private(headers: &mut HeaderMap) {
    let varies = headers.get_all(VARY).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',')
                .any(|t| t.trim() == "*" || t.trim().eq_ignore_ascii_case("cookie"))
        })
    });
    if !varies {
        headers.append(VARY, HeaderValue::from_static("Cookie"));
    }
    let private = headers.get_all(CACHE_CONTROL).iter().any(|v| {
        v.to_str().is_ok_and(|v| {
            v.split(',').any(|t| {
                let t = t.trim();
                t.eq_ignore_ascii_case("private") || t.eq_ignore_ascii_case("no-store")
            })
        })
    });
    if !private {
        // A `public` or `s-maxage` directive would let a shared cache store it: replace.
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("private"));
    }
}
