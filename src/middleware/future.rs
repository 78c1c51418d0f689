//! [`ResponseFuture`]: loads the record first in server mode, awaits the auth-stamp check when
//! one is due, runs the inner service, then writes the session back (store calls, then
//! `Set-Cookie`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use http::header::GetAll;
use http::header::{CACHE_CONTROL, SET_COOKIE, VARY};
use http::{HeaderMap, HeaderName, HeaderValue, Request, Response, StatusCode};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::OversizePolicy;
use crate::cookies::ChunkSet;
use crate::error::StoreError;
use crate::metrics::{self, StoreOp};
use crate::session::{
    write, CookieOp, Engine, Outcome, Session, StampCheck, StampFuture, StoreOps, Written,
};
use crate::store::StoreFuture;

pin_project! {
    /// Response future of [`SessionService`](super::SessionService).
    ///
    /// In client mode it only wraps the inner future. In server mode it first awaits the
    /// store's load (boxed: the store call alone, never the inner future), and after the
    /// inner service answered, the store's save or delete. With
    /// [`SessionLayer::revalidate`](super::SessionLayer::revalidate), a due auth-stamp check
    /// is awaited before the inner service is called (boxed: the validator's call alone).
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        kind: Kind<S, ReqBody>,
        session: Session,
        engine: Arc<Engine>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Loading {
            load: StoreFuture<'static, Option<Vec<u8>>>,
            service: Option<S>,
            req: Option<Request<ReqBody>>,
        },
        Validating {
            current: StampFuture,
            user: String,
            service: Option<S>,
            req: Option<Request<ReqBody>>,
        },
        Inner {
            #[pin]
            fut: S::Future,
        },
        /// A layer with the same cookie outside this one owns the session: the inner
        /// service's response, as it is.
        Passthrough {
            #[pin]
            fut: S::Future,
        },
        Saving {
            save: StoreFuture<'static, Written>,
            res: Option<S::Response>,
            cookie: Option<CookieOp>,
            present: ChunkSet,
        },
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(fut: S::Future, session: Session, engine: Arc<Engine>) -> Self {
        ResponseFuture {
            kind: Kind::Inner { fut },
            session,
            engine,
        }
    }

    /// The inner future alone: `session` is an outer layer's, which finishes it.
    pub(crate) fn passthrough(fut: S::Future, session: Session, engine: Arc<Engine>) -> Self {
        ResponseFuture {
            kind: Kind::Passthrough { fut },
            session,
            engine,
        }
    }

    pub(crate) fn validating(
        check: StampCheck,
        service: S,
        req: Request<ReqBody>,
        session: Session,
        engine: Arc<Engine>,
    ) -> Self {
        ResponseFuture {
            kind: Kind::Validating {
                current: check.current,
                user: check.user,
                service: Some(service),
                req: Some(req),
            },
            session,
            engine,
        }
    }

    pub(crate) fn loading(
        load: StoreFuture<'static, Option<Vec<u8>>>,
        service: S,
        req: Request<ReqBody>,
        session: Session,
        engine: Arc<Engine>,
    ) -> Self {
        ResponseFuture {
            kind: Kind::Loading {
                load,
                service: Some(service),
                req: Some(req),
            },
            session,
            engine,
        }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: Default,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.kind.as_mut().project() {
                KindProj::Loading { load, service, req } => {
                    let loaded = ready!(load.as_mut().poll(cx));
                    let (Some(mut service), Some(req)) = (service.take(), req.take()) else {
                        // Polled again after completion: nothing left to do.
                        return Poll::Ready(Ok(unavailable()));
                    };
                    match loaded {
                        Ok(record) => {
                            this.engine.health.answered();
                            this.session.apply_record(record);
                            let check = this.engine.revalidate.as_ref();
                            if let Some(check) = check.and_then(|r| this.session.stamp_check(r)) {
                                this.kind.set(Kind::Validating {
                                    current: check.current,
                                    user: check.user,
                                    service: Some(service),
                                    req: Some(req),
                                });
                            } else {
                                let fut = service.call(req);
                                this.kind.set(Kind::Inner { fut });
                            }
                        }
                        Err(e) => return Poll::Ready(Ok(store_failed(this.engine, &e))),
                    }
                }
                KindProj::Validating {
                    current,
                    user,
                    service,
                    req,
                } => {
                    let current = ready!(current.as_mut().poll(cx));
                    let (Some(mut service), Some(req)) = (service.take(), req.take()) else {
                        return Poll::Ready(Ok(unavailable()));
                    };
                    match current {
                        Ok(current) => {
                            this.session.apply_stamp_check(user, current.as_deref());
                            let fut = service.call(req);
                            this.kind.set(Kind::Inner { fut });
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "auth stamp validator failed; answering 503");
                            return Poll::Ready(Ok(unavailable()));
                        }
                    }
                }
                KindProj::Passthrough { fut } => return fut.poll(cx),
                KindProj::Inner { fut } => {
                    let res = ready!(fut.poll(cx))?;
                    let failed = res.status().is_server_error();
                    let outcome = match this.session.finish(failed) {
                        None => return Poll::Ready(Ok(res)),
                        Some(Ok(o)) => o,
                        Some(Err(e)) => {
                            tracing::error!(error = %e, "could not seal the session");
                            return Poll::Ready(Ok(server_error()));
                        }
                    };
                    let Outcome {
                        cookie,
                        store,
                        present,
                    } = outcome;
                    match store {
                        None => {
                            return Poll::Ready(Ok(write_back(this.engine, res, cookie, present)))
                        }
                        Some(ops) => this.kind.set(Kind::Saving {
                            save: run_store_ops(ops),
                            res: Some(res),
                            cookie: Some(cookie),
                            present,
                        }),
                    }
                }
                KindProj::Saving {
                    save,
                    res,
                    cookie,
                    present,
                } => {
                    let saved = ready!(save.as_mut().poll(cx));
                    let (Some(res), Some(cookie)) = (res.take(), cookie.take()) else {
                        return Poll::Ready(Ok(unavailable()));
                    };
                    return Poll::Ready(Ok(match saved {
                        Ok(written) => {
                            this.engine.health.answered();
                            write_back(this.engine, res, cookie.after(&written), *present)
                        }
                        Err(e) => store_failed(this.engine, &e),
                    }));
                }
            }
        }
    }
}

/// Saves (merging onto a record written meanwhile), then deletes the retired records: one
/// boxed future for the store calls alone.
///
/// In that order, a login (`cycle` and a write) that fails or is cut off between the two
/// calls (a store error, a client that hangs up) leaves the old session as it was, and at
/// worst a new record no cookie names, which expires. Deleting first lost the session
/// (`a_login_whose_new_record_fails_to_save_keeps_the_old_session`). The record saved and
/// the ones deleted are never the same: a retired id is never issued again.
fn run_store_ops(ops: StoreOps) -> StoreFuture<'static, Written> {
    Box::pin(async move {
        let written = match ops.save {
            Some(save) => write(&*ops.store, save).await?,
            None => Written::Deleted,
        };
        for key in &ops.delete {
            metrics::store_call(StoreOp::Delete, ops.store.delete(key)).await?;
        }
        Ok(written)
    })
}

fn status<B: Default>(status: StatusCode) -> Response<B> {
    let mut res = Response::new(B::default());
    *res.status_mut() = status;
    res
}

fn server_error<B: Default>() -> Response<B> {
    status(StatusCode::INTERNAL_SERVER_ERROR)
}

fn unavailable<B: Default>() -> Response<B> {
    let mut res = status(StatusCode::SERVICE_UNAVAILABLE);
    mark_private(res.headers_mut());
    res
}

/// A store failure is never an empty session: the request is answered 503, and logged (an
/// outage once, not per request).
fn store_failed<B: Default>(engine: &Engine, e: &StoreError) -> Response<B> {
    engine.health.failed(e);
    unavailable()
}

fn write_back<B: Default>(
    engine: &Engine,
    mut res: Response<B>,
    cookie: CookieOp,
    present: ChunkSet,
) -> Response<B> {
    let headers = res.headers_mut();
    // Room for the usual additions (a `Set-Cookie`, `Vary`, `Cache-Control`) in one growth
    // instead of two. A map at its size limit is left as it is: `append` below meets the
    // condition as it did before this reservation.
    let _ = headers.try_reserve(3);
    let mut emit = |line| {
        headers.append(SET_COOKIE, line);
    };
    match cookie {
        CookieOp::Keep => {}
        CookieOp::Remove => engine.cookie.remove(present, emit),
        CookieOp::Set { value, lifetime } => {
            if let Err(too_large) = engine.cookie.set(&value, lifetime, present, &mut emit) {
                tracing::error!(
                    needed = too_large.needed,
                    max = too_large.max,
                    "session does not fit in the cookies (`max_chunks` × `max_cookie_len`, at most 64 KiB in all); store less in the session, raise `max_chunks` if below that, or use server mode"
                );
                if engine.oversize == OversizePolicy::Fail {
                    res = server_error();
                }
            }
        }
    }
    let headers = res.headers_mut();
    mark_private(headers);
    res
}

/// `Vary: Cookie` and `Cache-Control: private`: a response that depends on a session must
/// not be served to another user from a shared cache.
///
/// The handler's `Cache-Control` is merged, never weakened (RFC 9111 §5.2.2):
/// - with `no-store` or a bare `private` it is left exactly as it is (nothing is stored, or
///   only by the browser);
/// - otherwise `private` is added to the handler's directives, and only those that would let a
///   shared cache store the response are dropped: `public`, `s-maxage`, and the qualified
///   `private="…"` (which lets a shared cache keep the rest of the response). `no-cache`,
///   `max-age=0`, `must-revalidate` and the like stay. Several header lines become one;
/// - a value that is not visible ASCII cannot be merged safely: it becomes
///   `private, no-store`, which is stricter than anything it could have said.
///
/// The CDN-targeted fields a handler set ([`TARGETED`]) are merged the same way (a CDN is a
/// shared cache, so `private` keeps it from storing): RFC 9213 §2.1, a cache that obeys a
/// targeted field ignores `Cache-Control`, so `private` there alone would not reach it. Absent
/// ones are not added.
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
    if let Some(merged) = merge_cache_control(headers) {
        headers.insert(CACHE_CONTROL, merged);
    }
    // Looked for by a scan of the names the response has (a few), not by two lookups that
    // parse and hash each name: those cost ≈ 600 instructions on every response.
    if headers.keys().any(|k| TARGETED.contains(k)) {
        for name in TARGETED {
            if headers.contains_key(&name) {
                if let Some(merged) = merge_directives(headers.get_all(&name)) {
                    headers.insert(name, merged);
                }
            }
        }
    }
}

/// The CDN-targeted cache fields (RFC 9213) a CDN obeys instead of `Cache-Control`: the
/// standard one, and Cloudflare's own (which Cloudflare obeys before `CDN-Cache-Control`).
const TARGETED: [HeaderName; 2] = [
    HeaderName::from_static("cdn-cache-control"),
    HeaderName::from_static("cloudflare-cdn-cache-control"),
];

/// The `Cache-Control` value to set instead of the handler's, or `None` to keep the handler's.
fn merge_cache_control(headers: &HeaderMap) -> Option<HeaderValue> {
    if !headers.contains_key(CACHE_CONTROL) {
        // What the merge below gives for no directives, without building it.
        return Some(HeaderValue::from_static("private"));
    }
    merge_directives(headers.get_all(CACHE_CONTROL))
}

/// The value that says what the handler's `values` (cache directives) said plus `private`,
/// or `None` when they already keep every shared cache from storing (see [`mark_private`]).
fn merge_directives(values: GetAll<'_, HeaderValue>) -> Option<HeaderValue> {
    let mut kept: Vec<&str> = Vec::new();
    for value in values {
        let Ok(value) = value.to_str() else {
            return Some(HeaderValue::from_static("private, no-store"));
        };
        for directive in directives(value) {
            let name = directive
                .split_once('=')
                .map_or(directive, |(n, _)| n)
                .trim_end();
            let qualified = directive.len() != name.len();
            let is = |n: &str| name.eq_ignore_ascii_case(n);
            if is("no-store") || (is("private") && !qualified) {
                return None;
            }
            if !(is("public") || is("s-maxage") || is("private")) {
                kept.push(directive);
            }
        }
    }
    kept.push("private");
    // Pieces of visible-ASCII values joined by ", ": valid. Were it not, fail closed.
    Some(
        HeaderValue::from_str(&kept.join(", "))
            .unwrap_or(HeaderValue::from_static("private, no-store")),
    )
}

/// The comma-separated directives of one `Cache-Control` value, trimmed and non-empty; a comma
/// inside a quoted string (`private="A, B"`) does not separate.
fn directives(value: &str) -> impl Iterator<Item = &str> {
    let mut rest = value;
    std::iter::from_fn(move || loop {
        if rest.is_empty() {
            return None;
        }
        let (mut quoted, mut escaped, mut end) = (false, false, rest.len());
        for (i, c) in rest.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                ',' if !quoted => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        let directive = rest[..end].trim();
        rest = rest.get(end + 1..).unwrap_or("");
        if !directive.is_empty() {
            return Some(directive);
        }
    })
}
