//! The layer that counts requests: a hand-written tower service, so that
//! counting boxes no future and allocates nothing (unlike
//! `axum::middleware::from_fn`). Added with `Router::layer`, it runs after
//! routing and reads the template axum matched.

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Response;
use pin_project_lite::pin_project;
use tower::{Layer, Service};

use super::{method_index, HttpMetrics};

/// Counts every request by route template, method and status class, and
/// observes its latency.
#[derive(Debug, Clone, Copy)]
pub struct TrackLayer {
    http: &'static HttpMetrics,
}

impl TrackLayer {
    pub(super) fn new(http: &'static HttpMetrics) -> Self {
        Self { http }
    }
}

impl<S> Layer<S> for TrackLayer {
    type Service = Track<S>;

    fn layer(&self, inner: S) -> Track<S> {
        Track {
            inner,
            http: self.http,
        }
    }
}

/// The service [`TrackLayer`] wraps around each route.
#[derive(Debug, Clone)]
pub struct Track<S> {
    inner: S,
    http: &'static HttpMetrics,
}

impl<S, B> Service<Request> for Track<S>
where
    S: Service<Request, Response = Response<B>>,
{
    type Response = Response<B>;
    type Error = S::Error;
    type Future = Tracked<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request) -> Self::Future {
        let template = request.extensions().get::<MatchedPath>();
        let route = self.http.route(template.map(MatchedPath::as_str));
        let method = method_index(request.method());
        Tracked {
            inner: self.inner.call(request),
            http: self.http,
            route,
            method,
            start: Instant::now(),
        }
    }
}

pin_project! {
    /// A request in flight; counted when its response head is ready.
    pub struct Tracked<F> {
        #[pin]
        inner: F,
        http: &'static HttpMetrics,
        route: usize,
        method: usize,
        start: Instant,
    }
}

impl<F, B, E> Future for Tracked<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let Ok(response) = &result {
            this.http.record(
                *this.route,
                *this.method,
                response.status(),
                this.start.elapsed(),
            );
        }
        Poll::Ready(result)
    }
}
