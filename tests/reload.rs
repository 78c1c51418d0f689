//! Reloading a live layer (issue 12, S2): a reload builds the whole configuration the way
//! start-up does (the file, plus the `SEALED_SESSION_*` variables when `SEALED_SESSION_CONFIG`
//! names that file), swaps the key ring and the expiry policy together, and refuses settings
//! that cannot change while serving.
//!
//! One test here sets process environment variables; every other test reloads files that no
//! variable names, so they do not depend on it.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::path::PathBuf;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use http::{header, HeaderValue, Request, Response};
use sealed_session::keys::KeyId;
use sealed_session::time::ManualClock;
use sealed_session::{Session, SessionConfig, SessionLayer};
use tower::{Layer, Service};

use common::http::{KEY1, KEY2};
use common::logs::capture;
use common::T0;

/// A fresh path in the temp directory, unique to this process.
fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sealed-session-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// RFC 3339 for `T0 + secs`.
fn rfc3339(secs: u64) -> String {
    humantime::format_rfc3339_seconds(common::at(secs)).to_string()
}

/// The visit counter behind `layer`, called directly (client mode never waits): returns the
/// count and the cookie to send next.
struct Counter<S>(S);

impl<S> Counter<S>
where
    S: Service<Request<()>, Response = Response<String>, Error = Infallible>,
{
    fn visit(&mut self, cookie: Option<&str>) -> (u64, Option<String>) {
        let mut req = Request::new(());
        if let Some(c) = cookie {
            req.headers_mut()
                .insert(header::COOKIE, HeaderValue::from_str(c).unwrap());
        }
        let mut fut = std::pin::pin!(self.0.call(req));
        let res = match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(res)) => res,
            Poll::Ready(Err(e)) => match e {},
            Poll::Pending => panic!("client mode never waits"),
        };
        let next = res
            .headers()
            .get(header::SET_COOKIE)
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned());
        (res.body().parse().unwrap(), next)
    }
}

fn counter(
    layer: &SessionLayer,
) -> Counter<impl Service<Request<()>, Response = Response<String>, Error = Infallible>> {
    Counter(
        layer.layer(tower::service_fn(|req: Request<()>| async move {
            let session = req.extensions().get::<Session>().unwrap();
            let n: u64 = session.get("n").unwrap().unwrap_or(0) + 1;
            session.insert("n", &n).unwrap();
            Ok::<_, Infallible>(Response::new(n.to_string()))
        })),
    )
}

fn key(id: u8, secret: &str, state: &str) -> String {
    format!("[[keys]]\nid = {id}\nsecret = \"{secret}\"\nstate = \"{state}\"\n")
}

#[test]
fn reload_from_file_applies_a_raised_not_before_to_cookies_already_issued() {
    let file = temp_path("not-before.toml");
    std::fs::write(&file, key(1, KEY1, "primary")).unwrap();
    let clock = ManualClock::at_unix(T0);
    let layer = SessionLayer::new(SessionConfig::from_file(&file).unwrap())
        .unwrap()
        .clock(clock.clone());
    let mut app = counter(&layer);
    let (n, cookie) = app.visit(None);
    assert_eq!(n, 1);
    let cookie = cookie.unwrap();
    assert_eq!(app.visit(Some(&cookie)).0, 2);

    // The documented mass logout: every session created before now is rejected.
    clock.advance(Duration::from_mins(10));
    std::fs::write(
        &file,
        format!(
            "[expiry]\nnot_before = \"{}\"\n{}",
            rfc3339(300),
            key(1, KEY1, "primary")
        ),
    )
    .unwrap();
    layer.key_ring_handle().reload_from_file(&file).unwrap();
    assert_eq!(
        app.visit(Some(&cookie)).0,
        1,
        "a cookie created before `not_before` still opens after the reload"
    );
    // As a layer started from the same file would.
    let fresh = SessionLayer::new(SessionConfig::from_file(&file).unwrap())
        .unwrap()
        .clock(clock.clone());
    assert_eq!(counter(&fresh).visit(Some(&cookie)).0, 1);

    // A `not_before` in the future would reject every new session until then: refused, and
    // the policy in force stays (the session made after the first reload still counts).
    let (_, since_reload) = app.visit(None);
    let since_reload = since_reload.unwrap();
    std::fs::write(
        &file,
        format!(
            "[expiry]\nnot_before = \"{}\"\n{}",
            rfc3339(600 + 3600),
            key(1, KEY1, "primary")
        ),
    )
    .unwrap();
    let err = layer
        .key_ring_handle()
        .reload_from_file(&file)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not_before") && err.contains("in the future"),
        "{err}"
    );
    assert_eq!(app.visit(Some(&since_reload)).0, 2);
}

/// Runbook step 1 by `SIGHUP` with the new key in `secret_env`: the variable, set after the
/// process started, is not in its environment, so the reload is refused — and the error now
/// says why and what to do instead, where it said only "is not set" (while `check-config`,
/// run in the operator's shell, called the file valid).
#[test]
fn a_key_added_by_reload_with_secret_env_is_refused_with_the_fix() {
    let file = temp_path("secret-env-reload.toml");
    std::fs::write(&file, key(1, KEY1, "primary")).unwrap();
    let layer = SessionLayer::new(SessionConfig::from_file(&file).unwrap()).unwrap();
    std::fs::write(
        &file,
        format!(
            "{}[[keys]]\nid = 2\nstate = \"decrypt-only\"\nsecret_env = \"SEALED_SESSION_TEST_NEVER_SET_2\"\n",
            key(1, KEY1, "primary")
        ),
    )
    .unwrap();
    let (result, logs) = capture(|| layer.key_ring_handle().reload_from_file(&file));
    let err = result.unwrap_err().to_string();
    assert!(
        err.contains("`SEALED_SESSION_TEST_NEVER_SET_2` is not set")
            && err.contains("a key added by reload must come from `secret_file`"),
        "{err}"
    );
    assert!(logs
        .text()
        .contains("a key added by reload must come from `secret_file`"));
    // The same key from a file is added by the reload.
    let secret_file = temp_path("key-2.b64");
    std::fs::write(&secret_file, KEY2).unwrap();
    std::fs::write(
        &file,
        format!(
            "{}[[keys]]\nid = 2\nstate = \"decrypt-only\"\nsecret_file = \"{}\"\n",
            key(1, KEY1, "primary"),
            secret_file.display()
        ),
    )
    .unwrap();
    layer.key_ring_handle().reload_from_file(&file).unwrap();
}

#[test]
fn reload_from_file_keeps_keys_removed_through_the_environment() {
    // The file still lists key 1; the operator removed it (say, leaked) through the
    // environment, which overrides the file at start-up.
    let file = temp_path("env-overrides.toml");
    std::fs::write(
        &file,
        format!(
            "{}{}",
            key(1, KEY1, "primary"),
            key(2, KEY2, "decrypt-only")
        ),
    )
    .unwrap();
    std::env::set_var("SEALED_SESSION_CONFIG", &file);
    std::env::set_var(
        "SEALED_SESSION_KEYS",
        format!("2:xaes-256-gcm:primary:{KEY2}"),
    );
    let config = SessionConfig::from_env();
    std::env::remove_var("SEALED_SESSION_CONFIG");
    let layer = SessionLayer::new(config.unwrap()).unwrap();
    // A cookie minted with the removed key.
    let leaked =
        SessionLayer::new(SessionConfig::from_toml_str(&key(1, KEY1, "primary")).unwrap()).unwrap();
    let minted = counter(&leaked).visit(None).1.unwrap();
    let mut app = counter(&layer);
    assert_eq!(app.visit(Some(&minted)).0, 1);

    std::env::set_var("SEALED_SESSION_CONFIG", &file);
    let reloaded = layer.key_ring_handle().reload_from_file(&file);
    std::env::remove_var("SEALED_SESSION_CONFIG");
    std::env::remove_var("SEALED_SESSION_KEYS");
    reloaded.unwrap();
    assert!(
        layer.key_ring_handle().current().get(KeyId(1)).is_none(),
        "the key removed through the environment came back"
    );
    assert_eq!(app.visit(Some(&minted)).0, 1);
}

#[test]
fn reload_refuses_to_change_the_cookie_or_the_store_and_keeps_the_current_state() {
    let layer =
        SessionLayer::new(SessionConfig::from_toml_str(&key(1, KEY1, "primary")).unwrap()).unwrap();
    let handle = layer.key_ring_handle();
    let mut app = counter(&layer);
    let cookie = app.visit(None).1.unwrap();
    let keys = format!(
        "{}{}",
        key(2, KEY2, "primary"),
        key(1, KEY1, "decrypt-only")
    );
    for (change, setting) in [
        ("[cookie]\nname = \"other\"\n", "cookie.name"),
        ("[cookie]\nhttp_only = false\n", "cookie.http_only"),
        ("[cookie]\nhost_prefix = false\n", "cookie.host_prefix"),
        (
            "[cookie]\nhost_prefix = false\npath = \"/app\"\n",
            "cookie.host_prefix",
        ),
        ("[cookie]\nsame_site = \"strict\"\n", "cookie.same_site"),
        (
            "[cookie]\nbrowser_session = true\n",
            "cookie.browser_session",
        ),
        ("[cookie]\nmax_cookie_len = 3000\n", "cookie.max_cookie_len"),
        ("[cookie]\nmax_chunks = 2\n", "cookie.max_chunks"),
        ("[store]\nmode = \"server\"\n", "store.mode"),
    ] {
        let config = SessionConfig::from_toml_str(&format!("{change}{keys}")).unwrap();
        let (result, logs) = capture(|| handle.reload(&config));
        let err = result.expect_err(setting).to_string();
        assert!(err.starts_with(setting), "{err}");
        let errors = logs.at("ERROR");
        assert!(
            errors.len() == 1 && errors[0].contains(setting),
            "{setting}: {errors:?}"
        );
        // The current ring (and policy) stay.
        assert!(handle.current().get(KeyId(2)).is_none(), "{setting}");
        assert_eq!(app.visit(Some(&cookie)).0, 2);
    }
    // Keys and timeouts may change.
    let config = SessionConfig::from_toml_str(&format!("[expiry]\nidle = \"1h\"\n{keys}")).unwrap();
    handle.reload(&config).unwrap();
    assert!(handle.current().get(KeyId(2)).is_some());
}

/// Every store setting is fixed too, in server mode, where they are in use: a reload that
/// changed the Redis nodes, the CA file or the connect policy used to be accepted and then
/// ignored (the store is built once), logging "reloaded".
#[test]
fn reload_refuses_every_store_setting_in_server_mode() {
    let server = "[store]\nmode = \"server\"\n";
    let layer = SessionLayer::new(
        SessionConfig::from_toml_str(&format!("{server}{}", key(1, KEY1, "primary"))).unwrap(),
    )
    .unwrap();
    let handle = layer.key_ring_handle();
    for (change, setting) in [
        ("url = \"redis://127.0.0.1:1/0\"\n", "store.url"),
        ("cluster = [\"redis://127.0.0.1:7000\"]\n", "store.cluster"),
        (
            "tls_ca_file = \"/etc/ssl/private-ca.pem\"\n",
            "store.tls_ca_file",
        ),
        ("prefix = \"other:\"\n", "store.prefix"),
        ("capacity = 10\n", "store.capacity"),
        ("load = \"lazy\"\n", "store.load"),
        ("connect = \"eager\"\n", "store.connect"),
    ] {
        let config =
            SessionConfig::from_toml_str(&format!("{server}{change}{}", key(2, KEY2, "primary")))
                .unwrap();
        let (result, logs) = capture(|| handle.reload(&config));
        let err = result.expect_err(setting).to_string();
        assert!(err.starts_with(setting), "{err}");
        assert_eq!(logs.at("ERROR").len(), 1, "{setting}");
        assert!(handle.current().get(KeyId(2)).is_none(), "{setting}");
    }
    let config =
        SessionConfig::from_toml_str(&format!("{server}{}", key(2, KEY2, "primary"))).unwrap();
    handle.reload(&config).unwrap();
    assert!(handle.current().get(KeyId(2)).is_some());
}

/// A reload swaps the keys and the timeouts but keeps what the cookies already issued are
/// bound to (the cookie name, the length cap): a session from before the reload carries on,
/// and the handle reports the policy that is now in force.
#[test]
fn a_reload_keeps_sessions_issued_before_it_and_reports_the_new_policy() {
    let layer = SessionLayer::new(
        SessionConfig::from_toml_str(&format!(
            "[cookie]\nname = \"sid\"\n{}",
            key(1, KEY1, "primary")
        ))
        .unwrap(),
    )
    .unwrap();
    let handle = layer.key_ring_handle();
    let mut app = counter(&layer);
    let (n, cookie) = app.visit(None);
    assert_eq!(n, 1);
    let cookie = cookie.unwrap();
    assert!(cookie.starts_with("__Host-sid="), "{cookie}");

    let config = SessionConfig::from_toml_str(&format!(
        "[cookie]\nname = \"sid\"\n[expiry]\nidle = \"1h\"\nskew = \"5s\"\n{}{}",
        key(2, KEY2, "primary"),
        key(1, KEY1, "decrypt-only")
    ))
    .unwrap();
    handle.reload(&config).unwrap();
    let policy = handle.policy();
    assert_eq!(policy, config.expiry.policy());
    assert_eq!(policy.idle_timeout(), Some(Duration::from_hours(1)));

    let (n, resealed) = app.visit(Some(&cookie));
    assert_eq!(n, 2, "a session issued before the reload was lost");
    // Re-sealed under the new primary, and still bound to the same name.
    assert_eq!(app.visit(Some(&resealed.unwrap())).0, 3);
}

#[cfg(unix)]
#[test]
fn sighup_reloads_the_expiry_policy_with_the_key_ring() {
    let file = temp_path("sighup.toml");
    std::fs::write(&file, key(1, KEY1, "primary")).unwrap();
    let clock = ManualClock::at_unix(T0);
    let layer = SessionLayer::new(SessionConfig::from_file(&file).unwrap())
        .unwrap()
        .clock(clock.clone());
    let handle = layer.key_ring_handle();
    let _reloader = sealed_session::reload::reload_on_sighup(handle.clone(), &file).unwrap();
    let mut app = counter(&layer);
    let cookie = app.visit(None).1.unwrap();

    clock.advance(Duration::from_mins(10));
    std::fs::write(
        &file,
        format!(
            "[expiry]\nnot_before = \"{}\"\n{}{}",
            rfc3339(300),
            key(2, KEY2, "primary"),
            key(1, KEY1, "decrypt-only")
        ),
    )
    .unwrap();
    let status = std::process::Command::new("kill")
        .args(["-HUP", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The reload runs on the watcher's thread: wait for the new ring, bounded.
    for _ in 0..200 {
        if handle.current().get(KeyId(2)).is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        handle.current().get(KeyId(2)).is_some(),
        "no reload on SIGHUP"
    );
    assert_eq!(
        app.visit(Some(&cookie)).0,
        1,
        "the key ring was reloaded on SIGHUP but not `not_before`"
    );
}

/// The runbook's step 1 asks to check that every instance logged the reload before
/// promoting the new key. With `SEALED_SESSION_KEYS` set, the file's `[[keys]]` are replaced
/// on reload as at start-up, so a key added to the file is not in the ring, yet the reload
/// succeeds: the log line must name the ring it swapped in, or the check proves nothing.
#[test]
fn the_reload_log_names_the_keys_it_swapped_in() {
    let file = temp_path("logged-ring.toml");
    std::fs::write(&file, key(1, KEY1, "primary")).unwrap();
    let layer = SessionLayer::new(SessionConfig::from_file(&file).unwrap()).unwrap();
    std::fs::write(
        &file,
        format!(
            "{}{}",
            key(1, KEY1, "primary"),
            key(2, KEY2, "decrypt-only")
        ),
    )
    .unwrap();
    let (result, logs) = capture(|| layer.key_ring_handle().reload_from_file(&file));
    result.unwrap();
    let info = logs.at("INFO").join("\n");
    assert!(
        info.contains("session key ring and expiry policy reloaded")
            && info.contains("keys: 1 primary, 2 decrypt-only; primary now: key 1"),
        "{info}"
    );
    // The same file under `SEALED_SESSION_KEYS` holding key 1 alone (as a process started
    // with it sees it): the reload succeeds, and its line shows that key 2 is missing.
    let keys = format!("1:xaes-256-gcm:primary:{KEY1}");
    let path = file.to_str().unwrap().to_owned();
    let env = move |name: &str| match name {
        "SEALED_SESSION_CONFIG" => Some(path.clone()),
        "SEALED_SESSION_KEYS" => Some(keys.clone()),
        _ => None,
    };
    let (result, logs) = capture(|| layer.key_ring_handle().reload_from_env_map(env));
    result.unwrap();
    let info = logs.at("INFO").join("\n");
    assert!(
        info.contains("keys: 1 primary; primary now: key 1"),
        "{info}"
    );
    assert!(layer.key_ring_handle().current().get(KeyId(2)).is_none());
    // No secret in either line.
    assert!(!logs.text().contains(KEY1) && !logs.text().contains(KEY2));
}

/// The docs say a reload "picks up a rotated secret file". Putting a new secret in the file
/// of a key that keeps its id is not a rotation: every value sealed with the old secret
/// under that id stops opening (its users are logged out, counted as `unauthenticated`, as
/// tampering is), and across a fleet reloaded one instance at a time each side refuses the
/// other's cookies. The reload goes through, as for a leaked key, but must say so.
#[test]
fn a_reload_that_changes_a_keys_secret_under_the_same_id_warns() {
    let secret = temp_path("same-id.b64");
    std::fs::write(&secret, KEY1).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let file = temp_path("same-id.toml");
    std::fs::write(
        &file,
        format!("[[keys]]\nid = 1\nsecret_file = \"{}\"\n", secret.display()),
    )
    .unwrap();
    let layer = SessionLayer::new(SessionConfig::from_file(&file).unwrap()).unwrap();
    let mut app = counter(&layer);
    let cookie = app.visit(None).1.unwrap();
    // Unchanged: no warning.
    let (result, logs) = capture(|| layer.key_ring_handle().reload_from_file(&file));
    result.unwrap();
    assert!(logs.at("WARN").is_empty(), "{}", logs.text());
    // The file now holds another secret, still as key 1.
    std::fs::write(&secret, KEY2).unwrap();
    let (result, logs) = capture(|| layer.key_ring_handle().reload_from_file(&file));
    result.unwrap();
    let warn = logs.at("WARN").join("\n");
    assert!(
        warn.contains("key 1: its secret or algorithm changed on this reload")
            && warn.contains("add the new secret under a new key id"),
        "{}",
        logs.text()
    );
    assert!(!logs.text().contains(KEY1) && !logs.text().contains(KEY2));
    // What the warning says: the session sealed before is gone.
    assert_eq!(app.visit(Some(&cookie)).0, 1);
}
