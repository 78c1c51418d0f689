//! Time: an injectable [`Clock`] and the [`ExpiryPolicy`].
//!
//! Expiry lives inside the ciphertext (`created_at`, `expires_at`, in Unix seconds); the
//! browser's `Max-Age` is only a hint. Tests inject a [`ManualClock`] and never sleep.
//!
//! # Example
//! ```
//! use std::time::Duration;
//! use sealed_session::time::{Clock, ManualClock};
//! let clock = ManualClock::at_unix(1_000);
//! clock.advance(Duration::from_secs(5));
//! assert_eq!(sealed_session::time::unix_seconds(clock.now()), 1_005);
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of the current time.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time. For tests.
#[derive(Clone, Default)]
pub struct ManualClock(Arc<AtomicU64>);

impl ManualClock {
    /// A clock reading `secs` seconds after the Unix epoch.
    #[must_use]
    pub fn at_unix(secs: u64) -> Self {
        ManualClock(Arc::new(AtomicU64::new(secs)))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(by.as_secs(), Ordering::SeqCst);
    }

    /// Sets the clock to `secs` after the Unix epoch.
    pub fn set_unix(&self, secs: u64) {
        self.0.store(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.0.load(Ordering::SeqCst))
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ManualClock")
            .field(&self.0.load(Ordering::SeqCst))
            .finish()
    }
}

/// Whole seconds since the Unix epoch (0 for times before it).
#[must_use]
pub fn unix_seconds(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// When sessions expire.
///
/// | setting | default | meaning |
/// |---|---|---|
/// | `idle` | 24 h | a session not written (or renewed) for this long is expired |
/// | `absolute` | 7 days | a session older than this (from `created_at`) is expired, however active |
/// | `skew` | 60 s | tolerance for clocks that differ between the instances of a fleet |
/// | `renew_after` | `idle / 4` | an untouched session is re-sealed to push its idle expiry forward only when that gains at least this much, not on every request |
/// | `not_before` | none | sessions created before this instant are rejected: a mass logout |
///
/// ```
/// use std::time::Duration;
/// use sealed_session::time::ExpiryPolicy;
/// let p = ExpiryPolicy::default().idle(Duration::from_secs(1800));
/// assert_eq!(p.renew_interval(), Duration::from_secs(450));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpiryPolicy {
    pub(crate) idle: Option<Duration>,
    pub(crate) absolute: Option<Duration>,
    pub(crate) skew: Duration,
    pub(crate) renew_after: Option<Duration>,
    pub(crate) not_before: Option<SystemTime>,
}

impl Default for ExpiryPolicy {
    fn default() -> Self {
        ExpiryPolicy {
            idle: Some(Duration::from_hours(24)),
            absolute: Some(Duration::from_hours(168)),
            skew: Duration::from_mins(1),
            renew_after: None,
            not_before: None,
        }
    }
}

impl ExpiryPolicy {
    /// Sets the idle timeout.
    #[must_use]
    pub fn idle(mut self, d: Duration) -> Self {
        self.idle = Some(d);
        self
    }

    /// Disables the idle timeout (only the absolute timeout applies).
    #[must_use]
    pub fn no_idle(mut self) -> Self {
        self.idle = None;
        self
    }

    /// Sets the absolute timeout.
    #[must_use]
    pub fn absolute(mut self, d: Duration) -> Self {
        self.absolute = Some(d);
        self
    }

    /// Disables the absolute timeout. Not recommended: a stolen cookie of an active session
    /// then stays valid for ever.
    #[must_use]
    pub fn no_absolute(mut self) -> Self {
        self.absolute = None;
        self
    }

    /// Sets the clock skew tolerance.
    #[must_use]
    pub fn skew(mut self, d: Duration) -> Self {
        self.skew = d;
        self
    }

    /// Sets the renewal interval (default: a quarter of the idle timeout). A session with
    /// an idle timeout of its own ([`SessionExpiry::Idle`](crate::data::SessionExpiry::Idle))
    /// renews at a quarter of that when it comes sooner.
    #[must_use]
    pub fn renew_after(mut self, d: Duration) -> Self {
        self.renew_after = Some(d);
        self
    }

    /// Rejects every session created before `t` (mass logout after an incident).
    #[must_use]
    pub fn not_before(mut self, t: SystemTime) -> Self {
        self.not_before = Some(t);
        self
    }

    /// The idle timeout, if any.
    #[must_use]
    pub fn idle_timeout(&self) -> Option<Duration> {
        self.idle
    }

    /// The absolute timeout, if any.
    #[must_use]
    pub fn absolute_timeout(&self) -> Option<Duration> {
        self.absolute
    }

    /// The effective renewal interval.
    #[must_use]
    pub fn renew_interval(&self) -> Duration {
        self.renew_after
            .or(self.idle.map(|d| d / 4))
            .unwrap_or(Duration::MAX)
    }
}
