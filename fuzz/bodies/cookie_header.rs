//! Any `Cookie` header through the whole layer: parsing, duplicate names, chunk joining,
//! opening. Also asserts that the response is never a 500.
//!
//! The body of the fuzz target `cookie_header`, apart from its `fuzz_target!` so that `cargo test`
//! replays the committed corpus through the same code on stable (`fuzz/replay.rs`).

use std::convert::Infallible;
use std::future::Future;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use http::{header, HeaderValue, Request, Response, StatusCode};
use sealed_session::{Session, SessionConfig, SessionLayer};
use tower::{Layer, Service};

fn layer() -> &'static SessionLayer {
    static LAYER: OnceLock<SessionLayer> = OnceLock::new();
    LAYER.get_or_init(|| {
        let config: SessionConfig = toml::from_str(
            "[cookie]\nname = \"s\"\nhost_prefix = false\nmax_chunks = 4\nmax_cookie_len = 512\n\
             [[keys]]\nid = 1\nsecret = \"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\"\n",
        )
        .expect("config");
        SessionLayer::new(config).expect("layer")
    })
}

/// One fuzz input.
pub fn run(data: &[u8]) {
    let Ok(value) = HeaderValue::from_bytes(data) else {
        return;
    };
    let mut svc = layer().layer(tower::service_fn(|req: Request<()>| async move {
        let session = req.extensions().get::<Session>().expect("session");
        let n: u64 = session.get("n").ok().flatten().unwrap_or(0);
        session.insert("n", &(n + 1)).expect("insert");
        Ok::<_, Infallible>(Response::new(String::new()))
    }));
    let mut req = Request::new(());
    req.headers_mut().insert(header::COOKIE, value);
    let mut fut = std::pin::pin!(svc.call(req));
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(Ok(res)) => assert_ne!(res.status(), StatusCode::INTERNAL_SERVER_ERROR),
        Poll::Ready(Err(e)) => match e {},
        Poll::Pending => panic!("client mode never waits"),
    }
}
