//! Arbitrary bytes as one session value (wire format v2: MessagePack), authenticated, then
//! read as many types: fuzzes the value decoder (`skip` for the framing, typed decoding with
//! `deserialize_any`, depth and length bounds). Whatever reads as a JSON value re-inserts and
//! reads back equal.
#![no_main]

#[path = "../bodies/open_values.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
