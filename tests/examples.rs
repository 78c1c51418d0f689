//! The example binaries as a newcomer runs them (`cargo run --example NAME`), built by `cargo
//! test` with the other examples: what they say on stderr.

mod common;

use std::io::{BufRead as _, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// An example binary next to this test's.
fn example_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("examples").join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --all-features --examples` first (`cargo test` builds \
         the examples)",
        bin.display()
    );
    bin
}

/// Kills the example on drop, so a failing assertion does not leave it running.
struct Kill(std::process::Child);

impl Drop for Kill {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `name` on a free loopback port with `env` set, and returns what it wrote to stderr
/// up to its `listening on` line (or until it exits, or 30 s pass).
fn stderr_until_listening(name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    start(name, args, env).1
}

/// As [`stderr_until_listening`], keeping the example running until the [`Kill`] is dropped.
fn start(name: &str, args: &[&str], env: &[(&str, &str)]) -> (Kill, String) {
    let mut cmd = Command::new(example_binary(name));
    cmd.args(args)
        .args(["--addr", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for (k, _) in std::env::vars_os() {
        if k.to_string_lossy().starts_with("SEALED_SESSION_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    let mut child = Kill(cmd.spawn().unwrap());
    let stderr = child.0.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    // Reads stderr to its end, after the caller stopped listening too: a closed pipe would
    // make the example's next log line fail.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let mut out = String::new();
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) {
        out.push_str(&line);
        out.push('\n');
        if line.starts_with("listening on") {
            break;
        }
    }
    (child, out)
}

/// The README: "a set variable that is none of them, a typo, is logged as a warning", and
/// every example reads the `SEALED_SESSION_*` variables (`SEALED_SESSION_MODE=server` runs it
/// in server mode). A newcomer who mistypes that variable must see the warning where the
/// example writes: the examples logged only errors, or nothing at all, so the typo went
/// unseen and the example ran in client mode.
#[test]
fn every_example_shows_the_warning_about_a_misspelled_variable() {
    for name in [
        "visit_counter",
        "shopping_cart",
        "preferences",
        "login",
        "axum_app",
    ] {
        let stderr = stderr_until_listening(name, &[], &[("SEALED_SESSION_MDOE", "server")]);
        assert!(
            stderr.contains("listening on"),
            "{name} did not start:\n{stderr}"
        );
        assert!(
            stderr.contains(
                "`SEALED_SESSION_MDOE` is set, but sealed-session reads no such variable"
            ),
            "{name} did not say so:\n{stderr}"
        );
    }
}

/// `key_rotation` reads the variables on top of its `--config` file through
/// `SessionConfig::from_env_map`, which warns about nothing: a mistyped
/// `SEALED_SESSION_IDLE` left the file's timeout in force without a word.
#[test]
fn the_key_rotation_example_shows_the_warning_about_a_misspelled_variable() {
    let dir = std::env::temp_dir().join(format!("sealed-session-examples-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("session.toml");
    let secret = "ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCg4Q=";
    std::fs::write(
        &config,
        format!("[[keys]]\nid = 1\nsecret = \"{secret}\"\n"),
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap(), "--dev"];
    let stderr = stderr_until_listening("key_rotation", &args, &[("SEALED_SESSION_IDEL", "5m")]);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(stderr.contains("listening on"), "did not start:\n{stderr}");
    assert!(
        stderr.contains("`SEALED_SESSION_IDEL` is set, but sealed-session reads no such variable"),
        "did not say so:\n{stderr}"
    );
}

/// The base URL an example printed in its `listening on` line.
fn base_url(stderr: &str) -> String {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("listening on "))
        .unwrap_or_else(|| panic!("no `listening on` line:\n{stderr}"));
    line.trim().to_owned()
}

/// Every example reads the `SEALED_SESSION_*` variables, `SEALED_SESSION_STORE_LOAD=lazy`
/// among them. A tower handler in lazy server mode must call `session.load().await` first
/// (docs/MODES.md), or the session reads as empty and is never written: the tower examples
/// did not, so the counter said 1 on every visit and the cart stayed empty.
#[tokio::test]
async fn the_tower_examples_keep_their_sessions_in_lazy_server_mode() {
    let env = [
        ("SEALED_SESSION_MODE", "server"),
        ("SEALED_SESSION_STORE_LOAD", "lazy"),
    ];
    let (_counter, stderr) = start("visit_counter", &[], &env);
    let mut b = common::http::Browser::with_base(base_url(&stderr));
    for n in 1..=2 {
        let r = b.get("/").await;
        assert_eq!(r.body, format!("You have visited this page {n} times."));
    }
    let (_cart, stderr) = start("shopping_cart", &[], &env);
    let mut b = common::http::Browser::with_base(base_url(&stderr));
    b.post("/cart/add?product=1001&qty=2").await;
    assert_eq!(b.get("/cart").await.body, "1 item(s)\n1001 x 2\n");
    let (_prefs, stderr) = start("preferences", &[], &env);
    let mut b = common::http::Browser::with_base(base_url(&stderr));
    b.post("/prefs?lang=fr&theme=dark").await;
    assert!(b.get("/").await.body.contains("theme: dark"));
}

/// With keys configured and `SEALED_SESSION_SECURE=false` (the README's development setting),
/// the example must say the cookies are insecure: the layer's own warning is below the
/// examples' log filter, and the example's note was printed only with no key configured.
#[test]
fn an_example_says_so_when_configured_cookies_are_insecure() {
    let keys = "1:xaes-256-gcm:primary:ZWZnaGlqa2xtbm9wcXJzdHV2d3h5ent8fX5/gIGCg4Q=";
    let env = [
        ("SEALED_SESSION_KEYS", keys),
        ("SEALED_SESSION_SECURE", "false"),
        ("SEALED_SESSION_HOST_PREFIX", "false"),
    ];
    let stderr = stderr_until_listening("visit_counter", &[], &env);
    assert!(stderr.contains("listening on"), "did not start:\n{stderr}");
    assert!(
        stderr.contains("`Secure` and the `__Host-` prefix off"),
        "did not say so:\n{stderr}"
    );
}
