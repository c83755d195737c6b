//! Annotations of the SAML 2.0 routes, whose handlers live in
//! `crate::federation::saml`. These functions are never called: they only
//! carry `#[utoipa::path]`. The e2e coverage test keeps them in step with
//! the router.
#![allow(dead_code)]

/// `SAMLResponse` as JSON (Anypoint's `receive-id` body).
#[derive(utoipa::ToSchema)]
#[allow(non_snake_case)]
struct ReceiveIdBody {
    /// The base64 SAML `Response` (not URL-encoded), at most 512 KiB.
    SAMLResponse: String,
}

/// Trades a signed SAML response for an API token (JSON body), or opens a
/// browser session (form post from the identity provider: the HTTP-POST
/// binding, IdP- or SP-initiated).
#[utoipa::path(
    post,
    path = "/accounts/login/receive-id",
    tag = "federation",
    operation_id = "samlReceiveId",
    request_body(
        description = "JSON `{\"SAMLResponse\"}`, or a form with SAMLResponse and an optional RelayState (a path on Keyhouse)",
        content(
            (ReceiveIdBody = "application/json"),
            (String = "application/x-www-form-urlencoded"),
        )
    ),
    responses(
        (status = 200, description = "JSON: the API token", body = crate::openapi::schemas::LoginResponse),
        (status = 303, description = "Form post: signed in, on to the resumed authorization request, the RelayState path or the authorized-apps page"),
        (status = 400, description = "No SAMLResponse (JSON `{status, message}`), or a refused response (HTML error page)"),
        (status = 401, description = "JSON: the response was refused; `message` names the rule", body = crate::openapi::schemas::Error),
        (status = 403, description = "JSON: the person cannot sign in here (username taken, disabled)", body = crate::openapi::schemas::Error),
        (status = 415, description = "Neither JSON nor a form", body = crate::openapi::schemas::Error),
        (status = 429, description = "Too many refused responses from this address", body = crate::openapi::schemas::Error),
    )
)]
fn receive_id() {}

/// The same for one provider of one organization (tenant-bound).
#[utoipa::path(
    post,
    path = "/accounts/login/{org_domain}/providers/{provider_id}/receive-id",
    tag = "federation",
    operation_id = "samlReceiveIdForProvider",
    params(
        ("org_domain" = String, Path, description = "The organization's login domain"),
        ("provider_id" = String, Path, description = "Identity provider id"),
    ),
    request_body(
        content(
            (ReceiveIdBody = "application/json"),
            (String = "application/x-www-form-urlencoded"),
        )
    ),
    responses(
        (status = 200, description = "JSON: the API token", body = crate::openapi::schemas::LoginResponse),
        (status = 303, description = "Form post: signed in"),
        (status = 400, description = "Malformed request or refused response (browser)"),
        (status = 401, description = "JSON: refused", body = crate::openapi::schemas::Error),
        (status = 415, description = "Neither JSON nor a form", body = crate::openapi::schemas::Error),
    )
)]
fn receive_id_for_provider() {}

/// Starts an SP-initiated SAML sign-in: an `AuthnRequest` to the provider's
/// SSO URL (HTTP-Redirect binding), bound to the browser by a cookie.
#[utoipa::path(
    get,
    path = "/accounts/login/saml/{provider_id}/start",
    tag = "federation",
    operation_id = "samlStart",
    params(
        ("provider_id" = String, Path, description = "Identity provider id"),
        ("request" = Option<String>, Query,
            description = "The authorization request to resume afterwards (form-encoded)"),
    ),
    responses(
        (status = 303, description = "To the identity provider's SSO URL with SAMLRequest"),
        (status = 400, description = "Malformed query (HTML error page)", content_type = "text/html"),
        (status = 404, description = "Unknown provider, or one without an SSO URL (HTML error page)", content_type = "text/html"),
    )
)]
fn start() {}

/// Keyhouse's SAML service-provider metadata (entity id, ACS, logout).
#[utoipa::path(
    get,
    path = "/accounts/saml/metadata",
    tag = "federation",
    operation_id = "samlMetadata",
    responses(
        (status = 200, description = "SAML 2.0 metadata", content_type = "application/samlmetadata+xml", body = String),
    )
)]
fn metadata() {}

/// Single logout: ends the browser's Keyhouse session.
#[utoipa::path(
    get,
    path = "/accounts/logout/receive-id",
    tag = "federation",
    operation_id = "samlLogout",
    params(("redirect_uri" = Option<String>, Query,
        description = "A path on Keyhouse to go to afterwards (anything else is ignored)")),
    responses(
        (status = 200, description = "Signed-out page", content_type = "text/html"),
        (status = 303, description = "To redirect_uri"),
    )
)]
fn logout_get() {}

/// Single logout by POST (same behaviour).
#[utoipa::path(
    post,
    path = "/accounts/logout/receive-id",
    tag = "federation",
    operation_id = "samlLogoutPost",
    params(("redirect_uri" = Option<String>, Query,
        description = "A path on Keyhouse to go to afterwards (anything else is ignored)")),
    responses(
        (status = 200, description = "Signed-out page", content_type = "text/html"),
        (status = 303, description = "To redirect_uri"),
    )
)]
fn logout_post() {}
