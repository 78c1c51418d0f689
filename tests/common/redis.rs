//! A throwaway `redis-server` on a free loopback port, without persistence, stopped on drop.
//!
//! Without the binary on `PATH` a Redis test returns early and passes, so it says so where a
//! person running `cargo test` sees it: libtest captures the output of passing tests, but only
//! what goes through the `print!`/`eprint!` family, so the skip is written straight to the
//! process's stderr. With `SEALED_SESSION_REQUIRE_REDIS=1` (CI) the test fails instead.
//!
//! `benches/http.rs` and `benches/modes.rs` include this file on its own (`#[path]`), so it
//! names no sibling module, and allows dead code: each includer uses a part of it.
#![allow(dead_code)]

use std::io::Write as _;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    pub port: u16,
    args: Vec<String>,
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

/// Whether a Redis test can run: prints `SKIPPED (<why>; <fix>, or set
/// SEALED_SESSION_REQUIRE_REDIS=1 to fail instead): <test>` to stderr past libtest's capture
/// and returns `false` when `ok` is false, or panics then when Redis is required.
pub fn available_or_skip(ok: bool, why: &str, fix: &str) -> bool {
    if ok {
        return true;
    }
    let test = current_test();
    assert!(
        !required(),
        "SEALED_SESSION_REQUIRE_REDIS=1 but {why} ({test}); {fix}"
    );
    // One `write_all` of the whole line under the lock, so that lines from tests running in
    // parallel do not interleave.
    let line = format!(
        "SKIPPED ({why}; {fix}, or set SEALED_SESSION_REQUIRE_REDIS=1 to fail instead): {test}\n"
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    false
}

/// Whether `redis-server` is on PATH (see [`available_or_skip`]).
pub fn redis_server_or_skip() -> bool {
    available_or_skip(
        binary_available(),
        "redis-server not found on PATH",
        "install it (Debian: apt-get install redis-server)",
    )
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port()
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
        if !redis_server_or_skip() {
            return None;
        }
        let port = free_port();
        let args = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ];
        Some(RedisServer {
            port,
            args: args.map(String::from).to_vec(),
            child: None,
        })
    }

    /// Starts `redis-server <args>` and waits until `port` accepts connections (the caller
    /// has checked that `redis-server` is there).
    pub fn launch(port: u16, args: Vec<String>) -> RedisServer {
        let mut server = RedisServer {
            port,
            args,
            child: None,
        };
        server.spawn();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// (Re)starts the process with the same arguments and waits until it accepts connections.
    pub fn spawn(&mut self) {
        let child = Command::new("redis-server")
            .args(&self.args)
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

    /// Whether the process was started and not killed since.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
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
