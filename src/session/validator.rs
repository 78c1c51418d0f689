//! The auth-stamp validator a layer is given ([`StampValidator`]) and the layer's
//! revalidation settings; the session side is in `stamp.rs`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// The error a [`StampValidator`] may return.
pub type StampError = Box<dyn std::error::Error + Send + Sync>;

/// The future a [`StampValidator`] returns: the user's current stamp, `None` when the user no
/// longer exists.
pub type StampFuture = Pin<Box<dyn Future<Output = Result<Option<String>, StampError>> + Send>>;

/// Looks up a user's current stamp, for [`SessionLayer::revalidate`](crate::SessionLayer::revalidate).
///
/// Implemented for every `Fn(String) -> Fut + Send + Sync + 'static` whose `Fut` is a `Send +
/// 'static` future of `Result<Option<String>, E>` (`E: Into<StampError>`), so a closure over a
/// database pool will do:
///
/// ```
/// use std::convert::Infallible;
/// use sealed_session::session::StampValidator;
/// fn takes(_: impl StampValidator) {}
/// takes(|user: String| async move {
///     // SELECT stamp FROM users WHERE id = $1
///     Ok::<_, Infallible>((user == "42").then(|| "pw-change-3".to_owned()))
/// });
/// ```
pub trait StampValidator: Send + Sync + 'static {
    /// The current stamp of `user` (`Ok(None)`: no such user, the session ends). An error
    /// answers the request with a 503 and keeps the session.
    fn current_stamp(&self, user: &str) -> StampFuture;
}

impl<F, Fut, E> StampValidator for F
where
    F: Fn(String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Option<String>, E>> + Send + 'static,
    E: Into<StampError>,
{
    fn current_stamp(&self, user: &str) -> StampFuture {
        let fut = self(user.to_owned());
        Box::pin(async move { fut.await.map_err(Into::into) })
    }
}

/// A layer's revalidation settings.
#[derive(Clone)]
pub(crate) struct Revalidation {
    pub every: Duration,
    pub validator: Arc<dyn StampValidator>,
}
