//! The key ring: up to 256 keys, O(1) lookup by id, one primary at any instant.

use std::fmt;
use std::time::SystemTime;

use super::key::{Key, KeyId, KeyState};
use crate::error::ConfigError;

/// The keys a deployment knows: one seals (the primary at that instant), all open.
///
/// # Which key is primary
/// Every key with [`KeyState::Primary`] is a candidate. One without an activation time is
/// primary from the start; one with [`Key::activate_at`] becomes primary at that instant. At
/// time `t` the primary is the candidate with the latest activation that is not after `t`; the
/// ones it replaced keep opening values, like decrypt-only keys. Construction checks that a
/// primary is active now and that no two candidates share an activation instant, so exactly one
/// key is primary at every instant from now on.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
///
/// let now = SystemTime::now();
/// let old = Key::new(KeyId(1), Algorithm::default(), &[1; 32]);
/// let new = Key::new(KeyId(2), Algorithm::default(), &[2; 32]).activate_at(now + Duration::from_secs(60));
/// let ring = KeyRing::new([old, new])?;
/// assert_eq!(ring.primary_at(now).id(), KeyId(1));
/// assert_eq!(ring.primary_at(now + Duration::from_secs(60)).id(), KeyId(2));
/// assert!(ring.get(KeyId(1)).is_some() && ring.get(KeyId(9)).is_none());
/// # Ok::<(), sealed_session::ConfigError>(())
/// ```
#[derive(Clone)]
pub struct KeyRing {
    keys: Vec<Key>,
    /// `index[id]` = position in `keys`.
    index: Box<[Option<u8>; 256]>,
    /// Primary candidates as (activation, position), sorted; `None` sorts first.
    schedule: Vec<(Option<SystemTime>, u8)>,
}

impl KeyRing {
    /// Builds a ring and validates it against the system clock.
    ///
    /// # Errors
    /// [`ConfigError::DuplicateKeyId`], [`ConfigError::TwoPrimaries`] or
    /// [`ConfigError::NoPrimary`].
    pub fn new(keys: impl IntoIterator<Item = Key>) -> Result<Self, ConfigError> {
        Self::new_at(keys, SystemTime::now())
    }

    /// Builds a ring and validates it at `now` (injected time, for tests and tools).
    ///
    /// # Errors
    /// As [`KeyRing::new`].
    pub fn new_at(
        keys: impl IntoIterator<Item = Key>,
        now: SystemTime,
    ) -> Result<Self, ConfigError> {
        let keys: Vec<Key> = keys.into_iter().collect();
        let mut index = Box::new([None; 256]);
        for (pos, key) in keys.iter().enumerate() {
            let slot = &mut index[usize::from(key.id().0)];
            if slot.is_some() {
                return Err(ConfigError::DuplicateKeyId { id: key.id().0 });
            }
            // At most 256 distinct ids, so `pos` fits a u8.
            *slot = Some(
                u8::try_from(pos).map_err(|_| ConfigError::DuplicateKeyId { id: key.id().0 })?,
            );
        }
        let mut schedule: Vec<(Option<SystemTime>, u8)> = keys
            .iter()
            .zip(0u8..=255)
            .filter(|(k, _)| k.state() == KeyState::Primary)
            .map(|(k, pos)| (k.activation(), pos))
            .collect();
        schedule.sort_by_key(|&(at, _)| at);
        for pair in schedule.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(ConfigError::TwoPrimaries {
                    a: keys[usize::from(pair[0].1)].id().0,
                    b: keys[usize::from(pair[1].1)].id().0,
                });
            }
        }
        let ring = KeyRing {
            keys,
            index,
            schedule,
        };
        if ring.primary_pos(now).is_none() {
            return Err(ConfigError::NoPrimary {
                keys: ring.describe(),
            });
        }
        Ok(ring)
    }

    /// `17 decrypt-only, 42 primary from 2030-01-01T00:00:00Z`: for error messages.
    pub(crate) fn describe(&self) -> String {
        if self.keys.is_empty() {
            return "none".into();
        }
        let describe = |k: &Key| match (k.state(), k.activation()) {
            (KeyState::DecryptOnly, _) => format!("{} decrypt-only", k.id()),
            (KeyState::Primary, None) => format!("{} primary", k.id()),
            (KeyState::Primary, Some(at)) => {
                format!(
                    "{} primary from {}",
                    k.id(),
                    humantime::format_rfc3339_seconds(at)
                )
            }
        };
        self.keys
            .iter()
            .map(describe)
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn primary_pos(&self, now: SystemTime) -> Option<u8> {
        self.schedule
            .iter()
            .rev()
            .find(|(at, _)| at.is_none_or(|at| at <= now))
            .map(|&(_, pos)| pos)
    }

    /// The key that seals at `now`.
    ///
    /// A ring was validated to have a primary at construction and time only moves forward;
    /// for an instant before construction with no primary yet, the earliest candidate is
    /// returned.
    #[must_use]
    pub fn primary_at(&self, now: SystemTime) -> &Key {
        let pos = self
            .primary_pos(now)
            .or_else(|| self.schedule.first().map(|&(_, p)| p))
            .unwrap_or(0);
        &self.keys[usize::from(pos)]
    }

    /// The key with this id, in O(1).
    #[must_use]
    pub fn get(&self, id: KeyId) -> Option<&Key> {
        self.index[usize::from(id.0)].map(|pos| &self.keys[usize::from(pos)])
    }

    /// All keys, in the order given.
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &Key> {
        self.keys.iter()
    }

    /// When the primary candidate `id` stops sealing because the next one in the schedule
    /// activates (`None`: it is not a primary candidate, or nothing replaces it).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
    /// let now = SystemTime::now();
    /// let at = now + Duration::from_secs(60);
    /// let ring = KeyRing::new([
    ///     Key::new(KeyId(1), Algorithm::default(), &[1; 32]),
    ///     Key::new(KeyId(2), Algorithm::default(), &[2; 32]).activate_at(at),
    /// ])?;
    /// assert_eq!(ring.replaced_at(KeyId(1)), Some(at));
    /// assert_eq!(ring.replaced_at(KeyId(2)), None);
    /// # Ok::<(), sealed_session::ConfigError>(())
    /// ```
    #[must_use]
    pub fn replaced_at(&self, id: KeyId) -> Option<SystemTime> {
        let pos = self
            .schedule
            .iter()
            .position(|&(_, p)| self.keys[usize::from(p)].id() == id)?;
        self.schedule.get(pos + 1).and_then(|&(at, _)| at)
    }

    /// The next scheduled switch of primary strictly after `now`, if any.
    #[must_use]
    pub fn next_activation(&self, now: SystemTime) -> Option<(KeyId, SystemTime)> {
        self.schedule.iter().find_map(|&(at, pos)| match at {
            Some(at) if at > now => Some((self.keys[usize::from(pos)].id(), at)),
            _ => None,
        })
    }
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("keys", &self.keys)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;

    #[test]
    fn replaced_at_is_the_activation_of_the_next_primary_in_the_schedule() {
        let t0 = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let at = |s| t0 + std::time::Duration::from_secs(s);
        let key = |id| Key::new(KeyId(id), Algorithm::default(), &[id; 32]);
        // Given out of schedule order, with a decrypt-only key among them.
        let ring = KeyRing::new_at(
            [
                key(3).activate_at(at(120)),
                key(4).decrypt_only(),
                key(1),
                key(2).activate_at(at(60)),
            ],
            t0,
        )
        .unwrap();
        assert_eq!(ring.replaced_at(KeyId(1)), Some(at(60)));
        assert_eq!(ring.replaced_at(KeyId(2)), Some(at(120)));
        assert_eq!(ring.replaced_at(KeyId(3)), None, "the last primary");
        assert_eq!(ring.replaced_at(KeyId(4)), None, "not a primary candidate");
        assert_eq!(ring.replaced_at(KeyId(9)), None, "not in the ring");
    }

    #[test]
    fn debug_lists_the_keys_by_id_and_never_a_secret() {
        let ring = KeyRing::new([
            Key::new(KeyId(7), Algorithm::Xaes256Gcm, &[0xA7; 32]),
            Key::new(KeyId(3), Algorithm::ChaCha20Poly1305, &[0xB3; 32]).decrypt_only(),
        ])
        .unwrap();
        let shown = format!("{ring:?}");
        assert_eq!(
            shown,
            "KeyRing { keys: [\
             Key { id: 7, algorithm: Xaes256Gcm, state: Primary, activate_at: None, retired_at: None, .. }, \
             Key { id: 3, algorithm: ChaCha20Poly1305, state: DecryptOnly, activate_at: None, retired_at: None, .. }\
             ], .. }"
        );
        for secret_byte in ["167", "179", "a7", "b3", "A7", "B3"] {
            assert!(!shown.contains(secret_byte), "{secret_byte} in {shown}");
        }
    }
}
