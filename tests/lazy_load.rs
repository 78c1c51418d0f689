//! Server mode with `LoadPolicy::Lazy`: the record is loaded when the handler asks (the axum
//! `Session` extractor, or `Session::load` in a tower handler), so a route that never takes
//! the session makes no store call and opens no cookie. Store calls are counted.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::routing::get;
use axum::Router;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use sealed_session::config::LoadPolicy;
use sealed_session::store::{RecordKey, SessionStore, StoreError, StoreFuture, Swap};
use sealed_session::{Session, SessionLayer};

use common::http::{config, text, Body, Browser, TestServer};
use common::spy::Spy;

fn lazy(store: &Spy) -> SessionLayer {
    SessionLayer::new(config(""))
        .unwrap()
        .server_store(store.clone())
        .load_policy(LoadPolicy::Lazy)
}

async fn count(session: Session) -> Result<String, sealed_session::Error> {
    let n: u64 = session.get("n")?.unwrap_or(0) + 1;
    session.insert("n", &n)?;
    Ok(n.to_string())
}

#[tokio::test]
async fn a_route_that_never_takes_the_session_makes_no_store_call() {
    let store = Spy::default();
    let app = Router::new()
        .route("/", get(count))
        .route("/static", get(|| async { "static" }))
        .layer(lazy(&store));
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "1");
    assert_eq!(
        store.calls(),
        (0, 1),
        "no cookie yet: nothing to load, one save"
    );
    for _ in 0..5 {
        let r = b.get("/static").await;
        assert_eq!(r.body, "static");
        assert!(r.set_cookies().is_empty());
    }
    assert_eq!(store.calls(), (0, 1), "the static route made store calls");
    assert_eq!(b.get("/").await.body, "2");
    assert_eq!(store.calls(), (1, 2));
}

#[tokio::test]
async fn eager_loading_stays_the_default_and_loads_for_every_route() {
    let store = Spy::default();
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(store.clone());
    let app = Router::new()
        .route("/", get(count))
        .route("/static", get(|| async { "static" }))
        .layer(layer);
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "1");
    b.get("/static").await;
    assert_eq!(store.calls(), (1, 1), "eager mode loads before any handler");
}

/// A tower handler loads first, then uses the session as usual.
#[tokio::test]
async fn a_tower_handler_loads_then_counts() {
    async fn handler(req: Request<Incoming>) -> Response<Body> {
        let session = req.extensions().get::<Session>().unwrap().clone();
        if let Err(e) = session.load().await {
            return text(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
        }
        let n: u64 = session.get("n").unwrap().unwrap_or(0) + 1;
        session.insert("n", &n).unwrap();
        text(StatusCode::OK, n.to_string())
    }
    let store = Spy::default();
    let srv = TestServer::start(lazy(&store), handler).await;
    let mut b = Browser::new(&srv);
    for n in 1..=3 {
        assert_eq!(b.get("/").await.body, n.to_string());
    }
    assert_eq!(store.calls(), (2, 3));
}

/// A handler that retries `load` after a store error gets the stored session, never an empty
/// one: the first attempt spent the request's cookies, and the retry used to find none, take
/// the session for a new one, answer `Ok`, and let the handler's write replace the stored
/// record (the user's other keys gone). While the store keeps failing, every attempt fails
/// and nothing is written back.
#[tokio::test]
async fn a_load_retried_after_a_store_error_loads_the_stored_session() {
    async fn retrying(req: Request<Incoming>) -> Response<Body> {
        let session = req.extensions().get::<Session>().unwrap().clone();
        let mut failures = 0;
        while session.load().await.is_err() {
            failures += 1;
            if failures == 3 {
                return text(StatusCode::SERVICE_UNAVAILABLE, "store down");
            }
        }
        let user: Option<String> = session.get("user").unwrap();
        session.insert("visited", &true).unwrap();
        text(StatusCode::OK, format!("{failures} {user:?}"))
    }
    async fn login(req: Request<Incoming>) -> Response<Body> {
        let session = req.extensions().get::<Session>().unwrap().clone();
        session.load().await.unwrap();
        session.insert("user", &"alice").unwrap();
        text(StatusCode::OK, "")
    }
    let store = Spy::default();
    let layer = lazy(&store);
    let login = TestServer::start(layer.clone(), login).await;
    let mut b = Browser::new(&login);
    b.get("/").await;
    let srv = TestServer::start(layer, retrying).await;
    let mut r = Browser::with_base(format!("http://{}", srv.addr));
    r.jar = b.jar.clone();

    store.failing_loads.store(1, Ordering::SeqCst);
    let loads = store.calls().0;
    let res = r.get("/").await;
    assert_eq!(
        res.body, "1 Some(\"alice\")",
        "the retry did not load the stored session"
    );
    assert_eq!(
        store.calls().0,
        loads + 2,
        "one failed load, one that loaded, no more"
    );

    // Down for good: three failed attempts, a 503, and the record is not touched.
    let saves = store.calls().1;
    store.failing_loads.store(3, Ordering::SeqCst);
    let res = r.get("/").await;
    assert_eq!(res.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.set_cookies().is_empty());
    assert_eq!(
        store.calls().1,
        saves,
        "a session that never loaded was written back"
    );
    assert_eq!(r.get("/").await.body, "0 Some(\"alice\")");
}

/// Used before it was loaded, then loaded: what the handler saw first was not the stored
/// session, so nothing of this request is written back, even what it wrote after loading.
/// And a second `load` makes no store call.
#[tokio::test]
async fn a_session_used_before_loading_is_not_written_back_after_a_late_load() {
    async fn late(req: Request<Incoming>) -> Response<Body> {
        let session = req.extensions().get::<Session>().unwrap().clone();
        let early: Option<u64> = session.get("n").unwrap();
        session.load().await.unwrap();
        session.load().await.unwrap();
        session.insert("n", &1000u64).unwrap();
        text(StatusCode::OK, format!("{early:?}"))
    }
    let store = Spy::default();
    let layer = lazy(&store);
    let writer = TestServer::serve(Router::new().route("/", get(count)).layer(layer.clone())).await;
    let mut b = Browser::new(&writer);
    assert_eq!(b.get("/").await.body, "1");
    let late = TestServer::start(layer, late).await;
    let mut l = Browser::with_base(format!("http://{}", late.addr));
    l.jar = b.jar.clone();
    let (loads, saves) = store.calls();
    let r = l.get("/").await;
    assert_eq!(r.body, "None", "read before loading: empty");
    assert!(r.set_cookies().is_empty());
    assert_eq!(
        store.calls(),
        (loads + 1, saves),
        "one load; nothing written back"
    );
    assert_eq!(b.get("/").await.body, "2");
}

/// A handler that forgets to load sees an empty session, and nothing it does is written back:
/// the stored session survives.
#[tokio::test]
async fn a_session_used_before_it_is_loaded_is_never_written_back() {
    async fn forgetful(req: Request<Incoming>) -> Response<Body> {
        let session = req.extensions().get::<Session>().unwrap().clone();
        let n: u64 = session.get("n").unwrap().unwrap_or(0);
        session.insert("n", &1000u64).unwrap();
        text(StatusCode::OK, n.to_string())
    }
    let store = Spy::default();
    let layer = lazy(&store);
    let writer = TestServer::serve(Router::new().route("/", get(count)).layer(layer.clone())).await;
    let mut b = Browser::new(&writer);
    assert_eq!(b.get("/").await.body, "1");
    assert_eq!(b.get("/").await.body, "2");
    let forgetful = TestServer::start(layer, forgetful).await;
    let mut f = Browser::with_base(format!("http://{}", forgetful.addr));
    f.jar = b.jar.clone();
    let r = f.get("/").await;
    assert_eq!(r.body, "0", "an unloaded session reads as empty");
    assert!(r.set_cookies().is_empty());
    let saves = store.calls().1;
    assert_eq!(saves, 2, "the unloaded session was written back");
    assert_eq!(b.get("/").await.body, "3");
}

/// A store failure while the extractor loads is a 503, never an empty session.
#[tokio::test]
async fn a_store_failure_while_loading_is_a_503() {
    #[derive(Clone)]
    struct Broken;
    impl SessionStore for Broken {
        fn load<'a>(&'a self, _: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>> {
            Box::pin(async { Err(StoreError::Unavailable("down".into())) })
        }
        fn save<'a>(&'a self, _: &'a RecordKey, _: &'a [u8], _: Duration) -> StoreFuture<'a, ()> {
            Box::pin(async { Ok(()) })
        }
        fn delete<'a>(&'a self, _: &'a RecordKey) -> StoreFuture<'a, ()> {
            Box::pin(async { Ok(()) })
        }
        fn compare_and_swap<'a>(
            &'a self,
            _: &'a RecordKey,
            _: Option<&'a [u8]>,
            _: Option<&'a [u8]>,
            _: Duration,
        ) -> StoreFuture<'a, Swap> {
            Box::pin(async { Ok(Swap::Done) })
        }
    }
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(Broken)
        .load_policy(LoadPolicy::Lazy);
    let srv = TestServer::serve(Router::new().route("/", get(count)).layer(layer)).await;
    let mut b = Browser::new(&srv);
    // No cookie: nothing to load, a new session is written (saves succeed).
    assert_eq!(b.get("/").await.body, "1");
    // With the cookie the load fails: 503.
    assert_eq!(b.get("/").await.status, StatusCode::SERVICE_UNAVAILABLE);
}
