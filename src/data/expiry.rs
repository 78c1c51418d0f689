//! [`SessionExpiry`]: how long one session lives, chosen by the application for that session
//! ("remember me"), sealed inside it.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

/// A per-session expiry choice ([`Session::set_session_expiry`](crate::Session::set_session_expiry)),
/// instead of the configured idle timeout. It travels inside the sealed value (the v2 payload
/// header, as a postcard enum: variant index, then its field), so it holds in both modes.
///
/// Every choice is capped by the configured absolute timeout (counted from `created_at`) and
/// by `not_before`; none can make a session outlive them. A choice outranks
/// `cookie.browser_session`, which only sets the cookie of sessions that made none.
///
/// | choice | the session ends | the cookie |
/// |---|---|---|
/// | none (the default) | after the configured idle timeout without a write | `Max-Age` = time left (none with `cookie.browser_session = true`) |
/// | [`Idle(secs)`](SessionExpiry::Idle) | after `secs` without a write ("remember me for 30 days") | `Max-Age` = time left |
/// | [`BrowserSession`](SessionExpiry::BrowserSession) | after the configured idle timeout, or when the browser closes | no `Max-Age`/`Expires` |
/// | [`Until(t)`](SessionExpiry::Until) | at the instant `t` (Unix seconds), however active | `Max-Age` = time left |
///
/// ```
/// use std::time::Duration;
/// use sealed_session::data::SessionExpiry;
/// assert_eq!(SessionExpiry::idle(Duration::from_secs(600)), SessionExpiry::Idle(600));
/// // Longer than a u32 of seconds saturates (about 136 years).
/// assert_eq!(SessionExpiry::idle(Duration::MAX), SessionExpiry::Idle(u32::MAX));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SessionExpiry {
    /// An idle timeout of this many seconds instead of the configured one (the rolling
    /// expiry is renewed on write, or past a quarter of it).
    Idle(u32),
    /// A browser-session cookie: sent without `Max-Age` or `Expires`, so the browser drops it
    /// when it closes. The configured idle and absolute timeouts still apply inside the
    /// sealed value (a browser that restores its sessions keeps the cookie, which then still
    /// expires).
    BrowserSession,
    /// A fixed expiry instant in Unix seconds: no rolling renewal. An instant in the past
    /// ends the session at its next request.
    Until(u64),
}

impl SessionExpiry {
    /// [`Idle`](Self::Idle) in whole seconds, saturating at `u32::MAX`.
    #[must_use]
    pub fn idle(timeout: Duration) -> Self {
        SessionExpiry::Idle(u32::try_from(timeout.as_secs()).unwrap_or(u32::MAX))
    }

    /// [`Until`](Self::Until) `at`, in whole Unix seconds (0 for an instant before 1970).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use sealed_session::data::SessionExpiry;
    /// let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// assert_eq!(SessionExpiry::until(at), SessionExpiry::Until(1_700_000_000));
    /// ```
    #[must_use]
    pub fn until(at: SystemTime) -> Self {
        SessionExpiry::Until(crate::time::unix_seconds(at))
    }

    /// Whether the cookie is sent without `Max-Age`/`Expires`.
    #[must_use]
    pub fn is_browser_session(self) -> bool {
        self == SessionExpiry::BrowserSession
    }
}
