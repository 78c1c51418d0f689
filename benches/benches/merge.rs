//! The cost of merging concurrent writes (issue 14), memory and Redis, in the same run:
//!
//! - `store_write/<store>/save`: a plain `SessionStore::save` of a typical record (how a
//!   loaded session was written before issue 14, and how a new one still is);
//! - `store_write/<store>/compare_and_swap`: the conditional write that replaces it for a
//!   loaded session nobody else wrote (memory: under the lock; Redis: one `EVAL`);
//! - `request_write/<store>/no_conflict`: a read+write request through the layer (load,
//!   handler, compare-and-swap), as the `modes` bench measures it;
//! - `request_write/<store>/one_conflict`: the same request when another writer changed the
//!   record between its load and its save: one failed compare-and-swap, the newer record
//!   opened, the change applied, sealed, and a second compare-and-swap.
//!
//! `cargo bench -p sealed-session-benches --bench merge`. Redis rows are skipped (loudly)
//! without `redis-server` on PATH.

#[path = "../../tests/common/redis.rs"]
mod redis_support;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use criterion::{criterion_main, Criterion};
use http::{header, HeaderValue, Request, Response};
use sealed_session::store::{MemoryStore, RecordKey, RedisStore, SessionStore, StoreFuture, Swap};
use sealed_session::{Session, SessionConfig, SessionLayer};
use tower::{Layer, Service, ServiceExt};

const CONFIG: &str =
    "[[keys]]\nid = 1\nsecret = \"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\"\n";

async fn handler(req: Request<()>) -> Result<Response<String>, Infallible> {
    let session = req.extensions().get::<Session>().expect("layer");
    let n: u64 = session.get("visit_count").ok().flatten().unwrap_or(0) + 1;
    session.insert("visit_count", &n).expect("insert");
    Ok(Response::new(String::new()))
}

fn request(cookie: Option<&HeaderValue>) -> Request<()> {
    let mut req = Request::new(());
    if let Some(c) = cookie {
        req.headers_mut().insert(header::COOKIE, c.clone());
    }
    req
}

/// Wraps a store; with `interfere`, every load is followed by another writer putting back
/// the record's previous version (still validly sealed), so the request's save conflicts
/// once and merges.
#[derive(Clone)]
struct Interfering<S> {
    inner: S,
    interfere: bool,
    /// The last two records written (the older one is put back after each load).
    written: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl<S: SessionStore + Clone> SessionStore for Interfering<S> {
    fn load<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        Box::pin(async move {
            let loaded = self.inner.load(key).await?;
            let previous = self.written.lock().unwrap().first().cloned();
            if let (true, Some(previous)) = (self.interfere, previous) {
                self.inner
                    .save(key, &previous, Duration::from_hours(1))
                    .await?;
            }
            Ok(loaded)
        })
    }
    fn save<'a>(&'a self, key: &'a RecordKey, r: &'a [u8], ttl: Duration) -> StoreFuture<'a, ()> {
        self.remember(r);
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
            let swap = self.inner.compare_and_swap(key, expected, new, ttl).await?;
            if let (Swap::Done, Some(r)) = (&swap, new) {
                self.remember(r);
            }
            Ok(swap)
        })
    }
}

impl<S> Interfering<S> {
    fn remember(&self, record: &[u8]) {
        let mut written = self.written.lock().unwrap();
        written.push(record.to_vec());
        if written.len() > 2 {
            written.remove(0);
        }
    }
}

fn bench_store<S: SessionStore>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: &S,
) {
    let key = RecordKey::of_id(&[7; 16]);
    let ttl = Duration::from_hours(1);
    // Two records the size of a typical sealed session (about 300 bytes).
    let records = [vec![b'a'; 300], vec![b'b'; 300]];
    rt.block_on(store.save(&key, &records[0], ttl)).unwrap();
    let mut group = c.benchmark_group("store_write");
    group.bench_function(format!("{name}/save"), |b| {
        b.iter(|| rt.block_on(store.save(&key, &records[0], ttl)).unwrap());
    });
    let mut current = 0;
    group.bench_function(format!("{name}/compare_and_swap"), |b| {
        b.iter(|| {
            let next = 1 - current;
            let swap = rt
                .block_on(store.compare_and_swap(
                    &key,
                    Some(&records[current]),
                    Some(&records[next]),
                    ttl,
                ))
                .unwrap();
            assert_eq!(swap, Swap::Done);
            current = next;
        });
    });
    group.finish();
}

fn bench_requests<S: SessionStore + Clone>(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: &S,
) {
    let mut group = c.benchmark_group("request_write");
    for (case, interfere) in [("no_conflict", false), ("one_conflict", true)] {
        let store = Interfering {
            inner: store.clone(),
            interfere: false,
            written: Arc::default(),
        };
        let config = SessionConfig::from_toml_str(CONFIG).unwrap();
        let layer = SessionLayer::new(config).unwrap();
        let mut svc = layer
            .clone()
            .server_store(store.clone())
            .layer(tower::service_fn(handler));
        let mut call = |cookie: Option<&HeaderValue>| {
            rt.block_on(async {
                svc.ready()
                    .await
                    .unwrap()
                    .call(request(cookie))
                    .await
                    .unwrap()
            })
        };
        let res = call(None);
        let line = res.headers()[header::SET_COOKIE].to_str().unwrap();
        let cookie = HeaderValue::from_str(line.split(';').next().unwrap()).unwrap();
        call(Some(&cookie)); // a second version of the record
                             // The same store (and records) from now on, interfering or not.
        let store = Interfering { interfere, ..store };
        let mut svc = layer.server_store(store).layer(tower::service_fn(handler));
        group.bench_function(format!("{name}/{case}"), |b| {
            b.iter(|| {
                let res = rt.block_on(async {
                    svc.ready()
                        .await
                        .unwrap()
                        .call(request(Some(&cookie)))
                        .await
                        .unwrap()
                });
                assert!(res.status().is_success());
            });
        });
    }
    group.finish();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let memory = MemoryStore::new();
    bench_store(c, &rt, "memory", &memory);
    bench_requests(c, &rt, "memory", &memory);
    let redis = redis_support::RedisServer::start();
    if let Some(redis) = &redis {
        let store = rt.block_on(RedisStore::connect(&redis.url())).unwrap();
        bench_store(c, &rt, "redis", &store);
        bench_requests(c, &rt, "redis", &store);
    }
}

/// What `criterion_group!(benches, bench)` expands to, but private: the macro's `pub fn` has
/// no doc and trips the workspace's `missing_docs`.
fn benches() {
    bench(&mut Criterion::default().configure_from_args());
}

criterion_main!(benches);
