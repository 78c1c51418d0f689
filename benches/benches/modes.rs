//! Per-request cost of a session read+write through the layer in each mode — client (sealed
//! cookie), server with `MemoryStore`, server with `RedisStore` on a local `redis-server` —
//! measured in the same run, with the cookie size of each.
//!
//! `cargo bench -p sealed-session-benches --bench modes`. Redis mode is skipped (loudly)
//! without `redis-server` on PATH.

#[path = "../../tests/common/redis.rs"]
mod redis_support;

use std::convert::Infallible;

use criterion::{criterion_main, Criterion};
use http::{header, HeaderValue, Request, Response};
use sealed_session::store::{MemoryStore, RedisStore};
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

/// Builds the service, makes a first request, and returns the cookie (`name=value`) it set.
async fn prime<S>(svc: &mut S) -> HeaderValue
where
    S: Service<Request<()>, Response = Response<String>, Error = Infallible>,
{
    let res = svc
        .ready()
        .await
        .unwrap()
        .call(request(None))
        .await
        .unwrap();
    let line = res.headers()[header::SET_COOKIE].to_str().unwrap();
    HeaderValue::from_str(line.split(';').next().unwrap()).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let config = || SessionConfig::from_toml_str(CONFIG).unwrap();
    let redis = redis_support::RedisServer::start();
    let mut layers = vec![
        ("client", SessionLayer::new(config()).unwrap()),
        (
            "memory",
            SessionLayer::new(config())
                .unwrap()
                .server_store(MemoryStore::new()),
        ),
    ];
    if let Some(redis) = &redis {
        let store = rt.block_on(RedisStore::connect(&redis.url())).unwrap();
        layers.push((
            "redis",
            SessionLayer::new(config()).unwrap().server_store(store),
        ));
    }
    let mut group = c.benchmark_group("mode_read_write");
    for (name, layer) in layers {
        let mut svc = layer.layer(tower::service_fn(handler));
        let cookie = rt.block_on(prime(&mut svc));
        eprintln!(
            "{name}: cookie `{}` is {} bytes",
            cookie.to_str().unwrap().split('=').next().unwrap(),
            cookie.len()
        );
        group.bench_function(name, |b| {
            b.iter(|| {
                rt.block_on(async {
                    svc.ready()
                        .await
                        .unwrap()
                        .call(request(Some(&cookie)))
                        .await
                        .unwrap()
                })
            });
        });
    }
    group.finish();
}

/// What `criterion_group!(benches, bench)` expands to, but private: the macro's `pub fn` has
/// no doc and trips the workspace's `missing_docs`.
fn benches() {
    bench(&mut Criterion::default().configure_from_args());
}

criterion_main!(benches);
