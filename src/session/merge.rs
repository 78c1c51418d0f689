//! Server mode: writing a loaded session back when other requests of the same session may
//! have written it meanwhile.
//!
//! A request records which keys it set or removed (the [`Patch`] of its `SessionData`). Its
//! record is written with [`SessionStore::compare_and_swap`], expecting the bytes it loaded:
//! a session nobody else wrote costs that one call. On a conflict the store hands back the
//! record it holds now; the patch is applied to it, the result sealed and swapped in, up to
//! [`MAX_SAVE_ATTEMPTS`] times in all, after which the save fails (a 503). If the record is
//! gone (a `flush` or `cycle` deleted it, or it expired) the write is dropped: a flushed
//! session is never revived, and nothing of it moves to a new id.
//!
//! Within one process, saves of one record wait for each other ([`Turnstile`]), so that many
//! concurrent requests of one session (64 in `tests/merge.rs`) conflict at most once each
//! instead of all retrying in lockstep; conflicts with other processes are what the retries
//! are for.

use std::collections::HashMap;
use std::future::{poll_fn, Future};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};
use std::time::{Duration, SystemTime};

use crate::cookies::Lifetime;
use crate::data::{Patch, SessionData};
use crate::error::{RejectReason, StoreError};
use crate::limits::{MAX_AGE_SECS, MAX_SAVE_ATTEMPTS};
use crate::metrics::{self, StoreOp};
use crate::reload::Live;
use crate::seal::Sealer;
use crate::store::{RecordKey, SessionStore, Swap};
use crate::time::unix_seconds;

/// The longest TTL given to a store record (when no timeout is configured): as long as the
/// longest cookie lifetime browsers honour, since the id cookie cannot outlive that.
pub(crate) const MAX_TTL: Duration = Duration::from_secs(MAX_AGE_SECS);

/// The TTL of a record holding `data` sealed at `now`: its remaining lifetime plus the clock
/// skew allowed, at most [`MAX_TTL`] (also when it has no expiry).
pub(crate) fn record_ttl(data: &SessionData, sealer: &Sealer, now: SystemTime) -> Duration {
    match data.expires_at() {
        0 => MAX_TTL,
        e => Duration::from_secs(Lifetime::new(unix_seconds(now), e).max_age())
            .saturating_add(sealer.policy().skew)
            .min(MAX_TTL),
    }
}

/// A record to write (server mode).
pub(crate) struct Save {
    pub key: RecordKey,
    /// `None`: delete it (the session became empty).
    pub record: Option<Vec<u8>>,
    pub ttl: Duration,
    /// `Some` for a loaded record: write only onto it, merging onto a newer one.
    pub merge: Option<Merge>,
}

/// What a loaded session needs to be merged onto a newer copy of its record.
pub(crate) struct Merge {
    /// The record as loaded: the write happens only if it is still what the store holds.
    pub expected: Vec<u8>,
    /// What this request changed.
    pub patch: Patch,
    pub live: Arc<Live>,
    pub now: SystemTime,
    pub turnstile: Arc<Turnstile>,
    /// `cookie.browser_session`, for the cookie of the merged session.
    pub browser_session_default: bool,
}

/// What became of a save.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// The record holds this request's session.
    Stored,
    /// The record holds this request's changes merged onto others': the cookie's lifetime is
    /// the merged session's (another request may have chosen another expiry meanwhile).
    Merged { lifetime: Option<Lifetime> },
    /// The record was deleted (the session is empty).
    Deleted,
    /// The record was gone (flushed, cycled or expired meanwhile): nothing was written.
    Dropped,
}

/// Writes `save`: a plain save for a new record, a compare-and-swap with merging for a
/// loaded one.
pub(crate) async fn write(store: &dyn SessionStore, save: Save) -> Result<Written, StoreError> {
    let Save {
        key,
        record,
        ttl,
        merge,
    } = save;
    let Some(merge) = merge else {
        return match record {
            Some(record) => metrics::store_call(StoreOp::Save, store.save(&key, &record, ttl))
                .await
                .map(|()| Written::Stored),
            None => metrics::store_call(StoreOp::Delete, store.delete(&key))
                .await
                .map(|()| Written::Deleted),
        };
    };
    let _pass = merge.turnstile.enter(key).await;
    let (mut expected, mut record, mut ttl) = (merge.expected.clone(), record, ttl);
    // The merged session's cookie lifetime, once merged.
    let mut merged_lifetime = None;
    for attempt in 1..=MAX_SAVE_ATTEMPTS {
        if attempt > 1 {
            metrics::merge_retry();
        }
        let swap = store.compare_and_swap(&key, Some(&expected), record.as_deref(), ttl);
        // A swap to nothing deletes the record (the session became empty).
        let op = if record.is_some() {
            StoreOp::Save
        } else {
            StoreOp::Delete
        };
        match metrics::store_call(op, swap).await? {
            Swap::Done if record.is_some() => {
                return Ok(match merged_lifetime {
                    None => Written::Stored,
                    Some(lifetime) => Written::Merged { lifetime },
                })
            }
            Swap::Done => return Ok(Written::Deleted),
            Swap::Changed(None) => {
                tracing::debug!(
                    "session record gone before its write (flushed, cycled or expired); write dropped"
                );
                return Ok(Written::Dropped);
            }
            Swap::Changed(Some(current)) => {
                tracing::debug!(attempt, "session record written meanwhile; merging");
                let Some((merged, merged_ttl, lifetime)) = merge.onto(&key, &current) else {
                    tracing::debug!("session record meanwhile expired or unusable; write dropped");
                    return Ok(Written::Dropped);
                };
                // Counted once per save that merged, however many attempts it took (those are
                // the retries).
                if merged_lifetime.is_none() {
                    metrics::merge_conflict();
                }
                (expected, record, ttl) = (current, merged, merged_ttl);
                merged_lifetime = Some(lifetime);
            }
        }
    }
    Err(StoreError::Conflict {
        attempts: MAX_SAVE_ATTEMPTS,
    })
}

impl Merge {
    /// This request's changes applied to `current`, sealed (`None` inside: the result is
    /// empty, delete), with its TTL and its cookie's lifetime; `None` if `current` does not
    /// open (expired, or not sealed for this key).
    fn onto(
        &self,
        key: &RecordKey,
        current: &[u8],
    ) -> Option<(Option<Vec<u8>>, Duration, Option<Lifetime>)> {
        let (sealer, ring) = (&self.live.sealer, &self.live.ring);
        let (mut base, _) = match sealer.open_record(ring, key.as_bytes(), current, self.now) {
            Ok(opened) => opened,
            Err(RejectReason::Expired(_)) => return None,
            Err(reason) => {
                // Not expired, yet unreadable: written by an instance with a key this one
                // does not have (a rotation not rolled out everywhere), or by someone without
                // the key ring. Either way nothing of it can be kept.
                tracing::warn!(
                    reason = reason.as_str(),
                    "session record written meanwhile does not open: {reason}; write dropped"
                );
                return None;
            }
        };
        base.apply(&self.patch);
        if base.is_empty() {
            return Some((None, Duration::ZERO, None));
        }
        match sealer.seal_record(ring, key.as_bytes(), &mut base, self.now) {
            Ok(record) => Some((
                Some(record),
                record_ttl(&base, sealer, self.now),
                super::cookie_lifetime(&base, self.browser_session_default, self.now),
            )),
            Err(e) => {
                tracing::error!(error = %e, "could not seal the merged session record");
                None
            }
        }
    }
}

/// Saves of one record in this process, one at a time: a save waits until no other save of
/// its record is running. Waiting is fair enough for the purpose (everyone is woken when a
/// save ends, and one of them goes next) and needs no runtime.
#[derive(Default)]
pub(crate) struct Turnstile {
    /// Records being saved, with the saves waiting for each.
    busy: Mutex<HashMap<RecordKey, Vec<Waker>>>,
}

/// The right to save one record; dropping it lets the next save of that record go.
pub(crate) struct Pass {
    turnstile: Arc<Turnstile>,
    key: RecordKey,
}

impl Turnstile {
    fn enter(self: &Arc<Self>, key: RecordKey) -> impl Future<Output = Pass> + Send + '_ {
        poll_fn(move |cx| {
            let mut busy = self.busy.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(waiting) = busy.get_mut(&key) {
                if !waiting.iter().any(|w| w.will_wake(cx.waker())) {
                    waiting.push(cx.waker().clone());
                }
                return Poll::Pending;
            }
            busy.insert(key, Vec::new());
            Poll::Ready(Pass {
                turnstile: self.clone(),
                key,
            })
        })
    }
}

impl Drop for Pass {
    fn drop(&mut self) {
        let waiting = (self.turnstile.busy.lock())
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
        for waker in waiting.into_iter().flatten() {
            waker.wake();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Context;

    #[test]
    fn a_second_save_of_one_record_waits_for_the_first() {
        let turnstile = Arc::new(Turnstile::default());
        let (a, b) = (RecordKey::of_id(&[1; 16]), RecordKey::of_id(&[2; 16]));
        let mut cx = Context::from_waker(Waker::noop());
        let mut first = Box::pin(turnstile.enter(a));
        let Poll::Ready(pass) = first.as_mut().poll(&mut cx) else {
            panic!("the first save goes at once");
        };
        let mut second = Box::pin(turnstile.enter(a));
        assert!(second.as_mut().poll(&mut cx).is_pending());
        // Another record is not held up.
        let mut other = Box::pin(turnstile.enter(b));
        assert!(other.as_mut().poll(&mut cx).is_ready());
        drop(pass);
        assert!(second.as_mut().poll(&mut cx).is_ready());
    }
}
