//! Any string as a cookie value, opened against a fixed key ring (one key per algorithm).
#![no_main]

#[path = "../bodies/open_cookie.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
