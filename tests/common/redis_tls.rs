//! A throwaway `redis-server` that speaks TLS only (`--port 0 --tls-port <free>`), with a CA
//! and a server certificate for `127.0.0.1`/`localhost` made in the test with rcgen.
//!
//! Skips visibly, or fails with `SEALED_SESSION_REQUIRE_REDIS=1`, when `redis-server` is
//! missing or was built without TLS.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};

use super::redis::{available_or_skip, free_port, redis_server_or_skip, RedisServer};

/// `der` as PEM text of the given label (64-character base64 lines).
fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// A CA, and a certificate it signed for `127.0.0.1` and `localhost`, as PEM files.
pub struct TestPki {
    pub dir: PathBuf,
    pub ca_pem: String,
}

impl TestPki {
    /// Makes them in a fresh directory (removed on drop).
    pub fn new(name: &str) -> TestPki {
        let dir = std::env::temp_dir().join(format!(
            "sealed-session-{name}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");

        let ca_key = KeyPair::generate().expect("CA key");
        let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "sealed-session test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).expect("CA certificate");
        let issuer = Issuer::new(ca, ca_key);

        let server_key = KeyPair::generate().expect("server key");
        let server = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
            .expect("server params");
        let server_cert = server
            .signed_by(&server_key, &issuer)
            .expect("server certificate");

        let ca_pem = pem("CERTIFICATE", ca_cert.der());
        std::fs::write(dir.join("ca.pem"), &ca_pem).expect("write ca.pem");
        std::fs::write(
            dir.join("server.pem"),
            pem("CERTIFICATE", server_cert.der()),
        )
        .expect("write server.pem");
        std::fs::write(
            dir.join("server.key"),
            pem("PRIVATE KEY", &server_key.serialize_der()),
        )
        .expect("write server.key");
        TestPki { dir, ca_pem }
    }

    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).to_string_lossy().into_owned()
    }

    /// The `redis-server` arguments that make it serve TLS with these files.
    pub fn server_args(&self) -> Vec<String> {
        [
            "--tls-cert-file",
            &self.path("server.pem"),
            "--tls-key-file",
            &self.path("server.key"),
            "--tls-ca-cert-file",
            &self.path("ca.pem"),
            "--tls-auth-clients",
            "no",
        ]
        .map(String::from)
        .to_vec()
    }
}

impl Drop for TestPki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Whether the installed `redis-server` was built with TLS: with it, `--tls-port 0 --port 0`
/// parses and the server exits with "Configured to not listen anywhere"; without it, the
/// `tls-port` directive is refused.
pub fn redis_has_tls() -> bool {
    Command::new("redis-server")
        .args(["--tls-port", "0", "--port", "0", "--save", ""])
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("not listen anywhere"))
}

/// Skips (or fails when required) unless `redis-server` is there and speaks TLS.
pub fn tls_or_skip() -> bool {
    redis_server_or_skip()
        && available_or_skip(
            redis_has_tls(),
            "the installed redis-server was built without TLS",
            "install one built with BUILD_TLS=yes (Debian's is)",
        )
}

/// A TLS-only Redis: the plain port is off, so whatever works went over TLS.
pub struct TlsRedis {
    pub server: RedisServer,
    pub pki: TestPki,
}

impl TlsRedis {
    pub fn start() -> Option<TlsRedis> {
        if !tls_or_skip() {
            return None;
        }
        let pki = TestPki::new("redis-tls");
        let port = free_port();
        let mut args: Vec<String> = [
            "--port",
            "0",
            "--tls-port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ]
        .map(String::from)
        .to_vec();
        args.extend(pki.server_args());
        let server = RedisServer::launch(port, args);
        Some(TlsRedis { server, pki })
    }

    /// `rediss://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}/", self.server.port)
    }

    pub fn ca_file(&self) -> PathBuf {
        self.pki.ca_file()
    }
}
