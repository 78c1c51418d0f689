//! Shared plumbing of the examples: configuration, address, and a hyper 1 accept loop.
//! Each example's own file holds only its handler.
#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use sealed_session::{SessionConfig, SessionLayer};
use tower::ServiceBuilder;

/// The response body type of the examples.
pub type Body = Full<Bytes>;

/// A plain-text response.
pub fn text(status: StatusCode, body: impl Into<String>) -> Response<Body> {
    let mut res = Response::new(Full::new(Bytes::from(body.into())));
    *res.status_mut() = status;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// A session value that does not read (or write): a generic 500, the details logged. The
/// stored value stays as it was, for a handler that reads it with the right type; nothing is
/// thrown away.
pub fn session_error(e: &sealed_session::DataError) -> Response<Body> {
    tracing::error!(error = %e, "session value error");
    text(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n")
}

/// The session's record could not be loaded (server mode): `503`, never an empty session.
/// [`Session::load`](sealed_session::Session::load) logged the outage.
pub fn store_error(e: &sealed_session::StoreError) -> Response<Body> {
    tracing::debug!(error = %e, "session store error");
    text(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable\n")
}

/// What the examples log unless `RUST_LOG` says otherwise: errors, and the configuration's
/// warnings (a misspelled `SEALED_SESSION_*` variable); not the layer's warnings about
/// development cookies, which [`config()`] states as a note.
pub const DEFAULT_LOGS: &str = "sealed_session::config=warn,error";

/// Logs to stderr, filtered by `RUST_LOG` (`info`, or `sealed_session=debug,warn`: targets
/// and levels, without `EnvFilter`'s span and field matching), else by `default`. A second
/// call, or one after the example installed its own subscriber, changes nothing.
pub fn init_logs(default: &str) {
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let parse = |s: &str| s.parse::<Targets>().ok();
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| parse(&v))
        .or_else(|| parse(default))
        .unwrap_or_default();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .finish()
        .with(filter)
        .try_init()
        .ok();
}

/// `--addr HOST:PORT`, else `127.0.0.1:$PORT`, else `127.0.0.1:3000`.
pub fn addr() -> SocketAddr {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--addr") {
        if let Some(a) = args.get(i + 1) {
            return a.parse().unwrap_or_else(|e| {
                eprintln!("--addr {a}: {e}; expected e.g. 127.0.0.1:3000");
                std::process::exit(2)
            });
        }
    }
    let port = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse::<u16>().ok())
        .unwrap_or(3000);
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The configuration from `SEALED_SESSION_*` variables; with no key configured, an
/// ephemeral key and development cookie settings (plain http on 127.0.0.1), said on stderr.
///
/// **For the examples only; do not copy the fallback.** It lets `cargo run --example …` work
/// with nothing set up; a production service must refuse to start without its keys (as
/// `SessionLayer::new` does with a configuration that has none), or a key variable with a
/// typo would silently give every instance its own random key and insecure cookies. Even
/// here, a variable that looks like a misspelled key variable stops the example instead.
pub fn config() -> SessionConfig {
    // Before `from_env`, whose warning about a misspelled variable is the one a newcomer
    // must see; a no-op when the example set up its logs already.
    init_logs(DEFAULT_LOGS);
    let mut config = SessionConfig::from_env().unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2)
    });
    if config.keys.is_empty() {
        let misspelled = std::env::vars_os()
            .filter_map(|(name, _)| name.into_string().ok())
            .find(|name| name.starts_with("SEALED_SESSION_KEY") && name != "SEALED_SESSION_KEYS");
        if let Some(name) = misspelled {
            eprintln!(
                "configuration error: no key configured, but `{name}` is set: did you mean \
                 SEALED_SESSION_KEYS?"
            );
            std::process::exit(2)
        }
        eprintln!(
            "note: no key configured (SEALED_SESSION_KEYS or SEALED_SESSION_CONFIG); using an \
             ephemeral random key: sessions end when the process stops"
        );
        config.keys = SessionConfig::ephemeral().keys;
        if std::env::var_os("SEALED_SESSION_SECURE").is_none() {
            eprintln!(
                "note: development cookies over plain http: `Secure` and the `__Host-` prefix are \
                 off; never do this in production"
            );
            config.cookie.secure = false;
            config.cookie.host_prefix = false;
        }
    } else if !config.cookie.secure || !config.cookie.host_prefix {
        // The layer's own warnings are below the examples' log filter (it would say the note
        // above twice); said here, so that insecure settings never pass unseen.
        let off: Vec<&str> = [
            (!config.cookie.secure).then_some("`Secure`"),
            (!config.cookie.host_prefix).then_some("the `__Host-` prefix"),
        ]
        .into_iter()
        .flatten()
        .collect();
        eprintln!(
            "note: {} off by configuration: for development over plain http only; never do \
             this in production",
            off.join(" and ")
        );
    }
    config
}

/// The layer for [`config()`], in whatever mode it names (Redis included); exits with the
/// error on a bad configuration.
pub async fn layer() -> SessionLayer {
    SessionLayer::connect(config()).await.unwrap_or_else(|e| {
        eprintln!("configuration error: {e}");
        std::process::exit(2)
    })
}

/// Serves `handler` behind a [`SessionLayer`] on [`addr()`] for ever.
pub async fn serve<F, Fut>(layer: SessionLayer, handler: F)
where
    F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<Body>> + Send + 'static,
{
    let addr = addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| {
            eprintln!("cannot listen on {addr}: {e}");
            std::process::exit(1)
        });
    eprintln!(
        "listening on http://{}",
        listener.local_addr().expect("bound")
    );
    let svc = ServiceBuilder::new().layer(layer).service_fn(move |req| {
        let handler = handler.clone();
        async move { Ok::<_, Infallible>(handler(req).await) }
    });
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("accept: {e}");
                continue;
            }
        };
        let svc = TowerToHyperService::new(svc.clone());
        tokio::spawn(async move {
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}
