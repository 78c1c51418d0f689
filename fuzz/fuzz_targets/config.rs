//! Any TOML as a configuration: parsing, validation and key ring construction must never
//! panic, and errors must never quote a secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealed_session::SessionConfig;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = toml::from_str::<SessionConfig>(text) else { return };
    if let Err(e) = config.validate() {
        let message = e.to_string();
        for key in &config.keys {
            if let Some(secret) = key.secret.as_deref().filter(|s| s.len() >= 8) {
                assert!(!message.contains(secret), "error quotes a secret: {message}");
            }
        }
    }
    let _ = config.key_ring();
    let _ = format!("{config:?}");
});
