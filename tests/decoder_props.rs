//! The fuzz targets' decoders under proptest, so that stable-toolchain CI covers them too:
//! authenticated payloads (`open_authenticated`), `Cookie` headers through the layer
//! (`cookie_header`) and configuration TOML (`config`). Crashes found by `fuzz/` become
//! regression cases at the end of this file.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use http::{header, HeaderValue, Request, Response, StatusCode};
use proptest::collection::vec;
use proptest::prelude::*;
use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
use sealed_session::seal::Sealer;
use sealed_session::time::ExpiryPolicy;
use sealed_session::{Session, SessionConfig, SessionLayer};
use tower::{Layer, Service};

use common::outside::seal_outside;
use common::plant::{assert_not_echoed, encodings, errors_with, PLANTED};

const SECRET: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

/// Sends `cookie` through a layer around a handler that reads and writes the session.
fn through_layer(cookie: HeaderValue) -> StatusCode {
    let config = SessionConfig::from_toml_str(&format!(
        "[cookie]\nname = \"s\"\nhost_prefix = false\nmax_chunks = 4\nmax_cookie_len = 512\n\
         [[keys]]\nid = 1\nsecret = \"{SECRET}\"\n"
    ))
    .unwrap();
    let mut svc = SessionLayer::new(config).unwrap().layer(tower::service_fn(
        |req: Request<()>| async move {
            let session = req.extensions().get::<Session>().unwrap();
            let n: u64 = session.get("n").ok().flatten().unwrap_or(0);
            session.insert("n", &(n + 1)).unwrap();
            Ok::<_, Infallible>(Response::new(String::new()))
        },
    ));
    let mut req = Request::new(());
    req.headers_mut().insert(header::COOKIE, cookie);
    let mut fut = std::pin::pin!(svc.call(req));
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(res)) => res.status(),
        Poll::Ready(Err(e)) => match e {},
        Poll::Pending => panic!("client mode never waits"),
    }
}

/// A `Cookie` header made of our cookie, chunk cookies and others, with random values.
fn cookie_header() -> impl Strategy<Value = String> {
    let name = prop_oneof![
        Just("s".to_owned()),
        (0u32..20).prop_map(|i| format!("s.{i}")),
        "[a-z.]{1,4}",
    ];
    let value = prop_oneof![
        "[A-Za-z0-9_-]{0,80}",
        (1u32..30, "[A-Za-z0-9_-]{0,40}").prop_map(|(n, v)| format!("{n}.{v}")),
        "[ -~]{0,20}",
    ];
    vec((name, value), 0..12).prop_map(|pairs| {
        pairs
            .into_iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_cookie_header_gives_a_200(header in cookie_header()) {
        if let Ok(value) = HeaderValue::from_str(&header) {
            prop_assert_eq!(through_layer(value), StatusCode::OK);
        }
    }

    #[test]
    fn any_header_bytes_give_a_200(bytes in vec(any::<u8>(), 0..300)) {
        if let Ok(value) = HeaderValue::from_bytes(&bytes) {
            prop_assert_eq!(through_layer(value), StatusCode::OK);
        }
    }

    #[test]
    fn any_authenticated_plaintext_opens_or_is_malformed(plaintext in vec(any::<u8>(), 0..300)) {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let ring = KeyRing::new_at([Key::new(KeyId(1), Algorithm::Aes256Gcm, &[1; 32])], now).unwrap();
        let value = seal_outside(Algorithm::Aes256Gcm, &[1; 32], 1, "s", &plaintext);
        let sealer = Sealer::new("s", ExpiryPolicy::default().no_idle().no_absolute());
        if let Ok(opened) = sealer.open(&ring, &value, now) {
            // Whatever decoded survives a round trip.
            let again = sealer.seal(&ring, &opened.data, now).unwrap();
            let back = sealer.open(&ring, &again, now).unwrap();
            prop_assert_eq!(back.data.keys().collect::<Vec<_>>(), opened.data.keys().collect::<Vec<_>>());
        }
    }

    #[test]
    fn any_toml_never_panics_and_errors_never_quote_secrets(text in "[ -~\n]{0,200}") {
        if let Ok(config) = SessionConfig::from_toml_str(&text) {
            if let Err(e) = config.validate() {
                let message = e.to_string();
                for key in &config.keys {
                    if let Some(secret) = key.secret.as_deref().filter(|s| s.len() >= 8) {
                        prop_assert!(!message.contains(secret));
                    }
                }
            }
            let _ = format!("{config:?}");
        }
    }

    /// S1 (issue 12): a secret — any 32 bytes, in any of the four base64 forms, with what
    /// a careless paste puts around it — planted in any string field, TOML or environment,
    /// never reaches an error (`Display` or `Debug`).
    #[test]
    fn planted_secret_in_any_string_field_never_reaches_an_error(
        bytes in proptest::array::uniform32(any::<u8>()),
        form in 0usize..4,
        before in prop_oneof![Just(""), Just(" "), Just("/run/secrets/"), Just("x"), Just("base64:")],
        after in prop_oneof![Just(""), Just(" "), Just("\t"), Just(".key"), Just("-")],
    ) {
        let secret = encodings(&bytes)[form].clone();
        let planted = format!("{before}{secret}{after}");
        for (place, text) in errors_with(&planted) {
            assert_not_echoed(&place, &text, &secret);
        }
    }

    #[test]
    fn structured_toml_never_panics(
        id in 0u32..300,
        alg in "[a-z0-9-]{0,20}",
        state in "[a-z-]{0,14}",
        secret in "[A-Za-z0-9+/=]{0,60}",
        idle in "[0-9a-z ]{0,8}",
        chunks in 0u32..40,
    ) {
        let text = format!(
            "[cookie]\nmax_chunks = {chunks}\n[expiry]\nidle = \"{idle}\"\n\
             [[keys]]\nid = {id}\nalgorithm = \"{alg}\"\nstate = \"{state}\"\nsecret = \"{secret}\"\n"
        );
        if let Ok(config) = SessionConfig::from_toml_str(&text) {
            let _ = config.validate();
            let _ = config.key_ring();
        }
    }
}

/// S1 (issue 12), the proven cases and every other field: a real secret pasted into
/// `secret_env`, `secret_file`, `algorithm` (or any other setting or variable) is never
/// echoed by the error, in any of its four base64 forms.
#[test]
fn a_secret_pasted_into_any_field_is_never_echoed() {
    for secret in encodings(&PLANTED) {
        let errors = errors_with(&secret);
        // The three proven leaks are among the places checked.
        for place in [
            "TOML keys.secret_env",
            "TOML keys.secret_file",
            "TOML keys.algorithm",
        ] {
            assert!(
                errors.iter().any(|(p, _)| p == place),
                "{place} gave no error"
            );
        }
        for (place, text) in &errors {
            assert_not_echoed(place, text, &secret);
        }
    }
}

/// A secret pasted with a stray character in it (two runs of 21 that the run rule let through
/// whole), percent-encoded, or a 128-bit key in hex: still one character from a secret, and
/// each was echoed by the error of every field that quotes its value.
#[test]
fn a_secret_pasted_with_a_stray_character_or_encoded_is_never_echoed() {
    let mut planted: Vec<String> = Vec::new();
    for secret in encodings(&PLANTED) {
        let mid = secret.len() / 2;
        for stray in ['!', '.', '#', ' '] {
            let mut broken = secret.clone();
            broken.replace_range(mid..=mid, &stray.to_string());
            planted.push(broken);
        }
        planted.push(
            secret
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D"),
        );
    }
    let hex: String = PLANTED[..16]
        .iter()
        .fold(String::new(), |hex, b| hex + &format!("{b:02x}"));
    planted.push(hex.to_uppercase());
    planted.push(hex);
    for value in planted {
        let errors = errors_with(&value);
        assert!(
            errors.iter().any(|(p, _)| p == "TOML keys.secret_env"),
            "{value}: secret_env gave no error"
        );
        for (place, text) in &errors {
            assert_not_echoed(place, text, &value);
        }
    }
}

// ---------------------------------------------------------------- regressions from fuzz/

/// `fuzz/` target `config`, 2026-11-26: a key's (invalid) secret pasted into the cookie name
/// came back in the validation error, which quoted the whole name. Errors now name the field
/// and the offending character, never the value.
#[test]
fn fuzz_config_cookie_name_error_does_not_quote_a_secret() {
    let text = include_str!("fuzz_regressions/config-secret-in-cookie-name.toml");
    let config = SessionConfig::from_toml_str(text).unwrap();
    let message = config.validate().unwrap_err().to_string();
    assert!(message.starts_with("cookie.name: "), "{message}");
    for key in &config.keys {
        let secret = key.secret.as_deref().unwrap();
        assert!(!message.contains(secret), "{message}");
    }
    // The realistic case: a real 32-byte secret pasted into a field by mistake.
    let real = "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
    for field in [
        format!("[cookie]\nname = \"{real}\""),
        format!("[cookie]\nhost_prefix = false\npath = \"{real}\""),
        format!("[cookie]\nhost_prefix = false\ndomain = \"{real}\""),
    ] {
        let text = format!("{field}\n[[keys]]\nid = 1\nsecret = \"{real}\"\n");
        let message = SessionConfig::from_toml_str(&text)
            .and_then(|c| c.validate())
            .unwrap_err()
            .to_string();
        assert!(!message.contains(real), "{message}");
    }
}
