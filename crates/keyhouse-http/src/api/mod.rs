//! Routes, one module per Anypoint resource; folder names mirror URL paths.

pub(crate) mod app_scopes;
pub(crate) mod audit;
pub(crate) mod authorizations;
pub(crate) mod connected_apps;
pub(crate) mod environments;
pub(crate) mod health;
pub(crate) mod identity_providers;
pub(crate) mod login;
pub(crate) mod me;
pub(crate) mod mfa;
pub(crate) mod organizations;
pub(crate) mod scope_catalogue;
pub(crate) mod users;

use axum::http::StatusCode;
use axum::routing::{delete, get, post, MethodRouter};
use axum::Router;

use crate::error::ApiError;
use crate::AppState;

fn app_collection() -> MethodRouter<AppState> {
    get(connected_apps::list).post(connected_apps::create)
}

fn app_item() -> MethodRouter<AppState> {
    get(connected_apps::get)
        .patch(connected_apps::patch)
        .delete(connected_apps::delete)
}

fn app_scopes() -> MethodRouter<AppState> {
    get(app_scopes::list)
        .put(app_scopes::replace)
        .patch(app_scopes::add)
        .delete(app_scopes::remove)
}

/// Every route the server answers (the console adds its own, see
/// `crate::routes`). Add routes here with `.route(…)`, or `.merge(…)` a
/// resource's own router: either way the route appears in
/// `crate::route_paths`, and so in the per-route metrics and in the OpenAPI
/// coverage test.
pub fn routes() -> Router<AppState> {
    const ORG_APPS: &str = "/accounts/api/organizations/{org_id}/connectedApplications";
    Router::new()
        .merge(audit::routes())
        .route("/accounts/api/v2/oauth2/token", post(crate::oauth::token))
        .route("/accounts/oauth2/token", post(crate::oauth::token))
        .route(
            "/accounts/api/v2/oauth2/introspect",
            post(crate::oauth::introspect),
        )
        .route("/accounts/api/v2/oauth2/revoke", post(crate::oauth::revoke))
        .route("/accounts/api/cs/scopes", get(scope_catalogue::list))
        .route("/accounts/api/connectedApplications", app_collection())
        .route(
            "/accounts/api/connectedApplications/{client_id}",
            app_item(),
        )
        .route(
            "/accounts/api/connectedApplications/{client_id}/scopes",
            app_scopes(),
        )
        .route(ORG_APPS, app_collection())
        .route(&format!("{ORG_APPS}/{{client_id}}"), app_item())
        .route(&format!("{ORG_APPS}/{{client_id}}/scopes"), app_scopes())
        .route(
            &format!("{ORG_APPS}/{{client_id}}/grants"),
            get(authorizations::of_app).delete(authorizations::revoke_app),
        )
        .route(
            "/accounts/api/users/me/authorizations",
            get(authorizations::mine),
        )
        .route(
            "/accounts/api/users/me/authorizations/{client_id}",
            delete(authorizations::revoke_mine),
        )
        .route(
            "/accounts/api/v2/oauth2/authorize",
            get(crate::pages::authorize::authorize_get)
                .post(crate::pages::authorize::authorize_post),
        )
        .route(
            "/accounts/authorize/login",
            post(crate::pages::authorize::sign_in),
        )
        .route(
            "/accounts/authorize/consent",
            post(crate::pages::authorize::consent),
        )
        .route(
            "/accounts/authorizations",
            get(crate::pages::authorizations::list),
        )
        .route(
            "/accounts/authorizations/{client_id}/revoke",
            post(crate::pages::authorizations::revoke),
        )
        .route(
            "/accounts/signout",
            post(crate::pages::authorizations::sign_out),
        )
        .route(
            crate::pages::mfa::VERIFY_PATH,
            get(crate::pages::mfa::verify_page).post(crate::pages::mfa::verify),
        )
        .route(
            crate::pages::mfa::ENROLL_PATH,
            get(crate::pages::mfa::enroll_page).post(crate::pages::mfa::enroll),
        )
        .route("/accounts/mfa/disable", post(crate::pages::mfa::disable))
        .route(
            "/accounts/api/organizations/{org_id}/mfa",
            get(mfa::policy).put(mfa::set_policy),
        )
        .route(
            "/accounts/api/organizations/{org_id}/users/{user_id}/mfa",
            delete(mfa::reset_user),
        )
        .route(
            "/accounts/api/organizations/{org_id}/users",
            get(users::list).post(users::create),
        )
        .route(
            "/accounts/api/organizations/{org_id}/users/{user_id}",
            get(users::get).put(users::update).delete(users::delete),
        )
        .route(
            "/accounts/api/v2/oauth2/userinfo",
            get(crate::oauth::userinfo_get).post(crate::oauth::userinfo_post),
        )
        .route("/accounts/api/v2/oauth2/jwks", get(crate::oauth::jwks))
        .route(
            "/.well-known/openid-configuration",
            get(crate::oauth::discovery),
        )
        .route(
            "/accounts/api/v2/oauth2/.well-known/openid-configuration",
            get(crate::oauth::discovery),
        )
        .route(
            "/accounts/api/organizations/{org_id}/identityProviders",
            get(identity_providers::list).post(identity_providers::create),
        )
        .route(
            "/accounts/api/organizations/{org_id}/identityProviders/{provider_id}",
            get(identity_providers::get)
                .patch(identity_providers::patch)
                .delete(identity_providers::delete),
        )
        .route(
            "/accounts/login/oidc/{provider_id}/start",
            get(crate::federation::start),
        )
        .route(
            keyhouse_core::federation::CALLBACK_PATH,
            get(crate::federation::callback),
        )
        .route(
            "/accounts/login/saml/{provider_id}/start",
            get(crate::federation::saml::start),
        )
        .route(
            keyhouse_core::service::SAML_ACS_PATH,
            post(crate::federation::saml::receive_id),
        )
        .route(
            "/accounts/login/{org_domain}/providers/{provider_id}/receive-id",
            post(crate::federation::saml::receive_id_for_provider),
        )
        .route(
            keyhouse_core::service::SAML_METADATA_PATH,
            get(crate::federation::saml::metadata),
        )
        .route(
            "/accounts/logout/receive-id",
            get(crate::federation::saml::logout).post(crate::federation::saml::logout),
        )
        .route(
            "/accounts/login/{org_domain}",
            get(crate::federation::login_domain),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/openapi.json", get(crate::openapi::document))
        .route("/accounts/login", post(login::login))
        .route("/accounts/api/logout", post(login::logout))
        .route("/accounts/api/me", get(me::me))
        .route("/accounts/api/users/me", get(me::users_me))
        .route("/accounts/api/profile", get(me::profile))
        .route("/accounts/api/organizations", post(organizations::create))
        .route(
            "/accounts/api/organizations/{org_id}",
            get(organizations::get)
                .put(organizations::update)
                .delete(organizations::delete),
        )
        .route(
            "/accounts/api/organizations/{org_id}/hierarchy",
            get(organizations::hierarchy),
        )
        .route(
            "/accounts/api/organizations/{org_id}/environments",
            get(environments::list).post(environments::create),
        )
        .route(
            "/accounts/api/organizations/{org_id}/environments/{env_id}",
            get(environments::get)
                .put(environments::update)
                .delete(environments::delete),
        )
}

/// Unknown paths: 404 in the API's error shape.
pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "Resource not found")
}

/// Known path, wrong method: 405 in the API's error shape.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}
