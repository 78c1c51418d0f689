//! The production cookie defaults in a real browser: Debian's headless Chromium, driven over
//! WebDriver, against the visit counter served over https on 127.0.0.1 with the default cookie
//! settings (`__Host-` prefix, `Secure`, `HttpOnly`, `SameSite=Lax`, `Path=/`).
//!
//! A browser accepts a `__Host-` cookie only when it is `Secure`, has `Path=/` and no
//! `Domain`, and only over https (RFC 6265bis §4.1.3.2), so counting past 1 here shows that the
//! defaults are what a browser keeps. Skipped (visibly) without `chromium` and `chromedriver`;
//! see tests/common/browser.rs.

mod common;

use http::{header, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use sealed_session::{Session, SessionLayer};
use tower::ServiceBuilder;

use common::browser::{BrowserCookie, Chromium, HttpsServer};
use common::http::{config, text, Body};

const NAME: &str = "__Host-session";

/// Bytes of the grown session: with the default `max_cookie_len` of 4096 it takes three
/// cookies.
const BIG: usize = 8000;

fn blob_byte(i: usize) -> u8 {
    u8::try_from(i * 7919 % 251).expect("below 251")
}

/// The visit counter, and routes to grow the session, read it back and log out (GET only:
/// the browser navigates).
#[allow(clippy::unused_async)] // an async handler, as the server expects
async fn app(req: Request<Incoming>) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    let mut res = match (req.method().clone(), req.uri().path()) {
        (Method::GET, "/") => {
            let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
            session.insert("visit_count", &count).unwrap();
            text(
                StatusCode::OK,
                format!("You have visited this page {count} times."),
            )
        }
        (Method::GET, "/grow") => {
            // `serde_bytes`: one byte per byte (a `Vec<u8>` is an array of integers, up to
            // two bytes per byte; see the `data` module docs).
            let blob = serde_bytes::ByteBuf::from((0..BIG).map(blob_byte).collect::<Vec<u8>>());
            session.insert("blob", &blob).unwrap();
            text(StatusCode::OK, "grown")
        }
        (Method::GET, "/blob") => {
            let blob: serde_bytes::ByteBuf = session.get("blob").unwrap().unwrap_or_default();
            let intact = blob.iter().enumerate().all(|(i, &b)| b == blob_byte(i));
            text(StatusCode::OK, format!("blob {} {intact}", blob.len()))
        }
        (Method::GET, "/logout") => {
            session.flush();
            text(StatusCode::OK, "bye")
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    };
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// Our cookies in the browser, sorted by name (`NAME`, `NAME.1`, …).
async fn ours(browser: &Chromium) -> Vec<BrowserCookie> {
    let mut cookies: Vec<_> = browser
        .cookies()
        .await
        .into_iter()
        .filter(|c| c.name.starts_with(NAME))
        .collect();
    cookies.sort_by(|a, b| a.name.cmp(&b.name));
    cookies
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn production_defaults_work_in_headless_chromium() {
    let Some(browser) = Chromium::start().await else {
        return;
    };
    // The default cookie settings, as `SessionConfig` gives them: nothing relaxed.
    let layer = SessionLayer::new(config("")).unwrap();
    let svc = ServiceBuilder::new()
        .layer(layer)
        .service_fn(|req| async move { Ok::<_, std::convert::Infallible>(app(req).await) });
    let server = HttpsServer::serve(svc).await;
    let home = server.url("/");

    // 1, 2, 3: the browser keeps the cookie and sends it back.
    for n in 1..=3 {
        assert_eq!(
            browser.visit(&home).await,
            format!("You have visited this page {n} times.")
        );
    }
    let jar = ours(&browser).await;
    assert_eq!(jar.len(), 1, "{jar:?}");
    let cookie = &jar[0];
    assert_eq!(cookie.name, NAME);
    assert!(cookie.secure, "{cookie:?}");
    assert!(cookie.http_only, "{cookie:?}");
    assert_eq!(cookie.same_site, "Lax");
    assert_eq!(cookie.path, "/");
    eprintln!(
        "browser: counted 1, 2, 3 with {NAME} (Secure, HttpOnly, SameSite=Lax, Path=/; {} chars)",
        cookie.value.len()
    );

    // A tampered cookie (one character changed in the middle) restarts the count.
    let mut tampered = cookie.clone();
    let mid = tampered.value.len() / 2;
    let flipped = if &tampered.value[mid..=mid] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.value.replace_range(mid..=mid, flipped);
    browser.add_cookie(&tampered).await;
    assert_eq!(ours(&browser).await[0].value, tampered.value);
    assert_eq!(
        browser.visit(&home).await,
        "You have visited this page 1 times."
    );
    assert_ne!(ours(&browser).await[0].value, tampered.value);
    assert_eq!(
        browser.visit(&home).await,
        "You have visited this page 2 times."
    );
    eprintln!("browser: a tampered cookie restarted the count at 1");

    // An 8 kB session: chunked over several cookies, all kept and sent back, read back whole.
    assert_eq!(browser.visit(&server.url("/grow")).await, "grown");
    let jar = ours(&browser).await;
    let names: Vec<&str> = jar.iter().map(|c| c.name.as_str()).collect();
    assert!(jar.len() >= 3, "{names:?}");
    assert_eq!(names[..3], [NAME, "__Host-session.1", "__Host-session.2"]);
    assert!(jar.iter().all(|c| c.secure && c.http_only && c.path == "/"));
    let total: usize = jar.iter().map(|c| c.value.len()).sum();
    assert_eq!(
        browser.visit(&server.url("/blob")).await,
        format!("blob {BIG} true")
    );
    assert_eq!(
        browser.visit(&home).await,
        "You have visited this page 3 times."
    );
    eprintln!(
        "browser: an {BIG}-byte session read back from {} cookies ({names:?}, {total} chars)",
        jar.len()
    );

    // Logout removes every chunk from the browser.
    assert_eq!(browser.visit(&server.url("/logout")).await, "bye");
    let left = ours(&browser).await;
    assert!(left.is_empty(), "left after logout: {left:?}");
    assert_eq!(
        browser.visit(&home).await,
        "You have visited this page 1 times."
    );
    eprintln!("browser: logout removed every chunk; the next visit counted 1");

    browser.quit().await;
}
