//! One app, both handles in the same handler: tower-sessions code (axum-login's login and
//! logout, a `remove`, a `set_expiry`) and native sealed-session calls (flash messages, the
//! auth stamp, values), in client mode, server mode and lazy server mode. What a handler
//! writes happens in the order it wrote it, and tower-sessions code never throws away what
//! native code wrote after it.
//!
//! Each case was a defect found by review (2026-12-02): the bridge ended the session when the
//! response left, so native writes made after `cycle_id` or `flush` were wiped (the auth stamp
//! included, so revalidation silently stopped); a fresh visitor's native values were flushed
//! when tower-sessions code merely touched its empty session; lazy server mode dropped a
//! `set_expiry` or a `clear`; one native value JSON cannot hold made every tower-sessions read
//! fail.

mod support;

use std::collections::BTreeMap;

use axum::routing::get;
use sealed_session::config::LoadPolicy;
use sealed_session::data::SessionExpiry;
use sealed_session::session::Level;
use sealed_session::store::MemoryStore;
use sealed_session::tower_sessions::TowerSessionsLayer;
use sealed_session::SessionLayer;
use tower::ServiceBuilder;
use tower_sessions::{Expiry, Session as TsSession};

use support::{config, Browser, TestServer};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Client,
    Server,
    LazyServer,
}

const MODES: [Mode; 3] = [Mode::Client, Mode::Server, Mode::LazyServer];

/// axum-login's login: a new id, then its user data; then native writes.
async fn login(ts: TsSession, s: sealed_session::Session) -> &'static str {
    ts.cycle_id().await.unwrap();
    ts.insert("axum-login.data", 42).await.unwrap();
    s.flash(Level::Success, "Welcome").unwrap();
    s.set_auth_stamp("42", "stamp-1").unwrap();
    "ok"
}

/// axum-login's logout, then a native message for the next page.
async fn logout(ts: TsSession, s: sealed_session::Session) -> &'static str {
    ts.flush().await.unwrap();
    s.flash(Level::Info, "Logged out").unwrap();
    "ok"
}

/// What the native side sees: the flashes (taken), the auth stamp, and the user data.
async fn after(ts: TsSession, s: sealed_session::Session) -> String {
    let flashes: Vec<String> = s
        .take_flashes()
        .unwrap()
        .into_iter()
        .map(|f| f.text)
        .collect();
    let stamp = s.auth_stamp().unwrap().map(|a| a.stamp);
    let user: Option<u32> = ts.get("axum-login.data").await.unwrap();
    format!("{flashes:?}|{stamp:?}|{user:?}")
}

/// A page that hands out a native value (a CSRF token, say) and, through tower-sessions,
/// removes a `next` target that is not there (tower-sessions marks the session modified).
async fn native_and_ts_remove(ts: TsSession, s: sealed_session::Session) -> &'static str {
    s.insert("native", "kept").unwrap();
    s.csrf_token().unwrap();
    let _: Option<String> = ts.remove("next").await.unwrap();
    "ok"
}

async fn native_and_ts_expiry(ts: TsSession, s: sealed_session::Session) -> &'static str {
    s.insert("native", "kept").unwrap();
    ts.set_expiry(Some(Expiry::OnInactivity(time::Duration::hours(1))));
    "ok"
}

async fn native_read(s: sealed_session::Session) -> String {
    format!(
        "{:?}|{}|{:?}",
        s.get::<String>("native").unwrap(),
        s.contains(sealed_session::session::CSRF_KEY),
        s.session_expiry()
    )
}

async fn native_write(s: sealed_session::Session) -> &'static str {
    s.insert("native", "kept").unwrap();
    s.csrf_token().unwrap();
    "ok"
}

/// A value JSON cannot hold (a map with integer keys: fine for typed reads).
async fn native_int_map(s: sealed_session::Session) -> &'static str {
    s.insert("scores", &BTreeMap::from([(1u32, 10u32), (2, 20)]))
        .unwrap();
    "ok"
}

async fn ts_insert(ts: TsSession) -> &'static str {
    ts.insert("a", "from tower-sessions").await.unwrap();
    "ok"
}

/// Many keys and one sealed-session reserves: the save is refused (500) as a whole.
async fn ts_insert_reserved(ts: TsSession) -> &'static str {
    for i in 0..16 {
        ts.insert(&format!("k{i}"), i).await.unwrap();
    }
    ts.insert("_flash", "forged").await.unwrap();
    "written"
}

async fn ts_count(ts: TsSession) -> String {
    let mut n = 0;
    for key in [
        "a", "k0", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12",
        "k13", "k14", "k15",
    ] {
        n += usize::from(ts.get::<serde_json::Value>(key).await.unwrap().is_some());
    }
    n.to_string()
}

async fn ts_get(ts: TsSession) -> String {
    format!(
        "{:?}",
        ts.get::<String>("a").await.map_err(|e| e.to_string())
    )
}

async fn native_scores(s: sealed_session::Session) -> String {
    format!("{:?}", s.get::<BTreeMap<u32, u32>>("scores").unwrap())
}

/// tower-sessions alone (no native extractor: in lazy server mode nothing else loads).
async fn ts_expiry_only(ts: TsSession) -> &'static str {
    ts.set_expiry(Some(Expiry::OnInactivity(time::Duration::hours(5))));
    "ok"
}

async fn ts_clear(ts: TsSession) -> &'static str {
    ts.clear().await;
    "ok"
}

async fn server(mode: Mode) -> TestServer {
    let mut layer = SessionLayer::new(config()).unwrap();
    if mode != Mode::Client {
        layer = layer.server_store(MemoryStore::new());
    }
    if mode == Mode::LazyServer {
        layer = layer.load_policy(LoadPolicy::Lazy);
    }
    let app = axum::Router::new()
        .route("/login", get(login))
        .route("/logout", get(logout))
        .route("/after", get(after))
        .route("/native-and-ts-remove", get(native_and_ts_remove))
        .route("/native-and-ts-expiry", get(native_and_ts_expiry))
        .route("/native-read", get(native_read))
        .route("/native-write", get(native_write))
        .route("/native-int-map", get(native_int_map))
        .route("/native-scores", get(native_scores))
        .route("/ts-insert", get(ts_insert))
        .route("/ts-get", get(ts_get))
        .route("/ts-insert-reserved", get(ts_insert_reserved))
        .route("/ts-count", get(ts_count))
        .route("/ts-expiry-only", get(ts_expiry_only))
        .route("/ts-clear", get(ts_clear))
        .layer(
            ServiceBuilder::new()
                .layer(layer)
                .layer(TowerSessionsLayer::new()),
        );
    TestServer::serve(app).await
}

#[tokio::test]
async fn native_writes_after_a_tower_sessions_login_are_kept() {
    for mode in MODES {
        let srv = server(mode).await;
        let mut b = Browser::new(&srv);
        b.get("/native-write").await;
        assert_eq!(b.get("/login").await.body, "ok", "{mode:?}");
        assert_eq!(
            b.get("/after").await.body,
            r#"["Welcome"]|Some("stamp-1")|Some(42)"#,
            "{mode:?}"
        );
        // `cycle_id` keeps the data (tower-sessions sees native values too), as a native
        // `cycle` does; the CSRF secret of before the login is gone.
        assert_eq!(
            b.get("/native-read").await.body,
            r#"Some("kept")|false|None"#,
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn a_native_message_after_a_tower_sessions_logout_is_kept() {
    for mode in MODES {
        let srv = server(mode).await;
        let mut b = Browser::new(&srv);
        b.get("/login").await;
        b.get("/after").await;
        assert_eq!(b.get("/logout").await.body, "ok", "{mode:?}");
        // Logged out (no stamp, no user data), with the message.
        assert_eq!(
            b.get("/after").await.body,
            r#"["Logged out"]|None|None"#,
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn a_fresh_visitor_keeps_native_values_when_tower_sessions_only_touched_the_session() {
    for mode in MODES {
        for page in ["/native-and-ts-remove", "/native-and-ts-expiry"] {
            let srv = server(mode).await;
            let mut b = Browser::new(&srv);
            assert_eq!(b.get(page).await.body, "ok");
            let read = b.get("/native-read").await.body;
            assert!(
                read.starts_with(r#"Some("kept")|"#),
                "{mode:?} {page}: {read}"
            );
            if page == "/native-and-ts-remove" {
                assert!(
                    read.contains("|true|"),
                    "{mode:?}: the CSRF secret was dropped"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_value_json_cannot_hold_leaves_tower_sessions_reads_working() {
    for mode in MODES {
        let srv = server(mode).await;
        let mut b = Browser::new(&srv);
        b.get("/native-int-map").await;
        assert_eq!(b.get("/ts-get").await.body, "Ok(None)", "{mode:?}");
        b.get("/ts-insert").await;
        assert_eq!(
            b.get("/ts-get").await.body,
            r#"Ok(Some("from tower-sessions"))"#,
            "{mode:?}"
        );
        // The value tower-sessions could not show is untouched by its save.
        assert_eq!(
            b.get("/native-scores").await.body,
            "Some({1: 10, 2: 20})",
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn set_expiry_and_clear_through_tower_sessions_alone_reach_the_stored_session() {
    for mode in MODES {
        let srv = server(mode).await;
        let mut b = Browser::new(&srv);
        b.get("/native-write").await;
        b.get("/ts-expiry-only").await;
        assert_eq!(
            b.get("/native-read").await.body,
            format!(
                "Some(\"kept\")|true|{:?}",
                Some(SessionExpiry::Idle(5 * 3600))
            ),
            "{mode:?}"
        );
        b.get("/ts-clear").await;
        assert!(
            b.get("/native-read").await.body.starts_with("None|"),
            "{mode:?}"
        );
    }
}

#[tokio::test]
async fn a_refused_tower_sessions_save_writes_nothing() {
    for mode in MODES {
        let srv = server(mode).await;
        let mut b = Browser::new(&srv);
        b.get("/ts-insert").await;
        let r = b.get("/ts-insert-reserved").await;
        assert_eq!(
            r.status,
            http::StatusCode::INTERNAL_SERVER_ERROR,
            "{mode:?}"
        );
        assert_eq!(
            b.get("/ts-count").await.body,
            "1",
            "{mode:?}: a partial save"
        );
    }
}

/// `TowerSessionsLayer` written after `SessionLayer` on an axum `Router` (the order a
/// `ServiceBuilder` takes them) ends up outside it, as axum's last `.layer` is the outermost:
/// every request is a 500, and its body must say what to do, as the 500s of a missing
/// `SessionLayer` and of a misplaced `CsrfLayer` do (a newcomer has no `tracing` subscriber
/// yet, so a log line alone is not seen).
#[tokio::test]
async fn tower_sessions_layer_outside_the_session_layer_is_a_500_that_says_where_it_goes() {
    async fn count(ts: TsSession) -> String {
        let n: u64 = ts.get("n").await.unwrap().unwrap_or(0) + 1;
        ts.insert("n", n).await.unwrap();
        n.to_string()
    }
    let app = axum::Router::new()
        .route("/", get(count))
        .layer(SessionLayer::new(config()).unwrap())
        .layer(TowerSessionsLayer::new());
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    let r = b.get("/").await;
    assert_eq!(r.status, http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.contains("inside SessionLayer"), "{:?}", r.body);
}

/// The `tower_sessions` module docs tell an application to replace tower-sessions' layer
/// with a tuple of layers. A tuple's first layer is the outermost (tower's `(L1, L2)` is
/// `L1.layer(L2.layer(s))`), so the tuple the docs show must start with `SessionLayer`, and
/// as written it serves a tower-sessions handler.
#[tokio::test]
async fn the_layer_tuple_of_the_tower_sessions_module_docs_serves_a_handler() {
    async fn count(ts: TsSession) -> String {
        let n: u64 = ts.get("n").await.unwrap().unwrap_or(0) + 1;
        ts.insert("n", n).await.unwrap();
        n.to_string()
    }
    let docs = include_str!("../../src/tower_sessions/mod.rs");
    assert!(
        docs.contains("`(SessionLayer::new(config)?, TowerSessionsLayer::new())`"),
        "the module docs' tuple is not the one checked here"
    );
    let config = config();
    let build = || -> Result<axum::Router, sealed_session::ConfigError> {
        Ok(axum::Router::new()
            .route("/", get(count))
            .layer((SessionLayer::new(config)?, TowerSessionsLayer::new())))
    };
    let srv = TestServer::serve(build().unwrap()).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "1");
    assert_eq!(b.get("/").await.body, "2");
}
