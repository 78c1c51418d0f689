//! Any TOML as a configuration: parsing, validation and key ring construction must never
//! panic, and errors must never quote a secret.
//!
//! Two oracles (issue 12, S1):
//! - every string the input puts in any field that could be a whole secret (43 or more
//!   characters of one base64 alphabet) is absent from the error it leads to;
//! - a real secret, in each of its four base64 forms, planted in turn in every string field of
//!   the parsed configuration and in every quoted string of the input text, never shows in an
//!   error (`Display` or `Debug`), not even 22 characters of it.
//!
//! The body of the fuzz target `config`, apart from its `fuzz_target!` so that `cargo test`
//! replays the committed corpus through the same code on stable (`fuzz/replay.rs`).

use sealed_session::SessionConfig;

/// 32 random bytes, standard padded / unpadded, URL-safe padded / unpadded.
const SECRETS: [&str; 4] = [
    "R0Co3CrEszRPB+C4p/QqeQRK7mYnyv1I/ZoOUpWRCkg=",
    "R0Co3CrEszRPB+C4p/QqeQRK7mYnyv1I/ZoOUpWRCkg",
    "R0Co3CrEszRPB-C4p_QqeQRK7mYnyv1I_ZoOUpWRCkg=",
    "R0Co3CrEszRPB-C4p_QqeQRK7mYnyv1I_ZoOUpWRCkg",
];

/// At most this many quoted strings of the input are replaced by a secret, one at a time.
const MAX_PLANTS: usize = 8;

/// The error `text` leads to (parsing, validation, key ring), as `Display | Debug`.
fn error_of(text: &str) -> Option<String> {
    let result = SessionConfig::from_toml_str(text).and_then(|c| {
        c.validate()?;
        c.key_ring().map(drop)
    });
    result.err().map(|e| format!("{e} | {e:?}"))
}

fn error_of_config(config: &SessionConfig) -> Option<String> {
    let result = config.validate().and_then(|()| config.key_ring().map(drop));
    result.err().map(|e| format!("{e} | {e:?}"))
}

fn assert_not_echoed(message: &str, secret: &str) {
    let chars: Vec<char> = secret.trim_end_matches('=').chars().collect();
    for window in chars.windows(22) {
        let window: String = window.iter().collect();
        assert!(
            !message.contains(&window),
            "error echoes a planted secret: {message}"
        );
    }
}

/// Runs of 43 or more characters of one base64 alphabet in `value`: whole secrets.
fn secret_runs(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    for extra in ["+/", "-_"] {
        let mut run = String::new();
        for c in value.chars().chain(std::iter::once('\0')) {
            if c.is_ascii_alphanumeric() || extra.contains(c) {
                run.push(c);
            } else {
                if run.len() >= 43 {
                    out.push(run.clone());
                }
                run.clear();
            }
        }
    }
    out
}

/// Every string field of `config`, as a mutable slot.
fn string_fields(config: &mut SessionConfig) -> Vec<&mut String> {
    let mut fields = vec![
        &mut config.cookie.name,
        &mut config.cookie.path,
        &mut config.store.url,
        &mut config.store.prefix,
    ];
    if let Some(d) = config.cookie.domain.as_mut() {
        fields.push(d);
    }
    for key in &mut config.keys {
        fields.push(&mut key.algorithm);
        if let Some(s) = key.secret.as_mut() {
            fields.push(s);
        }
        if let Some(s) = key.secret_env.as_mut() {
            fields.push(s);
        }
    }
    fields
}

/// One fuzz input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let secret = SECRETS[data.len() % SECRETS.len()];

    // Oracle 1: what the input itself put in a field.
    if let Ok(mut config) = SessionConfig::from_toml_str(text) {
        if let Some(message) = error_of_config(&config) {
            let mut values: Vec<String> = string_fields(&mut config)
                .into_iter()
                .map(|s| s.clone())
                .collect();
            for key in &config.keys {
                if let Some(p) = &key.secret_file {
                    values.push(p.to_string_lossy().into_owned());
                }
            }
            for run in values.iter().flat_map(|v| secret_runs(v)) {
                assert!(!message.contains(&run), "error quotes a secret: {message}");
            }
        }
        let _ = format!("{config:?}");

        // Oracle 2a: a secret planted in each string field of the parsed configuration.
        let n = string_fields(&mut config).len();
        for i in 0..n {
            let mut planted = config.clone();
            *string_fields(&mut planted).swap_remove(i) = secret.to_owned();
            if let Some(message) = error_of_config(&planted) {
                assert_not_echoed(&message, secret);
            }
        }
        for i in 0..config.keys.len() {
            let mut planted = config.clone();
            planted.keys[i].secret_file = Some(secret.into());
            planted.keys[i].secret = None;
            planted.keys[i].secret_env = None;
            if let Some(message) = error_of_config(&planted) {
                assert_not_echoed(&message, secret);
            }
            assert_not_echoed(&format!("{:?}", planted.keys[i]), secret);
        }
    }

    // Oracle 2b: a secret planted in each quoted string of the text (durations, times,
    // states, modes, ids written as strings, table and field names: every field).
    let quotes: Vec<usize> = text.match_indices('"').map(|(i, _)| i).collect();
    for pair in quotes.chunks_exact(2).take(MAX_PLANTS) {
        let (open, close) = (pair[0], pair[1]);
        let planted = format!("{}{secret}{}", &text[..=open], &text[close..]);
        if let Some(message) = error_of(&planted) {
            assert_not_echoed(&message, secret);
        }
    }
    let _ = error_of(text);
}
