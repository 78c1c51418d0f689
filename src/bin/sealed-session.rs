//! `sealed-session`: make keys, check a configuration and its key rotation state, and open a
//! session cookie value.
//!
//! ```text
//! sealed-session keygen [--id N] [--algorithm A] [--state S] [--format toml|env|secret]
//! sealed-session check-config FILE [--at TIME]
//! sealed-session inspect --config FILE [--name NAME] [--at TIME] [--value VALUE] < VALUE
//! ```
//!
//! `inspect` reads the cookie value from standard input unless `--value` gives it: a session
//! cookie is a bearer credential, and a command line is visible to other users (`ps`) and
//! kept in shell history.
//!
//! Exit status: 0 on success, 1 for an invalid configuration, unreadable input or standard
//! output that cannot be written (a closed pipe, a full disk; never a panic), 2 for a
//! usage error, 3 when `inspect` rejects the value. Only `keygen` ever prints a secret.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::builder::PossibleValuesParser;
use clap::{Parser, Subcommand, ValueEnum};
use sealed_session::config::SessionMode;
use sealed_session::data::SessionExpiry;
use sealed_session::keys::{generate_secret, Algorithm, KeyId, KeyRing, KeyState};
use sealed_session::seal::{key_id_of, OpenedSession, Sealer};
use sealed_session::{ConfigError, RejectReason, SessionConfig};
use zeroize::Zeroizing;

/// Set when a write to standard output failed: the command then exits with status 1.
static STDOUT_FAILED: AtomicBool = AtomicBool::new(false);

/// `println!` that does not panic when standard output is gone (`| head -1`, `| grep -q`: a
/// broken pipe) or full (`keygen > FILE` on a full disk): the failure is recorded, said once
/// on stderr unless the reader just went away, and the command finishes with status 1 (its
/// destructors, zeroizing ones included, run as usual).
macro_rules! out {
    ($($arg:tt)*) => {
        write_out(format_args!($($arg)*))
    };
}

fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    if STDOUT_FAILED.load(Ordering::Relaxed) {
        return;
    }
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
    {
        STDOUT_FAILED.store(true, Ordering::Relaxed);
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to standard output: {e}");
        }
    }
}

/// Exit status when `inspect` rejects the value.
const REJECTED: u8 = 3;

/// The features the tool is installed with (README), so that it checks every configuration
/// an application can use.
const INSTALL_FEATURES: &str = "cli,redis-tls,redis-cluster";

/// Keys, configuration checks and cookie inspection for sealed-session.
#[derive(Parser, Debug)]
#[command(name = "sealed-session", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print a new key with a fresh random secret, ready for the configuration.
    Keygen {
        /// Key id (0-255); pick one no other key of the ring uses.
        #[arg(long, default_value_t = 1)]
        id: u8,
        /// AEAD the key seals with.
        #[arg(long, default_value = "xaes-256-gcm",
              value_parser = PossibleValuesParser::new(Algorithm::ALL.map(Algorithm::name)))]
        algorithm: String,
        /// State of the new key. When rotating, add it as decrypt-only on every instance
        /// first, then promote it.
        #[arg(long, value_enum, default_value_t = State::Primary)]
        state: State,
        /// `toml`: a `[[keys]]` table; `env`: one `SEALED_SESSION_KEYS` entry; `secret`: the
        /// secret alone (for a `secret_file`).
        #[arg(long, value_enum, default_value_t = Format::Toml)]
        format: Format,
    },
    /// Validate a configuration file (or the environment's, with `--env`) and print its key
    /// rotation state.
    CheckConfig {
        /// The TOML configuration file.
        #[arg(required_unless_present = "env")]
        file: Option<PathBuf>,
        /// Read the configuration as the application's `SessionConfig::from_env()` does: the
        /// file `SEALED_SESSION_CONFIG` names, if any, then the `SEALED_SESSION_*` variables
        /// and the `SEALED_SESSION_KEYS` ring over it.
        #[arg(long, conflicts_with = "file")]
        env: bool,
        /// Report as of this instant (RFC 3339, UTC, e.g. 2026-12-01T00:00:00Z) instead of now.
        #[arg(long, value_parser = parse_time)]
        at: Option<SystemTime>,
    },
    /// Open a session cookie value and print what it holds, or why it is rejected.
    ///
    /// The value is read from standard input (`NAME=VALUE` is accepted too; for a session
    /// split into chunks, join the chunk values in order, the first one with its `N.` count),
    /// e.g. `sealed-session inspect
    /// --config session.toml < cookie.txt`.
    Inspect {
        /// The TOML configuration file whose keys and timeouts apply.
        #[arg(long, required_unless_present = "env")]
        config: Option<PathBuf>,
        /// Read the configuration from the environment, as `check-config --env` does.
        #[arg(long, conflicts_with = "config")]
        env: bool,
        /// The cookie name as sent, including `__Host-` if used (values are bound to it).
        /// Default: the configuration's cookie name.
        #[arg(long)]
        name: Option<String>,
        /// Open as of this instant (RFC 3339, UTC) instead of now.
        #[arg(long, value_parser = parse_time)]
        at: Option<SystemTime>,
        /// The cookie value on the command line instead of standard input (the default).
        /// Avoid it for real cookies: a command line is visible to other users (`ps`) and kept
        /// in shell history. `-` reads standard input.
        #[arg(long)]
        value: Option<String>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum State {
    Primary,
    DecryptOnly,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Primary => "primary",
            State::DecryptOnly => "decrypt-only",
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Toml,
    Env,
    Secret,
}

fn parse_time(s: &str) -> Result<SystemTime, String> {
    humantime::parse_rfc3339(s).map_err(|e| {
        format!("`{s}` is not an RFC 3339 UTC time ({e}); write e.g. 2026-12-01T00:00:00Z")
    })
}

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

fn unix(secs: u64) -> String {
    rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(secs))
}

/// Prints a configuration error (after `context`, if any) with its causes and returns exit
/// status 1.
fn fail(context: Option<&str>, err: &ConfigError) -> ExitCode {
    match context {
        Some(context) => eprintln!("error: {context}: {err}"),
        None => eprintln!("error: {err}"),
    }
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let code = run(Cli::parse().command);
    // A flush error (a full disk) is as much a failure as a write error.
    let flushed = std::io::Write::flush(&mut std::io::stdout());
    if let Err(e) = &flushed {
        if !STDOUT_FAILED.load(Ordering::Relaxed) && e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("error: cannot write to standard output: {e}");
        }
    }
    if STDOUT_FAILED.load(Ordering::Relaxed) || flushed.is_err() {
        return ExitCode::FAILURE;
    }
    code
}

fn run(command: Command) -> ExitCode {
    match command {
        Command::Keygen {
            id,
            algorithm,
            state,
            format,
        } => keygen(id, &algorithm, state, format),
        Command::CheckConfig { file, env, at } => {
            check_config(&Source::of(file, env), at.unwrap_or_else(SystemTime::now))
        }
        Command::Inspect {
            config,
            env,
            name,
            at,
            value,
        } => inspect(
            &Source::of(config, env),
            name,
            at.unwrap_or_else(SystemTime::now),
            value.as_deref(),
        ),
    }
}

/// Where the configuration comes from: a file, or the environment as the application's
/// `SessionConfig::from_env()` reads it.
enum Source {
    File(PathBuf),
    Env,
}

impl Source {
    /// clap makes sure exactly one of the two was given.
    fn of(file: Option<PathBuf>, env: bool) -> Self {
        match file {
            Some(file) if !env => Source::File(file),
            _ => Source::Env,
        }
    }

    fn load(&self) -> Result<SessionConfig, ConfigError> {
        match self {
            Source::File(file) => SessionConfig::from_file(file),
            Source::Env => {
                // It logs its warnings through `tracing`, which this tool does not print.
                let config = SessionConfig::from_env()?;
                for name in config.unread_env_vars() {
                    eprintln!(
                        "warning: `{name}` is set, but sealed-session reads no such variable: \
                         it is ignored (a misspelled setting? the variables are listed on \
                         `SessionConfig::from_env`)"
                    );
                }
                Ok(config)
            }
        }
    }

    /// How the configuration is named in messages.
    fn shown(&self) -> String {
        match self {
            Source::File(file) => file.display().to_string(),
            Source::Env => "the environment's configuration".to_owned(),
        }
    }
}

fn keygen(id: u8, algorithm: &str, state: State, format: Format) -> ExitCode {
    let secret = Zeroizing::new(generate_secret());
    let state = state.name();
    match format {
        Format::Toml => out!(
            "# New key from `sealed-session keygen`. Keep the secret out of version control: in\n\
             # production put it in a file (`secret_file = \"/run/secrets/...\"`) or a variable\n\
             # (`secret_env = \"NAME\"`) instead of `secret`. When rotating, add the key as\n\
             # \"decrypt-only\" on every instance first, then make it \"primary\".\n\
             [[keys]]\n\
             id = {id}\n\
             algorithm = \"{algorithm}\"\n\
             state = \"{state}\"\n\
             secret = \"{}\"",
            secret.as_str()
        ),
        Format::Env => out!("{id}:{algorithm}:{state}:{}", secret.as_str()),
        Format::Secret => out!("{}", secret.as_str()),
    }
    ExitCode::SUCCESS
}

fn check_config(source: &Source, now: SystemTime) -> ExitCode {
    let shown = source.shown();
    // Errors from loading name the file (or the variable) already.
    let config = match source.load() {
        Ok(c) => c,
        Err(e) => return fail(None, &e),
    };
    let report = match config.rotation_report(now) {
        Ok(r) => r,
        Err(e) => {
            let code = fail(Some(&format!("{shown} is not a valid configuration")), &e);
            let redis = config.store.url.starts_with("redis") || !config.store.cluster.is_empty();
            if redis && !cfg!(all(feature = "redis-tls", feature = "redis-cluster")) {
                eprintln!(
                    "hint: this sealed-session tool was built without all of its Redis \
                     features, so it cannot check every Redis store; install it with \
                     `cargo install sealed-session --features {INSTALL_FEATURES}`"
                );
            }
            return code;
        }
    };
    out!("{shown}: valid");
    let c = &config.cookie;
    let same_site = format!("{:?}", c.same_site);
    let mut attrs = vec![format!("Path={}", c.path), format!("SameSite={same_site}")];
    if let Some(d) = &c.domain {
        attrs.push(format!("Domain={d}"));
    }
    if c.secure {
        attrs.push("Secure".into());
    }
    if c.http_only {
        attrs.push("HttpOnly".into());
    }
    out!("cookie: {} ({})", c.full_name(), attrs.join("; "));
    let e = &config.expiry;
    let off = |d: std::time::Duration| {
        if d.is_zero() {
            "off".to_owned()
        } else {
            humantime::format_duration(d).to_string()
        }
    };
    out!(
        "expiry: idle {}, absolute {}, skew {}, renew after {}{}",
        off(e.idle),
        off(e.absolute),
        humantime::format_duration(e.skew),
        e.renew_after.map_or_else(
            || "idle / 4".to_owned(),
            |d| humantime::format_duration(d).to_string()
        ),
        // It takes part in the safe-to-remove instants below.
        e.not_before.map_or_else(String::new, |t| format!(
            ", not_before {}",
            humantime::format_rfc3339_seconds(t)
        )),
    );
    match config.store.mode {
        sealed_session::config::SessionMode::Client => {
            out!("mode: client (the session is sealed in the cookie)");
        }
        sealed_session::config::SessionMode::Server => out!(
            "mode: server, store {:?} (the cookie carries a sealed id)",
            config.store
        ),
    }
    out!("{report}");
    warn_insecure(&config);
    warn_future_retirement(&config, now);
    // `SEALED_SESSION_KEYS` replaces the keys, its secrets already in the environment.
    let keys_from_env = matches!(source, Source::Env)
        && std::env::var_os("SEALED_SESSION_KEYS").is_some_and(|v| !v.is_empty());
    for key in &config.keys {
        if let Some(var) = key.secret_env.as_deref().filter(|_| !keys_from_env) {
            eprintln!(
                "note: key {} reads `{}` from the environment: a running instance sees it only \
                 if it was set when the instance started, so a key added by reload (SIGHUP) \
                 must come from `secret_file`; checked here against this shell's environment",
                key.id, var
            );
        }
        if key.secret.is_some() && !keys_from_env {
            eprintln!(
                "note: key {} has its secret inline; prefer `secret_file` or `secret_env` in production",
                key.id
            );
        }
    }
    ExitCode::SUCCESS
}

/// Prints the warnings the layer and the key loader log through `tracing` at start-up (this
/// tool installs no subscriber, so they would otherwise be lost): each insecure cookie
/// setting (the layer's wording), and a `secret_file` its group or other users can read or
/// write. Never a secret.
fn warn_insecure(config: &SessionConfig) {
    let cookie = &config.cookie;
    if !cookie.secure {
        eprintln!(
            "warning: session cookie without `Secure` (`cookie.secure = false`): browsers send \
             it over plain http, where anyone on the path can read and replay it; for local \
             development only"
        );
    }
    if !cookie.host_prefix {
        eprintln!(
            "warning: session cookie without the `__Host-` prefix (`cookie.host_prefix = \
             false`): a sibling subdomain can set or shadow it (cookie tossing)"
        );
    }
    if !cookie.http_only {
        eprintln!(
            "warning: session cookie without `HttpOnly` (`cookie.http_only = false`): scripts \
             on the page, and any XSS, can read it"
        );
    }
    for key in &config.keys {
        if let Some(path) = &key.secret_file {
            warn_if_shared(key.id, path);
        }
    }
}

/// The check `KeyConfig::build` logs for a `secret_file` (unix mode bits only).
#[cfg(unix)]
fn warn_if_shared(id: u8, path: &std::path::Path) {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    let mode = meta.mode() & 0o7777;
    if mode & 0o066 != 0 {
        eprintln!(
            "warning: key {id}: `secret_file` {} is readable or writable by its group or other \
             users (mode {mode:04o}); restrict it to the owner: `chmod 600 {}`",
            path.display(),
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_shared(_id: u8, _path: &std::path::Path) {}

/// Warns about a decrypt-only key whose `retired_at` is later than `now` plus the skew: it
/// seals nothing, so it stopped sealing by now; a later instant (a typo of a year, say) lets
/// a leaked copy mint sessions until then, and puts off its removal.
fn warn_future_retirement(config: &SessionConfig, now: SystemTime) {
    let horizon = now.checked_add(config.expiry.skew).unwrap_or(now);
    for key in &config.keys {
        let future = key
            .retired_at
            .filter(|&at| key.state == KeyState::DecryptOnly && at > horizon);
        if let Some(at) = future {
            eprintln!(
                "warning: key {}: `retired_at` {} is in the future, but a decrypt-only key seals \
                 nothing: record when it stopped sealing (until `retired_at` plus the skew it \
                 also opens values a leaked copy of it mints)",
                key.id,
                rfc3339(at)
            );
        }
    }
}

/// The value from `--value`, or from standard input (the default, and for `--value -`).
fn read_value(value: Option<&str>) -> Result<Zeroizing<String>, std::io::Error> {
    match value {
        Some(v) if v != "-" => Ok(Zeroizing::new(v.to_owned())),
        _ => {
            let mut buf = Zeroizing::new(String::new());
            std::io::stdin().read_to_string(&mut buf)?;
            Ok(buf)
        }
    }
}

fn inspect(
    source: &Source,
    name: Option<String>,
    now: SystemTime,
    value: Option<&str>,
) -> ExitCode {
    let shown = source.shown();
    let config = match source.load() {
        Ok(c) => c,
        Err(e) => return fail(None, &e),
    };
    let ring = match config.key_ring_at(now) {
        Ok(r) => r,
        Err(e) => return fail(Some(&format!("{shown} has no usable key ring")), &e),
    };
    let name = name.unwrap_or_else(|| config.cookie.full_name());
    let raw = match read_value(value) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: cannot read the value from stdin: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut value = raw.trim();
    if let Some(rest) = value
        .strip_prefix(name.as_str())
        .and_then(|r| r.strip_prefix('='))
    {
        value = rest;
    }
    let sealer = Sealer::new(name.clone(), config.expiry.policy());
    out!("cookie: {name}");
    // A session split into chunks: the first chunk's value starts with the chunk count and a
    // dot (`3.`), which no base64url value holds; the rest, joined in order, is the value.
    if let Some((count, rest)) = value.split_once('.') {
        if !count.is_empty() && count.bytes().all(|b| b.is_ascii_digit()) {
            out!("chunks: {count} (joined)");
            value = rest;
        }
    }
    if config.store.mode == SessionMode::Server {
        // The cookie carries a sealed id; the session is in the store.
        return match sealer.check_id(&ring, value, now) {
            Ok(key_id) => {
                out!("server-mode session id (the id is not shown; the session is in the store)");
                print_key(&ring, key_id, now);
                ExitCode::SUCCESS
            }
            Err(reason) => {
                out!("rejected ({}): {reason}", reason.as_str());
                explain(reason, &config, &ring, &name, value);
                hint_other_name(reason, &config, &ring, &name, value, now);
                if reason == RejectReason::Unauthenticated && sealer.open(&ring, value, now).is_ok()
                {
                    eprintln!(
                        "hint: this is a client-mode session cookie, and the configuration \
                         says `[store] mode = \"server\"`"
                    );
                }
                ExitCode::from(REJECTED)
            }
        };
    }
    match sealer.open(&ring, value, now) {
        Ok(opened) => {
            print_opened(&ring, &opened, now);
            ExitCode::SUCCESS
        }
        Err(reason) => {
            out!("rejected ({}): {reason}", reason.as_str());
            explain(reason, &config, &ring, &name, value);
            hint_other_name(reason, &config, &ring, &name, value, now);
            if reason == RejectReason::Unauthenticated && sealer.check_id(&ring, value, now).is_ok()
            {
                eprintln!(
                    "hint: this is a server-mode session id cookie, and the configuration says \
                     client mode (set `[store] mode = \"server\"` to inspect it)"
                );
            }
            ExitCode::from(REJECTED)
        }
    }
}

/// The key line: which key sealed the value, and whether it is the primary now.
fn print_key(ring: &KeyRing, key_id: KeyId, now: SystemTime) {
    let primary = ring.primary_at(now).id();
    let algorithm = ring.get(key_id).map_or("?", |k| k.algorithm().name());
    let role = if key_id == primary {
        "the primary now".to_owned()
    } else {
        format!("not the primary now: the layer re-seals it under key {primary}")
    };
    out!("key: {key_id} ({algorithm}, {role})");
}

fn print_opened(ring: &KeyRing, opened: &OpenedSession, now: SystemTime) {
    print_key(ring, opened.key_id, now);
    let data = &opened.data;
    match data.created_at() {
        Some(t) => out!("created: {}", unix(t)),
        None => out!("created: unknown"),
    }
    match data.expires_at() {
        0 => out!("expires: never (no idle or absolute timeout)"),
        t => out!("expires: {}", unix(t)),
    }
    match data.session_expiry() {
        None => {}
        Some(SessionExpiry::Idle(secs)) => out!("expiry choice: idle timeout of {secs} s"),
        Some(SessionExpiry::BrowserSession) => {
            out!("expiry choice: browser-session cookie (the configured timeouts apply)");
        }
        Some(SessionExpiry::Until(t)) => out!("expiry choice: until {}", unix(t)),
    }
    if let Some(t) = data.validated_at() {
        out!("auth stamp last checked: {}", unix(t));
    }
    out!("entries: {}", data.len());
    let width = data.keys().map(str::len).max().unwrap_or(0);
    for (key, size) in data.sizes() {
        let unit = if size == 1 { "byte" } else { "bytes" };
        out!("  {key:<width$}  {size} {unit}");
    }
}

/// A value that fails to authenticate under `name` may be an intact value of the same
/// cookie under its other name: with or without `__Host-` (a `--dev` run, or
/// `host_prefix = false`, sends the bare name). If it opens under one, say so: "tampered"
/// would send the operator looking for an attack.
fn hint_other_name(
    reason: RejectReason,
    config: &SessionConfig,
    ring: &KeyRing,
    name: &str,
    value: &str,
    now: SystemTime,
) {
    if reason != RejectReason::Unauthenticated {
        return;
    }
    let bare = name.strip_prefix("__Host-").unwrap_or(name);
    let candidates = [
        bare.to_owned(),
        format!("__Host-{bare}"),
        config.cookie.name.clone(),
        config.cookie.full_name(),
    ];
    let policy = config.expiry.policy();
    let opens = |candidate: &str| {
        let sealer = Sealer::new(candidate.to_owned(), policy);
        sealer.open(ring, value, now).is_ok() || sealer.check_id(ring, value, now).is_ok()
    };
    if let Some(other) = candidates.iter().find(|c| *c != name && opens(c)) {
        eprintln!(
            "hint: it opens as cookie `{other}`: the value is intact, sealed under that name \
             (pass --name {other})"
        );
    }
}

/// Adds what the operator can do about a rejection, from facts the value states openly.
fn explain(reason: RejectReason, config: &SessionConfig, ring: &KeyRing, name: &str, value: &str) {
    match reason {
        RejectReason::Unauthenticated if name != config.cookie.full_name() => eprintln!(
            "hint: a value is bound to its cookie name; the configuration's cookie is `{}`, \
             this was opened as `{name}` (pass --name with the name it was sent under)",
            config.cookie.full_name()
        ),
        RejectReason::RetiredKey => {
            let key = key_id_of(value).and_then(|id| ring.get(id));
            if let Some((id, at)) = key.and_then(|k| k.retirement().map(|at| (k.id(), at))) {
                eprintln!(
                    "hint: key {id} was retired at {}; a value created after that (plus the \
                     skew) was sealed with a leaked copy of it, or by an instance that still \
                     had it as primary (then `retired_at` is too early)",
                    rfc3339(at)
                );
            }
        }
        RejectReason::UnknownKey => {
            let ids: Vec<String> = ring.keys().map(|k| k.id().to_string()).collect();
            if let Some(key_id) = key_id_of(value) {
                eprintln!(
                    "hint: the value names key {key_id}; the ring holds keys {}",
                    ids.join(", ")
                );
            }
        }
        _ => {}
    }
}
