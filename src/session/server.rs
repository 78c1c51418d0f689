//! Server mode: the cookie carries a sealed random id; the session lives in the store under
//! the id's [`RecordKey`]. The id is checked before any store call (one AEAD open, so a forged
//! id never reaches the store), the record is loaded before the handler runs (or, with
//! [`LoadPolicy::Lazy`](crate::config::LoadPolicy), when the handler calls
//! [`Session::load`]), and the store calls are made before the response leaves.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::merge::{record_ttl, Merge, Save};
use super::{CookieOp, Engine, Inner, Outcome, ServerState, Session, StoreOps};
use crate::cookies::Candidates;
use crate::error::Error;
use crate::metrics::{self, StoreOp};
use crate::reload::Live;
use crate::seal::{SessionId, ID_LEN};
use crate::store::{RecordKey, SharedStore};

impl Session {
    /// Loads the session's record now if it is not loaded yet: what the axum `Session`
    /// extractor does, and what a tower handler calls first in server mode with
    /// [`LoadPolicy::Lazy`](crate::config::LoadPolicy). Without a store (client mode), or once
    /// loaded, it does nothing.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let session = sealed_session::Session::detached();
    /// session.load().await?;
    /// # Ok::<(), sealed_session::StoreError>(()) }).unwrap();
    /// ```
    ///
    /// # Errors
    /// The store's error; the session stays unloaded (it reads as empty and is not written
    /// back), and the request should be answered 503 (the axum extractor does).
    pub async fn load(&self) -> Result<(), crate::error::StoreError> {
        let (store, health, key) = {
            let mut inner = self.lock();
            match &inner.server {
                Some(server) if !server.loaded => {}
                _ => return Ok(()),
            }
            let Some(engine) = inner.engine.clone() else {
                return Ok(());
            };
            let Some(store) = engine.store.clone() else {
                return Ok(());
            };
            // An earlier call opened the id and its store call failed (or another clone's
            // call is still waiting): the request's cookies are spent, so the id it opened is
            // what this call loads. Opening again would find no cookie, take the session for
            // a new one, and let its first write replace the stored record.
            let opened = inner.server.as_ref().and_then(|s| s.id);
            match opened
                .map(|id| RecordKey::of_id(&id))
                .or_else(|| inner.open_id())
            {
                Some(key) => (store, engine.health.clone(), key),
                None => return Ok(()),
            }
        };
        // Outages are reported here, once (the extractor's 503 logs them at `debug`).
        let record = match metrics::store_call(StoreOp::Load, store.load(&key)).await {
            Ok(record) => {
                health.answered();
                record
            }
            Err(e) => {
                health.failed(&e);
                return Err(e);
            }
        };
        let mut inner = self.lock();
        if inner.server.as_ref().is_some_and(|s| !s.loaded) {
            inner.apply_record(record);
        }
        Ok(())
    }

    /// Server mode with lazy loading: the record is not loaded yet ([`load`](Self::load)
    /// would make a store call).
    pub(crate) fn needs_load(&self) -> bool {
        let inner = self.lock();
        inner.server.as_ref().is_some_and(|s| !s.loaded)
            && inner.engine.as_ref().is_some_and(|e| e.store.is_some())
    }

    /// Server mode: opens the id cookie now and returns the key of the record to load, if a
    /// valid id arrived (otherwise the session is loaded: there is nothing to load).
    pub(crate) fn open_id(&self) -> Option<RecordKey> {
        self.lock().open_id()
    }

    /// Installs the record loaded for the id (`None`: there was none).
    pub(crate) fn apply_record(&self, record: Option<Vec<u8>>) {
        self.lock().apply_record(record);
    }
}

impl Inner {
    fn open_id(&mut self) -> Option<RecordKey> {
        let key = self.open_id_inner();
        if key.is_none() {
            if let Some(server) = &mut self.server {
                server.loaded = true;
            }
        }
        key
    }

    fn open_id_inner(&mut self) -> Option<RecordKey> {
        self.server.as_ref()?;
        self.with_candidates(Self::open_id_of).flatten()
    }

    /// The record key of the first candidate that opens as an id cookie.
    fn open_id_of(&mut self, candidates: &Candidates<'_>) -> Option<RecordKey> {
        let live = self.live()?;
        let now = self.now();
        for value in candidates.values() {
            match live.sealer.open_id(&live.ring, value, now) {
                Ok((id, needs_reseal)) => {
                    self.had_invalid = false;
                    self.needs_reseal = needs_reseal;
                    self.server.as_mut()?.id = Some(id);
                    return Some(RecordKey::of_id(&id));
                }
                Err(reason) => self.rejected(reason),
            }
        }
        None
    }

    fn apply_record(&mut self, record: Option<Vec<u8>>) {
        if let Some(server) = &mut self.server {
            server.loaded = true;
        }
        let Some(live) = self.live() else {
            return;
        };
        let Some(id) = self.server.as_ref().and_then(|s| s.id) else {
            return;
        };
        let key = RecordKey::of_id(&id);
        let now = self.now();
        let checked = record.ok_or(None).and_then(|r| {
            live.sealer
                .open_record(&live.ring, key.as_bytes(), &r, now)
                .map(|opened| (opened, r))
                .map_err(Some)
        });
        match checked {
            Ok(((data, renew), record)) => {
                self.data = data;
                self.had_valid = true;
                self.needs_renewal = renew;
                if let Some(server) = &mut self.server {
                    server.record = Some(record);
                }
            }
            Err(reason) => {
                // No record (expired, deleted, revoked) or an unusable one: a new session
                // with a new id; the old id is never reused.
                if let Some(reason) = reason {
                    super::trace_rejection(reason);
                }
                tracing::debug!("no live record for the session id; starting a new session");
                self.retire_id();
                self.had_invalid = true;
                self.needs_reseal = false;
            }
        }
    }

    /// Server mode: the current id will be deleted and a new one issued on the next write.
    pub(super) fn retire_id(&mut self) {
        if let Some(server) = &mut self.server {
            if let Some(id) = server.id.take() {
                server.delete.push(RecordKey::of_id(&id));
            }
        }
    }

    /// What merging this request's changes onto a newer record needs, if its record was
    /// loaded.
    fn merge(&mut self, engine: &Engine, live: Arc<Live>, now: SystemTime) -> Option<Merge> {
        let expected = self.server.as_mut()?.record.take()?;
        Some(Merge {
            expected,
            patch: self.data.patch(),
            live,
            now,
            turnstile: engine.turnstile.clone(),
            browser_session_default: engine.cookie.browser_session(),
        })
    }

    /// A loaded session emptied by removals: delete its record unless written meanwhile.
    fn outcome_emptied(
        &mut self,
        store: SharedStore,
        engine: &Engine,
        live: Arc<Live>,
        now: SystemTime,
    ) -> Outcome {
        let merge = self.merge(engine, live, now);
        let server = self.server.get_or_insert_with(ServerState::default);
        let id = server.id.take().unwrap_or_default();
        let save = Save {
            key: RecordKey::of_id(&id),
            record: None,
            ttl: Duration::ZERO,
            merge,
        };
        Outcome {
            cookie: CookieOp::Remove,
            store: Some(StoreOps {
                store,
                delete: std::mem::take(&mut server.delete),
                save: Some(save),
            }),
            present: self.present,
        }
    }

    /// The store calls and the id cookie the response needs.
    pub(super) fn outcome_server(&mut self) -> Result<Outcome, Error> {
        let present = self.present;
        let keep = Outcome::cookie(CookieOp::Keep, present);
        if self
            .server
            .as_ref()
            .is_some_and(|s| s.used_unloaded || !s.loaded)
        {
            // Used before it was loaded (lazy loading): what the handler saw was not the
            // stored session, so nothing of it may overwrite the record or the cookie.
            return Ok(keep);
        }
        let (Some(engine), Some(live)) = (self.engine.clone(), self.live()) else {
            return Ok(keep);
        };
        let Some(store) = engine.store.clone() else {
            return Ok(keep);
        };
        let now = self.now();
        let emptied = self.data.is_empty()
            && (self.server.as_ref()).is_some_and(|s| s.id.is_some() && s.record.is_some());
        if emptied {
            // Emptied by removals (`flush` and `cycle` retire the id first): the record is
            // deleted only if nobody wrote it meanwhile; otherwise these removals are merged
            // onto the newer record.
            return Ok(self.outcome_emptied(store, &engine, live, now));
        }
        if self.data.is_empty() {
            self.retire_id();
        }
        let server = self.server.get_or_insert_with(ServerState::default);
        let delete = std::mem::take(&mut server.delete);
        if self.data.is_empty() {
            let cookie = if present.is_empty() {
                CookieOp::Keep
            } else {
                CookieOp::Remove
            };
            return Ok(Outcome {
                cookie,
                store: (!delete.is_empty()).then_some(StoreOps {
                    store,
                    delete,
                    save: None,
                }),
                present,
            });
        }
        let new_id = server.id.is_none();
        // A re-seal of the id cookie (a key rotation) writes the record too, through the
        // compare-and-swap: a cookie is only sent for a record still there. Without the
        // write, a re-seal racing a `cycle` (a login) of the same session handed the deleted
        // pre-login id back to the browser, which keeps the last cookie: logged out just
        // after logging in. Once per session and rotation; the record is re-sealed under the
        // new key with it.
        let write = new_id || self.data.is_dirty() || self.needs_renewal || self.needs_reseal;
        let id = match server.id {
            Some(id) => id,
            None => *server.id.insert(new_session_id()?),
        };
        let save = if write {
            let key = RecordKey::of_id(&id);
            let merge = if new_id {
                None
            } else {
                self.merge(&engine, live.clone(), now)
            };
            let record =
                live.sealer
                    .seal_record(&live.ring, key.as_bytes(), &mut self.data, now)?;
            let ttl = record_ttl(&self.data, &live.sealer, now);
            Some(Save {
                key,
                record: Some(record),
                ttl,
                merge,
            })
        } else {
            None
        };
        // The cookie's `Max-Age` follows the record's expiry: whenever the record is written
        // (its idle expiry moves on), the cookie goes out again with the new lifetime, as a
        // client-mode cookie does on every write. Without it, a user who writes more often
        // than the renewal interval is never sent the cookie again, and the browser drops it
        // one idle timeout after the last one it got, while the record lives on.
        let cookie = if write {
            CookieOp::Set {
                value: live.sealer.seal_id(&live.ring, &id, now)?,
                lifetime: self.cookie_lifetime(now),
            }
        } else {
            CookieOp::Keep
        };
        let store = (save.is_some() || !delete.is_empty()).then_some(StoreOps {
            store,
            delete,
            save,
        });
        Ok(Outcome {
            cookie,
            store,
            present,
        })
    }
}

/// 128 bits from the operating system's generator (never a user-space generator whose state
/// a `fork` or VM snapshot could duplicate).
fn new_session_id() -> Result<SessionId, Error> {
    let mut id = [0u8; ID_LEN];
    getrandom::fill(&mut id).map_err(|_| Error::Seal)?;
    Ok(id)
}
