//! The session layer per request, in process (no sockets), next to two peers.
//!
//! Every case sends one full request through a tower service built once:
//!
//! | case                               | what the handler does                              |
//! |------------------------------------|----------------------------------------------------|
//! | `no_layer`                         | bare `service_fn`, reads nothing                   |
//! | `untouched`                        | `SessionLayer`, handler never touches the session  |
//! | `read`                             | `SessionLayer`, reads `visit_count` (u64)          |
//! | `read_write`                       | `SessionLayer`, reads and writes `visit_count + 1` |
//! | `tower_sessions_memory/read_write` | tower-sessions + `MemoryStore`, same read+write    |
//! | `private_jar/read_write`           | axum-extra `PrivateCookieJar`, JSON map in cookie  |
//!
//! Each request carries the `Cookie` header captured once from a first response, so the read
//! cases really open a cookie (or, for tower-sessions, load the record of that id). The
//! request is built outside the timed loop (`iter_batched`) and the response is dropped
//! outside it too, so the figures are the service's work alone.
//!
//! Futures are driven by polling with [`Waker::noop`] in a loop, no runtime: every service
//! here (tower-sessions' `MemoryStore` included: its `tokio::sync::Mutex` is uncontended)
//! completes on the first poll. A `Pending` is counted and reported at the end; none is
//! expected.
//!
//! Run: `cargo bench -p sealed-session-benches --bench middleware`.

use std::convert::Infallible;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use axum::response::IntoResponse;
use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar, SameSite};
use criterion::{BatchSize, Criterion};
use http::{header, HeaderValue, Request, Response};
use sealed_session::{Session, SessionConfig, SessionLayer};
use tower::{service_fn, Layer, Service};
use tower_sessions::{MemoryStore, SessionManagerLayer};

/// The key of `tests/common/http.rs` (one xaes key, id 1; default, secure cookie settings).
const KEY1: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const KEY_NAME: &str = "visit_count";
/// Cookie that holds the private jar's JSON session map.
const JAR_COOKIE: &str = "session";

/// `Pending` polls seen while driving futures (expected: none).
static PENDING: AtomicU64 = AtomicU64::new(0);

fn config() -> SessionConfig {
    toml::from_str(&format!("[[keys]]\nid = 1\nsecret = \"{KEY1}\"\n"))
        .expect("bench config parses")
}

/// Polls `fut` with a no-op waker until it is ready.
fn drive<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(out) => return out,
            Poll::Pending => {
                PENDING.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// One full request: `poll_ready`, `call`, and the response future to completion.
fn send<S, B>(svc: &mut S, req: Request<String>) -> Response<B>
where
    S: Service<Request<String>, Response = Response<B>, Error = Infallible>,
{
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        match svc.poll_ready(&mut cx) {
            Poll::Ready(Ok(())) => break,
            Poll::Ready(Err(e)) => match e {},
            Poll::Pending => {
                PENDING.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    match drive(svc.call(req)) {
        Ok(res) => res,
        Err(e) => match e {},
    }
}

fn request(cookie: Option<&HeaderValue>) -> Request<String> {
    let mut req = Request::new(String::new());
    if let Some(c) = cookie {
        req.headers_mut().insert(header::COOKIE, c.clone());
    }
    req
}

/// The one `Set-Cookie` of `res`, and the `name=value` pair a browser sends back.
fn set_cookie<B>(res: &Response<B>) -> (String, HeaderValue) {
    let mut lines = res.headers().get_all(header::SET_COOKIE).iter();
    let line = lines
        .next()
        .expect("first response sets a cookie")
        .to_str()
        .expect("ASCII Set-Cookie")
        .to_owned();
    assert!(lines.next().is_none(), "exactly one Set-Cookie");
    let pair = line.split(';').next().unwrap().to_owned();
    (line, HeaderValue::from_str(&pair).unwrap())
}

fn count_of(session: &Session) -> u64 {
    session.get::<u64>(KEY_NAME).unwrap().unwrap_or(0)
}

fn print_length(who: &str, line: &str, pair: &HeaderValue) {
    let value_len = pair.len() - pair.to_str().unwrap().find('=').unwrap() - 1;
    eprintln!(
        "{who:<32} Set-Cookie line {:>4} bytes, cookie value {:>4} bytes",
        line.len(),
        value_len
    );
}

// One straight run: set up each service, print the cookie sizes, then time them in order.
#[allow(clippy::too_many_lines)]
fn benches(c: &mut Criterion) {
    // ---- sealed-session -------------------------------------------------------------
    let layer = SessionLayer::new(config()).expect("bench config is valid");
    let mut no_layer = service_fn(|req: Request<String>| async move {
        black_box(&req);
        Ok::<_, Infallible>(Response::new(String::new()))
    });
    let mut untouched = layer.layer(service_fn(|req: Request<String>| async move {
        black_box(&req);
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let mut read = layer.layer(service_fn(|req: Request<String>| async move {
        let session = req.extensions().get::<Session>().unwrap();
        black_box(count_of(session));
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let mut read_write = layer.layer(service_fn(|req: Request<String>| async move {
        let session = req.extensions().get::<Session>().unwrap();
        let count = count_of(session) + 1;
        session.insert(KEY_NAME, &count).unwrap();
        Ok::<_, Infallible>(Response::new(String::new()))
    }));

    // Answers the count it reads: checks that the cookies carry what the cases expect.
    let mut probe = layer.layer(service_fn(|req: Request<String>| async move {
        let session = req.extensions().get::<Session>().unwrap();
        Ok::<_, Infallible>(Response::new(count_of(session).to_string()))
    }));

    let (sealed_line, sealed_cookie) = set_cookie(&send(&mut read_write, request(None)));
    // Sanity: the captured cookie opens (count 1), and each case behaves as named.
    assert_eq!(send(&mut probe, request(Some(&sealed_cookie))).body(), "1");
    let res = send(&mut read_write, request(Some(&sealed_cookie)));
    let next = set_cookie(&res).1;
    assert_eq!(send(&mut probe, request(Some(&next))).body(), "2");
    let res = send(&mut read, request(Some(&sealed_cookie)));
    assert!(res.headers().get(header::SET_COOKIE).is_none());
    assert_eq!(res.headers()[header::VARY], "Cookie");
    let res = send(&mut untouched, request(Some(&sealed_cookie)));
    assert!(res.headers().is_empty(), "untouched session adds no header");

    // ---- tower-sessions + MemoryStore ---------------------------------------------
    let store = MemoryStore::default();
    let mut ts_probe = SessionManagerLayer::new(store.clone()).layer(service_fn(
        |req: Request<String>| async move {
            let session = req.extensions().get::<tower_sessions::Session>().unwrap();
            let count: u64 = session.get(KEY_NAME).await.unwrap().unwrap_or(0);
            Ok::<_, Infallible>(Response::new(count.to_string()))
        },
    ));
    let mut tower_sessions =
        SessionManagerLayer::new(store).layer(service_fn(|req: Request<String>| async move {
            let session = req
                .extensions()
                .get::<tower_sessions::Session>()
                .unwrap()
                .clone();
            let count: u64 = session.get(KEY_NAME).await.unwrap().unwrap_or(0) + 1;
            session.insert(KEY_NAME, count).await.unwrap();
            Ok::<_, Infallible>(Response::new(String::new()))
        }));
    let (ts_line, ts_cookie) = set_cookie(&send(&mut tower_sessions, request(None)));
    let res = send(&mut tower_sessions, request(Some(&ts_cookie)));
    assert_eq!(set_cookie(&res).1, ts_cookie, "same session id is kept");
    assert_eq!(send(&mut ts_probe, request(Some(&ts_cookie))).body(), "2");

    // ---- axum-extra PrivateCookieJar, serde_json map in the cookie -------------------
    let key = Key::from(&[7u8; 64]);
    let jar_count = {
        let key = key.clone();
        move |cookie: &HeaderValue| {
            let mut headers = http::HeaderMap::new();
            headers.insert(header::COOKIE, cookie.clone());
            let value = PrivateCookieJar::from_headers(&headers, key.clone())
                .get(JAR_COOKIE)
                .expect("jar cookie opens");
            serde_json::from_str::<serde_json::Value>(value.value()).unwrap()[KEY_NAME].as_u64()
        }
    };
    let mut private_jar = service_fn(move |req: Request<String>| {
        let key = key.clone();
        async move {
            let jar = PrivateCookieJar::from_headers(req.headers(), key);
            let mut map: serde_json::Map<String, serde_json::Value> = jar
                .get(JAR_COOKIE)
                .and_then(|c| serde_json::from_str(c.value()).ok())
                .unwrap_or_default();
            let count = map
                .get(KEY_NAME)
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
                + 1;
            map.insert(KEY_NAME.to_owned(), count.into());
            let value = serde_json::to_string(&map).unwrap();
            let jar = jar.add(
                Cookie::build((JAR_COOKIE, value))
                    .path("/")
                    .http_only(true)
                    .secure(true)
                    .same_site(SameSite::Lax),
            );
            let mut res = Response::new(String::new());
            res.headers_mut()
                .extend(jar.into_response().into_parts().0.headers);
            Ok::<_, Infallible>(res)
        }
    });
    let (jar_line, jar_cookie) = set_cookie(&send(&mut private_jar, request(None)));
    let res = send(&mut private_jar, request(Some(&jar_cookie)));
    assert_eq!(jar_count(&jar_cookie), Some(1));
    assert_eq!(jar_count(&set_cookie(&res).1), Some(2));

    eprintln!("Set-Cookie sizes (visit_count = 1):");
    print_length("sealed-session (visit count)", &sealed_line, &sealed_cookie);
    print_length("tower-sessions (id cookie)", &ts_line, &ts_cookie);
    print_length("axum-extra private jar (JSON)", &jar_line, &jar_cookie);

    // ---- the runs ------------------------------------------------------------------
    let setup = || request(Some(&sealed_cookie));
    c.bench_function("no_layer", |b| {
        b.iter_batched(setup, |req| send(&mut no_layer, req), BatchSize::SmallInput);
    });
    c.bench_function("untouched", |b| {
        b.iter_batched(
            setup,
            |req| send(&mut untouched, req),
            BatchSize::SmallInput,
        );
    });
    c.bench_function("read", |b| {
        b.iter_batched(setup, |req| send(&mut read, req), BatchSize::SmallInput);
    });
    c.bench_function("read_write", |b| {
        b.iter_batched(
            setup,
            |req| send(&mut read_write, req),
            BatchSize::SmallInput,
        );
    });
    let mut group = c.benchmark_group("tower_sessions_memory");
    group.bench_function("read_write", |b| {
        b.iter_batched(
            || request(Some(&ts_cookie)),
            |req| send(&mut tower_sessions, req),
            BatchSize::SmallInput,
        );
    });
    group.finish();
    let mut group = c.benchmark_group("private_jar");
    group.bench_function("read_write", |b| {
        b.iter_batched(
            || request(Some(&jar_cookie)),
            |req| send(&mut private_jar, req),
            BatchSize::SmallInput,
        );
    });
    group.finish();
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    benches(&mut c);
    c.final_summary();
    let pending = PENDING.load(Ordering::Relaxed);
    if pending != 0 {
        eprintln!("warning: {pending} Pending polls seen; the noop-waker driver spun on them");
    }
}
