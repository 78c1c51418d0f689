//! Server mode, concurrent requests of one session: their writes are merged per key into the
//! latest stored record, and a `flush` racing them wins. Each test runs against the memory
//! store and a throwaway `redis-server` (the 64-writer and flush tests on a throwaway
//! three-master Redis Cluster too), through a real hyper server on loopback.
//!
//! The races are made certain, not likely: every writer has loaded the record and changed
//! its copy before any of them answers (a `tokio::sync::Barrier` inside the handler), so all
//! their saves start from the same record. No test looks at a clock.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use sealed_session::data::SessionExpiry;
use sealed_session::limits::MAX_SAVE_ATTEMPTS;
use sealed_session::store::{MemoryStore, RecordKey, RedisStore, SessionStore, StoreFuture, Swap};
use sealed_session::{Session, SessionLayer};
use tokio::sync::{Barrier, Semaphore};

use common::http::{config, text, Body, Browser, TestServer};
use common::redis::RedisServer;
use common::redis_cluster::RedisCluster;

const NAME: &str = "__Host-session";

/// Which store a test runs against.
#[derive(Clone, Copy)]
enum Kind {
    Memory,
    Redis,
    Cluster,
}

/// The store under test: memory, Redis or a three-master Redis Cluster (with its servers
/// kept alive).
enum Backend {
    Memory(MemoryStore),
    Redis(RedisStore, RedisServer),
    Cluster(RedisStore, RedisCluster),
}

impl Backend {
    /// `None`: Redis wanted but `redis-server` is missing (the test is reported as skipped, or
    /// fails with `SEALED_SESSION_REQUIRE_REDIS=1`).
    async fn start(kind: Kind) -> Option<Backend> {
        match kind {
            Kind::Memory => return Some(Backend::Memory(MemoryStore::new())),
            Kind::Redis => {}
            Kind::Cluster => {
                let cluster = RedisCluster::start(3)?;
                let store = RedisStore::cluster_builder(cluster.urls())
                    .connect()
                    .await
                    .unwrap();
                return Some(Backend::Cluster(store, cluster));
            }
        }
        let server = RedisServer::start()?;
        let store = RedisStore::connect(&server.url()).await.unwrap();
        Some(Backend::Redis(store, server))
    }

    fn layer_with(&self, layer: SessionLayer) -> SessionLayer {
        match self {
            Backend::Memory(store) => layer.server_store(store.clone()),
            Backend::Redis(store, _) | Backend::Cluster(store, _) => {
                layer.server_store(store.clone())
            }
        }
    }

    /// How many records the store holds.
    async fn records(&self) -> usize {
        match self {
            Backend::Memory(store) => store.len(),
            Backend::Redis(_, server) => {
                let client = redis::Client::open(server.url()).unwrap();
                let mut conn = client.get_multiplexed_async_connection().await.unwrap();
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg("*")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
                keys.len()
            }
            Backend::Cluster(_, cluster) => (0..3).map(|n| cluster.keys(n, "*").len()).sum(),
        }
    }
}

/// What the handlers wait on: `arrived` once they have changed their copy of the session,
/// then `go` before they answer (and their session is saved).
#[derive(Clone)]
struct Gate {
    arrived: Arc<Barrier>,
    go: Arc<Semaphore>,
}

impl Gate {
    /// `writers` handlers plus the test meet at `arrived`; `go` starts closed.
    fn new(writers: usize) -> Gate {
        Gate {
            arrived: Arc::new(Barrier::new(writers + 1)),
            go: Arc::new(Semaphore::new(0)),
        }
    }

    fn open(&self, writers: usize) {
        self.go.add_permits(writers);
    }
}

/// `/login` stores `user`, `/add/<k>` stores `k` and `/set/<k>/<v>` stores `v` under `k`
/// (both then meet at the gate), `/touch` only reads (and meets at the gate), `/put/<k>/<v>` stores `v` under `k` at once, `/get/<k>`
/// reads `k`, `/del/<k>` removes `k` (then meets at the gate), `/remember` chooses a 3-day idle timeout, `/forget-me` a browser-session
/// cookie, `/flush` flushes, `/cycle` cycles;
/// every other path lists the keys.
async fn app(req: Request<Incoming>, gate: Gate) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    let path = req.uri().path().to_owned();
    if path == "/login" {
        session.insert("user", "alice").unwrap();
    } else if let Some(k) = path.strip_prefix("/add/") {
        session.insert(k, &true).unwrap();
        gate.arrived.wait().await;
        gate.go.acquire().await.unwrap().forget();
    } else if let Some((k, v)) = path.strip_prefix("/set/").and_then(|kv| kv.split_once('/')) {
        session.insert(k, v).unwrap();
        gate.arrived.wait().await;
        gate.go.acquire().await.unwrap().forget();
    } else if let Some((k, v)) = path.strip_prefix("/put/").and_then(|kv| kv.split_once('/')) {
        session.insert(k, v).unwrap();
    } else if let Some(k) = path.strip_prefix("/get/") {
        let v: Option<String> = session.get(k).unwrap();
        return text(StatusCode::OK, v.unwrap_or_default());
    } else if path == "/touch" {
        // Reads only (a renewal, when one is due, is its only write).
        let _ = session.keys();
        gate.arrived.wait().await;
        gate.go.acquire().await.unwrap().forget();
    } else if let Some(k) = path.strip_prefix("/del/") {
        session.remove(k);
        gate.arrived.wait().await;
        gate.go.acquire().await.unwrap().forget();
    } else if path == "/remember" {
        session.set_session_expiry(Some(SessionExpiry::idle(Duration::from_hours(24 * 3))));
    } else if path == "/forget-me" {
        session.set_session_expiry(Some(SessionExpiry::BrowserSession));
    } else if path == "/flush" {
        session.flush();
    } else if path == "/cycle" {
        session.cycle();
    }
    text(StatusCode::OK, session.keys().join(","))
}

/// A session logged in as `user` on a server over `backend` whose handlers wait at a gate of
/// `writers`: the gate, the server, the browser and its cookie as a `Cookie` header value.
async fn logged_in(backend: &Backend, writers: usize) -> (Gate, TestServer, Browser, String) {
    logged_in_with(backend, SessionLayer::new(config("")).unwrap(), writers).await
}

/// [`logged_in`] behind `layer` (a clock, other settings) over `backend`'s store.
async fn logged_in_with(
    backend: &Backend,
    layer: SessionLayer,
    writers: usize,
) -> (Gate, TestServer, Browser, String) {
    let gate = Gate::new(writers);
    let app_gate = gate.clone();
    let srv = TestServer::start(backend.layer_with(layer), move |req| {
        app(req, app_gate.clone())
    })
    .await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/login").await.body, "user");
    let cookie = format!("{NAME}={}", b.jar[NAME]);
    (gate, srv, b, cookie)
}

/// The response's new session cookie, if it sent one.
fn new_cookie(reply: &common::http::Reply) -> Option<String> {
    reply.set_cookies().into_iter().find_map(|line| {
        let c = cookie::Cookie::parse(line).unwrap();
        (c.name() == NAME && c.max_age() != Some(cookie::time::Duration::ZERO))
            .then(|| c.value().to_owned())
    })
}

/// 64 requests of one session (one cookie), each adding its own key, all loaded before any
/// saves: every key is there afterwards. (Last-writer-wins keeps one of them.)
async fn sixty_four_concurrent_writers_keep_every_key(kind: Kind) {
    const WRITERS: usize = 64;
    let Some(backend) = Backend::start(kind).await else {
        return;
    };
    let (gate, srv, mut b, cookie) = logged_in(&backend, WRITERS).await;

    let mut writers = Vec::new();
    for i in 0..WRITERS {
        let (b, cookie) = (Browser::new(&srv), cookie.clone());
        writers.push(tokio::spawn(async move {
            b.send_raw(Method::GET, &format!("/add/k{i:02}"), Some(cookie))
                .await
        }));
    }
    // Every writer has loaded the record and changed its copy; now let them all save.
    gate.arrived.wait().await;
    gate.open(WRITERS);
    for w in writers {
        let reply = w.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }

    let keys = b.get("/keys").await.body;
    let mut expected: Vec<String> = (0..WRITERS).map(|i| format!("k{i:02}")).collect();
    expected.push("user".into());
    assert_eq!(keys, expected.join(","), "writes were lost");
    assert_eq!(backend.records().await, 1);
}

/// Two requests of the session of `cookie` that add `a` and `b`, returned once both have
/// loaded the record and changed their copy (they wait at the gate before answering).
async fn add_a_and_b(
    srv: &TestServer,
    cookie: &str,
    gate: &Gate,
) -> Vec<tokio::task::JoinHandle<common::http::Reply>> {
    let writers = ["a", "b"]
        .into_iter()
        .map(|k| {
            let (b, cookie) = (Browser::new(srv), cookie.to_owned());
            tokio::spawn(async move {
                b.send_raw(Method::GET, &format!("/add/{k}"), Some(cookie))
                    .await
            })
        })
        .collect();
    gate.arrived.wait().await;
    writers
}

/// A session with `user`; two requests add `a` and `b` and a `flush` (logout) completes
/// while both are in their handlers. Afterwards nothing of the session is reachable: no
/// record in the store, the old cookie opens an empty session, and the writers did not hand
/// out a new cookie carrying any of it.
async fn flush_wins_over_concurrent_writes(kind: Kind) {
    let Some(backend) = Backend::start(kind).await else {
        return;
    };
    let (gate, srv, b, cookie) = logged_in(&backend, 2).await;

    let writers = add_a_and_b(&srv, &cookie, &gate).await;
    // Both writers have loaded `user` and added their key; the logout completes first.
    let flushed = b
        .send_raw(Method::GET, "/flush", Some(cookie.clone()))
        .await;
    assert_eq!(flushed.status, StatusCode::OK);
    assert_eq!(flushed.body, "");
    assert_eq!(backend.records().await, 0);
    gate.open(2);
    for w in writers {
        let reply = w.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK);
        if let Some(value) = new_cookie(&reply) {
            let r = b
                .send_raw(Method::GET, "/keys", Some(format!("{NAME}={value}")))
                .await;
            assert!(
                !r.body.contains("user"),
                "a writer revived the session: {}",
                r.body
            );
        }
    }

    assert_eq!(
        backend.records().await,
        0,
        "a concurrent write revived the flushed record"
    );
    let after = b.send_raw(Method::GET, "/keys", Some(cookie)).await;
    assert_eq!(
        after.body, "",
        "the old cookie still opens the flushed session"
    );
}

/// A session with `user`; two requests add `a` and `b` and a `cycle` (login) completes while
/// both are in their handlers. Afterwards the old id opens nothing, the session lives on
/// under the new id with what it had at the cycle, and the writes racing it were dropped
/// (not carried to the new id).
async fn cycle_wins_over_concurrent_writes(kind: Kind) {
    let Some(backend) = Backend::start(kind).await else {
        return;
    };
    let (gate, srv, mut b, old) = logged_in(&backend, 2).await;

    let writers = add_a_and_b(&srv, &old, &gate).await;
    let cycled = b.get("/cycle").await;
    assert_eq!(cycled.body, "user");
    let new = format!("{NAME}={}", b.jar[NAME]);
    assert_ne!(new, old);
    gate.open(2);
    for w in writers {
        let reply = w.await.unwrap();
        assert_eq!(reply.status, StatusCode::OK);
        assert_eq!(
            new_cookie(&reply),
            None,
            "a dropped write handed out a cookie"
        );
    }

    assert_eq!(backend.records().await, 1, "only the new id's record");
    assert_eq!(b.send_raw(Method::GET, "/keys", Some(old)).await.body, "");
    assert_eq!(
        b.send_raw(Method::GET, "/keys", Some(new)).await.body,
        "user"
    );
}

/// Two requests set the same key to different values, both loaded before either saves; the
/// test lets one save, waits for its answer, then lets the other: the later save wins.
async fn same_key_the_later_save_wins(kind: Kind) {
    let Some(backend) = Backend::start(kind).await else {
        return;
    };
    let (gate, srv, mut b, cookie) = logged_in(&backend, 2).await;
    let set = |v: &'static str| {
        let (b, cookie) = (Browser::new(&srv), cookie.clone());
        tokio::spawn(async move {
            b.send_raw(Method::GET, &format!("/set/color/{v}"), Some(cookie))
                .await
        })
    };
    let (mut red, mut blue) = (set("red"), set("blue"));
    gate.arrived.wait().await;
    gate.open(1);
    // Whichever saved first, the other saves after it (its permit comes only now).
    let later = tokio::select! {
        r = &mut red => { assert_eq!(r.unwrap().status, StatusCode::OK); "blue" }
        r = &mut blue => { assert_eq!(r.unwrap().status, StatusCode::OK); "red" }
    };
    gate.open(1);
    let last = if later == "blue" {
        blue.await
    } else {
        red.await
    };
    assert_eq!(last.unwrap().status, StatusCode::OK);
    assert_eq!(b.get("/get/color").await.body, later);
    assert_eq!(b.get("/keys").await.body, "color,user");
}

/// An expiry renewal racing a write: one request only reads a session due for renewal (its
/// save renews the expiry), another adds a key; both loaded before either saves. Whichever
/// saves last, the key stays and the renewal is written (its response re-sends the cookie).
async fn a_renewal_racing_a_write_keeps_the_write(kind: Kind) {
    let Some(backend) = Backend::start(kind).await else {
        return;
    };
    let clock = common::clock();
    let expiry = "[expiry]\nidle = \"30m\"\nrenew_after = \"5m\"";
    let layer = SessionLayer::new(config(expiry))
        .unwrap()
        .clock(clock.clone());
    let (gate, srv, mut b, cookie) = logged_in_with(&backend, layer, 2).await;
    clock.advance(Duration::from_mins(10)); // past `renew_after`

    let send = |path: &'static str| {
        let (b, cookie) = (Browser::new(&srv), cookie.clone());
        tokio::spawn(async move { b.send_raw(Method::GET, path, Some(cookie)).await })
    };
    let (touch, add) = (send("/touch"), send("/add/cart"));
    gate.arrived.wait().await;
    gate.open(2);
    let (touch, add) = (touch.await.unwrap(), add.await.unwrap());
    assert_eq!((touch.status, add.status), (StatusCode::OK, StatusCode::OK));
    assert!(new_cookie(&touch).is_some(), "the renewal was not written");
    assert_eq!(b.get("/keys").await.body, "cart,user");
}

/// An expiry choice racing a write: one request chooses "remember me" (then a
/// browser-session cookie) and saves while another, loaded before it, adds a key and saves
/// after it, merging. The record keeps the choice, and so must the cookie the later response
/// sends, since the browser keeps the last one: it carried the writer's own copy's lifetime
/// (a persistent cookie for a session that chose not to be remembered).
async fn an_expiry_choice_racing_a_write_reaches_the_later_cookie(kind: Kind) {
    let Some(backend) = Backend::start(kind).await else {
        return;
    };
    let (gate, srv, b, cookie) = logged_in(&backend, 1).await;
    let max_age = |reply: &common::http::Reply| {
        let line = reply
            .set_cookies()
            .into_iter()
            .find(|l| l.starts_with(&format!("{NAME}=")))
            .expect("the response sends the cookie");
        cookie::Cookie::parse(line)
            .unwrap()
            .max_age()
            .map(cookie::time::Duration::whole_seconds)
    };
    for (choice, expected) in [("/remember", Some(3 * 86_400)), ("/forget-me", None)] {
        let writer = {
            let (b, cookie) = (Browser::new(&srv), cookie.clone());
            let path = format!("/add/after{}", &choice[1..]);
            tokio::spawn(async move { b.send_raw(Method::GET, &path, Some(cookie)).await })
        };
        gate.arrived.wait().await;
        let chose = b.send_raw(Method::GET, choice, Some(cookie.clone())).await;
        assert_eq!(max_age(&chose), expected, "{choice}");
        gate.open(1);
        let later = writer.await.unwrap();
        assert_eq!(later.status, StatusCode::OK);
        let got = max_age(&later);
        match expected {
            // Written within the test's second or two: the full 3 days, give or take.
            Some(days) => assert!(
                got.is_some_and(|g| (days - 5..=days).contains(&g)),
                "{choice}: {got:?}"
            ),
            None => assert_eq!(
                got, None,
                "{choice}: the merged session chose a browser-session cookie"
            ),
        }
    }
}

/// A key rotation racing a login: a request whose id cookie is under the key that just
/// stopped being primary only reads (its response re-seals the id) and has loaded the record
/// when a `cycle` (a login) of the same session deletes it and issues a new id; the reader
/// answers last. The browser keeps the last cookie it gets, so the reader must not hand the
/// deleted pre-login id back: the user was logged out right after logging in.
async fn a_reseal_racing_a_cycle_does_not_hand_back_the_old_id(kind: Kind) {
    let Some(backend) = Backend::start(kind).await else {
        return;
    };
    let clock = common::clock();
    let activate = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + Duration::from_secs(common::T0 + 10),
    );
    let rotation = format!(
        "[[keys]]\nid = 2\nsecret = \"{}\"\nactivate_at = \"{activate}\"\n",
        common::http::KEY2
    );
    let layer = SessionLayer::new(config(&rotation))
        .unwrap()
        .clock(clock.clone());
    let (gate, srv, b, old) = logged_in_with(&backend, layer, 1).await;
    clock.advance(Duration::from_secs(20)); // key 2 is primary: the old id needs a re-seal

    let reader = {
        let (r, old) = (Browser::new(&srv), old.clone());
        tokio::spawn(async move { r.send_raw(Method::GET, "/touch", Some(old)).await })
    };
    gate.arrived.wait().await;
    let cycled = b.send_raw(Method::GET, "/cycle", Some(old.clone())).await;
    let new = new_cookie(&cycled).expect("the login sends the new id");
    gate.open(1);
    let reader = reader.await.unwrap();
    assert_eq!(reader.status, StatusCode::OK);
    // What the browser holds after both responses: the reader's, if it sent one.
    let held = new_cookie(&reader).unwrap_or(new);
    let r = b
        .send_raw(Method::GET, "/keys", Some(format!("{NAME}={held}")))
        .await;
    assert_eq!(
        r.body, "user",
        "the re-seal handed back the deleted pre-login id"
    );
}

/// Two requests each remove one of the session's two keys, both loaded before either saves:
/// the later one's merge empties the session, so its record is deleted, and its response
/// removes the cookie instead of handing out the id of a deleted record.
async fn removals_that_empty_the_session_together_remove_the_cookie(kind: Kind) {
    let Some(backend) = Backend::start(kind).await else {
        return;
    };
    let (gate, srv, mut b, _) = logged_in(&backend, 2).await;
    b.get("/put/x/1").await;
    let cookie = format!("{NAME}={}", b.jar[NAME]);
    let del = |k: &'static str| {
        let (b, cookie) = (Browser::new(&srv), cookie.clone());
        tokio::spawn(async move {
            b.send_raw(Method::GET, &format!("/del/{k}"), Some(cookie))
                .await
        })
    };
    let (mut x, mut user) = (del("x"), del("user"));
    gate.arrived.wait().await;
    gate.open(1);
    // The handle still to await is the one `select!` did not complete (`is_finished` after
    // the second `open` raced with the later request: both could be finished by then, and the
    // completed handle was awaited again, "JoinHandle polled after completion").
    let (first, rest) = tokio::select! {
        r = &mut x => (r.unwrap(), user),
        r = &mut user => (r.unwrap(), x),
    };
    assert!(
        new_cookie(&first).is_some(),
        "the first save keeps the other key"
    );
    gate.open(1);
    let later = rest.await.unwrap();
    assert_eq!(later.status, StatusCode::OK);
    let removed = later
        .set_cookies()
        .iter()
        .any(|l| l.starts_with(&format!("{NAME}=;")) || l.contains("Max-Age=0"));
    assert!(
        new_cookie(&later).is_none() && removed,
        "{:?}",
        later.set_cookies()
    );
    assert_eq!(backend.records().await, 0);
}

/// One `#[tokio::test]` per test function, in a module per backend.
macro_rules! on {
    ($module:ident, $kind:ident: $($test:ident),* $(,)?) => {
        mod $module {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $test() {
                    super::$test(super::Kind::$kind).await;
                }
            )*
        }
    };
}

on!(memory, Memory:
    a_renewal_racing_a_write_keeps_the_write,
    an_expiry_choice_racing_a_write_reaches_the_later_cookie,
    a_reseal_racing_a_cycle_does_not_hand_back_the_old_id,
    removals_that_empty_the_session_together_remove_the_cookie,
    cycle_wins_over_concurrent_writes,
    same_key_the_later_save_wins,
    sixty_four_concurrent_writers_keep_every_key,
    flush_wins_over_concurrent_writes,
);
on!(redis_store, Redis:
    a_renewal_racing_a_write_keeps_the_write,
    an_expiry_choice_racing_a_write_reaches_the_later_cookie,
    a_reseal_racing_a_cycle_does_not_hand_back_the_old_id,
    removals_that_empty_the_session_together_remove_the_cookie,
    cycle_wins_over_concurrent_writes,
    same_key_the_later_save_wins,
    sixty_four_concurrent_writers_keep_every_key,
    flush_wins_over_concurrent_writes,
);
// The same on a Redis Cluster (three masters): each record is one key in one hash slot, so
// the compare-and-swap script runs on the node that owns it.
on!(redis_cluster, Cluster:
    sixty_four_concurrent_writers_keep_every_key,
    flush_wins_over_concurrent_writes,
);

/// A memory store where another instance seems to write the record before every
/// compare-and-swap: it puts back another valid sealed version of the record (both captured
/// from earlier saves), so every attempt conflicts and every merge succeeds.
#[derive(Clone, Default)]
struct Meddler {
    inner: MemoryStore,
    versions: Arc<Mutex<Vec<Vec<u8>>>>,
    meddle: Arc<AtomicBool>,
    swaps: Arc<AtomicU32>,
}

impl SessionStore for Meddler {
    fn load<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.inner.load(key)
    }
    fn save<'a>(&'a self, key: &'a RecordKey, r: &'a [u8], ttl: Duration) -> StoreFuture<'a, ()> {
        self.versions.lock().unwrap().push(r.to_vec());
        self.inner.save(key, r, ttl)
    }
    fn delete<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, ()> {
        self.inner.delete(key)
    }
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a RecordKey,
        expected: Option<&'a [u8]>,
        new: Option<&'a [u8]>,
        ttl: Duration,
    ) -> StoreFuture<'a, Swap> {
        Box::pin(async move {
            if self.meddle.load(Ordering::SeqCst) {
                self.swaps.fetch_add(1, Ordering::SeqCst);
                let other = (self.versions.lock().unwrap().iter())
                    .find(|v| Some(v.as_slice()) != expected)
                    .cloned()
                    .unwrap();
                self.inner.save(key, &other, ttl).await?;
            } else if let Some(r) = new {
                self.versions.lock().unwrap().push(r.to_vec());
            }
            self.inner.compare_and_swap(key, expected, new, ttl).await
        })
    }
}

#[tokio::test]
async fn a_record_that_keeps_changing_fails_the_save_with_a_503_after_the_bounded_attempts() {
    let store = Meddler::default();
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(store.clone());
    let srv = TestServer::start(layer, |req| app(req, Gate::new(0))).await;
    let mut b = Browser::new(&srv);
    b.get("/login").await; // a new record: a plain save
    b.get("/put/n/1").await; // a second version, by a compare-and-swap
    assert_eq!(store.versions.lock().unwrap().len(), 2);

    store.meddle.store(true, Ordering::SeqCst);
    let r = b.get("/put/n/2").await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.set_cookies().is_empty());
    assert_eq!(store.swaps.load(Ordering::SeqCst), MAX_SAVE_ATTEMPTS);
    // Nothing of the failed request was saved.
    store.meddle.store(false, Ordering::SeqCst);
    assert_eq!(b.get("/get/n").await.body, "1");
}
