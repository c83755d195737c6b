//! Request ids (issue 7; architecture guide, "Conventions" 4: internals are
//! logged once with a request id). Every request gets an id: the caller's
//! `X-Request-Id` when it is a sane token, else Anypoint's `X-ANYPNT-TRX-ID`,
//! else a new random UUID. The id is put on the request (so the tracing span
//! of the request, and so every log line written while serving it, carries
//! it) and echoed in both headers of the response.
//!
//! The span holds the method and the path only: never the query string (an
//! authorization code or state may be there), headers, cookies or bodies.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::http::{HeaderMap, HeaderName, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower::{Layer, Service};

/// The request id header (de facto standard).
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// Anypoint's transaction id header, answered with the same id.
pub const TRX_ID: HeaderName = HeaderName::from_static("x-anypnt-trx-id");

/// Longest incoming id kept; longer ones are replaced by a new id.
const MAX_LEN: usize = 128;

/// An incoming id is kept only if short and plain (letters, digits, `-_.:`),
/// so that a client cannot write arbitrary text into the logs.
fn acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= MAX_LEN
        && bytes
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
}

/// A random (version 4) UUID from the thread-local generator: no system call.
fn generate() -> HeaderValue {
    let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    let mut buffer = uuid::Uuid::encode_buffer();
    HeaderValue::from_str(id.hyphenated().encode_lower(&mut buffer))
        .unwrap_or(HeaderValue::from_static("unknown"))
}

/// The id of a request with these headers.
fn pick(headers: &HeaderMap) -> HeaderValue {
    [REQUEST_ID, TRX_ID]
        .iter()
        .filter_map(|name| headers.get(name))
        .find(|value| acceptable(value))
        .cloned()
        .unwrap_or_else(generate)
}

/// The tracing span of one request: `request{request_id, method, path}`, at
/// INFO so that the id is on every log line at the default level.
pub fn span<B>(request: &Request<B>) -> tracing::Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// Gives each request its id and echoes it in the response.
#[derive(Debug, Clone, Copy, Default)]
pub struct RequestIdLayer;

impl<S> Layer<S> for RequestIdLayer {
    type Service = RequestId<S>;

    fn layer(&self, inner: S) -> RequestId<S> {
        RequestId { inner }
    }
}

/// The service [`RequestIdLayer`] wraps around each route.
#[derive(Debug, Clone)]
pub struct RequestId<S> {
    inner: S,
}

impl<S, B, R> Service<Request<B>> for RequestId<S>
where
    S: Service<Request<B>, Response = Response<R>>,
{
    type Response = Response<R>;
    type Error = S::Error;
    type Future = WithId<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let id = pick(request.headers());
        request.headers_mut().insert(REQUEST_ID, id.clone());
        WithId {
            inner: self.inner.call(request),
            id: Some(id),
        }
    }
}

pin_project! {
    /// A request in flight; its response gets the id headers.
    pub struct WithId<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
    }
}

impl<F, R, E> Future for WithId<F>
where
    F: Future<Output = Result<Response<R>, E>>,
{
    type Output = Result<Response<R>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut result = ready!(this.inner.poll(cx));
        if let (Ok(response), Some(id)) = (&mut result, this.id.take()) {
            let headers = response.headers_mut();
            if !headers.contains_key(&TRX_ID) {
                headers.insert(TRX_ID, id.clone());
            }
            headers.entry(REQUEST_ID).or_insert(id);
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_incoming_ids_are_kept_and_others_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("abc-123_x.y:z"));
        assert_eq!(pick(&headers), "abc-123_x.y:z");
        headers.insert(REQUEST_ID, HeaderValue::from_static("two words"));
        headers.insert(TRX_ID, HeaderValue::from_static("trx-1"));
        assert_eq!(pick(&headers), "trx-1");
        headers.remove(TRX_ID);
        let fresh = pick(&headers);
        assert_eq!(fresh.len(), 36, "{fresh:?}");
        assert_ne!(fresh, pick(&headers));
        let long = "a".repeat(MAX_LEN + 1);
        headers.insert(REQUEST_ID, HeaderValue::from_str(&long).unwrap_or(fresh));
        assert_eq!(pick(&headers).len(), 36);
    }
}
