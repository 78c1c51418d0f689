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

/// `?` in a handler: a value stored as one type and read as another is a generic 500 (no key
/// name, no value in the body), and the stored value stays for a handler that reads it right.
#[tokio::test]
async fn question_mark_in_a_handler_is_a_generic_500_and_the_value_stays() {
    async fn write(session: Session) -> Result<&'static str, sealed_session::Error> {
        session.insert("secret_plan", "take over the world")?;
        Ok("stored")
    }
    async fn read_wrong(session: Session) -> Result<String, sealed_session::Error> {
        let n: Option<u64> = session.get("secret_plan")?;
        Ok(format!("{n:?}"))
    }
    async fn read_right(session: Session) -> Result<String, sealed_session::Error> {
        let plan: Option<String> = session.get("secret_plan")?;
        Ok(plan.unwrap_or_default())
    }
    let layer = SessionLayer::new(config("")).unwrap();
    let app = Router::new()
        .route("/write", get(write))
        .route("/wrong", get(read_wrong))
        .route("/right", get(read_right))
        .layer(layer);
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/write").await.body, "stored");
    let r = b.get("/wrong").await;
    assert_eq!(r.status, http::StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(r.body, "Internal Server Error");
    assert_eq!(b.get("/right").await.body, "take over the world");
}
