//! A throwaway Redis Cluster: `n` masters (`redis-server --cluster-enabled yes`, each on a
//! free loopback port whose bus port, +10000, is free too), joined with
//! `redis-cli --cluster create … --cluster-replicas 0 --cluster-yes`. Each node keeps its
//! cluster config file and an append-only file (fsync on every write) in its own directory,
//! so a node killed and restarted comes back with its slots and its data. Every wait is
//! bounded. Skips visibly (fails with `SEALED_SESSION_REQUIRE_REDIS=1`) without
//! `redis-server` or `redis-cli`.

use std::fs::File;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::redis::{available_or_skip, free_port, redis_server_or_skip, RedisServer};
use super::redis_tls::{tls_or_skip, TestPki};

pub struct RedisCluster {
    pub nodes: Vec<RedisServer>,
    pub dir: PathBuf,
    /// TLS only (clients and the cluster bus), with these certificates.
    pub tls: Option<TestPki>,
}

fn cli_available() -> bool {
    Command::new("redis-cli")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A free port whose cluster bus port (+10000) is free and valid too.
fn cluster_port() -> u16 {
    loop {
        let port = free_port();
        if port <= 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok() {
            return port;
        }
    }
}

impl RedisCluster {
    /// Starts `n` masters and joins them; `None` (after a visible SKIPPED line) without
    /// `redis-server` or `redis-cli`.
    pub fn start(n: usize) -> Option<RedisCluster> {
        Self::start_with(n, false)
    }

    /// As [`start`](Self::start), TLS only when `tls`: no plain port, TLS on the cluster bus
    /// too (`--tls-cluster yes`).
    pub fn start_with(n: usize, tls: bool) -> Option<RedisCluster> {
        if (tls && !tls_or_skip())
            || !redis_server_or_skip()
            || !available_or_skip(
                cli_available(),
                "redis-cli not found on PATH",
                "install it (Debian: apt-get install redis-tools)",
            )
        {
            return None;
        }
        let dir = std::env::temp_dir().join(format!(
            "sealed-session-cluster-{}-{}",
            std::process::id(),
            free_port()
        ));
        let pki = tls.then(|| TestPki::new("redis-cluster-tls"));
        let mut nodes = Vec::new();
        for _ in 0..n {
            let port = cluster_port();
            let node_dir = dir.join(port.to_string());
            std::fs::create_dir_all(&node_dir).expect("node dir");
            let plain = if pki.is_some() { 0 } else { port };
            let mut args = [
                "--port",
                &plain.to_string(),
                "--bind",
                "127.0.0.1",
                "--dir",
                &node_dir.to_string_lossy(),
                "--logfile",
                "redis.log",
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-node-timeout",
                "1000",
                // The masters that are up keep serving their slots while one is down.
                "--cluster-require-full-coverage",
                "no",
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ]
            .map(String::from)
            .to_vec();
            if let Some(pki) = &pki {
                args.extend(pki.server_args());
                args.extend(
                    ["--tls-port", &port.to_string(), "--tls-cluster", "yes"].map(String::from),
                );
            }
            nodes.push(RedisServer::launch(port, args));
        }
        let cluster = RedisCluster {
            nodes,
            dir,
            tls: pki,
        };
        let mut create = cluster.cli_tls_args();
        create.extend(["--cluster", "create"].map(String::from));
        create.extend(
            cluster
                .nodes
                .iter()
                .map(|s| format!("127.0.0.1:{}", s.port)),
        );
        create.extend(["--cluster-replicas", "0", "--cluster-yes"].map(String::from));
        let out = cluster.run("redis-cli", &create, Duration::from_mins(1));
        assert!(
            out.contains("All 16384 slots covered"),
            "redis-cli --cluster create failed: {out}"
        );
        cluster.wait_ok(Duration::from_secs(30));
        Some(cluster)
    }

    /// The nodes' URLs (`redis://127.0.0.1:<port>/`, `rediss://` with TLS).
    pub fn urls(&self) -> Vec<String> {
        let scheme = if self.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        self.nodes
            .iter()
            .map(|s| format!("{scheme}://127.0.0.1:{}/", s.port))
            .collect()
    }

    /// `--tls --cacert <ca>` for redis-cli when the cluster speaks TLS.
    fn cli_tls_args(&self) -> Vec<String> {
        match &self.tls {
            Some(pki) => vec![
                "--tls".to_owned(),
                "--cacert".to_owned(),
                pki.ca_file().to_string_lossy().into_owned(),
            ],
            None => Vec::new(),
        }
    }

    /// Runs `program args`, its output (stdout and stderr) to a file, bounded by `timeout`.
    fn run(&self, program: &str, args: &[String], timeout: Duration) -> String {
        let out_path = self.dir.join(format!("{program}-{}.out", free_port()));
        let out = File::create(&out_path).expect("output file");
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("clone file"))
            .stderr(out)
            .spawn()
            .expect("spawns");
        let deadline = Instant::now() + timeout;
        loop {
            if child.try_wait().expect("try_wait").is_some() {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "`{program} {}` did not finish within {timeout:?}",
                    args.join(" ")
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::fs::read_to_string(&out_path).unwrap_or_default()
    }

    /// `redis-cli -p <port> <args>`, 5 s at most.
    pub fn cli(&self, node: usize, args: &[&str]) -> String {
        let mut all = self.cli_tls_args();
        all.extend(["-p".to_owned(), self.nodes[node].port.to_string()]);
        all.extend(args.iter().map(|a| (*a).to_owned()));
        self.run("redis-cli", &all, Duration::from_secs(5))
    }

    /// Waits until every node that runs reports `cluster_state:ok`.
    pub fn wait_ok(&self, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let ok = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].is_running())
                .all(|i| {
                    self.cli(i, &["cluster", "info"])
                        .contains("cluster_state:ok")
                });
            if ok {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "the cluster did not reach cluster_state:ok within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The keys matching `pattern` that node `node` holds (its own slots only).
    pub fn keys(&self, node: usize, pattern: &str) -> Vec<String> {
        self.cli(node, &["--raw", "keys", pattern])
            .lines()
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for RedisCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            node.kill();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
