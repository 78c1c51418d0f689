//! Any tower-sessions store as sealed-session's server-mode backend: `TowerStore` over
//! tower-sessions-sqlx-store's `SqliteStore` (a database file in a temporary folder), through
//! the native `Session` and a real hyper server: the counter, `cycle`, `flush`, expiry; and
//! what the database holds (sealed records under hashed ids, never a value or a cookie id).

mod support;

use std::time::Duration;

use axum::routing::get;
use http::StatusCode;
use sealed_session::store::{RecordKey, SessionStore as _};
use sealed_session::tower_sessions::{TowerStore, SEALED_FIELD};
use sealed_session::{Session, SessionLayer};
use tower_sessions_sqlx_store::sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};
use tower_sessions_sqlx_store::sqlx::{Row, SqlitePool};
use tower_sessions_sqlx_store::SqliteStore;

use support::{config_with, Browser, TestServer, KEY1};

/// A SQLite database in a new temporary folder, removed on drop.
struct Db {
    dir: std::path::PathBuf,
    pool: SqlitePool,
    store: SqliteStore,
}

impl Drop for Db {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn db(name: &str) -> Db {
    let dir =
        std::env::temp_dir().join(format!("sealed-session-sqlx-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let options = SqliteConnectOptions::new()
        .filename(dir.join("sessions.db"))
        .create_if_missing(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(2)
        .connect_with(options)
        .await
        .unwrap();
    let store = SqliteStore::new(pool.clone());
    store.migrate().await.unwrap();
    Db { dir, pool, store }
}

async fn counter(session: Session) -> Result<String, sealed_session::Error> {
    let n: u64 = session.get("visit_count")?.unwrap_or(0) + 1;
    session.insert("visit_count", &n)?;
    Ok(n.to_string())
}

async fn cycle(session: Session) -> &'static str {
    session.cycle();
    "cycled"
}

async fn flush(session: Session) -> &'static str {
    session.flush();
    "flushed"
}

async fn server(db: &Db, extra: &str) -> TestServer {
    let layer = SessionLayer::new(config_with(extra, &[(1, KEY1, "primary")]))
        .unwrap()
        .server_store(TowerStore::new(db.store.clone()));
    let app = axum::Router::new()
        .route("/", get(counter))
        .route("/cycle", get(cycle))
        .route("/flush", get(flush))
        .layer(layer);
    TestServer::serve(app).await
}

async fn rows(db: &Db) -> Vec<(Vec<u8>, Vec<u8>)> {
    tower_sessions_sqlx_store::sqlx::query("select id, data from tower_sessions")
        .fetch_all(&db.pool)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.get::<String, _>(0).into_bytes(), r.get::<Vec<u8>, _>(1)))
        .collect()
}

const SESSION: &str = "__Host-session";

#[tokio::test]
async fn the_counter_counts_in_sqlite_and_the_database_holds_only_sealed_records() {
    let db = db("counter").await;
    let srv = server(&db, "").await;
    let mut b = Browser::new(&srv);
    for n in 1..=3 {
        let r = b.get("/").await;
        assert_eq!(
            (r.status, r.body.as_str()),
            (StatusCode::OK, n.to_string().as_str())
        );
    }
    let rows = rows(&db).await;
    assert_eq!(rows.len(), 1, "one session, one row");
    let cookie = b.jar[SESSION].clone();
    let (id, data) = &rows[0];
    // The row's id is not the cookie's; its data has no readable value.
    assert!(!String::from_utf8_lossy(id).contains(&cookie));
    assert!(!data.windows(11).any(|w| w == b"visit_count"));
    // A second browser is a second row.
    let mut other = Browser::new(&srv);
    assert_eq!(other.get("/").await.body, "1");
    assert_eq!(self::rows(&db).await.len(), 2);
    assert_eq!(b.get("/").await.body, "4");
}

#[tokio::test]
async fn cycle_moves_the_session_to_a_new_row_and_flush_deletes_it() {
    let db = db("cycle").await;
    let srv = server(&db, "").await;
    let mut b = Browser::new(&srv);
    b.get("/").await;
    b.get("/").await;
    let before = b.jar[SESSION].clone();
    let old_rows = rows(&db).await;
    assert_eq!(b.get("/cycle").await.body, "cycled");
    assert_ne!(b.jar[SESSION], before, "a new id");
    assert_eq!(b.get("/").await.body, "3", "the data moved with it");
    let new_rows = rows(&db).await;
    assert_eq!(new_rows.len(), 1, "the old row is deleted");
    assert_ne!(new_rows[0].0, old_rows[0].0);
    // The old id finds nothing.
    let mut old = Browser::new(&srv);
    old.jar.insert(SESSION.to_owned(), before);
    assert_eq!(old.get("/").await.body, "1");

    assert_eq!(b.get("/flush").await.body, "flushed");
    assert!(!b.jar.contains_key(SESSION), "the cookie is removed");
    assert_eq!(
        rows(&db).await.len(),
        1,
        "only the old-id browser's new row is left"
    );
    assert_eq!(b.get("/").await.body, "1");
}

#[tokio::test]
async fn records_expire_with_their_ttl() {
    let db = db("expiry").await;
    // The TTL of a record is the session's idle timeout.
    let srv = server(
        &db,
        "[expiry]\nidle = \"1s\"\nabsolute = \"1h\"\nskew = \"0s\"\n",
    )
    .await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/").await.body, "1");
    assert_eq!(b.get("/").await.body, "2");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(b.get("/").await.body, "1", "expired, a new session");

    // The adapter itself: a record past its TTL reads as absent, and one that is not ours
    // (no sealed field) too.
    let store = TowerStore::new(db.store.clone());
    let key = RecordKey::of_id(&[7; 16]);
    store
        .save(&key, b"sealed bytes", Duration::from_mins(1))
        .await
        .unwrap();
    assert_eq!(
        store.load(&key).await.unwrap().as_deref(),
        Some(&b"sealed bytes"[..])
    );
    store
        .save(&key, b"short", Duration::from_secs(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(store.load(&key).await.unwrap(), None);
    store.delete(&key).await.unwrap();
    assert_eq!(store.load(&key).await.unwrap(), None);
    assert_eq!(SEALED_FIELD, "sealed");
}
