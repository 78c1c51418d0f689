//! [`Sealer`]: a [`SessionData`] sealed into, and opened from, one cookie value.
//!
//! This joins the crate-private codec (wire format v2, v1 still opened; see `SECURITY.md`)
//! with the session payload and the [`ExpiryPolicy`]. Expiry is checked only after the tag
//! verified. It is the only way into the codec: client-mode cookies, server-mode id cookies
//! and server-mode records all go through a `Sealer`.
//!
//! # Example
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use sealed_session::data::SessionData;
//! use sealed_session::error::{Expiry, RejectReason};
//! use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
//! use sealed_session::seal::Sealer;
//! use sealed_session::time::ExpiryPolicy;
//!
//! let ring = KeyRing::new([Key::new(KeyId(1), Algorithm::default(), &[5; 32])])?;
//! let sealer = Sealer::new("id", ExpiryPolicy::default().idle(Duration::from_secs(600)).skew(Duration::ZERO));
//! let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
//!
//! let mut data = SessionData::new();
//! data.insert("user_id", &42u64)?;
//! let value = sealer.seal(&ring, &data, t0)?;
//! let opened = sealer.open(&ring, &value, t0 + Duration::from_secs(600))?;
//! assert_eq!(opened.data.get::<u64>("user_id")?, Some(42));
//! assert_eq!(
//!     sealer.open(&ring, &value, t0 + Duration::from_secs(601)).unwrap_err(),
//!     RejectReason::Expired(Expiry::Idle),
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::time::{Duration, SystemTime};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::codec::{self, Purpose};
use crate::data::{Format, SessionData, SessionExpiry};
use crate::error::{DataError, Error, Expiry, RejectReason};
use crate::keys::{Key, KeyId, KeyRing, KeyState};
use crate::limits::{MAX_RECORD_LEN, MAX_SEALED_LEN};
use crate::time::{unix_seconds, ExpiryPolicy};

/// Length of a server-mode session id in bytes (128 bits from the OS generator).
pub(crate) const ID_LEN: usize = 16;

/// A server-mode session id.
pub(crate) type SessionId = [u8; ID_LEN];

/// Seals and opens sessions for one cookie name under one expiry policy.
#[derive(Clone, Debug)]
pub struct Sealer {
    name: String,
    policy: ExpiryPolicy,
    max_len: usize,
}

/// A session opened from a cookie value.
#[derive(Debug)]
pub struct OpenedSession {
    /// The session contents (not dirty).
    pub data: SessionData,
    /// The key that sealed it.
    pub key_id: KeyId,
    /// Sealed with a key that is not the primary now: re-seal under the primary.
    pub needs_reseal: bool,
    /// Re-sealing now would push the idle expiry forward by at least the renewal interval.
    pub needs_renewal: bool,
}

fn secs(d: Duration) -> u64 {
    d.as_secs()
}

impl Sealer {
    /// A sealer for cookie `name`. The length cap defaults to [`MAX_SEALED_LEN`].
    #[must_use]
    pub fn new(name: impl Into<String>, policy: ExpiryPolicy) -> Self {
        Sealer {
            name: name.into(),
            policy,
            max_len: MAX_SEALED_LEN,
        }
    }

    /// Caps the length (characters) of values [`open`](Self::open) will look at.
    #[must_use]
    pub fn max_len(mut self, max_len: usize) -> Self {
        self.max_len = max_len.min(MAX_SEALED_LEN);
        self
    }

    /// The cookie name the values are bound to.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The length cap of values [`open`](Self::open) will look at.
    #[must_use]
    pub fn max_value_len(&self) -> usize {
        self.max_len
    }

    /// The expiry policy.
    #[must_use]
    pub fn policy(&self) -> &ExpiryPolicy {
        &self.policy
    }

    /// `expires_at` for a session created at `created` and written at `now` (0 = never):
    /// the session's own choice (or the policy's idle timeout), capped by the absolute one.
    fn expiry(&self, data: &SessionData, created: u64, now: u64) -> u64 {
        let policy_idle = || self.policy.idle.map(|i| now.saturating_add(secs(i)));
        let idle = match data.expiry {
            Some(SessionExpiry::Idle(i)) => Some(now.saturating_add(u64::from(i))),
            // 0 means "never" in `expires_at`: an instant before 1971 is as good as expired.
            Some(SessionExpiry::Until(t)) => Some(t.max(1)),
            Some(SessionExpiry::BrowserSession) | None => policy_idle(),
        };
        let absolute = self
            .policy
            .absolute
            .map(|a| created.saturating_add(secs(a)));
        match (idle, absolute) {
            (Some(i), Some(a)) => i.min(a),
            (Some(x), None) | (None, Some(x)) => x,
            (None, None) => 0,
        }
    }

    /// Seals `data` under the primary key at `now`, stamping `created_at` (if new) and
    /// `expires_at`.
    ///
    /// # Errors
    /// [`Error::Data`] if a payload cannot be encoded (not expected), [`Error::Seal`] if the
    /// AEAD refuses.
    pub fn seal(
        &self,
        ring: &KeyRing,
        data: &SessionData,
        now: SystemTime,
    ) -> Result<String, Error> {
        self.seal_inner(ring, data, now, None)
    }

    /// Checks the timeouts of authenticated `data` at `now`; returns whether re-sealing now
    /// would push the idle expiry forward by at least the renewal interval.
    ///
    /// # Errors
    /// [`RejectReason::Expired`] with the timeout that ended the session.
    pub fn check_expiry(&self, data: &SessionData, now: SystemTime) -> Result<bool, RejectReason> {
        let now_s = unix_seconds(now);
        let created = data.created_at.unwrap_or(0);
        let skew = secs(self.policy.skew);
        if let Some(nb) = self.policy.not_before {
            if created < unix_seconds(nb) {
                return Err(RejectReason::Expired(Expiry::Revoked));
            }
        }
        if let Some(abs) = self.policy.absolute {
            if now_s > created.saturating_add(secs(abs)).saturating_add(skew) {
                return Err(RejectReason::Expired(Expiry::Absolute));
            }
        }
        if data.expires_at != 0 && now_s > data.expires_at.saturating_add(skew) {
            return Err(RejectReason::Expired(Expiry::Idle));
        }
        let renewed = self.expiry(data, created, now_s);
        let gain = renewed.saturating_sub(data.expires_at);
        // A per-session idle timeout renews at a quarter of itself, like the policy's, or
        // every `renew_after` if that comes sooner: `renew_after` longer than a session's
        // own idle timeout would let an active session expire between renewals.
        let interval = match data.expiry {
            Some(SessionExpiry::Idle(idle)) => {
                let quarter = u64::from(idle) / 4;
                self.policy
                    .renew_after
                    .map_or(quarter, |every| secs(every).min(quarter))
            }
            _ => secs(self.policy.renew_interval()),
        };
        Ok(data.expires_at != 0 && gain >= interval.max(1))
    }

    /// Works out the expiry of an opened session from its last write under the policy in
    /// force now (wire format v2), so a timeout shortened in the configuration reaches the
    /// cookies already issued (finding S7). A v1 value keeps the expiry it was sealed with.
    fn expiry_now(&self, data: &mut SessionData) {
        if let Some(written) = data.written_at {
            let created = data.created_at.unwrap_or(0);
            data.expires_at = self.expiry(data, created, written);
        }
    }

    /// Stamps `created_at` (if new), `written_at` and `expires_at` for a write at `now`;
    /// marks it clean.
    pub(crate) fn stamp(&self, data: &mut SessionData, now: SystemTime) {
        let now = unix_seconds(now);
        let created = data.created_at.unwrap_or(now);
        data.expires_at = self.expiry(data, created, now);
        data.written_at = Some(now);
        data.created_at = Some(created);
        data.dirty = false;
    }

    /// Seals `data` and records its new `created_at`/`expires_at` in it (now clean).
    pub(crate) fn seal_data(
        &self,
        ring: &KeyRing,
        data: &mut SessionData,
        now: SystemTime,
    ) -> Result<String, Error> {
        let value = self.seal_inner(ring, data, now, None)?;
        self.stamp(data, now);
        Ok(value)
    }

    pub(crate) fn seal_inner(
        &self,
        ring: &KeyRing,
        data: &SessionData,
        now: SystemTime,
        fixed_nonce: Option<&[u8]>,
    ) -> Result<String, Error> {
        // The key is chosen at the exact instant (an `activate_at` may fall within a second);
        // the timestamps inside are whole seconds.
        let instant = now;
        let now = unix_seconds(now);
        let created = data.created_at.unwrap_or(now);
        let hint = data.encoded_len_hint();
        let name = self.name.as_bytes();
        codec::seal_with(
            ring,
            Purpose::Data,
            name,
            instant,
            fixed_nonce,
            hint,
            |buf| {
                data.encode_payload(created, now, buf)
                    .map_err(payload_error)
            },
        )
    }

    /// Server mode: seals session `id` into the value of the id cookie, under the primary key
    /// at `now`, bound to the cookie name like a client-mode value.
    pub(crate) fn seal_id(
        &self,
        ring: &KeyRing,
        id: &SessionId,
        now: SystemTime,
    ) -> Result<String, Error> {
        codec::seal(ring, Purpose::Id, self.name.as_bytes(), now, id)
    }

    /// Server mode: opens an id cookie's value; returns the id and whether it was sealed with
    /// a key that is not the primary now (re-seal it).
    pub(crate) fn open_id(
        &self,
        ring: &KeyRing,
        value: &str,
        now: SystemTime,
    ) -> Result<(SessionId, bool), RejectReason> {
        let (opened, id) = self.open_id_value(ring, value, now)?;
        // A version 1 id is re-sealed as version 2 (with its purpose in the AAD) right away.
        Ok((id, !opened.is_primary() || opened.version() == 1))
    }

    fn open_id_value(
        &self,
        ring: &KeyRing,
        value: &str,
        now: SystemTime,
    ) -> Result<(codec::Opened, SessionId), RejectReason> {
        let opened = codec::open(
            ring,
            Purpose::Id,
            self.name.as_bytes(),
            value,
            now,
            self.max_len,
        )?;
        let id = SessionId::try_from(opened.plaintext()).map_err(|_| RejectReason::Malformed)?;
        Ok((opened, id))
    }

    /// Server mode: checks that `value` is an id cookie this ring sealed under this cookie
    /// name, and returns the key that sealed it. The id itself, a bearer credential, is not
    /// handed out. What `sealed-session inspect` does with a server-mode configuration; the
    /// layer uses the same check before any store call.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
    /// use sealed_session::seal::Sealer;
    /// use sealed_session::time::ExpiryPolicy;
    /// use sealed_session::RejectReason;
    ///
    /// let ring = KeyRing::new([Key::new(KeyId(1), Algorithm::default(), &[1; 32])])?;
    /// let sealer = Sealer::new("session", ExpiryPolicy::default());
    /// // A client-mode value is not an id cookie: it was sealed for another purpose.
    /// let data = sealer.seal(&ring, &Default::default(), SystemTime::now())?;
    /// assert_eq!(
    ///     sealer.check_id(&ring, &data, SystemTime::now()),
    ///     Err(RejectReason::Unauthenticated)
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// Why the value was rejected, as for a client-mode value.
    pub fn check_id(
        &self,
        ring: &KeyRing,
        value: &str,
        now: SystemTime,
    ) -> Result<KeyId, RejectReason> {
        self.open_id_value(ring, value, now)
            .map(|(opened, _)| opened.key_id())
    }

    /// Server mode: stamps `data` for a write at `now` and seals it as the store record filed
    /// under `record_key` (bound to it: a record copied under another key does not open).
    ///
    /// # Errors
    /// [`Error::RecordTooLarge`] past [`MAX_RECORD_LEN`]; as [`seal`](Self::seal) otherwise.
    pub(crate) fn seal_record(
        &self,
        ring: &KeyRing,
        record_key: &[u8],
        data: &mut SessionData,
        now: SystemTime,
    ) -> Result<Vec<u8>, Error> {
        self.stamp(data, now);
        let created = data.created_at().unwrap_or_else(|| unix_seconds(now));
        let hint = data.encoded_len_hint();
        let sealed = codec::seal_with(ring, Purpose::Record, record_key, now, None, hint, |buf| {
            let written = data.written_at.unwrap_or_else(|| unix_seconds(now));
            data.encode_payload(created, written, buf)
                .map_err(payload_error)
        })?;
        if sealed.len() > MAX_RECORD_LEN {
            return Err(Error::RecordTooLarge {
                len: sealed.len(),
                max: MAX_RECORD_LEN,
            });
        }
        Ok(sealed.into_bytes())
    }

    /// Server mode: opens the store record filed under `record_key` (the decrypted buffer
    /// becomes the session's backing store) and checks its timeouts at `now`; returns the
    /// data and whether it is due for renewal. A record that is not sealed for this key (a
    /// store write by anyone without the key ring, or a record of the previous release, which
    /// were not sealed) is refused.
    pub(crate) fn open_record(
        &self,
        ring: &KeyRing,
        record_key: &[u8],
        record: &[u8],
        now: SystemTime,
    ) -> Result<(SessionData, bool), RejectReason> {
        let value = std::str::from_utf8(record).map_err(|_| RejectReason::Malformed)?;
        let opened = codec::open(
            ring,
            Purpose::Record,
            record_key,
            value,
            now,
            MAX_RECORD_LEN,
        )?;
        let (buf, plaintext) = opened.into_parts();
        let mut data = SessionData::decode_payload_in(Format::V2, buf, plaintext)
            .ok_or(RejectReason::Malformed)?;
        self.expiry_now(&mut data);
        let renew = self.check_expiry(&data, now)?;
        Ok((data, renew))
    }

    /// Opens `value` at `now`: length cap, base64, version, key id, tag, payload, key
    /// retirement (a decrypt-only key with `retired_at` opens only values created by then plus
    /// the skew), then expiry.
    ///
    /// # Errors
    /// The [`RejectReason`] of the first failed check.
    pub fn open(
        &self,
        ring: &KeyRing,
        value: &str,
        now: SystemTime,
    ) -> Result<OpenedSession, RejectReason> {
        let opened = codec::open(
            ring,
            Purpose::Data,
            self.name.as_bytes(),
            value,
            now,
            self.max_len,
        )?;
        let (key_id, is_primary) = (opened.key_id(), opened.is_primary());
        let format = if opened.version() == 1 {
            Format::V1
        } else {
            Format::V2
        };
        let (buf, plaintext) = opened.into_parts();
        // The decrypted buffer becomes the session's backing store: no copy per entry.
        let mut data = SessionData::decode_payload_in(format, buf, plaintext)
            .ok_or(RejectReason::Malformed)?;
        check_retirement(ring, key_id, &data, self.policy.skew)?;
        self.expiry_now(&mut data);
        let needs_renewal = self.check_expiry(&data, now)?;
        Ok(OpenedSession {
            data,
            key_id,
            // A version 1 value is re-sealed as version 2 on this response.
            needs_reseal: !is_primary || format == Format::V1,
            needs_renewal,
        })
    }
}

/// The error of a payload that postcard could not write (not expected: only integers and
/// byte strings are written with it).
#[allow(clippy::needless_pass_by_value)] // it is a `map_err` callback
fn payload_error(e: postcard::Error) -> Error {
    Error::Data(DataError::Encode {
        key: String::new(),
        source: crate::error::ValueError::from_reason(e.to_string()),
    })
}

/// A decrypt-only key retired at `r` opens only values written by `r + skew` (issue 12, S13):
/// it sealed nothing after `r`, so a value written later was sealed with a leaked copy of it.
/// Wire format v2 records the write; a v1 value is judged by its `created_at`.
///
/// Whoever holds a leaked key writes every timestamp of the plaintext, so the later of
/// `created_at` and `written_at` is judged: a value is never written before it was created,
/// and judging `written_at` alone let a forger claim a write at `r` for a session created
/// today, whose absolute timeout then counted from today. With both by `r + skew`, a forged
/// value dies with the absolute timeout like the key's honest ones, by the instant
/// `check-config` reports the key removable.
fn check_retirement(
    ring: &KeyRing,
    key_id: KeyId,
    data: &SessionData,
    skew: Duration,
) -> Result<(), RejectReason> {
    let retired = ring
        .get(key_id)
        .filter(|k| k.state() == KeyState::DecryptOnly)
        .and_then(Key::retirement);
    // `None` orders before any `Some`: the later of the two that are there.
    match (retired, data.written_at.max(data.created_at())) {
        (Some(r), Some(written)) if written > unix_seconds(r).saturating_add(secs(skew)) => {
            Err(RejectReason::RetiredKey)
        }
        _ => Ok(()),
    }
}

/// The key id a sealed value names in its header, read without authenticating anything: for
/// diagnostics only (the `inspect` command uses it to say which key a rejected value wants).
///
/// ```
/// use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
/// use sealed_session::seal::{key_id_of, Sealer};
/// use sealed_session::data::SessionData;
/// use sealed_session::time::ExpiryPolicy;
///
/// let ring = KeyRing::new([Key::new(KeyId(7), Algorithm::default(), &[1; 32])])?;
/// let mut data = SessionData::new();
/// data.insert("n", &1u8)?;
/// let value = Sealer::new("session", ExpiryPolicy::default()).seal(&ring, &data, std::time::SystemTime::now())?;
/// assert_eq!(key_id_of(&value), Some(KeyId(7)));
/// assert_eq!(key_id_of("garbage!"), None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use]
pub fn key_id_of(value: &str) -> Option<KeyId> {
    // Four base64 characters decode to the three bytes that hold the two-byte header.
    let head = URL_SAFE_NO_PAD.decode(value.get(..4)?).ok()?;
    codec::Header::parse(&head).ok().map(|(h, _)| h.key_id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Algorithm, Key};

    fn at(s: u64) -> SystemTime {
        std::time::UNIX_EPOCH + Duration::from_secs(s)
    }

    #[test]
    fn renewal_only_past_the_interval() {
        let ring =
            KeyRing::new_at([Key::new(KeyId(0), Algorithm::default(), &[1; 32])], at(0)).unwrap();
        let s = Sealer::new(
            "s",
            ExpiryPolicy::default()
                .idle(Duration::from_secs(400))
                .no_absolute(),
        );
        let v = s.seal(&ring, &SessionData::new(), at(1000)).unwrap();
        assert!(!s.open(&ring, &v, at(1099)).unwrap().needs_renewal);
        assert!(s.open(&ring, &v, at(1100)).unwrap().needs_renewal);
    }

    #[test]
    fn key_id_of_reads_the_key_id_of_a_sealed_value_without_the_key() {
        for id in [0, 7, 255] {
            let ring =
                KeyRing::new_at([Key::new(KeyId(id), Algorithm::default(), &[1; 32])], at(0))
                    .unwrap();
            let value = Sealer::new("s", ExpiryPolicy::default())
                .seal(&ring, &SessionData::new(), at(1000))
                .unwrap();
            assert_eq!(key_id_of(&value), Some(KeyId(id)));
        }
        assert_eq!(key_id_of("AgE"), None, "shorter than a header");
        assert_eq!(key_id_of("CQEA"), None, "unknown version 9");
        assert_eq!(key_id_of("!!!!"), None, "not base64url");
    }

    /// A session whose record, sealed at 1000, holds one string of `len` characters.
    fn record(s: &Sealer, ring: &KeyRing, len: usize) -> Result<Vec<u8>, Error> {
        let mut data = SessionData::new();
        data.insert("v", &"x".repeat(len)).unwrap();
        s.seal_record(ring, &[7; 32], &mut data, at(1000))
    }

    #[test]
    fn a_record_of_exactly_max_record_len_is_sealed_and_opened_and_one_byte_more_is_refused() {
        let ring =
            KeyRing::new_at([Key::new(KeyId(0), Algorithm::default(), &[1; 32])], at(0)).unwrap();
        let s = Sealer::new("s", ExpiryPolicy::default());
        // Past 64 KiB a string's MessagePack header is 5 bytes whatever its length, so the
        // sealed bytes are a fixed overhead plus the string.
        let probe = 100_000;
        let overhead = record(&s, &ring, probe).unwrap().len() * 3 / 4 - probe;
        // MAX_RECORD_LEN base64 characters are exactly 3/4 as many bytes.
        let len = MAX_RECORD_LEN / 4 * 3 - overhead;
        let exact = record(&s, &ring, len).unwrap();
        assert_eq!(exact.len(), MAX_RECORD_LEN);
        let (data, _) = s.open_record(&ring, &[7; 32], &exact, at(1000)).unwrap();
        assert_eq!(data.get::<String>("v").unwrap().map(|v| v.len()), Some(len));

        assert!(matches!(
            record(&s, &ring, len + 1),
            Err(Error::RecordTooLarge { len: l, max }) if l == MAX_RECORD_LEN + 2 && max == MAX_RECORD_LEN
        ));
    }
}
