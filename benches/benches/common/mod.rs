//! The typical session, shared by the `codec` and `formats` benches.

use sealed_session::data::SessionData;
use serde::{Deserialize, Serialize};

/// The typical session as a plain struct (what a hand-written pipeline would serialize, and
/// what a handler would insert as one entry).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Typical {
    pub user_id: u64,
    pub username: String,
    pub roles: Vec<String>,
    pub csrf_token: [u8; 32],
    pub cart: Vec<(u32, u16)>,
    pub theme: String,
    pub last_seen: u64,
}

pub fn typical() -> Typical {
    Typical {
        user_id: 1_234_567,
        username: "alice_01".to_owned(),
        roles: vec!["admin".to_owned(), "editor".to_owned()],
        csrf_token: [0x5a; 32],
        cart: vec![(1001, 1), (1002, 2), (20_456, 1), (333_333, 3), (7, 12)],
        theme: "dark".to_owned(),
        last_seen: 1_700_000_000,
    }
}

/// The typical session as seven library entries, one per field.
pub fn typical_data() -> SessionData {
    session_data(&typical())
}

/// `t` as seven library entries, one per field.
pub fn session_data(t: &Typical) -> SessionData {
    let mut data = SessionData::new();
    data.insert("user_id", &t.user_id).expect("encodes");
    data.insert("username", &t.username).expect("encodes");
    data.insert("roles", &t.roles).expect("encodes");
    data.insert("csrf_token", &t.csrf_token).expect("encodes");
    data.insert("cart", &t.cart).expect("encodes");
    data.insert("theme", &t.theme).expect("encodes");
    data.insert("last_seen", &t.last_seen).expect("encodes");
    data
}
