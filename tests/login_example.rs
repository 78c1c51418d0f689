//! The `login` example (`examples/login.rs`), as a user runs it: its [`app`](login::app)
//! served by a real hyper server, driven by clients with cookie jars through its HTML forms,
//! in client mode (sealed cookie) and server mode (memory store): CSRF on every form, a wrong
//! password, login with and without "remember me", the flash shown once, logout, and "log out
//! everywhere" ending another device's session.

mod common;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/login.rs"]
mod login;

use std::time::Duration;

use http::StatusCode;
use sealed_session::SessionLayer;

use common::http::{config, Browser, Reply, TestServer};
use common::Mode;

common::both_modes!(
    forms_without_the_csrf_token_are_refused,
    a_wrong_password_flashes_an_error_and_logs_nobody_in,
    login_flashes_once_cycles_the_session_and_remember_me_sets_max_age,
    logout_ends_the_session_with_a_flash,
    logout_everywhere_ends_the_other_devices_session,
);

/// The example's app, with its users' stamps checked on every request (interval zero), so
/// that "log out everywhere" shows at the other device's next request.
async fn server(mode: Mode) -> TestServer {
    let layer = mode.layer(SessionLayer::new(config("")).unwrap());
    let app = login::app(layer, login::Users::demo(), Duration::ZERO);
    TestServer::serve(app).await
}

/// The page's CSRF token, from the hidden field of its forms.
fn token_of(page: &Reply) -> String {
    let (_, rest) = page
        .body
        .split_once("name=csrf_token value=\"")
        .unwrap_or_else(|| panic!("a form with a token in {}", page.body));
    rest.split('"').next().unwrap().to_owned()
}

/// Loads the page and posts the login form on it, as a browser would.
async fn log_in(b: &mut Browser, user: &str, password: &str, remember: bool) -> Reply {
    let token = token_of(&b.get("/").await);
    let remember = if remember { "&remember=on" } else { "" };
    b.post_form(
        "/login",
        &format!("csrf_token={token}&user={user}&password={password}{remember}"),
    )
    .await
}

/// The session cookie's `Set-Cookie` line of a reply (client mode may chunk; the first one).
fn session_cookie(reply: &Reply) -> String {
    reply
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-session"))
        .unwrap_or_else(|| panic!("a session cookie in {:?}", reply.set_cookies()))
}

async fn forms_without_the_csrf_token_are_refused(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let page = b.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    let r = b
        .post_form("/login", "user=ada&password=lovelace&remember=on")
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.starts_with("CSRF token missing"), "{}", r.body);
    // A token of another browser's session does not do either.
    let theirs = token_of(&Browser::new(&srv).get("/").await);
    let r = b
        .post_form(
            "/login",
            &format!("csrf_token={theirs}&user=ada&password=lovelace"),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!b.get("/").await.body.contains("Logged in"));
    // The API route takes it in the header, from the page's meta tag.
    let token = token_of(&b.get("/").await);
    assert_eq!(b.post("/api/note").await.status, StatusCode::FORBIDDEN);
    let r = b
        .request_with(
            http::Method::POST,
            "/api/note",
            &[("x-csrf-token", token.as_str())],
        )
        .await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "noted\n"));
}

async fn a_wrong_password_flashes_an_error_and_logs_nobody_in(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    let r = log_in(&mut b, "ada", "babbage", false).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = b.get("/").await;
    assert!(page.body.contains("Unknown user or wrong password."));
    assert!(!page.body.contains("Logged in"));
    assert!(
        !b.get("/").await.body.contains("wrong password"),
        "shown once"
    );
}

async fn login_flashes_once_cycles_the_session_and_remember_me_sets_max_age(mode: Mode) {
    let srv = server(mode).await;
    // Without "remember me": a browser-session cookie (no Max-Age, no Expires).
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let before = b.jar.clone();
    let r = log_in(&mut b, "ada", "lovelace", false).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let cookie = session_cookie(&r);
    assert!(
        !cookie.contains("Max-Age") && !cookie.contains("Expires"),
        "{cookie}"
    );
    assert_ne!(b.jar, before, "login cycles the session");
    let page = b.get("/").await;
    assert!(page.body.contains("Welcome back, ada."), "{}", page.body);
    assert!(page.body.contains("Logged in as ada."));
    let again = b.get("/").await;
    assert!(
        !again.body.contains("Welcome back"),
        "the flash is shown once"
    );
    assert!(again.body.contains("Logged in as ada."));

    // With it: a persistent cookie for the remembered idle time (30 days), capped by the
    // configured absolute timeout (7 days by default).
    let mut b = Browser::new(&srv);
    let r = log_in(&mut b, "grace", "hopper", true).await;
    let cookie = session_cookie(&r);
    let absolute = config("").expiry.absolute;
    assert!(absolute < login::REMEMBER_FOR);
    let max_age = format!("Max-Age={}", absolute.as_secs());
    assert!(cookie.contains(&max_age), "{cookie}");
    assert!(b.get("/").await.body.contains("Logged in as grace."));
}

async fn logout_ends_the_session_with_a_flash(mode: Mode) {
    let srv = server(mode).await;
    let mut b = Browser::new(&srv);
    log_in(&mut b, "ada", "lovelace", false).await;
    let page = b.get("/").await;
    let r = b
        .post_form("/logout", &format!("csrf_token={}", token_of(&page)))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let page = b.get("/").await;
    assert!(page.body.contains("You have been logged out."));
    assert!(!page.body.contains("Logged in"));
}

async fn logout_everywhere_ends_the_other_devices_session(mode: Mode) {
    let srv = server(mode).await;
    let mut laptop = Browser::new(&srv);
    let mut phone = Browser::new(&srv);
    log_in(&mut laptop, "ada", "lovelace", true).await;
    log_in(&mut phone, "ada", "lovelace", true).await;
    assert!(phone.get("/").await.body.contains("Logged in as ada."));
    let page = laptop.get("/").await;
    assert!(page.body.contains("Logged in as ada."));
    let r = laptop
        .post_form(
            "/logout-everywhere",
            &format!("csrf_token={}", token_of(&page)),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(laptop
        .get("/")
        .await
        .body
        .contains("logged out on every device"));
    // The phone's cookie (or record) is still the one from its login, but its stamp is old.
    let page = phone.get("/").await;
    assert!(!page.body.contains("Logged in"), "{}", page.body);
    // Logging in again works, with the new stamp.
    log_in(&mut phone, "ada", "lovelace", false).await;
    assert!(phone.get("/").await.body.contains("Logged in as ada."));
}
