//! Request ids (issue 7; architecture guide, "Conventions" 4: internals are
//! logged once with a request id). Every request gets an id: the caller's
//! `X-Request-Id` when it is a sane token, else Anypoint's `X-ANYPNT-TRX-ID`,
//! else a new random UUID. The id is put on the request (so the tracing span
//! of the request, and so every log line written while serving it, carries
//! it) and echoed in both headers of the response, by [`crate::edge`].
//!
//! The span holds the method and the path only: never the query string (an
//! authorization code or state may be there), headers, cookies or bodies.

use axum::http::{HeaderMap, HeaderName, HeaderValue, Request};

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
pub(crate) fn pick(headers: &HeaderMap) -> HeaderValue {
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
