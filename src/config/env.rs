//! The environment form: `SEALED_SESSION_*` variables, and the compact `SEALED_SESSION_KEYS`
//! grammar for the whole key ring. The tables live on [`SessionConfig::from_env`].

use zeroize::Zeroizing;

use super::cookie::{CookieConfig, SameSite};
use super::de::{parse_duration, parse_state, parse_time, redact};
use super::expiry::ExpiryConfig;
use super::key::KeyConfig;
use super::store::{ConnectPolicy, LoadPolicy, SessionMode, StoreConfig};
use crate::error::ConfigError;
use crate::keys::{decode_secret, Algorithm, KeyId, KeyState};

/// The variable naming a TOML file to load before the other variables apply.
pub(crate) const CONFIG_VAR: &str = "SEALED_SESSION_CONFIG";
/// The variable holding the whole key ring in compact form.
pub(crate) const KEYS_VAR: &str = "SEALED_SESSION_KEYS";

/// An error about variable `var`; secret-sized tokens in the message are redacted.
fn invalid(var: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: var.to_owned(),
        message: redact(&message.into()),
    }
}

fn parse_bool(var: &str, v: &str) -> Result<bool, ConfigError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(invalid(
            var,
            format!("{v:?} is not a boolean; expected `true` or `false`"),
        )),
    }
}

fn parse_usize(var: &str, v: &str) -> Result<usize, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| invalid(var, format!("{v:?} is not a whole number")))
}

/// The sections of a configuration the variables write to (taken apart so that this file
/// does not import the `SessionConfig` that `mod.rs` builds from it).
pub(super) struct Sections<'a> {
    pub cookie: &'a mut CookieConfig,
    pub expiry: &'a mut ExpiryConfig,
    pub store: &'a mut StoreConfig,
    pub keys: &'a mut Vec<KeyConfig>,
}

/// Applies every `SEALED_SESSION_*` variable that is set and not empty.
pub(super) fn apply(
    config: Sections<'_>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    let get = |var: &str| env(var).filter(|v| !v.trim().is_empty());
    let cookie = config.cookie;
    if let Some(v) = get("SEALED_SESSION_COOKIE_NAME") {
        v.trim().clone_into(&mut cookie.name);
    }
    let bools: [(&str, &mut bool); 4] = [
        ("SEALED_SESSION_HOST_PREFIX", &mut cookie.host_prefix),
        ("SEALED_SESSION_SECURE", &mut cookie.secure),
        ("SEALED_SESSION_HTTP_ONLY", &mut cookie.http_only),
        (
            "SEALED_SESSION_BROWSER_SESSION",
            &mut cookie.browser_session,
        ),
    ];
    for (var, slot) in bools {
        if let Some(v) = get(var) {
            *slot = parse_bool(var, &v)?;
        }
    }
    if let Some(v) = get("SEALED_SESSION_COOKIE_PATH") {
        v.trim().clone_into(&mut cookie.path);
    }
    if let Some(v) = get("SEALED_SESSION_COOKIE_DOMAIN") {
        cookie.domain = Some(v.trim().to_owned());
    }
    if let Some(v) = get("SEALED_SESSION_SAME_SITE") {
        cookie.same_site = SameSite::parse(v.trim()).ok_or_else(|| {
            invalid(
                "SEALED_SESSION_SAME_SITE",
                format!("{v:?} is not a SameSite value; expected `strict`, `lax` or `none`"),
            )
        })?;
    }
    let sizes: [(&str, &mut usize); 2] = [
        ("SEALED_SESSION_MAX_COOKIE_LEN", &mut cookie.max_cookie_len),
        ("SEALED_SESSION_MAX_CHUNKS", &mut cookie.max_chunks),
    ];
    for (var, slot) in sizes {
        if let Some(v) = get(var) {
            *slot = parse_usize(var, &v)?;
        }
    }
    let expiry = config.expiry;
    let durations = [
        ("SEALED_SESSION_IDLE", &mut expiry.idle),
        ("SEALED_SESSION_ABSOLUTE", &mut expiry.absolute),
        ("SEALED_SESSION_SKEW", &mut expiry.skew),
    ];
    for (var, slot) in durations {
        if let Some(v) = get(var) {
            *slot = parse_duration(&v).map_err(|m| invalid(var, m))?;
        }
    }
    if let Some(v) = get("SEALED_SESSION_RENEW_AFTER") {
        expiry.renew_after =
            Some(parse_duration(&v).map_err(|m| invalid("SEALED_SESSION_RENEW_AFTER", m))?);
    }
    if let Some(v) = get("SEALED_SESSION_NOT_BEFORE") {
        expiry.not_before =
            Some(parse_time(&v).map_err(|m| invalid("SEALED_SESSION_NOT_BEFORE", m))?);
    }
    apply_store(config.store, &get)?;
    if let Some(spec) = get(KEYS_VAR).map(Zeroizing::new) {
        *config.keys = parse_keys(&spec)?;
    }
    Ok(())
}

/// Every variable [`apply`] reads, and [`CONFIG_VAR`]: recorded by running it over nothing
/// set (it asks for every variable whatever it finds), so that the list is what the code
/// reads, never a copy of it.
fn names() -> Vec<String> {
    let read = std::cell::RefCell::new(vec![CONFIG_VAR.to_owned()]);
    let sections = Sections {
        cookie: &mut CookieConfig::default(),
        expiry: &mut ExpiryConfig::default(),
        store: &mut StoreConfig::default(),
        keys: &mut Vec::new(),
    };
    let recorded = apply(sections, &|name| {
        read.borrow_mut().push(name.to_owned());
        None
    });
    debug_assert!(recorded.is_ok(), "nothing set cannot fail");
    read.into_inner()
}

/// The `SEALED_SESSION_*` names among `set` that nothing reads: neither a variable of
/// [`names`] nor a key's `secret_env`. Such a variable is a misspelled setting (a mass
/// logout's `…_NOTBEFORE` for `…_NOT_BEFORE`): ignored, so it must be said.
pub(super) fn unread(set: impl IntoIterator<Item = String>, keys: &[KeyConfig]) -> Vec<String> {
    let read = names();
    let mut unread: Vec<String> = set
        .into_iter()
        .filter(|name| name.starts_with("SEALED_SESSION_") && !read.contains(name))
        .filter(|name| !keys.iter().any(|k| k.secret_env.as_ref() == Some(name)))
        .collect();
    unread.sort();
    unread
}

/// The variables of the `[store]` section (mode, URL or cluster, CA file, prefix, …).
fn apply_store(
    store: &mut StoreConfig,
    get: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    if let Some(v) = get("SEALED_SESSION_MODE") {
        store.mode = match v.trim() {
            "client" => SessionMode::Client,
            "server" => SessionMode::Server,
            _ => {
                return Err(invalid(
                    "SEALED_SESSION_MODE",
                    format!("{v:?} is not a mode; expected `client` or `server`"),
                ))
            }
        };
    }
    if let Some(v) = get("SEALED_SESSION_STORE_URL") {
        v.trim().clone_into(&mut store.url);
    }
    if let Some(v) = get("SEALED_SESSION_STORE_CLUSTER") {
        store.cluster = cluster_nodes(&v);
    }
    if let Some(v) = get("SEALED_SESSION_STORE_TLS_CA_FILE") {
        store.tls_ca_file = Some(v.trim().into());
    }
    if let Some(v) = get("SEALED_SESSION_STORE_PREFIX") {
        v.trim().clone_into(&mut store.prefix);
    }
    if let Some(v) = get("SEALED_SESSION_STORE_CAPACITY") {
        store.capacity = Some(parse_usize("SEALED_SESSION_STORE_CAPACITY", &v)?);
    }
    if let Some(v) = get("SEALED_SESSION_STORE_LOAD") {
        let (lazy, eager) = (LoadPolicy::Lazy, LoadPolicy::Eager);
        store.load = lazy_or_eager("SEALED_SESSION_STORE_LOAD", "load", &v, lazy, eager)?;
    }
    if let Some(v) = get("SEALED_SESSION_STORE_CONNECT") {
        let (lazy, eager) = (ConnectPolicy::Lazy, ConnectPolicy::Eager);
        store.connect = lazy_or_eager("SEALED_SESSION_STORE_CONNECT", "connect", &v, lazy, eager)?;
    }
    Ok(())
}

/// A `lazy`/`eager` choice ([`LoadPolicy`], [`ConnectPolicy`]) from variable `var`.
fn lazy_or_eager<T>(var: &str, what: &str, v: &str, lazy: T, eager: T) -> Result<T, ConfigError> {
    match v.trim() {
        "lazy" => Ok(lazy),
        "eager" => Ok(eager),
        _ => Err(invalid(
            var,
            format!("{v:?} is not a {what} policy; expected `lazy` or `eager`"),
        )),
    }
}

/// Whether a token from `SEALED_SESSION_KEYS` can be quoted in an error: short and made of
/// characters no base64 secret of 32 bytes (43+ characters) could hide in.
fn quotable(token: &str, extra: &str) -> bool {
    token.len() <= 24
        && token
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || extra.contains(c))
}

/// Parses the compact key ring form; see [`SessionConfig::from_env`] for the grammar.
///
/// Errors name the entry (1-based) and, once known, the key id; they never quote a token that
/// could be a secret.
pub(crate) fn parse_keys(spec: &str) -> Result<Vec<KeyConfig>, ConfigError> {
    const SHAPE: &str = "expected `id:algorithm:state[@time]:secret`, e.g. \
                         `1:xaes-256-gcm:primary:BASE64`";
    let mut keys = Vec::new();
    for (i, entry) in spec.split(';').enumerate() {
        let n = i + 1;
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }
        let shape = || invalid(KEYS_VAR, format!("entry {n}: {SHAPE}"));
        let (id, rest) = entry.split_once(':').ok_or_else(shape)?;
        let (algorithm, rest) = rest.split_once(':').ok_or_else(shape)?;
        // The time after `@` contains `:`, and a base64 secret never does: split at the last.
        let (state, secret) = rest.rsplit_once(':').ok_or_else(shape)?;
        let id: u8 = id.trim().parse().map_err(|_| {
            invalid(
                KEYS_VAR,
                format!("entry {n}: the key id is not a number from 0 to 255; {SHAPE}"),
            )
        })?;
        let err = |message: String| invalid(KEYS_VAR, format!("entry {n} (key {id}): {message}"));
        let algorithm = algorithm.trim();
        let algorithm: Algorithm = algorithm.parse().map_err(|_| {
            let quoted = if quotable(algorithm, "-") {
                format!("`{algorithm}` ")
            } else {
                String::new()
            };
            err(format!(
                "the algorithm {quoted}is not one of `xaes-256-gcm`, `aes-256-gcm`, \
                 `chacha20-poly1305`"
            ))
        })?;
        let (state, at) = match state.split_once('@') {
            Some((s, t)) => (s.trim(), Some(t.trim())),
            None => (state.trim(), None),
        };
        let state = parse_state(state).ok_or_else(|| {
            let quoted = if quotable(state, "-") {
                format!("`{state}` ")
            } else {
                String::new()
            };
            err(format!(
                "the state {quoted}is not `primary` or `decrypt-only`"
            ))
        })?;
        let at = at
            .map(|t| {
                parse_time(t).map_err(|m| {
                    if t.len() <= 40 && t.chars().all(|c| "0123456789TZtz:+-. ".contains(c)) {
                        err(format!("after `@`: {m}"))
                    } else {
                        err("the time after `@` is not an RFC 3339 time such as \
                             2026-12-01T00:00:00Z"
                            .into())
                    }
                })
            })
            .transpose()?;
        let secret = secret.trim();
        drop(decode_secret(KeyId(id), secret).map_err(|e| {
            match e {
                ConfigError::SecretLength { len, .. } => err(format!(
                    "the secret decodes to {len} bytes; expected 32 random bytes as base64 \
                 (`sealed-session keygen --format env` prints an entry)"
                )),
                ConfigError::SampleSecret { .. } => err(
                    "the secret is the sample secret printed in sealed-session's documentation, \
                     which everyone can read; generate your own with `sealed-session keygen \
                     --format env`"
                        .into(),
                ),
                _ => err(
                    "the secret is not valid base64; expected 32 random bytes as base64 \
                      (`sealed-session keygen --format env` prints an entry)"
                        .into(),
                ),
            }
        })?);
        let mut key = KeyConfig::new(id, secret).algorithm(algorithm);
        match (state, at) {
            (KeyState::Primary, Some(at)) => key = key.activate_at(at),
            (KeyState::DecryptOnly, at) => {
                key = key.decrypt_only();
                key.retired_at = at;
            }
            (KeyState::Primary, None) => {}
        }
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(invalid(
            KEYS_VAR,
            format!("holds no key; {SHAPE}, entries separated by `;`"),
        ));
    }
    Ok(keys)
}

/// The comma-separated node URLs of `SEALED_SESSION_STORE_CLUSTER`. A comma may appear
/// unencoded in a URL's user info (`redis://:pass,word@host`): a piece that does not start a
/// Redis URL continues the one before, so that a password is never split into a piece that
/// an error would quote as "not a Redis node URL".
fn cluster_nodes(value: &str) -> Vec<String> {
    let mut nodes: Vec<String> = Vec::new();
    for piece in value.split(',').filter(|p| !p.trim().is_empty()) {
        let starts_url = {
            let t = piece.trim_start();
            t.starts_with("redis://") || t.starts_with("rediss://")
        };
        match nodes.last_mut() {
            Some(last) if !starts_url => {
                last.push(',');
                last.push_str(piece);
            }
            _ => nodes.push(piece.to_owned()),
        }
    }
    nodes.into_iter().map(|n| n.trim().to_owned()).collect()
}
