//! Arbitrary plaintext sealed with a real key, then opened: fuzzes the payload decoders that
//! run after authentication (postcard framing, MessagePack values, entry order, timestamps).
//! The first input byte picks wire format v1 (postcard values) or v2 (MessagePack values).
#![no_main]

#[path = "../bodies/open_authenticated.rs"]
mod body;

libfuzzer_sys::fuzz_target!(|data: &[u8]| body::run(data));
