//! Remember-me per session (`Session::set_session_expiry`) through a real hyper server and a
//! client with a cookie jar, in client mode (sealed cookie) and server mode (memory store):
//! a persistent cookie with the right `Max-Age` when the box is ticked, a browser-session
//! cookie (no `Max-Age`, no `Expires`) when it is not, a fixed expiry instant, and the
//! configured absolute timeout capping every choice. Time comes from a `ManualClock`.

mod common;

use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use sealed_session::data::SessionExpiry;
use sealed_session::time::ManualClock;
use sealed_session::{Session, SessionLayer};

use common::http::{config, text, Body, Browser, Reply, TestServer};
use common::Mode;

const T0: u64 = 1_700_000_000;
const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;
const NAME: &str = "__Host-session";

common::both_modes!(
    remember_me_on_sends_a_persistent_cookie_and_outlives_the_idle_timeout,
    remember_me_off_sends_a_browser_session_cookie_that_still_expires,
    remember_me_is_capped_by_the_absolute_timeout,
    a_fixed_expiry_instant_is_not_renewed_and_capped,
    changing_the_choice_resends_the_cookie,
    a_user_who_keeps_writing_keeps_the_cookie,
    remember_me_outranks_a_browser_session_default,
    a_remembered_user_who_only_reads_keeps_the_cookie,
);

/// `?remember=on|off`, `?until=<unix seconds>`, `?idle=<seconds>`.
fn choice(req: &Request<Incoming>) -> Option<SessionExpiry> {
    let q = req.uri().query().unwrap_or("");
    let (k, v) = q.split_once('=')?;
    match (k, v) {
        ("remember", "on") => Some(SessionExpiry::idle(Duration::from_secs(2 * DAY))),
        ("remember", "off") => Some(SessionExpiry::BrowserSession),
        ("until", t) => Some(SessionExpiry::Until(t.parse().ok()?)),
        ("idle", s) => Some(SessionExpiry::Idle(s.parse().ok()?)),
        _ => None,
    }
}

async fn app(req: Request<Incoming>) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    match (req.method().clone(), req.uri().path()) {
        (Method::POST, "/login") => {
            session.insert("user", "ada").unwrap();
            session.cycle();
            session.set_session_expiry(choice(&req));
            text(StatusCode::OK, "logged in")
        }
        (Method::POST, "/choose") => {
            session.set_session_expiry(choice(&req));
            text(StatusCode::OK, "chosen")
        }
        (Method::GET, "/me") => match session.get::<String>("user").unwrap() {
            Some(user) => text(StatusCode::OK, user),
            None => text(StatusCode::UNAUTHORIZED, "who are you?"),
        },
        // A write: the session is sealed (client mode) or saved (server mode) again.
        (Method::POST, "/touch") => {
            let n: u64 = session.get("n").unwrap().unwrap_or(0) + 1;
            session.insert("n", &n).unwrap();
            text(StatusCode::OK, n.to_string())
        }
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// Idle 30 minutes, absolute 7 days, no skew.
async fn server(mode: Mode) -> (TestServer, ManualClock) {
    server_with(mode, "").await
}

/// [`server`] with more configuration (`[cookie]` settings).
async fn server_with(mode: Mode, extra: &str) -> (TestServer, ManualClock) {
    let clock = ManualClock::at_unix(T0);
    let toml = format!("{extra}\n[expiry]\nidle = \"30m\"\nabsolute = \"7days\"\nskew = \"0s\"\n");
    let layer = SessionLayer::new(config(&toml))
        .unwrap()
        .clock(clock.clone());
    let layer = mode.layer(layer);
    (TestServer::start(layer, app).await, clock)
}

/// Our session cookie in the reply, parsed.
fn our_cookie(r: &Reply) -> cookie::Cookie<'static> {
    let lines = r.set_cookies();
    let line = lines
        .iter()
        .find(|l| l.starts_with(&format!("{NAME}=")))
        .unwrap_or_else(|| panic!("no {NAME} cookie in {lines:?}"));
    cookie::Cookie::parse(line.clone()).unwrap()
}

fn max_age(r: &Reply) -> Option<i64> {
    our_cookie(r)
        .max_age()
        .map(cookie::time::Duration::whole_seconds)
}

/// `Max-Age` and `Expires` agree (`Expires` = now + `Max-Age`).
fn assert_expires_matches(r: &Reply, now: u64) {
    let c = our_cookie(r);
    let age = c.max_age().unwrap().whole_seconds();
    let expires = c.expires_datetime().unwrap().unix_timestamp();
    assert_eq!(expires, i64::try_from(now).unwrap() + age, "{c}");
}

async fn remember_me_on_sends_a_persistent_cookie_and_outlives_the_idle_timeout(mode: Mode) {
    let (srv, clock) = server(mode).await;
    let mut b = Browser::new(&srv);
    let r = b.post("/login?remember=on").await;
    assert_eq!(max_age(&r), Some(2 * 86_400));
    assert_expires_matches(&r, T0);
    // Away for an hour, twice the configured idle timeout: still logged in.
    clock.advance(Duration::from_secs(HOUR));
    assert_eq!(b.get("/me").await.body, "ada");
    // Not for its own idle timeout.
    clock.advance(Duration::from_secs(2 * DAY + 1));
    assert_eq!(b.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

async fn remember_me_off_sends_a_browser_session_cookie_that_still_expires(mode: Mode) {
    let (srv, clock) = server(mode).await;
    let mut b = Browser::new(&srv);
    let r = b.post("/login?remember=off").await;
    let c = our_cookie(&r);
    assert_eq!(c.max_age(), None, "{c}");
    assert_eq!(c.expires(), None, "{c}");
    assert_eq!(b.get("/me").await.body, "ada");
    // A later write keeps it a browser-session cookie.
    clock.advance(Duration::from_secs(20 * MINUTE));
    let r = b.post("/touch").await;
    if mode == Mode::Client {
        assert_eq!(max_age(&r), None);
    }
    // The configured idle timeout still holds inside the sealed value or the record.
    clock.advance(Duration::from_secs(30 * MINUTE + 1));
    assert_eq!(b.get("/me").await.status, StatusCode::UNAUTHORIZED);
    // A session that made no choice gets the configured idle timeout as its Max-Age.
    let mut other = Browser::new(&srv);
    assert_eq!(max_age(&other.post("/login").await), Some(30 * 60));
}

async fn remember_me_is_capped_by_the_absolute_timeout(mode: Mode) {
    let (srv, clock) = server(mode).await;
    let mut b = Browser::new(&srv);
    // Remember for 30 days, under a 7-day absolute timeout.
    let r = b.post(&format!("/login?idle={}", 30 * DAY)).await;
    assert_eq!(max_age(&r), Some(7 * 86_400));
    // Active every day: the cap counts from the login, not from the last write.
    for day in 1..=6 {
        clock.advance(Duration::from_secs(DAY));
        let r = b.post("/touch").await;
        assert_eq!(r.status, StatusCode::OK, "day {day}");
        if mode == Mode::Client {
            assert_eq!(max_age(&r), Some(i64::try_from((7 - day) * DAY).unwrap()));
        }
    }
    clock.advance(Duration::from_secs(DAY));
    assert_eq!(b.get("/me").await.body, "ada");
    clock.advance(Duration::from_secs(1));
    assert_eq!(b.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

async fn a_fixed_expiry_instant_is_not_renewed_and_capped(mode: Mode) {
    let (srv, clock) = server(mode).await;
    let mut b = Browser::new(&srv);
    let r = b.post(&format!("/login?until={}", T0 + HOUR)).await;
    assert_eq!(max_age(&r), Some(3600));
    assert_expires_matches(&r, T0);
    // Writes do not push it forward.
    clock.advance(Duration::from_secs(20 * MINUTE));
    let r = b.post("/touch").await;
    if mode == Mode::Client {
        assert_eq!(max_age(&r), Some(40 * 60));
    }
    // Nor does the configured idle timeout (30 minutes) end it earlier: 40 minutes pass after
    // the last write.
    clock.advance(Duration::from_secs(40 * MINUTE - 1));
    assert_eq!(b.get("/me").await.body, "ada");
    clock.advance(Duration::from_secs(1));
    assert_eq!(b.get("/me").await.body, "ada");
    clock.advance(Duration::from_secs(1));
    assert_eq!(b.get("/me").await.status, StatusCode::UNAUTHORIZED);

    // An instant past the absolute timeout is capped by it.
    let mut b = Browser::new(&srv);
    let now = T0 + HOUR + 1;
    let r = b.post(&format!("/login?until={}", now + 30 * DAY)).await;
    assert_eq!(max_age(&r), Some(7 * 86_400));
    assert_expires_matches(&r, now);
    clock.advance(Duration::from_secs(7 * DAY + 1));
    assert_eq!(b.get("/me").await.status, StatusCode::UNAUTHORIZED);
}

async fn changing_the_choice_resends_the_cookie(mode: Mode) {
    let (srv, _clock) = server(mode).await;
    let mut b = Browser::new(&srv);
    assert_eq!(max_age(&b.post("/login?remember=off").await), None);
    // Ticking the box later, without logging in again: a persistent cookie now.
    let r = b.post("/choose?remember=on").await;
    assert_eq!(max_age(&r), Some(2 * 86_400));
    // And back.
    let r = b.post("/choose?remember=off").await;
    assert_eq!(max_age(&r), None);
    // The same choice again changes nothing (server mode sends no cookie then).
    let r = b.post("/choose?remember=off").await;
    if mode == Mode::Memory {
        assert!(r.set_cookies().is_empty(), "{:?}", r.set_cookies());
    }
    assert_eq!(b.get("/me").await.body, "ada");
}

/// A user who writes every 5 minutes under a 30-minute idle timeout. Server mode used to
/// send the id cookie again only when the renewal interval (a quarter of the idle timeout,
/// 7.5 minutes) had passed since the last write, which never happens here, so the browser dropped the
/// cookie 30 minutes after login while the record lived on. The browser keeps
/// the cookie for its `Max-Age` from the last response that set it, and drops it after that;
/// after two hours of writes the user must still be logged in, and the cookie must always
/// last at least as long as the session does.
async fn a_user_who_keeps_writing_keeps_the_cookie(mode: Mode) {
    let (srv, clock) = server(mode).await;
    let mut b = Browser::new(&srv);
    let r = b.post("/login").await;
    let mut cookie_ends = T0 + u64::try_from(max_age(&r).unwrap()).unwrap();
    let mut now = T0;
    for n in 1..=24u64 {
        clock.advance(Duration::from_secs(5 * MINUTE));
        now += 5 * MINUTE;
        if now >= cookie_ends {
            b.jar.clear(); // What the browser does once Max-Age has passed.
        }
        let r = b.post("/touch").await;
        assert_eq!(
            r.body,
            n.to_string(),
            "logged out at write {n}, T0 + {} s",
            now - T0
        );
        if let Some(age) = r
            .set_cookies()
            .iter()
            .any(|l| l.starts_with(&format!("{NAME}=")))
            .then(|| max_age(&r).unwrap())
        {
            cookie_ends = now + u64::try_from(age).unwrap();
        }
        assert!(
            cookie_ends >= now + 30 * MINUTE,
            "write {n}: the session lives until T0 + {} s, the browser's cookie until T0 + {} s",
            now + 30 * MINUTE - T0,
            cookie_ends - T0
        );
    }
    assert_eq!(b.get("/me").await.body, "ada");
}

/// `cookie.browser_session = true` is the default for sessions that made no choice; a
/// session's own choice outranks it. It used to drop `Max-Age` from every cookie, so a user
/// who ticked "remember me" lost the session when the browser closed.
async fn remember_me_outranks_a_browser_session_default(mode: Mode) {
    let (srv, _clock) = server_with(mode, "[cookie]\nbrowser_session = true").await;
    let mut b = Browser::new(&srv);
    assert_eq!(
        max_age(&b.post("/login").await),
        None,
        "no choice: the default"
    );
    let r = b.post("/login?remember=on").await;
    assert_eq!(max_age(&r), Some(2 * 86_400));
    assert_expires_matches(&r, T0);
    let r = b.post(&format!("/login?until={}", T0 + DAY)).await;
    assert_eq!(max_age(&r), Some(86_400));
    assert_eq!(max_age(&b.post("/login?remember=off").await), None);
    assert_eq!(b.get("/me").await.body, "ada");
}

/// A remembered session renews on reads too (past a quarter of its own idle timeout), and
/// the browser's cookie follows: a user who only reads pages, every 12 hours, stays logged in
/// well past the first 2-day `Max-Age`.
async fn a_remembered_user_who_only_reads_keeps_the_cookie(mode: Mode) {
    let (srv, clock) = server(mode).await;
    let mut b = Browser::new(&srv);
    let r = b.post("/login?remember=on").await;
    let mut cookie_ends = T0 + u64::try_from(max_age(&r).unwrap()).unwrap();
    let mut now = T0;
    for n in 1..=10u64 {
        clock.advance(Duration::from_secs(12 * HOUR));
        now += 12 * HOUR;
        if now >= cookie_ends {
            b.jar.clear(); // What the browser does once Max-Age has passed.
        }
        let r = b.get("/me").await;
        assert_eq!(r.body, "ada", "logged out at read {n}, T0 + {} s", now - T0);
        if r.set_cookies()
            .iter()
            .any(|l| l.starts_with(&format!("{NAME}=")))
        {
            cookie_ends = now + u64::try_from(max_age(&r).unwrap()).unwrap();
        }
    }
}
