//! The `sealed-session` binary, run for real: keygen output is accepted by check-config,
//! check-config reports the rotation state and fails clearly on bad files, and inspect opens a
//! value sealed by the library and reports a tampered one as tampered.
#![cfg(feature = "cli")]

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use sealed_session::data::{SessionData, SessionExpiry};
use sealed_session::seal::Sealer;
use sealed_session::SessionConfig;

const BIN: &str = env!("CARGO_BIN_EXE_sealed-session");

/// 32 bytes of 0x01 and 0x02 as base64.
const S1: &str = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=";
const S2: &str = "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=";

/// 2023-11-14T22:13:20Z.
const T0: u64 = 1_700_000_000;
const T0_TEXT: &str = "2023-11-14T22:13:20Z";

/// A fresh path in the temp directory, unique to this process and test.
fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sealed-session-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn write(name: &str, text: &str) -> PathBuf {
    let path = temp_path(name);
    std::fs::write(&path, text).unwrap();
    path
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().expect("exited normally"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn run(args: &[&str]) -> Run {
    finish(Command::new(BIN).args(args).output().unwrap())
}

fn run_with_stdin(args: &[&str], stdin: &str) -> Run {
    run_with_env(args, stdin, &[])
}

/// Runs the tool with `stdin` and the variables `env` (and no `SEALED_SESSION_CONFIG` from
/// the test's own environment).
fn run_with_env(args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .env_remove("SEALED_SESSION_CONFIG")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    finish(child.wait_with_output().unwrap())
}

/// A config file with one primary key 1 (inline secret) and default settings.
fn config_file(name: &str) -> PathBuf {
    write(name, &format!("[[keys]]\nid = 1\nsecret = \"{S1}\"\n"))
}

/// A value for `cookie`, sealed by the library at `T0` under `config`'s ring.
fn seal(config: &PathBuf, cookie: &str) -> String {
    let config = SessionConfig::from_file(config).unwrap();
    let t0 = UNIX_EPOCH + Duration::from_secs(T0);
    let ring = config.key_ring_at(t0).unwrap();
    let mut data = SessionData::new();
    data.insert("visit_count", &3u64).unwrap();
    data.insert("cart", &vec!["apple".to_owned(), "pear".to_owned()])
        .unwrap();
    Sealer::new(cookie, config.expiry.policy())
        .seal(&ring, &data, t0)
        .unwrap()
}

/// The `Set-Cookie` lines `layer` sends for a first request whose handler inserts `value`
/// under `key`; the layer must answer at once (client mode, or the memory store).
fn set_cookie_lines<V>(
    layer: &sealed_session::SessionLayer,
    key: &'static str,
    value: V,
) -> Vec<String>
where
    V: serde::Serialize + Clone + Send + Sync + 'static,
{
    use std::convert::Infallible;
    use std::future::Future as _;
    use std::task::{Context, Poll, Waker};

    use http::{header, Request, Response};
    use sealed_session::Session;
    use tower::{Layer as _, Service as _};

    let mut svc = layer.layer(tower::service_fn(move |req: Request<()>| {
        let value = value.clone();
        async move {
            let session = req.extensions().get::<Session>().unwrap();
            session.insert(key, &value).unwrap();
            Ok::<_, Infallible>(Response::new(String::new()))
        }
    }));
    let mut call = std::pin::pin!(svc.call(Request::new(())));
    let Poll::Ready(Ok(res)) = call.as_mut().poll(&mut Context::from_waker(Waker::noop())) else {
        panic!("client mode and the memory store answer at once");
    };
    res.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|line| line.to_str().unwrap().to_owned())
        .collect()
}

/// The id cookie a server-mode layer under `config` issues at `T0` (`NAME=VALUE`).
fn server_cookie(config: &PathBuf) -> String {
    use sealed_session::store::MemoryStore;
    use sealed_session::time::ManualClock;
    use sealed_session::SessionLayer;

    let clock = ManualClock::at_unix(T0);
    let layer = SessionLayer::new(SessionConfig::from_file(config).unwrap())
        .unwrap()
        .clock(clock.clone())
        .server_store(MemoryStore::new().clock(clock));
    let lines = set_cookie_lines(&layer, "visit_count", 1u64);
    lines[0].split(';').next().unwrap().to_owned()
}

/// The `Set-Cookie` values a client-mode layer under `config` sends at `T0` for a session too
/// large for one cookie, in chunk order (`NAME`, `NAME.1`, …).
fn chunked_values(config: &PathBuf) -> Vec<String> {
    use sealed_session::time::ManualClock;
    use sealed_session::SessionLayer;

    let layer = SessionLayer::new(SessionConfig::from_file(config).unwrap())
        .unwrap()
        .clock(ManualClock::at_unix(T0));
    let big: String = (0..6000u32)
        .map(|i| char::from(b'a' + u8::try_from(i * 7919 % 26).unwrap()))
        .collect();
    let mut chunks: Vec<(usize, String)> = set_cookie_lines(&layer, "big", big)
        .iter()
        .map(|line| {
            let pair = line.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            let index = name.split_once('.').map_or(0, |(_, i)| i.parse().unwrap());
            (index, value.to_owned())
        })
        .collect();
    chunks.sort();
    chunks.into_iter().map(|(_, value)| value).collect()
}

/// `T0 + secs` in RFC 3339, for `--at`.
fn at(secs: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(T0 + secs)).to_string()
}

#[test]
fn keygen_output_is_accepted_by_check_config() {
    let keygen = run(&["keygen", "--id", "7"]);
    assert_eq!(keygen.code, 0, "{}", keygen.stderr);
    assert!(keygen.stdout.contains(
        "[[keys]]\nid = 7\nalgorithm = \"xaes-256-gcm\"\nstate = \"primary\"\nsecret = \""
    ));
    let path = write("keygen.toml", &keygen.stdout);
    let check = run(&["check-config", path.to_str().unwrap()]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(
        check
            .stdout
            .starts_with(&format!("{}: valid\n", path.display())),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("primary now: key 7 (xaes-256-gcm)"),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains("safe to remove: none"),
        "{}",
        check.stdout
    );
    assert!(
        check.stderr.contains("note: key 7 has its secret inline"),
        "{}",
        check.stderr
    );
    // check-config never prints the secret.
    let secret = keygen
        .stdout
        .rsplit("secret = \"")
        .next()
        .unwrap()
        .trim()
        .trim_end_matches('"');
    assert_eq!(secret.len(), 44);
    assert!(!check.stdout.contains(secret) && !check.stderr.contains(secret));
}

#[test]
fn keygen_makes_fresh_secrets_in_every_format() {
    let a = run(&["keygen", "--format", "secret"]);
    let b = run(&["keygen", "--format", "secret"]);
    assert_eq!((a.code, b.code), (0, 0));
    assert_ne!(a.stdout, b.stdout, "a fresh secret each run");
    // The bare secret works as a `secret_file`.
    let secret_file = write("keygen-secret", &a.stdout);
    let config = write(
        "keygen-secret.toml",
        &format!(
            "[[keys]]\nid = 2\nsecret_file = \"{}\"\n",
            secret_file.display()
        ),
    );
    assert_eq!(run(&["check-config", config.to_str().unwrap()]).code, 0);
    // The env entry works as `SEALED_SESSION_KEYS`.
    let env = run(&[
        "keygen",
        "--format",
        "env",
        "--id",
        "4",
        "--algorithm",
        "chacha20-poly1305",
        "--state",
        "decrypt-only",
    ]);
    assert!(
        env.stdout.starts_with("4:chacha20-poly1305:decrypt-only:"),
        "{}",
        env.stdout
    );
    let spec = format!("{};5:xaes-256-gcm:primary:{S2}", env.stdout.trim());
    let config =
        SessionConfig::from_env_map(|name| (name == "SEALED_SESSION_KEYS").then(|| spec.clone()))
            .unwrap();
    config.validate().unwrap();
    assert_eq!(config.keys[0].algorithm, "chacha20-poly1305");
    // An unknown algorithm is a usage error.
    let bad = run(&["keygen", "--algorithm", "rot13"]);
    assert_eq!(bad.code, 2);
    assert!(
        bad.stderr
            .contains("possible values: xaes-256-gcm, aes-256-gcm, chacha20-poly1305"),
        "{}",
        bad.stderr
    );
}

#[test]
fn check_config_prints_the_rotation_state() {
    let path = write(
        "rotation.toml",
        &format!(
            "[[keys]]\nid = 1\nsecret = \"{S1}\"\nstate = \"decrypt-only\"\nretired_at = \"{}\"\n\n\
             [[keys]]\nid = 2\nsecret = \"{S2}\"\n\n\
             [[keys]]\nid = 3\nsecret = \"{S1}\"\nactivate_at = \"{}\"\n",
            at(0),
            at(10 * 86_400)
        ),
    );
    let check = run(&["check-config", path.to_str().unwrap(), "--at", &at(86_400)]);
    assert_eq!(check.code, 0, "{}", check.stderr);
    assert!(
        check.stdout.contains("primary now: key 2"),
        "{}",
        check.stdout
    );
    assert!(
        check
            .stdout
            .contains(&format!("next activation: key 3 at {}", at(10 * 86_400))),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.contains(
            "retiring: stopped sealing at 2023-11-14T22:13:20Z; keep it until 2023-11-21T22:15:21Z"
        ),
        "{}",
        check.stdout
    );
    assert!(
        check.stdout.ends_with("safe to remove: none\n"),
        "{}",
        check.stdout
    );
    // Past the absolute timeout (7 days) plus skew, key 1 can go.
    let later = run(&[
        "check-config",
        path.to_str().unwrap(),
        "--at",
        &at(8 * 86_400),
    ]);
    assert!(
        later.stdout.ends_with("safe to remove: key 1\n"),
        "{}",
        later.stdout
    );
}

#[test]
fn check_config_fails_clearly_on_a_bad_file() {
    let two = write(
        "two-primaries.toml",
        &format!("[[keys]]\nid = 1\nsecret = \"{S1}\"\n[[keys]]\nid = 2\nsecret = \"{S2}\"\n"),
    );
    let check = run(&["check-config", two.to_str().unwrap()]);
    assert_eq!(check.code, 1);
    assert!(check.stdout.is_empty());
    assert_eq!(
        check.stderr,
        format!(
            "error: {} is not a valid configuration: keys 1 and 2 are both primary from the same \
             instant; give one an `activate_at` or make it `decrypt-only`\n",
            two.display()
        )
    );
    let typo = write("typo.toml", "[cookie]\nname = \"id\"\nsecrue = false\n");
    let check = run(&["check-config", typo.to_str().unwrap()]);
    assert_eq!(check.code, 1);
    assert!(
        check
            .stderr
            .contains(&format!("{}:3:1: unknown field `secrue`", typo.display())),
        "{}",
        check.stderr
    );
    let missing = temp_path("missing.toml");
    let check = run(&["check-config", missing.to_str().unwrap()]);
    assert_eq!(check.code, 1);
    assert!(
        check
            .stderr
            .contains(&format!("cannot read config file `{}`", missing.display())),
        "{}",
        check.stderr
    );
    assert!(check.stderr.contains("caused by: "), "{}", check.stderr);
    let short = write("short.toml", "[[keys]]\nid = 1\nsecret = \"AAAA\"\n");
    let check = run(&["check-config", short.to_str().unwrap()]);
    assert_eq!(check.code, 1);
    assert!(
        check
            .stderr
            .contains("key 1: secret is 3 bytes; expected exactly 32"),
        "{}",
        check.stderr
    );
}

#[test]
fn check_config_reads_secret_env_from_the_process_environment() {
    let path = write(
        "secret-env.toml",
        "[[keys]]\nid = 1\nsecret_env = \"SEALED_SESSION_CLI_TEST_KEY\"\n",
    );
    let ok = finish(
        Command::new(BIN)
            .args(["check-config", path.to_str().unwrap()])
            .env("SEALED_SESSION_CLI_TEST_KEY", S1)
            .output()
            .unwrap(),
    );
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    assert!(!ok.stdout.contains(S1) && !ok.stderr.contains(S1));
    let unset = finish(
        Command::new(BIN)
            .args(["check-config", path.to_str().unwrap()])
            .env_remove("SEALED_SESSION_CLI_TEST_KEY")
            .output()
            .unwrap(),
    );
    assert_eq!(unset.code, 1);
    assert!(
        unset.stderr.contains(
            "keys[id=1].secret_env: environment variable `SEALED_SESSION_CLI_TEST_KEY` is not set"
        ),
        "{}",
        unset.stderr
    );
}

#[test]
fn inspect_opens_a_value_sealed_by_the_library() {
    let config = config_file("inspect.toml");
    let value = seal(&config, "__Host-session");
    let out = run(&[
        "inspect",
        "--config",
        config.to_str().unwrap(),
        "--name",
        "__Host-session",
        "--at",
        &at(60),
        "--value",
        &value,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = format!(
        "cookie: __Host-session\n\
         key: 1 (xaes-256-gcm, the primary now)\n\
         created: {T0_TEXT}\n\
         expires: {}\n\
         entries: 2\n\
         \x20 cart         12 bytes\n\
         \x20 visit_count  1 byte\n",
        at(86_400)
    );
    assert_eq!(out.stdout, expected);
    // The name defaults to the configuration's, `NAME=VALUE` is accepted, and `-` reads stdin.
    // (Issue 12, S14: the value moved from a positional argument to `--value`.)
    let cookie = format!("__Host-session={value}\n");
    let piped = run_with_stdin(
        &[
            "inspect",
            "--config",
            config.to_str().unwrap(),
            "--at",
            &at(60),
            "--value",
            "-",
        ],
        &cookie,
    );
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    assert_eq!(piped.stdout, expected);
}

/// Issue 16: a session's own expiry choice (remember-me) is shown, and is what `expires` is
/// computed from.
#[test]
fn inspect_shows_the_sessions_expiry_choice() {
    let config_path = config_file("inspect-choice.toml");
    let config = SessionConfig::from_file(&config_path).unwrap();
    let t0 = UNIX_EPOCH + Duration::from_secs(T0);
    let ring = config.key_ring_at(t0).unwrap();
    let mut data = SessionData::new();
    data.insert("visit_count", &3u64).unwrap();
    data.set_session_expiry(Some(SessionExpiry::Until(T0 + 3600)));
    let value = Sealer::new("__Host-session", config.expiry.policy())
        .seal(&ring, &data, t0)
        .unwrap();
    let out = run(&[
        "inspect",
        "--config",
        config_path.to_str().unwrap(),
        "--at",
        &at(60),
        "--value",
        &value,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let expected = format!(
        "expires: {until}\nexpiry choice: until {until}\nentries: 1\n",
        until = at(3600)
    );
    assert!(out.stdout.contains(&expected), "{}", out.stdout);
}

/// S14 (issue 12): the cookie value is a bearer credential, so `inspect` reads it from
/// standard input by default; `--value` takes it on the command line, where `ps` and the
/// shell history show it, and the help says so.
/// `inspect --help` says to join a chunked session's values in order; the first chunk's
/// `N.` count prefix made the joined value `malformed`.
#[test]
fn inspect_opens_a_chunked_session_joined_in_order() {
    let config = config_file("chunked.toml");
    let chunks = chunked_values(&config);
    assert!(chunks.len() >= 2, "not chunked: {} value(s)", chunks.len());
    let joined = chunks.concat();
    let run = run_with_stdin(
        &[
            "inspect",
            "--config",
            config.to_str().unwrap(),
            "--at",
            &at(1),
        ],
        &joined,
    );
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains(&format!("chunks: {} (joined)", chunks.len())),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("big"), "{}", run.stdout);
}

#[test]
fn inspect_reads_the_value_from_stdin_by_default() {
    let config = config_file("stdin.toml");
    let path = config.to_str().unwrap();
    let value = seal(&config, "__Host-session");
    let piped = run_with_stdin(
        &["inspect", "--config", path, "--at", &at(60)],
        &format!("{value}\n"),
    );
    assert_eq!(piped.code, 0, "{}", piped.stderr);
    assert!(piped.stdout.contains("entries: 2"), "{}", piped.stdout);
    let argument = run(&[
        "inspect",
        "--config",
        path,
        "--at",
        &at(60),
        "--value",
        &value,
    ]);
    assert_eq!(argument.code, 0, "{}", argument.stderr);
    assert_eq!(argument.stdout, piped.stdout);
    let help = run(&["inspect", "--help"]);
    assert!(
        help.stdout.contains("standard input") && help.stdout.contains("`ps`"),
        "{}",
        help.stdout
    );
}

#[test]
fn inspect_reports_a_tampered_value_as_tampered() {
    let config = config_file("tampered.toml");
    let value = seal(&config, "__Host-session");
    let mut bytes = value.into_bytes();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    let out = run(&[
        "inspect",
        "--config",
        config.to_str().unwrap(),
        "--at",
        &at(60),
        "--value",
        &tampered,
    ]);
    assert_eq!(out.code, 3, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(
            "rejected (unauthenticated): authentication failed (tampered, truncated or renamed)"
        ),
        "{}",
        out.stdout
    );
}

#[test]
fn inspect_explains_other_rejections() {
    let config = config_file("rejections.toml");
    let path = config.to_str().unwrap();
    let value = seal(&config, "__Host-session");
    // Opened under another name: the value is bound to its cookie name.
    let renamed = run(&[
        "inspect",
        "--config",
        path,
        "--name",
        "session",
        "--at",
        &at(60),
        "--value",
        &value,
    ]);
    assert_eq!(renamed.code, 3);
    assert!(
        renamed.stdout.contains("rejected (unauthenticated)"),
        "{}",
        renamed.stdout
    );
    assert!(
        renamed
            .stderr
            .contains("the configuration's cookie is `__Host-session`"),
        "{}",
        renamed.stderr
    );
    // Idle for two days.
    let expired = run(&[
        "inspect",
        "--config",
        path,
        "--at",
        &at(2 * 86_400),
        "--value",
        &value,
    ]);
    assert_eq!(expired.code, 3);
    assert!(
        expired
            .stdout
            .contains("rejected (expired_idle): session expired (idle timeout)"),
        "{}",
        expired.stdout
    );
    // Sealed with a key this configuration lacks.
    let other = write(
        "other-key.toml",
        &format!("[[keys]]\nid = 9\nsecret = \"{S2}\"\n"),
    );
    let foreign = seal(&other, "__Host-session");
    let unknown = run(&[
        "inspect",
        "--config",
        path,
        "--at",
        &at(60),
        "--value",
        &foreign,
    ]);
    assert_eq!(unknown.code, 3);
    assert!(
        unknown.stdout.contains("rejected (unknown_key)"),
        "{}",
        unknown.stdout
    );
    assert!(
        unknown
            .stderr
            .contains("the value names key 9; the ring holds keys 1"),
        "{}",
        unknown.stderr
    );
    // Not a sealed value at all.
    let garbage = run(&[
        "inspect",
        "--config",
        path,
        "--at",
        &at(60),
        "--value",
        "hello",
    ]);
    assert_eq!(garbage.code, 3);
    assert!(
        garbage.stdout.contains("rejected (malformed)"),
        "{}",
        garbage.stdout
    );
}

#[test]
fn inspect_flags_a_value_under_a_non_primary_key() {
    let config = config_file("old-key.toml");
    let value = seal(&config, "__Host-session");
    let rotated = write(
        "new-key.toml",
        &format!("[[keys]]\nid = 1\nsecret = \"{S1}\"\nstate = \"decrypt-only\"\n[[keys]]\nid = 2\nsecret = \"{S2}\"\n"),
    );
    let out = run(&[
        "inspect",
        "--config",
        rotated.to_str().unwrap(),
        "--at",
        &at(60),
        "--value",
        &value,
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains(
            "key: 1 (xaes-256-gcm, not the primary now: the layer re-seals it under key 2)"
        ),
        "{}",
        out.stdout
    );
}

/// A server-mode id cookie is inspected as one when the configuration says server mode (it
/// was called forged: opened as a client-mode value, whose purpose differs), and either kind
/// of cookie inspected under the other mode gets a hint instead of a bare "tampered".
#[test]
fn inspect_checks_a_server_mode_id_cookie_and_hints_at_a_mode_mix_up() {
    let keys = format!("[[keys]]\nid = 1\nsecret = \"{S1}\"\n");
    let server = write(
        "inspect-server.toml",
        &format!("[store]\nmode = \"server\"\n{keys}"),
    );
    let client = write("inspect-client.toml", &keys);
    let id_cookie = server_cookie(&server);
    let inspect = |config: &PathBuf, cookie: &str| {
        run_with_stdin(
            &[
                "inspect",
                "--config",
                config.to_str().unwrap(),
                "--at",
                &at(60),
            ],
            cookie,
        )
    };
    let out = inspect(&server, &id_cookie);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "cookie: __Host-session\n\
         server-mode session id (the id is not shown; the session is in the store)\n\
         key: 1 (xaes-256-gcm, the primary now)\n"
    );
    let out = inspect(&client, &id_cookie);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(
        out.stdout.contains("rejected (unauthenticated)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("a server-mode session id cookie"),
        "{}",
        out.stderr
    );
    let data_cookie = seal(&client, "__Host-session");
    let out = inspect(&server, &data_cookie);
    assert_eq!(out.code, 3, "{}", out.stdout);
    assert!(
        out.stderr.contains("a client-mode session cookie"),
        "{}",
        out.stderr
    );
}

/// `--env` reads the configuration as the application's `SessionConfig::from_env()` does, so
/// a deployment configured through `SEALED_SESSION_*` variables (the documented way for keys)
/// can be checked and its cookies inspected; the secret is never printed.
#[test]
fn check_config_and_inspect_read_the_environment_with_env() {
    let keys = format!("1:xaes-256-gcm:primary:{S1}");
    let env = [
        ("SEALED_SESSION_KEYS", keys.as_str()),
        ("SEALED_SESSION_IDLE", "45m"),
    ];
    let env_run = |args: &[&str], stdin: &str| run_with_env(args, stdin, &env);
    let out = env_run(&["check-config", "--env", "--at", &at(0)], "");
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .starts_with("the environment's configuration: valid\n"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("expiry: idle 45m"), "{}", out.stdout);
    assert!(
        !out.stdout.contains(S1.trim_end_matches('=')),
        "{}",
        out.stdout
    );
    // The keys' secrets come from the environment already: no advice to move them there
    // (it said "key 1 has its secret inline; prefer `secret_file` or `secret_env`").
    assert!(!out.stderr.contains("inline"), "{}", out.stderr);
    // A file's inline secret still gets the note.
    let file = config_file("inline-note.toml");
    let out = run(&["check-config", file.to_str().unwrap(), "--at", &at(0)]);
    assert!(
        out.stderr.contains("key 1 has its secret inline"),
        "{}",
        out.stderr
    );
    // The same ring as `config_file`'s: a value it sealed opens.
    let value = seal(&config_file("inspect-env.toml"), "__Host-session");
    let out = env_run(&["inspect", "--env", "--at", &at(60)], &value);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout
            .contains("key: 1 (xaes-256-gcm, the primary now)"),
        "{}",
        out.stdout
    );
    // A file and `--env` together are refused.
    let out = env_run(&["check-config", "--env", "some.toml"], "");
    assert_eq!(out.code, 2, "{}", out.stderr);
}

/// The variables of the `SessionConfig::from_env` table in `src/config/mod.rs`.
fn documented_variables() -> Vec<String> {
    let source = include_str!("../src/config/mod.rs");
    let vars: Vec<String> = source
        .lines()
        .filter_map(|l| l.trim().strip_prefix("/// | `SEALED_SESSION_"))
        .filter_map(|rest| rest.split('`').next())
        .map(|name| format!("SEALED_SESSION_{name}"))
        .collect();
    assert!(vars.len() > 20, "the table was not found: {vars:?}");
    vars
}

#[test]
fn check_config_env_warns_about_a_misspelled_variable() {
    let keys = format!("1:xaes-256-gcm:primary:{S1}");
    // A mass logout whose variable has a typo: the application ignores it, so nobody is
    // logged out; the check must say so instead of reporting a valid configuration silently.
    let env = [
        ("SEALED_SESSION_KEYS", keys.as_str()),
        ("SEALED_SESSION_NOTBEFORE", "2023-11-14T00:00:00Z"),
        ("SEALED_SESSION_IDLE_TIMEOUT", "5m"),
    ];
    let out = run_with_env(&["check-config", "--env", "--at", &at(0)], "", &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for var in ["SEALED_SESSION_NOTBEFORE", "SEALED_SESSION_IDLE_TIMEOUT"] {
        assert!(
            out.stderr.contains(&format!(
                "warning: `{var}` is set, but sealed-session reads no such variable: it is ignored"
            )),
            "{var}: {}",
            out.stderr
        );
    }
    // `inspect --env` reads the same configuration, and says the same.
    let value = seal(&config_file("misspelled-env.toml"), "__Host-session");
    let out = run_with_env(&["inspect", "--env", "--at", &at(60)], &value, &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("`SEALED_SESSION_NOTBEFORE` is set"),
        "{}",
        out.stderr
    );
    // Every documented variable is known (empty values change nothing).
    let documented = documented_variables();
    let mut env: Vec<(&str, &str)> = documented.iter().map(|v| (v.as_str(), "")).collect();
    env.retain(|(v, _)| *v != "SEALED_SESSION_KEYS" && *v != "SEALED_SESSION_CONFIG");
    env.push(("SEALED_SESSION_KEYS", keys.as_str()));
    let out = run_with_env(&["check-config", "--env", "--at", &at(0)], "", &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for var in &documented {
        assert!(
            !out.stderr.contains(&format!("`{var}` is set")),
            "{var}: {}",
            out.stderr
        );
    }
}

/// A key's `secret_env` named like the library's variables is read, so it is not "unknown":
/// the names warned about are the ones nothing reads, and the tool learns which those are
/// from the configuration it loaded (a fixed list of the library's names warned about it).
#[test]
fn check_config_env_does_not_warn_about_a_keys_secret_env() {
    let config = write(
        "secret-env-named-like-ours.toml",
        "[[keys]]\nid = 1\nsecret_env = \"SEALED_SESSION_PROD_KEY\"\n",
    );
    let env = [
        ("SEALED_SESSION_CONFIG", config.to_str().unwrap()),
        ("SEALED_SESSION_PROD_KEY", S1),
    ];
    let out = run_with_env(&["check-config", "--env", "--at", &at(0)], "", &env);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        !out.stderr.contains("`SEALED_SESSION_PROD_KEY` is set"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(S1) && !out.stdout.contains(S1));
}

/// The warnings the layer logs at start-up through `tracing` (a shared secret file, cookies
/// without `Secure`) are the ones an operator runs `check-config` to catch before deploying;
/// the tool installs no `tracing` subscriber, so it has to print them itself.
#[cfg(unix)]
#[test]
fn check_config_warns_about_a_secret_file_others_can_read() {
    use std::os::unix::fs::PermissionsExt as _;
    let secret = write("shared.secret", &format!("{S1}\n"));
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = write(
        "shared-secret.toml",
        "[[keys]]\nid = 4\nsecret_file = \"shared.secret\"\n",
    );
    let out = run(&["check-config", config.to_str().unwrap(), "--at", &at(0)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "warning: key 4: `secret_file` {} is readable or writable by its group or other \
             users (mode 0644); restrict it to the owner: `chmod 600 {}`",
            secret.display(),
            secret.display()
        )),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(S1) && !out.stdout.contains(S1));
    // Restricted to the owner: no warning.
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = run(&["check-config", config.to_str().unwrap(), "--at", &at(0)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

#[test]
fn check_config_warns_about_each_insecure_cookie_setting() {
    let config = write(
        "insecure.toml",
        &format!(
            "[cookie]\nsecure = false\nhost_prefix = false\nhttp_only = false\n\
             [[keys]]\nid = 1\nsecret = \"{S1}\"\n"
        ),
    );
    let out = run(&["check-config", config.to_str().unwrap(), "--at", &at(0)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    for setting in ["cookie.secure", "cookie.host_prefix", "cookie.http_only"] {
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with("warning: ") && l.contains(&format!("`{setting} = false`"))),
            "{setting}: {}",
            out.stderr
        );
    }
    let out = run(&["check-config", config_file("secure.toml").to_str().unwrap()]);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
}

/// The README's walk-through runs the `key_rotation` example with `--dev`, which sends the
/// cookie as `session` (no `__Host-`); `inspect` with the same file opens it as
/// `__Host-session`. It must say that the name is the problem, not only "tampered".
#[test]
fn inspect_hints_at_the_name_when_a_dev_cookie_is_opened_under_the_configured_name() {
    let config = config_file("dev-name.toml");
    let value = seal(&config, "session");
    let out = run_with_stdin(
        &[
            "inspect",
            "--config",
            config.to_str().unwrap(),
            "--at",
            &at(60),
        ],
        &value,
    );
    assert_eq!(out.code, 3);
    assert!(
        out.stdout.contains("rejected (unauthenticated)"),
        "{}",
        out.stdout
    );
    assert!(
        out.stderr.contains("hint: it opens as cookie `session`")
            && out.stderr.contains("--name session"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(S1), "{}", out.stderr);
    // And the other way round: a `__Host-` value opened with `--name session`.
    let value = seal(&config, "__Host-session");
    let out = run_with_stdin(
        &[
            "inspect",
            "--config",
            config.to_str().unwrap(),
            "--name",
            "session",
            "--at",
            &at(60),
        ],
        &value,
    );
    assert_eq!(out.code, 3);
    assert!(
        out.stderr
            .contains("hint: it opens as cookie `__Host-session`"),
        "{}",
        out.stderr
    );
    // A tampered value gets no such hint.
    let mut tampered = seal(&config, "session");
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    let out = run_with_stdin(
        &[
            "inspect",
            "--config",
            config.to_str().unwrap(),
            "--at",
            &at(60),
        ],
        &tampered,
    );
    assert_eq!(out.code, 3);
    assert!(!out.stderr.contains("it opens as"), "{}", out.stderr);
}

/// A decrypt-only key seals nothing, so it stopped sealing by now at the latest; a
/// `retired_at` in the future is a typo (a year off), and until then the key opens values a
/// leaked copy mints. check-config reported "stopped sealing at" the future instant, in the
/// past tense, and said nothing.
#[test]
fn check_config_warns_about_a_retired_at_in_the_future() {
    let config = write(
        "future-retired.toml",
        &format!(
            "[[keys]]\nid = 1\nsecret = \"{S1}\"\nstate = \"decrypt-only\"\nretired_at = {}\n\
             [[keys]]\nid = 2\nsecret = \"{S2}\"\n",
            at(365 * 86_400)
        ),
    );
    let out = run(&["check-config", config.to_str().unwrap(), "--at", &at(0)]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(&format!(
            "warning: key 1: `retired_at` {} is in the future",
            at(365 * 86_400)
        )),
        "{}",
        out.stderr
    );
    // Within the skew (clocks differ) it is not flagged; nor is a past one.
    for secs in [30, 0] {
        let config = write(
            "near-retired.toml",
            &format!(
                "[[keys]]\nid = 1\nsecret = \"{S1}\"\nstate = \"decrypt-only\"\nretired_at = {}\n\
                 [[keys]]\nid = 2\nsecret = \"{S2}\"\n",
                at(secs)
            ),
        );
        let out = run(&["check-config", config.to_str().unwrap(), "--at", &at(0)]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(!out.stderr.contains("in the future"), "{}", out.stderr);
    }
}

/// `sealed-session check-config FILE | head -1` (or `| grep -q valid`): the reader goes away
/// before the report is written. The tool panicked ("failed printing to stdout: Broken pipe",
/// exit status 101); it must fail quietly instead. And `keygen > FILE` on a full disk must
/// not succeed with a partial secret.
#[test]
fn a_closed_standard_output_is_a_quiet_failure_not_a_panic() {
    let config = config_file("closed-stdout.toml");
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(BIN)
        .args(["check-config", config.to_str().unwrap(), "--at", &at(0)])
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    #[cfg(target_os = "linux")]
    {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(BIN)
            .args(["keygen", "--format", "secret"])
            .stdout(full)
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(
            stderr.starts_with("error: cannot write to standard output"),
            "{stderr}"
        );
    }
}

/// `SEALED_SESSION_KEYS` replaces the keys only for `--env`: a configuration file read while
/// the variable happens to be set in the shell still gets the inline-secret note.
#[test]
fn a_files_inline_secret_is_noted_even_with_sealed_session_keys_set() {
    let keys = format!("1:xaes-256-gcm:primary:{S2}");
    let file = config_file("inline-note-keys-set.toml");
    let out = run_with_env(
        &["check-config", file.to_str().unwrap(), "--at", &at(0)],
        "",
        &[("SEALED_SESSION_KEYS", keys.as_str())],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("key 1 has its secret inline"),
        "{}",
        out.stderr
    );
}

/// A file's key with `secret_env` gets the note that a running instance sees the variable
/// only as it was at start (so a key added by reload must come from `secret_file`).
#[test]
fn check_config_notes_that_a_secret_env_key_is_read_only_at_start() {
    let path = write(
        "secret-env-note.toml",
        "[[keys]]\nid = 1\nsecret_env = \"SEALED_SESSION_CLI_TEST_KEY\"\n",
    );
    let out = run_with_env(
        &["check-config", path.to_str().unwrap(), "--at", &at(0)],
        "",
        &[("SEALED_SESSION_CLI_TEST_KEY", S1)],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains(
            "note: key 1 reads `SEALED_SESSION_CLI_TEST_KEY` from the environment: a running \
             instance sees it only if it was set when the instance started"
        ),
        "{}",
        out.stderr
    );
}

/// Only a value whose part before the first dot is a chunk count (digits) is a chunked
/// session's first chunk; another dotted value is inspected as it is, not as chunks.
#[test]
fn inspect_takes_only_a_digit_prefix_for_a_chunk_count() {
    let config = config_file("not-chunked.toml");
    let path = config.to_str().unwrap();
    for value in ["abc.def", ".def"] {
        let out = run(&[
            "inspect",
            "--config",
            path,
            "--at",
            &at(60),
            "--value",
            value,
        ]);
        assert_eq!(out.code, 3, "{value}: {}{}", out.stdout, out.stderr);
        assert!(!out.stdout.contains("chunks:"), "{value}: {}", out.stdout);
    }
}
