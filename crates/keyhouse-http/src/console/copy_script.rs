//! The console's only script: the "Copy" button next to a client secret that
//! is shown once (issue 7). Served from this server (`script-src 'self'`,
//! no inline code), and allowed only on the page that shows a secret; every
//! other console page keeps a CSP without scripts.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// Where the script is served.
pub(crate) const PATH: &str = "/console/copy.js";

const SCRIPT: &str = include_str!("../../assets/copy.js");

/// `GET /console/copy.js`.
#[utoipa::path(
    get,
    path = "/console/copy.js",
    tag = "console",
    operation_id = "consoleCopyScript",
    responses(
        (status = 200, description = "The script of the secret's Copy button", content_type = "text/javascript", body = String),
    ),
)]
pub(crate) async fn serve() -> Response {
    let mut response = (StatusCode::OK, SCRIPT).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `response` (a console page) with its CSP widened to run [`PATH`].
pub(crate) fn allow_on(mut response: Response) -> Response {
    let csp = response
        .headers()
        .get(header::CONTENT_SECURITY_POLICY)
        .and_then(|v| v.to_str().ok())
        .map(|csp| format!("{csp}; script-src 'self'"));
    if let Some(value) = csp.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, value);
    }
    response
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn only_the_page_asking_for_it_may_run_the_script() {
        let page = crate::pages::page(StatusCode::OK, String::new(), None);
        let widened = allow_on(page);
        let csp = widened.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
        assert!(csp.ends_with("; script-src 'self'"), "{csp}");
        assert!(!SCRIPT.contains("eval("));
    }
}
