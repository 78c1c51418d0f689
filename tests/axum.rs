//! `Session` as an axum extractor, through a real server on 127.0.0.1.

mod common;

use axum::routing::get;
use axum::Router;
use sealed_session::{Session, SessionLayer};

use common::http::{config, Browser, TestServer};

async fn counter(session: Session) -> String {
    let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
    session.insert("visit_count", &count).unwrap();
    format!("You have visited this page {count} times.")
}

#[tokio::test]
async fn extractor_counts_across_requests() {
    let layer = SessionLayer::new(config("")).unwrap();
    let srv = TestServer::serve(Router::new().route("/", get(counter)).layer(layer)).await;
    let mut b = Browser::new(&srv);
    for n in 1..=3 {
        assert_eq!(
            b.get("/").await.body,
            format!("You have visited this page {n} times.")
        );
    }
}

#[tokio::test]
async fn missing_layer_is_a_clear_500() {
    let srv = TestServer::serve(Router::new().route("/", get(counter))).await;
    let mut b = Browser::new(&srv);
    let r = b.get("/").await;
    assert_eq!(r.status, http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.contains("add `SessionLayer`"), "{}", r.body);
}
