//! The README's first hour, as a newcomer meets it: its `session.toml` is the one in
//! `examples/`, and it validates as written once `SESSION_KEY_1` holds a key (the README's
//! Rust code blocks are doctests through `src/lib.rs`).

use sealed_session::SessionConfig;

/// The first TOML code block of the README after `## Configure`.
fn readme_toml() -> String {
    let readme = include_str!("../README.md");
    let section = &readme[readme.find("## Configure").expect("a Configure section")..];
    let start = section.find("```toml\n").expect("a toml block") + "```toml\n".len();
    let end = start + section[start..].find("```").expect("the block ends");
    section[start..end].to_owned()
}

#[test]
fn the_readme_sample_is_the_example_file() {
    assert_eq!(readme_toml(), include_str!("../examples/session.toml"));
}

#[test]
fn the_readme_sample_validates_with_its_key_in_the_environment() {
    let config = SessionConfig::from_toml_str(&readme_toml()).expect("parses");
    // Without the variable: a clear error that names it.
    let missing = config.keys[0]
        .build_with_env(|_| None)
        .expect_err("no key yet")
        .to_string();
    assert!(missing.contains("SESSION_KEY_1"), "{missing}");
    // With it (what `sealed-session keygen --format secret` prints): a valid ring.
    let secret = sealed_session::keys::generate_secret();
    let key = config.keys[0]
        .build_with_env(|name| (name == "SESSION_KEY_1").then(|| secret.clone()))
        .expect("builds");
    assert_eq!(key.id(), sealed_session::keys::KeyId(1));
    assert_eq!(config.cookie.full_name(), "__Host-session");
}
