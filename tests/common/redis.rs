//! A throwaway `redis-server` on a free loopback port, without persistence, stopped on drop.
//!
//! Without the binary on `PATH` a Redis test returns early and passes, so it says so where a
//! person running `cargo test` sees it: libtest captures the output of passing tests, but only
//! what goes through the `print!`/`eprint!` family, so the skip is written straight to the
//! process's stderr. With `SEALED_SESSION_REQUIRE_REDIS=1` (CI) the test fails instead.
//!
//! `benches/http.rs` and `benches/modes.rs` include this file on its own (`#[path]`), so it
//! names no sibling module.

use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
}

/// Whether Redis tests must run (CI sets `SEALED_SESSION_REQUIRE_REDIS=1`).
pub fn required() -> bool {
    std::env::var("SEALED_SESSION_REQUIRE_REDIS").is_ok_and(|v| v == "1")
}

fn binary_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The running test as `binary::path::to::test`: libtest runs each test on a thread named
/// after it (a bench's `main` gives `binary::main`).
pub fn current_test() -> String {
    let binary = env!("CARGO_CRATE_NAME");
    match std::thread::current().name() {
        Some(test) => format!("{binary}::{test}"),
        None => binary.to_owned(),
    }
}

impl RedisServer {
    /// Starts one, or returns `None` when `redis-server` is not on PATH, after printing
    /// `SKIPPED (...): <test>` to stderr past libtest's capture. Panics instead when Redis is
    /// required (`SEALED_SESSION_REQUIRE_REDIS=1`).
    pub fn start() -> Option<RedisServer> {
        let mut server = Self::reserve()?;
        server.spawn();
        Some(server)
    }

    /// A free port for a server not started yet ([`spawn`](Self::spawn) starts it): for
    /// tests that boot the app while Redis is down. `None` (or a panic) as for
    /// [`start`](Self::start) when `redis-server` is missing.
    pub fn reserve() -> Option<RedisServer> {
        if !binary_available() {
            let test = current_test();
            assert!(
                !required(),
                "SEALED_SESSION_REQUIRE_REDIS=1 but `redis-server` is not on PATH ({test}); \
                 install it (Debian: apt-get install redis-server)"
            );
            // One `write_all` of the whole line under the lock, so that lines from tests
            // running in parallel do not interleave.
            let line = format!(
                "SKIPPED (redis-server not found on PATH; install it, or set \
                 SEALED_SESSION_REQUIRE_REDIS=1 to fail instead): {test}\n"
            );
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        Some(RedisServer { port, child: None })
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// (Re)starts the process on the same port and waits until it accepts connections.
    pub fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not start on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the process (a crash, not a shutdown).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
