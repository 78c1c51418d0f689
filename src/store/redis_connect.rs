//! How a [`RedisStore`](super::RedisStore) reaches Redis: the connection a
//! [`RedisStoreBuilder`](super::RedisStoreBuilder) opens.
//!
//! - One server: redis-rs's tokio `ConnectionManager` (one multiplexed connection,
//!   re-established in the background after an I/O error).
//! - A Redis Cluster (feature `redis-cluster`): redis-rs's async cluster connection, which
//!   learns the slot map from the seed nodes, sends each command to the master of its key's
//!   slot, follows `MOVED`/`ASK` redirections and refreshes the map after a failure. Every
//!   store call names one key (one record is one key), so no call ever spans two slots.
//! - `rediss://` (feature `redis-tls`): TLS with rustls (the `ring` provider), the server's
//!   certificate checked against the system's roots or, with
//!   [`tls_ca_pem`](super::RedisStoreBuilder::tls_ca_pem), against the given CA alone. The host
//!   name (or IP address) in the URL must match the certificate.
//!
//! Kept apart from `redis.rs` (the commands) so that the two change independently.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, Pipeline, RedisFuture, Value};

use crate::error::StoreError;

/// The connection a [`RedisStore`](super::RedisStore) sends its commands on. Cloning shares it.
#[derive(Clone)]
pub(crate) enum Connection {
    /// One server.
    Single(ConnectionManager),
    /// A Redis Cluster.
    #[cfg(feature = "redis-cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
    /// A Redis Cluster reached on first use ([`Settings::open_lazy`]).
    #[cfg(feature = "redis-cluster")]
    LazyCluster(std::sync::Arc<LazyCluster>),
}

/// A cluster connection made by the first command that needs it, and again by the next one
/// after a failed attempt (redis-rs's cluster connection has no lazy constructor).
#[cfg(feature = "redis-cluster")]
pub(crate) struct LazyCluster {
    settings: Settings,
    conn: std::sync::Mutex<Option<redis::cluster_async::ClusterConnection>>,
}

#[cfg(feature = "redis-cluster")]
impl LazyCluster {
    async fn get(&self) -> redis::RedisResult<redis::cluster_async::ClusterConnection> {
        let lock = || {
            self.conn
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
        };
        if let Some(conn) = lock().clone() {
            return Ok(conn);
        }
        // Not held across the await: two first commands may both connect; one is kept.
        let conn = self
            .settings
            .cluster_client()?
            .get_async_connection()
            .await?;
        Ok(lock().get_or_insert(conn).clone())
    }
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(c) => c.req_packed_command(cmd),
            #[cfg(feature = "redis-cluster")]
            Connection::LazyCluster(lazy) => Box::pin(async move {
                let mut conn = lazy.get().await?;
                conn.req_packed_command(cmd).await
            }),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
            #[cfg(feature = "redis-cluster")]
            Connection::LazyCluster(lazy) => Box::pin(async move {
                let mut conn = lazy.get().await?;
                conn.req_packed_commands(pipeline, offset, count).await
            }),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            #[cfg(feature = "redis-cluster")]
            Connection::Cluster(c) => c.get_db(),
            #[cfg(feature = "redis-cluster")]
            Connection::LazyCluster(_) => 0,
        }
    }
}

/// How to reach Redis: one server or a cluster, the timeout and the TLS roots (the
/// settings of a [`RedisStoreBuilder`](super::RedisStoreBuilder) but the key prefix).
#[derive(Clone)]
pub(super) struct Settings {
    pub(super) nodes: Vec<String>,
    pub(super) cluster: bool,
    pub(super) timeout: Duration,
    pub(super) tls_ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let nodes: Vec<String> = self
            .nodes
            .iter()
            .map(|u| crate::config::redact_url(u))
            .collect();
        f.debug_struct("Settings")
            .field("nodes", &nodes)
            .field("cluster", &self.cluster)
            .field("timeout", &self.timeout)
            .field("tls_ca", &self.tls_ca.as_ref().map(|_| "<pem>"))
            .finish()
    }
}

pub(super) fn unavailable(e: redis::RedisError) -> StoreError {
    StoreError::Unavailable(Box::new(e))
}

impl Settings {
    /// Defaults: 1 s connection and response timeout, the system's roots.
    pub(super) fn new(nodes: Vec<String>, cluster: bool) -> Self {
        Settings {
            nodes,
            cluster,
            timeout: Duration::from_secs(1),
            tls_ca: None,
        }
    }

    /// Connects now.
    pub(super) async fn open(&self) -> Result<Connection, StoreError> {
        #[cfg(feature = "redis-tls")]
        if self.nodes.iter().any(|u| u.starts_with("rediss://")) {
            install_crypto_provider();
        }
        #[cfg(feature = "redis-cluster")]
        if self.cluster {
            return self.cluster_connection().await;
        }
        self.single_connection().await
    }

    /// Makes the connection without connecting: the first command connects.
    pub(super) fn open_lazy(&self) -> Result<Connection, StoreError> {
        #[cfg(feature = "redis-tls")]
        if self.nodes.iter().any(|u| u.starts_with("rediss://")) {
            install_crypto_provider();
        }
        #[cfg(feature = "redis-cluster")]
        if self.cluster {
            // Checks the URLs and the CA now, connects later.
            self.cluster_client().map_err(unavailable)?;
            return Ok(Connection::LazyCluster(std::sync::Arc::new(LazyCluster {
                settings: self.clone(),
                conn: std::sync::Mutex::new(None),
            })));
        }
        let url = self.nodes.first().map_or("", String::as_str);
        let client = self.client(url).map_err(unavailable)?;
        let conn = ConnectionManager::new_lazy_with_config(client, self.manager_config())
            .map_err(unavailable)?;
        Ok(Connection::Single(conn))
    }

    fn manager_config(&self) -> ConnectionManagerConfig {
        ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_millis(500))
    }

    #[cfg_attr(not(feature = "redis-tls"), allow(clippy::unused_self))]
    fn client(&self, url: &str) -> redis::RedisResult<redis::Client> {
        #[cfg(feature = "redis-tls")]
        if let Some(certs) = self.certificates()? {
            return redis::Client::build_with_tls(url, certs);
        }
        redis::Client::open(url)
    }

    async fn single_connection(&self) -> Result<Connection, StoreError> {
        let url = self.nodes.first().map_or("", String::as_str);
        let client = self.client(url).map_err(unavailable)?;
        let conn = ConnectionManager::new_with_config(client, self.manager_config())
            .await
            .map_err(unavailable)?;
        Ok(Connection::Single(conn))
    }

    /// The cluster's slot map is read from the seed nodes now; a node that is down later
    /// fails the calls for its slots only (after the timeout), and is found again when it
    /// is back.
    #[cfg(feature = "redis-cluster")]
    async fn cluster_connection(&self) -> Result<Connection, StoreError> {
        let conn = self
            .cluster_client()
            .map_err(unavailable)?
            .get_async_connection()
            .await
            .map_err(unavailable)?;
        Ok(Connection::Cluster(conn))
    }

    #[cfg(feature = "redis-cluster")]
    fn cluster_client(&self) -> redis::RedisResult<redis::cluster::ClusterClient> {
        let builder =
            redis::cluster::ClusterClientBuilder::new(self.nodes.iter().map(String::as_str))
                .connection_timeout(self.timeout)
                .response_timeout(self.timeout)
                .retries(2)
                .min_retry_wait(10)
                .max_retry_wait(200);
        #[cfg(feature = "redis-tls")]
        let builder = match self.certificates()? {
            Some(certs) => builder.certs(certs),
            None => builder,
        };
        builder.build()
    }

    /// The CA to trust instead of the system's roots, checked to hold a certificate (an empty
    /// set of roots would fail every connection with an obscure handshake error).
    #[cfg(feature = "redis-tls")]
    fn certificates(&self) -> redis::RedisResult<Option<redis::TlsCertificates>> {
        use rustls::pki_types::pem::PemObject as _;
        use rustls::pki_types::CertificateDer;
        let Some(pem) = &self.tls_ca else {
            return Ok(None);
        };
        if !CertificateDer::pem_slice_iter(pem).any(|c| c.is_ok()) {
            return Err(redis::RedisError::from((
                redis::ErrorKind::InvalidClientConfig,
                "the TLS CA PEM holds no certificate (expected `-----BEGIN CERTIFICATE-----`)",
            )));
        }
        Ok(Some(redis::TlsCertificates {
            client_tls: None,
            root_cert: Some(pem.clone()),
        }))
    }
}

/// rustls needs a process-wide crypto provider. With only `ring` in the build, rustls picks
/// it by itself; when another crate also turns on `aws-lc-rs` it cannot choose and panics.
/// So, unless the application installed one already (which then stays), install `ring`'s.
#[cfg(feature = "redis-tls")]
fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may install one first: then that one is used, and this is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
