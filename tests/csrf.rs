//! CSRF protection (`CsrfLayer`, `Session::csrf_token`, the axum `Csrf` extractor) through a
//! real hyper server and a client with a cookie jar, in client mode (sealed cookie) and server
//! mode (memory store): missing, wrong, malformed and other-session tokens are refused with
//! 403 and a reason; every masked variant of the session's token is accepted; safe methods
//! pass; `cycle` (login) renews the secret; a urlencoded form's `csrf_token` field counts
//! like the header, and the handler still reads the whole form; the `CsrfForm` extractor
//! does the same for axum handlers. A proptest checks the same through the public API of
//! detached sessions.

mod common;

use http::{Method, Request, Response, StatusCode};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use proptest::prelude::*;
use sealed_session::csrf::{CsrfBody, CsrfLayer, CSRF_HEADER};
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
    a_form_field_token_is_accepted_and_the_handler_reads_the_whole_form,
    form_tokens_missing_wrong_repeated_or_from_another_session_are_refused,
    the_header_decides_when_both_are_sent,
    forms_over_the_cap_are_refused_before_the_handler,
    csrf_form_extractor_checks_the_field_and_deserializes_the_rest,
    a_multipart_or_json_body_is_refused_with_a_reason_that_says_it_is_not_read,
    csrf_form_leaves_the_token_out_of_a_get_forms_query_too,
    pages_opened_together_after_login_share_one_csrf_secret,
    the_csrf_extractor_tells_a_form_post_it_reads_only_the_header,
);

async fn app(req: Request<CsrfBody<Incoming>>) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    // What a tower handler does first in server mode with `load = "lazy"` (a no-op otherwise).
    session.load().await.unwrap();
    match (req.method().clone(), req.uri().path()) {
        (_, "/echo") => {
            // What reached the handler: the whole body, as sent.
            let body = req.into_body().collect().await.unwrap().to_bytes();
            text(StatusCode::OK, String::from_utf8_lossy(&body))
        }
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

/// The largest form the test layer reads.
const CAP: usize = 1024;

async fn server(mode: Mode) -> TestServer {
    let layer = SessionLayer::new(config("")).unwrap();
    let layer = mode.layer(layer);
    let svc = ServiceBuilder::new()
        .layer(layer)
        .layer(CsrfLayer::new().max_form_bytes(CAP))
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
    // The pre-login token no longer works (a token planted before login is useless after),
    // and the reason says why.
    let r = post(&mut b, "/anything", Some(&before)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("before login"), "{}", r.body);
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

async fn a_form_field_token_is_accepted_and_the_handler_reads_the_whole_form(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    // A form as a browser sends it, the token anywhere among the fields.
    for form in [
        format!("csrf_token={token}&comment=hello+world&n=1"),
        format!("comment=caf%C3%A9&csrf_token={token}"),
        format!("a=&csrf_token={token}&b=%26%3D"),
    ] {
        let r = b.post_form("/echo", &form).await;
        assert_eq!(r.status, StatusCode::OK, "{form}: {}", r.body);
        assert_eq!(r.body, form, "the handler reads the form as sent");
    }
    // `Content-Type` parameters and case do not matter.
    let form = format!("csrf_token={token}");
    for content_type in [
        "application/x-www-form-urlencoded; charset=UTF-8",
        "Application/X-WWW-Form-Urlencoded",
    ] {
        let r = b
            .request_full(
                Method::PUT,
                "/echo",
                &[("content-type", content_type)],
                &form,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{content_type}");
    }
}

async fn form_tokens_missing_wrong_repeated_or_from_another_session_are_refused(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    let theirs = Browser::new(&srv).get("/form").await.body;
    let cases = [
        ("comment=hi".to_owned(), "CSRF token missing"),
        (String::new(), "CSRF token missing"),
        ("csrf_token=".to_owned(), "CSRF token malformed"),
        (
            format!("csrf_token={}", &token[..85]),
            "CSRF token malformed",
        ),
        (format!("csrf_token={theirs}"), "CSRF token not valid"),
        // Two fields (which one would count?).
        (
            format!("csrf_token={token}&csrf_token={token}"),
            "CSRF token malformed",
        ),
        // A field of another name does not count.
        (format!("csrfmiddlewaretoken={token}"), "CSRF token missing"),
    ];
    for (form, reason) in cases {
        let r = b.post_form("/echo", &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{form}");
        assert!(r.body.starts_with(reason), "{form}: {}", r.body);
    }
    // The token in a body that is not a urlencoded form is not looked for.
    for content_type in [
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/json",
    ] {
        let r = b
            .request_full(
                Method::POST,
                "/echo",
                &[("content-type", content_type)],
                &format!("csrf_token={token}"),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{content_type}");
        assert!(r.body.starts_with("CSRF token missing"), "{}", r.body);
    }
}

async fn the_header_decides_when_both_are_sent(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    let form_ct = ("content-type", "application/x-www-form-urlencoded");
    let good_form = format!("csrf_token={token}");
    // A wrong header is not rescued by a right field ...
    let r = b
        .request_full(
            Method::POST,
            "/echo",
            &[form_ct, (CSRF_HEADER, "A")],
            &good_form,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // ... and a right header needs no field (the body is then not read by the layer).
    let r = b
        .request_full(
            Method::POST,
            "/echo",
            &[form_ct, (CSRF_HEADER, token.as_str())],
            "csrf_token=wrong&x=1",
        )
        .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "csrf_token=wrong&x=1")
    );
}

async fn forms_over_the_cap_are_refused_before_the_handler(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    let at_cap = format!("csrf_token={token}&pad={}", "x".repeat(CAP - 86 - 16));
    assert_eq!(at_cap.len(), CAP);
    assert_eq!(b.post_form("/echo", &at_cap).await.status, StatusCode::OK);
    let over = format!("{at_cap}x");
    let r = b.post_form("/echo", &over).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.body.contains("X-CSRF-Token"), "{}", r.body);
    // With the header, the layer reads nothing, so no cap applies.
    let r = b
        .request_full(
            Method::POST,
            "/echo",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                (CSRF_HEADER, token.as_str()),
            ],
            &over,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body.len(), CAP + 1);
}

async fn csrf_form_extractor_checks_the_field_and_deserializes_the_rest(mode: Mode) {
    use axum::routing::{get, post as axum_post};
    use sealed_session::csrf::{Csrf, CsrfForm};

    /// No field for the token, and no unknown field allowed: the extractor leaves it out.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Comment {
        text: String,
        stars: u8,
    }
    async fn form(csrf: Csrf) -> Result<String, sealed_session::Error> {
        csrf.token()
    }
    async fn comment(CsrfForm(c): CsrfForm<Comment>) -> String {
        format!("{} ({} stars)", c.text, c.stars)
    }
    let layer = mode.layer(SessionLayer::new(config("")).unwrap());
    let app = axum::Router::new()
        .route("/form", get(form))
        .route("/comment", axum_post(comment).get(comment))
        .layer(layer);
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    let theirs = Browser::new(&srv).get("/form").await.body;

    let r = b
        .post_form(
            "/comment",
            &format!("text=nice+one&csrf_token={token}&stars=5"),
        )
        .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "nice one (5 stars)")
    );
    // The header works as well, with no field.
    let r = b
        .request_full(
            Method::POST,
            "/comment",
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                (CSRF_HEADER, token.as_str()),
            ],
            "text=hi&stars=1",
        )
        .await;
    assert_eq!(
        (r.status, r.body.as_str()),
        (StatusCode::OK, "hi (1 stars)")
    );
    // Refusals, with their reasons.
    for (form, status) in [
        ("text=hi&stars=1".to_owned(), StatusCode::FORBIDDEN),
        (
            format!("text=hi&stars=1&csrf_token={theirs}"),
            StatusCode::FORBIDDEN,
        ),
        (
            format!("text=hi&csrf_token={token}"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            format!("text=hunter2&stars=many&csrf_token={token}"),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let r = b.post_form("/comment", &form).await;
        assert_eq!(r.status, status, "{form}: {}", r.body);
        assert!(
            !r.body.contains("hunter2"),
            "a field's value is never echoed"
        );
    }
    let r = b
        .request_full(
            Method::POST,
            "/comment",
            &[("content-type", "application/json")],
            "{}",
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    // A safe method reads the query, unchecked, as axum's `Form` does.
    let r = b.get("/comment?text=q&stars=2").await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "q (2 stars)"));
}

/// A request body sent in chunks without a length (as `Transfer-Encoding: chunked`), failing
/// after its chunks when `fail` is set.
struct Chunked {
    chunks: std::collections::VecDeque<bytes::Bytes>,
    fail: bool,
}

impl http_body::Body for Chunked {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        std::task::Poll::Ready(match self.chunks.pop_front() {
            Some(chunk) => Some(Ok(http_body::Frame::data(chunk))),
            None if self.fail => Some(Err(std::io::Error::other("connection reset"))),
            None => None,
        })
    }
}

/// Sends a chunked form, with a valid token in its first chunk, through a layered echo service
/// (tower's `oneshot`: hyper's client would add a length).
async fn oneshot_chunked(chunks: Vec<String>, fail: bool) -> (StatusCode, String) {
    use tower::ServiceExt;
    let layer = SessionLayer::new(config("")).unwrap();
    let svc = ServiceBuilder::new()
        .layer(layer)
        .layer(CsrfLayer::new().max_form_bytes(CAP))
        .service_fn(|req: Request<CsrfBody<Chunked>>| async move {
            let body = req.into_body().collect().await.unwrap().to_bytes();
            Ok::<_, std::convert::Infallible>(Response::new(
                String::from_utf8_lossy(&body).into_owned(),
            ))
        });
    // A session with a token, from a GET through the same key.
    let token_svc = ServiceBuilder::new()
        .layer(SessionLayer::new(config("")).unwrap())
        .service_fn(|req: Request<String>| async move {
            let session = req.extensions().get::<Session>().unwrap();
            Ok::<_, std::convert::Infallible>(Response::new(session.csrf_token().unwrap()))
        });
    let res = token_svc
        .oneshot(Request::new(String::new()))
        .await
        .unwrap();
    let cookie = res.headers()[http::header::SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = res.into_body();
    let chunks = std::iter::once(format!("csrf_token={token}&"))
        .chain(chunks)
        .map(bytes::Bytes::from)
        .collect();
    let req = Request::builder()
        .method(Method::POST)
        .header(http::header::COOKIE, cookie)
        .header(
            http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(Chunked { chunks, fail })
        .unwrap();
    let res = svc.oneshot(req).await.unwrap();
    (res.status(), res.into_body())
}

#[tokio::test]
async fn a_chunked_form_is_read_whole_and_one_over_the_cap_is_refused() {
    let (status, body) = oneshot_chunked(vec!["a=1&".into(), "b=2".into()], false).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.ends_with("&a=1&b=2"), "{body}");
    // No Content-Length to refuse early: refused as the count passes the cap.
    let (status, _) = oneshot_chunked(vec!["x".repeat(CAP / 2); 3], false).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn a_form_body_that_fails_while_read_is_a_bad_request() {
    let (status, body) = oneshot_chunked(vec!["a=1".into()], true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body.contains("could not be read"), "{body}");
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

/// Server mode with `load = "lazy"`: the layer loads the record before it checks a token (an
/// unloaded session has no secret, so every token was refused with 403); a wrong token is
/// still refused, a form field token works too, and a store outage is a 503, not a 403.
#[tokio::test]
async fn lazy_server_mode_checks_tokens_against_the_loaded_session() {
    use common::spy::Spy;
    use sealed_session::config::LoadPolicy;
    use std::sync::atomic::Ordering;

    let store = Spy::default();
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(store.clone())
        .load_policy(LoadPolicy::Lazy);
    let svc = ServiceBuilder::new()
        .layer(layer)
        .layer(CsrfLayer::new().max_form_bytes(CAP))
        .service_fn(|req| async move { Ok::<_, std::convert::Infallible>(app(req).await) });
    let srv = TestServer::serve(svc).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    let r = post(&mut b, "/anything", Some(&token)).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "POST ok"));
    let r = post(&mut b, "/anything", Some("AAAA")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let form = format!("a=1&csrf_token={token}");
    let r = b.post_form("/echo", &form).await;
    assert_eq!((r.status, r.body), (StatusCode::OK, form));
    store.failing_loads.store(1, Ordering::SeqCst);
    let r = post(&mut b, "/anything", Some(&token)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
}

/// Server mode with `load = "lazy"`: only unsafe requests make the layer load the record; a
/// safe one stays lazy (no store call unless its handler loads the session).
#[tokio::test]
async fn lazy_server_mode_loads_for_unsafe_requests_only() {
    use common::spy::Spy;
    use sealed_session::config::LoadPolicy;

    let store = Spy::default();
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(store.clone())
        .load_policy(LoadPolicy::Lazy);
    let svc = ServiceBuilder::new()
        .layer(layer)
        .layer(CsrfLayer::new().max_form_bytes(CAP))
        .service_fn(|req: Request<CsrfBody<Incoming>>| async move {
            // `/plain` never touches the session.
            let res = match req.uri().path() {
                "/plain" => text(StatusCode::OK, format!("{} plain", req.method())),
                _ => app(req).await,
            };
            Ok::<_, std::convert::Infallible>(res)
        });
    let srv = TestServer::serve(svc).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    let (loads, _) = store.calls();
    for method in [Method::GET, Method::HEAD, Method::OPTIONS] {
        let r = b.request(method.clone(), "/plain").await;
        assert_eq!(r.status, StatusCode::OK, "{method}");
    }
    assert_eq!(store.calls().0, loads, "a safe request loaded the record");
    let r = post(&mut b, "/plain", Some(&token)).await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "POST plain"));
    assert_eq!(
        store.calls().0,
        loads + 1,
        "the POST's token was checked unloaded"
    );
}

/// A body that never sends a byte, and records that it was polled.
struct Stalled(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl http_body::Body for Stalled {
    type Data = bytes::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, Self::Error>>> {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        std::task::Poll::Pending
    }
}

/// A form whose declared `Content-Length` is over the cap is refused from its head, before a
/// byte of it is read: a client announcing a large body and then sending nothing (or sending
/// it slowly) does not hold the request open.
#[tokio::test]
async fn a_declared_length_over_the_cap_is_refused_without_reading_the_body() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tower::ServiceExt;

    let svc = ServiceBuilder::new()
        .layer(SessionLayer::new(config("")).unwrap())
        .layer(CsrfLayer::new().max_form_bytes(CAP))
        .service_fn(|_: Request<CsrfBody<Stalled>>| async move {
            Ok::<_, std::convert::Infallible>(Response::new(String::from("handler")))
        });
    for (len, refused) in [(CAP + 1, true), (CAP, false)] {
        let polled = Arc::new(AtomicBool::new(false));
        let req = Request::builder()
            .method(Method::POST)
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::CONTENT_LENGTH, len.to_string())
            .body(Stalled(polled.clone()))
            .unwrap();
        let res = tokio::time::timeout(
            std::time::Duration::from_millis(500),
            svc.clone().oneshot(req),
        )
        .await;
        if refused {
            let res = res.expect("the refusal waited for the body").unwrap();
            assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
            assert!(!polled.load(Ordering::SeqCst), "the body was read");
        } else {
            // At the cap the layer reads the form (which never comes).
            assert!(res.is_err(), "a form at the cap was not read");
            assert!(polled.load(Ordering::SeqCst));
        }
    }
}

/// Only a urlencoded form is read for the `csrf_token` field. A multipart upload form that
/// has the field, or a JSON body, without the header is refused, with a reason that says
/// the body was not read and the header is needed: "send the `csrf_token` form field" would
/// send the developer of a form that has it looking in the wrong place. The refusal quotes
/// nothing the request sent.
async fn a_multipart_or_json_body_is_refused_with_a_reason_that_says_it_is_not_read(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    let multipart = format!(
        "--XX\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n--XX--\r\n"
    );
    let json = format!("{{\"csrf_token\":\"{token}\"}}");
    for (content_type, body) in [
        ("multipart/form-data; boundary=XX", multipart),
        ("application/json", json),
    ] {
        let headers = [("content-type", content_type)];
        let r = b.request_full(Method::POST, "/echo", &headers, &body).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{content_type}");
        assert!(r.body.starts_with("CSRF token missing"), "{}", r.body);
        assert!(r.body.contains("multipart/form-data"), "{}", r.body);
        assert!(r.body.contains("X-CSRF-Token header"), "{}", r.body);
        assert!(!r.body.contains(&token), "{}", r.body);
        // With the header, the same body goes through untouched.
        let headers = [
            ("content-type", content_type),
            (CSRF_HEADER, token.as_str()),
        ];
        let r = b.request_full(Method::POST, "/echo", &headers, &body).await;
        assert_eq!((r.status, r.body), (StatusCode::OK, body));
    }
}

/// A page template that puts the hidden `csrf_token` field in every form puts it in a GET
/// (search) form too, so it arrives in the query string. `CsrfForm` promises to leave the
/// token out before `T` is deserialized, "even with `#[serde(deny_unknown_fields)]`": that
/// holds for the query of a safe method as for the body of an unsafe one. The query is not
/// checked (a GET is not protected), so a token from another session, or none, passes too.
async fn csrf_form_leaves_the_token_out_of_a_get_forms_query_too(mode: Mode) {
    use axum::routing::get;
    use sealed_session::csrf::{Csrf, CsrfForm};

    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Search {
        q: String,
    }
    async fn search(CsrfForm(s): CsrfForm<Search>) -> String {
        format!("results for {}", s.q)
    }
    let layer = mode.layer(SessionLayer::new(config("")).unwrap());
    let app = axum::Router::new()
        .route("/search", get(search))
        .route("/form", get(|csrf: Csrf| async move { csrf.token() }))
        .layer(layer);
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    assert_eq!(token.len(), sealed_session::session::CSRF_TOKEN_LEN);
    for query in [format!("q=rust&csrf_token={token}"), "q=rust".to_owned()] {
        let r = b.get(&format!("/search?{query}")).await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::OK, "results for rust"),
            "{query}"
        );
    }
    // Any other unknown field is still refused.
    let r = b.get("/search?q=rust&page=2").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// After login, the user opens two pages at once (two tabs, or a page and a frame), both
/// with the login response's cookie. If login left the session without a CSRF secret, each
/// response made its own, and the cookie the browser kept last holds only one of them: the
/// forms of the other page were refused ("issued to another session"). Login renews the
/// secret instead of dropping it, so both pages mask the same one. The pre-login token
/// still fails (`login_cycle_renews_the_secret`).
async fn pages_opened_together_after_login_share_one_csrf_secret(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let before = b.get("/form").await.body;
    assert_eq!(
        post(&mut b, "/login", Some(&before)).await.status,
        StatusCode::OK
    );
    let logged_in = b.cookie_header();
    let first = b
        .send_raw(Method::GET, "/form", Some(logged_in.clone()))
        .await;
    let second = b
        .send_raw(Method::GET, "/form", Some(logged_in.clone()))
        .await;
    // The browser keeps the last cookie it was sent.
    let kept = [&second, &first]
        .iter()
        .find_map(|r| r.set_cookies().first().cloned())
        .map_or(logged_in, |line| line.split(';').next().unwrap().to_owned());
    for (page, token) in [("first", &first.body), ("second", &second.body)] {
        let r = b
            .send_with(
                Method::POST,
                "/anything",
                Some(kept.clone()),
                &[(CSRF_HEADER, token)],
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{page} page's token: {}", r.body);
    }
}

/// The `Csrf` extractor reads only the `X-CSRF-Token` header. A plain HTML form posting its
/// `csrf_token` field to a route that takes `Csrf` (rather than `CsrfForm`, or behind
/// `CsrfLayer`) is refused; the reason must say the field is not read there, not tell the
/// developer to send the field the form already sends.
async fn the_csrf_extractor_tells_a_form_post_it_reads_only_the_header(mode: Mode) {
    use axum::routing::{get, post as axum_post};
    use sealed_session::csrf::Csrf;

    let layer = mode.layer(SessionLayer::new(config("")).unwrap());
    let app = axum::Router::new()
        .route("/form", get(|csrf: Csrf| async move { csrf.token() }))
        .route("/transfer", axum_post(|_: Csrf| async { "transferred" }))
        .layer(layer);
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    let r = b
        .post_form("/transfer", &format!("amount=5&csrf_token={token}"))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.starts_with("CSRF token missing"), "{}", r.body);
    assert!(r.body.contains("CsrfForm"), "{}", r.body);
    assert!(!r.body.contains(&token), "{}", r.body);
    // A post without a body keeps the general reason.
    let r = b.post("/transfer").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.body.contains("CsrfForm"), "{}", r.body);
}
