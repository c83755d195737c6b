//! What every request goes through on its way in and out, in one layer: its
//! request id and tracing span ([`crate::request_id`]), the refusal of a
//! declared oversized body, and the headers every answer carries
//! (`Cache-Control: no-store` unless the handler set one, `nosniff`,
//! `X-Frame-Options: DENY`, the request id twice).
//!
//! Why one hand-written layer: these were six tower layers (TraceLayer, three
//! SetResponseHeaderLayers, a `from_fn` middleware, the request-id layer),
//! each wrapping the response future again, `from_fn` boxing it and cloning
//! the router per request, TraceLayer also wrapping the body. On the cheapest
//! requests (token validation, `/healthz`) that was a measurable share of the
//! server's CPU per request (issue 4).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode};
use axum::response::IntoResponse;
use pin_project_lite::pin_project;
use tower::{Layer, Service};
use tracing::instrument::Instrumented;
use tracing::Instrument;

use crate::request_id::{self, REQUEST_ID, TRX_ID};
use crate::MAX_BODY_BYTES;

/// Adds the edge handling around the application (see the module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct EdgeLayer;

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge { inner }
    }
}

/// The service [`EdgeLayer`] wraps around the application.
#[derive(Debug, Clone)]
pub struct Edge<S> {
    inner: S,
}

impl<S> Service<Request<Body>> for Edge<S>
where
    S: Service<Request<Body>, Response = Response<Body>>,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let id = request_id::pick(request.headers());
        request.headers_mut().insert(REQUEST_ID, id.clone());
        let span = request_id::span(&request);
        // The latency is only logged at DEBUG: no clock read otherwise.
        let started = tracing::enabled!(tracing::Level::DEBUG).then(|| {
            span.in_scope(|| tracing::debug!("started processing request"));
            Instant::now()
        });
        let state = match oversize_refusal(&request) {
            Some(refusal) => State::Refused {
                response: Some(refusal),
                span,
            },
            None => {
                let inner = span.in_scope(|| self.inner.call(request));
                State::Inner {
                    inner: inner.instrument(span),
                }
            }
        };
        EdgeFuture {
            state,
            id: Some(id),
            started,
        }
    }
}

/// The answer to a request whose declared `Content-Length` is over the limit,
/// given before reading any of it (bodies without a length are cut off while
/// reading by `DefaultBodyLimit`): OAuth JSON on OAuth paths, Anypoint's error
/// shape elsewhere.
fn oversize_refusal(request: &Request<Body>) -> Option<Response<Body>> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())?;
    if declared <= MAX_BODY_BYTES as u64 {
        return None;
    }
    if request.uri().path().contains("/oauth2/") {
        return Some(
            crate::oauth::OAuthResponseError {
                error: keyhouse_core::oauth::error::OAuthError::InvalidRequest(
                    "Request body is too large".to_owned(),
                ),
                too_large: true,
            }
            .into_response(),
        );
    }
    Some(
        crate::error::ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body is too large")
            .into_response(),
    )
}

pin_project! {
    /// The request span lives in one place: inside `Instrumented`, or beside
    /// the refusal.
    #[project = StateProj]
    enum State<F> {
        Inner { #[pin] inner: Instrumented<F> },
        Refused { response: Option<Response<Body>>, span: tracing::Span },
    }
}

pin_project! {
    /// A request in flight; its answer gets the edge headers.
    pub struct EdgeFuture<F> {
        #[pin]
        state: State<F>,
        id: Option<HeaderValue>,
        started: Option<Instant>,
    }
}

impl<F, E> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response<Body>, E>>,
{
    type Output = Result<Response<Body>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let (mut result, span) = match this.state.project() {
            StateProj::Inner { mut inner } => {
                let result = ready!(inner.as_mut().poll(cx));
                (result, inner.into_ref().get_ref().span())
            }
            StateProj::Refused { response, span } => match response.take() {
                Some(response) => (Ok(response), &*span),
                None => return Poll::Pending,
            },
        };
        if let Ok(response) = &mut result {
            finish(response, this.id.take());
            let status = response.status().as_u16();
            let _entered = span.enter();
            if status >= 500 {
                tracing::error!(status, "response failed");
            }
            if let Some(started) = this.started {
                let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
                tracing::debug!(status, latency_ms, "finished processing request");
            }
        }
        Poll::Ready(result)
    }
}

/// The headers every answer carries.
fn finish(response: &mut Response<Body>, id: Option<HeaderValue>) {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Some(id) = id {
        if !headers.contains_key(&TRX_ID) {
            headers.insert(TRX_ID, id.clone());
        }
        headers.entry(REQUEST_ID).or_insert(id);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_answer_gets_the_security_headers_and_keeps_its_own_cache_control() {
        let mut plain = Response::new(Body::empty());
        finish(&mut plain, Some(HeaderValue::from_static("id-1")));
        let h = plain.headers();
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[&REQUEST_ID], "id-1");
        assert_eq!(h[&TRX_ID], "id-1");

        let mut cached = Response::new(Body::empty());
        cached.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        );
        finish(&mut cached, None);
        assert_eq!(
            cached.headers()[header::CACHE_CONTROL],
            "public, max-age=300"
        );
    }

    #[test]
    fn only_a_declared_oversized_body_is_refused_before_reading() {
        let sized = |path: &str, len: usize| {
            Request::post(path)
                .header(header::CONTENT_LENGTH, len.to_string())
                .body(Body::empty())
                .unwrap()
        };
        assert!(oversize_refusal(&sized("/accounts/login", MAX_BODY_BYTES)).is_none());
        let api = oversize_refusal(&sized("/accounts/login", MAX_BODY_BYTES + 1)).unwrap();
        assert_eq!(api.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let oauth =
            oversize_refusal(&sized("/accounts/api/v2/oauth2/token", MAX_BODY_BYTES + 1)).unwrap();
        assert_eq!(oauth.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }
}
