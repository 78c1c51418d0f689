//! Per-user revocation (`SessionLayer::revalidate`, `Session::set_auth_stamp`) through a real
//! hyper server and a client with a cookie jar, in client mode (sealed cookie) and server mode
//! (memory store). The validator is a closure over a shared "users" table that counts its
//! calls; time comes from a `ManualClock`.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use sealed_session::time::ManualClock;
use sealed_session::{Session, SessionLayer};

use common::http::{config, text, Body, Browser, TestServer};
use common::Mode;

const T0: u64 = 1_700_000_000;
const NAME: &str = "__Host-session";
/// The revalidation interval of the tests.
const EVERY: Duration = Duration::from_mins(5);

common::both_modes!(
    requests_inside_the_interval_make_no_validator_call,
    a_password_change_logs_out_an_old_cookie_within_the_interval_and_not_before,
    a_matching_stamp_is_checked_once_per_interval_and_keeps_the_session,
    a_deleted_user_is_logged_out,
    sessions_without_a_stamp_are_never_checked,
    a_failing_validator_answers_503_and_keeps_the_session,
    a_validator_that_times_out_answers_503_and_keeps_the_session,
);

/// The application's user table (id → stamp), the validator's call count, and a switch that
/// makes the validator fail.
#[derive(Clone, Default)]
struct Users {
    stamps: Arc<Mutex<HashMap<String, String>>>,
    calls: Arc<AtomicUsize>,
    down: Arc<AtomicBool>,
}

impl Users {
    fn set(&self, user: &str, stamp: &str) {
        self.stamps
            .lock()
            .unwrap()
            .insert(user.to_owned(), stamp.to_owned());
    }

    fn stamp(&self, user: &str) -> Option<String> {
        self.stamps.lock().unwrap().get(user).cloned()
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

#[allow(clippy::unused_async)] // an async handler, as the server expects
async fn app(req: Request<Incoming>, users: Users) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    match (req.method().clone(), req.uri().path()) {
        (Method::POST, "/login") => {
            session.cycle();
            session.insert("user", "ada").unwrap();
            let stamp = users.stamp("ada").unwrap();
            session.set_auth_stamp("ada", stamp).unwrap();
            text(StatusCode::OK, "logged in")
        }
        (Method::GET, "/me") => match session.get::<String>("user").unwrap() {
            Some(user) => text(StatusCode::OK, user),
            None => text(StatusCode::UNAUTHORIZED, "who are you?"),
        },
        (Method::GET, "/count") => {
            let n: u64 = session.get("n").unwrap().unwrap_or(0) + 1;
            session.insert("n", &n).unwrap();
            text(StatusCode::OK, n.to_string())
        }
        (Method::GET, "/untouched") => text(StatusCode::OK, "ok"),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// The app behind a layer that revalidates every [`EVERY`] with `validator`, on `clock`.
async fn serve(
    mode: Mode,
    clock: &ManualClock,
    users: &Users,
    validator: impl sealed_session::session::StampValidator,
) -> TestServer {
    let layer = SessionLayer::new(config("[expiry]\nskew = \"0s\"\n"))
        .unwrap()
        .clock(clock.clone())
        .revalidate(EVERY, validator);
    let layer = mode.layer(layer);
    let u = users.clone();
    TestServer::start(layer, move |req| app(req, u.clone())).await
}

async fn server(mode: Mode) -> (TestServer, ManualClock, Users) {
    let clock = ManualClock::at_unix(T0);
    let users = Users::default();
    users.set("ada", "1");
    let v = users.clone();
    let validator = move |user: String| {
        let v = v.clone();
        async move {
            v.calls.fetch_add(1, Ordering::SeqCst);
            // A real lookup is not ready at once: the response future must wait for it.
            tokio::task::yield_now().await;
            if v.down.load(Ordering::SeqCst) {
                return Err("the user database is down".into());
            }
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(v.stamp(&user))
        }
    };
    let srv = serve(mode, &clock, &users, validator).await;
    (srv, clock, users)
}

async fn requests_inside_the_interval_make_no_validator_call(mode: Mode) {
    let (srv, clock, users) = server(mode).await;
    let mut b = Browser::new(&srv);
    b.post("/login").await;
    // Twenty requests over 4 min 45 s: no call.
    for _ in 0..20 {
        assert_eq!(b.get("/me").await.body, "ada");
        clock.advance(Duration::from_secs(15));
    }
    assert_eq!(users.calls(), 0);
    // 5 minutes after the login: one call, then none for the next interval.
    assert_eq!(b.get("/me").await.body, "ada");
    assert_eq!(users.calls(), 1);
    for _ in 0..10 {
        clock.advance(Duration::from_secs(29));
        assert_eq!(b.get("/me").await.body, "ada");
        assert_eq!(b.get("/count").await.status, StatusCode::OK);
    }
    assert_eq!(users.calls(), 1);
    clock.advance(Duration::from_secs(10));
    assert_eq!(b.get("/me").await.body, "ada");
    assert_eq!(users.calls(), 2);
}

async fn a_password_change_logs_out_an_old_cookie_within_the_interval_and_not_before(mode: Mode) {
    let (srv, clock, users) = server(mode).await;
    let mut b = Browser::new(&srv);
    b.post("/login").await;
    let stolen = b.jar[NAME].clone();
    // The password changes (or "log out everywhere"): the user's stamp moves on.
    clock.advance(Duration::from_mins(1));
    users.set("ada", "2");
    // Not before the interval: the documented window.
    clock.advance(Duration::from_mins(3));
    assert_eq!(b.get("/me").await.body, "ada");
    assert_eq!(users.calls(), 0);
    // Within the interval: the next request ends the session and removes the cookie.
    clock.advance(Duration::from_mins(1));
    let r = b.get("/me").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(users.calls(), 1);
    assert!(!b.jar.contains_key(NAME), "{:?}", r.set_cookies());
    // The old cookie, replayed from elsewhere, is refused too: its sealed check time is as
    // old as the login, so it is checked again (client mode), or its record is gone (server).
    let r = b
        .send_raw(Method::GET, "/me", Some(format!("{NAME}={stolen}")))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    if mode == Mode::Client {
        assert_eq!(users.calls(), 2);
    }
    // Logging in again with the new stamp works.
    b.post("/login").await;
    clock.advance(EVERY);
    assert_eq!(b.get("/me").await.body, "ada");
}

async fn a_matching_stamp_is_checked_once_per_interval_and_keeps_the_session(mode: Mode) {
    let (srv, clock, users) = server(mode).await;
    let mut b = Browser::new(&srv);
    b.post("/login").await;
    assert_eq!(b.get("/count").await.body, "1");
    clock.advance(EVERY);
    // The check passes, and its time is written back even on a request that only reads.
    let r = b.get("/me").await;
    assert_eq!(r.body, "ada");
    assert_eq!(users.calls(), 1);
    if mode == Mode::Client {
        assert_eq!(r.set_cookies().len(), 1, "the new check time is sealed");
    }
    assert_eq!(b.get("/count").await.body, "2");
    // Even a request whose handler never touches the session is checked when due.
    clock.advance(EVERY);
    assert_eq!(b.get("/untouched").await.status, StatusCode::OK);
    assert_eq!(users.calls(), 2);
    assert_eq!(b.get("/me").await.body, "ada");
    assert_eq!(users.calls(), 2);
}

async fn a_deleted_user_is_logged_out(mode: Mode) {
    let (srv, clock, users) = server(mode).await;
    let mut b = Browser::new(&srv);
    b.post("/login").await;
    users.stamps.lock().unwrap().clear();
    clock.advance(EVERY);
    assert_eq!(b.get("/me").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(users.calls(), 1);
}

async fn sessions_without_a_stamp_are_never_checked(mode: Mode) {
    let (srv, clock, users) = server(mode).await;
    let mut b = Browser::new(&srv);
    for n in 1..=5 {
        assert_eq!(b.get("/count").await.body, n.to_string());
        clock.advance(EVERY);
    }
    assert_eq!(users.calls(), 0);
    // And a request that does not touch its session gets no Set-Cookie and no Vary.
    let r = b.get("/untouched").await;
    assert!(r.set_cookies().is_empty());
    assert!(r.headers.get(http::header::VARY).is_none());
}

async fn a_failing_validator_answers_503_and_keeps_the_session(mode: Mode) {
    let (srv, clock, users) = server(mode).await;
    let mut b = Browser::new(&srv);
    b.post("/login").await;
    clock.advance(EVERY);
    users.down.store(true, Ordering::SeqCst);
    let r = b.get("/me").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.set_cookies().is_empty());
    assert_eq!(users.calls(), 1);
    // Back up: the session is still there, checked now.
    users.down.store(false, Ordering::SeqCst);
    assert_eq!(b.get("/me").await.body, "ada");
    assert_eq!(users.calls(), 2);
}

/// The layer puts no deadline on the validator (its docs say so): a lookup that hangs is
/// bounded by the application, as the docs show, with `tokio::time::timeout`, and its
/// elapsed error answers 503 and keeps the session like any other validator error.
async fn a_validator_that_times_out_answers_503_and_keeps_the_session(mode: Mode) {
    let clock = ManualClock::at_unix(T0);
    let users = Users::default();
    users.set("ada", "1");
    let hang = Arc::new(AtomicBool::new(false));
    let (table, stuck) = (users.clone(), hang.clone());
    let validator = move |user: String| {
        let (table, stuck) = (table.clone(), stuck.clone());
        async move {
            let lookup = async move {
                if stuck.load(Ordering::SeqCst) {
                    std::future::pending::<()>().await; // the database stopped answering
                }
                table.stamp(&user)
            };
            tokio::time::timeout(Duration::from_millis(50), lookup)
                .await
                .map_err(|elapsed| Box::new(elapsed) as Box<dyn std::error::Error + Send + Sync>)
        }
    };
    let srv = serve(mode, &clock, &users, validator).await;
    let mut b = Browser::new(&srv);
    b.post("/login").await;
    clock.advance(EVERY);
    hang.store(true, Ordering::SeqCst);
    let r = b.get("/me").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.set_cookies().is_empty());
    hang.store(false, Ordering::SeqCst);
    assert_eq!(b.get("/me").await.body, "ada");
}
