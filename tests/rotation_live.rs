//! Key rotation on a live server, following SECURITY.md's runbook: concurrent clients keep
//! counting through every step, nobody is logged out, and every cookie moves to the new key.
//! Also the `key_rotation` example reloading its file on SIGHUP.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use sealed_session::{Session, SessionConfig, SessionLayer};

use common::http::{text, Body, Browser, TestServer, KEY1, KEY2};

const NAME: &str = "__Host-session";
const CLIENTS: usize = 16;
const REQUESTS: u64 = 40;

async fn counter(req: Request<Incoming>) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
    session.insert("visit_count", &count).unwrap();
    text(StatusCode::OK, count.to_string())
}

fn key_id_of(value: &str) -> u8 {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(value)
        .unwrap()[1]
}

fn ring(keys: &[(u8, &str, &str)]) -> SessionConfig {
    use std::fmt::Write as _;
    let mut toml = String::new();
    for (id, secret, state) in keys {
        write!(
            toml,
            "[[keys]]\nid = {id}\nsecret = \"{secret}\"\nstate = \"{state}\"\n"
        )
        .unwrap();
    }
    SessionConfig::from_toml_str(&toml).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_under_concurrent_clients_logs_nobody_out() {
    let layer = SessionLayer::new(ring(&[(1, KEY1, "primary")])).unwrap();
    let handle = layer.key_ring_handle();
    let srv = TestServer::start(layer, counter).await;
    let done = Arc::new(AtomicUsize::new(0));
    let promoted = Arc::new(AtomicBool::new(false));

    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        let mut b = Browser::new(&srv);
        let (done, promoted) = (done.clone(), promoted.clone());
        clients.push(tokio::spawn(async move {
            for expected in 1..=REQUESTS {
                let after_promotion = promoted.load(Ordering::SeqCst);
                let r = b.get("/").await;
                assert_eq!(r.status, StatusCode::OK);
                assert_eq!(r.body, expected.to_string(), "a client lost its session");
                if after_promotion {
                    assert_eq!(
                        key_id_of(&b.jar[NAME]),
                        2,
                        "cookie not re-sealed under key 2"
                    );
                }
                done.fetch_add(1, Ordering::SeqCst);
                tokio::task::yield_now().await;
            }
            key_id_of(&b.jar[NAME])
        }));
    }
    let total = CLIENTS * usize::try_from(REQUESTS).unwrap();
    let wait_for = |n: usize| {
        let done = done.clone();
        async move {
            while done.load(Ordering::SeqCst) < n {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    };
    // 1. Add the new key as decrypt-only.
    wait_for(total / 5).await;
    handle
        .reload(&ring(&[(1, KEY1, "primary"), (2, KEY2, "decrypt-only")]))
        .unwrap();
    // 2 + 3. Promote the new key, demote the old one.
    wait_for(2 * total / 5).await;
    handle
        .reload(&ring(&[(2, KEY2, "primary"), (1, KEY1, "decrypt-only")]))
        .unwrap();
    promoted.store(true, Ordering::SeqCst);
    for c in clients {
        assert_eq!(c.await.unwrap(), 2);
    }
    assert_eq!(done.load(Ordering::SeqCst), total);

    // 4. Remove the old key: every client was migrated, so nobody notices.
    handle.reload(&ring(&[(2, KEY2, "primary")])).unwrap();
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "1");
    assert_eq!(key_id_of(&b.jar[NAME]), 2);
}

#[tokio::test]
async fn a_cookie_of_a_removed_key_starts_a_new_session() {
    let layer = SessionLayer::new(ring(&[(1, KEY1, "primary")])).unwrap();
    let handle = layer.key_ring_handle();
    let srv = TestServer::start(layer, counter).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    b.get("/").await;
    // Removed too early (skipping the runbook's wait): that client starts over, with a 200.
    handle.reload(&ring(&[(2, KEY2, "primary")])).unwrap();
    let r = b.get("/").await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "1"));
}

/// The `key_rotation` example binary, built by `cargo test` with the other examples.
fn example_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("examples").join("key_rotation");
    assert!(
        bin.exists(),
        "{} is missing: run the whole suite with `cargo test` (it builds the examples), or \
         `cargo build --example key_rotation` first",
        bin.display()
    );
    bin
}

#[cfg(unix)]
#[tokio::test]
async fn key_rotation_example_reloads_on_sighup() {
    /// Kills the example on drop, so a failing assertion does not leave it running.
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    let dir = std::env::temp_dir().join(format!("sealed-session-sighup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("session.toml");
    std::fs::write(&config, format!("[[keys]]\nid = 1\nsecret = \"{KEY1}\"\n")).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The variables apply on top of the file (they were ignored: the README says every
    // example reads them).
    let child = std::process::Command::new(example_binary())
        .args(["--config", config.to_str().unwrap(), "--dev", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
        .env_remove("SEALED_SESSION_CONFIG")
        .env("SEALED_SESSION_IDLE", "5m")
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let _guard = Kill(child);
    let mut b = Browser::with_base(format!("http://127.0.0.1:{port}"));
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let first = b.get("/").await;
    assert_eq!(first.body, "You have visited this page 1 times.");
    assert_eq!(key_id_of(&b.jar["session"]), 1);
    let line = first.headers[http::header::SET_COOKIE].to_str().unwrap();
    assert!(line.contains("Max-Age=300"), "{line}");

    std::fs::write(
        &config,
        format!(
            "[[keys]]\nid = 2\nsecret = \"{KEY2}\"\n[[keys]]\nid = 1\nsecret = \"{KEY1}\"\nstate = \"decrypt-only\"\n"
        ),
    )
    .unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The reload happens on the example's signal thread: poll, bounded.
    let mut n = 1;
    for _ in 0..100 {
        n += 1;
        let r = b.get("/").await;
        assert_eq!(r.body, format!("You have visited this page {n} times."));
        if key_id_of(&b.jar["session"]) == 2 {
            let _ = std::fs::remove_dir_all(&dir);
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the example did not reload its key ring on SIGHUP");
}

/// Two instances of a fleet from the same file, with key 2 scheduled by `activate_at`: both
/// switch at the same instant (injected clock), and a client bouncing between them keeps
/// its session.
#[tokio::test]
async fn activate_at_switches_every_instance_at_the_same_instant() {
    use sealed_session::time::ManualClock;
    let switch = 1_800_000_000u64;
    let config = || {
        SessionConfig::from_toml_str(&format!(
            "[[keys]]\nid = 1\nsecret = \"{KEY1}\"\n\
             [[keys]]\nid = 2\nsecret = \"{KEY2}\"\nactivate_at = \"2027-01-15T08:00:00Z\"\n"
        ))
        .unwrap()
    };
    // 2027-01-15T08:00:00Z is 1_800_000_000 Unix seconds.
    let clock = ManualClock::at_unix(switch - 1);
    let layer_a = SessionLayer::new(config()).unwrap().clock(clock.clone());
    let layer_b = SessionLayer::new(config()).unwrap().clock(clock.clone());
    let (a, b) = (
        TestServer::start(layer_a, counter).await,
        TestServer::start(layer_b, counter).await,
    );
    let mut on_a = Browser::new(&a);
    on_a.get("/").await;
    assert_eq!(key_id_of(&on_a.jar[NAME]), 1);
    let mut on_b = Browser::new(&b);
    on_b.jar = on_a.jar.clone();
    assert_eq!(on_b.get("/").await.body, "2");
    assert_eq!(key_id_of(&on_b.jar[NAME]), 1, "instance B switched early");

    clock.advance(Duration::from_secs(1));
    on_a.jar = on_b.jar.clone();
    assert_eq!(on_a.get("/").await.body, "3");
    assert_eq!(
        key_id_of(&on_a.jar[NAME]),
        2,
        "instance A did not switch at the instant"
    );
    on_b.jar = on_a.jar.clone();
    assert_eq!(on_b.get("/").await.body, "4");
    assert_eq!(
        key_id_of(&on_b.jar[NAME]),
        2,
        "instance B did not switch at the instant"
    );
}
