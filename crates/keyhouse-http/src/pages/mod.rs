//! Server-rendered pages: sign-in, consent, errors and the authorized-apps
//! list. No JavaScript; CSRF protection on every form; never framed
//! (checklist AZ-08, SE-01..SE-03, SE-07, SE-08).

pub mod authorizations;
pub mod authorize;
pub mod mfa;
mod templates;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// The cookie names and flags for this server: `__Host-` names and `Secure`
/// when the issuer is https (RFC 6265bis §4.1.3.2).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cookies {
    pub(crate) secure: bool,
}

impl Cookies {
    pub(crate) fn for_issuer(issuer: &str) -> Self {
        Self {
            secure: issuer.starts_with("https://"),
        }
    }

    pub(crate) fn session_name(self) -> &'static str {
        if self.secure {
            "__Host-keyhouse_session"
        } else {
            "keyhouse_session"
        }
    }

    pub(crate) fn csrf_name(self) -> &'static str {
        if self.secure {
            "__Host-keyhouse_csrf"
        } else {
            "keyhouse_csrf"
        }
    }

    /// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, Secure on https.
    /// `max_age_secs` of 0 deletes the cookie.
    pub(crate) fn set(self, name: &str, value: &str, max_age_secs: i64) -> Option<HeaderValue> {
        self.build(name, value, max_age_secs, cookie::SameSite::Lax)
    }

    /// Like [`Cookies::set`], for a cookie that must come back on a
    /// cross-site POST (the SAML HTTP-POST binding): SameSite=None on https
    /// (which requires Secure); plain http keeps Lax, which browsers send
    /// within one site (loopback development).
    pub(crate) fn set_cross_site(
        self,
        name: &str,
        value: &str,
        max_age_secs: i64,
    ) -> Option<HeaderValue> {
        let same_site = if self.secure {
            cookie::SameSite::None
        } else {
            cookie::SameSite::Lax
        };
        self.build(name, value, max_age_secs, same_site)
    }

    /// HttpOnly, Path=/, Secure on https, with this SameSite.
    pub(crate) fn build(
        self,
        name: &str,
        value: &str,
        max_age_secs: i64,
        same_site: cookie::SameSite,
    ) -> Option<HeaderValue> {
        let cookie = cookie::Cookie::build((name, value))
            .http_only(true)
            .same_site(same_site)
            .path("/")
            .secure(self.secure)
            .max_age(time::Duration::seconds(max_age_secs));
        HeaderValue::from_str(&cookie.to_string()).ok()
    }
}

/// The value of a request cookie.
pub(crate) fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// 256 random bits, base64url: a fresh pre-login CSRF cookie value.
pub(crate) fn random_value() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A form token bound to the browser session (the key is the session cookie
/// value, which other sites cannot read) and to what the form does.
pub(crate) fn form_token(session_cookie: &str, purpose: &str, data: &str) -> String {
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(session_cookie.as_bytes()) else {
        return String::new();
    };
    mac.update(purpose.as_bytes());
    mac.update(b"\n");
    mac.update(data.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// Constant-time equality of two non-empty tokens.
pub(crate) fn tokens_match(expected: &str, presented: &str) -> bool {
    !expected.is_empty() && expected.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// True when a form post comes from another site (`Origin` names another host,
/// or the browser says `Sec-Fetch-Site: cross-site` or `same-site`), checklist SE-08.
pub(crate) fn cross_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some("cross-site" | "same-site")) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        // Pages are sent with `Referrer-Policy: no-referrer`, under which
        // browsers send `Origin: null` on same-origin form posts; the form
        // token still has to match.
        None | Some("null") => false,
        Some(origin) => {
            let origin_host = url::Url::parse(origin).ok().and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_owned(),
                })
            });
            origin_host.as_deref() != host
        }
    }
}

/// An HTML page with the headers every page carries. `form_origin` is the
/// app's origin when a form on the page ends in a redirect to the app (CSP
/// `form-action` also governs the redirects after a submission).
pub(crate) fn page(status: StatusCode, body: String, form_origin: Option<&str>) -> Response {
    let form_action = match form_origin.filter(|o| !o.is_empty() && *o != "null") {
        Some(origin) => format!("'self' {origin}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    let mut response = (status, axum::response::Html(body)).into_response();
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// `303 See Other` (never 307/308 after a POST with credentials, AZ-09).
pub(crate) fn see_other(location: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// The error page, for problems that must not be redirected to any app.
pub(crate) fn error_page(status: StatusCode, title: &str, message: &str) -> Response {
    page(status, templates::error(title, message), None)
}
