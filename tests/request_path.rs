//! The request/response path as a web developer meets it, driven through the real layer with
//! `tower::ServiceExt::oneshot`: request cookies the layer must read past, and what a response
//! commits.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use sealed_session::{Session, SessionLayer};
use tower::{service_fn, Layer, ServiceExt};

use common::http::config;
use common::Mode;

type Body = Full<Bytes>;

/// The visit counter; `/fail` counts too, then answers 500 (a handler whose work failed after
/// it wrote the session, or a panic turned into a 500 by a `CatchPanic` inside the layer);
/// `/logout-fail` ends the session, then answers 500; `/logout-write-fail` ends it, writes to
/// the new one (a "logged out" notice), then answers 500.
async fn app(req: Request<Body>) -> Result<Response<Body>, Infallible> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
    session.insert("visit_count", &count).unwrap();
    if req.uri().path() == "/logout-fail" {
        session.flush();
    }
    if req.uri().path() == "/logout-write-fail" {
        session.flush();
        session.insert("notice", "logged out").unwrap();
    }
    let mut res = Response::new(Full::new(Bytes::from(count.to_string())));
    if req.uri().path() != "/" {
        *res.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    }
    Ok(res)
}

/// Sends one request with exactly this `Cookie` header (or none): the status, the body, and
/// the `name=value` of each `Set-Cookie`.
async fn send(layer: &SessionLayer, path: &str, cookie: Option<HeaderValue>) -> Sent {
    let mut req = Request::builder().uri(path);
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, cookie);
    }
    let req = req.body(Body::default()).unwrap();
    let res = layer.layer(service_fn(app)).oneshot(req).await.unwrap();
    let cookies = res
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| {
            let line = v.to_str().unwrap();
            line.split(';').next().unwrap().to_owned()
        })
        .collect();
    let status = res.status();
    let body = http_body_util::BodyExt::collect(res.into_body())
        .await
        .unwrap()
        .to_bytes();
    Sent {
        status,
        body: String::from_utf8(body.to_vec()).unwrap(),
        cookies,
    }
}

struct Sent {
    status: StatusCode,
    body: String,
    /// `name=value` of each `Set-Cookie`.
    cookies: Vec<String>,
}

/// A sibling application on the same site (a legacy app writing Latin-1, say) may leave a
/// cookie whose value is not UTF-8; browsers send it in the same `Cookie` header as ours.
/// Our cookie is still found: only the foreign cookie is unreadable.
async fn a_foreign_cookie_with_non_utf8_bytes_does_not_hide_the_session(mode: Mode) {
    let layer = mode.layer(SessionLayer::new(config("")).unwrap());
    let first = send(&layer, "/", None).await;
    assert_eq!(first.body, "1");
    let mut ours = first.cookies[0].clone();
    for (n, foreign_first) in [(2, true), (3, false)] {
        let (ours_b, foreign) = (ours.as_bytes(), &b"legacy=caf\xe9"[..]);
        let header = if foreign_first {
            [foreign, b"; ", ours_b].concat()
        } else {
            [ours_b, b"; ", foreign].concat()
        };
        let cookie = HeaderValue::from_bytes(&header).unwrap();
        let r = send(&layer, "/", Some(cookie)).await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(
            r.body,
            n.to_string(),
            "{}",
            String::from_utf8_lossy(&header)
        );
        ours.clone_from(&r.cookies[0]);
    }
}

/// A 5xx says the handler's work did not complete: what it wrote to the session before
/// failing is not committed (Django's `SessionMiddleware` skips the save on 5xx for the same
/// reason). Otherwise a half-done request (a panic caught by `CatchPanic` inside the layer, a
/// `?` on a failed payment after `session.insert("paid", ..)`) leaves a session that claims the
/// work was done; and the same panic caught *outside* the layer commits nothing.
async fn a_5xx_response_does_not_commit_the_sessions_changes(mode: Mode) {
    let layer = mode.layer(SessionLayer::new(config("")).unwrap());
    let first = send(&layer, "/", None).await;
    let ours = HeaderValue::from_str(&first.cookies[0]).unwrap();
    let failed = send(&layer, "/fail", Some(ours.clone())).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(failed.body, "2");
    // The next request with the cookie the browser holds after the 500 (ours, unless the 500
    // replaced it) sees the session as it was before the failed request.
    let held = failed
        .cookies
        .first()
        .map_or(ours, |c| HeaderValue::from_str(c).unwrap());
    assert_eq!(send(&layer, "/", Some(held)).await.body, "2");
}

/// The other half of not committing a 5xx: a session the handler ended (`flush`, a logout
/// whose page then failed to render) still ends; the user is not left logged in.
async fn a_logout_that_answers_5xx_still_ends_the_session(mode: Mode) {
    let layer = mode.layer(SessionLayer::new(config("")).unwrap());
    let first = send(&layer, "/", None).await;
    let ours = HeaderValue::from_str(&first.cookies[0]).unwrap();
    let failed = send(&layer, "/logout-fail", Some(ours.clone())).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(failed.cookies, ["__Host-session="]);
    // Even a browser that kept the old cookie starts over (server mode: the record is gone).
    if mode == Mode::Memory {
        assert_eq!(send(&layer, "/", Some(ours)).await.body, "1");
    }
}

/// A logout that writes to the session it starts (a flash saying "logged out") and then
/// fails still logs out: the new values are not saved (5xx), and the old session must not
/// be kept either.
async fn a_logout_that_writes_then_answers_5xx_still_ends_the_session(mode: Mode) {
    let layer = mode.layer(SessionLayer::new(config("")).unwrap());
    let first = send(&layer, "/", None).await;
    let ours = HeaderValue::from_str(&first.cookies[0]).unwrap();
    let failed = send(&layer, "/logout-write-fail", Some(ours.clone())).await;
    assert_eq!(failed.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(failed.cookies, ["__Host-session="]);
    if mode == Mode::Memory {
        assert_eq!(send(&layer, "/", Some(ours)).await.body, "1");
    }
}

/// A `Session` clone kept past the response (a spawned task, a streaming body rendering a
/// form with `csrf_token`) can still be written, but the write can no longer reach the client
/// or the store. It is lost either way; it must not be lost silently: the crate logs an error
/// that says what happened.
async fn a_write_after_the_response_was_sent_is_logged_as_lost(mode: Mode) {
    // `both_modes!` runs each test on a current-thread runtime: the spawned task below runs
    // on this thread, under this subscriber.
    let (logs, _guard) = common::logs::capture_here();
    let layer = mode.layer(SessionLayer::new(config("")).unwrap());
    let (go, wait) = tokio::sync::oneshot::channel::<()>();
    let (task_tx, task_rx) = tokio::sync::oneshot::channel();
    let wait = std::sync::Arc::new(std::sync::Mutex::new(Some(wait)));
    let task_tx = std::sync::Arc::new(std::sync::Mutex::new(Some(task_tx)));
    let svc = layer.layer(service_fn(move |req: Request<Body>| {
        let session = req.extensions().get::<Session>().unwrap().clone();
        session.insert("visit_count", &1u64).unwrap();
        let wait = wait.lock().unwrap().take().unwrap();
        let task = tokio::spawn(async move {
            wait.await.unwrap();
            session.insert("late", "lost").unwrap();
        });
        task_tx.lock().unwrap().take().unwrap().send(task).unwrap();
        async { Ok::<_, Infallible>(Response::new(Body::default())) }
    }));
    let res = svc.oneshot(Request::new(Body::default())).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(logs.at("ERROR").is_empty(), "{}", logs.text());
    go.send(()).unwrap();
    task_rx.await.unwrap().await.unwrap();
    let errors = logs.at("ERROR");
    assert_eq!(errors.len(), 1, "{}", logs.text());
    assert!(errors[0].contains("after its response"), "{}", logs.text());
}

/// RFC 9213 §2.1: a CDN that finds a `CDN-Cache-Control` field (or its own targeted field,
/// such as Cloudflare's `Cloudflare-CDN-Cache-Control`) obeys it and ignores `Cache-Control`.
/// The `private` the layer adds to `Cache-Control` then keeps no CDN from storing a page built
/// from one user's session (and, behind some CDNs, its `Set-Cookie`) and serving it to others:
/// the targeted fields a handler set are merged as `Cache-Control` is.
async fn a_cdn_targeted_cache_field_cannot_make_a_session_response_shared(mode: Mode) {
    let layer = mode.layer(SessionLayer::new(config("")).unwrap());
    let svc = layer.layer(service_fn(|req: Request<Body>| async move {
        let session = req.extensions().get::<Session>().unwrap();
        session.insert("user", "ada").unwrap();
        let mut res = Response::new(Body::default());
        let h = res.headers_mut();
        h.insert(
            "cdn-cache-control",
            HeaderValue::from_static("public, max-age=600"),
        );
        h.insert(
            "cloudflare-cdn-cache-control",
            HeaderValue::from_static("s-maxage=600"),
        );
        Ok::<_, Infallible>(res)
    }));
    let res = svc.oneshot(Request::new(Body::default())).await.unwrap();
    assert_eq!(res.headers()[header::CACHE_CONTROL], "private");
    assert_eq!(res.headers()["cdn-cache-control"], "max-age=600, private");
    assert_eq!(res.headers()["cloudflare-cdn-cache-control"], "private");
}

/// The same layer installed twice on one route (a sub-router that adds it, merged into an app
/// that adds it too), with a middleware between them that writes the session (a "last seen"
/// tracker): the handler's write and the middleware's both persist. Two sessions of the same
/// cookie would each send a `Set-Cookie`, and the browser keeps the last one only.
async fn the_same_layer_installed_twice_keeps_every_write(mode: Mode) {
    let layer = mode.layer(SessionLayer::new(config("")).unwrap());
    let handler = service_fn(|req: Request<Body>| async move {
        let session = req.extensions().get::<Session>().unwrap();
        let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
        session.insert("visit_count", &count).unwrap();
        let seen: u64 = session.get("seen").unwrap().unwrap_or(0);
        Ok::<_, Infallible>(Response::new(Body::from(format!("{count} {seen}"))))
    });
    let inner = layer.layer(handler);
    let tracker = tower::service_fn(move |req: Request<Body>| {
        let session = req.extensions().get::<Session>().unwrap();
        let seen: u64 = session.get("seen").unwrap().unwrap_or(0) + 1;
        session.insert("seen", &seen).unwrap();
        inner.clone().oneshot(req)
    });
    let app = layer.layer(tracker);
    let mut cookie: Option<HeaderValue> = None;
    for n in 1..=3 {
        let mut req = Request::builder();
        if let Some(c) = &cookie {
            req = req.header(header::COOKIE, c.clone());
        }
        let res = app
            .clone()
            .oneshot(req.body(Body::default()).unwrap())
            .await
            .unwrap();
        assert!(res.headers().get_all(header::SET_COOKIE).iter().count() <= 1);
        // The browser keeps the last `Set-Cookie` of a name.
        if let Some(last) = res.headers().get_all(header::SET_COOKIE).iter().next_back() {
            let pair = last.to_str().unwrap().split(';').next().unwrap();
            cookie = Some(HeaderValue::from_str(pair).unwrap());
        }
        let body = http_body_util::BodyExt::collect(res.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(body, format!("{n} {n}"), "request {n}");
    }
}

common::both_modes!(
    a_foreign_cookie_with_non_utf8_bytes_does_not_hide_the_session,
    a_5xx_response_does_not_commit_the_sessions_changes,
    a_logout_that_answers_5xx_still_ends_the_session,
    a_logout_that_writes_then_answers_5xx_still_ends_the_session,
    a_write_after_the_response_was_sent_is_logged_as_lost,
    a_cdn_targeted_cache_field_cannot_make_a_session_response_shared,
    the_same_layer_installed_twice_keeps_every_write,
);
