//! [`ResponseFuture`] of [`TowerSessionsService`](super::TowerSessionsService).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_service::Service;

use tower_sessions_core::session::Error;
use tower_sessions_core::session_store::Error as StoreError;

use super::bridge::{from_tower, Attached};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pin_project! {
    /// Response future of [`TowerSessionsService`](super::TowerSessionsService): the inner
    /// service, then, when the handler changed the tower-sessions session, its save into the
    /// request's sealed-session session.
    pub struct ResponseFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        kind: Kind<S, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, B>
    where
        S: Service<Request<B>>,
    {
        Inner {
            #[pin]
            fut: S::Future,
            attached: Option<Attached>,
        },
        Saving {
            save: BoxFuture<Result<(), tower_sessions_core::session::Error>>,
            res: Option<S::Response>,
        },
        Failed,
    }
}

impl<S, B> ResponseFuture<S, B>
where
    S: Service<Request<B>>,
{
    pub(super) fn inner(fut: S::Future, attached: Attached) -> Self {
        ResponseFuture {
            kind: Kind::Inner {
                fut,
                attached: Some(attached),
            },
        }
    }

    pub(super) fn failed() -> Self {
        ResponseFuture { kind: Kind::Failed }
    }
}

fn error_response<B: Default>(status: StatusCode) -> Response<B> {
    let mut res = Response::new(B::default());
    *res.status_mut() = status;
    res
}

/// The 500 of a [`TowerSessionsLayer`](super::TowerSessionsLayer) with no `Session` in the
/// request: its body says where the layer goes (a newcomer may have no `tracing` subscriber
/// to show the log line), as the 500s of a missing `SessionLayer` and a misplaced `CsrfLayer`
/// do.
fn no_session_response<B: From<&'static str>>() -> Response<B> {
    let mut res = Response::new(B::from(
        "sealed-session: TowerSessionsLayer needs a Session; put it inside SessionLayer: \
         `ServiceBuilder::new().layer(session_layer).layer(TowerSessionsLayer::new())`, or on \
         an axum Router `.layer(TowerSessionsLayer::new()).layer(session_layer)` (there the \
         last `.layer` is the outermost)",
    ));
    *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

impl<S, B, ResBody> Future for ResponseFuture<S, B>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: Default + From<&'static str>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.kind.as_mut().project() {
                KindProj::Inner { fut, attached } => {
                    let res = ready!(fut.poll(cx))?;
                    let Some(a) = attached.take() else {
                        return Poll::Ready(Ok(res));
                    };
                    match finish(a, res.status()) {
                        None => return Poll::Ready(Ok(res)),
                        Some(save) => Kind::Saving {
                            save,
                            res: Some(res),
                        },
                    }
                }
                KindProj::Saving { save, res } => {
                    let saved = ready!(save.as_mut().poll(cx));
                    if let Err(e) = saved {
                        tracing::error!(error = %e, "failed to save the tower-sessions session");
                        return Poll::Ready(Ok(error_response(StatusCode::INTERNAL_SERVER_ERROR)));
                    }
                    return Poll::Ready(Ok(res
                        .take()
                        .unwrap_or_else(|| error_response(StatusCode::INTERNAL_SERVER_ERROR))));
                }
                KindProj::Failed => return Poll::Ready(Ok(no_session_response())),
            };
            this.kind.set(next);
        }
    }
}

/// What tower-sessions' own layer does once the handler is done, onto the request's
/// [`Session`]: nothing if unchanged, or if it is left empty (a `flush` already ended ours,
/// in the handler's order: see the bridge's `delete`; a fresh session tower-sessions only
/// touched has nothing of its own to save, and native values written in the request stay);
/// nothing either if the handler failed (5xx); otherwise its record is saved (boxed: the only
/// await) and an expiry it changed is carried over.
fn finish(
    a: Attached,
    status: StatusCode,
) -> Option<BoxFuture<Result<(), tower_sessions_core::session::Error>>> {
    if !a.ts.is_modified() || status.is_server_error() {
        return None;
    }
    Some(Box::pin(async move {
        if a.ts.is_empty().await {
            return Ok(());
        }
        let expiry = a.ts.expiry();
        if expiry != a.initial {
            // Server mode with `load = "lazy"`: the choice goes into the loaded session.
            a.session
                .load()
                .await
                .map_err(|e| Error::Store(StoreError::Backend(e.to_string())))?;
            a.session.set_session_expiry(from_tower(expiry));
        }
        a.ts.save().await
    }))
}
