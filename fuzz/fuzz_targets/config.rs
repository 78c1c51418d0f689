//! Any TOML as a configuration: parsing, validation and key ring construction must never
//! panic, and errors must never quote a secret.
//!
//! Two oracles (issue 12, S1):
//! - every string the input puts in any field that could be a whole secret (43 or more
//!   characters of one base64 alphabet) is absent from the error it leads to;
//! - a real secret, in each of its four base64 forms, planted in turn in every string field of
//!   the parsed configuration and in every quoted string of the input text, never shows in an
//!   error (`Display` or `Debug`), not even 22 characters of it.
#![no_main]

#[path = "../bodies/config.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
