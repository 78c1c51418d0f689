//! [`Engine`]: everything a layer shares with each of its requests, in one place.

use std::sync::Arc;
use std::time::SystemTime;

use crate::config::{LoadPolicy, SessionConfig};
use crate::cookies::{Candidates, CookieSettings, OversizePolicy, RawCookies};
use crate::keys::KeyRing;
use crate::reload::{KeyRingHandle, Live};
use crate::seal::Sealer;
use crate::store::{SharedStore, StoreHealth};
use crate::time::{Clock, SystemClock};

use super::merge::Turnstile;
use super::validator::Revalidation;

/// The cookie settings, the live key ring and sealer (with the expiry policy, reloaded
/// together), the clock, the store (server mode) and the oversize policy of one layer. A
/// layer holds it in an `Arc`; builder methods clone it, change one field and make a new
/// layer.
#[derive(Clone)]
pub(crate) struct Engine {
    pub cookie: CookieSettings,
    pub keys: KeyRingHandle,
    pub clock: Arc<dyn Clock>,
    /// `Some`: server mode, the cookie carries a sealed id of a record in this store.
    pub store: Option<SharedStore>,
    /// Server mode: when the record is loaded.
    pub load: LoadPolicy,
    pub oversize: OversizePolicy,
    /// `Some`: sessions with an auth stamp are checked against the application this often.
    pub revalidate: Option<Revalidation>,
    /// Server mode: saves of one record, one at a time (shared by every copy of the engine).
    pub turnstile: Arc<Turnstile>,
    /// Reports a store outage once, and its end.
    pub health: Arc<StoreHealth>,
}

impl Engine {
    /// The engine of a validated `config` and its key ring, with the system clock.
    pub fn new(config: &SessionConfig, ring: KeyRing, store: Option<SharedStore>) -> Self {
        let cookie = CookieSettings::new(&config.cookie);
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let sealer = Sealer::new(cookie.name.clone(), config.expiry.policy())
            .max_len(cookie.max_value_len());
        Engine {
            keys: KeyRingHandle::new(ring, sealer, config, clock.clone()),
            cookie,
            clock,
            store,
            load: config.store.load,
            oversize: OversizePolicy::default(),
            revalidate: None,
            turnstile: Arc::default(),
            health: Arc::default(),
        }
    }

    /// The same engine reading another clock (the key ring handle too).
    pub fn with_clock(&self, clock: Arc<dyn Clock>) -> Self {
        Engine {
            keys: self.keys.with_clock(clock.clone()),
            clock,
            ..self.clone()
        }
    }

    pub fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// The key ring and sealer in use now (a request takes them once and keeps them).
    pub fn live(&self) -> Arc<Live> {
        self.keys.live()
    }

    /// Our candidate values in the request's `Cookie` headers: the one place either mode
    /// parses them.
    pub fn candidates<'r>(&self, raw: &'r RawCookies) -> Candidates<'r> {
        self.cookie.candidates(raw)
    }
}
