//! Schemas of the response shapes for `/openapi.json`. The handlers build
//! these answers as JSON values (`crate::wire`), in Anypoint's field names; the
//! structs here describe them field for field and are never built. The e2e
//! test `openapi::real_answers_match_their_schemas` compares real answers with
//! these schemas, so a field added to `wire` without being added here fails.
//! Request bodies are not described here: the handlers' own body types
//! derive their schemas.
#![allow(dead_code)]

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

/// Anypoint's error shape (every `/accounts` API and the pages' JSON errors).
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": 401, "message": "Unauthorized"}))]
pub struct Error {
    /// The HTTP status, repeated.
    status: u16,
    /// What went wrong, for people.
    message: String,
}

/// RFC 6749 §5.2 error codes.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OAuthErrorCode {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    TemporarilyUnavailable,
    ServerError,
}

/// The OAuth error shape of the token, introspection and revocation endpoints.
#[derive(Serialize, ToSchema)]
pub struct OAuthError {
    error: OAuthErrorCode,
    error_description: String,
}

/// `{"status": …}` of the health probes.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` (`/healthz`) or `ready` (`/readyz`).
    status: String,
}

/// `grant_type` values of the token endpoint.
#[derive(Serialize, ToSchema)]
pub enum GrantType {
    #[serde(rename = "client_credentials")]
    ClientCredentials,
    #[serde(rename = "authorization_code")]
    AuthorizationCode,
    #[serde(rename = "refresh_token")]
    RefreshToken,
    #[serde(rename = "password")]
    Password,
    #[serde(rename = "urn:ietf:params:oauth:grant-type:jwt-bearer")]
    JwtBearer,
}

/// A token request (RFC 6749 §4), as a form or as a JSON object of strings.
/// Which parameters apply depends on `grant_type`. Client credentials go in
/// HTTP Basic or, as `client_id`/`client_secret`, in the body; never in the
/// query string.
#[derive(Serialize, ToSchema)]
pub struct TokenRequest {
    grant_type: GrantType,
    /// Space-separated scopes.
    scope: Option<String>,
    /// `authorization_code`.
    code: Option<String>,
    /// `authorization_code`: as sent to the authorization endpoint.
    redirect_uri: Option<String>,
    /// `authorization_code`: the PKCE verifier (RFC 7636).
    code_verifier: Option<String>,
    /// `refresh_token`.
    refresh_token: Option<String>,
    /// `password`.
    username: Option<String>,
    /// `password`.
    password: Option<String>,
    /// JWT bearer (RFC 7523 §2.1): the signed assertion.
    assertion: Option<String>,
    /// client_secret_post, or a public client's id.
    client_id: Option<String>,
    /// client_secret_post.
    client_secret: Option<String>,
}

/// Introspection (RFC 7662 §2.1) or revocation (RFC 7009 §2.1) request.
#[derive(Serialize, ToSchema)]
pub struct TokenCall {
    /// The token to introspect or revoke.
    token: String,
    /// `access_token` or `refresh_token` (a hint only).
    token_type_hint: Option<String>,
    /// client_secret_post.
    client_id: Option<String>,
    /// client_secret_post.
    client_secret: Option<String>,
}

/// A successful token response (RFC 6749 §5.1).
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    access_token: String,
    /// Always `bearer`.
    token_type: String,
    /// Seconds until the access token expires.
    expires_in: i64,
    /// The granted scopes, when they may differ from those asked for.
    scope: Option<String>,
    /// With `offline_access`, for apps allowed the `refresh_token` grant.
    refresh_token: Option<String>,
    /// With `openid` (OpenID Connect Core §3.1.3.3).
    id_token: Option<String>,
}

/// RFC 7662 §2.2: only `active` when the token is not live.
#[derive(Serialize, ToSchema)]
pub struct Introspection {
    active: bool,
    /// The user id, or the client id of an app's own token.
    sub: Option<String>,
    /// `Bearer`.
    token_type: Option<String>,
    iat: Option<i64>,
    exp: Option<i64>,
    client_id: Option<String>,
    username: Option<String>,
    scope: Option<String>,
}

/// `POST /accounts/login`.
#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    access_token: String,
    /// `bearer`.
    token_type: String,
    #[serde(rename = "redirectUrl")]
    redirect_url: String,
}

/// An environment.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    id: String,
    name: String,
    organization_id: String,
    is_production: bool,
    /// `production`, `sandbox` or `design`.
    #[serde(rename = "type")]
    env_type: String,
    client_id: String,
    arc_namespace: Option<String>,
}

/// `{"data": [environment], "total": n}`.
#[derive(Serialize, ToSchema)]
pub struct EnvironmentList {
    data: Vec<Environment>,
    total: u64,
}

/// `properties.cs_auth` of a user.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CsAuth {
    active_organization_id: String,
    teams: bool,
}

/// `properties` of a user.
#[derive(Serialize, ToSchema)]
pub struct UserProperties {
    cs_auth: CsAuth,
}

/// A user (flat), as Anypoint shows it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct User {
    id: String,
    created_at: String,
    updated_at: String,
    organization_id: String,
    first_name: String,
    last_name: String,
    email: Option<String>,
    phone_number: Option<String>,
    username: String,
    /// `mulesoft` for users who sign in with Keyhouse.
    #[serde(rename = "idprovider_id")]
    idprovider_id: String,
    enabled: bool,
    deleted: bool,
    last_login: Option<String>,
    mfa_verification_excluded: bool,
    /// `"true"` or `"false"` (a string, as Anypoint sends it).
    mfa_verifiers_configured: String,
    is_federated: bool,
    /// `host`.
    #[serde(rename = "type")]
    user_type: String,
    organization_preferences: Value,
    properties: UserProperties,
}

/// An organization as listed in `memberOfOrganizations` and the hierarchy.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationSummary {
    id: String,
    name: String,
    created_at: String,
    updated_at: String,
    owner_id: String,
    client_id: String,
    #[serde(rename = "idprovider_id")]
    idprovider_id: String,
    is_federated: bool,
    parent_organization_ids: Vec<String>,
    sub_organization_ids: Vec<String>,
    tenant_organization_ids: Vec<String>,
    /// `mandatory` or `no`.
    mfa_required: String,
    is_automatic_admin_promotion_exempt: bool,
    org_type: String,
    /// The login domain (`/accounts/login/{domain}`), if set.
    domain: Option<String>,
    is_root: bool,
    is_master: bool,
    parent_name: Option<String>,
    parent_id: Option<String>,
}

/// A full organization (`GET /accounts/api/organizations/{orgId}`).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    id: String,
    name: String,
    created_at: String,
    updated_at: String,
    owner_id: String,
    client_id: String,
    #[serde(rename = "idprovider_id")]
    idprovider_id: String,
    is_federated: bool,
    parent_organization_ids: Vec<String>,
    sub_organization_ids: Vec<String>,
    tenant_organization_ids: Vec<String>,
    mfa_required: String,
    is_automatic_admin_promotion_exempt: bool,
    org_type: String,
    domain: Option<String>,
    is_root: bool,
    is_master: bool,
    parent_id: Option<String>,
    gdot_id: Option<String>,
    deleted_at: Option<String>,
    /// Minutes a login token lives.
    session_timeout: i64,
    properties: Value,
    entitlements: Value,
    environments: Vec<Environment>,
    owner: Option<User>,
}

/// A node of `GET …/hierarchy`: a summary with its children.
#[derive(Serialize, ToSchema)]
pub struct HierarchyNode {
    #[serde(flatten)]
    summary: OrganizationSummary,
    #[serde(rename = "subOrganizations")]
    #[schema(no_recursion)]
    sub_organizations: Vec<HierarchyNode>,
}

/// The user of `/me`, `/users/me` and `/profile`: the flat user plus organizations.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeUser {
    #[serde(flatten)]
    user: User,
    organization: Organization,
    member_of_organizations: Vec<OrganizationSummary>,
    contributor_of_organizations: Vec<OrganizationSummary>,
}

/// The app behind an app token.
#[derive(Serialize, ToSchema)]
pub struct ClientSummary {
    client_id: String,
    name: String,
    org_id: String,
}

/// `GET /accounts/api/me`.
#[derive(Serialize, ToSchema)]
pub struct Me {
    user: MeUser,
    /// Present for tokens issued to a connected app.
    client: Option<ClientSummary>,
}

/// A connected app (Anypoint's snake_case shape).
#[derive(Serialize, ToSchema)]
pub struct ConnectedApp {
    client_id: String,
    client_name: String,
    org_id: String,
    owner_org_id: String,
    owner_user_id: String,
    grant_types: Vec<String>,
    redirect_uris: Vec<String>,
    public_keys: Vec<String>,
    scopes: Vec<String>,
    /// `internal` or `everyone`.
    audience: String,
    client_uri: Option<String>,
    policy_uri: Option<String>,
    enabled: bool,
    created_at: String,
    updated_at: String,
    client_secret_updated_at: String,
    /// `client_secret_basic`, or `none` for public clients.
    token_endpoint_auth_method: String,
    /// Only in the answers to create and to `?resetSecret=true`.
    client_secret: Option<String>,
}

/// `{"data": [app], "total": n}`.
#[derive(Serialize, ToSchema)]
pub struct ConnectedAppList {
    data: Vec<ConnectedApp>,
    total: u64,
}

/// `context_params` of a scope grant.
#[derive(Serialize, ToSchema)]
pub struct ScopeContext {
    org: Option<String>,
    #[serde(rename = "envId")]
    env_id: Option<String>,
}

/// A scope granted to an app, bound to an organization and/or environment.
#[derive(Serialize, ToSchema)]
pub struct ScopeGrant {
    scope: String,
    context_params: ScopeContext,
}

/// `{"data": [grant], "total": n}`.
#[derive(Serialize, ToSchema)]
pub struct ScopeGrantList {
    data: Vec<ScopeGrant>,
    total: u64,
}

/// An entry of the scope catalogue.
#[derive(Serialize, ToSchema)]
pub struct CatalogueScope {
    scope: String,
    name: String,
    /// `global`, `org` or `env`.
    context: String,
}

/// `{"data": [scope], "total": n}`.
#[derive(Serialize, ToSchema)]
pub struct Catalogue {
    data: Vec<CatalogueScope>,
    total: u64,
}

/// An app a user has authorized (consent).
#[derive(Serialize, ToSchema)]
pub struct Authorization {
    client_id: String,
    client_name: String,
    scopes: Vec<String>,
    created_at: String,
    updated_at: String,
    last_used_at: Option<String>,
    /// In the per-app list (`…/grants`) only.
    user_id: Option<String>,
    /// In the per-app list (`…/grants`) only.
    username: Option<String>,
}

/// `{"data": [authorization], "total": n}`.
#[derive(Serialize, ToSchema)]
pub struct AuthorizationList {
    data: Vec<Authorization>,
    total: u64,
}

/// An organization's MFA policy.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MfaPolicy {
    mfa_required: bool,
}

/// `type` of an identity provider.
#[derive(Serialize, ToSchema)]
pub struct ProviderType {
    /// `openid`.
    name: String,
    description: String,
}

/// An identity provider as listed.
#[derive(Serialize, ToSchema)]
pub struct IdentityProviderSummary {
    provider_id: String,
    org_id: String,
    name: String,
    #[serde(rename = "type")]
    kind: ProviderType,
}

/// `{"data": [provider], "total": n}`.
#[derive(Serialize, ToSchema)]
pub struct IdentityProviderList {
    data: Vec<IdentityProviderSummary>,
    total: u64,
}

/// `oidc_provider.client.credentials` (the secret is write-only).
#[derive(Serialize, ToSchema)]
pub struct ProviderCredentials {
    id: String,
}

/// `oidc_provider.client`.
#[derive(Serialize, ToSchema)]
pub struct ProviderClient {
    credentials: ProviderCredentials,
}

/// `oidc_provider.claims_mapping`.
#[derive(Serialize, ToSchema)]
pub struct ClaimsMapping {
    username_attribute: Option<String>,
    firstname_attribute: Option<String>,
    lastname_attribute: Option<String>,
    email_attribute: Option<String>,
}

/// `oidc_provider.urls`: the callback to register at the upstream provider.
#[derive(Serialize, ToSchema)]
pub struct ProviderUrls {
    redirect: String,
}

/// `oidc_provider`.
#[derive(Serialize, ToSchema)]
pub struct OidcProvider {
    issuer: String,
    client: ProviderClient,
    /// Space-separated.
    scopes: String,
    claims_mapping: ClaimsMapping,
    urls: ProviderUrls,
}

/// `service_provider.urls`.
#[derive(Serialize, ToSchema)]
pub struct SignOnUrls {
    /// Starts a sign-in through this provider.
    sign_on: String,
}

/// `service_provider`.
#[derive(Serialize, ToSchema)]
pub struct ServiceProvider {
    urls: SignOnUrls,
}

/// A whole identity provider, without its client secret.
#[derive(Serialize, ToSchema)]
pub struct IdentityProvider {
    provider_id: String,
    org_id: String,
    name: String,
    #[serde(rename = "type")]
    kind: ProviderType,
    oidc_provider: OidcProvider,
    allow_untrusted_certificates: bool,
    service_provider: ServiceProvider,
    created_at: String,
    updated_at: String,
}

/// OpenID Provider metadata (OpenID Connect Discovery §3, RFC 8414 §2).
#[derive(Serialize, ToSchema)]
pub struct Discovery {
    issuer: String,
    authorization_endpoint: String,
    token_endpoint: String,
    userinfo_endpoint: String,
    jwks_uri: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    scopes_supported: Vec<String>,
    response_types_supported: Vec<String>,
    response_modes_supported: Vec<String>,
    grant_types_supported: Vec<String>,
    subject_types_supported: Vec<String>,
    id_token_signing_alg_values_supported: Vec<String>,
    token_endpoint_auth_methods_supported: Vec<String>,
    revocation_endpoint_auth_methods_supported: Vec<String>,
    introspection_endpoint_auth_methods_supported: Vec<String>,
    code_challenge_methods_supported: Vec<String>,
    claims_supported: Vec<String>,
    prompt_values_supported: Vec<String>,
    request_parameter_supported: bool,
    request_uri_parameter_supported: bool,
    claims_parameter_supported: bool,
    authorization_response_iss_parameter_supported: bool,
    /// Where this OpenAPI document is served.
    service_documentation: String,
}

/// A public signing key (RFC 7517 §4).
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    /// `RSA`.
    kty: String,
    kid: String,
    #[serde(rename = "use")]
    key_use: Option<String>,
    alg: Option<String>,
    n: String,
    e: String,
}

/// The JSON Web Key Set of the ID-token signing keys.
#[derive(Serialize, ToSchema)]
pub struct Jwks {
    keys: Vec<Jwk>,
}

/// UserInfo claims (OpenID Connect Core §5.3); which appear depends on the
/// token's scopes (`profile`, `email`).
#[derive(Serialize, ToSchema)]
pub struct UserInfo {
    sub: String,
    preferred_username: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    updated_at: Option<i64>,
    email: Option<String>,
    email_verified: Option<bool>,
}
