//! Metrics (feature `metrics`): what the real middleware records, read through a small
//! recorder installed for this test binary (one test, since a recorder is process-wide).

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use metrics::{
    Counter, CounterFn, Gauge, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use sealed_session::config::LoadPolicy;
use sealed_session::metrics as names;
use sealed_session::store::{MemoryStore, RecordKey, SessionStore, StoreFuture, Swap};
use sealed_session::{Session, SessionLayer};

use common::http::{config, Browser};
use common::load::{counter, TestServer};

struct Count(AtomicU64);

impl CounterFn for Count {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::SeqCst);
    }
    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::SeqCst);
    }
}

struct Samples(Mutex<Vec<f64>>);

impl HistogramFn for Samples {
    fn record(&self, value: f64) {
        self.0.lock().unwrap().push(value);
    }
}

/// Counters and histograms by `name{label=value,…}` (labels sorted).
#[derive(Default)]
struct Recorded {
    counters: Mutex<BTreeMap<String, Arc<Count>>>,
    histograms: Mutex<BTreeMap<String, Arc<Samples>>>,
}

fn series(key: &Key) -> String {
    let mut labels: Vec<String> = key
        .labels()
        .map(|l| format!("{}={}", l.key(), l.value()))
        .collect();
    labels.sort();
    if labels.is_empty() {
        key.name().to_owned()
    } else {
        format!("{}{{{}}}", key.name(), labels.join(","))
    }
}

impl Recorded {
    fn counter(&self, series: &str) -> u64 {
        let counters = self.counters.lock().unwrap();
        counters
            .get(series)
            .map_or(0, |c| c.0.load(Ordering::SeqCst))
    }

    fn samples(&self, series: &str) -> usize {
        let histograms = self.histograms.lock().unwrap();
        histograms
            .get(series)
            .map_or(0, |h| h.0.lock().unwrap().len())
    }
}

struct Shared(Arc<Recorded>);

impl Recorder for Shared {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}

    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        let mut counters = self.0.counters.lock().unwrap();
        let c = counters
            .entry(series(key))
            .or_insert_with(|| Arc::new(Count(AtomicU64::new(0))));
        Counter::from_arc(c.clone())
    }

    fn register_gauge(&self, _: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::noop()
    }

    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        let mut histograms = self.0.histograms.lock().unwrap();
        let h = histograms
            .entry(series(key))
            .or_insert_with(|| Arc::new(Samples(Mutex::new(Vec::new()))));
        Histogram::from_arc(h.clone())
    }
}

/// The counter for lazy loading: the handler loads the record first.
async fn lazy_counter(req: Request<Incoming>) -> Response<Full<Bytes>> {
    if let Some(session) = req.extensions().get::<Session>() {
        session.load().await.unwrap();
    }
    counter(req).await
}

#[tokio::test]
async fn middleware_records_rejections_and_store_calls() {
    let recorded = Arc::new(Recorded::default());
    metrics::set_global_recorder(Shared(recorded.clone())).expect("the only recorder");

    // Client mode: a forged cookie is rejected (malformed), counted by reason.
    let srv = TestServer::start(SessionLayer::new(config("")).unwrap(), counter).await;
    let b = Browser::new(&srv);
    let r = b
        .send_raw(Method::GET, "/", Some("__Host-session=forged".into()))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        recorded.counter(&format!("{}{{reason=malformed}}", names::REJECTIONS)),
        1
    );
    // No store calls in client mode.
    assert_eq!(recorded.counter(names::STORE_LOADS), 0);
    assert_eq!(recorded.counter(names::STORE_SAVES), 0);

    // Server mode: the first visit saves, the second loads and saves.
    let store = MemoryStore::new().capacity(2);
    let layer = SessionLayer::new(config("")).unwrap().server_store(store);
    let srv = TestServer::start(layer, counter).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "1");
    assert_eq!(recorded.counter(names::STORE_LOADS), 0);
    assert_eq!(recorded.counter(names::STORE_SAVES), 1);
    assert_eq!(b.get("/").await.body, "2");
    assert_eq!(recorded.counter(names::STORE_LOADS), 1);
    assert_eq!(recorded.counter(names::STORE_SAVES), 2);
    let duration = |op: &str| recorded.samples(&format!("{}{{op={op}}}", names::STORE_DURATION));
    assert_eq!(duration("load"), 1);
    assert_eq!(duration("save"), 2);

    // A forged id in server mode is rejected before any store call (no load); the handler
    // then writes a new session (a save).
    let r = b
        .send_raw(Method::GET, "/", Some("__Host-session=forged".into()))
        .await;
    assert_eq!((r.status, r.body.as_str()), (StatusCode::OK, "1"));
    assert_eq!(
        recorded.counter(&format!("{}{{reason=malformed}}", names::REJECTIONS)),
        2
    );
    assert_eq!(recorded.counter(names::STORE_LOADS), 1);
    assert_eq!(recorded.counter(names::STORE_SAVES), 3);

    // A third session does not fit (capacity 2): the save fails, counted, and answered 503.
    let mut third = Browser::new(&srv);
    assert_eq!(third.get("/").await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(recorded.counter(names::STORE_SAVES), 4);
    assert_eq!(
        recorded.counter(&format!("{}{{op=save}}", names::STORE_FAILURES)),
        1
    );
    assert_eq!(duration("save"), 4);
    assert_eq!(
        recorded.counter(&format!("{}{{op=load}}", names::STORE_FAILURES)),
        0
    );

    // Lazy loading: the load the handler asks for is counted and timed too.
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(MemoryStore::new())
        .load_policy(LoadPolicy::Lazy);
    let srv = TestServer::start(layer, lazy_counter).await;
    let mut lazy = Browser::new(&srv);
    assert_eq!(lazy.get("/").await.body, "1");
    assert_eq!(lazy.get("/").await.body, "2");
    assert_eq!(recorded.counter(names::STORE_LOADS), 2);
    assert_eq!(duration("load"), 2);

    merged_saves_count_conflicts_and_retries(&recorded).await;
    a_save_merging_twice_counts_one_conflict(&recorded).await;

    // Only the documented names were recorded.
    let all: Vec<String> = recorded
        .counters
        .lock()
        .unwrap()
        .keys()
        .chain(recorded.histograms.lock().unwrap().keys())
        .cloned()
        .collect();
    for s in &all {
        assert!(
            names::ALL.iter().any(|n| s.split('{').next() == Some(n)),
            "undocumented metric {s}"
        );
    }
}

/// Merged saves: two requests of one session both load it, then both save; the second finds
/// the record changed, merges (a conflict) and swaps again (a retry).
async fn merged_saves_count_conflicts_and_retries(recorded: &Recorded) {
    let gate = Arc::new(tokio::sync::Barrier::new(2));
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(MemoryStore::new());
    let srv = TestServer::start(layer, move |req: Request<Incoming>| {
        let gate = gate.clone();
        async move {
            let session = req.extensions().get::<Session>().unwrap().clone();
            let key = req.uri().path().trim_start_matches('/').to_owned();
            if key.is_empty() {
                session.insert("user", "alice").unwrap();
            } else if key == "clear" {
                for k in session.keys() {
                    session.remove(&k);
                }
            } else {
                session.insert(&key, &true).unwrap();
                gate.wait().await;
            }
            Response::new(Full::new(Bytes::from(session.keys().join(","))))
        }
    })
    .await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let cookie = b.cookie_header();
    let (a, c) = tokio::join!(
        b.send_raw(Method::GET, "/a", Some(cookie.clone())),
        b.send_raw(Method::GET, "/c", Some(cookie)),
    );
    assert_eq!((a.status, c.status), (StatusCode::OK, StatusCode::OK));
    assert_eq!(
        b.get("/").await.body,
        "a,c,user",
        "the merge kept both keys"
    );
    assert_eq!(recorded.counter(names::MERGE_CONFLICTS), 1);
    assert_eq!(recorded.counter(names::MERGE_RETRIES), 1);
    // A loaded session emptied by removals: its record is deleted, and counted as a delete.
    let (saves, deletes) = (
        recorded.counter(names::STORE_SAVES),
        recorded.counter(names::STORE_DELETES),
    );
    assert_eq!(b.get("/clear").await.body, "");
    assert_eq!(recorded.counter(names::STORE_SAVES), saves);
    assert_eq!(recorded.counter(names::STORE_DELETES), deletes + 1);
}

/// A memory store where another instance seems to write the record before the next
/// `meddles` compare-and-swaps: it puts back an earlier sealed version of the record (one
/// differing from the expected one), so each of those swaps conflicts and its merge succeeds.
#[derive(Clone, Default)]
struct Meddler {
    inner: MemoryStore,
    versions: Arc<Mutex<Vec<Vec<u8>>>>,
    meddles: Arc<AtomicU64>,
}

impl SessionStore for Meddler {
    fn load<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, Option<Vec<u8>>> {
        self.inner.load(key)
    }
    fn save<'a>(&'a self, key: &'a RecordKey, r: &'a [u8], ttl: Duration) -> StoreFuture<'a, ()> {
        self.versions.lock().unwrap().push(r.to_vec());
        self.inner.save(key, r, ttl)
    }
    fn delete<'a>(&'a self, key: &'a RecordKey) -> StoreFuture<'a, ()> {
        self.inner.delete(key)
    }
    fn compare_and_swap<'a>(
        &'a self,
        key: &'a RecordKey,
        expected: Option<&'a [u8]>,
        new: Option<&'a [u8]>,
        ttl: Duration,
    ) -> StoreFuture<'a, Swap> {
        Box::pin(async move {
            let meddle = (self.meddles)
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if meddle {
                let other = (self.versions.lock().unwrap().iter())
                    .find(|v| Some(v.as_slice()) != expected)
                    .cloned()
                    .unwrap();
                self.inner.save(key, &other, ttl).await?;
            } else if let Some(r) = new {
                self.versions.lock().unwrap().push(r.to_vec());
            }
            self.inner.compare_and_swap(key, expected, new, ttl).await
        })
    }
}

/// A save whose swap conflicts twice merges twice and swaps three times: one merge conflict
/// (counted once per save that merged, as documented) and two retries.
async fn a_save_merging_twice_counts_one_conflict(recorded: &Recorded) {
    let store = Meddler::default();
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(store.clone());
    let srv = TestServer::start(layer, |req: Request<Incoming>| async move {
        let session = req.extensions().get::<Session>().unwrap().clone();
        let key = req.uri().path().trim_start_matches('/').to_owned();
        session.insert(&key, &true).unwrap();
        Response::new(Full::new(Bytes::from(session.keys().join(","))))
    })
    .await;
    let mut b = Browser::new(&srv);
    b.get("/a").await; // a new record: a plain save
    b.get("/b").await; // a second version, by a compare-and-swap
    assert_eq!(store.versions.lock().unwrap().len(), 2);
    let (conflicts, retries) = (
        recorded.counter(names::MERGE_CONFLICTS),
        recorded.counter(names::MERGE_RETRIES),
    );
    store.meddles.store(2, Ordering::SeqCst);
    let r = b.get("/c").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        store.meddles.load(Ordering::SeqCst),
        0,
        "both swaps conflicted"
    );
    assert_eq!(
        b.get("/d").await.body,
        "a,b,c,d",
        "the merges kept every key"
    );
    assert_eq!(recorded.counter(names::MERGE_CONFLICTS), conflicts + 1);
    assert_eq!(recorded.counter(names::MERGE_RETRIES), retries + 2);
}
