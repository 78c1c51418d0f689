//! A value planted in every field of a configuration — each TOML setting, each
//! `SEALED_SESSION_*` variable, each part of a `SEALED_SESSION_KEYS` entry, the key builders —
//! and the errors that come back. The S1 tests plant a secret and check that no error echoes
//! it (issue 12: a secret pasted into the wrong field reached the logs).

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine as _;
use sealed_session::config::KeyConfig;
use sealed_session::keys::Algorithm;
use sealed_session::SessionConfig;

/// A valid secret for the key that keeps each configuration otherwise usable.
const GOOD: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

/// A fixed random secret whose standard and URL-safe forms differ (`+`, `/` vs `-`, `_`).
pub const PLANTED: [u8; 32] = [
    71, 64, 168, 220, 42, 196, 179, 52, 79, 7, 224, 184, 167, 244, 42, 121, 4, 74, 238, 102, 39,
    202, 253, 72, 253, 154, 14, 82, 149, 145, 10, 72,
];

/// `bytes` in the four ways a secret is written: standard or URL-safe, padded or not.
pub fn encodings(bytes: &[u8; 32]) -> [String; 4] {
    [
        STANDARD.encode(bytes),
        STANDARD_NO_PAD.encode(bytes),
        URL_SAFE.encode(bytes),
        URL_SAFE_NO_PAD.encode(bytes),
    ]
}

/// Panics if `text` holds 22 or more consecutive characters of `secret` (padding aside): no
/// error may reveal more than 126 of its 256 bits.
pub fn assert_not_echoed(place: &str, text: &str, secret: &str) {
    let chars: Vec<char> = secret.trim_end_matches('=').chars().collect();
    for window in chars.windows(22) {
        let window: String = window.iter().collect();
        assert!(
            !text.contains(&window),
            "{place}: the error echoes the planted secret: {text}"
        );
    }
}

fn both<E: std::fmt::Display + std::fmt::Debug>(e: &E) -> String {
    format!("{e} | {e:?}")
}

fn env_case(vars: &[(&str, String)]) -> Result<(), sealed_session::ConfigError> {
    let map: HashMap<&str, &str> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let config = SessionConfig::from_env_map(|name| map.get(name).map(|v| (*v).to_owned()))?;
    config.validate()?;
    config.key_ring().map(drop)
}

/// Every error a configuration gives with `value` planted in one of its fields, as
/// `(where, "Display | Debug")`; places where the configuration stays valid give nothing.
pub fn errors_with(value: &str) -> Vec<(String, String)> {
    let mut out = toml_errors(value);
    out.extend(env_errors(value));
    out.extend(builder_errors(value));
    out
}

fn toml_errors(v: &str) -> Vec<(String, String)> {
    let key = format!("[[keys]]\nid = 1\nsecret = \"{GOOD}\"\n");
    let other = |field: &str| format!("{key}[[keys]]\nid = 2\nstate = \"decrypt-only\"\n{field}\n");
    let store = |field: &str| format!("[store]\n{field}\n{key}");
    let toml: Vec<(&str, String)> = vec![
        ("cookie.name", format!("[cookie]\nname = \"{v}\"\n{key}")),
        (
            "cookie.path",
            format!("[cookie]\nhost_prefix = false\npath = \"{v}\"\n{key}"),
        ),
        (
            "cookie.domain",
            format!("[cookie]\nhost_prefix = false\ndomain = \"{v}\"\n{key}"),
        ),
        (
            "cookie.same_site",
            format!("[cookie]\nsame_site = \"{v}\"\n{key}"),
        ),
        (
            "cookie.secure",
            format!("[cookie]\nsecure = \"{v}\"\n{key}"),
        ),
        (
            "cookie.max_chunks",
            format!("[cookie]\nmax_chunks = \"{v}\"\n{key}"),
        ),
        ("expiry.idle", format!("[expiry]\nidle = \"{v}\"\n{key}")),
        (
            "expiry.absolute",
            format!("[expiry]\nabsolute = \"{v}\"\n{key}"),
        ),
        ("expiry.skew", format!("[expiry]\nskew = \"{v}\"\n{key}")),
        (
            "expiry.renew_after",
            format!("[expiry]\nrenew_after = \"{v}\"\n{key}"),
        ),
        (
            "expiry.not_before",
            format!("[expiry]\nnot_before = \"{v}\"\n{key}"),
        ),
        ("store.mode", format!("[store]\nmode = \"{v}\"\n{key}")),
        (
            "store.url",
            format!("[store]\nmode = \"server\"\nurl = \"{v}\"\n{key}"),
        ),
        (
            "store.prefix",
            format!("[store]\nprefix = \"{v}\"\nurl = \"redis://127.0.0.1/\"\n{key}"),
        ),
        (
            "store.capacity",
            format!("[store]\ncapacity = \"{v}\"\n{key}"),
        ),
        ("store.cluster", store(&format!("cluster = [\"{v}\"]"))),
        (
            "store.tls_ca_file",
            store(&format!("tls_ca_file = \"{v}\"")),
        ),
        (
            "keys.id",
            format!("[[keys]]\nid = \"{v}\"\nsecret = \"{GOOD}\"\n"),
        ),
        (
            "keys.secret",
            format!("[[keys]]\nid = 1\nsecret = \"{v}\"\n"),
        ),
        (
            "keys.algorithm",
            other(&format!("secret = \"{GOOD}\"\nalgorithm = \"{v}\"")),
        ),
        ("keys.secret_env", other(&format!("secret_env = \"{v}\""))),
        ("keys.secret_file", other(&format!("secret_file = \"{v}\""))),
        (
            "keys.state",
            format!("[[keys]]\nid = 1\nsecret = \"{GOOD}\"\nstate = \"{v}\"\n"),
        ),
        (
            "keys.activate_at",
            other(&format!("secret = \"{GOOD}\"\nactivate_at = \"{v}\"")),
        ),
        (
            "keys.retired_at",
            other(&format!("secret = \"{GOOD}\"\nretired_at = \"{v}\"")),
        ),
        (
            "an unknown setting",
            format!("[cookie]\n\"{v}\" = 1\n{key}"),
        ),
        ("an unknown section", format!("[\"{v}\"]\nx = 1\n{key}")),
    ];
    let mut out = Vec::new();
    for (place, text) in toml {
        let result = SessionConfig::from_toml_str(&text).and_then(|c| {
            c.validate()?;
            c.key_ring().map(drop)
        });
        if let Err(e) = result {
            out.push((format!("TOML {place}"), both(&e)));
        }
    }
    out
}

fn env_errors(v: &str) -> Vec<(String, String)> {
    let ring = format!("1:xaes-256-gcm:primary:{GOOD}");
    let keys = ("SEALED_SESSION_KEYS", ring.clone());
    let mut env: Vec<(String, Vec<(&str, String)>)> = [
        "SEALED_SESSION_CONFIG",
        "SEALED_SESSION_COOKIE_NAME",
        "SEALED_SESSION_HOST_PREFIX",
        "SEALED_SESSION_SECURE",
        "SEALED_SESSION_HTTP_ONLY",
        "SEALED_SESSION_SAME_SITE",
        "SEALED_SESSION_BROWSER_SESSION",
        "SEALED_SESSION_MAX_COOKIE_LEN",
        "SEALED_SESSION_MAX_CHUNKS",
        "SEALED_SESSION_IDLE",
        "SEALED_SESSION_ABSOLUTE",
        "SEALED_SESSION_SKEW",
        "SEALED_SESSION_RENEW_AFTER",
        "SEALED_SESSION_NOT_BEFORE",
        "SEALED_SESSION_MODE",
        "SEALED_SESSION_STORE_URL",
        "SEALED_SESSION_STORE_PREFIX",
        "SEALED_SESSION_STORE_CAPACITY",
        "SEALED_SESSION_STORE_CLUSTER",
        "SEALED_SESSION_STORE_TLS_CA_FILE",
    ]
    .into_iter()
    .map(|var| (var.to_owned(), vec![(var, v.to_owned()), keys.clone()]))
    .collect();
    for var in ["SEALED_SESSION_COOKIE_PATH", "SEALED_SESSION_COOKIE_DOMAIN"] {
        env.push((
            var.to_owned(),
            vec![
                (var, v.to_owned()),
                ("SEALED_SESSION_HOST_PREFIX", "false".into()),
                keys.clone(),
            ],
        ));
    }
    env.push((
        "SEALED_SESSION_STORE_URL (server mode)".into(),
        vec![
            ("SEALED_SESSION_STORE_URL", v.to_owned()),
            ("SEALED_SESSION_MODE", "server".into()),
            keys.clone(),
        ],
    ));
    for entry in [
        v.to_owned(),
        format!("{v}:xaes-256-gcm:primary:{GOOD}"),
        format!("1:{v}:primary:{GOOD}"),
        format!("1:xaes-256-gcm:{v}:{GOOD}"),
        format!("1:xaes-256-gcm:primary@{v}:{GOOD}"),
        format!("1:xaes-256-gcm:primary:{v}"),
        format!("{ring}; 2:xaes-256-gcm:decrypt-only@{v}:{GOOD}"),
    ] {
        env.push((
            format!("SEALED_SESSION_KEYS={entry}"),
            vec![("SEALED_SESSION_KEYS", entry)],
        ));
    }
    env.into_iter()
        .filter_map(|(place, vars)| {
            env_case(&vars)
                .err()
                .map(|e| (format!("environment {place}"), both(&e)))
        })
        .collect()
}

fn builder_errors(v: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let builders = [
        (
            "KeyConfig::from_secret_env",
            KeyConfig::from_secret_env(1, v),
        ),
        (
            "KeyConfig::from_secret_file",
            KeyConfig::from_secret_file(1, v),
        ),
        ("KeyConfig::new", KeyConfig::new(1, v)),
        ("KeyConfig.algorithm", {
            let mut k = KeyConfig::new(1, GOOD);
            v.clone_into(&mut k.algorithm);
            k
        }),
    ];
    for (place, key) in builders {
        if let Err(e) = key.build_with_env(|_| None) {
            out.push((place.to_owned(), both(&e)));
        }
        out.push((format!("{place} Debug"), format!("{key:?}")));
    }
    if let Err(e) = v.parse::<Algorithm>() {
        out.push(("Algorithm::from_str".into(), both(&e)));
    }
    if let Err(e) = SessionConfig::from_file(v) {
        out.push(("SessionConfig::from_file".into(), both(&e)));
    }
    out
}
