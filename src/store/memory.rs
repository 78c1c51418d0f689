//! [`MemoryStore`]: the embedded store of server mode.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::{RecordKey, SessionStore, StoreFuture, Swap};
use crate::error::StoreError;
use crate::limits::MEMORY_STORE_CAPACITY;
use crate::time::{Clock, SystemClock};

/// Sweep expired records at most once per this many saves.
const SWEEP_EVERY: u32 = 1024;

/// A full store sweeps to make room at most this often, and only once a record may have
/// expired: every refused save swept the whole map under the lock, so a client creating
/// sessions against a full store made each of its requests cost a scan of every record.
const FULL_SWEEP_INTERVAL: Duration = Duration::from_secs(1);

struct Record {
    bytes: Vec<u8>,
    deadline: SystemTime,
}

#[derive(Default)]
struct Inner {
    records: HashMap<RecordKey, Record>,
    saves_since_sweep: u32,
    /// No held record expires before this: exact after a sweep, lowered by each insert (a
    /// record overwritten or deleted since leaves it earlier than the truth, never later).
    /// `None`: nothing held since the last sweep.
    earliest: Option<SystemTime>,
    /// When the store last swept because it was full.
    full_swept_at: Option<SystemTime>,
    /// Sweeps so far (for the tests).
    sweeps: u64,
}

impl Inner {
    /// Drops every record expired at `now` and makes `earliest` exact.
    fn sweep(&mut self, now: SystemTime) {
        let mut earliest: Option<SystemTime> = None;
        self.records.retain(|_, r| {
            let live = r.deadline > now;
            if live {
                earliest = Some(earliest.map_or(r.deadline, |e| e.min(r.deadline)));
            }
            live
        });
        self.earliest = earliest;
        self.saves_since_sweep = 0;
        self.sweeps += 1;
    }

    /// Whether a full store should sweep now: a record may have expired, and the last such
    /// sweep is [`FULL_SWEEP_INTERVAL`] old (or the clock went back).
    fn full_sweep_due(&self, now: SystemTime) -> bool {
        let expired = self.earliest.is_some_and(|e| e <= now);
        let rested = self.full_swept_at.is_none_or(|t| {
            now.duration_since(t)
                .map_or(true, |since| since >= FULL_SWEEP_INTERVAL)
        });
        expired && rested
    }
}

/// An in-process store: a `HashMap` behind a mutex, records expired on read and swept every
/// 1024 saves (and, once the capacity bound is reached, when a record may have expired, at
/// most once a second: a refused save costs no scan). Records live only as long as the
/// process and are not shared between instances: for a fleet, use `RedisStore`.
///
/// It is bounded by default: at most [`MEMORY_STORE_CAPACITY`] (100,000) live records; set
/// another bound with [`capacity`](Self::capacity) (or `[store] capacity`). There is no
/// unbounded mode: anonymous clients create records at will, so a bound is always wanted;
/// `capacity(usize::MAX)` is the way to say "as many as memory holds", knowingly.
///
/// Cloning shares the same records.
///
/// ```
/// use sealed_session::store::MemoryStore;
/// assert_eq!(MemoryStore::new().capacity_bound(), sealed_session::limits::MEMORY_STORE_CAPACITY);
/// let store = MemoryStore::new().capacity(10_000);
/// assert_eq!((store.len(), store.capacity_bound()), (0, 10_000));
/// ```
#[derive(Clone)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
    capacity: usize,
    clock: Arc<dyn Clock>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("records", &self.len())
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// An empty store bounded at [`MEMORY_STORE_CAPACITY`] records.
    #[must_use]
    pub fn new() -> Self {
        MemoryStore {
            inner: Arc::default(),
            capacity: MEMORY_STORE_CAPACITY,
            clock: Arc::new(SystemClock),
        }
    }

    /// Refuses new records (with [`StoreError::Full`], answered as a 503) once `capacity`
    /// live records are held (default [`MEMORY_STORE_CAPACITY`]). Existing sessions keep
    /// working.
    #[must_use]
    pub fn capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The most live records held.
    #[must_use]
    pub fn capacity_bound(&self) -> usize {
        self.capacity
    }

    /// Uses `clock` for expiry (tests).
    #[must_use]
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Number of records held (expired ones not yet swept included).
    #[must_use]
    pub fn len(&self) -> usize {
        self.lock().records.len()
    }

    /// Whether no record is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn load_now(&self, key: &RecordKey) -> Option<Vec<u8>> {
        let now = self.clock.now();
        let mut inner = self.lock();
        match inner.records.get(key) {
            Some(r) if r.deadline > now => Some(r.bytes.clone()),
            Some(_) => {
                inner.records.remove(key);
                None
            }
            None => None,
        }
    }

    fn save_now(&self, key: &RecordKey, record: &[u8], ttl: Duration) -> Result<(), StoreError> {
        let mut inner = self.lock();
        self.save_locked(&mut inner, key, record, ttl)
    }

    /// Compare and swap under the one lock: atomic with every other call.
    fn swap_now(
        &self,
        key: &RecordKey,
        expected: Option<&[u8]>,
        new: Option<&[u8]>,
        ttl: Duration,
    ) -> Result<Swap, StoreError> {
        let now = self.clock.now();
        let mut inner = self.lock();
        let current = inner
            .records
            .get(key)
            .filter(|r| r.deadline > now)
            .map(|r| r.bytes.as_slice());
        if current != expected {
            return Ok(Swap::Changed(current.map(<[u8]>::to_vec)));
        }
        match new {
            Some(record) => self.save_locked(&mut inner, key, record, ttl)?,
            None => {
                inner.records.remove(key);
            }
        }
        Ok(Swap::Done)
    }

    fn save_locked(
        &self,
        inner: &mut Inner,
        key: &RecordKey,
        record: &[u8],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let deadline = now
            .checked_add(ttl)
            .unwrap_or(now + Duration::from_secs(u64::from(u32::MAX)));
        inner.saves_since_sweep += 1;
        let full = |inner: &Inner| {
            inner.records.len() >= self.capacity && !inner.records.contains_key(key)
        };
        if inner.saves_since_sweep >= SWEEP_EVERY {
            inner.sweep(now);
        } else if full(inner) && inner.full_sweep_due(now) {
            inner.sweep(now);
            inner.full_swept_at = Some(now);
        }
        if full(inner) {
            return Err(StoreError::Full {
                capacity: self.capacity,
            });
        }
        inner.earliest = Some(inner.earliest.map_or(deadline, |e| e.min(deadline)));
        inner.records.insert(
            *key,
            Record {
                bytes: record.to_vec(),
                deadline,
            },
        );
        Ok(())
    }
}

impl SessionStore for MemoryStore {
    fn load<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        let r = self.load_now(key);
        Box::pin(std::future::ready(Ok(r)))
    }

    fn save<'a>(
        &'a self,
        key: &'a RecordKey,
        record: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        let r = self.save_now(key, record, ttl);
        Box::pin(std::future::ready(r))
    }

    fn delete<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, ()> {
        self.lock().records.remove(key);
        Box::pin(std::future::ready(Ok(())))
    }

    fn compare_and_swap<'a>(
        &'a self,
        key: &'a RecordKey,
        expected: Option<&'a [u8]>,
        new: Option<&'a [u8]>,
        ttl: Duration,
    ) -> StoreFuture<'a, Swap> {
        let r = self.swap_now(key, expected, new, ttl);
        Box::pin(std::future::ready(r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ManualClock;

    fn block<T>(f: StoreFuture<'_, T>) -> Result<T, StoreError> {
        let mut f = f;
        let waker = std::task::Waker::noop();
        match f.as_mut().poll(&mut std::task::Context::from_waker(waker)) {
            std::task::Poll::Ready(r) => r,
            std::task::Poll::Pending => panic!("memory store futures are ready at once"),
        }
    }

    #[test]
    fn expires_after_ttl_and_sweeps_at_capacity() {
        let clock = ManualClock::at_unix(1000);
        let store = MemoryStore::new().capacity(2).clock(clock.clone());
        let (a, b, c) = (
            RecordKey::of_id(&[1; 16]),
            RecordKey::of_id(&[2; 16]),
            RecordKey::of_id(&[3; 16]),
        );
        block(store.save(&a, b"a", Duration::from_secs(10))).unwrap();
        block(store.save(&b, b"b", Duration::from_secs(100))).unwrap();
        assert!(matches!(
            block(store.save(&c, b"c", Duration::from_secs(10))),
            Err(StoreError::Full { capacity: 2 })
        ));
        // Overwriting an existing record is fine at capacity.
        block(store.save(&b, b"b2", Duration::from_secs(100))).unwrap();
        clock.advance(Duration::from_secs(10));
        assert_eq!(block(store.load(&a)).unwrap(), None);
        block(store.save(&c, b"c", Duration::from_secs(10))).unwrap();
        assert_eq!(store.len(), 2);
        assert_eq!(block(store.load(&b)).unwrap().as_deref(), Some(&b"b2"[..]));
    }

    /// A full store refuses new records without scanning them all each time: it sweeps only
    /// once a record may have expired, at most once per `FULL_SWEEP_INTERVAL`, and then
    /// takes the room expiry made. (Every refused save used to sweep the whole map under
    /// the lock.)
    #[test]
    fn a_full_store_sweeps_only_when_a_record_may_have_expired() {
        let clock = ManualClock::at_unix(1000);
        let store = MemoryStore::new().capacity(100).clock(clock.clone());
        let key = |i: u32| {
            let mut id = [0xA5; 16];
            id[..4].copy_from_slice(&i.to_le_bytes());
            RecordKey::of_id(&id)
        };
        for i in 0..100 {
            let ttl = Duration::from_secs(60 + u64::from(i));
            block(store.save(&key(i), b"r", ttl)).unwrap();
        }
        let sweeps = || store.lock().sweeps;
        let full = |i: u32| {
            matches!(
                block(store.save(&key(i), b"r", Duration::from_mins(1))),
                Err(StoreError::Full { capacity: 100 })
            )
        };
        for i in 100..600 {
            assert!(full(i));
        }
        assert_eq!(sweeps(), 0, "no record can have expired yet");
        // The first record expires: one sweep makes room for one.
        clock.advance(Duration::from_mins(1));
        assert!(!full(1000));
        assert_eq!(sweeps(), 1);
        assert!(full(1001));
        assert_eq!(sweeps(), 1, "the next record has not expired");
        // The next one expires a second later: one more sweep, one more room.
        clock.advance(Duration::from_secs(1));
        assert!(!full(1002));
        assert!(full(1003));
        assert_eq!(sweeps(), 2);
        assert_eq!(store.len(), 100);
        // Ten records expired at once: one sweep (not one per save) frees all ten.
        clock.advance(Duration::from_secs(10));
        for i in 0..10 {
            assert!(!full(3000 + i));
        }
        assert!(full(3010));
        assert_eq!(sweeps(), 3);
        // Refused saves count towards the periodic sweep: one per `SWEEP_EVERY` saves.
        let before = sweeps();
        for i in 2000..2000 + SWEEP_EVERY {
            full(i);
        }
        assert!(sweeps() - before <= 2, "{}", sweeps() - before);
    }

    /// A store that never fills still drops expired records: one sweep per `SWEEP_EVERY`
    /// saves.
    #[test]
    fn expired_records_are_swept_every_sweep_every_saves() {
        let clock = ManualClock::at_unix(1000);
        let store = MemoryStore::new().clock(clock.clone());
        let key = |i: u32| {
            let mut id = [0x5A; 16];
            id[..4].copy_from_slice(&i.to_le_bytes());
            RecordKey::of_id(&id)
        };
        block(store.save(&key(0), b"short", Duration::from_secs(1))).unwrap();
        clock.advance(Duration::from_secs(2));
        for i in 1..SWEEP_EVERY {
            block(store.save(&key(i), b"r", Duration::from_hours(1))).unwrap();
        }
        assert_eq!(store.lock().sweeps, 1);
        // The expired record went with the sweep, not with a read.
        assert_eq!(store.len(), usize::try_from(SWEEP_EVERY - 1).unwrap());
    }

    /// A TTL past what `SystemTime` can hold saves a record that lives (about 136 years),
    /// not one that is already expired.
    #[test]
    fn a_ttl_past_the_end_of_time_keeps_the_record() {
        let store = MemoryStore::new();
        let key = RecordKey::of_id(&[7; 16]);
        block(store.save(&key, b"r", Duration::MAX)).unwrap();
        assert_eq!(block(store.load(&key)).unwrap().as_deref(), Some(&b"r"[..]));
    }

    #[test]
    fn compare_and_swap_writes_only_onto_the_expected_record() {
        let store = MemoryStore::new();
        let (k, ttl) = (RecordKey::of_id(&[1; 16]), Duration::from_secs(10));
        let swap = |expected: Option<&[u8]>, new: Option<&[u8]>| {
            block(store.compare_and_swap(&k, expected, new, ttl)).unwrap()
        };
        // Absent: only `expected = None` matches.
        assert_eq!(swap(Some(&b"x"[..]), Some(&b"a"[..])), Swap::Changed(None));
        assert_eq!(store.len(), 0);
        assert_eq!(swap(None, Some(&b"a"[..])), Swap::Done);
        // Present: a stale expectation gets the current bytes and changes nothing.
        assert_eq!(
            swap(None, Some(&b"b"[..])),
            Swap::Changed(Some(b"a".to_vec()))
        );
        assert_eq!(
            swap(Some(&b"x"[..]), Some(&b"b"[..])),
            Swap::Changed(Some(b"a".to_vec()))
        );
        assert_eq!(block(store.load(&k)).unwrap().as_deref(), Some(&b"a"[..]));
        assert_eq!(swap(Some(&b"a"[..]), Some(&b"b"[..])), Swap::Done);
        assert_eq!(block(store.load(&k)).unwrap().as_deref(), Some(&b"b"[..]));
        // Delete only when still expected.
        assert_eq!(
            swap(Some(&b"a"[..]), None),
            Swap::Changed(Some(b"b".to_vec()))
        );
        assert_eq!(swap(Some(&b"b"[..]), None), Swap::Done);
        assert_eq!(block(store.load(&k)).unwrap(), None);
    }

    #[test]
    fn compare_and_swap_treats_an_expired_record_as_absent_and_keeps_the_capacity_bound() {
        let clock = ManualClock::at_unix(1000);
        let store = MemoryStore::new().capacity(1).clock(clock.clone());
        let (a, b, ttl) = (
            RecordKey::of_id(&[1; 16]),
            RecordKey::of_id(&[2; 16]),
            Duration::from_secs(10),
        );
        block(store.save(&a, b"a", ttl)).unwrap();
        assert!(matches!(
            block(store.compare_and_swap(&b, None, Some(&b"b"[..]), ttl)),
            Err(StoreError::Full { capacity: 1 })
        ));
        clock.advance(ttl);
        assert_eq!(
            block(store.compare_and_swap(&a, Some(&b"a"[..]), Some(&b"a2"[..]), ttl)).unwrap(),
            Swap::Changed(None)
        );
        assert_eq!(
            block(store.compare_and_swap(&a, None, Some(&b"a3"[..]), ttl)).unwrap(),
            Swap::Done
        );
        assert_eq!(block(store.load(&a)).unwrap().as_deref(), Some(&b"a3"[..]));
    }

    #[test]
    fn record_keys_hash_the_id() {
        let k = RecordKey::of_id(&[0; 16]);
        assert_eq!(k.to_hex().len(), 64);
        assert_ne!(k, RecordKey::of_id(&[1; 16]));
        assert!(!format!("{k:?}").contains(&k.to_hex()));
    }
}
