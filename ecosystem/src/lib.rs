//! Nothing here: this package holds the tests and the example that put sealed-session
//! together with the tower-sessions ecosystem (axum-login, axum-messages,
//! tower-sessions-sqlx-store), so that their dependencies stay out of sealed-session's own
//! tree. See `tests/` and `examples/axum_login.rs`.
