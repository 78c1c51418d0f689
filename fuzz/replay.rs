//! The committed fuzz corpora, replayed by `cargo test` on stable.
//!
//! Each fuzz target's body lives in `fuzz/bodies/` and is compiled twice: into its cargo-fuzz
//! binary (`fuzz/fuzz_targets/`, nightly, libFuzzer) and here, as a unit test of the library
//! (included from `src/lib.rs` under `#[cfg(test)]`, where the `__fuzz` seams exist). Every
//! file of `fuzz/corpus/TARGET/` — the seeds and the inputs a fuzz run kept for new coverage,
//! minimized with `cargo fuzz cmin` (see `fuzz/run.sh`) — runs through the body with its
//! assertions, so what fuzzing once reached stays tested without nightly, and a change that
//! makes one of those inputs panic fails `cargo test` naming the file.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

#[path = "bodies/config.rs"]
mod config;
#[path = "bodies/cookie_header.rs"]
mod cookie_header;
#[path = "bodies/open_authenticated.rs"]
mod open_authenticated;
#[path = "bodies/open_cookie.rs"]
mod open_cookie;
#[path = "bodies/open_values.rs"]
mod open_values;

/// Fewer files than this in a target's corpus means the corpus was lost (for example by a
/// `.gitignore` that drops it again): the replay would pass while testing nothing.
const MIN_FILES: usize = 20;

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("corpus entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Runs every corpus file of `target` through `body`; fails listing every file that panicked.
fn replay(target: &str, body: fn(&[u8])) {
    let files = corpus(target);
    assert!(
        files.len() >= MIN_FILES,
        "fuzz/corpus/{target} holds {} files, fewer than {MIN_FILES}: is the corpus committed?",
        files.len()
    );
    let failed: Vec<String> = files
        .iter()
        .filter(|path| {
            let data = fs::read(path).expect("read corpus file");
            panic::catch_unwind(AssertUnwindSafe(|| body(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(
        failed.is_empty(),
        "{} of {} corpus inputs of `{target}` panic (messages above): {failed:#?}",
        failed.len(),
        files.len()
    );
}

#[test]
fn config_corpus() {
    replay("config", config::run);
}

#[test]
fn cookie_header_corpus() {
    replay("cookie_header", cookie_header::run);
}

#[test]
fn open_authenticated_corpus() {
    replay("open_authenticated", open_authenticated::run);
}

#[test]
fn open_cookie_corpus() {
    replay("open_cookie", open_cookie::run);
}

#[test]
fn open_values_corpus() {
    replay("open_values", open_values::run);
}
