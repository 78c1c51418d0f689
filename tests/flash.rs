//! Flash messages through a real hyper server and a client with a cookie jar, in client mode
//! (sealed cookie) and server mode (memory store): queued by a POST that redirects, shown once
//! by the next request that reads them, then gone; bounded in count and size.

mod common;

use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use sealed_session::session::{Level, MAX_FLASHES, MAX_FLASH_TEXT_LEN};
use sealed_session::{Session, SessionLayer};

use common::http::{config, text, Body, Browser, TestServer};
use common::Mode;

common::both_modes!(
    flash_is_shown_once_after_a_redirect,
    flashes_wait_for_the_request_that_reads_them,
    flash_queue_drops_the_oldest_and_cuts_long_texts,
    flashes_queued_over_several_requests_stay_bounded,
    an_unreadable_flash_queue_is_dropped_and_the_next_page_works,
    a_page_that_fails_after_reading_the_flashes_leaves_them_for_the_next,
);

fn query_n(req: &Request<Incoming>) -> usize {
    req.uri()
        .query()
        .and_then(|q| q.strip_prefix("n="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn see_other(to: &str) -> Response<Body> {
    let mut res = text(StatusCode::SEE_OTHER, "");
    res.headers_mut()
        .insert(header::LOCATION, to.parse().unwrap());
    res
}

async fn app(req: Request<Incoming>) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    match (req.method().clone(), req.uri().path()) {
        // Shows (and so consumes) the waiting messages, one `level:text` line each.
        (Method::GET, "/") => {
            let lines: Vec<String> = session
                .take_flashes()
                .unwrap()
                .into_iter()
                .map(|f| format!("{}:{}", f.level, f.text))
                .collect();
            text(StatusCode::OK, lines.join("\n"))
        }
        // Reads (and so consumes) the messages, then fails: a 5xx saves nothing.
        (Method::GET, "/fail") => {
            let shown = session.take_flashes().unwrap();
            text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{} lost", shown.len()),
            )
        }
        // Logout: the session ends, and the next page says so.
        (Method::POST, "/logout") => {
            session.flush();
            session.flash(Level::Info, "Logged out.").unwrap();
            see_other("/")
        }
        // Uses the session without looking at the messages.
        (Method::GET, "/count") => {
            let n: u64 = session.get("n").unwrap().unwrap_or(0) + 1;
            session.insert("n", &n).unwrap();
            text(StatusCode::OK, n.to_string())
        }
        (Method::POST, "/login") => {
            session.insert("user", "ada").unwrap();
            session.cycle();
            session.flash(Level::Success, "Welcome back, Ada.").unwrap();
            see_other("/")
        }
        // `n` messages of 1000 bytes each, numbered from 0.
        (Method::POST, "/many") => {
            for i in 0..query_n(&req) {
                let body = format!("{i:04}{}", "x".repeat(996));
                session.flash(Level::Warning, body).unwrap();
            }
            see_other("/")
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

async fn server(mode: Mode) -> TestServer {
    let layer = SessionLayer::new(config("")).unwrap();
    let layer = mode.layer(layer);
    TestServer::start(layer, app).await
}

async fn flash_is_shown_once_after_a_redirect(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let r = b.post("/login").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.set_cookies().len(), 1);
    // The redirect target shows it ...
    let r = b.request(Method::GET, "/").await;
    assert_eq!(r.body, "success:Welcome back, Ada.");
    // ... and the next page does not.
    assert_eq!(b.get("/").await.body, "");
    assert_eq!(b.get("/").await.body, "");
    // The rest of the session is untouched.
    assert_eq!(b.get("/count").await.body, "1");
}

/// A 5xx response saves none of the handler's changes, taking the flashes included: the
/// page that failed showed nothing, so the next one shows them. Also when the flashes were
/// all the session held (after a logout), where the take left the session empty: that is not
/// a `flush`, so the session must not end.
async fn a_page_that_fails_after_reading_the_flashes_leaves_them_for_the_next(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    b.post("/login").await;
    let r = b.get("/fail").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(b.get("/").await.body, "success:Welcome back, Ada.");
    // After a logout the flash is the whole session.
    b.post("/logout").await;
    let r = b.get("/fail").await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        r.set_cookies(),
        Vec::<String>::new(),
        "the 5xx ended the session"
    );
    assert_eq!(b.get("/").await.body, "info:Logged out.");
    assert_eq!(b.get("/").await.body, "");
}

async fn flashes_wait_for_the_request_that_reads_them(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    b.post("/login").await;
    assert_eq!(b.get("/count").await.body, "1");
    assert_eq!(b.get("/count").await.body, "2");
    assert_eq!(b.get("/").await.body, "success:Welcome back, Ada.");
    assert_eq!(b.get("/").await.body, "");
}

async fn flash_queue_drops_the_oldest_and_cuts_long_texts(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let n = MAX_FLASHES + 5;
    let r = b.post(&format!("/many?n={n}")).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    if mode == Mode::Client {
        // The bounded queue fits in one cookie of the default 4096 bytes.
        assert_eq!(r.set_cookies().len(), 1, "{:?}", r.set_cookies());
    }
    let shown = b.get("/").await.body;
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), MAX_FLASHES);
    for (line, i) in lines.iter().zip(5..n) {
        let text = line.strip_prefix("warning:").unwrap();
        assert!(text.starts_with(&format!("{i:04}")), "{text:.8} vs {i}");
        assert_eq!(text.len(), MAX_FLASH_TEXT_LEN);
    }
    assert_eq!(b.get("/").await.body, "");
}

async fn flashes_queued_over_several_requests_stay_bounded(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    b.post("/many?n=5").await;
    b.post("/many?n=5").await;
    let shown = b.get("/").await.body;
    let heads: Vec<&str> = shown
        .lines()
        .map(|l| &l["warning:".len().."warning:".len() + 4])
        .collect();
    // The second request's five, after the last three of the first.
    let mut expected = vec!["0002", "0003", "0004"];
    expected.extend(["0000", "0001", "0002", "0003", "0004"]);
    assert_eq!(heads.len(), MAX_FLASHES);
    assert_eq!(heads, expected[expected.len() - MAX_FLASHES..]);
}

/// Something other than a flash list under `_flash` (a newer build's form during a rolling
/// deploy, or a handler that used the reserved key) in a session that holds more: a page that
/// shows messages with `?`, as the README's handlers do, must not fail on every request of
/// that session. It used to:
/// `take_flashes` removed the value but returned an error, the `?` made the response a 500,
/// and a 5xx response saves nothing, so the value came back on every request.
async fn an_unreadable_flash_queue_is_dropped_and_the_next_page_works(mode: Mode) {
    use axum::routing::get;
    use sealed_session::session::FLASH_KEY;

    let app = axum::Router::new()
        .route(
            "/plant",
            get(|session: Session| async move {
                session.insert("user", "ada")?;
                session.insert(FLASH_KEY, &7u32)?;
                Ok::<_, sealed_session::Error>("planted")
            }),
        )
        .route(
            "/",
            get(|session: Session| async move {
                let shown = session.take_flashes()?;
                let user: Option<String> = session.get("user")?;
                Ok::<_, sealed_session::Error>(format!("{user:?}: {} message(s)", shown.len()))
            }),
        )
        .layer(mode.layer(SessionLayer::new(config("")).unwrap()));
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/plant").await.body, "planted");
    let first = b.get("/").await;
    assert_eq!(first.status, StatusCode::OK, "{first:?}");
    assert_eq!(first.body, "Some(\"ada\"): 0 message(s)");
    let second = b.get("/").await;
    assert_eq!(second.status, StatusCode::OK, "{second:?}");
    assert_eq!(second.body, "Some(\"ada\"): 0 message(s)");
}
