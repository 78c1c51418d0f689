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

/// A route added after `.layer(session_layer)` is not wrapped by it (axum's `Router::layer`
/// wraps only the routes added before it): the 500 must say so, since "add `SessionLayer`
/// around this route" reads as done to someone who has called `.layer` once already.
#[tokio::test]
async fn a_route_added_after_the_layer_is_told_that_layer_wraps_only_earlier_routes() {
    let layer = SessionLayer::new(config("")).unwrap();
    let app = Router::new()
        .route("/", get(counter))
        .layer(layer)
        .route("/late", get(counter));
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "You have visited this page 1 times.");
    let r = b.get("/late").await;
    assert_eq!(r.status, http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.body.contains("routes added before it"), "{}", r.body);
}

/// `CsrfLayer` written after `SessionLayer` on an axum `Router`, in the order a
/// `ServiceBuilder` takes them, ends up outside it (axum's last `.layer` is the outermost):
/// every POST is a 500 whose body shows the order that works on axum.
#[tokio::test]
async fn csrf_layer_outside_the_session_layer_on_axum_is_told_the_order_that_works() {
    use axum::routing::post;
    use sealed_session::csrf::CsrfLayer;
    let layer = SessionLayer::new(config("")).unwrap();
    let app = Router::new()
        .route("/", post(|| async { "posted" }))
        .layer(layer)
        .layer(CsrfLayer::new());
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    let r = b.post("/").await;
    assert_eq!(r.status, http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        r.body
            .contains(".layer(CsrfLayer::new()).layer(session_layer)"),
        "{}",
        r.body
    );
}

/// State, nesting and `route_layer`: the extractor works in a `Router<AppState>` finished
/// with `with_state`, in a nested router, and under `route_layer`.
#[tokio::test]
async fn the_extractor_works_with_state_in_nested_routers_and_under_route_layer() {
    #[derive(Clone)]
    struct AppState {
        greeting: &'static str,
    }
    async fn greet(
        axum::extract::State(state): axum::extract::State<AppState>,
        session: Session,
    ) -> String {
        let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
        session.insert("visit_count", &count).unwrap();
        format!("{} {count}", state.greeting)
    }
    let layer = SessionLayer::new(config("")).unwrap();
    let api: Router<AppState> = Router::new()
        .route("/greet", get(greet))
        .route_layer(layer.clone());
    let app = Router::new()
        .nest("/api", api)
        .route("/", get(greet))
        .layer(layer)
        .with_state(AppState { greeting: "hello" });
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "hello 1");
    assert_eq!(b.get("/api/greet").await.body, "hello 2");
    assert_eq!(b.get("/").await.body, "hello 3");
}

/// `CsrfForm`'s docs: a body over axum's `DefaultBodyLimit` is `413`, as axum's `Form` answers.
#[tokio::test]
async fn csrf_form_answers_413_for_a_body_over_the_default_body_limit() {
    use axum::extract::DefaultBodyLimit;
    use axum::routing::post;
    use sealed_session::csrf::{Csrf, CsrfForm};
    #[derive(serde::Deserialize)]
    struct Comment {
        text: String,
    }
    async fn form(csrf: Csrf) -> Result<String, sealed_session::Error> {
        csrf.token()
    }
    async fn comment(CsrfForm(c): CsrfForm<Comment>) -> String {
        c.text
    }
    let layer = SessionLayer::new(config("")).unwrap();
    let app = Router::new()
        .route("/form", get(form))
        .route("/comment", post(comment))
        .layer(DefaultBodyLimit::max(256))
        .layer(layer);
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    let token = b.get("/form").await.body;
    let ok = b
        .post_form("/comment", &format!("text=hi&csrf_token={token}"))
        .await;
    assert_eq!((ok.status, ok.body.as_str()), (http::StatusCode::OK, "hi"));
    let long = "x".repeat(512);
    let r = b
        .post_form("/comment", &format!("text={long}&csrf_token={token}"))
        .await;
    assert_eq!(r.status, http::StatusCode::PAYLOAD_TOO_LARGE, "{}", r.body);
}
