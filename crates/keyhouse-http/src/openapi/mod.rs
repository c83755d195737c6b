//! `GET /openapi.json`: an OpenAPI 3.1 document generated from the handlers'
//! `#[utoipa::path]` annotations (architecture guide, "Conventions" 10: API
//! docs come from the code). To document a new handler: annotate it (see
//! `api/environments.rs` for the pattern: path, tag, `operation_id`, params,
//! body, every status with its error shape, security), add it to `paths(…)`
//! below, and run `cargo test -p keyhouse --test e2e openapi`: that test fails
//! while any route the application serves (`crate::route_paths`) is missing
//! from this document.

mod browser;
mod saml;
pub mod schemas;

use std::sync::OnceLock;

use axum::response::Response;
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// Routes served under a second path with the same handler: `(alias,
/// documented path, operation id suffix)`. The alias gets a copy of the
/// documented operations, without the path parameters its template lacks.
const ALIASES: &[(&str, &str, &str)] = &[
    (
        "/accounts/oauth2/token",
        "/accounts/api/v2/oauth2/token",
        "Legacy",
    ),
    (
        "/accounts/api/v2/oauth2/.well-known/openid-configuration",
        "/.well-known/openid-configuration",
        "Anypoint",
    ),
    (
        "/accounts/api/connectedApplications",
        "/accounts/api/organizations/{org_id}/connectedApplications",
        "WithoutOrg",
    ),
    (
        "/accounts/api/connectedApplications/{client_id}",
        "/accounts/api/organizations/{org_id}/connectedApplications/{client_id}",
        "WithoutOrg",
    ),
    (
        "/accounts/api/connectedApplications/{client_id}/scopes",
        "/accounts/api/organizations/{org_id}/connectedApplications/{client_id}/scopes",
        "WithoutOrg",
    ),
];

/// The security schemes the annotations name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let described = |scheme: HttpAuthScheme, text: &str| {
            let mut http = Http::new(scheme);
            http.description = Some(text.to_owned());
            SecurityScheme::Http(http)
        };
        components.add_security_scheme(
            "bearer",
            described(
                HttpAuthScheme::Bearer,
                "An opaque access token from POST /accounts/login or the token endpoint \
                 (RFC 6750 §2.1; never in the query string).",
            ),
        );
        components.add_security_scheme(
            "client_shortcut",
            described(
                HttpAuthScheme::Basic,
                "Anypoint's shortcut for connected apps: user `~~~Client~~~`, password \
                 `<client_id>~?~<client_secret>`.",
            ),
        );
        components.add_security_scheme(
            "client_basic",
            described(
                HttpAuthScheme::Basic,
                "client_secret_basic (RFC 6749 §2.3.1): the client id and secret, \
                 form-urlencoded, as user and password. client_secret_post (the same \
                 in the body) is accepted too.",
            ),
        );
        components.add_security_scheme(
            "browser_session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "keyhouse_session",
                "The browser session set by the sign-in page (HttpOnly; named \
                 `__Host-keyhouse_session` on HTTPS).",
            ))),
        );
    }
}

/// The annotated operations; see the module documentation.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keyhouse",
        description = "Anypoint Platform Access Management API and OAuth 2.0 / OpenID Connect \
                       provider. Anypoint APIs answer errors as `{\"status\", \"message\"}`; \
                       the OAuth endpoints as RFC 6749 §5.2 `{\"error\", \"error_description\"}`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&SecuritySchemes),
    paths(
        crate::oauth::token::token,
        crate::oauth::token::introspect,
        crate::oauth::token::revoke,
        crate::oauth::userinfo::userinfo_get,
        crate::oauth::userinfo::userinfo_post,
        crate::oauth::userinfo::discovery,
        crate::oauth::userinfo::jwks,
        crate::api::login::login,
        crate::api::login::logout,
        crate::api::me::me,
        crate::api::me::users_me,
        crate::api::me::profile,
        crate::api::organizations::create,
        crate::api::organizations::get,
        crate::api::organizations::update,
        crate::api::organizations::delete,
        crate::api::organizations::hierarchy,
        crate::api::environments::list,
        crate::api::environments::create,
        crate::api::environments::get,
        crate::api::environments::update,
        crate::api::environments::delete,
        crate::api::connected_apps::list,
        crate::api::connected_apps::create,
        crate::api::connected_apps::get,
        crate::api::connected_apps::patch,
        crate::api::connected_apps::delete,
        crate::api::app_scopes::list,
        crate::api::app_scopes::replace,
        crate::api::app_scopes::add,
        crate::api::app_scopes::remove,
        crate::api::authorizations::of_app,
        crate::api::authorizations::revoke_app,
        crate::api::authorizations::mine,
        crate::api::authorizations::revoke_mine,
        crate::api::scope_catalogue::list,
        crate::api::mfa::policy,
        crate::api::mfa::set_policy,
        crate::api::mfa::reset_user,
        crate::api::users::list,
        crate::api::users::create,
        crate::api::users::get,
        crate::api::users::update,
        crate::api::users::delete,
        crate::api::identity_providers::list,
        crate::api::identity_providers::create,
        crate::api::identity_providers::get,
        crate::api::identity_providers::patch,
        crate::api::identity_providers::delete,
        crate::api::health::healthz,
        crate::api::health::readyz,
        crate::api::audit::query,
        crate::api::audit::platforms,
        crate::api::audit::retention,
        crate::metrics::export::metrics,
        document,
        crate::pages::authorize::authorize_get,
        crate::pages::authorize::authorize_post,
        crate::pages::authorize::sign_in,
        crate::pages::authorize::consent,
        crate::pages::authorizations::list,
        crate::pages::authorizations::revoke,
        crate::pages::authorizations::sign_out,
        crate::pages::mfa::verify_page,
        crate::pages::mfa::verify,
        crate::pages::mfa::enroll_page,
        crate::pages::mfa::enroll,
        crate::pages::mfa::disable,
        browser::federation_start,
        browser::federation_callback,
        browser::login_domain,
        saml::receive_id,
        saml::receive_id_for_provider,
        saml::start,
        saml::metadata,
        saml::logout_get,
        saml::logout_post,
    ),
    tags(
        (name = "oauth", description = "OAuth 2.0 token, introspection (RFC 7662) and revocation (RFC 7009)"),
        (name = "oidc", description = "OpenID Connect discovery, keys and UserInfo"),
        (name = "session", description = "Anypoint login, logout and the current user"),
        (name = "organizations", description = "Organizations and business groups"),
        (name = "environments", description = "Environments of an organization"),
        (name = "connected-apps", description = "Connected apps, their scopes and their users' grants"),
        (name = "authorizations", description = "Apps a user has authorized"),
        (name = "scopes", description = "The scope catalogue"),
        (name = "mfa", description = "Multi-factor authentication policy and resets"),
        (name = "users", description = "Users of an organization: list, create, change, disable, delete"),
        (name = "identity-providers", description = "OpenID Connect and SAML 2.0 identity providers of an organization"),
        (name = "audit", description = "The audit log of an organization (Anypoint Audit Log Query API)"),
        (name = "operations", description = "Health, readiness, metrics and this document"),
        (name = "pages", description = "HTML pages of the browser flows (sign-in, consent, MFA, authorizations)"),
        (name = "federation", description = "Sign-in through an upstream identity provider (OpenID Connect, SAML 2.0)"),
    )
)]
pub struct ApiDoc;

/// Drops the path parameters a template does not name.
fn keep_own_parameters(operation: &mut Value, template: &str) {
    if let Some(Value::Array(parameters)) = operation.get_mut("parameters") {
        parameters.retain(|p| {
            p["in"] != "path"
                || p["name"]
                    .as_str()
                    .is_some_and(|n| template.contains(&format!("{{{n}}}")))
        });
    }
}

/// The document as JSON, with the [`ALIASES`] filled in.
pub fn document_json() -> Value {
    let api = ApiDoc::openapi().merge_from(crate::console::openapi::ConsoleDoc::openapi());
    let mut doc = serde_json::to_value(api).unwrap_or(Value::Null);
    let Some(Value::Object(paths)) = doc.get_mut("paths") else {
        return doc;
    };
    for (alias, documented, suffix) in ALIASES {
        let Some(Value::Object(item)) = paths.get(*documented).cloned() else {
            continue;
        };
        let mut copy = serde_json::Map::new();
        for (method, mut operation) in item {
            if let Some(Value::String(id)) = operation.get_mut("operationId") {
                id.push_str(suffix);
            }
            keep_own_parameters(&mut operation, alias);
            copy.insert(method, operation);
        }
        paths.insert((*alias).to_owned(), Value::Object(copy));
    }
    doc
}

/// This document: every route of the server, with request bodies, answers
/// and error shapes (OpenAPI 3.1).
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    operation_id = "openapi",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
pub async fn document() -> Response {
    // Derived from the code alone: built once.
    static TEXT: OnceLock<String> = OnceLock::new();
    let text = TEXT.get_or_init(|| document_json().to_string());
    crate::wire::json_bytes(axum::body::Bytes::from_static(text.as_bytes()))
}
