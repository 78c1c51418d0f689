//! The README's first hour, as a newcomer meets it: its `session.toml` is the one in
//! `examples/`, and it validates as written once `SESSION_KEY_1` holds a key (the README's
//! Rust code blocks are doctests through `src/lib.rs`); and no secret the documentation
//! prints can be used as a key.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use sealed_session::keys::{Algorithm, Key, KeyId};
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

/// The published documentation: the Markdown files, the examples, and the rustdoc comments
/// (`///`, `//!`) of `src/`.
fn documentation() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else {
                out.push(path);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<PathBuf> = ["README.md", "SECURITY.md", "CHANGELOG.md", "BENCHMARKS.md"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    for dir in ["docs", "examples", "src"] {
        walk(&root.join(dir), &mut files);
    }
    files
        .into_iter()
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            let text = if path.extension().is_some_and(|e| e == "rs")
                && path.starts_with(root.join("src"))
            {
                text.lines()
                    .filter(|l| {
                        let l = l.trim_start();
                        l.starts_with("///") || l.starts_with("//!")
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            } else {
                text
            };
            Some((path, text))
        })
        .collect()
}

/// S14 (issue 12): a secret printed in the documentation is known to everyone. Every
/// 32-byte base64 secret the docs show must be refused as a key (the sample is), so a reader
/// who pastes one gets an error instead of a key anyone can forge with.
#[test]
fn no_secret_printed_in_the_docs_is_accepted() {
    let mut seen = 0;
    for (path, text) in documentation() {
        let tokens = text.split(|c: char| !(c.is_ascii_alphanumeric() || "+/-_=".contains(c)));
        for token in tokens {
            let bare = token.trim_end_matches('=');
            let decoded = STANDARD_NO_PAD
                .decode(bare)
                .or_else(|_| URL_SAFE_NO_PAD.decode(bare));
            if decoded.is_ok_and(|b| b.len() == 32) {
                seen += 1;
                assert!(
                    Key::from_base64(KeyId(0), Algorithm::default(), token).is_err(),
                    "{} prints a usable secret: {token}",
                    path.display()
                );
            }
        }
    }
    assert!(
        seen > 0,
        "the documentation shows the sample secret somewhere"
    );
}

/// Every claim of SECURITY.md, the README and docs/ names the test that backs it; a test that
/// is renamed or removed must take the citation with it. Every backticked `snake_case` name
/// of four or more words in them (a test name, or a function of the API) must be a `fn`
/// somewhere in the repository's Rust code. Metric names (`sealed_session_…`) are not
/// functions.
#[test]
fn every_test_the_docs_cite_exists() {
    fn rust_sources(dir: &Path, out: &mut String) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            let skip = path
                .file_name()
                .is_some_and(|n| n == "target" || n == "corpus" || n == "artifacts");
            if skip {
                continue;
            }
            if path.is_dir() {
                rust_sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push_str(&std::fs::read_to_string(&path).unwrap());
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut code = String::new();
    for dir in [
        "src",
        "tests",
        "ecosystem",
        "benches",
        "fuzz",
        "examples",
        "scripts",
    ] {
        rust_sources(&root.join(dir), &mut code);
    }
    let mut docs = vec![root.join("SECURITY.md"), root.join("README.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            docs.push(path);
        }
    }
    let mut cited = 0;
    let mut missing = Vec::new();
    for doc in docs {
        let text = std::fs::read_to_string(&doc).unwrap();
        for (i, quoted) in text.split('`').enumerate() {
            let name = quoted.trim_end_matches("()");
            let is_name = i % 2 == 1
                && name.split('_').count() >= 4
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                && !name.starts_with("sealed_session_");
            if !is_name {
                continue;
            }
            cited += 1;
            if !code.contains(&format!("fn {name}(")) && !code.contains(&format!("fn {name}<")) {
                missing.push(format!(
                    "{}: {name}",
                    doc.file_name().unwrap().to_string_lossy()
                ));
            }
        }
    }
    assert!(
        cited > 100,
        "only {cited} citations found: is the parser right?"
    );
    assert!(
        missing.is_empty(),
        "cited but not found as a fn: {missing:#?}"
    );
}

/// The `toml` block "Every setting, with its default" on `SessionConfig` (src/config/mod.rs).
fn reference_toml() -> String {
    let source = include_str!("../src/config/mod.rs");
    let start = source
        .find("/// Every setting, with its default")
        .expect("the reference block");
    source[start..]
        .lines()
        .map(|l| l.trim_start().strip_prefix("///").unwrap_or(l))
        .skip_while(|l| l.trim() != "```toml")
        .skip(1)
        .take_while(|l| l.trim() != "```")
        .map(|l| l.strip_prefix(' ').unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The `pub` fields of `struct NAME` in `source`, less those serde skips.
fn settings_of(source: &str, name: &str) -> Vec<String> {
    let start = source
        .find(&format!("pub struct {name} {{"))
        .expect("the struct");
    let mut fields = Vec::new();
    let mut skipped = false;
    for line in source[start..].lines().skip(1) {
        let line = line.trim();
        if line == "}" {
            break;
        }
        if line.starts_with("#[serde(skip") {
            skipped = true;
        } else if let Some(field) = line.strip_prefix("pub ").and_then(|l| l.split_once(':')) {
            if !skipped {
                fields.push(field.0.to_owned());
            }
            skipped = false;
        } else if !line.starts_with("#[") && !line.starts_with("//") {
            skipped = false;
        }
    }
    assert!(!fields.is_empty(), "no field found in {name}");
    fields
}

/// The reference says "every setting, with its default": each field of each section is
/// there (set, or commented out when it has no value by default), and the settings it sets
/// outside `[[keys]]` are the defaults.
#[test]
fn the_configuration_reference_names_every_setting_with_its_default() {
    let reference = reference_toml();
    let mut sections: Vec<(String, Vec<String>)> = Vec::new();
    for line in reference.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            sections.push((line.trim_matches(['[', ']']).to_owned(), Vec::new()));
            continue;
        }
        let Some((_, names)) = sections.last_mut() else {
            continue;
        };
        let setting = line.trim_start_matches('#').trim_start();
        if let Some((name, _)) = setting.split_once(" = ") {
            names.push(name.trim().to_owned());
        }
        // Named in a comment (`# or `secret`, or `secret_env``) counts too.
        names.extend(line.split('`').skip(1).step_by(2).map(str::to_owned));
    }
    let named = |section: &str| -> Vec<String> {
        sections
            .iter()
            .filter(|(s, _)| s == section)
            .flat_map(|(_, n)| n.clone())
            .collect()
    };
    let structs = [
        (
            "cookie",
            include_str!("../src/config/cookie.rs"),
            "CookieConfig",
        ),
        (
            "expiry",
            include_str!("../src/config/expiry.rs"),
            "ExpiryConfig",
        ),
        (
            "store",
            include_str!("../src/config/store.rs"),
            "StoreConfig",
        ),
        ("keys", include_str!("../src/config/key.rs"), "KeyConfig"),
    ];
    let mut missing = Vec::new();
    for (section, source, name) in structs {
        let named = named(section);
        for field in settings_of(source, name) {
            if !named.contains(&field) {
                missing.push(format!("{section}.{field}"));
            }
        }
    }
    assert!(missing.is_empty(), "not in the reference: {missing:?}");
    let parsed = SessionConfig::from_toml_str(&reference).expect("the reference parses");
    let default = SessionConfig::default();
    assert_eq!(
        format!("{:?}", parsed.cookie),
        format!("{:?}", default.cookie)
    );
    assert_eq!(
        format!("{:?}", parsed.expiry),
        format!("{:?}", default.expiry)
    );
    assert_eq!(
        format!("{:?}", parsed.store),
        format!("{:?}", default.store)
    );
}

/// A Markdown table ends at a blank line: rows after one render as plain text with pipes,
/// not as rows. Every metric is a row of the module's one table.
#[test]
fn the_metrics_module_documents_every_metric_in_its_table() {
    let source = include_str!("../src/metrics.rs");
    let table: Vec<&str> = source
        .lines()
        .map(|l| l.strip_prefix("//!").unwrap_or("").trim())
        .skip_while(|l| !l.starts_with("| name |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    for name in sealed_session::metrics::ALL {
        assert!(
            table
                .iter()
                .any(|row| row.starts_with(&format!("| `{name}` |"))),
            "{name} is not a row of the table in src/metrics.rs"
        );
    }
}

/// An operator picks a mode by uncommenting a line of a `toml` block in docs/MODES.md; each
/// such line must be TOML as it stands (`a = 1; b = 2` is not: TOML has no `;`).
#[test]
fn every_setting_line_in_the_modes_guide_parses_when_uncommented() {
    let guide = include_str!("../docs/MODES.md");
    let mut lines = 0;
    for block in guide.split("```toml\n").skip(1) {
        let block = block.split("```").next().unwrap_or_default();
        let mut section = String::new();
        for line in block.lines() {
            let line = line.trim_start_matches('#').trim_start();
            if line.starts_with('[') {
                section = line.to_owned();
                continue;
            }
            let is_setting = line
                .split_once(" = ")
                .is_some_and(|(name, _)| name.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            if !is_setting {
                continue;
            }
            lines += 1;
            let text = format!("{section}\n{line}\n");
            if let Err(e) = SessionConfig::from_toml_str(&text) {
                panic!("`{line}` (uncommented) does not parse: {e}");
            }
        }
    }
    assert!(lines >= 6, "only {lines} setting lines found");
}
