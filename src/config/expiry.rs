//! [`ExpiryConfig`]: the timeouts, as human durations.

use std::time::{Duration, SystemTime};

use serde::Deserialize;

use super::de::{de_duration, de_opt_duration, de_opt_time, format_time};
use crate::error::ConfigError;
use crate::time::ExpiryPolicy;

/// Largest clock skew tolerance accepted: clocks kept by NTP differ by far less.
const MAX_SKEW: Duration = Duration::from_hours(1);

/// Timeouts, as human durations (`"30m"`, `"12h"`, `"7days"`, `"1h 30m"`).
///
/// | field | default | |
/// |---|---|---|
/// | `idle` | `"24h"` | a session not written (or renewed) for this long expires; `"0s"` disables |
/// | `absolute` | `"7days"` | a session older than this expires however active; `"0s"` disables (not recommended: keys then never become safe to remove) |
/// | `skew` | `"60s"` | clock skew tolerated between the instances of a fleet (at most `1h`) |
/// | `renew_after` | `idle / 4` | an untouched session is re-sealed only when that pushes its idle expiry forward by at least this much (at most `idle`) |
/// | `not_before` | none | RFC 3339 instant; sessions created before it are rejected (mass logout) |
///
/// ```
/// use std::time::Duration;
/// let expiry: sealed_session::config::ExpiryConfig = toml::from_str(r#"idle = "30m""#)?;
/// assert_eq!(expiry.policy().idle_timeout(), Some(Duration::from_secs(1800)));
/// assert_eq!(expiry.policy().absolute_timeout(), Some(Duration::from_secs(7 * 86_400)));
/// # Ok::<(), toml::de::Error>(())
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ExpiryConfig {
    /// Idle timeout (default `24h`); `"0s"` disables it.
    #[serde(deserialize_with = "de_duration")]
    pub idle: Duration,
    /// Absolute timeout (default `7days`); `"0s"` disables it.
    #[serde(deserialize_with = "de_duration")]
    pub absolute: Duration,
    /// Clock skew tolerance (default `60s`).
    #[serde(deserialize_with = "de_duration")]
    pub skew: Duration,
    /// Renewal interval (default: a quarter of `idle`).
    #[serde(deserialize_with = "de_opt_duration")]
    pub renew_after: Option<Duration>,
    /// Reject sessions created before this RFC 3339 instant (mass logout).
    #[serde(deserialize_with = "de_opt_time")]
    pub not_before: Option<SystemTime>,
}

impl Default for ExpiryConfig {
    fn default() -> Self {
        let p = ExpiryPolicy::default();
        ExpiryConfig {
            idle: p.idle.unwrap_or_default(),
            absolute: p.absolute.unwrap_or_default(),
            skew: p.skew,
            renew_after: None,
            not_before: None,
        }
    }
}

fn invalid(field: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: format!("expiry.{field}"),
        message: message.into(),
    }
}

fn human(d: Duration) -> humantime::FormattedDuration {
    humantime::format_duration(d)
}

impl ExpiryConfig {
    /// The policy these settings describe.
    #[must_use]
    pub fn policy(&self) -> ExpiryPolicy {
        let mut p = ExpiryPolicy::default().skew(self.skew);
        p = if self.idle.is_zero() {
            p.no_idle()
        } else {
            p.idle(self.idle)
        };
        p = if self.absolute.is_zero() {
            p.no_absolute()
        } else {
            p.absolute(self.absolute)
        };
        if let Some(r) = self.renew_after {
            p = p.renew_after(r);
        }
        if let Some(nb) = self.not_before {
            p = p.not_before(nb);
        }
        p
    }

    /// Checks that sessions expire at all, and that `renew_after`, `skew` and `not_before`
    /// make sense at `now`.
    pub(crate) fn validate_at(&self, now: SystemTime) -> Result<(), ConfigError> {
        if self.idle.is_zero() && self.absolute.is_zero() {
            return Err(invalid(
                "absolute",
                "`idle` and `absolute` are both 0s (disabled), so sessions would never expire; \
                 set `absolute` (e.g. \"7days\")",
            ));
        }
        if let Some(renew) = self.renew_after {
            if !self.idle.is_zero() && renew > self.idle {
                return Err(invalid(
                    "renew_after",
                    format!(
                        "{} is longer than `idle` ({}), so untouched sessions would expire \
                         before being renewed; set it below `idle`",
                        human(renew),
                        human(self.idle)
                    ),
                ));
            }
        }
        if self.skew > MAX_SKEW {
            return Err(invalid(
                "skew",
                format!(
                    "{} is more than {}; the skew tolerance is for clocks kept in sync (NTP) \
                     and is usually seconds to minutes",
                    human(self.skew),
                    human(MAX_SKEW)
                ),
            ));
        }
        if let Some(nb) = self.not_before {
            if nb > now + self.skew {
                return Err(invalid(
                    "not_before",
                    format!(
                        "{} is in the future, so every session, even a new one, would be \
                         rejected until then; set it to the instant of the mass logout (now or \
                         earlier)",
                        format_time(nb)
                    ),
                ));
            }
        }
        Ok(())
    }
}
