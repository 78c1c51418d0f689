//! Server-mode records are sealed with the key ring and bound to their record key (finding
//! S8), and values of one purpose never stand in for another (finding S3): what someone with
//! read or write access to the store, or with a client-mode cookie, can and cannot do.

mod common;

use std::sync::atomic::Ordering;
use std::time::Duration;

use base64::Engine as _;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use sealed_session::keys::Algorithm;
use sealed_session::store::SessionStore;
use sealed_session::{Session, SessionLayer};

use common::http::{config, text, Body, Browser, TestServer, KEY1};
use common::outside::seal_outside_as;
use common::spy::Spy;

const NAME: &str = "__Host-session";

async fn counter(req: Request<Incoming>) -> Response<Body> {
    let session = req.extensions().get::<Session>().unwrap().clone();
    let count: u64 = session.get("visit_count").unwrap().unwrap_or(0) + 1;
    session.insert("visit_count", &count).unwrap();
    session.insert("email", "ada@example.com").unwrap();
    text(StatusCode::OK, count.to_string())
}

async fn server(store: &Spy) -> TestServer {
    let layer = SessionLayer::new(config(""))
        .unwrap()
        .server_store(store.clone());
    TestServer::start(layer, counter).await
}

#[tokio::test]
async fn a_store_dump_shows_no_session_value() {
    let store = Spy::default();
    let srv = server(&store).await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    let record = store.inner.load(&store.last_key()).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&record);
    assert!(!text.contains("ada@example.com"), "{text}");
    assert!(!text.contains("visit_count"), "{text}");
}

#[tokio::test]
async fn a_record_written_into_the_store_without_the_key_ring_is_refused() {
    let store = Spy::default();
    let srv = server(&store).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "1");
    assert_eq!(b.get("/").await.body, "2");
    let key = store.last_key();
    // A record in the form the previous release stored in clear (postcard: created now, no
    // idle expiry, {visit_count: 1000}), as anyone with write access to Redis could write it.
    // Unsealed, it is refused: the request starts a new session (the old code took it).
    let mut forged = Vec::new();
    let mut now = sealed_session::time::unix_seconds(std::time::SystemTime::now());
    while now >= 0x80 {
        forged.push(u8::try_from(now & 0x7f).unwrap() | 0x80);
        now >>= 7;
    }
    forged.push(u8::try_from(now).unwrap());
    forged.extend_from_slice(&[0x00, 0x00, 0x01, 11]); // no expiry, no idle, one entry
    forged.extend_from_slice(b"visit_count");
    forged.extend_from_slice(&[2, 0xe8, 0x07]); // bytes(postcard(1000))
    store
        .inner
        .save(&key, &forged, Duration::from_mins(1))
        .await
        .unwrap();
    assert_eq!(b.get("/").await.body, "1");
}

#[tokio::test]
async fn a_record_copied_under_another_session_key_is_refused() {
    let store = Spy::default();
    let srv = server(&store).await;
    let mut alice = Browser::new(&srv);
    for _ in 0..5 {
        alice.get("/").await;
    }
    let alice_key = store.last_key();
    let mut mallory = Browser::new(&srv);
    assert_eq!(mallory.get("/").await.body, "1");
    let mallory_key = store.last_key();
    assert_ne!(alice_key, mallory_key);
    // Mallory can write the store: she copies Alice's (sealed, valid) record under her key.
    let alices = store.inner.load(&alice_key).await.unwrap().unwrap();
    store
        .inner
        .save(&mallory_key, &alices, Duration::from_mins(1))
        .await
        .unwrap();
    // It is bound to Alice's record key: refused, Mallory gets a new session, not Alice's.
    assert_eq!(mallory.get("/").await.body, "1");
    assert_eq!(alice.get("/").await.body, "6");
}

/// A client-mode cookie whose plaintext has the length of a session id is not an id: a
/// server-mode layer with the same keys and cookie name refuses it before any store call,
/// while the same bytes sealed as an id are looked up.
#[tokio::test]
async fn a_client_cookie_is_never_accepted_as_a_server_mode_id() {
    let store = Spy::default();
    let srv = server(&store).await;
    let secret: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(KEY1)
        .unwrap()
        .try_into()
        .unwrap();
    let id = [9u8; 16];
    let loads = || store.loads.load(Ordering::SeqCst);

    let as_client = seal_outside_as(2, b'c', Algorithm::default(), &secret, 1, NAME, &id);
    let mut b = Browser::new(&srv);
    b.jar.insert(NAME.into(), as_client);
    assert_eq!(b.get("/").await.body, "1");
    assert_eq!(loads(), 0, "a client cookie reached the store as an id");

    // The control: the same bytes sealed as an id are opened and looked up.
    let as_id = seal_outside_as(2, b'i', Algorithm::default(), &secret, 1, NAME, &id);
    let mut c = Browser::new(&srv);
    c.jar.insert(NAME.into(), as_id);
    assert_eq!(c.get("/").await.body, "1");
    assert_eq!(loads(), 1);
}

/// Server mode seals the id cookie bound to the layer's cookie name: two layers that share
/// a store and a key ring but not a cookie name never take each other's id cookies (the
/// id is not even looked up), while each one keeps its own session.
#[tokio::test]
async fn an_id_cookie_is_refused_under_another_cookie_name() {
    const OTHER: &str = "__Host-other";
    let store = Spy::default();
    let srv = server(&store).await;
    let other_layer = SessionLayer::new(config("[cookie]\nname = \"other\"\n"))
        .unwrap()
        .server_store(store.clone());
    let other = TestServer::start(other_layer, counter).await;
    let loads = || store.loads.load(Ordering::SeqCst);

    let mut a = Browser::new(&srv);
    assert_eq!(a.get("/").await.body, "1");
    assert_eq!(a.get("/").await.body, "2");
    let id_cookie = a.jar[NAME].clone();

    let mut b = Browser::new(&other);
    b.jar.insert(OTHER.into(), id_cookie);
    let before = loads();
    assert_eq!(
        b.get("/").await.body,
        "1",
        "an id cookie opened under another name"
    );
    assert_eq!(
        loads(),
        before,
        "an id cookie of another name reached the store"
    );
    assert_eq!(b.get("/").await.body, "2");
    assert_eq!(a.get("/").await.body, "3");
}
