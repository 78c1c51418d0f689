//! Redis over TLS (feature `redis-tls`): a `redis-server` that listens on a TLS port only,
//! with a certificate from a CA made in the test, behind the real middleware and hyper server.
//! Skips visibly (fails with `SEALED_SESSION_REQUIRE_REDIS=1`) when the installed
//! `redis-server` lacks TLS.

mod common;

use std::time::Duration;

use http::StatusCode;
use sealed_session::store::RedisStore;
use sealed_session::SessionLayer;

use common::http::{config, Browser};
use common::load::{counter, TestServer};
use common::redis_tls::{TestPki, TlsRedis};

/// The `sealed-session:`-prefixed keys in the TLS-only server, read over TLS with redis-rs.
async fn keys(redis: &TlsRedis, pattern: &str) -> Vec<String> {
    let certs = redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(redis.pki.ca_pem.clone().into_bytes()),
    };
    let client = redis::Client::build_with_tls(redis.url(), certs).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("KEYS")
        .arg(pattern)
        .query_async(&mut conn)
        .await
        .unwrap()
}

#[tokio::test]
async fn visit_counter_works_over_rediss_with_the_ca_file_from_configuration() {
    let Some(redis) = TlsRedis::start() else {
        return;
    };
    let toml = format!(
        "[store]\nmode = \"server\"\nurl = \"{}\"\ntls_ca_file = \"{}\"\nprefix = \"tls:\"",
        redis.url(),
        redis.ca_file().display()
    );
    let layer = SessionLayer::connect(config(&toml)).await.unwrap();
    assert!(layer.is_server_mode());
    let srv = TestServer::start(layer, counter).await;
    let mut b = Browser::new(&srv);
    for n in 1..=3 {
        let r = b.get("/").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, n.to_string());
    }
    // A second browser gets its own session; both records are in the TLS-only server.
    let mut other = Browser::new(&srv);
    assert_eq!(other.get("/").await.body, "1");
    assert_eq!(keys(&redis, "tls:*").await.len(), 2);
}

#[tokio::test]
async fn rediss_checks_the_server_certificate() {
    let Some(redis) = TlsRedis::start() else {
        return;
    };
    // The right CA, given as PEM to the builder: connects.
    RedisStore::builder(redis.url())
        .tls_ca_pem(redis.pki.ca_pem.clone())
        .connect()
        .await
        .unwrap();
    // Another CA: the handshake fails, so does the connection.
    let stranger = TestPki::new("redis-tls-stranger");
    let err = RedisStore::builder(redis.url())
        .tls_ca_pem(stranger.ca_pem.clone())
        .connect()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("unavailable"), "{err}");
    // The system's roots do not know the test CA either.
    assert!(RedisStore::connect(&redis.url()).await.is_err());
    // The certificate names 127.0.0.1 and localhost; the host in the URL must match.
    let localhost = redis.url().replace("127.0.0.1", "localhost");
    RedisStore::builder(localhost)
        .tls_ca_pem(redis.pki.ca_pem.clone())
        .connect()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_ca_without_a_certificate_is_refused_before_connecting() {
    // No server needed: the PEM is checked before any connection is tried.
    let err = RedisStore::builder("rediss://127.0.0.1:1/")
        .tls_ca_pem("not a certificate")
        .connect()
        .await
        .unwrap_err();
    assert!(err.to_string().contains("holds no certificate"), "{err}");
}

#[tokio::test]
async fn an_unreadable_ca_file_is_a_configuration_error() {
    let toml = "[store]\nmode = \"server\"\nurl = \"rediss://127.0.0.1:1/\"\n\
                tls_ca_file = \"/nonexistent/sealed-session-ca.pem\"";
    let err = SessionLayer::connect(config(toml)).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("store.tls_ca_file"), "{text}");
    assert!(
        text.contains("/nonexistent/sealed-session-ca.pem"),
        "{text}"
    );
}

#[tokio::test]
async fn a_tls_redis_killed_gives_503s_and_recovers_after_restart() {
    let Some(mut redis) = TlsRedis::start() else {
        return;
    };
    let store = RedisStore::builder(redis.url())
        .tls_ca_pem(redis.pki.ca_pem.clone())
        .timeout(Duration::from_millis(300))
        .connect()
        .await
        .unwrap();
    let layer = SessionLayer::new(config("")).unwrap().server_store(store);
    let srv = TestServer::start(layer, counter).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "1");
    assert_eq!(b.get("/").await.body, "2");
    redis.server.kill();
    for _ in 0..2 {
        assert_eq!(b.get("/").await.status, StatusCode::SERVICE_UNAVAILABLE);
    }
    // Back (without persistence: the session starts over), with a new TLS handshake made by
    // the connection manager in the background; bounded wait.
    redis.server.spawn();
    let recovered = b.get_once_available("/").await;
    assert_eq!(
        recovered.as_deref(),
        Some("1"),
        "no recovery after the restart"
    );
    assert_eq!(b.get("/").await.body, "2");
}
