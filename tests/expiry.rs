//! Expiry inside the ciphertext: idle, absolute, skew, revocation, renewal, per-session idle.
//!
//! Time only comes from a `ManualClock` or explicit instants; nothing sleeps or reads the
//! system clock.
#![forbid(unsafe_code)]

mod common;

use std::time::Duration;

use sealed_session::data::SessionData;
use sealed_session::error::Expiry;
use sealed_session::keys::{Algorithm, KeyRing};
use sealed_session::seal::{OpenedSession, Sealer};
use sealed_session::time::{unix_seconds, Clock, ExpiryPolicy};
use sealed_session::RejectReason;

use common::{at, clock, decode, encode, ring, strict_sealer, typical_session, COOKIE, T0};

const MINUTE: u64 = 60;
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn policy(idle: u64, absolute: u64, skew: u64) -> ExpiryPolicy {
    ExpiryPolicy::default()
        .idle(secs(idle))
        .absolute(secs(absolute))
        .skew(secs(skew))
}

/// Opens at `T0 + t`.
fn open_at(
    sealer: &Sealer,
    ring: &KeyRing,
    value: &str,
    t: u64,
) -> Result<OpenedSession, RejectReason> {
    sealer.open(ring, value, at(t))
}

#[test]
fn idle_expiry_is_exact_at_the_boundary() {
    for alg in Algorithm::ALL {
        let ring = ring(alg);
        let sealer = strict_sealer(10 * MINUTE, DAY);
        let value = sealer
            .seal(&ring, &typical_session(), at(0))
            .expect("seals");
        assert!(open_at(&sealer, &ring, &value, 10 * MINUTE).is_ok());
        assert_eq!(
            open_at(&sealer, &ring, &value, 10 * MINUTE + 1).unwrap_err(),
            RejectReason::Expired(Expiry::Idle),
            "{alg:?}"
        );
    }
}

#[test]
fn idle_expiry_is_exact_at_the_boundary_with_skew() {
    let ring = ring(Algorithm::default());
    let sealer = Sealer::new(COOKIE, policy(10 * MINUTE, DAY, 30));
    let value = sealer
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");
    let opened = open_at(&sealer, &ring, &value, 10 * MINUTE + 30).expect("within the skew");
    assert_eq!(opened.data.expires_at(), T0 + 10 * MINUTE);
    assert_eq!(
        open_at(&sealer, &ring, &value, 10 * MINUTE + 31).unwrap_err(),
        RejectReason::Expired(Expiry::Idle)
    );
}

#[test]
fn idle_expiry_follows_a_manual_clock() {
    let ring = ring(Algorithm::default());
    let sealer = strict_sealer(HOUR, DAY);
    let clock = clock();
    let value = sealer
        .seal(&ring, &typical_session(), clock.now())
        .expect("seals");
    clock.advance(secs(HOUR));
    assert!(sealer.open(&ring, &value, clock.now()).is_ok());
    clock.advance(secs(1));
    assert_eq!(
        sealer.open(&ring, &value, clock.now()).unwrap_err(),
        RejectReason::Expired(Expiry::Idle)
    );
}

#[test]
fn writes_push_idle_expiry_forward() {
    let ring = ring(Algorithm::default());
    let sealer = strict_sealer(10 * MINUTE, DAY);
    let first = sealer
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");
    let mut data = open_at(&sealer, &ring, &first, 9 * MINUTE)
        .expect("opens")
        .data;
    data.insert("theme", "light").expect("encodes");
    let second = sealer.seal(&ring, &data, at(9 * MINUTE)).expect("seals");
    assert_eq!(
        open_at(&sealer, &ring, &first, 10 * MINUTE + 1).unwrap_err(),
        RejectReason::Expired(Expiry::Idle)
    );
    let opened = open_at(&sealer, &ring, &second, 19 * MINUTE).expect("renewed by the write");
    assert_eq!(
        opened.data.created_at(),
        Some(T0),
        "a write keeps created_at"
    );
    assert_eq!(
        open_at(&sealer, &ring, &second, 19 * MINUTE + 1).unwrap_err(),
        RejectReason::Expired(Expiry::Idle)
    );
}

/// A session re-sealed every few minutes (never idle) still ends at the absolute timeout.
#[test]
fn absolute_expiry_holds_for_a_constantly_renewed_session() {
    for alg in Algorithm::ALL {
        let ring = ring(alg);
        let sealer = strict_sealer(10 * MINUTE, 2 * HOUR);
        let clock = clock();
        let mut value = sealer
            .seal(&ring, &typical_session(), clock.now())
            .expect("seals");
        let mut step = 0;
        while clock.now() < at(2 * HOUR) {
            clock.advance(secs(3 * MINUTE));
            step += 1;
            let opened = sealer
                .open(&ring, &value, clock.now())
                .expect("active session");
            assert_eq!(opened.data.created_at(), Some(T0));
            let mut data = opened.data;
            if step % 2 == 0 {
                // A write re-seals.
                data.insert("last_seen", &unix_seconds(clock.now()))
                    .expect("encodes");
            } else if clock.now() <= at(2 * HOUR - 10 * MINUTE) {
                // A read past the renew interval (2.5 min) re-seals unchanged (until the
                // idle expiry is capped by the absolute one, and renewal gains less).
                assert!(opened.needs_renewal, "{alg:?}: at step {step}");
            }
            value = sealer.seal(&ring, &data, clock.now()).expect("seals");
        }
        // The last value was sealed at T0 + 2 h; it is the absolute timeout that ends it.
        assert!(open_at(&sealer, &ring, &value, 2 * HOUR).is_ok());
        assert_eq!(
            open_at(&sealer, &ring, &value, 2 * HOUR + 1).unwrap_err(),
            RejectReason::Expired(Expiry::Absolute),
            "{alg:?}"
        );
    }
}

#[test]
fn renew_created_restarts_the_absolute_timeout() {
    let ring = ring(Algorithm::default());
    let sealer = strict_sealer(2 * HOUR, 2 * HOUR);
    let value = sealer
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");
    let data = open_at(&sealer, &ring, &value, HOUR).expect("opens").data;

    let mut written = data.clone();
    written.mark_dirty();
    let written = sealer.seal(&ring, &written, at(HOUR)).expect("seals");
    assert_eq!(
        open_at(&sealer, &ring, &written, 2 * HOUR + 1).unwrap_err(),
        RejectReason::Expired(Expiry::Absolute)
    );

    let mut logged_in = data;
    logged_in.renew_created(); // e.g. on login
    let logged_in = sealer.seal(&ring, &logged_in, at(HOUR)).expect("seals");
    let opened = open_at(&sealer, &ring, &logged_in, 2 * HOUR + 1).expect("counted from login");
    assert_eq!(opened.data.created_at(), Some(T0 + HOUR));
    assert_eq!(
        open_at(&sealer, &ring, &logged_in, 3 * HOUR + 1).unwrap_err(),
        RejectReason::Expired(Expiry::Absolute)
    );
}

#[test]
fn skew_is_tolerated_on_both_timeouts_and_both_clock_directions() {
    let ring = ring(Algorithm::default());
    let skew = 2 * MINUTE;
    let sealer = Sealer::new(COOKIE, policy(HOUR, DAY, skew));
    let value = sealer
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");

    // An opener whose clock is behind the sealer's: the value looks created in the future.
    let opened = open_at(&sealer, &ring, &value, 0).expect("same clock");
    assert!(!opened.needs_renewal);
    let behind = sealer
        .open(&ring, &value, at(0) - secs(skew))
        .expect("an opener up to `skew` behind accepts a fresh value");
    assert!(!behind.needs_renewal);

    // An opener whose clock is ahead: idle expiry waits `skew` more seconds.
    assert!(open_at(&sealer, &ring, &value, HOUR + skew).is_ok());
    assert_eq!(
        open_at(&sealer, &ring, &value, HOUR + skew + 1).unwrap_err(),
        RejectReason::Expired(Expiry::Idle)
    );

    // Absolute expiry waits `skew` more seconds as well (idle disabled to isolate it).
    let sealer = Sealer::new(COOKIE, policy(HOUR, DAY, skew).no_idle());
    let value = sealer
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");
    assert_eq!(decode_expires_at(&sealer, &ring, &value), T0 + DAY);
    assert!(open_at(&sealer, &ring, &value, DAY + skew).is_ok());
    assert_eq!(
        open_at(&sealer, &ring, &value, DAY + skew + 1).unwrap_err(),
        RejectReason::Expired(Expiry::Absolute)
    );

    // With no skew, the boundary is the timeout itself.
    let strict = Sealer::new(COOKIE, policy(HOUR, DAY, 0).no_idle());
    assert!(open_at(&strict, &ring, &value, DAY).is_ok());
    assert_eq!(
        open_at(&strict, &ring, &value, DAY + 1).unwrap_err(),
        RejectReason::Expired(Expiry::Absolute)
    );
}

fn decode_expires_at(sealer: &Sealer, ring: &KeyRing, value: &str) -> u64 {
    open_at(sealer, ring, value, 0)
        .expect("opens")
        .data
        .expires_at()
}

#[test]
fn sessions_created_before_not_before_are_revoked() {
    let ring = ring(Algorithm::default());
    let before = Sealer::new(COOKIE, policy(HOUR, DAY, 0));
    let old = before
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");
    let new = before
        .seal(&ring, &typical_session(), at(10))
        .expect("seals");

    let revoking = Sealer::new(COOKIE, policy(HOUR, DAY, 0).not_before(at(10)));
    assert_eq!(
        open_at(&revoking, &ring, &old, 20).unwrap_err(),
        RejectReason::Expired(Expiry::Revoked)
    );
    // Created exactly at `not_before`, or after: accepted.
    assert!(open_at(&revoking, &ring, &new, 20).is_ok());
    // Re-sealing (renewal or write) keeps `created_at`, so a revoked session stays revoked.
    let mut data = open_at(&before, &ring, &old, 5).expect("opens").data;
    data.mark_dirty();
    let resealed = before.seal(&ring, &data, at(15)).expect("seals");
    assert_eq!(
        open_at(&revoking, &ring, &resealed, 20).unwrap_err(),
        RejectReason::Expired(Expiry::Revoked)
    );
    // Skew does not soften a revocation.
    let skewed = Sealer::new(COOKIE, policy(HOUR, DAY, MINUTE).not_before(at(1)));
    assert_eq!(
        open_at(&skewed, &ring, &old, 20).unwrap_err(),
        RejectReason::Expired(Expiry::Revoked)
    );
}

#[test]
fn expiry_is_checked_only_after_the_tag() {
    let ring = ring(Algorithm::default());
    let sealer = strict_sealer(MINUTE, HOUR);
    let value = sealer
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");
    let mut bytes = decode(&value);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(
        open_at(&sealer, &ring, &encode(&bytes), 10 * DAY).unwrap_err(),
        RejectReason::Unauthenticated
    );
    let revoking = Sealer::new(COOKIE, policy(MINUTE, HOUR, 0).not_before(at(1)));
    assert_eq!(
        open_at(&revoking, &ring, &encode(&bytes), 10 * DAY).unwrap_err(),
        RejectReason::Unauthenticated
    );
}

#[test]
fn renewal_is_flagged_only_past_the_renew_interval() {
    let ring = ring(Algorithm::default());
    // Explicit interval.
    let sealer = Sealer::new(
        COOKIE,
        policy(10 * MINUTE, DAY, 0).renew_after(secs(2 * MINUTE)),
    );
    let value = sealer
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");
    for t in [0, 1, 2 * MINUTE - 1] {
        assert!(
            !open_at(&sealer, &ring, &value, t)
                .expect("opens")
                .needs_renewal,
            "at +{t}"
        );
    }
    for t in [2 * MINUTE, 5 * MINUTE, 10 * MINUTE] {
        assert!(
            open_at(&sealer, &ring, &value, t)
                .expect("opens")
                .needs_renewal,
            "at +{t}"
        );
    }

    // Default interval: a quarter of the idle timeout.
    let sealer = strict_sealer(20 * MINUTE, DAY);
    let value = sealer
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");
    assert!(
        !open_at(&sealer, &ring, &value, 5 * MINUTE - 1)
            .expect("opens")
            .needs_renewal
    );
    assert!(
        open_at(&sealer, &ring, &value, 5 * MINUTE)
            .expect("opens")
            .needs_renewal
    );

    // A renewed value is not flagged again until another interval has passed.
    let data = open_at(&sealer, &ring, &value, 5 * MINUTE)
        .expect("opens")
        .data;
    let renewed = sealer.seal(&ring, &data, at(5 * MINUTE)).expect("seals");
    assert!(
        !open_at(&sealer, &ring, &renewed, 10 * MINUTE - 1)
            .expect("opens")
            .needs_renewal
    );
    assert!(
        open_at(&sealer, &ring, &renewed, 10 * MINUTE)
            .expect("opens")
            .needs_renewal
    );
}

#[test]
fn renewal_is_never_flagged_when_it_gains_nothing() {
    let ring = ring(Algorithm::default());
    // No idle timeout: expires_at is the absolute end, which renewal cannot move.
    let sealer = Sealer::new(COOKIE, policy(HOUR, DAY, 0).no_idle());
    let value = sealer
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");
    for t in [0, HOUR, DAY - 1, DAY] {
        assert!(
            !open_at(&sealer, &ring, &value, t)
                .expect("opens")
                .needs_renewal,
            "at +{t}"
        );
    }
    // Close to the absolute end, the idle expiry is already capped by it.
    let sealer = strict_sealer(10 * MINUTE, HOUR);
    let value = sealer
        .seal(&ring, &typical_session(), at(0))
        .expect("seals");
    let data = open_at(&sealer, &ring, &value, 8 * MINUTE)
        .expect("opens")
        .data;
    let mut value = sealer.seal(&ring, &data, at(8 * MINUTE)).expect("seals");
    for t in (12..=52).step_by(4).map(|m| m * MINUTE) {
        let data = open_at(&sealer, &ring, &value, t).expect("opens").data;
        value = sealer.seal(&ring, &data, at(t)).expect("seals");
    }
    let opened = open_at(&sealer, &ring, &value, 58 * MINUTE).expect("opens");
    assert_eq!(opened.data.expires_at(), T0 + HOUR);
    assert!(!opened.needs_renewal);
}

#[test]
fn per_session_idle_override_persists_through_seal_and_open() {
    for alg in Algorithm::ALL {
        let ring = ring(alg);
        let sealer = strict_sealer(HOUR, DAY);
        let mut data = typical_session();
        data.set_idle_timeout(Some(secs(5 * MINUTE)));
        let value = sealer.seal(&ring, &data, at(0)).expect("seals");

        let opened = open_at(&sealer, &ring, &value, MINUTE).expect("opens");
        assert_eq!(opened.data.idle_timeout(), Some(secs(5 * MINUTE)));
        assert!(!opened.data.is_dirty());
        assert!(open_at(&sealer, &ring, &value, 5 * MINUTE).is_ok());
        assert_eq!(
            open_at(&sealer, &ring, &value, 5 * MINUTE + 1).unwrap_err(),
            RejectReason::Expired(Expiry::Idle),
            "{alg:?}: the override, not the policy's hour"
        );

        // Re-sealed without touching the override: it is still there.
        let resealed = sealer
            .seal(&ring, &opened.data, at(4 * MINUTE))
            .expect("seals");
        let reopened = open_at(&sealer, &ring, &resealed, 9 * MINUTE).expect("opens");
        assert_eq!(reopened.data.idle_timeout(), Some(secs(5 * MINUTE)));
        assert_eq!(
            open_at(&sealer, &ring, &resealed, 9 * MINUTE + 1).unwrap_err(),
            RejectReason::Expired(Expiry::Idle)
        );

        // Back to the policy.
        let mut data = reopened.data;
        data.set_idle_timeout(None);
        assert!(data.is_dirty());
        let value = sealer.seal(&ring, &data, at(9 * MINUTE)).expect("seals");
        let opened = open_at(&sealer, &ring, &value, 9 * MINUTE + HOUR).expect("policy idle");
        assert_eq!(opened.data.idle_timeout(), None);
    }
}

#[test]
fn per_session_idle_override_longer_than_the_policy_is_still_capped_by_absolute() {
    let ring = ring(Algorithm::default());
    let sealer = strict_sealer(HOUR, DAY);
    let mut data = SessionData::new();
    data.set_idle_timeout(Some(secs(30 * DAY))); // "remember me"
    let value = sealer.seal(&ring, &data, at(0)).expect("seals");
    assert!(
        open_at(&sealer, &ring, &value, 2 * HOUR).is_ok(),
        "longer than the policy idle"
    );
    assert!(open_at(&sealer, &ring, &value, DAY).is_ok());
    assert_eq!(
        open_at(&sealer, &ring, &value, DAY + 1).unwrap_err(),
        RejectReason::Expired(Expiry::Absolute)
    );
}

/// A session with a short per-session idle timeout that is only read (never written) must
/// still be renewed while it is active; otherwise it expires however busy it is.
#[test]
fn per_session_idle_override_is_renewed_while_active() {
    let ring = ring(Algorithm::default());
    // Policy: 24 h idle, so its renew interval is 6 h.
    let sealer = Sealer::new(COOKIE, ExpiryPolicy::default().skew(Duration::ZERO));
    let mut data = typical_session();
    data.set_idle_timeout(Some(secs(10 * MINUTE)));
    let mut value = sealer.seal(&ring, &data, at(0)).expect("seals");
    // Read once a minute for an hour, re-sealing only when the sealer asks for it.
    for m in 1..=60 {
        let opened = open_at(&sealer, &ring, &value, m * MINUTE)
            .unwrap_or_else(|e| panic!("active session rejected at +{m} min: {e}"));
        if opened.needs_renewal {
            value = sealer
                .seal(&ring, &opened.data, at(m * MINUTE))
                .expect("seals");
        }
    }
}

/// A per-session idle timeout (with no explicit `renew_after`) is renewed at a quarter of
/// itself, as the policy's own idle timeout is: 10 min idle renews from 150 s on, not at the
/// policy's quarter (15 min of 1 h) and not at once.
#[test]
fn per_session_idle_override_renews_at_a_quarter_of_itself() {
    let ring = ring(Algorithm::default());
    let sealer = strict_sealer(HOUR, DAY);
    let mut data = typical_session();
    data.set_idle_timeout(Some(secs(10 * MINUTE)));
    let value = sealer.seal(&ring, &data, at(0)).expect("seals");
    for t in [1, 150 - 1] {
        assert!(
            !open_at(&sealer, &ring, &value, t)
                .expect("opens")
                .needs_renewal,
            "at +{t}"
        );
    }
    for t in [150, 151, 10 * MINUTE] {
        assert!(
            open_at(&sealer, &ring, &value, t)
                .expect("opens")
                .needs_renewal,
            "at +{t}"
        );
    }
}

/// With `renew_after` set, a per-session idle timeout shorter than it still renews (at a
/// quarter of itself): `renew_after` longer than the policy's idle timeout is refused at
/// start-up for this reason, but a session's own shorter timeout was renewed only every
/// `renew_after`, so a user active every 5 minutes on read-only pages was logged out 15
/// minutes after the last write.
#[test]
fn a_session_idle_shorter_than_renew_after_renews_at_a_quarter_of_itself() {
    let ring = ring(Algorithm::default());
    let sealer = Sealer::new(COOKIE, policy(DAY, 7 * DAY, 0).renew_after(secs(HOUR)));
    let mut data = typical_session();
    data.set_idle_timeout(Some(secs(15 * MINUTE)));
    let mut value = sealer.seal(&ring, &data, at(0)).expect("seals");
    for visit in 1..=24 {
        let t = visit * 5 * MINUTE;
        let opened = open_at(&sealer, &ring, &value, t)
            .unwrap_or_else(|reason| panic!("active every 5 min, refused at +{t}: {reason}"));
        if opened.needs_renewal {
            value = sealer.seal(&ring, &opened.data, at(t)).expect("seals");
        }
    }
    // A longer own timeout still renews every `renew_after`, not at its own quarter.
    let mut data = typical_session();
    data.set_idle_timeout(Some(secs(2 * DAY)));
    let value = sealer.seal(&ring, &data, at(0)).expect("seals");
    assert!(
        !open_at(&sealer, &ring, &value, HOUR - 1)
            .unwrap()
            .needs_renewal
    );
    assert!(open_at(&sealer, &ring, &value, HOUR).unwrap().needs_renewal);
}

/// Issue 12, S7: shortening the idle timeout in the configuration must reach the cookies
/// already issued. A session sealed under a 24 h idle policy and left alone for 6 h must be
/// rejected by a layer whose policy is now 15 min, while a session written 5 min ago under
/// the same old policy is no older than the new timeout allows.
///
/// Wire format v2 seals the last write time, and the expiry is worked out at open under the
/// policy in force then (v1 sealed `expires_at`, from which the last write cannot be derived).
#[test]
fn shorter_idle_timeout_reaches_cookies_already_issued() {
    let ring = ring(Algorithm::default());
    let old = Sealer::new(COOKIE, policy(DAY, 7 * DAY, 0));
    let new = Sealer::new(COOKIE, policy(15 * MINUTE, 7 * DAY, 0));
    let idle_for_6h = old.seal(&ring, &typical_session(), at(0)).expect("seals");
    let written_5min_ago = old
        .seal(&ring, &typical_session(), at(6 * HOUR - 5 * MINUTE))
        .expect("seals");

    // The old policy still accepts it; the current one must not.
    assert!(open_at(&old, &ring, &idle_for_6h, 6 * HOUR).is_ok());
    assert_eq!(
        open_at(&new, &ring, &idle_for_6h, 6 * HOUR).unwrap_err(),
        RejectReason::Expired(Expiry::Idle),
        "idle for 6 h under a 15 min policy"
    );
    // Active under the old policy and within the new timeout: still a session.
    assert!(open_at(&new, &ring, &written_5min_ago, 6 * HOUR).is_ok());
}
