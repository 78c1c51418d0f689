//! Server mode: the store conformance suite run on every store, what reaches the store, and
//! store failures (a failing store, Redis killed and restarted under a running server).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use sealed_session::store::{
    MemoryStore, RecordKey, RedisStore, SessionStore, StoreError, StoreFuture, Swap,
};
use sealed_session::{Session, SessionLayer};

use common::http::{config, text, Body, Browser, TestServer};
use common::redis::RedisServer;
use common::spy::Spy;

const NAME: &str = "__Host-session";

async fn counter(req: Request<Incoming>) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
    session.insert("visit_count", &count).unwrap();
    text(
        StatusCode::OK,
        format!("You have visited this page {count} times."),
    )
}

// ---------------------------------------------------------------- conformance suite

async fn conformance(store: &dyn SessionStore) {
    let a = RecordKey::of_id(&[1; 16]);
    let b = RecordKey::of_id(&[2; 16]);
    assert_eq!(store.load(&a).await.unwrap(), None);
    store
        .save(&a, b"first", Duration::from_mins(1))
        .await
        .unwrap();
    store
        .save(&b, b"other", Duration::from_mins(1))
        .await
        .unwrap();
    assert_eq!(
        store.load(&a).await.unwrap().as_deref(),
        Some(&b"first"[..])
    );
    store
        .save(&a, b"second", Duration::from_mins(1))
        .await
        .unwrap();
    assert_eq!(
        store.load(&a).await.unwrap().as_deref(),
        Some(&b"second"[..])
    );
    store.delete(&a).await.unwrap();
    assert_eq!(store.load(&a).await.unwrap(), None);
    store.delete(&a).await.unwrap();
    assert_eq!(
        store.load(&b).await.unwrap().as_deref(),
        Some(&b"other"[..])
    );
    // Arbitrary bytes survive.
    let bytes: Vec<u8> = (0..=255).collect();
    store
        .save(&a, &bytes, Duration::from_mins(1))
        .await
        .unwrap();
    assert_eq!(store.load(&a).await.unwrap(), Some(bytes.clone()));

    // Compare and swap: writes only onto the record expected, else says what is there.
    let (c, ttl) = (RecordKey::of_id(&[3; 16]), Duration::from_mins(1));
    let swap = |expected: Option<&'static [u8]>, new: Option<&'static [u8]>| {
        store.compare_and_swap(&c, expected, new, ttl)
    };
    assert_eq!(
        swap(Some(&b"x"[..]), Some(&b"v1"[..])).await.unwrap(),
        Swap::Changed(None)
    );
    assert_eq!(store.load(&c).await.unwrap(), None);
    assert_eq!(swap(None, Some(&b"v1"[..])).await.unwrap(), Swap::Done);
    assert_eq!(
        swap(None, Some(&b"v2"[..])).await.unwrap(),
        Swap::Changed(Some(b"v1".to_vec()))
    );
    assert_eq!(
        swap(Some(&b"v0"[..]), Some(&b"v2"[..])).await.unwrap(),
        Swap::Changed(Some(b"v1".to_vec()))
    );
    assert_eq!(
        swap(Some(&b"v1"[..]), Some(&b"v2"[..])).await.unwrap(),
        Swap::Done
    );
    assert_eq!(store.load(&c).await.unwrap().as_deref(), Some(&b"v2"[..]));
    assert_eq!(
        swap(Some(&b"v1"[..]), None).await.unwrap(),
        Swap::Changed(Some(b"v2".to_vec()))
    );
    assert_eq!(swap(Some(&b"v2"[..]), None).await.unwrap(), Swap::Done);
    assert_eq!(store.load(&c).await.unwrap(), None);
    // Arbitrary bytes compare exactly (a prefix or an empty value is not a match).
    store.save(&c, &bytes, ttl).await.unwrap();
    assert!(matches!(
        store
            .compare_and_swap(&c, Some(&bytes[..255]), Some(&b"w"[..]), ttl)
            .await
            .unwrap(),
        Swap::Changed(Some(_))
    ));
    assert!(matches!(
        swap(Some(&b""[..]), Some(&b"w"[..])).await.unwrap(),
        Swap::Changed(Some(_))
    ));
    let done = store
        .compare_and_swap(&c, Some(&bytes), Some(&b"w"[..]), ttl)
        .await;
    assert_eq!(done.unwrap(), Swap::Done);
    assert_eq!(store.load(&c).await.unwrap().as_deref(), Some(&b"w"[..]));
}

macro_rules! store_conformance {
    ($($name:ident => $make:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            let Some((store, _guard)) = $make.await else { return };
            conformance(&store).await;
        }
    )*};
}

#[allow(clippy::unused_async)] // `store_conformance!` awaits every store's constructor
async fn memory() -> Option<(MemoryStore, ())> {
    Some((MemoryStore::new(), ()))
}

async fn redis() -> Option<(RedisStore, RedisServer)> {
    let server = RedisServer::start()?;
    let store = RedisStore::connect(&server.url()).await.unwrap();
    Some((store, server))
}

store_conformance! {
    conformance_memory => memory();
    conformance_redis => redis();
}

#[tokio::test]
async fn redis_keys_are_prefixed_hashes_with_a_server_side_ttl() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::connect(&server.url())
        .await
        .unwrap()
        .prefix("app:s:");
    let key = RecordKey::of_id(&[9; 16]);
    store
        .save(&key, b"x", Duration::from_secs(100))
        .await
        .unwrap();
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys, [format!("app:s:{}", key.to_hex())]);
    let ttl: i64 = redis::cmd("TTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=100).contains(&ttl), "ttl {ttl}");

    // Millisecond TTLs, rounded up: a record never dies before its TTL (1.9 s was sent as
    // `EX 1`, so the record died 0.9 s early), through `save` and the compare-and-swap.
    let pttl = |conn: &mut redis::aio::MultiplexedConnection| {
        let name = keys[0].clone();
        let mut conn = conn.clone();
        async move {
            let ms: i64 = redis::cmd("PTTL")
                .arg(name)
                .query_async(&mut conn)
                .await
                .unwrap();
            ms
        }
    };
    store
        .save(&key, b"x", Duration::from_millis(1900))
        .await
        .unwrap();
    let ms = pttl(&mut conn).await;
    assert!((1001..=1900).contains(&ms), "pttl {ms}");
    let swapped = store
        .compare_and_swap(&key, Some(b"x"), Some(b"y"), Duration::from_millis(2900))
        .await
        .unwrap();
    assert!(matches!(swapped, sealed_session::store::Swap::Done));
    let ms = pttl(&mut conn).await;
    assert!((2001..=2900).contains(&ms), "pttl {ms}");
    // A TTL Redis cannot hold is clamped, not an error (it was a 503).
    store.save(&key, b"x", Duration::MAX).await.unwrap();
    store
        .compare_and_swap(&key, Some(b"x"), Some(b"z"), Duration::MAX)
        .await
        .unwrap();
}

// ---------------------------------------------------------------- what reaches the store

/// A store that counts calls and forwards them to a `MemoryStore`.
#[derive(Clone, Default)]
struct Counting {
    inner: MemoryStore,
    calls: Arc<AtomicUsize>,
}

impl SessionStore for Counting {
    fn load<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.load(key)
    }
    fn save<'a>(&'a self, key: &'a RecordKey, r: &'a [u8], ttl: Duration) -> StoreFuture<'a, ()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.save(key, r, ttl)
    }
    fn delete<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, ()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(key)
    }
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a RecordKey,
        expected: Option<&'a [u8]>,
        new: Option<&'a [u8]>,
        ttl: Duration,
    ) -> StoreFuture<'a, Swap> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.compare_and_swap(key, expected, new, ttl)
    }
}

#[tokio::test]
async fn tampered_or_forged_ids_never_reach_the_store() {
    let store = Counting::default();
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(store.clone());
    let srv = TestServer::start(layer, counter).await;
    let mut b = Browser::new(&srv);
    b.get("/").await; // no cookie: no load, one save
    assert_eq!(store.calls.load(Ordering::SeqCst), 1);
    let good = b.jar[NAME].clone();
    let mut tampered = good.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let forged = "AQGlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaUAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    for cookie in [tampered, forged.to_owned(), "garbage".to_owned()] {
        let before = store.calls.load(Ordering::SeqCst);
        let r = b
            .send_raw(Method::GET, "/", Some(format!("{NAME}={cookie}")))
            .await;
        assert_eq!(r.body, "You have visited this page 1 times.");
        // Only the save of the new session: no load of the forged id.
        assert_eq!(
            store.calls.load(Ordering::SeqCst),
            before + 1,
            "cookie {cookie}"
        );
    }
    // The real cookie loads (1) and saves (1).
    let before = store.calls.load(Ordering::SeqCst);
    let r = b
        .send_raw(Method::GET, "/", Some(format!("{NAME}={good}")))
        .await;
    assert_eq!(r.body, "You have visited this page 2 times.");
    assert_eq!(store.calls.load(Ordering::SeqCst), before + 2);
}

#[tokio::test]
async fn records_are_keyed_by_hash_never_the_raw_id() {
    let store = MemoryStore::new();
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(store.clone());
    let srv = TestServer::start(layer, counter).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    assert_eq!(store.len(), 1);
    // The cookie is a sealed value, not an id: it has the (v2) header and a nonce.
    let raw = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        &b.jar[NAME],
    )
    .unwrap();
    assert_eq!(raw[0], 2);
    assert_eq!(raw.len(), 2 + 24 + 16 + 16);
}

// ---------------------------------------------------------------- failures

/// A store whose every call fails.
struct Broken;

impl SessionStore for Broken {
    fn load<'a>(&'a self, _: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async { Err(StoreError::Unavailable("down for the test".into())) })
    }
    fn save<'a>(&'a self, _: &'a RecordKey, _: &'a [u8], _: Duration) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError::Unavailable("down for the test".into())) })
    }
    fn delete<'a>(&'a self, _: &'a RecordKey) -> StoreFuture<'a, ()> {
        Box::pin(async { Err(StoreError::Unavailable("down for the test".into())) })
    }
    fn compare_and_swap<'a>(
        &'a self,
        _: &'a RecordKey,
        _: Option<&'a [u8]>,
        _: Option<&'a [u8]>,
        _: Duration,
    ) -> StoreFuture<'a, Swap> {
        Box::pin(async { Err(StoreError::Unavailable("down for the test".into())) })
    }
}

/// A login (`cycle`, then a write) whose new record cannot be written is a 503 that leaves
/// the session as it was: the old record is deleted only once the new one is stored. It was
/// deleted first, so the user lost the session (a cart, say) to a store hiccup during login,
/// or to a client that hung up between the two store calls.
#[tokio::test]
async fn a_login_whose_new_record_fails_to_save_keeps_the_old_session() {
    let spy = Spy::default();
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(spy.clone());
    let srv = TestServer::start(layer, |req: Request<Incoming>| async move {
        let session = req.extensions().get::<Session>().unwrap().clone();
        if req.uri().path() == "/login" {
            session.cycle();
            session.insert("user", "ann").unwrap();
        }
        counter(req).await
    })
    .await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    assert_eq!(b.get("/").await.body, "You have visited this page 2 times.");

    spy.failing_writes.store(1, Ordering::SeqCst);
    let r = b.get("/login").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.set_cookies().is_empty());

    assert_eq!(spy.inner.len(), 1, "the old record is kept");
    assert_eq!(b.get("/").await.body, "You have visited this page 3 times.");
}

#[tokio::test]
async fn store_failure_is_a_503_never_an_empty_session() {
    let layer = SessionLayer::new(config("")).unwrap().server_store(Broken);
    let srv = TestServer::start(layer, counter).await;
    let mut b = Browser::new(&srv);
    let r = b.get("/").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.set_cookies().is_empty());
}

/// S9 (issue 12): a `MemoryStore` is bounded without any setting (100,000 records), so
/// anonymous clients cannot grow it at will until the records expire.
#[tokio::test]
async fn memory_store_is_bounded_by_default() {
    for store in [MemoryStore::new(), MemoryStore::default()] {
        let one_hour = Duration::from_hours(1);
        for i in 0..100_000u32 {
            let mut id = [0u8; 16];
            id[..4].copy_from_slice(&i.to_le_bytes());
            store
                .save(&RecordKey::of_id(&id), b"r", one_hour)
                .await
                .unwrap();
        }
        let err = store
            .save(&RecordKey::of_id(&[0xff; 16]), b"r", one_hour)
            .await
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Full { capacity: 100_000 }),
            "{err:?}"
        );
    }
}

#[tokio::test]
async fn full_memory_store_answers_503_and_keeps_existing_sessions() {
    let store = MemoryStore::new().capacity(1);
    let layer = SessionLayer::new(config("")).unwrap().server_store(store);
    let srv = TestServer::start(layer, counter).await;
    let mut first = Browser::new(&srv);
    assert_eq!(first.get("/").await.status, StatusCode::OK);
    let mut second = Browser::new(&srv);
    assert_eq!(
        second.get("/").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        first.get("/").await.body,
        "You have visited this page 2 times."
    );
}

#[tokio::test]
async fn redis_killed_gives_503s_and_recovers_after_restart() {
    let Some(mut redis) = RedisServer::start() else {
        return;
    };
    let store = RedisStore::connect_with(&redis.url(), Duration::from_millis(300))
        .await
        .unwrap();
    let layer = SessionLayer::new(config("")).unwrap().server_store(store);
    let srv = TestServer::start(layer, counter).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "You have visited this page 1 times.");
    assert_eq!(b.get("/").await.body, "You have visited this page 2 times.");

    redis.kill();
    for _ in 0..3 {
        let r = b.get("/").await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(r.set_cookies().is_empty());
    }

    // Restarted without persistence: the old record is gone, so the session starts over, but
    // the app (and its connection manager) was not restarted. Bounded wait for reconnection.
    redis.spawn();
    let recovered = b.get_once_available("/").await;
    assert_eq!(
        recovered.as_deref(),
        Some("You have visited this page 1 times."),
        "requests did not succeed again after Redis came back"
    );
    assert_eq!(b.get("/").await.body, "You have visited this page 2 times.");
}

// ---------------------------------------------------------------- mode from configuration

#[tokio::test]
async fn server_mode_with_memory_store_from_configuration() {
    let layer = SessionLayer::new(config("[store]\nmode = \"server\"\ncapacity = 1")).unwrap();
    assert!(layer.is_server_mode());
    let srv = TestServer::start(layer, counter).await;
    let mut first = Browser::new(&srv);
    assert_eq!(
        first.get("/").await.body,
        "You have visited this page 1 times."
    );
    assert_eq!(
        first.get("/").await.body,
        "You have visited this page 2 times."
    );
    // The capacity bound came from the configuration too.
    let mut second = Browser::new(&srv);
    assert_eq!(
        second.get("/").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn redis_mode_from_configuration_needs_connect() {
    let Some(server) = RedisServer::start() else {
        return;
    };
    let toml = format!(
        "[store]\nmode = \"server\"\nurl = \"{}\"\nprefix = \"cfg:\"",
        server.url()
    );
    let err = SessionLayer::new(config(&toml)).unwrap_err();
    assert!(err.to_string().contains("SessionLayer::connect"), "{err}");
    let layer = SessionLayer::connect(config(&toml)).await.unwrap();
    assert!(layer.is_server_mode());
    let srv = TestServer::start(layer, counter).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    assert_eq!(b.get("/").await.body, "You have visited this page 2 times.");
    let client = redis::Client::open(server.url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("cfg:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
}

#[tokio::test]
async fn client_mode_is_the_default() {
    assert!(!SessionLayer::new(config("")).unwrap().is_server_mode());
}
