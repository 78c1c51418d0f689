//! `Session` as an axum extractor, through a real server on 127.0.0.1.

mod common;

use axum::routing::get;
use axum::Router;
use sealed_session::{Session, SessionLayer};

use common::http::{config, Browser};

async fn counter(session: Session) -> String {
    let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
    session.insert("visit_count", &count).unwrap();
    format!("You have visited this page {count} times.")
}

async fn serve(app: Router) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, task)
}

#[tokio::test]
async fn extractor_counts_across_requests() {
    let layer = SessionLayer::new(config("")).unwrap();
    let (base, task) = serve(Router::new().route("/", get(counter)).layer(layer)).await;
    let mut b = Browser::with_base(base);
    for n in 1..=3 {
        assert_eq!(
            b.get("/").await.body,
            format!("You have visited this page {n} times.")
        );
    }
    task.abort();
}

#[tokio::test]
async fn missing_layer_is_a_clear_500() {
    let (base, task) = serve(Router::new().route("/", get(counter))).await;
    let mut b = Browser::with_base(base);
    let r = b.get("/").await;
    assert_eq!(r.status, http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.contains("add `SessionLayer`"), "{}", r.body);
    task.abort();
}
