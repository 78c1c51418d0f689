//! [`CsrfBody`]: the request body the inner service of a [`CsrfLayer`](super::CsrfLayer)
//! sees.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

pin_project! {
    /// The request body behind a [`CsrfLayer`](super::CsrfLayer): the original body, streamed
    /// untouched, or, when the layer had to read a form to find its token, the same bytes
    /// from memory (without trailers, which forms do not have).
    ///
    /// axum's `Router` and any service generic over `http_body::Body` take it as they take
    /// the original.
    pub struct CsrfBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<B> {
        Streaming {
            #[pin]
            body: B,
        },
        Buffered {
            data: Option<Bytes>,
        },
    }
}

impl<B> CsrfBody<B> {
    pub(super) fn streaming(body: B) -> Self {
        CsrfBody {
            kind: Kind::Streaming { body },
        }
    }

    pub(super) fn buffered(data: Bytes) -> Self {
        CsrfBody {
            kind: Kind::Buffered {
                data: Some(data).filter(|d| !d.is_empty()),
            },
        }
    }
}

impl<B> Body for CsrfBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.project().kind.project() {
            KindProj::Streaming { body } => body.poll_frame(cx),
            KindProj::Buffered { data } => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Streaming { body } => body.is_end_stream(),
            Kind::Buffered { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Streaming { body } => body.size_hint(),
            Kind::Buffered { data } => {
                SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64))
            }
        }
    }
}

impl<B> std::fmt::Debug for CsrfBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            Kind::Streaming { .. } => "streaming",
            Kind::Buffered { .. } => "buffered",
        };
        f.debug_struct("CsrfBody").field("kind", &kind).finish()
    }
}
