//! Capturing `tracing` events as text, for tests that check what the crate logs.

use std::io::Write;
use std::sync::{Arc, Mutex};

/// Captured log output.
#[derive(Clone, Default)]
pub struct Logs(Arc<Mutex<Vec<u8>>>);

impl Write for Logs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }

    /// The lines logged at `level` (`"WARN"`, `"ERROR"`, …).
    pub fn at(&self, level: &str) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.split_whitespace().nth(1) == Some(level))
            .map(str::to_owned)
            .collect()
    }
}

/// Captures every event of this thread (DEBUG and up) until the guard is dropped: for async
/// tests on a current-thread runtime, whose spawned tasks and server run on this thread.
pub fn capture_here() -> (Logs, tracing::subscriber::DefaultGuard) {
    let logs = Logs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer({
            let logs = logs.clone();
            move || logs.clone()
        })
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (logs, guard)
}

/// Runs `f` with every event of this thread (DEBUG and up) captured; returns its result and
/// the logs.
pub fn capture<R>(f: impl FnOnce() -> R) -> (R, Logs) {
    let (logs, guard) = capture_here();
    let r = f();
    drop(guard);
    (r, logs)
}
