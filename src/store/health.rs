//! [`StoreHealth`]: an outage of the store is logged once, when it starts, and once more when
//! the store answers again; not once per request.

use std::sync::atomic::{AtomicBool, Ordering};

use super::StoreError;

/// Whether an outage of a layer's store is under way (and was reported).
#[derive(Debug, Default)]
pub(crate) struct StoreHealth {
    down: AtomicBool,
}

impl StoreHealth {
    /// A store call failed: the first [`StoreError::Unavailable`] of an outage is an error
    /// in the log, the following ones are `debug`. Other errors (a full store, conflicts)
    /// are reported each time: they are not outages.
    pub(crate) fn failed(&self, e: &StoreError) {
        if !matches!(e, StoreError::Unavailable(_)) {
            tracing::error!(error = %e, "session store failed; answering 503");
        } else if self.down.swap(true, Ordering::Relaxed) {
            tracing::debug!(error = %e, "session store still unavailable; answering 503");
        } else {
            tracing::error!(
                error = %e,
                "session store unavailable; answering 503 until it answers again \
                 (logged once per outage)"
            );
        }
    }

    /// A store call succeeded: ends the outage, if there was one.
    pub(crate) fn answered(&self) {
        if self.down.load(Ordering::Relaxed) && self.down.swap(false, Ordering::Relaxed) {
            tracing::info!("session store answers again; outage over");
        }
    }
}
