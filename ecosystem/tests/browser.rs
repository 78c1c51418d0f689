//! The `axum_login` example's login flow in a real browser: Debian's headless Chromium,
//! driven over WebDriver, against the app served over https on 127.0.0.1 with the default
//! (production) cookie settings (`__Host-` prefix, `Secure`, `HttpOnly`, `SameSite=Lax`):
//! the protected page sends the browser to the login form; a wrong password shows
//! axum-messages' error; the right one lands on the protected page with the welcome message;
//! logout ends access. Skipped (visibly) without `chromium` and `chromedriver`, and fails
//! instead with `SEALED_SESSION_REQUIRE_BROWSER=1`, as the root package's browser test.

#[allow(dead_code, unreachable_pub)]
#[path = "../../tests/common/browser.rs"]
mod browser;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/axum_login.rs"]
mod example;

/// What `browser` takes from the root package's `common::redis`: the running test's name.
mod redis {
    pub fn current_test() -> String {
        std::thread::current()
            .name()
            .unwrap_or("browser")
            .to_owned()
    }
}

use browser::{Chromium, HttpsServer};
use sealed_session::SessionLayer;

const KEY1: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_login_flow_works_in_headless_chromium() {
    let Some(chromium) = Chromium::start().await else {
        return;
    };
    let config = sealed_session::SessionConfig::from_toml_str(&format!(
        "[[keys]]\nid = 1\nsecret = \"{KEY1}\"\n"
    ))
    .unwrap();
    let app = example::app(SessionLayer::new(config).unwrap(), example::Backend::demo());
    let srv = HttpsServer::serve(app).await;

    // Not logged in: the protected page sends the browser to the login form.
    let page = chromium.visit(&srv.url("/protected")).await;
    assert!(!page.contains("Secret page"), "{page}");
    chromium.fill("input[name=username]", "ada").await;
    chromium.fill("input[name=password]", "babbage").await;
    chromium.click("#login").await;
    let page = chromium.body_text().await;
    assert!(page.contains("Invalid credentials."), "{page}");

    // The right password: back to the protected page (the `next` field), welcomed.
    chromium.goto(&srv.url("/login?next=/protected")).await;
    chromium.fill("input[name=username]", "ada").await;
    chromium.fill("input[name=password]", "lovelace").await;
    chromium.click("#login").await;
    let page = chromium.body_text().await;
    assert!(page.contains("Secret page of ada."), "{page}");
    assert!(page.contains("Welcome, ada."), "{page}");
    let cookies = chromium.cookies().await;
    assert!(
        cookies.iter().any(|c| c.name == "__Host-session"),
        "the browser keeps the __Host- session cookie: {cookies:?}"
    );
    let page = chromium.visit(&srv.url("/")).await;
    assert!(page.contains("Logged in as ada."), "{page}");
    assert!(
        !page.contains("Welcome"),
        "the message is shown once: {page}"
    );

    // Logout.
    chromium.click("#logout").await;
    let page = chromium.body_text().await;
    assert!(page.contains("Logged out."), "{page}");
    assert!(page.contains("Not logged in."), "{page}");
    let page = chromium.visit(&srv.url("/protected")).await;
    assert!(!page.contains("Secret page"), "{page}");
    chromium.quit().await;
}
