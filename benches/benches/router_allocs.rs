//! Issue 13: heap allocations per request of every case of the `router` bench (same routers,
//! same requests), counted by `stats_alloc`'s instrumented `System` allocator over 1 000
//! requests after 20 warm-up requests. A binary of its own: the counter's atomic operations on
//! every allocation would slow the timed bench, more for the libraries that allocate more.
//!
//! Counted: everything from `router.clone().oneshot(req)` to dropping the response; the
//! requests themselves are built before counting starts. "Added" is the case's count minus
//! `bare/untouched`'s.
//!
//! Run: `cargo bench -p sealed-session-benches --bench router_allocs`.

#[allow(dead_code)] // `typical_data` and `session_data` are for the codec benches.
mod common;
mod routers;

use std::alloc::System;
use std::sync::atomic::Ordering;

use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const REQUESTS: usize = 1_000;

/// Per request over `REQUESTS`: (allocations, reallocations, bytes allocated).
fn count(case: &routers::Case) -> (f64, f64, f64) {
    for _ in 0..20 {
        case.run(case.request());
    }
    let requests: Vec<_> = (0..REQUESTS).map(|_| case.request()).collect();
    let region = Region::new(GLOBAL);
    for req in requests {
        case.run(req);
    }
    let stats = region.change();
    #[allow(clippy::cast_precision_loss)] // counts far below 2^52
    let per = |n: usize| n as f64 / REQUESTS as f64;
    (
        per(stats.allocations),
        per(stats.reallocations),
        per(stats.bytes_allocated),
    )
}

fn main() {
    let cases = routers::cases();
    routers::print_cookie_lengths(&cases);
    let counts: Vec<_> = cases.iter().map(|c| (c, count(c))).collect();
    let bare = counts[0].1 .0;
    let tower_sessions = |row: &str| {
        counts
            .iter()
            .find(|(c, _)| c.lib == "tower_sessions" && c.row == row)
            .map(|(_, n)| n.0 - bare)
    };
    println!(
        "| case | allocations / request | added over bare | ÷ tower-sessions' added | reallocations | bytes allocated |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (case, (allocs, reallocs, bytes)) in &counts {
        let added = allocs - bare;
        let ratio = match tower_sessions(case.row) {
            Some(ts) if case.lib != "bare" && ts > 0.0 => format!("{:.2}×", added / ts),
            _ => "—".to_owned(),
        };
        println!(
            "| {} | {allocs:.1} | {added:+.1} | {ratio} | {reallocs:.1} | {bytes:.0} |",
            case.name()
        );
    }
    let pending = routers::PENDING.load(Ordering::Relaxed);
    if pending != 0 {
        eprintln!("warning: {pending} Pending polls seen; the noop-waker driver spun on them");
    }
}
