//! Resource bounds: hostile inputs are rejected with a typed reason, in bounded work, and every
//! rejection reaches `tracing`.

mod common;

use std::convert::Infallible;
use std::future::Future;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, UNIX_EPOCH};

use http::{header, HeaderValue, Request, Response, StatusCode};
use sealed_session::keys::{Algorithm, Key, KeyId, KeyRing};
use sealed_session::seal::Sealer;
use sealed_session::time::ExpiryPolicy;
use sealed_session::{RejectReason, Session, SessionConfig, SessionLayer};
use tower::{Layer, Service};

use common::logs::capture;
use common::outside::{seal_outside_as, varint};

const SECRET: &str = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

/// Sends one request with `cookie` through the layer (client mode) around a handler that
/// reads the session; returns the status, the count it read, and the log lines.
fn send(cookie: &[u8]) -> (StatusCode, u64, String) {
    let config = SessionConfig::from_toml_str(&format!(
        "[cookie]\nname = \"s\"\nhost_prefix = false\nmax_chunks = 4\n[[keys]]\nid = 1\nsecret = \"{SECRET}\"\n"
    ))
    .unwrap();
    let mut svc = SessionLayer::new(config).unwrap().layer(tower::service_fn(
        |req: Request<()>| async move {
            let session = req.extensions().get::<Session>().unwrap();
            let n: u64 = session.get("n").unwrap().unwrap_or(0);
            Ok::<_, Infallible>(Response::new(n.to_string()))
        },
    ));
    let (res, logs) = capture(|| {
        let mut req = Request::new(());
        req.headers_mut()
            .insert(header::COOKIE, HeaderValue::from_bytes(cookie).unwrap());
        let mut fut = std::pin::pin!(svc.call(req));
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(res)) => res,
            Poll::Ready(Err(e)) => match e {},
            Poll::Pending => panic!("client mode never waits"),
        }
    });
    let status = res.status();
    let n = res.body().parse().unwrap();
    (status, n, logs.text())
}

fn rejections(logs: &str) -> Vec<&str> {
    logs.lines()
        .filter(|l| l.contains("session cookie rejected"))
        .collect()
}

#[test]
fn one_mebibyte_cookie_header_is_rejected_as_oversized() {
    let header = format!("s={}", "A".repeat(1 << 20));
    let (status, n, logs) = send(header.as_bytes());
    assert_eq!((status, n), (StatusCode::OK, 0));
    let r = rejections(&logs);
    assert_eq!(r.len(), 1, "{logs}");
    assert!(r[0].contains("reason=\"oversized\""), "{logs}");
}

#[test]
fn a_thousand_cookies_with_our_name_are_tried_at_most_max_candidates_times() {
    let header = (0..1000)
        .map(|i| format!("s=AQH{i:04}"))
        .collect::<Vec<_>>()
        .join("; ");
    let (status, n, logs) = send(header.as_bytes());
    assert_eq!((status, n), (StatusCode::OK, 0));
    assert_eq!(rejections(&logs).len(), 4, "{logs}");
}

#[test]
fn huge_chunk_count_is_rejected_without_allocation() {
    for header in ["s=4294967295.AAAA", "s=99.AAAA", "s=17.AAAA; s.1=AAAA"] {
        let (status, n, logs) = send(header.as_bytes());
        assert_eq!((status, n), (StatusCode::OK, 0));
        let r = rejections(&logs);
        assert_eq!(r.len(), 1, "{header}: {logs}");
        assert!(
            r[0].contains("reason=\"malformed\"") || r[0].contains("reason=\"oversized\""),
            "{header}: {logs}"
        );
    }
}

#[test]
fn rejections_carry_typed_reasons_in_tracing() {
    let (_, _, logs) = send(b"s=AQE");
    assert!(
        rejections(&logs)[0].contains("reason=\"malformed\""),
        "{logs}"
    );
    let (_, _, logs) = send(b"s=AwEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert!(
        rejections(&logs)[0].contains("reason=\"unknown_version\""),
        "{logs}"
    );
    let (_, _, logs) = send(b"s=AQkAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert!(
        rejections(&logs)[0].contains("reason=\"unknown_key\""),
        "{logs}"
    );
    let (_, _, logs) = send(b"s=AQEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    assert!(
        rejections(&logs)[0].contains("reason=\"unauthenticated\""),
        "{logs}"
    );
}

/// Seals `plaintext` as if it were a session payload of wire format `version`
/// (authenticated), then opens it.
fn open_crafted_as(
    version: u8,
    plaintext: &[u8],
) -> Result<sealed_session::seal::OpenedSession, RejectReason> {
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ring = KeyRing::new_at([Key::new(KeyId(1), Algorithm::default(), &[1; 32])], now).unwrap();
    let value = seal_outside_as(
        version,
        b'c',
        Algorithm::default(),
        &[1; 32],
        1,
        "s",
        plaintext,
    );
    Sealer::new("s", ExpiryPolicy::default()).open(&ring, &value, now)
}

/// A crafted payload of the current wire format (v2).
fn open_crafted(plaintext: &[u8]) -> Result<sealed_session::seal::OpenedSession, RejectReason> {
    open_crafted_as(2, plaintext)
}

/// The header fields of v1 before its map: `created_at`, `expires_at`, `idle_secs`.
fn header_fields() -> Vec<u8> {
    let mut p = Vec::new();
    varint(1_700_000_000, &mut p); // created_at
    varint(1_700_086_400, &mut p); // expires_at (v1), written_at (v2)
    p.push(0); // idle_secs (v1) or expiry choice (v2): None
    p
}

/// The header fields of v2 before its entry count: v1's three, then `validated_at`.
fn header_fields_v2() -> Vec<u8> {
    let mut p = header_fields();
    p.push(0); // validated_at: None
    p
}

#[test]
fn authenticated_payload_claiming_2_pow_60_entries_is_malformed() {
    let mut p = header_fields_v2();
    varint(1 << 60, &mut p);
    p.extend_from_slice(&[1, b'k', 0]);
    assert_eq!(open_crafted(&p).unwrap_err(), RejectReason::Malformed);
    // v1 (the previous release's framing: a length before every value)
    let mut p = header_fields();
    varint(1 << 60, &mut p);
    p.extend_from_slice(&[1, b'k', 1, 0]);
    assert_eq!(open_crafted_as(1, &p).unwrap_err(), RejectReason::Malformed);
}

#[test]
fn authenticated_payload_claiming_a_4_gib_string_is_malformed() {
    let mut p = header_fields_v2();
    varint(1, &mut p);
    varint(4 << 30, &mut p); // key length: 4 GiB
    p.extend_from_slice(b"short");
    assert_eq!(open_crafted(&p).unwrap_err(), RejectReason::Malformed);
    let mut p = header_fields_v2();
    varint(1, &mut p);
    p.extend_from_slice(&[1, b'k']);
    p.extend_from_slice(&[0xdb, 0xff, 0xff, 0xff, 0xff]); // MessagePack str32 of 4 GiB
    p.extend_from_slice(b"short");
    assert_eq!(open_crafted(&p).unwrap_err(), RejectReason::Malformed);
    // v1: a value length of 4 GiB
    let mut p = header_fields();
    varint(1, &mut p);
    p.extend_from_slice(&[1, b'k']);
    varint(4 << 30, &mut p);
    assert_eq!(open_crafted_as(1, &p).unwrap_err(), RejectReason::Malformed);
}

#[test]
fn valid_crafted_payload_opens() {
    // The control for the two tests above: the same framing with honest lengths opens.
    let mut p = header_fields_v2();
    varint(1, &mut p);
    p.extend_from_slice(&[1, b'k', 7]); // MessagePack 7
    let opened = open_crafted(&p).unwrap();
    assert_eq!(opened.data.get::<u64>("k").unwrap(), Some(7));
    let mut p = header_fields();
    varint(1, &mut p);
    p.extend_from_slice(&[1, b'k', 1, 7]); // v1: bytes(postcard(7))
    let opened = open_crafted_as(1, &p).unwrap();
    assert_eq!(opened.data.get::<u64>("k").unwrap(), Some(7));
}

/// S5 (issue 12): whatever the chunk settings, a session too large for `open` to accept is
/// never answered with a 200 (which would silently empty the session on the next request):
/// either the configuration is refused, or the write is a 500 and the old cookie stays.
#[test]
fn a_session_too_large_to_open_is_never_a_silent_200() {
    fn call(
        svc: &mut impl Service<Request<String>, Response = Response<String>, Error = Infallible>,
        cookie: Option<&str>,
        body: &str,
    ) -> Response<String> {
        let mut req = Request::new(body.to_owned());
        if let Some(c) = cookie {
            req.headers_mut()
                .insert(header::COOKIE, HeaderValue::from_str(c).unwrap());
        }
        let mut fut = std::pin::pin!(svc.call(req));
        match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(Ok(res)) => res,
            Poll::Ready(Err(e)) => match e {},
            Poll::Pending => panic!("client mode never waits"),
        }
    }
    for (len, chunks) in [(8192, 16), (8192, 8), (4096, 16)] {
        let config = SessionConfig::from_toml_str(&format!(
            "[cookie]\nname = \"s\"\nhost_prefix = false\nmax_cookie_len = {len}\n\
             max_chunks = {chunks}\n[[keys]]\nid = 1\nsecret = \"{SECRET}\"\n"
        ))
        .unwrap();
        let layer = match SessionLayer::new(config) {
            Ok(layer) => layer,
            Err(e) => {
                let e = e.to_string();
                assert!(
                    e.starts_with("cookie.max_chunks:") && e.contains("65536"),
                    "{e}"
                );
                continue;
            }
        };
        let mut svc = layer.layer(tower::service_fn(|req: Request<String>| async move {
            let session = req.extensions().get::<Session>().unwrap();
            if req.body() == "big" {
                // 60 KB that seal to about 80,000 characters: more than `open` accepts.
                let blob: Vec<u8> = (0..60_000u32).map(|i| (i * 7919 % 251) as u8).collect();
                session.insert("blob", &blob).unwrap();
            }
            let n: u64 = session.get("n").unwrap().unwrap_or(0) + 1;
            session.insert("n", &n).unwrap();
            Ok::<_, Infallible>(Response::new(n.to_string()))
        }));
        let first = call(&mut svc, None, "");
        let cookie = first.headers()[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let big = call(&mut svc, Some(&cookie), "big");
        assert_eq!(
            big.status(),
            StatusCode::INTERNAL_SERVER_ERROR,
            "{len} x {chunks}: a session `open` would reject was answered {}",
            big.status()
        );
        assert!(big.headers().get(header::SET_COOKIE).is_none());
        // The session the client holds is intact.
        assert_eq!(call(&mut svc, Some(&cookie), "").body(), "2");
    }
}
