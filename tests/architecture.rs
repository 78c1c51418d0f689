//! The crate's layering, checked on every `cargo test`: no file imports from a module above it
//! in the map of `src/lib.rs`, and inside a folder module the files import each other without
//! a circle (a child may take shared types from its `mod.rs`, as tower-http's middleware
//! files do; `mod.rs` never imports from a child that imports it back).
//!
//! It reads the source as text: `use` statements and inline `crate::module::` paths, with
//! comments and the `#[cfg(test)]` tail of each file left out (unit tests may reach anywhere).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The layers, lowest first; a module may import only from modules of a lower rank. Keep it
/// in step with the map in `src/lib.rs`.
const RANKS: &[(&str, u8)] = &[
    ("error", 0),
    ("limits", 0),
    ("time", 0),
    ("keys", 1),
    ("metrics", 1),
    ("codec", 2),
    ("data", 2),
    ("seal", 3),
    ("config", 4),
    ("cookies", 5),
    ("store", 6),
    ("reload", 6),
    ("session", 7),
    ("middleware", 8),
    ("csrf", 8),
    ("tower_sessions", 8),
    ("extract", 9),
    ("lib", 10),
];

fn rank(module: &str) -> u8 {
    match RANKS.iter().find(|(m, _)| *m == module) {
        Some(&(_, r)) => r,
        None => panic!("module `{module}` has no rank in tests/architecture.rs"),
    }
}

/// A source file of the library: its top-level module, its folder (for folder modules) and
/// its stem (`mod` for `mod.rs`).
struct File {
    path: PathBuf,
    module: String,
    folder: Option<String>,
    stem: String,
    code: String,
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).expect("read src") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "bin") {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without comments and without its `#[cfg(test)]` tail.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        code.push_str(line);
        code.push('\n');
    }
    code
}

fn files() -> Vec<File> {
    // `ARCHITECTURE_SRC` points the check at another tree (to see it fail on an old one).
    let src = std::env::var_os("ARCHITECTURE_SRC").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        PathBuf::from,
    );
    let mut paths = Vec::new();
    collect(&src, &mut paths);
    paths
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "tests.rs"))
        .map(|path| {
            let rel = path.strip_prefix(&src).expect("under src");
            let parts: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_owned())
                .collect();
            let (module, folder) = if parts.len() == 1 {
                (parts[0].clone(), None)
            } else {
                (parts[0].clone(), Some(parts[0].clone()))
            };
            let stem = parts.last().expect("a file name").clone();
            let code = code_of(&fs::read_to_string(&path).expect("read a source file"));
            File {
                path,
                module,
                folder,
                stem,
                code,
            }
        })
        .collect()
}

/// Expands `a::{b, c::{d, e}}` into `a::b`, `a::c::d`, `a::c::e`.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.split_whitespace().collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let prefix = &tree[..open];
    let inner = &tree[open + 1..tree.len() - 1];
    let (mut depth, mut start, mut out) = (0, 0, Vec::new());
    for (i, c) in inner.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                out.extend(
                    expand(&inner[start..i])
                        .into_iter()
                        .map(|p| format!("{prefix}{p}")),
                );
                start = i + 1;
            }
            _ => {}
        }
    }
    out.extend(
        expand(&inner[start..])
            .into_iter()
            .map(|p| format!("{prefix}{p}")),
    );
    out.retain(|p| !p.ends_with("::"));
    out
}

/// Every path the file's `use` statements name (re-exports included).
fn use_paths(code: &str) -> Vec<String> {
    uses(code).into_iter().map(|(_, p)| p).collect()
}

/// Every path the file's `use` statements name, each with whether it is a re-export
/// (`pub use`, `pub(crate) use`).
fn uses(code: &str) -> Vec<(bool, String)> {
    let mut paths = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let head = &rest[..at];
        let before = head.chars().last();
        let is_pub = head
            .rsplit('\n')
            .next()
            .is_some_and(|l| l.trim_start().starts_with("pub"));
        rest = &rest[at + 4..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let Some(end) = rest.find(';') else { break };
        paths.extend(expand(&rest[..end]).into_iter().map(|p| (is_pub, p)));
        rest = &rest[end..];
    }
    paths
}

/// The code without its `use` statements and `mod` declarations.
fn without_uses(code: &str) -> String {
    code.lines()
        .filter(|l| {
            let t = l.trim_start();
            let t = t
                .strip_prefix("pub(crate) ")
                .or_else(|| t.strip_prefix("pub "))
                .unwrap_or(t);
            !(t.starts_with("use ") || t.starts_with("mod "))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `word` stands in `code` as a whole identifier.
fn mentions(code: &str, word: &str) -> bool {
    code.match_indices(word).any(|(i, _)| {
        let ident = |c: char| c.is_alphanumeric() || c == '_';
        !code[..i].chars().last().is_some_and(ident)
            && !code[i + word.len()..].chars().next().is_some_and(ident)
    })
}

/// Top-level modules named by inline `crate::x` paths.
fn crate_paths(code: &str) -> BTreeSet<String> {
    code.match_indices("crate::")
        .filter(|(i, _)| {
            !code[..*i]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
        .map(|(i, _)| {
            code[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

/// Where `name` (an item of a folder's `mod.rs`) is defined: `mod` itself, a child (for a
/// re-export of it), or `None` for a re-export from elsewhere in the crate.
fn definer(files: &[&File], name: &str) -> Option<String> {
    let m = files.iter().find(|f| f.stem == "mod")?;
    for path in use_paths(&m.code) {
        let last = path.rsplit("::").next().unwrap_or_default();
        let alias = path.rsplit(" as ").next().unwrap_or(last);
        if last == name || alias == name {
            let first = path.split("::").next().unwrap_or_default();
            return files
                .iter()
                .any(|f| f.stem == first)
                .then(|| first.to_owned());
        }
    }
    Some("mod".to_owned())
}

#[test]
fn no_file_imports_a_higher_layer() {
    let mut violations = Vec::new();
    for file in files() {
        let mut named = crate_paths(&file.code);
        for path in use_paths(&file.code) {
            if let Some(rest) = path.strip_prefix("crate::") {
                named.insert(rest.split("::").next().unwrap_or_default().to_owned());
            }
        }
        for target in named {
            if target == file.module || target.is_empty() {
                continue;
            }
            // `crate::Session`-style root paths reach up to lib.rs.
            let target_rank = if target.starts_with(char::is_uppercase) {
                rank("lib")
            } else {
                rank(&target)
            };
            if target_rank >= rank(&file.module) {
                violations.push(format!(
                    "{} (layer `{}`) imports `crate::{target}`, which is not below it",
                    file.path.display(),
                    file.module
                ));
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// Depth-first search from `n`; every back edge found is a circle.
fn visit(
    n: &str,
    edges: &BTreeMap<String, BTreeSet<String>>,
    stack: &mut Vec<String>,
    done: &mut BTreeSet<String>,
    found: &mut Vec<String>,
) {
    if let Some(i) = stack.iter().position(|s| s == n) {
        found.push(format!("{} → {n}", stack[i..].join(" → ")));
        return;
    }
    if !done.insert(n.to_owned()) {
        return;
    }
    stack.push(n.to_owned());
    for m in edges.get(n).into_iter().flatten() {
        visit(m, edges, stack, done, found);
    }
    stack.pop();
}

#[test]
fn files_of_a_folder_module_import_each_other_without_a_circle() {
    let files = files();
    let mut folders: BTreeMap<String, Vec<&File>> = BTreeMap::new();
    for f in &files {
        if let Some(folder) = &f.folder {
            folders.entry(folder.clone()).or_default().push(f);
        }
    }
    let mut circles = Vec::new();
    for (folder, members) in &folders {
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in members {
            let out = edges.entry(f.stem.clone()).or_default();
            let body = without_uses(&f.code);
            for (is_pub, path) in uses(&f.code) {
                let mut parts = path.split("::");
                let first = parts.next().unwrap_or_default();
                let second = parts.next().unwrap_or_default();
                let last = path.rsplit("::").next().unwrap_or_default();
                let target = match (f.stem.as_str(), first) {
                    // `mod.rs` re-exporting a child is its facade, not a dependency, unless
                    // its own code uses the item too.
                    ("mod", child)
                        if members.iter().any(|m| m.stem == child)
                            && (!is_pub || mentions(&body, last)) =>
                    {
                        Some(child.to_owned())
                    }
                    (_, "super") if members.iter().any(|m| m.stem == second) => {
                        Some(second.to_owned())
                    }
                    (_, "super") => definer(members, second),
                    _ => None,
                };
                if let Some(t) = target.filter(|t| *t != f.stem) {
                    out.insert(t);
                }
            }
            // Inline `super::sibling::item` paths outside `use` statements.
            for (i, _) in body.match_indices("super::") {
                let sibling: String = body[i + 7..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if sibling != f.stem && members.iter().any(|m| m.stem == sibling) {
                    out.insert(sibling);
                }
            }
        }
        let mut found = Vec::new();
        let mut done = BTreeSet::new();
        for n in edges.keys() {
            visit(n, &edges, &mut Vec::new(), &mut done, &mut found);
        }
        circles.extend(found.into_iter().map(|c| format!("src/{folder}/: {c}")));
    }
    assert!(
        circles.is_empty(),
        "import circles:\n{}",
        circles.join("\n")
    );
}

/// The check itself finds what it should: an upward import and a circle.
#[test]
fn the_checks_see_imports_through_braces_and_re_exports() {
    assert_eq!(
        expand("crate::{keys::{Key, KeyRing}, error::Error}"),
        [
            "crate::keys::Key",
            "crate::keys::KeyRing",
            "crate::error::Error"
        ]
    );
    let code = code_of("// use crate::x::Y;\nuse super::{a::B, C};\nfn f() { crate::seal::f() }\n#[cfg(test)]\nuse crate::z;");
    assert_eq!(use_paths(&code), ["super::a::B", "super::C"]);
    assert_eq!(
        uses("pub(crate) use a::B;\nuse c::D;"),
        [(true, "a::B".to_owned()), (false, "c::D".to_owned())]
    );
    assert!(mentions("let x: Outcome = y;", "Outcome") && !mentions("OutcomeX", "Outcome"));
    assert_eq!(crate_paths(&code), BTreeSet::from(["seal".to_owned()]));
    assert!(rank("session") > rank("cookies") && rank("keys") < rank("codec"));
}

/// Finding S4: nonces, session ids and generated secrets come from the operating system's
/// generator, never from a user-space generator whose state `fork` or a VM snapshot restore
/// duplicates. A structural check (forking a test process would need `unsafe`): the library
/// does not depend on `rand`, and the three places that draw randomness call `getrandom`.
#[test]
fn nonces_ids_and_secrets_come_from_the_os_generator() {
    let manifest = include_str!("../Cargo.toml");
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .and_then(|s| s.split("\n[").next())
        .expect("a [dependencies] table");
    assert!(
        !dependencies
            .lines()
            .any(|l| l.trim_start().starts_with("rand ")),
        "the library depends on `rand` again"
    );
    for (file, text) in [
        ("src/codec/mod.rs", include_str!("../src/codec/mod.rs")),
        (
            "src/session/server.rs",
            include_str!("../src/session/server.rs"),
        ),
        ("src/keys/key.rs", include_str!("../src/keys/key.rs")),
    ] {
        let code = code_of(text);
        assert!(
            code.contains("getrandom::fill("),
            "{file} does not draw from getrandom"
        );
        assert!(!code.contains("rand::"), "{file} uses rand");
    }
}
