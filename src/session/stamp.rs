//! Per-user revocation (Django's session auth hash, ASP.NET's security stamp): the session
//! carries the user's *stamp* as of login; the layer asks the application for the current one
//! at most once per interval, and a mismatch ends the session.
//!
//! A client-mode cookie cannot be deleted by the server: without this, a stolen cookie works
//! until it expires, whatever the user does. With it, changing the user's stamp (on a password
//! change, "log out everywhere", an account lock) ends every session of that user, in either
//! mode, within one interval:
//!
//! - at login the application calls [`Session::set_auth_stamp`]`(user_id, stamp)`: the pair is
//!   kept under the reserved key [`AUTH_KEY`], and the time of the check (the login itself)
//!   is sealed into the session's header (`validated_at`);
//! - the layer is given a [`StampValidator`] (any `Fn(String) -> impl Future<Output =
//!   Result<Option<String>, E>>`) and an interval with
//!   [`SessionLayer::revalidate`](crate::SessionLayer::revalidate);
//! - on a request whose session has a stamp last checked an interval ago or more, the
//!   validator is awaited *before* the handler runs (the call alone is boxed); the same stamp
//!   seals the new check time into the session, another one (or `None`: no such user)
//!   flushes it, and an error answers 503 (the session is kept for when the validator is back);
//! - requests inside the interval make no validator call and cost nothing more: the check time
//!   travels in the sealed value, so no store is needed in between.
//!
//! # Example
//! ```
//! use sealed_session::session::AuthStamp;
//! use sealed_session::Session;
//! let session = Session::detached();
//! // POST /login, after checking the password: the user's current stamp from the database.
//! session.cycle();
//! session.set_auth_stamp("42", "pw-change-3")?;
//! assert_eq!(
//!     session.auth_stamp()?,
//!     Some(AuthStamp { user: "42".into(), stamp: "pw-change-3".into() })
//! );
//! # Ok::<(), sealed_session::DataError>(())
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::validator::{Revalidation, StampFuture};
use super::Session;
use crate::data::SessionData;
use crate::error::DataError;
use crate::time::unix_seconds;

/// The session key the user id and stamp are kept under. Applications must not use it for
/// their own values.
pub const AUTH_KEY: &str = "_auth";

/// What [`Session::set_auth_stamp`] stores: whose session it is and the user's stamp at login.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthStamp {
    /// The user id the validator is asked about.
    pub user: String,
    /// The stamp as of login: any string that changes when the user's sessions must end (a
    /// counter bumped on password change and on "log out everywhere", a hash of the password
    /// hash as Django does, a random value stored with the user).
    pub stamp: String,
}

/// A check the response future must await before the handler runs.
pub(crate) struct StampCheck {
    pub user: String,
    pub current: StampFuture,
}

impl Session {
    /// Records whose session this is and the user's current stamp (call it at login, after
    /// [`cycle`](Self::cycle)), and the time of this check. With
    /// [`SessionLayer::revalidate`](crate::SessionLayer::revalidate) the layer compares the
    /// stamp with the user's current one at most once per interval and flushes the session
    /// when they differ. Kept under [`AUTH_KEY`].
    ///
    /// # Errors
    /// [`DataError::Encode`] never in practice.
    pub fn set_auth_stamp(
        &self,
        user: impl Into<String>,
        stamp: impl Into<String>,
    ) -> Result<(), DataError> {
        let mut inner = self.loaded();
        let now = unix_seconds(inner.now());
        let value = AuthStamp {
            user: user.into(),
            stamp: stamp.into(),
        };
        inner.data.insert(AUTH_KEY, &value)?;
        inner.data.set_validated_at(now);
        Ok(())
    }

    /// The user id and stamp recorded by [`set_auth_stamp`](Self::set_auth_stamp), if any.
    ///
    /// # Errors
    /// [`DataError::Decode`] when something else was stored under [`AUTH_KEY`].
    pub fn auth_stamp(&self) -> Result<Option<AuthStamp>, DataError> {
        self.loaded().data.get(AUTH_KEY)
    }

    /// The check due for this request, if any: the session has a stamp last checked `every`
    /// ago or more (or never). Opens a client-mode cookie without marking the session
    /// accessed: a session without a stamp, or checked recently, is left as the handler
    /// leaves it.
    pub(crate) fn stamp_check_due(&self, every: Duration) -> Option<String> {
        let mut inner = self.lock();
        inner.with_candidates(|inner, candidates| {
            if inner.server.is_none() {
                inner.open(candidates);
            }
        });
        if !inner.data.contains(AUTH_KEY) {
            return None;
        }
        let now = unix_seconds(inner.now());
        let due = inner
            .data
            .validated_at
            .is_none_or(|at| now.saturating_sub(at) >= every.as_secs());
        if !due {
            return None;
        }
        if let Ok(Some(AuthStamp { user, .. })) = inner.data.get::<AuthStamp>(AUTH_KEY) {
            return Some(user);
        }
        // Something else under the reserved key: no user to ask about, so no session.
        tracing::info!("session auth stamp unreadable; session flushed");
        inner.flush_for_stamp();
        None
    }

    /// Applies the validator's answer about `user`: the same stamp seals the check time now,
    /// anything else (another stamp, no such user) flushes the session.
    pub(crate) fn apply_stamp_check(&self, user: &str, current: Option<&str>) {
        let mut inner = self.lock();
        let stored = inner.data.get::<AuthStamp>(AUTH_KEY).ok().flatten();
        let valid = stored.is_some_and(|s| s.user == user && Some(s.stamp.as_str()) == current);
        if valid {
            let now = unix_seconds(inner.now());
            inner.data.set_validated_at(now);
            inner.accessed = true;
        } else {
            tracing::info!(
                user_exists = current.is_some(),
                "session auth stamp no longer matches the user's; session flushed"
            );
            inner.flush_for_stamp();
        }
    }
}

impl super::Inner {
    /// Ends the session as [`Session::flush`] does (the response removes the cookie, server
    /// mode deletes the record).
    fn flush_for_stamp(&mut self) {
        self.accessed = true;
        self.retire_id();
        self.ended = true;
        self.data = SessionData::new();
        self.data.mark_dirty();
    }
}

impl Session {
    /// The check `revalidation` asks for this session now, if one is due, with the
    /// validator's call started (boxed).
    pub(crate) fn stamp_check(&self, revalidation: &Revalidation) -> Option<StampCheck> {
        let user = self.stamp_check_due(revalidation.every)?;
        let current = revalidation.validator.current_stamp(&user);
        Some(StampCheck { user, current })
    }
}
