//! Server mode, concurrent requests of one session: their writes are merged per key into the
//! latest stored record, and a `flush` racing them wins. Each test runs against the memory
//! store and a throwaway `redis-server`, through a real hyper server on loopback.
//!
//! The races are made certain, not likely: every writer has loaded the record and changed
//! its copy before any of them answers (a `tokio::sync::Barrier` inside the handler), so all
//! their saves start from the same record. No test looks at a clock.

mod common;

use std::sync::Arc;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use sealed_session::store::{MemoryStore, RedisStore};
use sealed_session::{Session, SessionLayer};
use tokio::sync::{Barrier, Semaphore};

use common::http::{config, text, Body, Browser, TestServer};
use common::redis::RedisServer;

const NAME: &str = "__Host-session";

/// The store under test: memory, or Redis (with its server kept alive).
enum Backend {
    Memory(MemoryStore),
    Redis(RedisStore, RedisServer),
}

impl Backend {
    /// `None`: Redis wanted but `redis-server` is missing (the test is reported as skipped, or
    /// fails with `SEALED_SESSION_REQUIRE_REDIS=1`).
    async fn start(redis: bool) -> Option<Backend> {
        if !redis {
            return Some(Backend::Memory(MemoryStore::new()));
        }
        let server = RedisServer::start()?;
        let store = RedisStore::connect(&server.url()).await.unwrap();
        Some(Backend::Redis(store, server))
    }

    fn layer(&self) -> SessionLayer {
        let layer = SessionLayer::new(config("")).unwrap();
        match self {
            Backend::Memory(store) => layer.server_store(store.clone()),
            Backend::Redis(store, _) => layer.server_store(store.clone()),
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

/// `/login` stores `user`, `/add/<k>` stores `k` (after meeting at the gate), `/flush` flushes,
/// `/keys` lists the keys.
async fn app(req: Request<Incoming>, gate: Gate) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    let path = req.uri().path().to_owned();
    if path == "/login" {
        session.insert("user", "alice").unwrap();
    } else if let Some(k) = path.strip_prefix("/add/") {
        session.insert(k, &true).unwrap();
        gate.arrived.wait().await;
        gate.go.acquire().await.unwrap().forget();
    } else if path == "/flush" {
        session.flush();
    }
    text(StatusCode::OK, session.keys().join(","))
}

async fn serve(backend: &Backend, gate: &Gate) -> TestServer {
    let gate = gate.clone();
    TestServer::start(backend.layer(), move |req| app(req, gate.clone())).await
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
async fn sixty_four_concurrent_writers_keep_every_key(redis: bool) {
    const WRITERS: usize = 64;
    let Some(backend) = Backend::start(redis).await else {
        return;
    };
    let gate = Gate::new(WRITERS);
    let srv = serve(&backend, &gate).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/login").await.body, "user");
    let cookie = format!("{NAME}={}", b.jar[NAME]);

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

/// A session with `user`; two requests add `a` and `b` and a `flush` (logout) completes
/// while both are in their handlers. Afterwards nothing of the session is reachable: no
/// record in the store, the old cookie opens an empty session, and the writers did not hand
/// out a new cookie carrying any of it.
async fn flush_wins_over_concurrent_writes(redis: bool) {
    let Some(backend) = Backend::start(redis).await else {
        return;
    };
    let gate = Gate::new(2);
    let srv = serve(&backend, &gate).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/login").await.body, "user");
    let cookie = format!("{NAME}={}", b.jar[NAME]);

    let writers: Vec<_> = ["a", "b"]
        .into_iter()
        .map(|k| {
            let (b, cookie) = (Browser::new(&srv), cookie.clone());
            tokio::spawn(async move {
                b.send_raw(Method::GET, &format!("/add/{k}"), Some(cookie))
                    .await
            })
        })
        .collect();
    gate.arrived.wait().await;
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

mod memory {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sixty_four_concurrent_writers_keep_every_key() {
        super::sixty_four_concurrent_writers_keep_every_key(false).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn flush_wins_over_concurrent_writes() {
        super::flush_wins_over_concurrent_writes(false).await;
    }
}

mod redis_store {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sixty_four_concurrent_writers_keep_every_key() {
        super::sixty_four_concurrent_writers_keep_every_key(true).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn flush_wins_over_concurrent_writes() {
        super::flush_wins_over_concurrent_writes(true).await;
    }
}
