//! Any `Cookie` header through the whole layer: parsing, duplicate names, chunk joining,
//! opening. Also asserts that the response is never a 500.
#![no_main]

#[path = "../bodies/cookie_header.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
