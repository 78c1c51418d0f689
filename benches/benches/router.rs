//! Issue 13: the session layer as users run it, through an axum 0.8 `Router` driven with
//! `tower::ServiceExt::oneshot` (a clone of the router per request), next to tower-sessions +
//! `MemoryStore` and axum-extra's `PrivateCookieJar`, in one binary and one run. The routers,
//! handlers, rows and cookies are in `routers/mod.rs`; allocation counts are printed by the
//! `router_allocs` bench (same routers, a counting allocator, which would slow this one).
//!
//! Each case is timed as one request: the request (with the cookie a returning browser sends)
//! is built outside the timed loop (`iter_batched`); routing, the layer, the handler and
//! dropping the response are inside. The added time of a row is its median minus
//! `bare/untouched`'s (BENCHMARKS.md, "Through an axum Router (issue 13)"); the bare router
//! is measured again at the end as `bare_last/untouched`.
//!
//! Run: `cargo bench -p sealed-session-benches --bench router -- --warm-up-time 1
//! --measurement-time 2`.
//!
//! Profile mode, for callgrind: `ROUTER_PROFILE=sealed_client/struct_rw:2000` runs that case
//! 2 000 times in `profile_loop` (and nothing else timed), e.g.
//! `valgrind --tool=callgrind --toggle-collect='*profile_loop*' target/release/deps/router-*`.

#[allow(dead_code)] // `typical_data` and `session_data` are for the codec benches.
mod common;
mod routers;

use std::sync::atomic::Ordering;

use criterion::{BatchSize, Criterion};
use routers::{Case, PENDING};

/// Runs `case` `n` times: the function callgrind collects in (`--toggle-collect`).
#[inline(never)]
fn profile_loop(case: &Case, requests: Vec<http::Request<axum::body::Body>>) {
    for req in requests {
        case.run(req);
    }
}

fn profile(cases: &[Case], spec: &str) {
    let (name, n) = spec.split_once(':').unwrap_or((spec, "1000"));
    let n: usize = n.parse().expect("ROUTER_PROFILE=lib/row:count");
    let case = cases
        .iter()
        .find(|c| c.name() == name)
        .unwrap_or_else(|| panic!("no case {name}"));
    // Warm: the first requests fill lazily built state (router caches, store maps).
    for _ in 0..10 {
        case.run(case.request());
    }
    let requests = (0..n).map(|_| case.request()).collect();
    profile_loop(case, requests);
    eprintln!("profiled {n} requests of {name}");
}

fn main() {
    let cases = routers::cases();
    if let Ok(spec) = std::env::var("ROUTER_PROFILE") {
        profile(&cases, &spec);
        return;
    }
    routers::print_cookie_lengths(&cases);
    let mut c = Criterion::default().configure_from_args();
    for lib in routers::LIBS {
        let mut group = c.benchmark_group(lib);
        for case in cases.iter().filter(|c| c.lib == lib) {
            group.bench_function(case.row, |b| {
                b.iter_batched(
                    || case.request(),
                    |req| case.run(req),
                    BatchSize::SmallInput,
                );
            });
        }
        group.finish();
    }
    // The bare router again, last: the first case of a run can measure slower or faster than
    // the same work later (BENCHMARKS.md); the two bare medians bound that drift.
    let mut group = c.benchmark_group("bare_last");
    group.bench_function("untouched", |b| {
        b.iter_batched(
            || cases[0].request(),
            |req| cases[0].run(req),
            BatchSize::SmallInput,
        );
    });
    group.finish();
    c.final_summary();
    let pending = PENDING.load(Ordering::Relaxed);
    if pending != 0 {
        eprintln!("warning: {pending} Pending polls seen; the noop-waker driver spun on them");
    }
}
