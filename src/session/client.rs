//! Client mode: the session lives in the cookie, sealed.

use super::{CookieOp, Inner, Outcome};
use crate::cookies::Candidates;
use crate::error::Error;

impl Inner {
    /// Opens the first candidate that authenticates and is live; every other one is traced
    /// with its reason. At most [`MAX_CANDIDATES`](crate::limits::MAX_CANDIDATES) opens.
    pub(super) fn open(&mut self, candidates: &Candidates) {
        let Some(live) = self.live() else {
            return;
        };
        let now = self.now();
        for value in candidates.values() {
            match live.sealer.open(&live.ring, value, now) {
                Ok(opened) => {
                    self.data = opened.data;
                    self.had_valid = true;
                    self.had_invalid = false;
                    self.needs_reseal = opened.needs_reseal;
                    self.needs_renewal = opened.needs_renewal;
                    if opened.needs_reseal {
                        tracing::debug!(
                            key_id = opened.key_id.0,
                            "session sealed with a non-primary key; re-sealing"
                        );
                    }
                    return;
                }
                Err(reason) => self.rejected(reason),
            }
        }
    }

    /// The cookie the response must send: nothing when unchanged, a removal for an emptied
    /// session, else the session sealed anew.
    pub(super) fn outcome_client(&mut self) -> Result<Outcome, Error> {
        let present = self.present;
        let keep = Outcome::cookie(CookieOp::Keep, present);
        if self.engine.is_none() {
            return Ok(keep);
        }
        if self.data.is_empty() {
            // Empty sessions are never sent; a cookie that came in is removed.
            let op = if self.had_cookie() {
                CookieOp::Remove
            } else {
                CookieOp::Keep
            };
            return Ok(Outcome::cookie(op, present));
        }
        if !(self.data.is_dirty() || self.needs_reseal || self.needs_renewal) {
            return Ok(keep);
        }
        let Some(live) = self.live() else {
            return Ok(keep);
        };
        let now = self.now();
        let value = live.sealer.seal_data(&live.ring, &mut self.data, now)?;
        let lifetime = self.cookie_lifetime(now);
        Ok(Outcome::cookie(CookieOp::Set { value, lifetime }, present))
    }
}
