//! Configuration: TOML and environment forms, secret sources, validation errors (each with its
//! message), rotation reports, and that no secret ever shows in `Debug` or an error.

mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sealed_session::config::{KeyConfig, KeyStatus, SameSite};
use sealed_session::keys::{Algorithm, KeyId, KeyState};
use sealed_session::{ConfigError, SessionConfig, SessionLayer};

use common::logs::capture;

/// 32 bytes of 0x01, 0x02, 0x03 as base64.
const S1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const S2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";
const S3: &str = "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=";
/// 16 bytes: too short.
const SHORT: &str = "BAQEBAQEBAQEBAQEBAQEBA==";

/// 2026-12-01T00:00:00Z.
const DEC_1: u64 = 1_796_083_200;
const HOUR: Duration = Duration::from_hours(1);
const DAY: Duration = Duration::from_hours(24);

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn now() -> SystemTime {
    at(DEC_1)
}

/// A fresh path in the temp directory, unique to this process and test.
fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sealed-session-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn one_key() -> SessionConfig {
    SessionConfig {
        keys: vec![KeyConfig::new(1, S1)],
        ..SessionConfig::default()
    }
}

/// The validation error of `config` at `now()`, as text.
fn error_of(config: &SessionConfig) -> String {
    config.validate_at(now()).unwrap_err().to_string()
}

fn toml_error(text: &str) -> String {
    SessionConfig::from_toml_str(text).unwrap_err().to_string()
}

fn env_config(vars: &[(&str, &str)]) -> Result<SessionConfig, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    SessionConfig::from_env_map(|name| map.get(name).cloned())
}

fn env_error(vars: &[(&str, &str)]) -> String {
    env_config(vars).unwrap_err().to_string()
}

// ---------------------------------------------------------------------------------------------
// TOML

#[test]
fn toml_parses_every_field_with_human_durations() {
    let config = SessionConfig::from_toml_str(&format!(
        r#"
        [cookie]
        name = "sid"
        host_prefix = false
        path = "/app"
        domain = "example.com"
        secure = true
        http_only = false
        same_site = "strict"
        browser_session = true
        max_cookie_len = 2048
        max_chunks = 8

        [expiry]
        idle = "30m"
        absolute = "12h"
        skew = "5s"
        renew_after = "1h 30m"
        not_before = "2026-11-30T01:00:00+01:00"

        [[keys]]
        id = 2
        algorithm = "chacha20-poly1305"
        secret = "{S2}"
        state = "primary"
        activate_at = 2026-12-01T00:00:00Z

        [[keys]]
        id = 1
        algorithm = "aes-256-gcm"
        secret = "{S1}"
        state = "decrypt-only"
        retired_at = "2026-11-01T00:00:00Z"

        [[keys]]
        id = 0
        secret_env = "SESSION_KEY_0"
        state = "primary"

        [[keys]]
        id = 7
        secret_file = "/run/secrets/session-7"
        state = "decrypt-only"
        "#
    ))
    .unwrap();
    let c = &config.cookie;
    assert_eq!(c.name, "sid");
    assert!(!c.host_prefix);
    assert_eq!(c.full_name(), "sid");
    assert_eq!(c.path, "/app");
    assert_eq!(c.domain.as_deref(), Some("example.com"));
    assert!(c.secure && !c.http_only && c.browser_session);
    assert_eq!(c.same_site, SameSite::Strict);
    assert_eq!((c.max_cookie_len, c.max_chunks), (2048, 8));

    let e = &config.expiry;
    assert_eq!(e.idle, 30 * Duration::from_mins(1));
    assert_eq!(e.absolute, 12 * HOUR);
    assert_eq!(e.skew, Duration::from_secs(5));
    assert_eq!(e.renew_after, Some(90 * Duration::from_mins(1)));
    assert_eq!(e.not_before, Some(at(DEC_1 - 86_400)));
    let policy = e.policy();
    assert_eq!(policy.idle_timeout(), Some(30 * Duration::from_mins(1)));
    assert_eq!(policy.absolute_timeout(), Some(12 * HOUR));
    assert_eq!(policy.renew_interval(), 90 * Duration::from_mins(1));

    let k = &config.keys;
    assert_eq!(k.len(), 4);
    assert_eq!((k[0].id, k[0].algorithm.as_str()), (2, "chacha20-poly1305"));
    assert_eq!(k[0].activate_at, Some(at(DEC_1)));
    assert_eq!(k[0].state, KeyState::Primary);
    assert_eq!(k[1].state, KeyState::DecryptOnly);
    assert_eq!(k[1].retired_at, Some(at(DEC_1 - 30 * 86_400)));
    assert_eq!(k[2].algorithm, "xaes-256-gcm", "the default algorithm");
    assert_eq!(k[2].secret_env.as_deref(), Some("SESSION_KEY_0"));
    assert_eq!(
        k[3].secret_file.as_deref(),
        Some(std::path::Path::new("/run/secrets/session-7"))
    );
}

#[test]
fn toml_empty_document_gives_the_defaults() {
    let config = SessionConfig::from_toml_str("").unwrap();
    assert_eq!(config.cookie.full_name(), "__Host-session");
    assert!(config.cookie.secure && config.cookie.http_only && config.cookie.host_prefix);
    assert_eq!(config.cookie.same_site, SameSite::Lax);
    assert_eq!(
        (config.cookie.max_cookie_len, config.cookie.max_chunks),
        (4096, 4)
    );
    assert_eq!(config.expiry.idle, DAY);
    assert_eq!(config.expiry.absolute, 7 * DAY);
    assert_eq!(config.expiry.skew, Duration::from_mins(1));
    assert!(config.keys.is_empty());
    assert_eq!(
        error_of(&config),
        "keys: no key configured; add a `[[keys]]` table (`sealed-session keygen` prints one) \
         or set SEALED_SESSION_KEYS"
    );
}

#[test]
fn toml_unknown_field_is_named_with_its_line() {
    let err = toml_error("[cookie]\nname = \"id\"\nsecrue = true\n");
    assert!(
        err.starts_with("line 3, column 1: unknown field `secrue`"),
        "{err}"
    );
    let err = toml_error(&format!("[[keys]]\nid = 1\nsecrt = \"{S1}\"\n"));
    assert!(err.contains("unknown field `secrt`"), "{err}");
    assert!(!err.contains(S1), "the line is not quoted: {err}");
    let err = toml_error("[cookies]\nname = \"id\"\n");
    assert!(err.contains("unknown field `cookies`"), "{err}");
}

#[test]
fn toml_syntax_error_is_located_and_never_quotes_the_line() {
    let err = toml_error(&format!("[[keys]]\nid = 1\nsecret = \"{S1}\n"));
    assert!(err.starts_with("line 3"), "{err}");
    assert!(!err.contains("AQEB"), "{err}");
}

#[test]
fn toml_bad_durations_say_how_to_write_one() {
    let err = toml_error("[expiry]\nidle = \"soon\"\n");
    assert!(err.contains("`soon` is not a duration"), "{err}");
    assert!(err.contains("\"30m\""), "{err}");
    let err = toml_error("[expiry]\nabsolute = 3600\n");
    assert!(err.contains("`3600` has no unit"), "{err}");
    assert!(err.contains("\"3600s\""), "{err}");
}

#[test]
fn toml_times_need_an_offset() {
    let err = toml_error(&format!(
        "[[keys]]\nid = 1\nsecret = \"{S1}\"\nactivate_at = 2026-12-01T00:00:00\n"
    ));
    assert!(err.contains("has no UTC offset"), "{err}");
    let err = toml_error("[expiry]\nnot_before = \"next week\"\n");
    assert!(err.contains("`next week` is not an RFC 3339 time"), "{err}");
}

#[test]
fn toml_unknown_state_and_same_site_are_named() {
    let err = toml_error(&format!(
        "[[keys]]\nid = 1\nsecret = \"{S1}\"\nstate = \"active\"\n"
    ));
    assert!(err.contains("unknown key state `active`"), "{err}");
    assert!(err.contains("\"decrypt-only\""), "{err}");
    let err = toml_error("[cookie]\nsame_site = \"sometimes\"\n");
    assert!(err.contains("unknown variant `sometimes`"), "{err}");
}

#[test]
fn from_file_errors_name_the_file_and_line() {
    let path = temp_path("bad-field.toml");
    std::fs::write(&path, "[expiry]\nidle = \"30m\"\nidel = \"1h\"\n").unwrap();
    let err = SessionConfig::from_file(&path).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}:3:1: unknown field `idel`", path.display())),
        "{err}"
    );
}

#[test]
fn from_file_missing_file_is_an_io_error_naming_the_path() {
    let path = temp_path("does-not-exist.toml");
    let err = SessionConfig::from_file(&path).unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("cannot read config file `{}`", path.display())
    );
    assert!(std::error::Error::source(&err).is_some());
}

#[test]
fn from_file_resolves_relative_secret_files_next_to_it() {
    let dir = temp_path("relative");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("key-1"), format!("{S1}\n")).unwrap();
    let path = dir.join("session.toml");
    std::fs::write(&path, "[[keys]]\nid = 1\nsecret_file = \"key-1\"\n").unwrap();
    let config = SessionConfig::from_file(&path).unwrap();
    assert_eq!(
        config.keys[0].secret_file.as_deref(),
        Some(dir.join("key-1").as_path())
    );
    config.validate_at(now()).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Secrets

#[test]
fn secret_env_is_looked_up_by_name() {
    let key = KeyConfig::from_secret_env(4, "KEY_FOUR")
        .build_with_env(|name| (name == "KEY_FOUR").then(|| S2.to_owned()))
        .unwrap();
    assert_eq!(key.id(), KeyId(4));
}

#[test]
fn secret_env_unset_empty_or_malformed_names_key_and_field() {
    let key = KeyConfig::from_secret_env(4, "KEY_FOUR");
    let err = key.build_with_env(|_| None).unwrap_err().to_string();
    assert_eq!(
        err,
        "keys[id=4].secret_env: environment variable `KEY_FOUR` is not set (a process sees \
         only the variables it started with: a key added by reload must come from \
         `secret_file`, or restart the process)"
    );
    let err = key
        .build_with_env(|_| Some("  ".into()))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "keys[id=4].secret_env: environment variable `KEY_FOUR` is empty"
    );
    let err = key
        .build_with_env(|_| Some("not*base64!".into()))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("keys[id=4].secret_env: the value of environment variable `KEY_FOUR` is not valid base64"),
        "{err}"
    );
    assert!(!err.contains("not*base64!"), "{err}");
    let err = key
        .build_with_env(|_| Some(SHORT.into()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("decodes to 16 bytes; expected 32 random bytes"),
        "{err}"
    );
    assert!(!err.contains(SHORT), "{err}");
    let err = KeyConfig::from_secret_env(4, "")
        .build_with_env(|_| None)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "keys[id=4].secret_env: is empty; give the name of an environment variable"
    );
}

#[test]
fn secret_file_is_read_and_trailing_newline_trimmed() {
    let path = temp_path("secret-ok");
    std::fs::write(&path, format!("{S3}\n\n")).unwrap();
    let key = KeyConfig::from_secret_file(3, &path)
        .algorithm(Algorithm::Aes256Gcm)
        .build()
        .unwrap();
    assert_eq!(
        (key.id(), key.algorithm()),
        (KeyId(3), Algorithm::Aes256Gcm)
    );
}

/// S14 (issue 12): a `secret_file` that its group or other users can read (or write) is
/// warned about, once per build, naming the key, the path and the mode; 0600 and 0400 are not.
#[cfg(unix)]
#[test]
fn a_secret_file_open_to_group_or_others_is_warned() {
    use std::os::unix::fs::PermissionsExt as _;
    let path = temp_path("secret-mode");
    std::fs::write(&path, format!("{S3}\n")).unwrap();
    for (mode, warned) in [
        (0o600, false),
        (0o400, false),
        (0o640, true),
        (0o604, true),
        (0o644, true),
        (0o620, true),
    ] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        let (key, logs) = capture(|| KeyConfig::from_secret_file(3, &path).build());
        key.unwrap();
        let warnings = logs.at("WARN");
        if warned {
            assert_eq!(warnings.len(), 1, "{mode:o}: {warnings:?}");
            let w = &warnings[0];
            assert!(w.contains("secret_file"), "{w}");
            assert!(w.contains(&format!("{mode:04o}")), "{w}");
            assert!(w.contains(&path.display().to_string()), "{w}");
        } else {
            assert!(warnings.is_empty(), "{mode:o}: {warnings:?}");
        }
    }
    // Building a layer reads the file once, so it warns once.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = SessionConfig {
        keys: vec![KeyConfig::from_secret_file(3, &path)],
        ..SessionConfig::default()
    };
    let (layer, logs) = capture(|| SessionLayer::new(config));
    layer.unwrap();
    let warnings = logs.at("WARN");
    assert_eq!(
        warnings
            .iter()
            .filter(|w| w.contains("secret_file"))
            .count(),
        1,
        "{warnings:?}"
    );
}

#[test]
fn secret_file_unreadable_is_an_io_error_naming_the_path() {
    let path = temp_path("no-such-secret");
    let err = KeyConfig::from_secret_file(3, &path).build().unwrap_err();
    assert!(
        matches!(&err, ConfigError::Io { path: p, .. } if *p == path),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("cannot read `secret_file` of key 3 `{}`", path.display())
    );
    // Also through the whole configuration.
    let config = SessionConfig {
        keys: vec![
            KeyConfig::new(1, S1),
            KeyConfig::from_secret_file(3, &path).decrypt_only(),
        ],
        ..SessionConfig::default()
    };
    assert!(error_of(&config).contains("`secret_file` of key 3"));
    // A directory is unreadable as a secret too.
    let dir = temp_path("secret-dir");
    std::fs::create_dir_all(&dir).unwrap();
    let err = KeyConfig::from_secret_file(3, &dir).build().unwrap_err();
    assert!(matches!(err, ConfigError::Io { .. }), "{err:?}");
}

#[test]
fn secret_file_with_a_bad_secret_names_the_field_not_the_secret() {
    let path = temp_path("secret-short");
    std::fs::write(&path, format!("{SHORT}\n")).unwrap();
    let err = KeyConfig::from_secret_file(5, &path)
        .build()
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        format!(
            "keys[id=5].secret_file: the contents of `{}` decodes to 16 bytes; expected 32 random \
             bytes encoded as base64 (generate one with `sealed-session keygen --format secret`)",
            path.display()
        )
    );
    let big = temp_path("secret-big");
    std::fs::write(&big, "A".repeat(5000)).unwrap();
    let err = KeyConfig::from_secret_file(5, &big)
        .build()
        .unwrap_err()
        .to_string();
    assert!(err.contains("is larger than 4096 bytes"), "{err}");
    assert!(!err.contains("AAAA"), "{err}");
}

/// S14 (issue 12): the sample secret the documentation printed (bytes 0 to 31) is known to
/// everyone: refused from every source and in every base64 form, with an error that says what
/// to do and does not quote it.
#[test]
fn the_documentation_sample_secret_is_refused() {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    use base64::Engine as _;
    let bytes: Vec<u8> = (0..32).collect();
    let file = temp_path("sample-secret");
    for engine in [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD] {
        let sample = engine.encode(&bytes);
        std::fs::write(&file, format!("{sample}\n")).unwrap();
        let errors = [
            KeyConfig::new(1, sample.as_str()).build().map(drop),
            KeyConfig::from_secret_env(1, "KEY")
                .build_with_env(|_| Some(sample.clone()))
                .map(drop),
            KeyConfig::from_secret_file(1, &file).build().map(drop),
            env_config(&[(
                "SEALED_SESSION_KEYS",
                &format!("1:xaes-256-gcm:primary:{sample}"),
            )])
            .map(drop),
            sealed_session::keys::Key::from_base64(KeyId(1), Algorithm::default(), &sample)
                .map(drop),
        ];
        for (i, result) in errors.into_iter().enumerate() {
            let err = result.expect_err(&format!("source {i} accepted the sample {sample}"));
            let err = err.to_string();
            assert!(err.contains("sample secret"), "{err}");
            assert!(err.contains("sealed-session keygen"), "{err}");
            assert!(!err.contains(&sample[..20]), "{err}");
        }
    }
}

#[test]
fn inline_secret_short_or_malformed_is_a_typed_error() {
    let err = KeyConfig::new(1, SHORT).build().unwrap_err();
    assert!(
        matches!(err, ConfigError::SecretLength { id: 1, len: 16 }),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .starts_with("key 1: secret is 16 bytes; expected exactly 32"));
    let err = KeyConfig::new(1, "%%%not base64%%%").build().unwrap_err();
    assert!(
        matches!(err, ConfigError::SecretNotBase64 { id: 1 }),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .starts_with("key 1: `secret` is not valid base64"));
    assert!(!err.to_string().contains("%%%"));
}

#[test]
fn exactly_one_secret_source() {
    let mut none = KeyConfig::new(6, S1);
    none.secret = None;
    assert_eq!(
        none.build().unwrap_err().to_string(),
        "keys[id=6]: no secret; give one of `secret`, `secret_env` or `secret_file` \
         (`sealed-session keygen` prints a new key)"
    );
    let mut two = KeyConfig::new(6, S1);
    two.secret_env = Some("X".into());
    let err = two.build().unwrap_err().to_string();
    assert_eq!(
        err,
        "keys[id=6]: `secret` and `secret_env` are both given; keep exactly one of `secret`, \
         `secret_env`, `secret_file`"
    );
    assert!(!err.contains(S1));
}

// ---------------------------------------------------------------------------------------------
// Key ring validation

#[test]
fn missing_primary_is_reported() {
    let config = SessionConfig {
        keys: vec![
            KeyConfig::new(1, S1).decrypt_only(),
            KeyConfig::new(2, S2).decrypt_only(),
        ],
        ..SessionConfig::default()
    };
    let err = config.validate_at(now()).unwrap_err();
    assert!(matches!(err, ConfigError::NoPrimary { .. }), "{err:?}");
    assert!(err.to_string().starts_with("no primary key is active now"));
    // A primary scheduled for later is not active now either.
    let config = SessionConfig {
        keys: vec![KeyConfig::new(1, S1).activate_at(now() + HOUR)],
        ..SessionConfig::default()
    };
    assert!(matches!(
        config.validate_at(now()),
        Err(ConfigError::NoPrimary { .. })
    ));
    config.validate_at(now() + HOUR).unwrap();
}

#[test]
fn two_primaries_at_one_instant_are_reported() {
    let config = SessionConfig {
        keys: vec![KeyConfig::new(1, S1), KeyConfig::new(2, S2)],
        ..SessionConfig::default()
    };
    assert_eq!(
        error_of(&config),
        "keys 1 and 2 are both primary from the same instant; give one an `activate_at` or make \
         it `decrypt-only`"
    );
    let t = now() + DAY;
    let config = SessionConfig {
        keys: vec![
            KeyConfig::new(3, S3),
            KeyConfig::new(1, S1).activate_at(t),
            KeyConfig::new(2, S2).activate_at(t),
        ],
        ..SessionConfig::default()
    };
    assert!(matches!(
        config.validate_at(now()),
        Err(ConfigError::TwoPrimaries { a: 1, b: 2 })
    ));
}

#[test]
fn duplicate_key_ids_are_reported() {
    let config = SessionConfig {
        keys: vec![KeyConfig::new(1, S1), KeyConfig::new(1, S2).decrypt_only()],
        ..SessionConfig::default()
    };
    assert_eq!(
        error_of(&config),
        "key id 1 appears twice; every key needs its own id (0-255)"
    );
}

#[test]
fn unknown_algorithm_is_reported() {
    let config = SessionConfig::from_toml_str(&format!(
        "[[keys]]\nid = 9\nalgorithm = \"aes-128-cbc\"\nsecret = \"{S1}\"\n"
    ))
    .unwrap();
    let err = config.validate_at(now()).unwrap_err();
    assert!(matches!(&err, ConfigError::UnknownAlgorithm { id: 9, name } if name == "aes-128-cbc"));
    assert_eq!(
        err.to_string(),
        "key 9: unknown algorithm `aes-128-cbc`; expected one of `xaes-256-gcm`, `aes-256-gcm`, \
         `chacha20-poly1305`"
    );
}

#[test]
fn short_and_malformed_secrets_are_reported_through_validate() {
    let mut config = one_key();
    config.keys.push(KeyConfig::new(2, SHORT).decrypt_only());
    assert!(error_of(&config).starts_with("key 2: secret is 16 bytes"));
    config.keys[1] = KeyConfig::new(2, "!!!").decrypt_only();
    assert!(error_of(&config).starts_with("key 2: `secret` is not valid base64"));
}

#[test]
fn activate_at_and_retired_at_must_fit_the_state() {
    let mut config = one_key();
    config
        .keys
        .push(KeyConfig::new(2, S2).decrypt_only().activate_at(now()));
    assert!(error_of(&config).starts_with(
        "keys[id=2].activate_at: a decrypt-only key never seals, so it cannot be scheduled"
    ));
    config.keys[1] = KeyConfig::new(2, S2)
        .activate_at(now() + DAY)
        .retired_at(now());
    assert!(error_of(&config)
        .starts_with("keys[id=2].retired_at: only a decrypt-only key can be retired"));
}

/// In client mode no store is used: a store setting there was accepted and ignored, so a
/// Redis URL without `mode = "server"` ran in client mode while the operator believed the
/// sessions were in Redis (and that `flush` revoked a stolen cookie). Each is refused, naming
/// the setting and the fix; the same settings in server mode are accepted.
#[test]
fn store_settings_in_client_mode_are_refused() {
    use sealed_session::config::{ConnectPolicy, LoadPolicy, SessionMode};
    type Edit = fn(&mut SessionConfig);
    let edits: [(&str, Edit); 7] = [
        ("url", |c| c.store.url = "redis://127.0.0.1:6379/0".into()),
        ("cluster", |c| {
            c.store.cluster = vec!["redis://127.0.0.1:7000".into()];
        }),
        ("tls_ca_file", |c| {
            c.store.tls_ca_file = Some("/etc/ca.pem".into());
        }),
        ("prefix", |c| c.store.prefix = "app:".into()),
        ("capacity", |c| c.store.capacity = Some(5)),
        ("load", |c| c.store.load = LoadPolicy::Lazy),
        ("connect", |c| c.store.connect = ConnectPolicy::Eager),
    ];
    for (field, edit) in edits {
        let err = cookie_error(edit);
        assert!(
            err.starts_with(&format!("store.{field}: is a server-mode setting")),
            "{err}"
        );
        assert!(err.contains("mode = \"server\""), "{err}");
    }
    // From TOML, as an operator writes it.
    let config = SessionConfig::from_toml_str(&format!(
        "[store]\nurl = \"redis://127.0.0.1:6379/0\"\n[[keys]]\nid = 1\nsecret = \"{}\"\n",
        common::http::KEY1
    ))
    .unwrap();
    assert!(error_of(&config).starts_with("store.url: is a server-mode setting"));
    // Server mode keeps them.
    let mut config = one_key();
    config.store.mode = SessionMode::Server;
    config.store.capacity = Some(5);
    config.store.load = LoadPolicy::Lazy;
    config.validate().unwrap();
}

// ---------------------------------------------------------------------------------------------
// Cookie and expiry validation

fn cookie_error(edit: impl FnOnce(&mut SessionConfig)) -> String {
    let mut config = one_key();
    edit(&mut config);
    error_of(&config)
}

#[test]
fn cookie_name_must_be_a_non_empty_token() {
    assert_eq!(
        cookie_error(|c| c.cookie.name.clear()),
        "cookie.name: is empty; give a cookie name such as \"session\""
    );
    let err = cookie_error(|c| c.cookie.name = "my session".into());
    assert!(
        err.starts_with(
            "cookie.name: is not a valid cookie name: character 3 (' ') is not allowed"
        ),
        "{err}"
    );
    let err = cookie_error(|c| c.cookie.name = "a;b".into());
    assert!(err.contains("(';') is not allowed"), "{err}");
    let err = cookie_error(|c| c.cookie.name = "sess=ion".into());
    assert!(err.contains("('=') is not allowed"), "{err}");
    let err = cookie_error(|c| c.cookie.name = "__Host-session".into());
    assert!(err.contains("already has the `__Host-` prefix"), "{err}");
    let err = cookie_error(|c| {
        c.cookie.name = "__Secure-id".into();
        c.cookie.host_prefix = false;
        c.cookie.secure = false;
    });
    assert!(err.contains("requires `secure = true`"), "{err}");
    let mut ok = one_key();
    ok.cookie.name = "sid.v2-x_y!".into();
    ok.validate_at(now()).unwrap();
}

#[test]
fn host_prefix_rules_follow_rfc_6265bis() {
    let err = cookie_error(|c| c.cookie.secure = false);
    assert!(
        err.starts_with("cookie.secure: `host_prefix = true` requires `secure = true`"),
        "{err}"
    );
    assert!(err.contains("RFC 6265bis §4.1.3.2"), "{err}");
    let err = cookie_error(|c| c.cookie.path = "/app".into());
    assert!(
        err.starts_with("cookie.path: `host_prefix = true` requires `path = \"/\"`"),
        "{err}"
    );
    let err = cookie_error(|c| c.cookie.domain = Some("example.com".into()));
    assert!(
        err.starts_with("cookie.domain: `host_prefix = true` forbids `domain`"),
        "{err}"
    );
    // Without the prefix all three are fine.
    let mut ok = one_key();
    ok.cookie.host_prefix = false;
    ok.cookie.secure = false;
    ok.cookie.path = "/app".into();
    ok.cookie.domain = Some("example.com".into());
    ok.validate_at(now()).unwrap();
}

#[test]
fn same_site_none_requires_secure() {
    let err = cookie_error(|c| {
        c.cookie.host_prefix = false;
        c.cookie.secure = false;
        c.cookie.same_site = SameSite::None;
    });
    assert!(
        err.starts_with("cookie.same_site: `same_site = \"none\"` requires `secure = true`"),
        "{err}"
    );
    let mut ok = one_key();
    ok.cookie.same_site = SameSite::None;
    ok.validate_at(now()).unwrap();
}

#[test]
fn path_and_domain_must_be_well_formed() {
    let unprefixed = |c: &mut SessionConfig| c.cookie.host_prefix = false;
    let err = cookie_error(|c| {
        unprefixed(c);
        c.cookie.path = "app".into();
    });
    assert!(
        err.starts_with("cookie.path: is not a cookie path"),
        "{err}"
    );
    let err = cookie_error(|c| {
        unprefixed(c);
        c.cookie.domain = Some("example.com:8080".into());
    });
    assert!(
        err.starts_with("cookie.domain: is not a domain name"),
        "{err}"
    );
}

/// Settings a browser would silently ignore, or that leave no room for a session, are
/// refused at validation instead of failing every request afterwards: a domain with an empty
/// or dash-edged label (the browser drops the cookie), a path with a space or a non-ASCII
/// character (requests carry it percent-encoded: the cookie never comes back), a name that
/// with its attributes fills the line (every write was a 500).
#[test]
fn settings_a_browser_ignores_or_that_leave_no_room_are_refused() {
    let unprefixed = |c: &mut SessionConfig| c.cookie.host_prefix = false;
    for domain in [
        "..",
        "example..com",
        ".example.com..",
        "-",
        "-example.com",
        "example.com.",
    ] {
        let err = cookie_error(|c| {
            unprefixed(c);
            c.cookie.domain = Some(domain.into());
        });
        assert!(
            err.starts_with("cookie.domain: is not a domain name"),
            "{domain}: {err}"
        );
    }
    for domain in [".example.com", "sub.example-1.com", "localhost"] {
        let mut ok = one_key();
        unprefixed(&mut ok);
        ok.cookie.domain = Some(domain.into());
        ok.validate_at(now()).unwrap();
    }
    for path in ["/café", "/my app", "/a;b"] {
        let err = cookie_error(|c| {
            unprefixed(c);
            c.cookie.path = path.into();
        });
        assert!(
            err.starts_with("cookie.path: is not a cookie path"),
            "{path}: {err}"
        );
    }
    let err = cookie_error(|c| {
        unprefixed(c);
        c.cookie.name = "n".repeat(250);
        c.cookie.max_cookie_len = 256;
        c.cookie.max_chunks = 1;
    });
    assert!(err.starts_with("cookie.name: with the path"), "{err}");
    // The defaults, and a long but workable name, leave room.
    let mut ok = one_key();
    ok.cookie.name = "n".repeat(100);
    ok.validate_at(now()).unwrap();
}

/// The room check's exact edge: the line's overhead is the name, its `=`, the attributes'
/// bound (108 bytes), the path and the domain, and a room of exactly 128 bytes is enough.
/// With `max_cookie_len = 256`, path `/app` (4) and domain `example.com` (11), a 4-byte name
/// leaves 256 - (4 + 1 + 108 + 4 + 11) = 128 (accepted) and a 5-byte name 127 (refused).
#[test]
fn the_room_for_the_value_counts_every_part_of_the_line_to_the_byte() {
    let with_name = |len: usize| {
        let mut c = one_key();
        c.cookie.host_prefix = false;
        c.cookie.path = "/app".into();
        c.cookie.domain = Some("example.com".into());
        c.cookie.max_cookie_len = 256;
        c.cookie.name = "n".repeat(len);
        c
    };
    with_name(4).validate_at(now()).unwrap();
    let err = error_of(&with_name(5));
    assert!(
        err.starts_with(
            "cookie.name: with the path, the domain and the other attributes, it leaves 127 of \
             `max_cookie_len`'s 256 bytes for the value, less than the 128"
        ),
        "{err}"
    );
    // Without a domain, its 11 bytes go back to the value.
    let mut c = with_name(15);
    c.cookie.domain = None;
    c.validate_at(now()).unwrap();
    c.cookie.name.push('n');
    assert!(
        error_of(&c).contains("it leaves 127 of"),
        "{}",
        error_of(&c)
    );
}

#[test]
fn chunk_and_length_limits_are_bounded() {
    for (chunks, ok) in [(0, false), (1, true), (16, true), (17, false)] {
        let mut c = one_key();
        c.cookie.max_chunks = chunks;
        match c.validate_at(now()) {
            Ok(()) => assert!(ok, "{chunks}"),
            Err(e) => {
                assert!(!ok, "{chunks}");
                assert_eq!(
                    e.to_string(),
                    format!("cookie.max_chunks: is {chunks}; expected 1 to 16")
                );
            }
        }
    }
    for (len, ok) in [(255, false), (256, true), (8192, true), (8193, false)] {
        let mut c = one_key();
        c.cookie.max_cookie_len = len;
        match c.validate_at(now()) {
            Ok(()) => assert!(ok, "{len}"),
            Err(e) => {
                assert!(!ok, "{len}");
                assert!(e.to_string().starts_with(&format!(
                    "cookie.max_cookie_len: is {len}; expected 256 to 8192 bytes"
                )));
            }
        }
    }
}

/// S5 (issue 12): the chunks may not hold more than `open` accepts (`limits::MAX_SEALED_LEN`),
/// or the largest sessions written would be rejected on the next request.
#[test]
fn chunk_settings_beyond_what_open_accepts_are_refused() {
    for (len, chunks, ok) in [
        (8192, 16, false),
        (8192, 9, false),
        (4097, 16, false),
        (8192, 8, true),
        (4096, 16, true),
    ] {
        let mut c = one_key();
        c.cookie.max_cookie_len = len;
        c.cookie.max_chunks = chunks;
        match c.validate_at(now()) {
            Ok(()) => assert!(ok, "{len} x {chunks} accepted"),
            Err(e) => {
                assert!(!ok, "{len} x {chunks}: {e}");
                let e = e.to_string();
                assert!(e.starts_with("cookie.max_chunks: "), "{e}");
                assert!(e.contains("65536"), "{e}");
                let fewer = 65536 / len;
                assert!(e.contains(&format!("lower `max_chunks` to {fewer}")), "{e}");
            }
        }
    }
}

#[test]
fn expiry_settings_are_checked() {
    let err = cookie_error(|c| {
        c.expiry.idle = Duration::ZERO;
        c.expiry.absolute = Duration::ZERO;
    });
    assert!(
        err.starts_with("expiry.absolute: `idle` and `absolute` are both 0s"),
        "{err}"
    );
    let err = cookie_error(|c| c.expiry.renew_after = Some(2 * DAY));
    assert!(
        err.starts_with("expiry.renew_after: 2days is longer than `idle` (1day)"),
        "{err}"
    );
    let err = cookie_error(|c| c.expiry.skew = 2 * HOUR);
    assert!(err.starts_with("expiry.skew: 2h is more than 1h"), "{err}");
    let err = cookie_error(|c| c.expiry.not_before = Some(now() + HOUR));
    assert!(
        err.starts_with("expiry.not_before: 2026-12-01T01:00:00Z is in the future"),
        "{err}"
    );
    let mut ok = one_key();
    ok.expiry.not_before = Some(now());
    ok.expiry.idle = Duration::ZERO;
    ok.validate_at(now()).unwrap();
}

// ---------------------------------------------------------------------------------------------
// Environment form

#[test]
fn env_sets_every_field() {
    let config = env_config(&[
        ("SEALED_SESSION_COOKIE_NAME", "sid"),
        ("SEALED_SESSION_HOST_PREFIX", "false"),
        ("SEALED_SESSION_COOKIE_PATH", "/app"),
        ("SEALED_SESSION_COOKIE_DOMAIN", "example.com"),
        ("SEALED_SESSION_SECURE", "0"),
        ("SEALED_SESSION_HTTP_ONLY", "no"),
        ("SEALED_SESSION_SAME_SITE", "Strict"),
        ("SEALED_SESSION_BROWSER_SESSION", "on"),
        ("SEALED_SESSION_MAX_COOKIE_LEN", "1024"),
        ("SEALED_SESSION_MAX_CHUNKS", "2"),
        ("SEALED_SESSION_IDLE", "30m"),
        ("SEALED_SESSION_ABSOLUTE", "12h"),
        ("SEALED_SESSION_SKEW", "5s"),
        ("SEALED_SESSION_RENEW_AFTER", "10m"),
        ("SEALED_SESSION_NOT_BEFORE", "2026-11-01T00:00:00Z"),
        (
            "SEALED_SESSION_KEYS",
            &format!("1:aes-256-gcm:primary:{S1}"),
        ),
    ])
    .unwrap();
    let c = &config.cookie;
    assert_eq!((c.name.as_str(), c.path.as_str()), ("sid", "/app"));
    assert_eq!(c.domain.as_deref(), Some("example.com"));
    assert!(!c.host_prefix && !c.secure && !c.http_only && c.browser_session);
    assert_eq!(c.same_site, SameSite::Strict);
    assert_eq!((c.max_cookie_len, c.max_chunks), (1024, 2));
    let e = &config.expiry;
    assert_eq!(
        (e.idle, e.absolute, e.skew),
        (
            30 * Duration::from_mins(1),
            12 * HOUR,
            Duration::from_secs(5)
        )
    );
    assert_eq!(e.renew_after, Some(10 * Duration::from_mins(1)));
    assert_eq!(e.not_before, Some(at(DEC_1 - 30 * 86_400)));
    assert_eq!(config.keys.len(), 1);
    assert_eq!(config.keys[0].algorithm, "aes-256-gcm");
    config.validate_at(now()).unwrap();
}

#[test]
fn env_without_variables_gives_the_defaults() {
    let config = env_config(&[("SEALED_SESSION_IDLE", "")]).unwrap();
    assert_eq!(config.expiry.idle, DAY, "an empty variable is ignored");
    assert!(config.keys.is_empty());
}

#[test]
fn env_overrides_the_file_named_by_sealed_session_config() {
    let path = temp_path("env-base.toml");
    std::fs::write(
        &path,
        format!("[cookie]\nname = \"from-file\"\n[expiry]\nidle = \"1h\"\nabsolute = \"2h\"\n[[keys]]\nid = 1\nsecret = \"{S1}\"\n"),
    )
    .unwrap();
    let config = env_config(&[
        ("SEALED_SESSION_CONFIG", path.to_str().unwrap()),
        ("SEALED_SESSION_IDLE", "15m"),
    ])
    .unwrap();
    assert_eq!(config.cookie.name, "from-file");
    assert_eq!(config.expiry.idle, 15 * Duration::from_mins(1));
    assert_eq!(config.expiry.absolute, 2 * HOUR);
    assert_eq!(config.keys[0].id, 1);
    // SEALED_SESSION_KEYS replaces the file's keys.
    let config = env_config(&[
        ("SEALED_SESSION_CONFIG", path.to_str().unwrap()),
        (
            "SEALED_SESSION_KEYS",
            &format!("5:xaes-256-gcm:primary:{S2}"),
        ),
    ])
    .unwrap();
    assert_eq!(config.keys.len(), 1);
    assert_eq!(config.keys[0].id, 5);
    // A missing file is named.
    let err = env_error(&[("SEALED_SESSION_CONFIG", "/nonexistent/session.toml")]);
    assert_eq!(err, "cannot read config file `/nonexistent/session.toml`");
}

#[test]
fn env_values_that_do_not_parse_name_the_variable() {
    assert_eq!(
        env_error(&[("SEALED_SESSION_SECURE", "maybe")]),
        "SEALED_SESSION_SECURE: \"maybe\" is not a boolean; expected `true` or `false`"
    );
    assert_eq!(
        env_error(&[("SEALED_SESSION_MAX_CHUNKS", "four")]),
        "SEALED_SESSION_MAX_CHUNKS: \"four\" is not a whole number"
    );
    assert!(env_error(&[("SEALED_SESSION_IDLE", "1 fortnight")])
        .starts_with("SEALED_SESSION_IDLE: `1 fortnight` is not a duration"));
    assert!(env_error(&[("SEALED_SESSION_NOT_BEFORE", "2026-12-01")])
        .starts_with("SEALED_SESSION_NOT_BEFORE: "));
    assert_eq!(
        env_error(&[("SEALED_SESSION_SAME_SITE", "loose")]),
        "SEALED_SESSION_SAME_SITE: \"loose\" is not a SameSite value; expected `strict`, `lax` or `none`"
    );
}

#[test]
fn env_keys_grammar_with_activation_and_retirement() {
    let spec = format!(
        " 2:xaes-256-gcm:primary@2026-12-02T00:00:00Z:{S2} ; 1:chacha20-poly1305:primary:{S1};\
         0:aes-256-gcm:decrypt-only@2026-11-01T00:00:00+01:00:{S3};"
    );
    let config = env_config(&[("SEALED_SESSION_KEYS", &spec)]).unwrap();
    let k = &config.keys;
    assert_eq!(k.len(), 3);
    assert_eq!(
        (k[0].id, k[0].state, k[0].activate_at),
        (2, KeyState::Primary, Some(at(DEC_1 + 86_400)))
    );
    assert_eq!(
        (k[1].id, k[1].algorithm.as_str(), k[1].activate_at),
        (1, "chacha20-poly1305", None)
    );
    assert_eq!((k[2].id, k[2].state), (0, KeyState::DecryptOnly));
    assert_eq!(k[2].retired_at, Some(at(DEC_1 - 30 * 86_400 - 3600)));
    assert_eq!(k[2].activate_at, None);
    let ring = config.key_ring_at(now()).unwrap();
    assert_eq!(ring.primary_at(now()).id(), KeyId(1));
    assert_eq!(ring.primary_at(at(DEC_1 + 86_400)).id(), KeyId(2));
    // URL-safe secrets without padding are accepted too.
    let url_safe = S1.trim_end_matches('=');
    env_config(&[(
        "SEALED_SESSION_KEYS",
        &format!("1:xaes-256-gcm:primary:{url_safe}"),
    )])
    .unwrap()
    .validate_at(now())
    .unwrap();
}

#[test]
fn env_keys_errors_name_the_entry_and_never_the_secret() {
    let keys = |spec: String| {
        let err = env_error(&[("SEALED_SESSION_KEYS", &spec)]);
        assert!(err.starts_with("SEALED_SESSION_KEYS: "), "{err}");
        for secret in [S1, S2, SHORT] {
            assert!(!err.contains(secret), "{err}");
            assert!(!err.contains(&secret[..20]), "{err}");
        }
        err
    };
    let err = keys(format!("1:xaes-256-gcm:primary:{S1};2:primary:{S2}"));
    assert!(
        err.contains("entry 2: expected `id:algorithm:state[@time]:secret`"),
        "{err}"
    );
    let err = keys(format!("300:xaes-256-gcm:primary:{S1}"));
    assert!(
        err.contains("entry 1: the key id is not a number from 0 to 255"),
        "{err}"
    );
    let err = keys(format!("{S1}:xaes-256-gcm:primary:1"));
    assert!(err.contains("entry 1: the key id is not a number"), "{err}");
    let err = keys(format!("1:aes-128-gcm:primary:{S1}"));
    assert!(
        err.contains("entry 1 (key 1): the algorithm `aes-128-gcm` is not one of"),
        "{err}"
    );
    let err = keys(format!("1:{S2}:primary:{S1}"));
    assert!(
        err.contains("entry 1 (key 1): the algorithm is not one of"),
        "{err}"
    );
    let err = keys(format!("1:xaes-256-gcm:active:{S1}"));
    assert!(
        err.contains("entry 1 (key 1): the state `active` is not `primary` or `decrypt-only`"),
        "{err}"
    );
    let err = keys(format!("1:xaes-256-gcm:primary@2026-12-01T00:00:00:{S1}"));
    assert!(err.contains("entry 1 (key 1): after `@`: "), "{err}");
    assert!(err.contains("no UTC offset"), "{err}");
    let err = keys(format!("1:xaes-256-gcm:primary:{SHORT}"));
    assert!(
        err.contains("entry 1 (key 1): the secret decodes to 16 bytes"),
        "{err}"
    );
    let err = keys(format!("1:xaes-256-gcm:primary:{}*", &S1[..30]));
    assert!(
        err.contains("entry 1 (key 1): the secret is not valid base64"),
        "{err}"
    );
    let err = keys(" ; ".into());
    assert!(err.contains("holds no key"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Debug never shows a secret

#[test]
fn debug_never_shows_a_secret() {
    let key = KeyConfig::new(1, S1);
    let shown = format!("{key:?} {key:#?}");
    assert!(
        shown.contains("<redacted>") && !shown.contains(S1) && !shown.contains("AQEB"),
        "{shown}"
    );

    let config = env_config(&[(
        "SEALED_SESSION_KEYS",
        &format!("1:xaes-256-gcm:primary:{S1};2:aes-256-gcm:decrypt-only:{S2}"),
    )])
    .unwrap();
    let shown = format!("{config:?} {config:#?}");
    assert!(
        !shown.contains("AQEB") && !shown.contains("AgIC"),
        "{shown}"
    );
    assert!(!format!("{:?}", config.key_ring_at(now()).unwrap()).contains("AQEB"));

    let ephemeral = SessionConfig::ephemeral();
    let secret = ephemeral.keys[0].secret.clone().unwrap();
    assert!(!format!("{ephemeral:?}").contains(&secret));
}

// ---------------------------------------------------------------------------------------------
// Ephemeral

#[test]
fn ephemeral_has_one_fresh_primary_key() {
    let a = SessionConfig::ephemeral();
    let b = SessionConfig::ephemeral();
    a.validate().unwrap();
    assert_eq!(a.keys.len(), 1);
    assert_eq!(a.keys[0].state, KeyState::Primary);
    assert_ne!(
        a.keys[0].secret, b.keys[0].secret,
        "a fresh secret each time"
    );
}

// ---------------------------------------------------------------------------------------------
// Rotation report

fn status(config: &SessionConfig, id: u8, at: SystemTime) -> KeyStatus {
    let report = config.rotation_report(at).unwrap();
    report
        .keys
        .iter()
        .find(|k| k.id == KeyId(id))
        .unwrap()
        .status
}

#[test]
fn rotation_report_follows_the_staged_runbook() {
    let skew = Duration::from_mins(1);
    let absolute = 7 * DAY;
    // Step 1: the new key 2 is added as decrypt-only beside the primary 1.
    let mut config = one_key();
    config.keys.push(KeyConfig::new(2, S2).decrypt_only());
    let report = config.rotation_report(now()).unwrap();
    assert_eq!(report.primary, KeyId(1));
    assert_eq!(report.next_activation, None);
    assert_eq!(status(&config, 1, now()), KeyStatus::Primary);
    assert_eq!(status(&config, 2, now()), KeyStatus::RetirementUnknown);
    assert!(report.safe_to_remove().is_empty());

    // Step 2: key 2 is promoted at T (scheduled).
    let t = now() + HOUR;
    config.keys[1] = KeyConfig::new(2, S2).activate_at(t);
    let report = config.rotation_report(now()).unwrap();
    assert_eq!(report.primary, KeyId(1));
    assert_eq!(report.next_activation, Some((KeyId(2), t)));
    assert_eq!(status(&config, 2, now()), KeyStatus::Scheduled { at: t });
    // A value created up to `t + skew` (clock differences) lives `absolute` from then, and is
    // accepted `skew` past that: removing the key at `t + absolute + skew` could log out a
    // user early.
    let safe_at = t + absolute + 2 * skew + Duration::from_secs(1);
    assert_eq!(
        status(&config, 1, t),
        KeyStatus::Retiring {
            since: t,
            safe_at: Some(safe_at)
        }
    );
    assert_eq!(config.rotation_report(t).unwrap().primary, KeyId(2));
    assert_eq!(
        status(&config, 1, safe_at - Duration::from_secs(1)),
        KeyStatus::Retiring {
            since: t,
            safe_at: Some(safe_at)
        }
    );
    assert_eq!(
        status(&config, 1, safe_at),
        KeyStatus::Removable { since: t, safe_at }
    );
    assert_eq!(
        config.rotation_report(safe_at).unwrap().safe_to_remove(),
        [KeyId(1)]
    );

    // Step 3: key 1 demoted, with the demotion recorded.
    config.keys[0] = KeyConfig::new(1, S1).decrypt_only().retired_at(t);
    assert_eq!(
        status(&config, 1, t + DAY),
        KeyStatus::Retiring {
            since: t,
            safe_at: Some(safe_at)
        }
    );
    assert_eq!(
        status(&config, 1, safe_at),
        KeyStatus::Removable { since: t, safe_at }
    );
    assert_eq!(status(&config, 2, safe_at), KeyStatus::Primary);

    // Step 4: key 1 removed; the ring still validates.
    config.keys.remove(0);
    assert_eq!(config.rotation_report(safe_at).unwrap().primary, KeyId(2));
}

/// Key 1 retired at `t`, key 2 the primary.
fn retired_then_primary(t: SystemTime) -> SessionConfig {
    SessionConfig {
        keys: vec![
            KeyConfig::new(1, S1).decrypt_only().retired_at(t),
            KeyConfig::new(2, S2),
        ],
        ..SessionConfig::default()
    }
}

#[test]
fn rotation_report_without_absolute_timeout_never_frees_a_key_unless_revoked() {
    let t = now() - DAY;
    let mut config = retired_then_primary(t);
    config.expiry.absolute = Duration::ZERO;
    assert_eq!(
        status(&config, 1, now()),
        KeyStatus::Retiring {
            since: t,
            safe_at: None
        }
    );
    // A mass logout after the demotion rejects every value key 1 sealed.
    config.expiry.not_before = Some(now() - HOUR);
    assert_eq!(
        status(&config, 1, now()),
        KeyStatus::Removable {
            since: t,
            safe_at: now() - HOUR
        }
    );
    // One before the demotion does not.
    config.expiry.not_before = Some(t - HOUR);
    assert_eq!(
        status(&config, 1, now()),
        KeyStatus::Retiring {
            since: t,
            safe_at: None
        }
    );
}

/// An absolute timeout too long to add to an instant (`u64::MAX` seconds, which validation
/// accepts) means a retired key never becomes safe to remove by age; the report used to
/// panic adding the durations (and `check-config` with it).
#[test]
fn rotation_report_with_an_absolute_timeout_past_any_instant_does_not_panic() {
    let t = now() - DAY;
    let mut config = retired_then_primary(t);
    for absolute in [Duration::from_secs(u64::MAX), Duration::MAX] {
        config.expiry.absolute = absolute;
        assert_eq!(
            status(&config, 1, now()),
            KeyStatus::Retiring {
                since: t,
                safe_at: None
            }
        );
    }
}

#[test]
fn rotation_report_display_lists_keys_and_removals() {
    let t = now() - 8 * DAY;
    let config = SessionConfig {
        keys: vec![
            KeyConfig::new(1, S1).decrypt_only().retired_at(t),
            KeyConfig::new(2, S2),
            KeyConfig::new(3, S3).activate_at(now() + DAY),
            KeyConfig::new(4, S3).decrypt_only(),
        ],
        ..SessionConfig::default()
    };
    let text = config.rotation_report(now()).unwrap().to_string();
    assert!(text.contains("primary now: key 2 (xaes-256-gcm)"), "{text}");
    assert!(
        text.contains("next activation: key 3 at 2026-12-02T00:00:00Z"),
        "{text}"
    );
    assert!(
        text.contains("scheduled: becomes primary at 2026-12-02T00:00:00Z"),
        "{text}"
    );
    assert!(text.contains("no `retired_at`"), "{text}");
    assert!(text.ends_with("safe to remove: key 1"), "{text}");
}

#[test]
fn rotation_report_validates_first() {
    let mut config = one_key();
    config.cookie.max_chunks = 0;
    assert!(config
        .rotation_report(now())
        .unwrap_err()
        .to_string()
        .starts_with("cookie.max_chunks"));
}

#[test]
fn a_secret_in_the_wrong_place_is_not_echoed() {
    let err = toml_error(&format!("[[keys]]\nid = \"{S1}\"\n"));
    assert!(err.contains("<redacted>"), "{err}");
    assert!(!err.contains("AQEB"), "{err}");
    let err = toml_error(&format!("[expiry]\nidle = \"{S1}\"\n"));
    assert!(!err.contains("AQEB"), "{err}");
    let err = env_error(&[("SEALED_SESSION_SECURE", S1)]);
    assert!(!err.contains("AQEB"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Warnings at layer build

/// S10 (issue 12): each insecure setting is warned about once, when the layer is built (by
/// `new` or `connect`), naming the setting; secure settings warn about nothing, and builder
/// methods on a built layer do not warn again.
#[test]
fn insecure_settings_are_warned_once_at_layer_build() {
    let (layer, logs) = capture(|| SessionLayer::new(one_key()).unwrap());
    assert_eq!(logs.at("WARN"), Vec::<String>::new(), "secure defaults");
    let (_, logs) = capture(|| {
        layer
            .clone()
            .oversize_policy(sealed_session::middleware::OversizePolicy::default())
    });
    assert!(logs.at("WARN").is_empty());

    let cases: [(&str, &[&str]); 3] = [
        (
            "[cookie]\nsecure = false\nhost_prefix = false\n",
            &["cookie.secure", "cookie.host_prefix"],
        ),
        ("[cookie]\nhost_prefix = false\n", &["cookie.host_prefix"]),
        ("[cookie]\nhttp_only = false\n", &["cookie.http_only"]),
    ];
    for (toml, settings) in cases {
        let text = format!("{toml}[[keys]]\nid = 1\nsecret = \"{S1}\"\n");
        let built = |connect: bool| {
            let config = SessionConfig::from_toml_str(&text).unwrap();
            let ((), logs) = capture(|| {
                if connect {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .unwrap();
                    rt.block_on(SessionLayer::connect(config)).unwrap();
                } else {
                    SessionLayer::new(config).unwrap();
                }
            });
            logs.at("WARN")
        };
        for connect in [false, true] {
            let warnings = built(connect);
            assert_eq!(warnings.len(), settings.len(), "{toml}: {warnings:?}");
            for setting in settings {
                let n = warnings.iter().filter(|w| w.contains(setting)).count();
                assert_eq!(n, 1, "{toml}: {setting} in {warnings:?}");
            }
        }
    }

    let (_, logs) = capture(|| SessionLayer::new(SessionConfig::ephemeral()).unwrap());
    let warnings = logs.at("WARN");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("ephemeral"), "{warnings:?}");
}

/// A `SEALED_SESSION_*` variable that nothing reads (a misspelled setting: a mass logout's
/// `NOTBEFORE` for `NOT_BEFORE`) is ignored, so `from_env` says so in a warning that names
/// it and never shows its value; the variables it reads, and a key's `secret_env`, are not
/// warned about. (It sets variables of its own in the process environment; no other test
/// here reads them.)
#[test]
fn from_env_warns_about_a_variable_it_does_not_read() {
    let file =
        std::env::temp_dir().join(format!("sealed-session-unread-{}.toml", std::process::id()));
    std::fs::write(
        &file,
        "[[keys]]\nid = 1\nsecret_env = \"SEALED_SESSION_TEST_KEY_1\"\n",
    )
    .unwrap();
    let set = [
        ("SEALED_SESSION_CONFIG", file.to_str().unwrap()),
        ("SEALED_SESSION_NOTBEFORE", "2023-11-14T00:00:00Z"),
        ("SEALED_SESSION_IDLE", "5m"),
        ("SEALED_SESSION_TEST_KEY_1", S1),
    ];
    for (var, value) in set {
        std::env::set_var(var, value);
    }
    let (config, logs) = capture(SessionConfig::from_env);
    for (var, _) in set {
        std::env::remove_var(var);
    }
    let _ = std::fs::remove_file(&file);
    let config = config.unwrap();
    assert_eq!(config.expiry.idle, Duration::from_mins(5));
    assert_eq!(config.expiry.not_before, None);
    // Only ours: the test run's own variables (`SEALED_SESSION_REQUIRE_REDIS`, …) are unread
    // too, and warned about alike.
    let warnings = logs.at("WARN");
    let about = |var: &str| {
        let needle = format!("`{var}` is set, but sealed-session reads no such variable");
        warnings.iter().filter(|w| w.contains(&needle)).count()
    };
    assert_eq!(about("SEALED_SESSION_NOTBEFORE"), 1, "{warnings:?}");
    for (var, _) in &set[..] {
        if *var != "SEALED_SESSION_NOTBEFORE" {
            assert_eq!(about(var), 0, "{var}: {warnings:?}");
        }
    }
    assert!(!logs.text().contains("2023-11-14"), "{}", logs.text());
}

/// A secret file saved by an editor that writes a byte-order mark (and CRLF line ends) holds
/// the same secret: the mark is no part of base64, and the file was refused as "not valid
/// base64" with nothing visible to fix.
#[test]
fn a_secret_file_with_a_byte_order_mark_reads_as_its_secret() {
    let path = temp_path("secret-bom");
    std::fs::write(&path, format!("\u{feff}{S3}\r\n")).unwrap();
    let with_bom = KeyConfig::from_secret_file(3, &path).build().unwrap();
    std::fs::write(&path, format!("{S3}\n")).unwrap();
    let plain = KeyConfig::from_secret_file(3, &path).build().unwrap();
    let _ = std::fs::remove_file(&path);
    // The same key: what one seals, the other opens.
    let sealer =
        sealed_session::seal::Sealer::new("s", sealed_session::time::ExpiryPolicy::default());
    let now = std::time::SystemTime::now();
    let ring = |key| sealed_session::keys::KeyRing::new([key]).unwrap();
    let value = sealer
        .seal(
            &ring(with_bom),
            &sealed_session::data::SessionData::new(),
            now,
        )
        .unwrap();
    assert!(sealer.open(&ring(plain), &value, now).is_ok());
}
