//! The `axum_login` example: axum-login (a user backend in memory, a real password check) and
//! axum-messages over sealed-session's `TowerSessionsLayer`, served by a real hyper server,
//! driven by a client with a cookie jar, in client mode (sealed cookie) and server mode
//! (memory store): a wrong password, the right one (the session cycled), logout, a tampered
//! cookie, a key rotation between requests.

mod support;

#[allow(dead_code, unreachable_pub)]
#[path = "../examples/axum_login.rs"]
mod example;

use http::StatusCode;
use sealed_session::store::MemoryStore;
use sealed_session::SessionLayer;

use support::{config_with, Browser, TestServer, KEY1, KEY2};

#[derive(Clone, Copy, Debug)]
enum Mode {
    Client,
    Memory,
}

fn layer(mode: Mode) -> SessionLayer {
    let layer = SessionLayer::new(config_with("", &[(1, KEY1, "primary")])).unwrap();
    match mode {
        Mode::Client => layer,
        Mode::Memory => layer.server_store(MemoryStore::new()),
    }
}

async fn server_with(layer: SessionLayer) -> TestServer {
    TestServer::serve(example::app(layer, example::Backend::demo())).await
}

const SESSION: &str = "__Host-session";

macro_rules! both_modes {
    ($($name:ident),* $(,)?) => {
        mod client { $( #[tokio::test] async fn $name() { super::$name(super::Mode::Client).await } )* }
        mod memory { $( #[tokio::test] async fn $name() { super::$name(super::Mode::Memory).await } )* }
    };
}

both_modes!(
    a_wrong_password_flashes_an_error_and_gives_no_access,
    the_right_password_gives_access_and_cycles_the_session,
    logout_ends_access_with_a_message,
    a_tampered_cookie_is_logged_out_with_a_200,
    a_key_rotation_between_requests_keeps_the_user_logged_in,
);

async fn log_in(b: &mut Browser, user: &str, password: &str) -> support::Reply {
    b.get("/login").await;
    b.post_form("/login", &format!("username={user}&password={password}"))
        .await
}

async fn a_wrong_password_flashes_an_error_and_gives_no_access(mode: Mode) {
    let srv = server_with(layer(mode)).await;
    let mut b = Browser::new(&srv);
    let r = b.get("/protected").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/login?next=/protected"));
    let r = log_in(&mut b, "ada", "babbage").await;
    assert_eq!(r.location(), Some("/login"));
    let page = b.get("/login").await;
    assert!(page.body.contains("Invalid credentials."), "{}", page.body);
    assert!(
        !b.get("/login").await.body.contains("Invalid"),
        "a message is shown once"
    );
    assert_eq!(b.get("/protected").await.status, StatusCode::SEE_OTHER);
    // An unknown user, too.
    log_in(&mut b, "eve", "lovelace").await;
    assert_eq!(b.get("/protected").await.status, StatusCode::SEE_OTHER);
}

async fn the_right_password_gives_access_and_cycles_the_session(mode: Mode) {
    let srv = server_with(layer(mode)).await;
    let mut b = Browser::new(&srv);
    // A session exists before login (the error message of a first attempt) ...
    log_in(&mut b, "ada", "wrong").await;
    let before = b.jar.get(SESSION).cloned().expect("a session before login");
    // ... and login replaces it (session fixation): a new cookie, in server mode a new id.
    let r = b
        .post_form("/login", "username=ada&password=lovelace&next=/protected")
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), Some("/protected"));
    let after = b.jar.get(SESSION).cloned().expect("a session after login");
    assert_ne!(before, after);
    let page = b.get("/protected").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Secret page of ada."), "{}", page.body);
    assert!(page.body.contains("Welcome, ada."), "{}", page.body);
    let page = b.get("/protected").await;
    assert!(!page.body.contains("Welcome"), "the message is shown once");
    // The pre-login cookie is not logged in (in server mode its record is gone).
    let mut old = Browser::new(&srv);
    old.jar.insert(SESSION.to_owned(), before);
    assert_eq!(old.get("/protected").await.status, StatusCode::SEE_OTHER);
    // Another user in another browser is another session.
    let mut grace = Browser::new(&srv);
    log_in(&mut grace, "grace", "hopper").await;
    assert!(grace.get("/").await.body.contains("Logged in as grace."));
    assert!(b.get("/").await.body.contains("Logged in as ada."));
}

async fn logout_ends_access_with_a_message(mode: Mode) {
    let srv = server_with(layer(mode)).await;
    let mut b = Browser::new(&srv);
    log_in(&mut b, "ada", "lovelace").await;
    assert_eq!(b.get("/protected").await.status, StatusCode::OK);
    let logged_in = b.jar.get(SESSION).cloned().unwrap();
    let r = b.post_form("/logout", "").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let home = b.get("/").await;
    assert!(home.body.contains("Logged out."), "{}", home.body);
    assert!(home.body.contains("Not logged in."));
    assert_eq!(b.get("/protected").await.status, StatusCode::SEE_OTHER);
    if let Mode::Memory = mode {
        // The logged-in id's record was deleted: replaying that cookie gives no access.
        let mut replay = Browser::new(&srv);
        replay.jar.insert(SESSION.to_owned(), logged_in);
        assert_eq!(replay.get("/protected").await.status, StatusCode::SEE_OTHER);
    }
}

async fn a_tampered_cookie_is_logged_out_with_a_200(mode: Mode) {
    let srv = server_with(layer(mode)).await;
    let mut b = Browser::new(&srv);
    log_in(&mut b, "ada", "lovelace").await;
    let value = b.jar.get(SESSION).cloned().unwrap();
    let mut bytes = value.into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    b.jar
        .insert(SESSION.to_owned(), String::from_utf8(bytes).unwrap());
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Not logged in."), "{}", home.body);
    assert_eq!(b.get("/protected").await.status, StatusCode::SEE_OTHER);
}

async fn a_key_rotation_between_requests_keeps_the_user_logged_in(mode: Mode) {
    let layer = layer(mode);
    let handle = layer.key_ring_handle();
    let srv = server_with(layer).await;
    let mut b = Browser::new(&srv);
    log_in(&mut b, "ada", "lovelace").await;
    assert_eq!(b.get("/protected").await.status, StatusCode::OK);
    // A new primary key; the old one decrypts only.
    handle
        .reload(&config_with(
            "",
            &[(2, KEY2, "primary"), (1, KEY1, "decrypt-only")],
        ))
        .unwrap();
    let page = b.get("/protected").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Secret page of ada."));
}

/// The `next` target is written into the login form and redirected to after login: only a
/// plain path on this site passes (a quote used to close the attribute and inject a script;
/// `/\\host` passed the `//` check and browsers read it as `//host`).
#[tokio::test]
async fn next_is_a_plain_local_path_or_nothing() {
    let srv = server_with(layer(Mode::Client)).await;
    let mut b = Browser::new(&srv);
    let page = b.get("/login?next=/protected").await;
    assert!(
        page.body.contains("name=next value=\"/protected\""),
        "{}",
        page.body
    );
    for hostile in [
        "/%22%3E%3Cscript%3Ealert(1)%3C/script%3E",
        "/%5Cevil.example",
        "//evil.example",
        "https://evil.example",
    ] {
        let page = b.get(&format!("/login?next={hostile}")).await;
        assert!(!page.body.contains("name=next"), "{hostile}: {}", page.body);
        assert!(!page.body.contains("<script>"), "{hostile}: {}", page.body);
    }
    let r = b
        .post_form(
            "/login",
            "username=ada&password=lovelace&next=/%5Cevil.example",
        )
        .await;
    assert_eq!(r.location(), Some("/"));
}

/// Kills the example on drop, so a failing assertion does not leave it running.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the `axum_login` example binary with `--addr` on a free loopback port, no
/// `SEALED_SESSION_*` variable but `env`; returns it (killed on drop), what it wrote to
/// stderr up to its `listening on` line, and the port.
fn start_example(env: &[(&str, &str)]) -> (Kill, String, u16) {
    use std::io::{BufRead as _, BufReader};
    use std::process::{Command, Stdio};

    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("examples").join("axum_login");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --example axum_login` first (`cargo test` builds it)",
        bin.display()
    );
    // A free port, released just before the example binds it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut cmd = Command::new(bin);
    cmd.args(["--addr", &format!("127.0.0.1:{port}")])
        .env_remove("PORT")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SEALED_SESSION_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    let mut child = Kill(cmd.spawn().unwrap());
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    let mut said = String::new();
    for line in stderr.lines() {
        let Ok(line) = line else { break };
        said.push_str(&line);
        said.push('\n');
        if line.starts_with("listening on") || line.starts_with("cannot listen") {
            break;
        }
    }
    (child, said, port)
}

/// The README: every example listens on 127.0.0.1:3000, `--addr` or `PORT` to change it.
/// `axum_login` read `PORT` only: `--addr` was ignored and it took port 3000 (or failed
/// when something else had it).
#[test]
fn the_example_binary_listens_where_addr_says() {
    let (_child, said, port) = start_example(&[]);
    assert!(
        said.contains(&format!("listening on http://127.0.0.1:{port}")),
        "{said}"
    );
}

/// The README: a set `SEALED_SESSION_*` variable that is none of the settings' (a typo) is
/// logged as a warning. `axum_login` set up no logging, so the warning went nowhere and a
/// misspelled `SEALED_SESSION_MODE` ran it in client mode without a word.
#[test]
fn the_example_binary_shows_the_warning_about_a_misspelled_variable() {
    let (_child, said, _) = start_example(&[("SEALED_SESSION_MDOE", "server")]);
    assert!(
        said.contains("`SEALED_SESSION_MDOE` is set, but sealed-session reads no such variable"),
        "{said}"
    );
    assert!(said.contains("listening on"), "{said}");
}
