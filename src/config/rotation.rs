//! [`RotationReport`]: where each key of a configuration stands in a staged rotation.

use std::fmt;
use std::time::{Duration, SystemTime};

use super::de::format_time;
use super::expiry::ExpiryConfig;
use super::key::KeyConfig;
use crate::keys::{Algorithm, KeyId, KeyRing, KeyState};
use crate::time::unix_seconds;

/// Where one key stands at the instant of a [`RotationReport`].
///
/// A key "stops sealing" at `since`: for a primary replaced by a later `activate_at`, the
/// instant of that activation; for a decrypt-only key, its `retired_at`. Every value it sealed
/// then has `created_at` before `since`, and is rejected from `safe_at` on — the earlier of:
/// - `since + absolute + 2 × skew + 1s`: a retired key opens values created up to
///   `since + skew` (clocks differ by up to the skew), the absolute timeout counts from
///   `created_at`, and it is accepted up to the skew past that; the second covers
///   whole-second timestamps. Unless the absolute timeout is disabled;
/// - `not_before`, if it is after `since + skew` (every session created before it is
///   rejected, and the key opens none created after `since + skew`; until 2026-12-06 a
///   `not_before` just after `since` made the key removable while values created within the
///   skew still opened).
///
/// The idle timeout is not counted: a session can carry a longer idle timeout of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyStatus {
    /// Seals new values now.
    Primary,
    /// A primary key whose `activate_at` is ahead: it seals from `at` on. Keep it.
    Scheduled {
        /// Its activation.
        at: SystemTime,
    },
    /// Stopped sealing at `since`, but values it sealed may still be valid: keep it until
    /// `safe_at` (`None`: never, because the absolute timeout is disabled and no later
    /// `not_before` revokes them).
    Retiring {
        /// When it stopped sealing.
        since: SystemTime,
        /// When it becomes safe to remove.
        safe_at: Option<SystemTime>,
    },
    /// Stopped sealing at `since` and no value it sealed is valid since `safe_at`: safe to
    /// remove from every instance.
    Removable {
        /// When it stopped sealing.
        since: SystemTime,
        /// Since when no value it sealed is valid.
        safe_at: SystemTime,
    },
    /// A decrypt-only key without `retired_at`: when it last sealed is unknown, so it is never
    /// reported safe to remove. Record the demotion instant in `retired_at`. (A key added as
    /// decrypt-only ahead of its promotion, the first step of a rotation, is in this state too,
    /// and must be kept anyway.)
    RetirementUnknown,
}

/// One key in a [`RotationReport`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyReport {
    /// The key id.
    pub id: KeyId,
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// Where it stands.
    pub status: KeyStatus,
}

/// The rotation state of a configuration at an instant: the primary, the next scheduled
/// switch, and which keys are safe to remove. Made by
/// [`SessionConfig::rotation_report`](crate::SessionConfig::rotation_report); its `Display` is what `sealed-session check-config`
/// prints.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use sealed_session::SessionConfig;
/// use sealed_session::config::{KeyConfig, KeyStatus};
/// use sealed_session::keys::{generate_secret, KeyId};
///
/// let day = Duration::from_secs(86_400);
/// let t0 = UNIX_EPOCH + 20_000 * day;
/// let mut config = SessionConfig::default(); // absolute timeout 7 days, skew 60 s
/// config.keys = vec![
///     KeyConfig::new(1, generate_secret()).decrypt_only().retired_at(t0),
///     KeyConfig::new(2, generate_secret()),
/// ];
/// let report = config.rotation_report(t0 + day)?;
/// assert_eq!(report.primary, KeyId(2));
/// assert!(report.safe_to_remove().is_empty());
/// assert!(matches!(report.keys[0].status, KeyStatus::Retiring { .. }));
///
/// let report = config.rotation_report(t0 + 8 * day)?;
/// assert_eq!(report.safe_to_remove(), [KeyId(1)]);
/// # Ok::<(), sealed_session::ConfigError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RotationReport {
    /// The instant the report describes.
    pub at: SystemTime,
    /// The key that seals at that instant.
    pub primary: KeyId,
    /// The next scheduled switch of primary after that instant, if any.
    pub next_activation: Option<(KeyId, SystemTime)>,
    /// Every key, in configuration order.
    pub keys: Vec<KeyReport>,
}

impl RotationReport {
    /// The keys that are safe to remove from every instance.
    #[must_use]
    pub fn safe_to_remove(&self) -> Vec<KeyId> {
        self.keys
            .iter()
            .filter(|k| matches!(k.status, KeyStatus::Removable { .. }))
            .map(|k| k.id)
            .collect()
    }

    /// Builds the report for configured `keys` whose ring validated at `now`.
    pub(super) fn new(
        keys: &[KeyConfig],
        expiry: &ExpiryConfig,
        ring: &KeyRing,
        now: SystemTime,
    ) -> Self {
        let absolute = expiry.absolute;
        let skew = expiry.skew;
        let not_before = expiry.not_before;
        let safe_at = |since: SystemTime| {
            // Checked all the way: `absolute` may be any duration the configuration accepts
            // (`u64::MAX` seconds included), and `Duration`'s `+` panics on overflow.
            let by_absolute = (!absolute.is_zero())
                .then(|| {
                    absolute
                        .checked_add(skew)
                        .and_then(|d| d.checked_add(skew))
                        .and_then(|d| d.checked_add(Duration::from_secs(1)))
                        .and_then(|d| since.checked_add(d))
                })
                .flatten();
            // The key opens values created up to `since + skew` (as the retirement check
            // reads a value, in whole seconds), and `not_before` revokes those created before
            // it: it revokes them all only from past that window.
            let window_end = unix_seconds(since).saturating_add(skew.as_secs());
            let by_revocation = not_before.filter(|&nb| unix_seconds(nb) > window_end);
            match (by_absolute, by_revocation) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        let stopped = |since: SystemTime| match safe_at(since) {
            Some(safe_at) if safe_at <= now => KeyStatus::Removable { since, safe_at },
            safe_at => KeyStatus::Retiring { since, safe_at },
        };
        let keys = keys
            .iter()
            .map(|k| {
                let status = match k.state {
                    KeyState::DecryptOnly => {
                        k.retired_at.map_or(KeyStatus::RetirementUnknown, stopped)
                    }
                    KeyState::Primary => {
                        // The schedule is the ring's: one definition of who seals when.
                        match (k.activate_at, ring.replaced_at(KeyId(k.id))) {
                            (Some(at), _) if at > now => KeyStatus::Scheduled { at },
                            (_, Some(since)) if since <= now => stopped(since),
                            _ => KeyStatus::Primary,
                        }
                    }
                };
                KeyReport {
                    id: KeyId(k.id),
                    algorithm: k.algorithm.parse().unwrap_or_default(),
                    status,
                }
            })
            .collect();
        RotationReport {
            at: now,
            primary: ring.primary_at(now).id(),
            next_activation: ring.next_activation(now),
            keys,
        }
    }
}

impl fmt::Display for RotationReport {
    /// A human-readable summary, one line per key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "at: {}", format_time(self.at))?;
        let algorithm = self
            .keys
            .iter()
            .find(|k| k.id == self.primary)
            .map_or("", |k| k.algorithm.name());
        writeln!(f, "primary now: key {} ({algorithm})", self.primary)?;
        match self.next_activation {
            Some((id, at)) => writeln!(f, "next activation: key {id} at {}", format_time(at))?,
            None => writeln!(f, "next activation: none scheduled")?,
        }
        writeln!(f, "keys:")?;
        for k in &self.keys {
            write!(f, "  key {:<3} {:<17}  ", k.id, k.algorithm.name())?;
            match k.status {
                KeyStatus::Primary => writeln!(f, "primary: seals now")?,
                KeyStatus::Scheduled { at } => {
                    writeln!(f, "scheduled: becomes primary at {}", format_time(at))?;
                }
                KeyStatus::Retiring { since, safe_at } => {
                    write!(
                        f,
                        "retiring: stopped sealing at {}; keep it ",
                        format_time(since)
                    )?;
                    match safe_at {
                        Some(t) => writeln!(f, "until {}", format_time(t))?,
                        None => writeln!(
                            f,
                            "(never safe to remove: the absolute timeout is disabled)"
                        )?,
                    }
                }
                KeyStatus::Removable { since, safe_at } => writeln!(
                    f,
                    "safe to remove: stopped sealing at {}; no value it sealed is valid since {}",
                    format_time(since),
                    format_time(safe_at)
                )?,
                KeyStatus::RetirementUnknown => writeln!(
                    f,
                    "decrypt-only, keep it: no `retired_at` records when it stopped sealing"
                )?,
            }
        }
        let removable = self.safe_to_remove();
        if removable.is_empty() {
            write!(f, "safe to remove: none")
        } else {
            let ids: Vec<String> = removable.iter().map(|id| format!("key {id}")).collect();
            write!(f, "safe to remove: {}", ids.join(", "))
        }
    }
}
