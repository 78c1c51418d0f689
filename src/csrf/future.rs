//! [`CsrfFuture`], the response future of [`CsrfService`](super::CsrfService).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::Bytes;
use http::request::Parts;
use http::{Request, Response};
use http_body::Body;
use http_body_util::combinators::Collect;
use http_body_util::{LengthLimitError, Limited};
use pin_project_lite::pin_project;
use tower_service::Service;

use http_body_util::BodyExt as _;

use super::refusal::{BoxError, Refusal};
use super::{check_form, decide, CsrfBody, Decision};
use crate::error::StoreError;
use crate::session::Session;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

pin_project! {
    /// Response future of [`CsrfService`](super::CsrfService): the session's record being
    /// loaded (server mode with `load = "lazy"`, unsafe requests only), the form body being
    /// read (only for a urlencoded form without the header), then the inner future; or a
    /// ready refusal.
    pub struct CsrfFuture<S, B>
    where
        S: Service<Request<CsrfBody<B>>>,
        B: Body,
        B::Error: Into<BoxError>,
    {
        #[pin]
        kind: Kind<S, B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, B>
    where
        S: Service<Request<CsrfBody<B>>>,
        B: Body,
        B::Error: Into<BoxError>,
    {
        Loading {
            load: BoxFuture<Result<(), StoreError>>,
            rest: Option<(Request<B>, S, usize)>,
        },
        Reading {
            #[pin]
            collect: Collect<Limited<B>>,
            rest: Option<(Parts, S)>,
        },
        Inner {
            #[pin]
            fut: S::Future,
        },
        Refused {
            res: Option<S::Response>,
        },
    }
}

impl<S, B> CsrfFuture<S, B>
where
    S: Service<Request<CsrfBody<B>>>,
    B: Body,
    B::Error: Into<BoxError>,
{
    pub(super) fn inner(fut: S::Future) -> Self {
        CsrfFuture {
            kind: Kind::Inner { fut },
        }
    }

    pub(super) fn refused(res: S::Response) -> Self {
        CsrfFuture {
            kind: Kind::Refused { res: Some(res) },
        }
    }

    /// Loads the session of `req` (server mode, lazy), then goes on as the layer would have.
    pub(super) fn loading(req: Request<B>, inner: S, max_form_bytes: usize) -> Self {
        let session = req.extensions().get::<Session>().cloned();
        let load: BoxFuture<Result<(), StoreError>> = Box::pin(async move {
            match session {
                Some(session) => session.load().await,
                None => Ok(()),
            }
        });
        CsrfFuture {
            kind: Kind::Loading {
                load,
                rest: Some((req, inner, max_form_bytes)),
            },
        }
    }

    pub(super) fn reading(collect: Collect<Limited<B>>, parts: Parts, inner: S) -> Self {
        CsrfFuture {
            kind: Kind::Reading {
                collect,
                rest: Some((parts, inner)),
            },
        }
    }
}

impl<S, B, ResBody> Future for CsrfFuture<S, B>
where
    S: Service<Request<CsrfBody<B>>, Response = Response<ResBody>>,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
    ResBody: From<&'static str>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let next = match this.kind.as_mut().project() {
                KindProj::Inner { fut } => return fut.poll(cx),
                KindProj::Refused { res } => {
                    return Poll::Ready(Ok(res.take().unwrap_or_else(|| Refusal::Spent.response())))
                }
                KindProj::Loading { load, rest } => {
                    let loaded = ready!(load.as_mut().poll(cx));
                    let Some((req, mut inner, max)) = rest.take() else {
                        return Poll::Ready(Ok(Refusal::Spent.response()));
                    };
                    match loaded.map(|()| decide(&req, max)) {
                        Err(_) => Kind::Refused {
                            res: Some(Refusal::StoreUnavailable.response()),
                        },
                        Ok(Decision::Pass) => Kind::Inner {
                            fut: inner.call(req.map(CsrfBody::streaming)),
                        },
                        Ok(Decision::Refuse(refusal)) => Kind::Refused {
                            res: Some(refusal.response()),
                        },
                        Ok(Decision::ReadForm) => {
                            let (parts, body) = req.into_parts();
                            Kind::Reading {
                                collect: Limited::new(body, max).collect(),
                                rest: Some((parts, inner)),
                            }
                        }
                    }
                }
                KindProj::Reading { collect, rest } => {
                    let read = ready!(collect.poll(cx));
                    let Some((parts, mut inner)) = rest.take() else {
                        return Poll::Ready(Ok(Refusal::Spent.response()));
                    };
                    match read {
                        Ok(collected) => {
                            let bytes = collected.to_bytes();
                            let verdict = match parts.extensions.get::<Session>() {
                                Some(session) => check_form(&bytes, session).map_err(Refusal::Csrf),
                                None => Err(Refusal::NoSession),
                            };
                            match verdict {
                                Ok(()) => Kind::Inner {
                                    fut: inner.call(Request::from_parts(
                                        parts,
                                        CsrfBody::buffered(bytes),
                                    )),
                                },
                                Err(refusal) => Kind::Refused {
                                    res: Some(refusal.response()),
                                },
                            }
                        }
                        Err(e) => {
                            let refusal = if e.downcast_ref::<LengthLimitError>().is_some() {
                                Refusal::TooLarge
                            } else {
                                Refusal::Unreadable(e)
                            };
                            Kind::Refused {
                                res: Some(refusal.response()),
                            }
                        }
                    }
                }
            };
            this.kind.set(next);
        }
    }
}
