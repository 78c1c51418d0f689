//! The layer against a real hyper server on 127.0.0.1 and a real HTTP client with a cookie
//! jar, as one matrix over the three modes: client (sealed cookie), memory and redis (server
//! mode). Redis tests start their own `redis-server`; see tests/common/redis.rs.

mod common;

use std::time::Duration;

use base64::Engine as _;
use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use sealed_session::store::{MemoryStore, RedisStore};
use sealed_session::time::ManualClock;
use sealed_session::{Session, SessionConfig, SessionLayer};

use common::http::{config, text, Body, Browser, TestServer, KEY1, KEY2};
use common::redis::RedisServer;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Client,
    Memory,
    Redis,
}

/// A layer in `mode`, with the Redis server it needs kept alive. `None`: Redis unavailable
/// and not required (the test is skipped loudly).
struct Harness {
    layer: SessionLayer,
    _redis: Option<RedisServer>,
}

impl Harness {
    async fn new(mode: Mode, layer: SessionLayer) -> Option<Harness> {
        Some(match mode {
            Mode::Client => Harness {
                layer,
                _redis: None,
            },
            Mode::Memory => Harness {
                layer: layer.server_store(MemoryStore::new()),
                _redis: None,
            },
            Mode::Redis => {
                let redis = RedisServer::start()?;
                let store = RedisStore::connect(&redis.url()).await.unwrap();
                Harness {
                    layer: layer.server_store(store),
                    _redis: Some(redis),
                }
            }
        })
    }
}

macro_rules! matrix {
    ($($name:ident),* $(,)?) => {
        mod client {
            $( #[tokio::test] async fn $name() { super::$name(super::Mode::Client).await } )*
        }
        mod memory {
            $( #[tokio::test] async fn $name() { super::$name(super::Mode::Memory).await } )*
        }
        mod redis {
            $( #[tokio::test] async fn $name() { super::$name(super::Mode::Redis).await } )*
        }
    };
}

matrix!(
    counter_goes_1_2_3,
    set_cookie_has_secure_defaults_and_max_age,
    tampered_cookie_restarts_at_1_with_200,
    invalid_cookie_is_removed_when_the_session_is_read,
    untouched_session_sends_no_set_cookie_and_no_vary,
    read_only_request_varies_on_cookie_and_sends_nothing,
    large_session_round_trips_and_shrinks_back,
    flush_removes_every_cookie,
    session_past_max_chunks,
    cookie_sealed_with_old_key_comes_back_under_the_primary,
    tossed_cookies_first_that_opens_wins,
    idle_renewal_only_past_the_threshold,
    login_cycles_and_logout_flushes,
);

const NAME: &str = "__Host-session";

fn query_n(req: &Request<Incoming>) -> usize {
    req.uri()
        .query()
        .and_then(|q| q.strip_prefix("n="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The test app: a counter and routes that exercise each part of the session API.
async fn app(req: Request<Incoming>) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    match (req.method().clone(), req.uri().path()) {
        (Method::GET, "/") => {
            let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
            session.insert("visit_count", &count).unwrap();
            text(
                StatusCode::OK,
                format!("You have visited this page {count} times."),
            )
        }
        (Method::GET, "/untouched") => text(StatusCode::OK, "ok"),
        (Method::GET, "/read") => {
            let count: u64 = session.get("visit_count").unwrap().unwrap_or(0);
            text(StatusCode::OK, count.to_string())
        }
        (Method::POST, "/blob") => {
            // Incompressible-looking bytes, so the sealed size grows with n.
            let n = query_n(&req);
            let blob: Vec<u8> = (0..n)
                .map(|i| u8::try_from(i * 7919 % 251).unwrap())
                .collect();
            if n == 0 {
                session.remove("blob");
            } else {
                session.insert("blob", &blob).unwrap();
            }
            text(StatusCode::OK, "stored")
        }
        (Method::GET, "/blob") => {
            let blob: Vec<u8> = session.get("blob").unwrap().unwrap_or_default();
            let ok = blob
                .iter()
                .enumerate()
                .all(|(i, &b)| usize::from(b) == i * 7919 % 251);
            text(StatusCode::OK, format!("{} {ok}", blob.len()))
        }
        (Method::POST, "/login") => {
            session.cycle();
            session.insert("user", "ada").unwrap();
            text(StatusCode::OK, "welcome")
        }
        (Method::GET, "/me") => match session.get::<String>("user").unwrap() {
            Some(user) => text(StatusCode::OK, user),
            None => text(StatusCode::UNAUTHORIZED, "who?"),
        },
        (Method::POST, "/flush") => {
            session.flush();
            text(StatusCode::OK, "bye")
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// The server, its layer, and the harness to keep alive; `None` when skipped.
async fn server(mode: Mode, config: SessionConfig) -> Option<(TestServer, SessionLayer, Harness)> {
    let h = Harness::new(mode, SessionLayer::new(config).unwrap()).await?;
    let layer = h.layer.clone();
    Some((TestServer::start(layer.clone(), app).await, layer, h))
}

fn key_id_of(value: &str) -> u8 {
    let value = value.split_once('.').map_or(value, |(_, v)| v);
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .unwrap()[1]
}

async fn counter_goes_1_2_3(mode: Mode) {
    let Some((srv, _, _h)) = server(mode, config("")).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    for n in 1..=3 {
        let r = b.get("/").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, format!("You have visited this page {n} times."));
        // Every write sends the cookie again, with the lifetime the write gave the session:
        // client mode re-seals the changed session, server mode sends the same id (the data
        // stays in the store).
        assert_eq!(r.set_cookies().len(), 1);
    }
    assert!(b.jar.contains_key(NAME));
}

async fn set_cookie_has_secure_defaults_and_max_age(mode: Mode) {
    let Some((srv, _, _h)) = server(mode, config("[expiry]\nidle = \"30m\"")).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    let line = b.get("/").await.set_cookies().remove(0);
    for attr in [
        "HttpOnly",
        "Secure",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=1800",
        "Expires=",
    ] {
        assert!(line.contains(attr), "{line} lacks {attr}");
    }
}

async fn tampered_cookie_restarts_at_1_with_200(mode: Mode) {
    let Some((srv, _, _h)) = server(mode, config("")).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    b.get("/").await;
    b.get("/").await;
    let v = b.jar.get_mut(NAME).unwrap();
    let mid = v.len() / 2;
    let flipped = if &v[mid..=mid] == "A" { "B" } else { "A" };
    v.replace_range(mid..=mid, flipped);
    let r = b.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "You have visited this page 1 times.");
    assert_eq!(b.get("/").await.body, "You have visited this page 2 times.");
}

async fn invalid_cookie_is_removed_when_the_session_is_read(mode: Mode) {
    let Some((srv, _, _h)) = server(mode, config("")).await else {
        return;
    };
    let b = Browser::new(&srv);
    let r = b
        .send_raw(Method::GET, "/read", Some(format!("{NAME}=garbage")))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let lines = r.set_cookies();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with(&format!("{NAME}=;")) && lines[0].contains("Max-Age=0"));
}

async fn untouched_session_sends_no_set_cookie_and_no_vary(mode: Mode) {
    let Some((srv, _, _h)) = server(mode, config("")).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let r = b.get("/untouched").await;
    assert!(r.set_cookies().is_empty());
    assert!(r.headers.get(header::VARY).is_none());
    // Not even a garbage cookie is looked at.
    let r = b
        .send_raw(Method::GET, "/untouched", Some(format!("{NAME}=garbage")))
        .await;
    assert!(r.set_cookies().is_empty());
}

async fn read_only_request_varies_on_cookie_and_sends_nothing(mode: Mode) {
    let Some((srv, _, _h)) = server(mode, config("")).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let r = b.get("/read").await;
    assert_eq!(r.body, "1");
    assert!(r.set_cookies().is_empty());
    assert_eq!(r.headers[header::VARY], "Cookie");
    assert_eq!(r.headers[header::CACHE_CONTROL], "private");
}

async fn large_session_round_trips_and_shrinks_back(mode: Mode) {
    let Some((srv, _, _h)) = server(mode, config("[cookie]\nmax_chunks = 8")).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let r = b.post("/blob?n=9000").await;
    let lines = r.set_cookies();
    assert!(lines.iter().all(|l| l.len() <= 4096));
    if mode == Mode::Client {
        // Over 4 KB: split over NAME, NAME.1, NAME.2, ...
        assert!(lines.len() >= 3, "{lines:?}");
        assert!(
            b.jar.contains_key(&format!("{NAME}.1")) && b.jar.contains_key(&format!("{NAME}.2"))
        );
    } else {
        // Server mode: the data is in the store; one id cookie (sent again for the write).
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(lines[0].starts_with(&format!("{NAME}=")), "{lines:?}");
        assert_eq!(b.jar.len(), 1);
    }
    assert_eq!(b.get("/blob").await.body, "9000 true");
    assert_eq!(b.get("/").await.body, "You have visited this page 2 times.");
    // Shrink: back to one cookie, every chunk removed.
    b.post("/blob?n=0").await;
    assert_eq!(b.jar.keys().collect::<Vec<_>>(), [NAME]);
    assert_eq!(b.get("/").await.body, "You have visited this page 3 times.");
}

/// A restart that lowers `cookie.max_chunks` (client mode): the first write removes every
/// chunk the browser still has, including those past the new limit, which it used to keep
/// sending on every request until they expired.
#[tokio::test]
async fn lowering_max_chunks_removes_the_chunks_past_it() {
    let Some((wide, _, _h)) = server(Mode::Client, config("[cookie]\nmax_chunks = 8")).await else {
        return;
    };
    let mut b = Browser::new(&wide);
    b.post("/blob?n=9000").await;
    assert!(b.jar.len() >= 3, "{:?}", b.jar.keys());
    let Some((narrow, _, _h)) = server(Mode::Client, config("[cookie]\nmax_chunks = 2")).await
    else {
        return;
    };
    let mut n = Browser::new(&narrow);
    n.jar = b.jar.clone();
    // The old value is too long for two chunks: refused, a new session begins.
    assert_eq!(n.get("/").await.body, "You have visited this page 1 times.");
    assert_eq!(n.jar.keys().collect::<Vec<_>>(), [NAME]);
}

async fn flush_removes_every_cookie(mode: Mode) {
    let Some((srv, _, _h)) = server(mode, config("[cookie]\nmax_chunks = 8")).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    b.post("/blob?n=9000").await;
    let cookies = b.jar.len();
    assert!(cookies >= if mode == Mode::Client { 3 } else { 1 });
    let r = b.post("/flush").await;
    let removals = r
        .set_cookies()
        .into_iter()
        .filter(|l| l.contains("Max-Age=0"))
        .count();
    assert_eq!(removals, cookies);
    assert!(b.jar.is_empty());
    assert_eq!(b.get("/").await.body, "You have visited this page 1 times.");
}

async fn session_past_max_chunks(mode: Mode) {
    let Some((srv, _, _h)) = server(mode, config("[cookie]\nmax_chunks = 2")).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let before = b.jar.clone();
    let r = b.post("/blob?n=9000").await;
    if mode == Mode::Client {
        // Never dropped silently: a 500, and the client keeps its old cookie.
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(r.set_cookies().is_empty());
        assert_eq!(b.jar, before);
    } else {
        // Server mode has no cookie size limit on the data.
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(b.get("/blob").await.body, "9000 true");
    }
}

async fn cookie_sealed_with_old_key_comes_back_under_the_primary(mode: Mode) {
    let Some((srv, layer, _h)) = server(mode, config("")).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    b.get("/").await;
    assert_eq!(key_id_of(&b.jar[NAME]), 1);
    let rotated: SessionConfig = toml::from_str(&format!(
        "[[keys]]\nid = 2\nsecret = \"{KEY2}\"\n[[keys]]\nid = 1\nsecret = \"{KEY1}\"\nstate = \"decrypt-only\"\n"
    ))
    .unwrap();
    layer.key_ring_handle().reload(&rotated).unwrap();
    // A read-only request: nothing changed, but the cookie is re-sealed under key 2.
    let r = b.get("/read").await;
    assert_eq!(r.body, "1");
    assert_eq!(r.set_cookies().len(), 1);
    assert_eq!(key_id_of(&b.jar[NAME]), 2);
    assert_eq!(b.get("/").await.body, "You have visited this page 2 times.");
}

async fn tossed_cookies_first_that_opens_wins(mode: Mode) {
    let Some((srv, _, _h)) = server(mode, config("")).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    b.get("/").await;
    b.get("/").await;
    let good = b.jar[NAME].clone();
    let header = format!("{NAME}=AQFtossed; {NAME}={good}; {NAME}=zzz");
    let r = b.send_raw(Method::GET, "/read", Some(header)).await;
    assert_eq!(r.body, "2");
}

async fn idle_renewal_only_past_the_threshold(mode: Mode) {
    let clock = ManualClock::at_unix(1_700_000_000);
    let layer = SessionLayer::new(config("[expiry]\nidle = \"40m\"\nrenew_after = \"10m\""))
        .unwrap()
        .clock(clock.clone());
    let Some(h) = Harness::new(mode, layer).await else {
        return;
    };
    let srv = TestServer::start(h.layer.clone(), app).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    clock.advance(Duration::from_mins(9));
    assert!(b.get("/read").await.set_cookies().is_empty());
    clock.advance(Duration::from_mins(1));
    assert_eq!(b.get("/read").await.set_cookies().len(), 1);
    assert!(b.get("/read").await.set_cookies().is_empty());
    // Idle for the whole timeout: a new session.
    clock.advance(Duration::from_mins(42));
    assert_eq!(b.get("/").await.body, "You have visited this page 1 times.");
}

async fn login_cycles_and_logout_flushes(mode: Mode) {
    let Some((srv, _, _h)) = server(mode, config("")).await else {
        return;
    };
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let before_login = b.jar[NAME].clone();
    assert_eq!(b.post("/login").await.status, StatusCode::OK);
    let after_login = b.jar[NAME].clone();
    assert_ne!(before_login, after_login);
    assert_eq!(b.get("/me").await.body, "ada");
    // The data survived the cycle.
    assert_eq!(b.get("/read").await.body, "1");
    if mode != Mode::Client {
        // Fixation protection: the pre-login id no longer has a record.
        let r = b
            .send_raw(Method::GET, "/read", Some(format!("{NAME}={before_login}")))
            .await;
        assert_eq!(r.body, "0");
    }
    b.post("/flush").await;
    assert!(b.jar.is_empty());
    assert_eq!(b.get("/me").await.status, StatusCode::UNAUTHORIZED);
    if mode != Mode::Client {
        // Revocation: replaying the logged-in cookie after logout finds nothing.
        let r = b
            .send_raw(Method::GET, "/me", Some(format!("{NAME}={after_login}")))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
}

/// Issue 12, S6: the layer used to replace a handler's `Cache-Control` with a bare `private`,
/// which dropped `no-cache`/`max-age=0`/`must-revalidate` (a browser could then reuse a stale
/// page). It must add `private` to what the handler said, drop only what would let a shared
/// cache store the response, and never weaken anything else.
#[tokio::test]
async fn handler_cache_control_is_merged_never_weakened() {
    use http::header::CACHE_CONTROL;
    use tower::{Layer as _, ServiceExt as _};

    let cases: &[(&[&str], &[&str])] = &[
        // Kept, with `private` added.
        (
            &["no-cache, max-age=0, must-revalidate"],
            &["no-cache, max-age=0, must-revalidate, private"],
        ),
        // Two header lines become one.
        (
            &["no-cache", "max-age=0"],
            &["no-cache, max-age=0, private"],
        ),
        // What lets a shared cache store it goes; the rest stays.
        (&["public, max-age=600"], &["max-age=600, private"]),
        (&["s-maxage=600, max-age=60"], &["max-age=60, private"]),
        (&["Public, S-MaxAge=5, immutable"], &["immutable, private"]),
        // `private="Set-Cookie"` lets a shared cache store the rest of the response.
        (
            &["private=\"Set-Cookie, X-Token\", max-age=60"],
            &["max-age=60, private"],
        ),
        // Already private, or not stored at all: left exactly as the handler set it.
        (&["private, max-age=60"], &["private, max-age=60"]),
        (&["no-store"], &["no-store"]),
        (&["no-store, public"], &["no-store, public"]),
        // Nothing set: `private`.
        (&[], &["private"]),
    ];
    for &(set, want) in cases {
        let layer = SessionLayer::new(config("")).unwrap();
        let svc = layer.layer(tower::service_fn(move |req: Request<()>| async move {
            let session = req.extensions().get::<Session>().unwrap();
            session.insert("n", &1u8).unwrap();
            let mut res = Response::new(String::new());
            for v in set {
                res.headers_mut()
                    .append(CACHE_CONTROL, http::HeaderValue::from_static(v));
            }
            Ok::<_, std::convert::Infallible>(res)
        }));
        let res = svc.oneshot(Request::new(())).await.unwrap();
        let got: Vec<&str> = res
            .headers()
            .get_all(CACHE_CONTROL)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(got, want, "the handler set {set:?}");
        assert_eq!(res.headers()[header::VARY], "Cookie");
    }
}
