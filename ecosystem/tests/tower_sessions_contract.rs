//! What tower-sessions' documentation promises applications, checked side by side: the same
//! handlers served behind tower-sessions' own `SessionManagerLayer` + `MemoryStore` and behind
//! sealed-session's `TowerSessionsLayer` (client mode and server mode), driven by the same
//! script of requests; every response body must be the same. Then what differs by design
//! (the cookie) is checked on its own: `set_expiry` gives the same kind of cookie.

mod support;

use axum::extract::Query;
use axum::routing::get;
use http::StatusCode;
use sealed_session::store::MemoryStore as OurMemoryStore;
use sealed_session::tower_sessions::TowerSessionsLayer;
use sealed_session::SessionLayer;
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_sessions::{Expiry, MemoryStore, Session, SessionManagerLayer};

use support::{config, Browser, TestServer};

#[derive(Deserialize)]
struct Kv {
    k: Option<String>,
    v: Option<String>,
    secs: Option<i64>,
}

/// Routes that exercise `insert`, `get`, `remove`, `clear`, `cycle_id`, `flush`, `set_expiry`
/// and report what the session holds afterwards.
fn routes() -> axum::Router {
    async fn show(session: &Session) -> String {
        let mut keys = Vec::new();
        for k in ["a", "b", "n"] {
            if let Ok(Some(v)) = session.get::<serde_json::Value>(k).await {
                keys.push(format!("{k}={v}"));
            }
        }
        keys.join(",")
    }
    async fn insert(session: Session, Query(q): Query<Kv>) -> String {
        let k = q.k.unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&q.v.unwrap_or_default()).unwrap();
        session.insert(&k, v).await.unwrap();
        show(&session).await
    }
    async fn get_(session: Session) -> String {
        show(&session).await
    }
    async fn remove(session: Session, Query(q): Query<Kv>) -> String {
        let old: Option<serde_json::Value> =
            session.remove(&q.k.unwrap_or_default()).await.unwrap();
        format!("{old:?}|{}", show(&session).await)
    }
    async fn clear(session: Session) -> String {
        session.clear().await;
        show(&session).await
    }
    async fn count(session: Session) -> String {
        let n: u64 = session.get("n").await.unwrap().unwrap_or(0) + 1;
        session.insert("n", n).await.unwrap();
        n.to_string()
    }
    async fn cycle(session: Session) -> String {
        let before = session.id();
        session.cycle_id().await.unwrap();
        session.insert("a", "after-cycle").await.unwrap();
        format!("{}|{}", before.is_some(), show(&session).await)
    }
    async fn flush(session: Session) -> String {
        session.flush().await.unwrap();
        format!("{}|{}", session.is_empty().await, show(&session).await)
    }
    async fn expiry(session: Session, Query(q): Query<Kv>) -> String {
        let expiry = match q.secs {
            None => Some(Expiry::OnSessionEnd),
            Some(s) => Some(Expiry::OnInactivity(time::Duration::seconds(s))),
        };
        session.set_expiry(expiry);
        session.insert("b", true).await.unwrap();
        show(&session).await
    }
    axum::Router::new()
        .route("/insert", get(insert))
        .route("/get", get(get_))
        .route("/remove", get(remove))
        .route("/clear", get(clear))
        .route("/count", get(count))
        .route("/cycle", get(cycle))
        .route("/flush", get(flush))
        .route("/expiry", get(expiry))
        .route("/plain", get(|| async { "plain" }))
}

/// The script: (path, expected status) pairs; bodies are compared between the stacks.
const SCRIPT: &[&str] = &[
    "/get",
    "/count",
    "/count",
    "/insert?k=a&v=%7B%22x%22%3A%5B1%2C2%5D%7D",
    "/insert?k=b&v=%22text%22",
    "/get",
    "/remove?k=b",
    "/remove?k=missing",
    "/count",
    "/cycle",
    "/get",
    "/count",
    "/clear",
    "/get",
    "/count",
    "/flush",
    "/get",
    "/count",
    "/insert?k=a&v=null",
    "/get",
];

async fn run(srv: &TestServer) -> Vec<String> {
    let mut b = Browser::new(srv);
    let mut out = Vec::new();
    for path in SCRIPT {
        let r = b.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        out.push(format!("{path} → {}", r.body));
    }
    out
}

async fn theirs() -> TestServer {
    TestServer::serve(
        routes().layer(SessionManagerLayer::new(MemoryStore::default()).with_secure(false)),
    )
    .await
}

async fn ours(server_mode: bool) -> TestServer {
    let mut layer = SessionLayer::new(config()).unwrap();
    if server_mode {
        layer = layer.server_store(OurMemoryStore::new());
    }
    TestServer::serve(
        routes().layer(
            ServiceBuilder::new()
                .layer(layer)
                .layer(TowerSessionsLayer::new()),
        ),
    )
    .await
}

#[tokio::test]
async fn the_same_script_reads_the_same_on_tower_sessions_and_on_ours() {
    let expected = run(&theirs().await).await;
    // A sanity check of the script itself.
    assert!(
        expected.iter().any(|l| l.starts_with("/count → 3")),
        "{expected:#?}"
    );
    assert_eq!(run(&ours(false).await).await, expected, "client mode");
    assert_eq!(run(&ours(true).await).await, expected, "server mode");
}

#[tokio::test]
async fn set_expiry_gives_session_or_persistent_cookies_like_tower_sessions() {
    for server_mode in [false, true] {
        let srv = ours(server_mode).await;
        let mut b = Browser::new(&srv);
        let r = b.get("/expiry").await;
        let cookie = r.set_cookies().concat();
        assert!(!cookie.contains("Max-Age"), "OnSessionEnd: {cookie}");
        let r = b.get("/expiry?secs=3600").await;
        let cookie = r.set_cookies().concat();
        assert!(
            cookie.contains("Max-Age=3600"),
            "OnInactivity(1h): {cookie}"
        );
    }
    // tower-sessions' own layer does the same.
    let srv = theirs().await;
    let mut b = Browser::new(&srv);
    assert!(!b
        .get("/expiry")
        .await
        .set_cookies()
        .concat()
        .contains("Max-Age"));
    assert!(b
        .get("/expiry?secs=3600")
        .await
        .set_cookies()
        .concat()
        .contains("Max-Age=3600"));
}

#[tokio::test]
async fn an_untouched_session_sends_no_cookie() {
    for server_mode in [false, true] {
        let srv = ours(server_mode).await;
        let mut b = Browser::new(&srv);
        b.get("/count").await;
        let r = b.get("/get").await;
        assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
        // A route that never takes the session: the cookie is not even opened (no `Vary`,
        // as tower-sessions' own layer sends none either).
        let r = b.get("/plain").await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.set_cookies().is_empty());
        assert!(
            r.headers.get(http::header::VARY).is_none(),
            "{:?}",
            r.headers
        );
    }
}

/// One app, both handles: tower-sessions writes keep what native handlers wrote, and
/// sealed-session's reserved keys are neither shown to nor writable by tower-sessions code.
#[tokio::test]
async fn native_keys_are_kept_and_reserved_keys_are_off_limits() {
    async fn native(session: sealed_session::Session) -> String {
        session.insert("native", "kept").unwrap();
        session.csrf_token().unwrap();
        "ok".to_owned()
    }
    async fn native_get(session: sealed_session::Session) -> String {
        format!(
            "{:?}|{}",
            session.get::<String>("native").unwrap(),
            session.contains(sealed_session::session::CSRF_KEY)
        )
    }
    async fn reserved(session: Session, Query(q): Query<Kv>) -> String {
        let k = q.k.unwrap_or_default();
        format!("{:?}", session.get::<serde_json::Value>(&k).await.unwrap())
    }
    async fn write_reserved(session: Session) -> &'static str {
        session.insert("_csrf", "forged").await.unwrap();
        "written"
    }
    for server_mode in [false, true] {
        let mut layer = SessionLayer::new(config()).unwrap();
        if server_mode {
            layer = layer.server_store(OurMemoryStore::new());
        }
        let app = routes()
            .route("/native", get(native))
            .route("/native-get", get(native_get))
            .route("/reserved", get(reserved))
            .route("/write-reserved", get(write_reserved))
            .layer(
                ServiceBuilder::new()
                    .layer(layer)
                    .layer(TowerSessionsLayer::new()),
            );
        let srv = TestServer::serve(app).await;
        let mut b = Browser::new(&srv);
        assert_eq!(b.get("/native").await.body, "ok");
        assert_eq!(b.get("/count").await.body, "1");
        assert_eq!(b.get("/count").await.body, "2");
        assert_eq!(b.get("/native-get").await.body, "Some(\"kept\")|true");
        assert_eq!(b.get("/reserved?k=_csrf").await.body, "None");
        let r = b.get("/write-reserved").await;
        assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.body);
        assert_eq!(b.get("/native-get").await.body, "Some(\"kept\")|true");
        // `clear` through tower-sessions clears what it can see, as its own layer would.
        b.get("/clear").await;
        assert_eq!(b.get("/native-get").await.body, "None|true");
    }
}
