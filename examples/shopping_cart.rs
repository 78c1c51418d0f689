//! A shopping cart kept in the session: `(product id, quantity)` pairs.
//!
//! ```text
//! cargo run --example shopping_cart
//! curl -c jar -b jar -X POST 'http://127.0.0.1:3000/cart/add?product=1001&qty=2'
//! curl -c jar -b jar http://127.0.0.1:3000/cart
//! curl -c jar -b jar -X POST http://127.0.0.1:3000/cart/clear
//! ```

#[path = "support/mod.rs"]
mod support;

use std::fmt::Write as _;

use http::{Method, Request, StatusCode};
use hyper::body::Incoming;
use sealed_session::Session;

/// The cart: product id → quantity, kept small (MessagePack encodes each pair in a few bytes).
type Cart = Vec<(u32, u16)>;

fn param(req: &Request<Incoming>, name: &str) -> Option<u64> {
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then(|| v.parse().ok()).flatten()
    })
}

async fn handle(req: Request<Incoming>) -> http::Response<support::Body> {
    let session = req
        .extensions()
        .get::<Session>()
        .expect("layer installed")
        .clone();
    // In server mode with `load = "lazy"` this loads the record (a tower handler's job; the
    // axum extractor does it); otherwise it does nothing.
    if let Err(e) = session.load().await {
        return support::store_error(&e);
    }
    let mut cart: Cart = match session.get("cart") {
        Ok(cart) => cart.unwrap_or_default(),
        Err(e) => return support::session_error(&e),
    };
    match (req.method(), req.uri().path()) {
        (&Method::POST, "/cart/add") => {
            let (Some(product), Some(qty)) = (param(&req, "product"), param(&req, "qty")) else {
                return support::text(StatusCode::BAD_REQUEST, "need ?product=ID&qty=N\n");
            };
            let (Ok(product), Ok(qty)) = (u32::try_from(product), u16::try_from(qty)) else {
                return support::text(StatusCode::BAD_REQUEST, "product or qty out of range\n");
            };
            if let Some(i) = cart.iter().position(|(p, _)| *p == product) {
                cart[i].1 = cart[i].1.saturating_add(qty);
            } else if cart.len() < 50 {
                cart.push((product, qty));
            } else {
                return support::text(StatusCode::BAD_REQUEST, "cart is full\n");
            }
            if let Err(e) = session.insert("cart", &cart) {
                return support::session_error(&e);
            }
        }
        (&Method::POST, "/cart/clear") => {
            session.remove("cart");
            cart.clear();
        }
        (&Method::GET, "/cart") => {}
        _ => return support::text(StatusCode::NOT_FOUND, "not found\n"),
    }
    let mut body = format!("{} item(s)\n", cart.len());
    for (p, q) in &cart {
        writeln!(body, "{p} x {q}").expect("writing to a String cannot fail");
    }
    support::text(StatusCode::OK, body)
}

#[tokio::main]
async fn main() {
    let layer = support::layer().await;
    support::serve(layer, handle).await;
}
