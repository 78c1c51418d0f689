//! What is wiped from memory when a key's derivation is done (issue 12, S12).
//!
//! `Key::new` runs HKDF-SHA256 (the `hkdf` crate over `hmac` and `sha2`) on the secret. Freed
//! memory is not observable from safe Rust, so this checks, at compile time, that the types
//! holding secret-derived state while HKDF runs implement `ZeroizeOnDrop` — which they do only
//! with the `zeroize` feature of `sha2` (the SHA-256 states) and of `digest` (the block
//! buffers), both turned on by `sha2 = { features = ["zeroize"] }` in Cargo.toml. Without it
//! this file does not compile. What stays unzeroized is listed in SECURITY.md.

use hkdf::hmac::block_api::HmacCore;
use hkdf::hmac::digest::block_api::Buffer;
use hkdf::hmac::EagerHash;
use sha2::Sha256;
use zeroize::ZeroizeOnDrop;

fn zeroized_on_drop<T: ZeroizeOnDrop>() {}

#[test]
fn hkdf_hmac_sha256_state_is_zeroized_on_drop() {
    // `Hmac<Sha256>` is `HmacCore { digest, opad_digest }` (the inner and outer SHA-256 states,
    // keyed with the secret during extract and with the PRK during expand) plus a block
    // buffer (which holds the 32-byte secret while extract absorbs it).
    zeroized_on_drop::<<Sha256 as EagerHash>::Core>();
    zeroized_on_drop::<Buffer<HmacCore<Sha256>>>();
    // The plain hasher, as the server-mode record key uses it.
    zeroized_on_drop::<Sha256>();
}
