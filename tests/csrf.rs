//! CSRF protection (`CsrfLayer`, `Session::csrf_token`, the axum `Csrf` extractor) through a
//! real hyper server and a client with a cookie jar, in client mode (sealed cookie) and server
//! mode (memory store): missing, wrong, malformed and other-session tokens are refused with
//! 403 and a reason; every masked variant of the session's token is accepted; safe methods
//! pass; `cycle` (login) renews the secret. A proptest checks the same through the public
//! API of detached sessions.

mod common;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use proptest::prelude::*;
use sealed_session::csrf::{CsrfLayer, CSRF_HEADER};
use sealed_session::session::CsrfReject;
use sealed_session::{Session, SessionLayer};
use tower::ServiceBuilder;

use common::http::{config, text, Body, Browser, TestServer};
use common::Mode;

common::both_modes!(
    a_post_without_a_token_is_refused_with_the_reason,
    every_masked_variant_of_the_token_is_accepted,
    wrong_and_malformed_tokens_are_refused,
    a_token_from_another_session_is_refused,
    safe_methods_pass_and_unsafe_ones_need_the_token,
    login_cycle_renews_the_secret,
    the_axum_extractor_refuses_and_accepts_like_the_layer,
);

#[allow(clippy::unused_async)] // an async handler, as the server expects
async fn app(req: Request<Incoming>) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    match (req.method().clone(), req.uri().path()) {
        (Method::GET, "/form") => text(StatusCode::OK, session.csrf_token().unwrap()),
        (Method::POST, "/login") => {
            session.cycle();
            session.insert("user", "ada").unwrap();
            text(StatusCode::OK, "logged in")
        }
        (_, "/anything") => text(StatusCode::OK, format!("{} ok", req.method())),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

async fn server(mode: Mode) -> TestServer {
    let layer = SessionLayer::new(config("")).unwrap();
    let layer = mode.layer(layer);
    let svc = ServiceBuilder::new()
        .layer(layer)
        .layer(CsrfLayer::new())
        .service_fn(|req| async move { Ok::<_, std::convert::Infallible>(app(req).await) });
    TestServer::serve(svc).await
}

async fn post(b: &mut Browser, path: &str, token: Option<&str>) -> common::http::Reply {
    match token {
        Some(t) => {
            b.request_with(Method::POST, path, &[(CSRF_HEADER, t)])
                .await
        }
        None => b.post(path).await,
    }
}

async fn a_post_without_a_token_is_refused_with_the_reason(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    b.get("/form").await;
    let r = post(&mut b, "/anything", None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.starts_with("CSRF token missing"), "{}", r.body);
    assert_eq!(
        r.headers[http::header::CONTENT_TYPE],
        "text/plain; charset=utf-8"
    );
    // Without any session at all, too.
    let mut fresh = Browser::new(&srv);
    assert_eq!(
        post(&mut fresh, "/anything", None).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn every_masked_variant_of_the_token_is_accepted(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let tokens: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..5 {
            v.push(b.get("/form").await.body);
        }
        v
    };
    // Each is masked differently ...
    for (i, a) in tokens.iter().enumerate() {
        assert_eq!(a.len(), sealed_session::session::CSRF_TOKEN_LEN);
        for c in &tokens[i + 1..] {
            assert_ne!(a, c);
        }
    }
    // ... and each works, any number of times, in any order.
    for t in tokens.iter().rev().chain(&tokens) {
        let r = post(&mut b, "/anything", Some(t)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body, "POST ok");
    }
}

async fn wrong_and_malformed_tokens_are_refused(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let good = b.get("/form").await.body;
    let mut flipped = good.clone().into_bytes();
    flipped[40] = if flipped[40] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();
    let wrong = "A".repeat(86);
    let cases = [
        (flipped.as_str(), "CSRF token not valid"),
        (wrong.as_str(), "CSRF token not valid"),
        (&good[..85], "CSRF token malformed"),
        ("not a token", "CSRF token malformed"),
        ("", "CSRF token malformed"),
    ];
    for (token, reason) in cases {
        let r = post(&mut b, "/anything", Some(token)).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{token:?}");
        assert!(r.body.starts_with(reason), "{token:?}: {}", r.body);
    }
    // Two headers (which one would count?): refused.
    let r = b
        .request_with(
            Method::POST,
            "/anything",
            &[(CSRF_HEADER, good.as_str()), (CSRF_HEADER, good.as_str())],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The good one still works.
    assert_eq!(
        post(&mut b, "/anything", Some(&good)).await.status,
        StatusCode::OK
    );
}

async fn a_token_from_another_session_is_refused(mode: Mode) {
    let srv = server(mode).await;
    let mut alice = Browser::new(&srv);
    let mut mallory = Browser::new(&srv);
    alice.get("/form").await;
    let theirs = mallory.get("/form").await.body;
    let r = post(&mut alice, "/anything", Some(&theirs)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.starts_with("CSRF token not valid"), "{}", r.body);
    // A session that never had a token accepts none.
    let mut fresh = Browser::new(&srv);
    let r = post(&mut fresh, "/anything", Some(&theirs)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn safe_methods_pass_and_unsafe_ones_need_the_token(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    for m in [Method::GET, Method::HEAD, Method::OPTIONS, Method::TRACE] {
        let r = b.request(m.clone(), "/anything").await;
        assert_eq!(r.status, StatusCode::OK, "{m}");
    }
    let patch = Method::from_bytes(b"PATCH").unwrap();
    let custom = Method::from_bytes(b"PURGE").unwrap();
    for m in [Method::POST, Method::PUT, patch, Method::DELETE, custom] {
        let r = b.request(m.clone(), "/anything").await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{m}");
        let r = b
            .request_with(m.clone(), "/anything", &[(CSRF_HEADER, token.as_str())])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{m}");
        assert_eq!(r.body, format!("{m} ok"));
    }
}

async fn login_cycle_renews_the_secret(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let before = b.get("/form").await.body;
    let r = post(&mut b, "/login", Some(&before)).await;
    assert_eq!(r.status, StatusCode::OK);
    // The pre-login token no longer works (a token planted before login is useless after).
    let r = post(&mut b, "/anything", Some(&before)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("no CSRF secret"), "{}", r.body);
    let after = b.get("/form").await.body;
    assert_eq!(
        post(&mut b, "/anything", Some(&after)).await.status,
        StatusCode::OK
    );
}

async fn the_axum_extractor_refuses_and_accepts_like_the_layer(mode: Mode) {
    use axum::routing::{get, post as axum_post};
    use sealed_session::csrf::Csrf;

    async fn form(csrf: Csrf) -> Result<String, sealed_session::Error> {
        csrf.token()
    }
    async fn transfer(_csrf: Csrf) -> &'static str {
        "transferred"
    }
    let layer = SessionLayer::new(config("")).unwrap();
    let layer = mode.layer(layer);
    let app = axum::Router::new()
        .route("/form", get(form))
        .route("/transfer", axum_post(transfer))
        .layer(layer);
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    let r = b.post("/transfer").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.starts_with("CSRF token missing"), "{}", r.body);
    let mut other = Browser::new(&srv);
    let theirs = other.get("/form").await.body;
    let r = post(&mut b, "/transfer", Some(&theirs)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = post(&mut b, "/transfer", Some(&token)).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "transferred"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// A masked token always verifies in its own session, however many are handed out, and a
    /// token of another session never does.
    #[test]
    fn masked_tokens_verify_in_their_session_only(n in 1usize..8, pick in any::<prop::sample::Index>()) {
        let mine = Session::detached();
        let theirs = Session::detached();
        let tokens: Vec<String> = (0..n).map(|_| mine.csrf_token().unwrap()).collect();
        let other = theirs.csrf_token().unwrap();
        let t = pick.get(&tokens);
        prop_assert_eq!(mine.verify_csrf(t), Ok(()));
        prop_assert_eq!(theirs.verify_csrf(t), Err(CsrfReject::Mismatch));
        prop_assert_eq!(mine.verify_csrf(&other), Err(CsrfReject::Mismatch));
        prop_assert_eq!(Session::detached().verify_csrf(t), Err(CsrfReject::NoSecret));
    }
}
