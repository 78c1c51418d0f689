//! The wire format written again outside the library, from the `RustCrypto` crates directly:
//! HKDF-SHA256 with `info = "sealed-session v1 <algorithm> cookie"`, then the AEAD over
//! `header ‖ nonce ‖ ciphertext ‖ tag` with `AAD = header ‖ purpose ‖ cookie name` (v2,
//! purpose `c` for a client cookie, `i` for a server-mode id) or `AAD = header ‖ cookie name`
//! (v1).
//!
//! Tests use it to make authenticated values with any plaintext (the library's codec is
//! crate-private and only ever seals real payloads), and to check that a value the library
//! sealed opens with nothing but the documented construction.

use aes_gcm::aead::{AeadInOut, KeyInit};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use hkdf::Hkdf;
use sealed_session::keys::Algorithm;
use sha2::Sha256;

/// The wire format version the library writes.
pub const VERSION: u8 = 2;

/// Appends `n` as postcard writes an unsigned integer (LEB128), for hand-made payloads.
pub fn varint(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let low = u8::try_from(n & 0x7f).expect("seven bits");
        n >>= 7;
        if n == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// The AAD of a value with this header, purpose and cookie name.
fn aad(header: &[u8], purpose: u8, name: &str) -> Vec<u8> {
    if header[0] == 1 {
        [header, name.as_bytes()].concat()
    } else {
        [header, &[purpose], name.as_bytes()].concat()
    }
}

fn derive(alg: Algorithm, secret: &[u8; 32]) -> [u8; 32] {
    let info = format!("sealed-session v1 {} cookie", alg.name());
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(None, secret)
        .expand(info.as_bytes(), &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    key
}

/// Seals `plaintext` as a client cookie (wire format v2) under key `key_id` (secret `secret`,
/// algorithm `alg`) for cookie `name`, with a fixed nonce of `0x5a` bytes.
pub fn seal_outside(
    alg: Algorithm,
    secret: &[u8; 32],
    key_id: u8,
    name: &str,
    plaintext: &[u8],
) -> String {
    seal_outside_as(VERSION, b'c', alg, secret, key_id, name, plaintext)
}

/// As [`seal_outside`], in wire format `version` and for `purpose` (`b'c'`, `b'i'`).
pub fn seal_outside_as(
    version: u8,
    purpose: u8,
    alg: Algorithm,
    secret: &[u8; 32],
    key_id: u8,
    name: &str,
    plaintext: &[u8],
) -> String {
    fn seal_with<C: AeadInOut + KeyInit>(
        key: &[u8],
        head: &[u8],
        aad: &[u8],
        pt: &[u8],
    ) -> Vec<u8> {
        let cipher = C::new_from_slice(key).expect("32-byte key");
        let nonce = &head[2..];
        let mut buf = pt.to_vec();
        let tag = cipher
            .encrypt_inout_detached(
                nonce.try_into().expect("nonce length"),
                aad,
                buf.as_mut_slice().into(),
            )
            .expect("seals");
        [head, &buf, tag.as_slice()].concat()
    }
    let key = derive(alg, secret);
    let head = [&[version, key_id][..], &vec![0x5a; alg.nonce_len()]].concat();
    let aad = aad(&head[..2], purpose, name);
    let bytes = match alg {
        Algorithm::Xaes256Gcm => {
            seal_with::<xaes_256_gcm::Xaes256Gcm>(&key, &head, &aad, plaintext)
        }
        Algorithm::Aes256Gcm => seal_with::<aes_gcm::Aes256Gcm>(&key, &head, &aad, plaintext),
        Algorithm::ChaCha20Poly1305 => {
            seal_with::<chacha20poly1305::ChaCha20Poly1305>(&key, &head, &aad, plaintext)
        }
    };
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Opens decoded client-cookie value `bytes` (v1 or v2) for cookie `name`; `None` if it does
/// not authenticate.
pub fn open_outside(
    alg: Algorithm,
    secret: &[u8; 32],
    name: &str,
    bytes: &[u8],
) -> Option<Vec<u8>> {
    fn open_with<C: AeadInOut + KeyInit>(
        key: &[u8],
        nonce_len: usize,
        name: &str,
        bytes: &[u8],
    ) -> Option<Vec<u8>> {
        let cipher = C::new_from_slice(key).ok()?;
        let (head, rest) = bytes.split_at_checked(2 + nonce_len)?;
        let (header, nonce) = head.split_at(2);
        let (ciphertext, tag) = rest.split_at_checked(rest.len().checked_sub(16)?)?;
        let aad = aad(header, b'c', name);
        let mut buf = ciphertext.to_vec();
        cipher
            .decrypt_inout_detached(
                nonce.try_into().ok()?,
                &aad,
                buf.as_mut_slice().into(),
                tag.try_into().ok()?,
            )
            .ok()?;
        Some(buf)
    }
    let key = derive(alg, secret);
    let n = alg.nonce_len();
    match alg {
        Algorithm::Xaes256Gcm => open_with::<xaes_256_gcm::Xaes256Gcm>(&key, n, name, bytes),
        Algorithm::Aes256Gcm => open_with::<aes_gcm::Aes256Gcm>(&key, n, name, bytes),
        Algorithm::ChaCha20Poly1305 => {
            open_with::<chacha20poly1305::ChaCha20Poly1305>(&key, n, name, bytes)
        }
    }
}
