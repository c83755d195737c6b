//! Annotations of the federated sign-in routes, whose handlers live in
//! `crate::federation`. These functions are never called: they only carry
//! `#[utoipa::path]`. The e2e coverage test keeps them in step with the router.
#![allow(dead_code)]

/// Starts a sign-in through an upstream OpenID Connect provider: remembers
/// the sign-in, binds it to the browser with a cookie and redirects there.
#[utoipa::path(
    get,
    path = "/accounts/login/oidc/{provider_id}/start",
    tag = "federation",
    operation_id = "federationStart",
    params(
        ("provider_id" = String, Path, description = "Identity provider id"),
        ("request" = Option<String>, Query,
            description = "The authorization request to resume afterwards (form-encoded)"),
    ),
    responses(
        (status = 303, description = "To the upstream provider's authorization endpoint"),
        (status = 400, description = "Malformed query (HTML error page)", content_type = "text/html"),
        (status = 404, description = "Unknown provider (HTML error page)", content_type = "text/html"),
    )
)]
fn federation_start() {}

/// Where the upstream provider sends the browser back (`code` and `state`, or
/// `error`); on success the browser gets a session and resumes its request.
#[utoipa::path(
    get,
    path = "/accounts/login/oidc/callback",
    tag = "federation",
    operation_id = "federationCallback",
    params(
        ("code" = Option<String>, Query, description = "Authorization code from the upstream"),
        ("state" = Option<String>, Query, description = "The state sent at the start"),
        ("error" = Option<String>, Query, description = "The upstream's refusal"),
    ),
    responses(
        (status = 303, description = "Signed in: on to the authorization request or the authorized-apps page"),
        (status = 400, description = "Failed sign-in (HTML error page)", content_type = "text/html"),
    )
)]
fn federation_callback() {}

/// The sign-in page of one organization, with its identity providers.
#[utoipa::path(
    get,
    path = "/accounts/login/{org_domain}",
    tag = "federation",
    operation_id = "loginDomainPage",
    params(("org_domain" = String, Path, description = "The organization's login domain")),
    responses(
        (status = 200, description = "Sign-in page", content_type = "text/html", body = String),
        (status = 404, description = "No organization has this domain", content_type = "text/html"),
    )
)]
fn login_domain() {}
