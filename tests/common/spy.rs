//! [`Spy`]: a memory store that counts loads and remembers the key of every record saved.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sealed_session::store::{MemoryStore, RecordKey, SessionStore, StoreError, StoreFuture, Swap};

/// A `MemoryStore` (reachable as `inner`) whose calls are counted. Clones share everything.
#[derive(Clone, Default)]
pub struct Spy {
    pub inner: MemoryStore,
    pub saved: Arc<Mutex<Vec<RecordKey>>>,
    pub loads: Arc<AtomicUsize>,
    /// This many of the next loads fail with `StoreError::Unavailable` (an outage).
    pub failing_loads: Arc<AtomicUsize>,
    /// This many of the next writes (`save`, `compare_and_swap`) fail alike.
    pub failing_writes: Arc<AtomicUsize>,
}

/// Takes one from `count` if it is not zero: whether this call is one that fails.
fn take_one(count: &AtomicUsize) -> bool {
    count
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

fn outage<'a, T>() -> StoreFuture<'a, T> {
    Box::pin(async { Err(StoreError::Unavailable("injected outage".into())) })
}

impl SessionStore for Spy {
    fn load<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.loads.fetch_add(1, Ordering::SeqCst);
        if take_one(&self.failing_loads) {
            return outage();
        }
        self.inner.load(key)
    }
    fn save<'a>(
        &'a self,
        key: &'a RecordKey,
        record: &'a [u8],
        ttl: Duration,
    ) -> StoreFuture<'a, ()> {
        if take_one(&self.failing_writes) {
            return outage();
        }
        self.saved.lock().unwrap().push(*key);
        self.inner.save(key, record, ttl)
    }
    fn delete<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, ()> {
        self.inner.delete(key)
    }
    /// Counted as a save when it writes a record.
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a RecordKey,
        expected: Option<&'a [u8]>,
        new: Option<&'a [u8]>,
        ttl: Duration,
    ) -> StoreFuture<'a, Swap> {
        if take_one(&self.failing_writes) {
            return outage();
        }
        if new.is_some() {
            self.saved.lock().unwrap().push(*key);
        }
        self.inner.compare_and_swap(key, expected, new, ttl)
    }
}

impl Spy {
    /// The key of the last record saved.
    pub fn last_key(&self) -> RecordKey {
        *self
            .saved
            .lock()
            .unwrap()
            .last()
            .expect("a record was saved")
    }

    /// (loads, saves) so far.
    pub fn calls(&self) -> (usize, usize) {
        (
            self.loads.load(Ordering::SeqCst),
            self.saved.lock().unwrap().len(),
        )
    }
}
