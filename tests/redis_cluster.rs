//! Redis Cluster as the store (feature `redis-cluster`): three masters started and joined by
//! the test, behind the real middleware and hyper server. Sessions spread over the slots of
//! every master; a master killed gives 503 for the sessions on its slots only; restarted, it
//! serves them again, with their data. Skips visibly (fails with
//! `SEALED_SESSION_REQUIRE_REDIS=1`) without `redis-server` or `redis-cli`.

mod common;

use std::time::{Duration, Instant};

use http::StatusCode;
use sealed_session::store::RedisStore;
use sealed_session::SessionLayer;

use common::http::{config, Browser};
use common::load::{counter, TestServer};
use common::redis_cluster::RedisCluster;

/// The node holding each record key, as the nodes report their own keys.
fn owners(cluster: &RedisCluster, pattern: &str) -> Vec<(usize, String)> {
    (0..cluster.nodes.len())
        .flat_map(|node| {
            cluster
                .keys(node, pattern)
                .into_iter()
                .map(move |k| (node, k))
        })
        .collect()
}

#[tokio::test]
async fn visit_counter_works_on_a_cluster_from_configuration() {
    let Some(cluster) = RedisCluster::start(3) else {
        return;
    };
    let nodes: Vec<String> = cluster.urls().iter().map(|u| format!("\"{u}\"")).collect();
    let toml = format!(
        "[store]\nmode = \"server\"\ncluster = [{}]\nprefix = \"cl:\"",
        nodes.join(", ")
    );
    let layer = SessionLayer::connect(config(&toml)).await.unwrap();
    let srv = TestServer::start(layer, counter).await;
    let mut b = Browser::new(&srv);
    for n in 1..=3 {
        assert_eq!(b.get("/").await.body, n.to_string());
    }
    // Many sessions: their records (one key each) spread over the masters' slots, and each
    // reads back through the cluster connection wherever it lives.
    let mut browsers: Vec<Browser> = (0..48).map(|_| Browser::new(&srv)).collect();
    for b in &mut browsers {
        assert_eq!(b.get("/").await.body, "1");
    }
    for b in &mut browsers {
        assert_eq!(b.get("/").await.body, "2");
    }
    let owners = owners(&cluster, "cl:*");
    assert_eq!(owners.len(), 49, "one record per session");
    for node in 0..3 {
        assert!(
            owners.iter().any(|(n, _)| *n == node),
            "no session on master {node}: {owners:?}"
        );
    }
}

/// A browser, the master its record lives on, and its count so far.
struct Visitor {
    browser: Browser,
    node: usize,
    count: u64,
}

/// Sends one request; a 200 must carry the next count.
async fn visit(v: &mut Visitor) -> StatusCode {
    let r = v.browser.get("/").await;
    if r.status == StatusCode::OK {
        v.count += 1;
        assert_eq!(r.body, v.count.to_string(), "session on master {}", v.node);
    }
    r.status
}

#[tokio::test]
async fn a_killed_master_fails_its_sessions_only_and_recovers_after_restart() {
    let Some(mut cluster) = RedisCluster::start(3) else {
        return;
    };
    let store = RedisStore::cluster_builder(cluster.urls())
        .timeout(Duration::from_millis(500))
        .prefix("kill:")
        .connect()
        .await
        .unwrap();
    let layer = SessionLayer::new(config("")).unwrap().server_store(store);
    let srv = TestServer::start(layer, counter).await;

    // Sessions until every master holds at least two; each one's master is the node whose
    // key set grew with its first request.
    let mut visitors: Vec<Visitor> = Vec::new();
    let mut known = owners(&cluster, "kill:*");
    while (0..3).any(|n| visitors.iter().filter(|v| v.node == n).count() < 2) {
        assert!(
            visitors.len() < 100,
            "sessions do not spread over the masters"
        );
        let mut v = Visitor {
            browser: Browser::new(&srv),
            node: usize::MAX,
            count: 0,
        };
        assert_eq!(visit(&mut v).await, StatusCode::OK);
        let now = owners(&cluster, "kill:*");
        let new: Vec<_> = now.iter().filter(|o| !known.contains(o)).collect();
        assert_eq!(new.len(), 1, "one new record per new session");
        v.node = new[0].0;
        known = now;
        visitors.push(v);
    }

    // Master 0 crashes. Its sessions get 503; the others keep counting, every request.
    let dead = 0;
    cluster.nodes[dead].kill();
    for round in 0..3 {
        for v in &mut visitors {
            let status = visit(v).await;
            if v.node == dead {
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "round {round}");
            } else {
                assert_eq!(status, StatusCode::OK, "round {round}, master {}", v.node);
            }
        }
    }

    // Restarted on the same port with its cluster config file and data directory: it takes
    // its slots back, and its sessions go on from where they were (append-only file).
    cluster.nodes[dead].spawn();
    cluster.wait_ok(Duration::from_secs(30));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut all_ok = true;
        for v in &mut visitors {
            all_ok &= visit(v).await == StatusCode::OK;
        }
        if all_ok {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the sessions of the restarted master did not recover within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for v in &mut visitors {
        assert_eq!(visit(v).await, StatusCode::OK);
    }
    // The restarted master's sessions kept their counts: nothing started over at 1.
    assert!(visitors
        .iter()
        .filter(|v| v.node == dead)
        .all(|v| v.count >= 3));
}

#[tokio::test]
async fn visit_counter_works_on_a_tls_cluster_with_the_ca_file() {
    let Some(cluster) = RedisCluster::start_with(3, true) else {
        return;
    };
    let pki = cluster.tls.as_ref().expect("a TLS cluster");
    let nodes: Vec<String> = cluster.urls().iter().map(|u| format!("\"{u}\"")).collect();
    let toml = format!(
        "[store]\nmode = \"server\"\ncluster = [{}]\ntls_ca_file = \"{}\"\nprefix = \"tls:\"",
        nodes.join(", "),
        pki.ca_file().display()
    );
    let layer = SessionLayer::connect(config(&toml)).await.unwrap();
    let srv = TestServer::start(layer, counter).await;
    // Enough sessions to reach every master, each over TLS (no node has a plain port).
    let mut browsers: Vec<Browser> = (0..24).map(|_| Browser::new(&srv)).collect();
    for n in 1..=2 {
        for b in &mut browsers {
            assert_eq!(b.get("/").await.body, n.to_string());
        }
    }
    let owners = owners(&cluster, "tls:*");
    assert_eq!(owners.len(), 24);
    assert!(
        (0..3).all(|node| owners.iter().any(|(n, _)| *n == node)),
        "{owners:?}"
    );
}
