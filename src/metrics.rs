//! Metrics (feature `metrics`): counters and a latency histogram through the
//! [`metrics`](https://docs.rs/metrics/0.24) facade, for whatever recorder the application
//! installs (a Prometheus exporter, for one). Without the feature nothing is recorded and the calls
//! compile to nothing; the names below are constants either way.
//!
//! | name | kind | labels | counts |
//! |---|---|---|---|
//! | `sealed_session_rejections_total` | counter | `reason` | a cookie or server-mode id (or record) rejected; `reason` is [`RejectReason::as_str`](crate::RejectReason::as_str): `malformed`, `oversized`, `unknown_version`, `unknown_key`, `unauthenticated`, `expired_idle`, `expired_absolute`, `revoked`, `retired_key` |
//! | `sealed_session_store_loads_total` | counter | — | store loads made (server mode), failed ones included |
//! | `sealed_session_store_saves_total` | counter | — | store saves made, failed ones included |
//! | `sealed_session_store_deletes_total` | counter | — | store deletes made (flush, cycled ids), failed ones included |
//! | `sealed_session_store_failures_total` | counter | `op`: `load`, `save`, `delete` | store calls that failed (each one answered 503) |
//! | `sealed_session_store_duration_seconds` | histogram | `op`: `load`, `save`, `delete` | how long each store call took, failed ones included |
//! | `sealed_session_merge_conflicts_total` | counter | — | server-mode saves that found the record written meanwhile and merged onto it |
//! | `sealed_session_merge_retries_total` | counter | — | compare-and-swap attempts after the first (each after a conflict) |
//!
//! A merged save's compare-and-swap counts as a `save` (in `saves_total` and the histogram).
//!
//! Rejections are counted where they are traced, so `expired_*` (routine) shows next to
//! the reasons that may be an attack or a misconfiguration. A request without a cookie
//! counts nothing. Labels take only these fixed values, never an id, a key or a URL, so the
//! number of series stays bounded.
//!
//! # Example
//! ```
//! use sealed_session::metrics;
//! assert_eq!(metrics::REJECTIONS, "sealed_session_rejections_total");
//! assert!(metrics::ALL.iter().all(|name| name.starts_with("sealed_session_")));
//! ```

use crate::error::RejectReason;

/// Counter: rejected cookies and ids, by `reason`.
pub const REJECTIONS: &str = "sealed_session_rejections_total";
/// Counter: store loads.
pub const STORE_LOADS: &str = "sealed_session_store_loads_total";
/// Counter: store saves.
pub const STORE_SAVES: &str = "sealed_session_store_saves_total";
/// Counter: store deletes.
pub const STORE_DELETES: &str = "sealed_session_store_deletes_total";
/// Counter: failed store calls, by `op`.
pub const STORE_FAILURES: &str = "sealed_session_store_failures_total";
/// Histogram (seconds): store call latency, by `op`.
pub const STORE_DURATION: &str = "sealed_session_store_duration_seconds";

/// Counter: merged saves that met a concurrent write.
pub const MERGE_CONFLICTS: &str = "sealed_session_merge_conflicts_total";
/// Counter: compare-and-swap attempts after a conflict.
pub const MERGE_RETRIES: &str = "sealed_session_merge_retries_total";

/// Every metric name recorded.
pub const ALL: [&str; 8] = [
    REJECTIONS,
    STORE_LOADS,
    STORE_SAVES,
    STORE_DELETES,
    STORE_FAILURES,
    STORE_DURATION,
    MERGE_CONFLICTS,
    MERGE_RETRIES,
];

/// A store call, as the `op` label names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreOp {
    Load,
    Save,
    Delete,
}

impl StoreOp {
    #[cfg(feature = "metrics")]
    fn as_str(self) -> &'static str {
        match self {
            StoreOp::Load => "load",
            StoreOp::Save => "save",
            StoreOp::Delete => "delete",
        }
    }

    #[cfg(feature = "metrics")]
    fn counter(self) -> &'static str {
        match self {
            StoreOp::Load => STORE_LOADS,
            StoreOp::Save => STORE_SAVES,
            StoreOp::Delete => STORE_DELETES,
        }
    }
}

/// Counts a rejection.
#[cfg_attr(not(feature = "metrics"), allow(unused_variables))]
pub(crate) fn rejection(reason: RejectReason) {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(REJECTIONS, "reason" => reason.as_str()).increment(1);
}

/// Awaits a store call, counting it (and its failure) and timing it.
pub(crate) async fn store_call<T, E, F>(op: StoreOp, call: F) -> Result<T, E>
where
    F: std::future::Future<Output = Result<T, E>>,
{
    #[cfg(feature = "metrics")]
    {
        let start = std::time::Instant::now();
        let result = call.await;
        ::metrics::histogram!(STORE_DURATION, "op" => op.as_str())
            .record(start.elapsed().as_secs_f64());
        ::metrics::counter!(op.counter()).increment(1);
        if result.is_err() {
            ::metrics::counter!(STORE_FAILURES, "op" => op.as_str()).increment(1);
        }
        result
    }
    #[cfg(not(feature = "metrics"))]
    {
        let _ = op;
        call.await
    }
}

/// Counts a merged save that met a concurrent write (for the merged save path).
#[allow(dead_code)]
pub(crate) fn merge_conflict() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(MERGE_CONFLICTS).increment(1);
}

/// Counts a merged save retried after a conflict (for the merged save path).
#[allow(dead_code)]
pub(crate) fn merge_retry() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!(MERGE_RETRIES).increment(1);
}
