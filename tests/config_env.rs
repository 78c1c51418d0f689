//! The `SEALED_SESSION_*` environment: one test per variable (each changes exactly its
//! setting away from the default), and a check that the table in `SessionConfig::from_env`'s
//! docs, the variables `src/config/env.rs` reads and the tests here name the same set.

use std::collections::BTreeSet;
use std::time::Duration;

use sealed_session::config::{SameSite, SessionMode};
use sealed_session::keys::KeyId;
use sealed_session::SessionConfig;

/// A fixed secret (not the documentation's sample, which is refused).
const SECRET: &str = "R0Co3CrEszRPB+C4p/QqeQRK7mYnyv1I/ZoOUpWRCkg=";

/// The configuration with only `var = value` set.
fn with(var: &str, value: &str) -> SessionConfig {
    SessionConfig::from_env_map(|name| (name == var).then(|| value.to_owned()))
        .unwrap_or_else(|e| panic!("{var}={value}: {e}"))
}

/// One `#[test]` per variable: the default first differs from the expectation, then the
/// variable sets it.
macro_rules! env_var {
    ($test:ident, $var:literal, $value:expr, |$c:ident| $setting:expr, $expected:expr) => {
        #[test]
        fn $test() {
            let $c = SessionConfig::default();
            assert_ne!($setting, $expected, "{} must change its setting", $var);
            let $c = with($var, $value);
            assert_eq!($setting, $expected, "{}", $var);
        }
    };
}

env_var!(
    cookie_name,
    "SEALED_SESSION_COOKIE_NAME",
    "sid",
    |c| c.cookie.name.clone(),
    "sid"
);
env_var!(
    host_prefix,
    "SEALED_SESSION_HOST_PREFIX",
    "false",
    |c| c.cookie.host_prefix,
    false
);
env_var!(
    cookie_path,
    "SEALED_SESSION_COOKIE_PATH",
    "/app",
    |c| c.cookie.path.clone(),
    "/app"
);
env_var!(
    cookie_domain,
    "SEALED_SESSION_COOKIE_DOMAIN",
    "example.com",
    |c| c.cookie.domain.clone(),
    Some("example.com".to_owned())
);
env_var!(
    secure,
    "SEALED_SESSION_SECURE",
    "off",
    |c| c.cookie.secure,
    false
);
env_var!(
    http_only,
    "SEALED_SESSION_HTTP_ONLY",
    "0",
    |c| c.cookie.http_only,
    false
);
env_var!(
    same_site,
    "SEALED_SESSION_SAME_SITE",
    "strict",
    |c| c.cookie.same_site,
    SameSite::Strict
);
env_var!(
    browser_session,
    "SEALED_SESSION_BROWSER_SESSION",
    "yes",
    |c| c.cookie.browser_session,
    true
);
env_var!(
    max_cookie_len,
    "SEALED_SESSION_MAX_COOKIE_LEN",
    "1024",
    |c| c.cookie.max_cookie_len,
    1024
);
env_var!(
    max_chunks,
    "SEALED_SESSION_MAX_CHUNKS",
    "2",
    |c| c.cookie.max_chunks,
    2
);
env_var!(
    idle,
    "SEALED_SESSION_IDLE",
    "30m",
    |c| c.expiry.idle,
    Duration::from_mins(30)
);
env_var!(
    absolute,
    "SEALED_SESSION_ABSOLUTE",
    "12h",
    |c| c.expiry.absolute,
    Duration::from_hours(12)
);
env_var!(
    skew,
    "SEALED_SESSION_SKEW",
    "5s",
    |c| c.expiry.skew,
    Duration::from_secs(5)
);
env_var!(
    renew_after,
    "SEALED_SESSION_RENEW_AFTER",
    "10m",
    |c| c.expiry.renew_after,
    Some(Duration::from_mins(10))
);
env_var!(
    not_before,
    "SEALED_SESSION_NOT_BEFORE",
    "2026-11-01T00:00:00Z",
    |c| c.expiry.not_before,
    Some(std::time::UNIX_EPOCH + Duration::from_hours(498_192))
);
env_var!(
    mode,
    "SEALED_SESSION_MODE",
    "server",
    |c| c.store.mode,
    SessionMode::Server
);
env_var!(
    store_url,
    "SEALED_SESSION_STORE_URL",
    "redis://127.0.0.1:6379/0",
    |c| c.store.url.clone(),
    "redis://127.0.0.1:6379/0"
);
env_var!(
    store_cluster,
    "SEALED_SESSION_STORE_CLUSTER",
    "redis://127.0.0.1:7000, redis://127.0.0.1:7001",
    |c| c.store.cluster.clone(),
    vec!["redis://127.0.0.1:7000", "redis://127.0.0.1:7001"]
);
env_var!(
    store_tls_ca_file,
    "SEALED_SESSION_STORE_TLS_CA_FILE",
    "/etc/ssl/redis-ca.pem",
    |c| c.store.tls_ca_file.clone(),
    Some(std::path::PathBuf::from("/etc/ssl/redis-ca.pem"))
);
env_var!(
    store_prefix,
    "SEALED_SESSION_STORE_PREFIX",
    "myapp:session:",
    |c| c.store.prefix.clone(),
    "myapp:session:"
);
env_var!(
    store_capacity,
    "SEALED_SESSION_STORE_CAPACITY",
    "100000",
    |c| c.store.capacity,
    Some(100_000)
);
env_var!(
    store_load,
    "SEALED_SESSION_STORE_LOAD",
    "lazy",
    |c| c.store.load,
    sealed_session::config::LoadPolicy::Lazy
);
env_var!(
    store_connect,
    "SEALED_SESSION_STORE_CONNECT",
    "eager",
    |c| c.store.connect,
    sealed_session::config::ConnectPolicy::Eager
);
env_var!(
    keys,
    "SEALED_SESSION_KEYS",
    &format!("7:aes-256-gcm:primary:{SECRET}"),
    |c| c.key_ring().ok().map(|r| r
        .keys()
        .map(sealed_session::keys::Key::id)
        .collect::<Vec<_>>()),
    Some(vec![KeyId(7)])
);

#[test]
fn config_file_variable() {
    let path = std::env::temp_dir().join(format!("sealed-session-env-{}.toml", std::process::id()));
    std::fs::write(&path, "[cookie]\nname = \"from-file\"\n").unwrap();
    assert_ne!(SessionConfig::default().cookie.name, "from-file");
    let c = with("SEALED_SESSION_CONFIG", path.to_str().unwrap());
    std::fs::remove_file(&path).unwrap();
    assert_eq!(c.cookie.name, "from-file");
}

/// `SEALED_SESSION_[A-Z_]+` names in `text`.
fn variables(text: &str) -> BTreeSet<String> {
    text.match_indices("SEALED_SESSION_")
        .map(|(i, _)| {
            text[i..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || *c == '_')
                .collect::<String>()
        })
        .filter(|v| v.len() > "SEALED_SESSION_".len())
        .collect()
}

#[test]
fn the_documented_table_the_parser_and_these_tests_name_the_same_variables() {
    let docs = include_str!("../src/config/mod.rs");
    let table: BTreeSet<String> = docs
        .lines()
        .filter(|l| l.trim_start().starts_with("/// | `SEALED_SESSION_"))
        .flat_map(variables)
        .collect();
    let parsed = variables(include_str!("../src/config/env.rs"))
        .union(&variables(include_str!("../src/config/de.rs")))
        .cloned()
        .collect::<BTreeSet<_>>();
    let tested = variables(include_str!("config_env.rs"));
    assert_eq!(table, parsed, "the docs table and env.rs differ");
    assert_eq!(table, tested, "a variable has no test here");
    assert_eq!(table.len(), 25, "{table:?}");
}

/// A comma is allowed unencoded in a URL's user info: the variable was split there, and the
/// tail of the password came back in the error as "`ter2pw@10.0.0.1:7000` is not a Redis
/// node URL".
#[test]
fn a_comma_in_a_cluster_password_does_not_split_the_node() {
    let config = with(
        "SEALED_SESSION_STORE_CLUSTER",
        "redis://:hun,ter2pw@10.0.0.1:7000, redis://10.0.0.2:7000,,",
    );
    assert_eq!(
        config.store.cluster,
        ["redis://:hun,ter2pw@10.0.0.1:7000", "redis://10.0.0.2:7000"]
    );
    let mut server = config.clone();
    server.store.mode = sealed_session::config::SessionMode::Server;
    server.store.cluster.push("10.0.0.3:7000".into());
    let err = server.validate().unwrap_err().to_string();
    assert!(err.contains("is not a Redis node URL"), "{err}");
    assert!(!err.contains("ter2pw") && !format!("{server:?}").contains("ter2pw"));
}
