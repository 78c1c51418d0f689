//! Load test of the visit counter over loopback, in client mode and memory mode: 64
//! concurrent keep-alive clients, every response a 200, every client's count exact, resident
//! memory flat after warm-up. Bounded in count and time.
//!
//! `cargo test` runs a reduced size (64 clients × 100 requests per mode, then the same again
//! to check memory). The full size (64 × 1,600 × 2 rounds = 204,800 requests per mode):
//!
//! ```text
//! SEALED_SESSION_LOAD_FULL=1 cargo test --release --test load -- --nocapture
//! ```

mod common;

use std::time::Duration;

use sealed_session::{SessionConfig, SessionLayer};

use common::load;

const CLIENTS: usize = 64;

fn requests_per_client() -> u64 {
    if std::env::var("SEALED_SESSION_LOAD_FULL").is_ok_and(|v| v == "1") {
        1_600
    } else {
        100
    }
}

fn config(mode: &str) -> SessionConfig {
    SessionConfig::from_toml_str(&format!(
        "[store]\nmode = \"{mode}\"\n[[keys]]\nid = 1\nsecret = \"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\"\n"
    ))
    .unwrap()
}

/// The two tests share the process, so they take turns: RSS is per process.
static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn load_mode(mode: &str) {
    let _turn = TURN.lock().await;
    let server = load::serve(Some(SessionLayer::new(config(mode)).unwrap())).await;
    let n = requests_per_client();
    // Round 1 warms up (allocator, connection buffers, store); round 2 must not grow.
    let warm = tokio::time::timeout(
        Duration::from_mins(10),
        load::run(server.addr, CLIENTS, n, true),
    )
    .await
    .expect("round 1 finished in bounded time");
    let rss_warm = load::rss_kib();
    let run = tokio::time::timeout(
        Duration::from_mins(10),
        load::run(server.addr, CLIENTS, n, true),
    )
    .await
    .expect("round 2 finished in bounded time");
    let rss_end = load::rss_kib();
    for (round, r) in [("warm-up", &warm), ("measured", &run)] {
        eprintln!(
            "{mode} {round}: {} requests, {} errors, {} wrong counts, {:.0} req/s, p50 {:?}, p99 {:?}",
            r.requests,
            r.errors,
            r.wrong_counts,
            r.rps(),
            r.percentile(0.5),
            r.percentile(0.99)
        );
        assert_eq!(r.errors, 0, "{mode} {round}: failed requests");
        assert_eq!(
            r.wrong_counts, 0,
            "{mode} {round}: a client's count was not exact"
        );
        assert_eq!(r.requests, CLIENTS * usize::try_from(n).unwrap());
    }
    if let (Some(a), Some(b)) = (rss_warm, rss_end) {
        eprintln!("{mode}: RSS after warm-up {a} KiB, after the measured round {b} KiB");
        // Flat: the second round (as many requests again) may not grow memory by more than
        // 16 MiB (allocator noise); a per-request leak of even 100 bytes would exceed it at
        // full size.
        assert!(
            b < a + 16 * 1024,
            "{mode}: RSS grew from {a} KiB to {b} KiB"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_mode_under_load() {
    load_mode("client").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_mode_under_load() {
    load_mode("server").await;
}
