//! The axum 0.8 routers of the `router` and `router_allocs` benches (issue 13): one router per
//! library, the same routes and the same handler logic in each, and the cookie a returning
//! browser sends to each route.
//!
//! | library (`Case::lib`) | session layer |
//! |---|---|
//! | `bare` | none: the baseline (the untouched route only) |
//! | `noop_layer` | a tower layer that does nothing (`MapRequestLayer` with the identity function): what axum charges any layer, the floor of every untouched row (the untouched route only) |
//! | `sealed_client` | `SessionLayer`, client mode, xaes-256-gcm (the default) |
//! | `sealed_client_aes` | `SessionLayer`, client mode, aes-256-gcm |
//! | `sealed_memory_eager` | `SessionLayer` + sealed-session's `MemoryStore`, `LoadPolicy::Eager` (default) |
//! | `sealed_memory_lazy` | the same with `LoadPolicy::Lazy` |
//! | `tower_sessions` | tower-sessions' `SessionManagerLayer` + its `MemoryStore` |
//! | `sealed_tower_sessions` | `SessionLayer` (client mode, xaes) + `TowerSessionsLayer`: the same `tower_sessions::Session` handlers on sealed cookies |
//! | `private_jar` | no layer: axum-extra's `PrivateCookieJar` extractor, a JSON map in one cookie |
//!
//! | row (`Case::row`) | route | what the handler does |
//! |---|---|---|
//! | `untouched` | `/` | never takes the session |
//! | `counter_read` | `/counter/read` | reads `visit_count` (u64) |
//! | `counter_rw` | `/counter/rw` | reads `visit_count`, writes it + 1 |
//! | `struct_rw` | `/struct/rw` | reads the `Typical` struct stored as one entry `session`, writes it back with `last_seen + 1` |
//! | `struct_read` | `/struct/read` | reads the `Typical` struct |
//! | `seven_rw` | `/seven/rw` | reads the 7 entries of the typical session, writes `last_seen + 1` |
//! | `seven_read` | `/seven/read` | reads the 7 entries |
//!
//! Each handler takes its library's extractor (`sealed_session::Session`,
//! `tower_sessions::Session`, `PrivateCookieJar`). Each data set (counter, struct, seven) is
//! seeded once by a `/seed/...` route of the same router; every timed request then carries the
//! cookie that seed response set, as a returning browser does: `untouched` carries the struct
//! session's cookie, as does the bare router. Client-mode cookies stay valid when re-sent
//! (the rw responses' new cookies differ only in the nonce and the written value); the
//! server-side stores keep the record under the same id.
//!
//! A request is `router.clone().oneshot(req)` (axum clones the router per connection), polled
//! with a no-op waker: every future here completes on its first poll (the tower-sessions
//! `MemoryStore`'s `tokio::sync::Mutex` is uncontended). `Pending` polls are counted in
//! [`PENDING`]; none is expected.

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::{Cookie, Key, PrivateCookieJar, SameSite};
use http::{header, HeaderValue, Request, Response};
use sealed_session::config::LoadPolicy;
use sealed_session::{SessionConfig, SessionLayer};
use serde::Deserialize;
use tower::ServiceExt;

use crate::common::{typical, Typical};

/// `Pending` polls seen while driving futures (expected: none).
pub static PENDING: AtomicU64 = AtomicU64::new(0);

/// The key of `tests/common/http.rs`, as in the other benches.
const SECRET: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";
const COUNTER: &str = "visit_count";
/// The key of the `Typical` struct stored as one entry.
const STRUCT: &str = "session";
/// The cookie that holds the private jar's JSON map.
const JAR_COOKIE: &str = "session";

/// The libraries, in the order they are measured.
pub const LIBS: [&str; 9] = [
    "bare",
    "noop_layer",
    "sealed_client",
    "sealed_client_aes",
    "sealed_memory_eager",
    "sealed_memory_lazy",
    "tower_sessions",
    "sealed_tower_sessions",
    "private_jar",
];

/// The rows of every library but `bare`, in the order they are measured, with their routes.
pub const ROWS: [(&str, &str); 7] = [
    ("untouched", "/"),
    ("counter_read", "/counter/read"),
    ("counter_rw", "/counter/rw"),
    ("struct_rw", "/struct/rw"),
    ("struct_read", "/struct/read"),
    ("seven_rw", "/seven/rw"),
    ("seven_read", "/seven/read"),
];

/// One timed request: a library's router, a route, and the cookie a returning browser sends.
pub struct Case {
    pub lib: &'static str,
    pub row: &'static str,
    path: &'static str,
    router: Router,
    cookie: HeaderValue,
}

impl Case {
    /// `lib/row`, the name of the case in the output and in criterion's directories.
    pub fn name(&self) -> String {
        format!("{}/{}", self.lib, self.row)
    }

    /// The request (built outside the timed loop).
    pub fn request(&self) -> Request<Body> {
        request(self.path, Some(&self.cookie))
    }

    /// One request through a clone of the router, response dropped.
    pub fn run(&self, req: Request<Body>) {
        drop(send(&self.router, req));
    }
}

/// Every case: `bare/untouched`, then each library's seven rows.
pub fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut bare_cookie = None;
    for lib in LIBS {
        if lib == "bare" || lib == "noop_layer" {
            continue;
        }
        let router = router(lib);
        let counter = seed(&router, "/seed/counter");
        let structure = seed(&router, "/seed/struct");
        let seven = seed(&router, "/seed/seven");
        if lib == "sealed_client" {
            bare_cookie = Some(structure.clone());
        }
        for (row, path) in ROWS {
            let cookie = match row {
                "counter_read" | "counter_rw" => counter.clone(),
                "seven_read" | "seven_rw" => seven.clone(),
                _ => structure.clone(),
            };
            cases.push(Case {
                lib,
                row,
                path,
                router: router.clone(),
                cookie,
            });
        }
    }
    let bare = Case {
        lib: "bare",
        row: "untouched",
        path: "/",
        router: Router::new().route("/", get(untouched)),
        cookie: bare_cookie.expect("sealed_client is measured"),
    };
    let noop =
        Case {
            lib: "noop_layer",
            router: Router::new().route("/", get(untouched)).layer(
                tower::util::MapRequestLayer::new(std::convert::identity::<Request<Body>>),
            ),
            path: bare.path,
            row: bare.row,
            cookie: bare.cookie.clone(),
        };
    cases.insert(0, noop);
    cases.insert(0, bare);
    for case in &cases {
        check(case);
    }
    cases
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

fn send(router: &Router, req: Request<Body>) -> Response<Body> {
    match drive(router.clone().oneshot(req)) {
        Ok(res) => res,
        Err(e) => match e {},
    }
}

fn request(path: &str, cookie: Option<&HeaderValue>) -> Request<Body> {
    let mut req = Request::get(path).body(Body::empty()).expect("request");
    if let Some(c) = cookie {
        req.headers_mut().insert(header::COOKIE, c.clone());
    }
    req
}

/// Sends `path` without a cookie; returns the `name=value` pair the response set.
fn seed(router: &Router, path: &str) -> HeaderValue {
    let res = send(router, request(path, None));
    assert!(res.status().is_success(), "{path}: {}", res.status());
    let mut lines = res.headers().get_all(header::SET_COOKIE).iter();
    let line = lines.next().expect("a seed sets a cookie");
    assert!(lines.next().is_none(), "{path}: exactly one Set-Cookie");
    let pair = line
        .to_str()
        .expect("ASCII")
        .split(';')
        .next()
        .expect("pair");
    HeaderValue::from_str(pair).expect("valid header")
}

/// Every case answers 200 (its handler found what it reads: they panic otherwise), read rows
/// and the untouched route set no cookie, the rw rows of the client-mode and cookie-jar
/// libraries do, and the untouched route gets no `Vary` or `Cache-Control` (no session work).
fn check(case: &Case) {
    let res = send(&case.router, case.request());
    assert!(
        res.status().is_success(),
        "{}: {}",
        case.name(),
        res.status()
    );
    let sets = res.headers().contains_key(header::SET_COOKIE);
    if case.row.ends_with("_read") || case.row == "untouched" {
        assert!(!sets, "{}: a read sets no cookie", case.name());
    }
    if case.row == "untouched" {
        let h = res.headers();
        assert!(
            !h.contains_key(header::VARY) && !h.contains_key(header::CACHE_CONTROL),
            "{}: {h:?}",
            case.name()
        );
    }
    if case.lib.starts_with("sealed_client") || case.lib == "private_jar" {
        assert_eq!(sets, case.row.ends_with("_rw"), "{}", case.name());
    }
}

/// The length of the cookie each data set sends back, on stderr.
pub fn print_cookie_lengths(cases: &[Case]) {
    eprintln!("cookie sent back (name=value), bytes:");
    for case in cases
        .iter()
        .filter(|c| matches!(c.row, "counter_rw" | "struct_rw" | "seven_rw"))
    {
        eprintln!("  {:<36} {:>4}", case.name(), case.cookie.len());
    }
}

fn router(lib: &str) -> Router {
    let config = |algorithm: &str| {
        SessionConfig::from_toml_str(&format!(
            "[[keys]]\nid = 1\nalgorithm = \"{algorithm}\"\nsecret = \"{SECRET}\"\n"
        ))
        .expect("bench config parses")
    };
    let layer = |algorithm: &str| SessionLayer::new(config(algorithm)).expect("valid config");
    let memory = || layer("xaes-256-gcm").server_store(sealed_session::store::MemoryStore::new());
    match lib {
        "sealed_client" => sealed::router().layer(layer("xaes-256-gcm")),
        "sealed_client_aes" => sealed::router().layer(layer("aes-256-gcm")),
        "sealed_memory_eager" => sealed::router().layer(memory().load_policy(LoadPolicy::Eager)),
        "sealed_memory_lazy" => sealed::router().layer(memory().load_policy(LoadPolicy::Lazy)),
        "tower_sessions" => ts::router().layer(tower_sessions::SessionManagerLayer::new(
            tower_sessions::MemoryStore::default(),
        )),
        "sealed_tower_sessions" => ts14::router().layer(
            tower::ServiceBuilder::new()
                .layer(layer("xaes-256-gcm"))
                .layer(sealed_session::tower_sessions::TowerSessionsLayer::new()),
        ),
        "private_jar" => jar::router().with_state(Key::from(&[7u8; 64])),
        other => unreachable!("no library {other}"),
    }
}

async fn untouched() -> &'static str {
    ""
}

/// The typical session from its seven entries, each read by `get(key)`.
macro_rules! read_seven {
    ($get:ident) => {
        Typical {
            user_id: $get!("user_id"),
            username: $get!("username"),
            roles: $get!("roles"),
            csrf_token: $get!("csrf_token"),
            cart: $get!("cart"),
            theme: $get!("theme"),
            last_seen: $get!("last_seen"),
        }
    };
}

/// The routes of every library's router, to the handlers of the module it is expanded in
/// (each module defines `untouched` … `seed_seven` for its own session type).
macro_rules! routes {
    () => {
        Router::new()
            .route("/", get(untouched))
            .route("/counter/read", get(counter_read))
            .route("/counter/rw", get(counter_rw))
            .route("/struct/rw", get(struct_rw))
            .route("/struct/read", get(struct_read))
            .route("/seven/rw", get(seven_rw))
            .route("/seven/read", get(seven_read))
            .route("/seed/counter", get(counter_rw))
            .route("/seed/struct", get(seed_struct))
            .route("/seed/seven", get(seed_seven))
    };
}

mod sealed {
    use super::{black_box, get, typical, untouched, Router, Typical, COUNTER, STRUCT};
    use sealed_session::Session;

    pub fn router() -> Router {
        routes!()
    }

    fn count(s: &Session) -> u64 {
        s.get::<u64>(COUNTER).expect("decodes").unwrap_or(0)
    }

    async fn counter_read(s: Session) -> &'static str {
        black_box(s.get::<u64>(COUNTER).expect("decodes").expect("seeded"));
        ""
    }

    async fn counter_rw(s: Session) -> &'static str {
        s.insert(COUNTER, &(count(&s) + 1)).expect("encodes");
        ""
    }

    fn structure(s: &Session) -> Typical {
        s.get(STRUCT).expect("decodes").expect("seeded")
    }

    async fn struct_read(s: Session) -> &'static str {
        black_box(structure(&s));
        ""
    }

    async fn struct_rw(s: Session) -> &'static str {
        let mut t = structure(&s);
        t.last_seen += 1;
        s.insert(STRUCT, &t).expect("encodes");
        ""
    }

    fn seven(s: &Session) -> Typical {
        macro_rules! get {
            ($k:literal) => {
                s.get($k).expect("decodes").expect("seeded")
            };
        }
        read_seven!(get)
    }

    async fn seven_read(s: Session) -> &'static str {
        black_box(seven(&s));
        ""
    }

    async fn seven_rw(s: Session) -> &'static str {
        let t = seven(&s);
        s.insert("last_seen", &(t.last_seen + 1)).expect("encodes");
        ""
    }

    async fn seed_struct(s: Session) -> &'static str {
        s.insert(STRUCT, &typical()).expect("encodes");
        ""
    }

    async fn seed_seven(s: Session) -> &'static str {
        let t = typical();
        s.insert("user_id", &t.user_id).expect("encodes");
        s.insert("username", &t.username).expect("encodes");
        s.insert("roles", &t.roles).expect("encodes");
        s.insert("csrf_token", &t.csrf_token).expect("encodes");
        s.insert("cart", &t.cart).expect("encodes");
        s.insert("theme", &t.theme).expect("encodes");
        s.insert("last_seen", &t.last_seen).expect("encodes");
        ""
    }
}

/// The tower-sessions handlers, for a `Session` type: tower-sessions 0.15's own, and 0.14's
/// (the version axum-login and axum-messages use), which sealed-session's
/// `TowerSessionsLayer` provides.
macro_rules! tower_sessions_handlers {
    ($name:ident, $session:path) => {
        mod $name {
            use super::{black_box, get, typical, untouched, Router, Typical, COUNTER, STRUCT};
            type Session = $session;

            pub fn router() -> Router {
                routes!()
            }

            async fn counter_read(s: Session) -> &'static str {
                black_box(
                    s.get::<u64>(COUNTER)
                        .await
                        .expect("decodes")
                        .expect("seeded"),
                );
                ""
            }

            async fn counter_rw(s: Session) -> &'static str {
                let n = s.get::<u64>(COUNTER).await.expect("decodes").unwrap_or(0) + 1;
                s.insert(COUNTER, n).await.expect("encodes");
                ""
            }

            async fn structure(s: &Session) -> Typical {
                s.get(STRUCT).await.expect("decodes").expect("seeded")
            }

            async fn struct_read(s: Session) -> &'static str {
                black_box(structure(&s).await);
                ""
            }

            async fn struct_rw(s: Session) -> &'static str {
                let mut t = structure(&s).await;
                t.last_seen += 1;
                s.insert(STRUCT, t).await.expect("encodes");
                ""
            }

            // Written out: a `macro_rules!` inside this macro cannot take `$` arguments.
            async fn seven(s: &Session) -> Typical {
                Typical {
                    user_id: s.get("user_id").await.expect("decodes").expect("seeded"),
                    username: s.get("username").await.expect("decodes").expect("seeded"),
                    roles: s.get("roles").await.expect("decodes").expect("seeded"),
                    csrf_token: s.get("csrf_token").await.expect("decodes").expect("seeded"),
                    cart: s.get("cart").await.expect("decodes").expect("seeded"),
                    theme: s.get("theme").await.expect("decodes").expect("seeded"),
                    last_seen: s.get("last_seen").await.expect("decodes").expect("seeded"),
                }
            }

            async fn seven_read(s: Session) -> &'static str {
                black_box(seven(&s).await);
                ""
            }

            async fn seven_rw(s: Session) -> &'static str {
                let t = seven(&s).await;
                s.insert("last_seen", t.last_seen + 1)
                    .await
                    .expect("encodes");
                ""
            }

            async fn seed_struct(s: Session) -> &'static str {
                s.insert(STRUCT, typical()).await.expect("encodes");
                ""
            }

            async fn seed_seven(s: Session) -> &'static str {
                let t = typical();
                s.insert("user_id", t.user_id).await.expect("encodes");
                s.insert("username", t.username).await.expect("encodes");
                s.insert("roles", t.roles).await.expect("encodes");
                s.insert("csrf_token", t.csrf_token).await.expect("encodes");
                s.insert("cart", t.cart).await.expect("encodes");
                s.insert("theme", t.theme).await.expect("encodes");
                s.insert("last_seen", t.last_seen).await.expect("encodes");
                ""
            }
        }
    };
}

tower_sessions_handlers!(ts, tower_sessions::Session);
tower_sessions_handlers!(ts14, tower_sessions_core_014::Session);

/// axum-extra's `PrivateCookieJar`: the session is a JSON map (`serde_json::Map`) in one
/// private cookie, read with `serde_json`, each value deserialized from the parsed map.
mod jar {
    use super::{
        black_box, get, typical, untouched, Cookie, Deserialize, Key, PrivateCookieJar, Router,
        SameSite, Typical, COUNTER, JAR_COOKIE, STRUCT,
    };
    use serde_json::{Map, Value};

    type Jar = PrivateCookieJar<Key>;

    pub fn router() -> Router<Key> {
        routes!()
    }

    fn map(jar: &Jar) -> Map<String, Value> {
        jar.get(JAR_COOKIE)
            .and_then(|c| serde_json::from_str(c.value()).ok())
            .unwrap_or_default()
    }

    fn put(jar: Jar, map: &Map<String, Value>) -> Jar {
        let value = serde_json::to_string(map).expect("encodes");
        jar.add(
            Cookie::build((JAR_COOKIE, value))
                .path("/")
                .http_only(true)
                .secure(true)
                .same_site(SameSite::Lax),
        )
    }

    fn value<'a, T: Deserialize<'a>>(map: &'a Map<String, Value>, key: &str) -> T {
        T::deserialize(map.get(key).expect("seeded")).expect("decodes")
    }

    async fn counter_read(jar: Jar) -> &'static str {
        black_box(value::<u64>(&map(&jar), COUNTER));
        ""
    }

    async fn counter_rw(jar: Jar) -> (Jar, &'static str) {
        let mut map = map(&jar);
        let n = map.get(COUNTER).and_then(Value::as_u64).unwrap_or(0) + 1;
        map.insert(COUNTER.to_owned(), n.into());
        (put(jar, &map), "")
    }

    async fn struct_read(jar: Jar) -> &'static str {
        black_box(value::<Typical>(&map(&jar), STRUCT));
        ""
    }

    async fn struct_rw(jar: Jar) -> (Jar, &'static str) {
        let mut map = map(&jar);
        let mut t: Typical = value(&map, STRUCT);
        t.last_seen += 1;
        map.insert(
            STRUCT.to_owned(),
            serde_json::to_value(&t).expect("encodes"),
        );
        (put(jar, &map), "")
    }

    fn seven(map: &Map<String, Value>) -> Typical {
        macro_rules! get {
            ($k:literal) => {
                value(map, $k)
            };
        }
        read_seven!(get)
    }

    async fn seven_read(jar: Jar) -> &'static str {
        black_box(seven(&map(&jar)));
        ""
    }

    async fn seven_rw(jar: Jar) -> (Jar, &'static str) {
        let mut map = map(&jar);
        let t = seven(&map);
        map.insert("last_seen".to_owned(), (t.last_seen + 1).into());
        (put(jar, &map), "")
    }

    async fn seed_struct(jar: Jar) -> (Jar, &'static str) {
        let mut map = Map::new();
        map.insert(
            STRUCT.to_owned(),
            serde_json::to_value(typical()).expect("encodes"),
        );
        (put(jar, &map), "")
    }

    async fn seed_seven(jar: Jar) -> (Jar, &'static str) {
        let Value::Object(map) = serde_json::to_value(typical()).expect("encodes") else {
            unreachable!("a struct is a JSON object");
        };
        (put(jar, &map), "")
    }
}
