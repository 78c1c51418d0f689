//! Lazy connect: a layer built from a configuration naming Redis starts while Redis is down,
//! answers 503 (the outage logged once, not per request) until Redis comes up, then works
//! without a restart. `[store] connect = "eager"` makes start-up require Redis instead.
//!
//! Each test reserves a free loopback port for its own `redis-server` and starts it (or not)
//! itself; without the binary they are reported as skipped, and fail with
//! `SEALED_SESSION_REQUIRE_REDIS=1`.

mod common;

use std::time::Duration;

use http::StatusCode;
use sealed_session::config::ConnectPolicy;
use sealed_session::store::{RecordKey, RedisStore, SessionStore};
use sealed_session::{Error, SessionLayer, StoreError};

use common::http::{config, Browser};
use common::load::{serve, TestServer};
use common::logs::Logs;
use common::redis::RedisServer;

fn redis_config(server: &RedisServer, extra: &str) -> sealed_session::SessionConfig {
    config(&format!(
        "[store]\nmode = \"server\"\nurl = \"{}\"\n{extra}",
        server.url()
    ))
}

fn count(logs: &Logs, level: &str, text: &str) -> usize {
    logs.at(level).iter().filter(|l| l.contains(text)).count()
}

#[tokio::test]
async fn boot_with_redis_down_answers_503_until_it_comes_up_then_counts() {
    let Some(mut redis) = RedisServer::reserve() else {
        return;
    };
    let (logs, _guard) = common::logs::capture_here();
    // Nothing listens on the port: the layer is built all the same.
    let layer = SessionLayer::connect(redis_config(&redis, ""))
        .await
        .expect("lazy connect starts without Redis");
    assert!(layer.is_server_mode());
    let srv: TestServer = serve(Some(layer)).await;
    let mut b = Browser::new(&srv);
    for _ in 0..3 {
        let r = b.get("/").await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.set_cookies().is_empty());
    }
    assert_eq!(
        count(&logs, "ERROR", "session store unavailable"),
        1,
        "the outage is logged once, not per request:\n{}",
        logs.text()
    );

    // Redis comes up; bounded wait for the connection manager to reach it.
    redis.spawn();
    let first = b.get_once_available("/").await;
    assert_eq!(first.as_deref(), Some("1"), "no 200 after Redis came up");
    assert_eq!(b.get("/").await.body, "2");
    assert_eq!(b.get("/").await.body, "3");
    assert_eq!(count(&logs, "ERROR", "session store unavailable"), 1);
    assert_eq!(count(&logs, "INFO", "session store answers again"), 1);
}

#[tokio::test]
async fn connect_eager_fails_at_boot_when_redis_is_down() {
    let Some(mut redis) = RedisServer::reserve() else {
        return;
    };
    // From the configuration file's key, and from the builder method.
    let mut built = redis_config(&redis, "");
    built.store = built.store.connect_policy(ConnectPolicy::Eager);
    for config in [redis_config(&redis, "connect = \"eager\""), built] {
        assert_eq!(config.store.connect, ConnectPolicy::Eager);
        let err = SessionLayer::connect(config.clone()).await.unwrap_err();
        assert!(
            matches!(err, Error::Store(StoreError::Unavailable(_))),
            "{err:?}"
        );
        // With Redis up, the same configuration starts and works.
        redis.spawn();
        let srv = serve(Some(SessionLayer::connect(config).await.unwrap())).await;
        let mut b = Browser::new(&srv);
        assert_eq!(b.get("/").await.body, "1");
        assert_eq!(b.get("/").await.body, "2");
        redis.kill();
    }
}

/// With `load = "lazy"` the axum extractor loads the record (`Session::load`): an outage met
/// there is logged once too, and its end once.
#[tokio::test]
async fn an_outage_met_by_the_axum_extractor_is_logged_once() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let (logs, _guard) = common::logs::capture_here();
    let layer = SessionLayer::connect(redis_config(&redis, "load = \"lazy\""))
        .await
        .unwrap();
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|session: sealed_session::Session| async move {
                let n: u64 = session.get("n").unwrap().unwrap_or(0) + 1;
                session.insert("n", &n).unwrap();
                n.to_string()
            }),
        )
        .layer(layer);
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "1");
    assert_eq!(b.get("/").await.body, "2");

    redis.kill();
    for _ in 0..3 {
        assert_eq!(b.get("/").await.status, StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(
        count(&logs, "ERROR", "session store unavailable"),
        1,
        "{}",
        logs.text()
    );
    assert_eq!(count(&logs, "ERROR", "session error in a handler"), 0);

    // Restarted without persistence: the session starts over, without an app restart.
    redis.spawn();
    let mut back = None;
    for _ in 0..50 {
        let r = b.get("/").await;
        if r.status == StatusCode::OK {
            back = Some(r.body);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(back.as_deref(), Some("1"));
    assert_eq!(count(&logs, "ERROR", "session store unavailable"), 1);
    assert_eq!(count(&logs, "INFO", "session store answers again"), 1);
}

/// A Redis host that accepts connections and never answers (hung, or a black-holing proxy).
async fn hung_redis() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("redis://{}/", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

/// Each store call, reconnection attempts included, ends with the store's timeout: redis-rs's
/// own timeouts bound one attempt each and its connection manager retries, so against a hung
/// host one call used to take 3.5 times the timeout (a request waited 3.5 s for its 503).
/// Measured on tokio's paused clock (virtual time: no assertion on wall time).
#[tokio::test(start_paused = true)]
async fn a_hung_redis_fails_each_store_call_within_the_timeout() {
    let (url, _hung) = hung_redis().await;
    let timeout = Duration::from_millis(300);
    let key = RecordKey::of_id(&[1; 16]);

    let store = RedisStore::lazy_with(&url, timeout).unwrap();
    for call in 0..3 {
        let start = tokio::time::Instant::now();
        let err = store.load(&key).await.unwrap_err();
        let took = start.elapsed();
        assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
        assert!(
            took <= timeout,
            "call {call} took {took:?}, timeout {timeout:?}"
        );
        let start = tokio::time::Instant::now();
        store
            .save(&key, b"x", Duration::from_mins(1))
            .await
            .unwrap_err();
        assert!(
            start.elapsed() <= timeout,
            "save {call} took {:?}",
            start.elapsed()
        );
    }

    let start = tokio::time::Instant::now();
    let err = RedisStore::connect_with(&url, timeout).await.unwrap_err();
    assert!(
        start.elapsed() <= timeout,
        "an eager connect took {:?}: {err}",
        start.elapsed()
    );
}

/// A store call past the timeout fails as `Unavailable`, and its message says why: Redis did
/// not answer within the store's timeout (not an empty or unrelated reason).
#[tokio::test(start_paused = true)]
async fn a_call_past_the_timeout_is_unavailable_and_says_redis_did_not_answer_in_time() {
    let (url, _hung) = hung_redis().await;
    let store = RedisStore::lazy_with(&url, Duration::from_millis(300)).unwrap();
    let err = store.load(&RecordKey::of_id(&[1; 16])).await.unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err}");
    assert_eq!(
        err.to_string(),
        "session store unavailable: Redis did not answer within 300ms (the store's timeout)"
    );
}
