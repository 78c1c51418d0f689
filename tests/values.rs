//! Session values that survive deploys: a value written by a handler with one version of a
//! type is read by a handler with the next, through a real server and cookie jar, in client
//! and server (memory) mode. Each case is a change people make between deploys (the table in
//! the `data` module docs).

mod common;

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::{Arc, Mutex};

use axum::routing::get;
use axum::Router;
use proptest::prelude::*;
use sealed_session::store::MemoryStore;
use sealed_session::{DataError, Session, SessionLayer};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use common::http::{config, Browser, TestServer};

#[derive(Clone, Copy, Debug)]
enum Mode {
    Client,
    Server,
}

fn layer(mode: Mode) -> SessionLayer {
    let layer = SessionLayer::new(config("")).unwrap();
    match mode {
        Mode::Client => layer,
        Mode::Server => layer.server_store(MemoryStore::new()),
    }
}

/// Writes `old` under `key` with one handler, then reads it as a `New` with another, over
/// HTTP with a cookie jar; returns what the reading handler got.
async fn through_layer<Old, New>(mode: Mode, old: Old) -> Result<New, String>
where
    Old: Serialize + Clone + Send + Sync + 'static,
    New: DeserializeOwned + Send + 'static,
{
    let got: Arc<Mutex<Option<Result<New, String>>>> = Arc::new(Mutex::new(None));
    let sink = got.clone();
    let app = Router::new()
        .route(
            "/write",
            get(move |session: Session| {
                let old = old.clone();
                async move {
                    session.insert("value", &old)?;
                    Ok::<_, sealed_session::Error>("written")
                }
            }),
        )
        .route(
            "/read",
            get(move |session: Session| {
                let sink = sink.clone();
                async move {
                    let read = session
                        .get::<New>("value")
                        .map_err(|e| e.to_string())
                        .and_then(|v| v.ok_or_else(|| "missing".to_owned()));
                    *sink.lock().unwrap() = Some(read);
                    "read"
                }
            }),
        )
        .layer(layer(mode));
    let srv = TestServer::serve(app).await;
    let mut browser = Browser::new(&srv);
    assert_eq!(browser.get("/write").await.body, "written");
    assert_eq!(browser.get("/read").await.body, "read");
    let result = got.lock().unwrap().take();
    result.expect("the reading handler ran")
}

/// One test per case, in both modes.
macro_rules! evolution {
    ($($case:ident),* $(,)?) => {
        mod client {
            $( #[tokio::test] async fn $case() { super::$case(super::Mode::Client).await } )*
        }
        mod server {
            $( #[tokio::test] async fn $case() { super::$case(super::Mode::Server).await } )*
        }
    };
}

evolution!(
    field_appended_with_default,
    option_field_added,
    field_removed,
    field_renamed_with_alias,
    enum_variant_added,
    json_value,
    untagged_enum,
    internally_tagged_enum,
    adjacently_tagged_enum,
    flattened_struct,
    skip_serializing_if,
    maps_with_string_and_integer_keys,
    wide_integers,
    bytes_in_buffered_positions,
    wrong_type_is_an_error_and_the_value_stays,
    field_renamed_without_alias_is_an_error_and_the_value_stays,
    variant_removed_or_renamed_is_an_error_and_the_value_stays,
    field_removed_under_deny_unknown_fields_is_an_error_and_the_value_stays,
    newtype_and_plain_value_read_as_each_other,
    sequences_read_as_other_sequences_and_integers_as_wider_numbers,
    std_types_round_trip,
    unknown_unit_variant_reads_as_serde_other,
);

mod v1 {
    use super::*;

    #[derive(Clone, Serialize)]
    pub struct Preferences {
        pub theme: String,
        pub font_size: u8,
    }

    #[derive(Clone, Serialize)]
    pub enum Role {
        Reader,
        Editor { sections: Vec<String> },
    }
}

async fn field_appended_with_default(mode: Mode) {
    #[derive(Debug, Deserialize, PartialEq)]
    struct Preferences {
        theme: String,
        font_size: u8,
        #[serde(default)]
        language: String,
    }
    let old = v1::Preferences {
        theme: "dark".into(),
        font_size: 14,
    };
    let new: Preferences = through_layer(mode, old).await.unwrap();
    assert_eq!(
        new,
        Preferences {
            theme: "dark".into(),
            font_size: 14,
            language: String::new()
        }
    );
}

async fn option_field_added(mode: Mode) {
    #[derive(Debug, Deserialize, PartialEq)]
    struct Preferences {
        theme: String,
        timezone: Option<String>,
        font_size: u8,
    }
    let old = v1::Preferences {
        theme: "dark".into(),
        font_size: 14,
    };
    let new: Preferences = through_layer(mode, old).await.unwrap();
    assert_eq!(new.timezone, None);
    assert_eq!((new.theme.as_str(), new.font_size), ("dark", 14));
}

async fn field_removed(mode: Mode) {
    #[derive(Debug, Deserialize, PartialEq)]
    struct Preferences {
        font_size: u8,
    }
    let old = v1::Preferences {
        theme: "dark".into(),
        font_size: 14,
    };
    let new: Preferences = through_layer(mode, old).await.unwrap();
    assert_eq!(new, Preferences { font_size: 14 });
}

async fn field_renamed_with_alias(mode: Mode) {
    #[derive(Debug, Deserialize, PartialEq)]
    struct Preferences {
        #[serde(alias = "theme")]
        color_scheme: String,
        font_size: u8,
    }
    let old = v1::Preferences {
        theme: "dark".into(),
        font_size: 14,
    };
    let new: Preferences = through_layer(mode, old).await.unwrap();
    assert_eq!(new.color_scheme, "dark");
}

async fn enum_variant_added(mode: Mode) {
    #[derive(Debug, Deserialize, PartialEq)]
    enum Role {
        Admin,
        Reader,
        Editor { sections: Vec<String> },
        Auditor(u32),
    }
    let new: Role = through_layer(mode, v1::Role::Reader).await.unwrap();
    assert_eq!(new, Role::Reader);
    let old = v1::Role::Editor {
        sections: vec!["news".into()],
    };
    let new: Role = through_layer(mode, old).await.unwrap();
    assert_eq!(
        new,
        Role::Editor {
            sections: vec!["news".into()]
        }
    );
    let _ = (Role::Admin, Role::Auditor(0));
}

async fn json_value(mode: Mode) {
    let value = json!({
        "user": {"id": 42, "name": "Ada", "tags": ["a", "b"], "score": -1.5, "active": true},
        "nothing": null,
        "big": u64::MAX,
    });
    let back: serde_json::Value = through_layer(mode, value.clone()).await.unwrap();
    assert_eq!(back, value);
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
enum Untagged {
    Count(u64),
    Name(String),
    Point { x: i32, y: i32 },
}

async fn untagged_enum(mode: Mode) {
    for v in [
        Untagged::Count(7),
        Untagged::Name("seven".into()),
        Untagged::Point { x: -1, y: 2 },
    ] {
        let back: Untagged = through_layer(mode, v.clone()).await.unwrap();
        assert_eq!(back, v);
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type")]
enum Internal {
    Guest,
    Member { id: u64, plan: String },
}

async fn internally_tagged_enum(mode: Mode) {
    let v = Internal::Member {
        id: 9,
        plan: "pro".into(),
    };
    let back: Internal = through_layer(mode, v.clone()).await.unwrap();
    assert_eq!(back, v);
    let back: Internal = through_layer(mode, Internal::Guest).await.unwrap();
    assert_eq!(back, Internal::Guest);
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    Flash(String),
    Count(u32),
}

async fn adjacently_tagged_enum(mode: Mode) {
    for v in [Adjacent::Flash("saved".into()), Adjacent::Count(3)] {
        let back: Adjacent = through_layer(mode, v.clone()).await.unwrap();
        assert_eq!(back, v);
    }
}

async fn flattened_struct(mode: Mode) {
    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
    struct Audit {
        at: u64,
        by: String,
    }
    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
    struct Draft {
        title: String,
        #[serde(flatten)]
        audit: Audit,
        #[serde(flatten)]
        extra: BTreeMap<String, serde_json::Value>,
    }
    let v = Draft {
        title: "Hello".into(),
        audit: Audit {
            at: 1_700_000_000,
            by: "ada".into(),
        },
        extra: BTreeMap::from([("pinned".to_owned(), json!(true))]),
    };
    let back: Draft = through_layer(mode, v.clone()).await.unwrap();
    assert_eq!(back, v);
}

async fn skip_serializing_if(mode: Mode) {
    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
    struct Filters {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        category: Option<String>,
        page: u32,
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        tags: Vec<String>,
    }
    let v = Filters {
        category: None,
        page: 3,
        tags: vec![],
    };
    let back: Filters = through_layer(mode, v.clone()).await.unwrap();
    assert_eq!(back, v);
}

async fn maps_with_string_and_integer_keys(mode: Mode) {
    let by_name = HashMap::from([("a".to_owned(), 1u32), ("b".to_owned(), 2)]);
    let back: HashMap<String, u32> = through_layer(mode, by_name.clone()).await.unwrap();
    assert_eq!(back, by_name);
    let by_id = BTreeMap::from([(1001u64, "apple".to_owned()), (7, "pear".to_owned())]);
    let back: BTreeMap<u64, String> = through_layer(mode, by_id.clone()).await.unwrap();
    assert_eq!(back, by_id);
    // An integer stored as u32 reads as u64 too.
    let back: HashMap<String, u64> = through_layer(mode, by_name).await.unwrap();
    assert_eq!(back["b"], 2);
}

async fn wide_integers(mode: Mode) {
    let back: u128 = through_layer(mode, u128::MAX - 1).await.unwrap();
    assert_eq!(back, u128::MAX - 1);
    let back: i128 = through_layer(mode, i128::MIN + 1).await.unwrap();
    assert_eq!(back, i128::MIN + 1);
    let back: (u128, i128) = through_layer(mode, (5u128, -5i128)).await.unwrap();
    assert_eq!(back, (5, -5));
}

/// Byte containers where serde buffers the value before choosing what it is (untagged and
/// internally tagged enums, `flatten`, `serde_json::Value`). They were written as MessagePack
/// `bin`, which serde's buffer keeps as bytes that `Vec<u8>` does not accept: an untagged
/// `Raw(Vec<u8>)` read back as `Name("\u{1}\u{2}\u{3}")` (silently), the others failed to
/// decode. `serde_bytes` types stay compact (`bin`) and read back there too.
async fn bytes_in_buffered_positions(mode: Mode) {
    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
    #[serde(untagged)]
    enum Blob {
        Raw(Vec<u8>),
        Name(String),
    }
    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
    #[serde(tag = "kind")]
    enum Credential {
        Key {
            id: u32,
            material: Vec<u8>,
        },
        Fixed {
            digest: [u8; 4],
        },
        Compact {
            #[serde(with = "serde_bytes")]
            raw: Vec<u8>,
        },
    }
    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
    struct Inner {
        blob: Vec<u8>,
    }
    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
    struct Outer {
        name: String,
        #[serde(flatten)]
        inner: Inner,
    }
    for v in [Blob::Raw(vec![1, 2, 3, 200]), Blob::Name("abc".into())] {
        let back: Blob = through_layer(mode, v.clone()).await.unwrap();
        assert_eq!(back, v);
    }
    for v in [
        Credential::Key {
            id: 1,
            material: vec![0, 255, 128],
        },
        Credential::Fixed {
            digest: [9, 8, 7, 250],
        },
        Credential::Compact { raw: vec![1, 2, 3] },
    ] {
        let back: Credential = through_layer(mode, v.clone()).await.unwrap();
        assert_eq!(back, v);
    }
    let v = Outer {
        name: "n".into(),
        inner: Inner {
            blob: vec![4, 5, 6],
        },
    };
    let back: Outer = through_layer(mode, v.clone()).await.unwrap();
    assert_eq!(back, v);
    let back: serde_json::Value = through_layer(mode, v).await.unwrap();
    assert_eq!(back, json!({"name": "n", "blob": [4, 5, 6]}));
}

/// A value read as a type it does not fit: an error naming the key and saying why, and the
/// stored value stays for a handler that reads it right.
async fn wrong_type_is_an_error_and_the_value_stays(mode: Mode) {
    type Reads = Arc<Mutex<Vec<Result<Option<u32>, String>>>>;
    let reads: Reads = Arc::default();
    let sink = reads.clone();
    let app = Router::new()
        .route(
            "/write",
            get(|session: Session| async move {
                session.insert("count", "secret-token-123")?;
                Ok::<_, sealed_session::Error>("written")
            }),
        )
        .route(
            "/wrong",
            get(move |session: Session| {
                let sink = sink.clone();
                async move {
                    let got = session.get::<u32>("count");
                    if let Err(DataError::Decode { key, .. }) = &got {
                        assert_eq!(key, "count");
                    }
                    sink.lock().unwrap().push(got.map_err(|e| e.to_string()));
                    "tried"
                }
            }),
        )
        .route(
            "/right",
            get(|session: Session| async move {
                Ok::<_, sealed_session::Error>(session.get::<String>("count")?.unwrap_or_default())
            }),
        )
        .layer(layer(mode));
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    b.get("/write").await;
    b.get("/wrong").await;
    b.get("/wrong").await;
    assert_eq!(b.get("/right").await.body, "secret-token-123");
    let reads = reads.lock().unwrap();
    assert_eq!(reads.len(), 2);
    for r in reads.iter() {
        let e = r.as_ref().unwrap_err();
        assert!(e.contains("`count`"), "{e}");
        assert!(e.contains("the stored value is a string"), "{e}");
        assert!(!e.contains("secret-token"), "{e}");
    }
}

/// Writes `old` under `value`, reads it as a `New` (which must fail), then reads it again as
/// JSON: returns the error, after checking that it names the key and that the value is still
/// there as written.
async fn refused_and_kept<Old, New>(mode: Mode, old: Old) -> String
where
    Old: Serialize + Clone + Send + Sync + 'static,
    New: DeserializeOwned + Debug + Send + 'static,
{
    let written = serde_json::to_value(&old).unwrap();
    let app = Router::new()
        .route(
            "/write",
            get(move |session: Session| {
                let old = old.clone();
                async move {
                    session.insert("value", &old)?;
                    Ok::<_, sealed_session::Error>("written".to_owned())
                }
            }),
        )
        .route(
            "/new",
            get(|session: Session| async move {
                match session.get::<New>("value") {
                    Ok(v) => format!("read as the new type: {v:?}"),
                    Err(e) => e.to_string(),
                }
            }),
        )
        .route(
            "/json",
            get(|session: Session| async move {
                let v: Option<serde_json::Value> = session.get("value")?;
                Ok::<_, sealed_session::Error>(serde_json::to_string(&v).unwrap())
            }),
        )
        .layer(layer(mode));
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/write").await.body, "written");
    let error = b.get("/new").await.body;
    assert!(
        error.starts_with("session key `value` does not read"),
        "{error}"
    );
    assert_eq!(b.get("/new").await.body, error, "the same error again");
    let kept: Option<serde_json::Value> = serde_json::from_str(&b.get("/json").await.body).unwrap();
    assert_eq!(kept, Some(written), "the stored value stays");
    error
}

async fn field_renamed_without_alias_is_an_error_and_the_value_stays(mode: Mode) {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Preferences {
        color_scheme: String,
        font_size: u8,
    }
    let old = v1::Preferences {
        theme: "dark".into(),
        font_size: 14,
    };
    let e = refused_and_kept::<_, Preferences>(mode, old).await;
    assert!(e.contains("missing field `color_scheme`"), "{e}");
}

async fn variant_removed_or_renamed_is_an_error_and_the_value_stays(mode: Mode) {
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    enum Role {
        Viewer,
        Editor { sections: Vec<String> },
    }
    let e = refused_and_kept::<_, Role>(mode, v1::Role::Reader).await;
    assert!(e.contains("unknown variant"), "{e}");
    assert!(
        !e.contains("Reader"),
        "the stored variant is not quoted: {e}"
    );
}

async fn field_removed_under_deny_unknown_fields_is_an_error_and_the_value_stays(mode: Mode) {
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Preferences {
        font_size: u8,
    }
    let old = v1::Preferences {
        theme: "dark".into(),
        font_size: 14,
    };
    let e = refused_and_kept::<_, Preferences>(mode, old).await;
    assert!(e.contains("unknown field `theme`"), "{e}");
}

async fn newtype_and_plain_value_read_as_each_other(mode: Mode) {
    #[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
    struct UserId(u64);
    let back: UserId = through_layer(mode, 42u64).await.unwrap();
    assert_eq!(back, UserId(42));
    let back: u64 = through_layer(mode, UserId(42)).await.unwrap();
    assert_eq!(back, 42);
}

async fn sequences_read_as_other_sequences_and_integers_as_wider_numbers(mode: Mode) {
    use std::collections::{BTreeSet, HashSet};
    let back: HashSet<u32> = through_layer(mode, vec![3u32, 1, 2]).await.unwrap();
    assert_eq!(back, HashSet::from([1, 2, 3]));
    let back: Vec<u32> = through_layer(mode, BTreeSet::from([2u32, 1]))
        .await
        .unwrap();
    assert_eq!(back, [1, 2]);
    let back: (u64, i64, f64) = through_layer(mode, (7u32, 7u32, 7u32)).await.unwrap();
    assert_eq!(back, (7, 7, 7.0));
    let back: Box<str> = through_layer(mode, "text".to_owned()).await.unwrap();
    assert_eq!(&*back, "text");
}

async fn std_types_round_trip(mode: Mode) {
    use std::net::IpAddr;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};
    let at = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
    let ip: IpAddr = "2001:db8::1".parse().unwrap();
    let v = ('é', Duration::from_millis(1500), at, ip, [7u8; 16]);
    let back: (char, Duration, SystemTime, IpAddr, [u8; 16]) =
        through_layer(mode, v).await.unwrap();
    assert_eq!(back, v);
}

/// An enum that gained `#[serde(other)]` reads a unit variant it no longer has as the
/// catch-all (unit variants are stored as their name); a variant with data it no longer has
/// is still an error, and stays.
async fn unknown_unit_variant_reads_as_serde_other(mode: Mode) {
    #[derive(Debug, Deserialize, PartialEq)]
    enum Role {
        Editor {
            sections: Vec<String>,
        },
        #[serde(other)]
        Unknown,
    }
    #[derive(Debug, Deserialize)]
    enum Narrow {
        Reader,
        #[serde(other)]
        Unknown,
    }
    let back: Role = through_layer(mode, v1::Role::Reader).await.unwrap();
    assert_eq!(back, Role::Unknown);
    // A removed variant with data is not caught (serde's `other` takes unit variants only).
    let old = v1::Role::Editor {
        sections: vec!["news".into()],
    };
    let _ = (Narrow::Reader, Narrow::Unknown);
    refused_and_kept::<_, Narrow>(mode, old).await;
}

/// Typed sessions: `Session::typed` and the `Typed<T>` extractor.
#[tokio::test]
async fn typed_values_update_and_read_back_across_requests() {
    use sealed_session::session::{SessionValue, Typed};

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    struct Cart {
        items: Vec<(u32, u16)>,
    }
    impl SessionValue for Cart {
        const KEY: &'static str = "cart";
    }
    let app = Router::new()
        .route(
            "/add",
            get(|cart: Typed<Cart>| async move {
                let n = cart.update(|c| {
                    c.items.push((1001, 1));
                    c.items.len()
                })?;
                Ok::<_, sealed_session::Error>(n.to_string())
            }),
        )
        .route(
            "/count",
            get(|session: Session| async move {
                let cart = session.typed::<Cart>("cart").get_or_default()?;
                Ok::<_, sealed_session::Error>(cart.items.len().to_string())
            }),
        )
        .layer(layer(Mode::Client));
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/count").await.body, "0");
    assert_eq!(b.get("/add").await.body, "1");
    assert_eq!(b.get("/add").await.body, "2");
    assert_eq!(b.get("/count").await.body, "2");
}

/// `Typed::update` whose closure changes nothing sends no `Set-Cookie`, even for a value
/// holding a `HashMap` (whose entries come out in another order in every request, so the
/// value read and written back unchanged encoded to other bytes). It sent one on every such
/// request: a page that updates preferences only when asked re-sealed the session each time,
/// and its response could overwrite a concurrent request's change in the browser.
#[tokio::test]
async fn an_update_that_changes_nothing_sends_no_set_cookie_even_for_a_hash_map() {
    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    struct Cart {
        items: HashMap<String, u32>,
    }
    let app = Router::new()
        .route(
            "/fill",
            get(|session: Session| async move {
                session.typed::<Cart>("cart").update(|c| {
                    c.items = (0..16).map(|i| (format!("sku-{i}"), i)).collect();
                })?;
                Ok::<_, sealed_session::Error>("filled")
            }),
        )
        .route(
            "/view",
            get(|session: Session| async move {
                // Changes the cart only when asked (never here), as a page with an optional
                // query parameter does.
                let n = session.typed::<Cart>("cart").update(|c| c.items.len())?;
                Ok::<_, sealed_session::Error>(n.to_string())
            }),
        )
        .layer(layer(Mode::Client));
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    assert_eq!(b.get("/fill").await.body, "filled");
    for _ in 0..3 {
        let r = b.get("/view").await;
        assert_eq!(r.body, "16");
        assert_eq!(r.set_cookies(), Vec::<String>::new(), "nothing changed");
    }
}

fn json_values() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        (-1.0e12f64..1.0e12).prop_map(serde_json::Value::from),
        ".{0,20}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::from),
            prop::collection::btree_map(".{0,8}", inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    /// Any JSON value goes into a session, through sealing and opening, and comes back equal.
    #[test]
    fn any_json_value_round_trips_through_a_sealed_session(value in json_values()) {
        use sealed_session::data::SessionData;
        use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
        use sealed_session::seal::Sealer;
        use sealed_session::time::ExpiryPolicy;

        let ring = KeyRing::new([Key::new(KeyId(1), Algorithm::default(), &[9; 32])]).unwrap();
        let sealer = Sealer::new("s", ExpiryPolicy::default());
        let mut data = SessionData::new();
        data.insert("v", &value).unwrap();
        let now = std::time::SystemTime::now();
        let sealed = sealer.seal(&ring, &data, now).unwrap();
        let opened = sealer.open(&ring, &sealed, now).unwrap();
        prop_assert_eq!(opened.data.get::<serde_json::Value>("v").unwrap(), Some(value));
    }
}

/// A cookie sealed by the previous release (wire format v1, postcard values) still opens
/// through the layer, its values read, and the response re-seals it as v2, in client mode
/// and (for the id cookie) in server mode.
#[tokio::test]
async fn a_cookie_of_the_previous_release_opens_and_is_resealed_as_v2() {
    use base64::Engine as _;
    use common::outside::{seal_outside_as, varint};
    use sealed_session::keys::Algorithm;

    let now = sealed_session::time::unix_seconds(std::time::SystemTime::now());
    // v1 payload: created_at, expires_at, no idle override, {visit_count: bytes(postcard(7))}
    let mut payload = Vec::new();
    varint(now, &mut payload);
    varint(now + 3600, &mut payload);
    payload.extend_from_slice(&[0, 1, 11]);
    payload.extend_from_slice(b"visit_count");
    payload.extend_from_slice(&[1, 7]);
    let secret: [u8; 32] = base64::engine::general_purpose::STANDARD
        .decode(common::http::KEY1)
        .unwrap()
        .try_into()
        .unwrap();
    let v1 = seal_outside_as(
        1,
        b'c',
        Algorithm::default(),
        &secret,
        1,
        "__Host-session",
        &payload,
    );

    let app = Router::new()
        .route(
            "/",
            get(|session: Session| async move {
                let n: u64 = session.get("visit_count")?.unwrap_or(0) + 1;
                session.insert("visit_count", &n)?;
                Ok::<_, sealed_session::Error>(n.to_string())
            }),
        )
        .layer(layer(Mode::Client));
    let srv = TestServer::serve(app).await;
    let mut b = Browser::new(&srv);
    b.jar.insert("__Host-session".into(), v1.clone());
    assert_eq!(b.get("/").await.body, "8");
    let now_v2 = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&b.jar["__Host-session"])
        .unwrap();
    assert_eq!(now_v2[0], 2, "re-sealed in wire format v2");
    assert_eq!(b.get("/").await.body, "9");

    // Server mode: a v1 id cookie (16 random bytes) still finds nothing to load (its record,
    // unsealed by the previous release, is refused), but it is not an error: a new session.
    let id = [7u8; 16];
    let v1_id = seal_outside_as(
        1,
        b'i',
        Algorithm::default(),
        &secret,
        1,
        "__Host-session",
        &id,
    );
    let srv = TestServer::serve(
        Router::new()
            .route(
                "/",
                get(|session: Session| async move {
                    let n: u64 = session.get("visit_count")?.unwrap_or(0) + 1;
                    session.insert("visit_count", &n)?;
                    Ok::<_, sealed_session::Error>(n.to_string())
                }),
            )
            .layer(layer(Mode::Server)),
    )
    .await;
    let mut b = Browser::new(&srv);
    b.jar.insert("__Host-session".into(), v1_id);
    assert_eq!(b.get("/").await.body, "1");
    assert_eq!(b.get("/").await.body, "2");
}

/// `Typed::update` is one step under the session's lock: clones of one session updating the
/// same key from two threads lose no update (reading, then writing, with the lock dropped in
/// between, lost about a quarter of them).
#[test]
fn typed_update_loses_no_update_across_clones() {
    const N: u64 = 20_000;
    let session = sealed_session::Session::detached();
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let counter = session.typed::<u64>("n");
            std::thread::spawn(move || {
                for _ in 0..N {
                    counter.update(|n| *n += 1).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(session.get::<u64>("n").unwrap(), Some(2 * N));
}
