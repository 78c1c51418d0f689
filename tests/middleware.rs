//! The layer against a real hyper server on 127.0.0.1 and a real HTTP client with a cookie jar.

#[path = "common/http.rs"]
mod http_support;

use std::time::Duration;

use base64::Engine as _;
use http::{header, Method, Request, Response, StatusCode};
use http_support::{config, text, Body, Browser, TestServer, KEY1, KEY2};
use hyper::body::Incoming;
use sealed_session::{ManualClock, Session, SessionConfig, SessionLayer};

const NAME: &str = "__Host-session";

fn query_n(req: &Request<Incoming>) -> usize {
    req.uri()
        .query()
        .and_then(|q| q.strip_prefix("n="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// The test app: a counter and routes that exercise each part of the session API.
async fn app(req: Request<Incoming>) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    match (req.method().clone(), req.uri().path()) {
        (Method::GET, "/") => {
            let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
            session.insert("visit_count", &count).unwrap();
            text(StatusCode::OK, format!("You have visited this page {count} times."))
        }
        (Method::GET, "/untouched") => text(StatusCode::OK, "ok"),
        (Method::GET, "/read") => {
            let count: u64 = session.get("visit_count").unwrap().unwrap_or(0);
            text(StatusCode::OK, count.to_string())
        }
        (Method::POST, "/blob") => {
            // Incompressible-looking bytes, so the sealed size grows with n.
            let n = query_n(&req);
            let blob: Vec<u8> = (0..n).map(|i| (i * 7919 % 251) as u8).collect();
            if n == 0 {
                session.remove("blob");
            } else {
                session.insert("blob", &blob).unwrap();
            }
            text(StatusCode::OK, "stored")
        }
        (Method::GET, "/blob") => {
            let blob: Vec<u8> = session.get("blob").unwrap().unwrap_or_default();
            let ok = blob.iter().enumerate().all(|(i, &b)| b == (i * 7919 % 251) as u8);
            text(StatusCode::OK, format!("{} {ok}", blob.len()))
        }
        (Method::POST, "/flush") => {
            session.flush();
            text(StatusCode::OK, "bye")
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

async fn server(config: SessionConfig) -> (TestServer, SessionLayer) {
    let layer = SessionLayer::new(config).unwrap();
    (TestServer::start(layer.clone(), app).await, layer)
}

fn key_id_of(value: &str) -> u8 {
    let value = value.split_once('.').map_or(value, |(_, v)| v);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(value).unwrap()[1]
}

#[tokio::test]
async fn counter_goes_1_2_3() {
    let (srv, _) = server(config("")).await;
    let mut b = Browser::new(&srv);
    for n in 1..=3 {
        let r = b.get("/").await;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.body, format!("You have visited this page {n} times."));
        assert_eq!(r.set_cookies().len(), 1);
    }
    assert!(b.jar.contains_key(NAME));
}

#[tokio::test]
async fn set_cookie_has_secure_defaults_and_max_age() {
    let (srv, _) = server(config("[expiry]\nidle = \"30m\"")).await;
    let mut b = Browser::new(&srv);
    let line = b.get("/").await.set_cookies().remove(0);
    for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=1800"] {
        assert!(line.contains(attr), "{line} lacks {attr}");
    }
}

#[tokio::test]
async fn tampered_cookie_restarts_at_1_with_200() {
    let (srv, _) = server(config("")).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    b.get("/").await;
    let v = b.jar.get_mut(NAME).unwrap();
    let mid = v.len() / 2;
    let flipped = if &v[mid..=mid] == "A" { "B" } else { "A" };
    v.replace_range(mid..=mid, flipped);
    let r = b.get("/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, "You have visited this page 1 times.");
    assert_eq!(b.get("/").await.body, "You have visited this page 2 times.");
}

#[tokio::test]
async fn invalid_cookie_is_removed_when_the_session_is_read() {
    let (srv, _) = server(config("")).await;
    let b = Browser::new(&srv);
    let r = b
        .send_raw(Method::GET, "/read", Some(format!("{NAME}=garbage")))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let lines = r.set_cookies();
    assert_eq!(lines.len(), 1);
    assert!(lines[0].starts_with(&format!("{NAME}=;")) && lines[0].contains("Max-Age=0"));
}

#[tokio::test]
async fn untouched_session_sends_no_set_cookie_and_no_vary() {
    let (srv, _) = server(config("")).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let r = b.get("/untouched").await;
    assert!(r.set_cookies().is_empty());
    assert!(r.headers.get(header::VARY).is_none());
    // Not even a garbage cookie is looked at.
    let r = b
        .send_raw(Method::GET, "/untouched", Some(format!("{NAME}=garbage")))
        .await;
    assert!(r.set_cookies().is_empty());
}

#[tokio::test]
async fn read_only_request_varies_on_cookie_and_sends_nothing() {
    let (srv, _) = server(config("")).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let r = b.get("/read").await;
    assert_eq!(r.body, "1");
    assert!(r.set_cookies().is_empty());
    assert_eq!(r.headers[header::VARY], "Cookie");
    assert_eq!(r.headers[header::CACHE_CONTROL], "private");
}

#[tokio::test]
async fn large_session_round_trips_through_chunks_and_shrinks_back() {
    let (srv, _) = server(config("[cookie]\nmax_chunks = 8")).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let r = b.post("/blob?n=9000").await;
    let lines = r.set_cookies();
    assert!(lines.len() >= 3, "{lines:?}");
    assert!(lines.iter().all(|l| l.len() <= 4096));
    assert!(b.jar.contains_key(&format!("{NAME}.1")) && b.jar.contains_key(&format!("{NAME}.2")));
    assert_eq!(b.get("/blob").await.body, "9000 true");
    assert_eq!(b.get("/").await.body, "You have visited this page 2 times.");
    // Shrink: back to one cookie, every chunk removed.
    b.post("/blob?n=0").await;
    assert_eq!(b.jar.keys().collect::<Vec<_>>(), [NAME]);
    assert_eq!(b.get("/").await.body, "You have visited this page 3 times.");
}

#[tokio::test]
async fn flush_removes_every_chunk() {
    let (srv, _) = server(config("[cookie]\nmax_chunks = 8")).await;
    let mut b = Browser::new(&srv);
    b.post("/blob?n=9000").await;
    let chunks = b.jar.len();
    assert!(chunks >= 3);
    let r = b.post("/flush").await;
    let removals = r
        .set_cookies()
        .into_iter()
        .filter(|l| l.contains("Max-Age=0"))
        .count();
    assert_eq!(removals, chunks);
    assert!(b.jar.is_empty());
    assert_eq!(b.get("/").await.body, "You have visited this page 1 times.");
}

#[tokio::test]
async fn session_past_max_chunks_is_a_500_never_silent_loss() {
    let (srv, _) = server(config("[cookie]\nmax_chunks = 2")).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let before = b.jar.clone();
    let r = b.post("/blob?n=9000").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(r.set_cookies().is_empty());
    assert_eq!(b.jar, before);
}

#[tokio::test]
async fn cookie_sealed_with_old_key_comes_back_under_the_primary() {
    let (srv, layer) = server(config("")).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    assert_eq!(key_id_of(&b.jar[NAME]), 1);
    let rotated: SessionConfig = toml::from_str(&format!(
        "[[keys]]\nid = 2\nsecret = \"{KEY2}\"\n[[keys]]\nid = 1\nsecret = \"{KEY1}\"\nstate = \"decrypt-only\"\n"
    ))
    .unwrap();
    layer.key_ring_handle().reload(&rotated).unwrap();
    // A read-only request: nothing changed, but the cookie is re-sealed under key 2.
    let r = b.get("/read").await;
    assert_eq!(r.body, "1");
    assert_eq!(r.set_cookies().len(), 1);
    assert_eq!(key_id_of(&b.jar[NAME]), 2);
    assert_eq!(b.get("/").await.body, "You have visited this page 2 times.");
}

#[tokio::test]
async fn tossed_cookies_first_that_opens_wins() {
    let (srv, _) = server(config("")).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    b.get("/").await;
    let good = b.jar[NAME].clone();
    let header = format!("{NAME}=AQFtossed; {NAME}={good}; {NAME}=zzz");
    let r = b.send_raw(Method::GET, "/read", Some(header)).await;
    assert_eq!(r.body, "2");
}

#[tokio::test]
async fn idle_renewal_only_past_the_threshold() {
    let clock = ManualClock::at_unix(1_700_000_000);
    let layer = SessionLayer::new(config("[expiry]\nidle = \"40m\"\nrenew_after = \"10m\""))
        .unwrap()
        .clock(clock.clone());
    let srv = TestServer::start(layer, app).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    clock.advance(Duration::from_secs(9 * 60));
    assert!(b.get("/read").await.set_cookies().is_empty());
    clock.advance(Duration::from_secs(60));
    assert_eq!(b.get("/read").await.set_cookies().len(), 1);
    assert!(b.get("/read").await.set_cookies().is_empty());
    // Idle for the whole timeout: a new session.
    clock.advance(Duration::from_secs(42 * 60));
    assert_eq!(b.get("/").await.body, "You have visited this page 1 times.");
}
