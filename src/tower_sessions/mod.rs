//! tower-sessions on sealed-session (feature `tower-sessions`): axum-login, axum-messages and
//! every other crate that takes its session from `tower_sessions::Session` run on sealed
//! cookies (with key rotation, chunking, expiry, secure defaults) or on our server-mode
//! stores; and any tower-sessions store serves our server mode.
//!
//! - [`TowerSessionsLayer`], inside a [`SessionLayer`](crate::SessionLayer), puts a
//!   `tower_sessions::Session` in each request's extensions (so axum's extractor for it, and
//!   axum-login's `AuthSession`, find it). Its data lives in the request's sealed-session
//!   [`Session`](crate::Session): in the sealed cookie (client mode) or the sealed record
//!   (server mode). An application replaces `SessionManagerLayer::new(store)` with
//!   `(SessionLayer::new(config)?, TowerSessionsLayer::new())` and keeps its handlers (a
//!   tuple's first layer is the outermost, as in a `ServiceBuilder`; on an axum `Router`,
//!   whose last `.layer` is the outermost, `.layer(TowerSessionsLayer::new())` comes first).
//! - [`TowerStore`] wraps any `tower_sessions_core::SessionStore` (SQLite, Postgres, MySQL
//!   through tower-sessions-sqlx-store, moka, …) as a server-mode [`SessionStore`](crate::store::SessionStore)
//!   for [`SessionLayer::server_store`](crate::SessionLayer::server_store).
//!
//! # How tower-sessions' behaviour maps
//! - `insert`, `get`, `remove`, `clear`: on the request's session; values are JSON values
//!   for tower-sessions and stored as MessagePack by name, like every sealed-session value.
//!   Only what the handler changed is written back: entries tower-sessions did not load
//!   (sealed-session's own reserved keys `_csrf`, `_flash`, `_auth`, which
//!   tower-sessions code cannot use) are kept.
//! - `cycle_id` (axum-login does it at login): a new session (a new lifetime, in server mode
//!   a new id and the old record deleted, a new CSRF secret) holding the tower-sessions data;
//!   sealed-session's own entries (`_csrf`, `_flash`, `_auth`) start over, as at a login.
//!   It happens when `cycle_id` is called, as tower-sessions deletes the old record then:
//!   what the handler writes natively afterwards (a flash message, the auth stamp) belongs to
//!   the new session.
//! - `flush` (logout): the session is [flushed](crate::Session::flush) when `flush` is
//!   called: the cookie removed, the record deleted, unless the handler then writes to the
//!   new session (a "logged out" message).
//! - A session tower-sessions leaves empty without a `flush` (a fresh visitor's request that
//!   only removed an absent key or set an expiry) saves nothing, as in tower-sessions; what
//!   native code wrote in the request stays.
//! - A native value JSON cannot hold (a map with integer keys, bytes) is not shown to
//!   tower-sessions code (logged at `debug`), and its saves leave it as it is.
//! - `set_expiry`: `OnSessionEnd` is a browser-session cookie, `OnInactivity(d)` an idle
//!   timeout of `d`, `AtDateTime(t)` a fixed end, each capped by the configured absolute
//!   timeout ([`SessionExpiry`](crate::data::SessionExpiry)).
//! - The session is saved when the handler changed it and did not answer 5xx, as
//!   tower-sessions' own layer does; a failed save answers `500`.
//! - `id()`: `Some` when the request carried a session cookie (a fixed placeholder: the real
//!   key of a server-mode record is sealed-session's own id, and reading anything would mean
//!   opening the cookie on every request), `None` otherwise; a random id once `cycle_id` or
//!   a new session's save made one. `expiry()` reports what this request set (`None` before):
//!   the stored choice stays in effect unless changed. So `set_expiry(None)` cannot be told
//!   from "not set" and changes nothing; to go back to the configured default, call
//!   [`Session::set_session_expiry(None)`](crate::Session::set_session_expiry).
//! - Lazy, as tower-sessions: a request whose handler never touches the session costs no
//!   cookie open, no store call, and gets no `Vary: Cookie`. The first use opens the cookie
//!   (client mode, one AEAD open) or loads the record (server mode, also with
//!   `[store] load = "lazy"`); a cookie that does not open reads as no session, as a missing
//!   record does in tower-sessions.
//!
//! # Example
//! ```
//! use sealed_session::tower_sessions::TowerSessionsLayer;
//! use sealed_session::{SessionConfig, SessionLayer};
//! use tower::ServiceBuilder;
//!
//! async fn handler(session: tower_sessions_core::Session) -> String {
//!     let n: u64 = session.get("n").await.ok().flatten().unwrap_or(0) + 1;
//!     let _ = session.insert("n", n).await;
//!     n.to_string()
//! }
//! let app: axum::Router = axum::Router::new()
//!     .route("/", axum::routing::get(handler))
//!     .layer(
//!         ServiceBuilder::new()
//!             .layer(SessionLayer::new(SessionConfig::ephemeral())?)
//!             .layer(TowerSessionsLayer::new()),
//!     );
//! # Ok::<(), sealed_session::ConfigError>(())
//! ```

mod bridge;
mod future;
mod layer;
mod store;

pub use future::ResponseFuture;
pub use layer::{TowerSessionsLayer, TowerSessionsService};
pub use store::{TowerStore, SEALED_FIELD};
