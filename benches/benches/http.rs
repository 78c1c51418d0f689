//! HTTP benchmark over loopback: the visit counter under hyper, driven by an in-process load
//! generator (hyper client, keep-alive, 64 concurrent clients, a fixed number of requests),
//! for no session, client mode, memory mode and redis mode, in the same run. Prints requests
//! per second and p50/p99 latency, each with its ratio to "no session".
//!
//! `cargo bench -p sealed-session-benches --bench http` (`HTTP_BENCH_REQUESTS` per client,
//! default 500). Redis mode needs `redis-server` on PATH (skipped, loudly, otherwise). Only
//! 127.0.0.1 is targeted.

#[path = "../../tests/common/load.rs"]
mod load;
#[path = "../../tests/common/redis.rs"]
mod redis_support;

use sealed_session::store::RedisStore;
use sealed_session::{SessionConfig, SessionLayer};

const CLIENTS: usize = 64;
const CONFIG: &str =
    "[[keys]]\nid = 1\nsecret = \"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\"\n";

fn config(extra: &str) -> SessionConfig {
    SessionConfig::from_toml_str(&format!("{extra}\n{CONFIG}")).unwrap()
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let requests: u64 = std::env::var("HTTP_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let redis = redis_support::RedisServer::start();
        let mut cases: Vec<(&str, Option<SessionLayer>)> = vec![
            ("no session", None),
            ("client mode", Some(SessionLayer::new(config("")).unwrap())),
            (
                "memory mode",
                Some(SessionLayer::new(config("[store]\nmode = \"server\"")).unwrap()),
            ),
        ];
        if let Some(redis) = &redis {
            let store = RedisStore::connect(&redis.url()).await.unwrap();
            cases.push((
                "redis mode",
                Some(SessionLayer::new(config("")).unwrap().server_store(store)),
            ));
        }
        println!(
            "{CLIENTS} keep-alive clients x {requests} requests, session read+write per request\n"
        );
        println!("| case | req/s | ratio | p50 | p99 |");
        println!("|---|---|---|---|---|");
        let mut base = None;
        for (name, layer) in cases {
            let check = layer.is_some();
            let server = load::serve(layer).await;
            let _warm = load::run(server.addr, CLIENTS, requests / 5 + 1, check).await;
            let r = load::run(server.addr, CLIENTS, requests, check).await;
            assert_eq!(r.errors, 0, "{name}: errors");
            assert_eq!(r.wrong_counts, 0, "{name}: wrong counts");
            let rps = r.rps();
            let base_rps = *base.get_or_insert(rps);
            println!(
                "| {name} | {rps:.0} | {:.2} | {:.0} µs | {:.0} µs |",
                rps / base_rps,
                r.percentile(0.5).as_secs_f64() * 1e6,
                r.percentile(0.99).as_secs_f64() * 1e6
            );
        }
    });
}
