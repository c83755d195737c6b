//! `/accounts/api/organizations/{orgId}/identityProviders[/{providerId}]`:
//! an organization's identity providers, in Anypoint's shape (`provider_id`,
//! `type.name`, `oidc_provider.client.credentials`). The client secret is
//! write-only: accepted on create and update, never returned.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyhouse_core::federation::{
    start_path, IdentityProvider, ProviderId, ProviderInput, SamlInput,
};
use keyhouse_core::ids::OrgId;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{ApiPath, Authenticated, JsonBody};
use crate::AppState;

/// `type` of a provider (Anypoint: `{"name": "openid" | "saml", "description"}`).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = ProviderTypeInput)]
pub struct TypeBody {
    name: Option<String>,
}

/// `oidc_provider.client.credentials`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = ProviderCredentialsInput)]
pub struct CredentialsBody {
    id: Option<String>,
    secret: Option<String>,
}

/// `oidc_provider.client`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = ProviderClientInput)]
pub struct ClientBody {
    #[schema(default = json!(null))]
    credentials: Option<CredentialsBody>,
    /// Anypoint's dynamic client registration (`urls.register`): not supported.
    urls: Option<Value>,
}

/// `oidc_provider.claims_mapping`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = ClaimsMappingInput)]
pub struct ClaimsBody {
    username_attribute: Option<String>,
    firstname_attribute: Option<String>,
    lastname_attribute: Option<String>,
    email_attribute: Option<String>,
}

/// `oidc_provider`. `urls` (authorize, token, userinfo) is accepted and
/// ignored: Keyhouse reads the endpoints from the issuer's discovery document.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = OidcProviderInput)]
pub struct OidcBody {
    issuer: Option<String>,
    #[schema(default = json!(null))]
    client: Option<ClientBody>,
    /// A space-separated string or an array of scopes.
    scopes: Option<Value>,
    #[schema(default = json!(null))]
    claims_mapping: Option<ClaimsBody>,
}

/// `saml.claims_mapping`: attribute names (username empty or absent: `NameID`).
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = SamlClaimsMappingInput)]
pub struct SamlClaimsBody {
    username_attribute: Option<String>,
    firstname_attribute: Option<String>,
    lastname_attribute: Option<String>,
    email_attribute: Option<String>,
    group_attribute: Option<String>,
}

/// `saml`: the identity provider's entity id (`issuer`), its signing
/// certificates (`public_key`, PEM), the audience it uses when not
/// Keyhouse's entity id, its SSO and logout URLs, and the attribute mapping.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = SamlProviderInput)]
pub struct SamlBody {
    issuer: Option<String>,
    /// One certificate (a string) or several (an array).
    public_key: Option<Value>,
    audience: Option<String>,
    sign_on_url: Option<String>,
    sign_out_url: Option<String>,
    #[schema(default = json!(null))]
    claims_mapping: Option<SamlClaimsBody>,
    /// Group → role rules: `[{"external_group_name", "role": "admin"|"member"}]`.
    group_mappings: Option<Vec<GroupMappingBody>>,
    /// SHA-1 signatures are refused; `true` is an error.
    legacy_sha1_mode: Option<bool>,
    /// Encrypted assertions are not supported; `true` is an error.
    require_encrypted_saml_assertions: Option<bool>,
}

/// One `saml.group_mappings` rule (serializable only for the schema's default).
#[derive(Deserialize, serde::Serialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = SamlGroupMappingInput)]
pub struct GroupMappingBody {
    external_group_name: String,
    role: String,
}

/// A field that takes one string or an array of strings (`field` names it
/// in the error): scopes, certificates.
fn string_list(value: Option<Value>, field: &str) -> Result<Option<Vec<String>>, ApiError> {
    let refused =
        || ApiError::bad_request(format!("{field} must be a string or an array of strings"));
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s])),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(refused()),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(refused()),
    }
}

impl SamlBody {
    /// The core's SAML input, and the claim names (username, first, last, email).
    fn into_input(self) -> Result<(SamlInput, [Option<String>; 4]), ApiError> {
        if self.legacy_sha1_mode == Some(true) {
            return Err(ApiError::bad_request(
                "legacy_sha1_mode is not supported: SAML signatures must use SHA-256 or stronger",
            ));
        }
        if self.require_encrypted_saml_assertions == Some(true) {
            return Err(ApiError::bad_request(
                "require_encrypted_saml_assertions is not supported: assertions are signed, not encrypted",
            ));
        }
        let claims = self.claims_mapping.unwrap_or_default();
        let input = SamlInput {
            issuer: self.issuer,
            sso_url: self.sign_on_url,
            slo_url: self.sign_out_url,
            certificates: string_list(self.public_key, "saml.public_key")?,
            audience: self.audience,
            group_attribute: claims.group_attribute,
            group_roles: self.group_mappings.map(|rules| {
                rules
                    .into_iter()
                    .map(|r| (r.external_group_name, r.role))
                    .collect()
            }),
        };
        let names = [
            claims.username_attribute,
            claims.firstname_attribute,
            claims.lastname_attribute,
            claims.email_attribute,
        ];
        Ok((input, names))
    }
}

/// Create / update body. Fields left out keep their value on update.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(default)]
#[schema(as = IdentityProviderInput)]
pub struct ProviderBody {
    name: Option<String>,
    #[serde(rename = "type")]
    #[schema(default = json!(null))]
    kind: Option<TypeBody>,
    #[schema(default = json!(null))]
    oidc_provider: Option<OidcBody>,
    #[schema(default = json!(null))]
    saml: Option<SamlBody>,
    allow_untrusted_certificates: Option<bool>,
}

impl ProviderBody {
    fn into_input(self) -> Result<ProviderInput, ApiError> {
        if self.allow_untrusted_certificates == Some(true) {
            return Err(ApiError::bad_request(
                "allow_untrusted_certificates is not supported: upstream providers must present a trusted certificate",
            ));
        }
        let oidc_provider_given = self.oidc_provider.is_some();
        let oidc = self.oidc_provider.unwrap_or_default();
        let client = oidc.client.unwrap_or_default();
        if client.urls.is_some() && client.credentials.is_none() {
            return Err(ApiError::bad_request(
                "Dynamic client registration is not supported; send oidc_provider.client.credentials",
            ));
        }
        let credentials = client.credentials.unwrap_or_default();
        let kind = self.kind.and_then(|k| k.name);
        if let Some(saml) = self.saml {
            if oidc_provider_given {
                return Err(ApiError::bad_request(
                    "send either oidc_provider or saml, not both",
                ));
            }
            let (saml, [username, first, last, email]) = saml.into_input()?;
            return Ok(ProviderInput {
                name: self.name,
                kind,
                saml: Some(saml),
                username_claim: username,
                first_name_claim: first,
                last_name_claim: last,
                email_claim: email,
                ..ProviderInput::default()
            });
        }
        let claims = oidc.claims_mapping.unwrap_or_default();
        Ok(ProviderInput {
            name: self.name,
            kind,
            saml: None,
            issuer: oidc.issuer,
            client_id: credentials.id,
            client_secret: credentials.secret,
            scopes: string_list(oidc.scopes, "oidc_provider.scopes")?,
            username_claim: claims.username_attribute,
            first_name_claim: claims.firstname_attribute,
            last_name_claim: claims.lastname_attribute,
            email_claim: claims.email_attribute,
        })
    }
}

/// `{provider_id, org_id, name, type}`: one element of the list.
fn summary(provider: &IdentityProvider) -> Value {
    json!({
        "provider_id": provider.id.to_string(),
        "org_id": provider.org_id.to_string(),
        "name": provider.name,
        "type": {"name": provider.protocol.wire_name(), "description": provider.protocol.description()},
    })
}

/// The whole provider, without its secret. OpenID Connect:
/// `oidc_provider.urls.redirect` is the callback URL to register at the
/// upstream. SAML: `service_provider` holds what to give the identity
/// provider (entity id, ACS URL, metadata). `service_provider.urls.sign_on`
/// starts a sign-in through this provider.
fn detail(state: &AppState, provider: &IdentityProvider) -> Value {
    let issuer = &state.keyhouse.settings().issuer;
    let sign_on = format!("{issuer}{}", start_path(provider));
    let mut value = summary(provider);
    let Value::Object(map) = &mut value else {
        return value;
    };
    let claims = provider.claims();
    let mapping = json!({
        "username_attribute": claims.username,
        "firstname_attribute": claims.first_name,
        "lastname_attribute": claims.last_name,
        "email_attribute": claims.email,
    });
    if let Some(settings) = provider.oidc() {
        map.insert(
            "oidc_provider".into(),
            json!({
                "issuer": settings.issuer,
                "client": {"credentials": {"id": settings.client_id}},
                "scopes": settings.scopes.join(" "),
                "claims_mapping": mapping,
                "urls": {"redirect": state.keyhouse.federation_callback_url()},
            }),
        );
        map.insert("allow_untrusted_certificates".into(), json!(false));
        map.insert(
            "service_provider".into(),
            json!({"urls": {"sign_on": sign_on}}),
        );
    }
    if let Some(settings) = provider.saml() {
        let sp = state.keyhouse.saml_service_provider();
        let mut mapping = mapping;
        mapping["group_attribute"] = json!(settings.group_attribute);
        map.insert(
            "saml".into(),
            json!({
                "issuer": settings.issuer,
                "public_key": settings.certificates,
                "audience": settings.audience.clone().unwrap_or_else(|| sp.entity_id.clone()),
                "sign_on_url": settings.sso_url,
                "sign_out_url": settings.slo_url,
                "claims_mapping": mapping,
                "group_mappings": settings.group_roles.iter().map(|r| json!({
                    "external_group_name": r.group,
                    "role": r.role,
                })).collect::<Vec<_>>(),
                "legacy_sha1_mode": false,
                "require_encrypted_saml_assertions": false,
            }),
        );
        let domain_acs = format!(
            "{issuer}/accounts/login/{{orgDomain}}/providers/{}/receive-id",
            provider.id
        );
        map.insert(
            "service_provider".into(),
            json!({
                "name": sp.entity_id,
                "urls": {
                    "sign_on": settings.sso_url.as_ref().map(|_| sign_on),
                    "acs": sp.acs_url,
                    "provider_acs": domain_acs,
                    "metadata": format!("{issuer}{}", keyhouse_core::service::SAML_METADATA_PATH),
                    "sign_out": sp.slo_url,
                },
            }),
        );
    }
    map.insert("created_at".into(), json!(provider.created_at.to_iso()));
    map.insert("updated_at".into(), json!(provider.updated_at.to_iso()));
    value
}

fn path_ids(path: &HashMap<String, String>) -> Result<(OrgId, Option<ProviderId>), ApiError> {
    let org = path
        .get("org_id")
        .ok_or_else(|| ApiError::bad_request("organization id missing from the path"))?;
    let provider = path
        .get("provider_id")
        .map(|p| ProviderId::parse(p))
        .transpose()
        // A malformed id names no provider: the same 404 as an unknown one.
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, "This resource does not exist"))?;
    Ok((OrgId::parse(org)?, provider))
}

fn provider_path(path: &HashMap<String, String>) -> Result<(OrgId, ProviderId), ApiError> {
    match path_ids(path)? {
        (org, Some(provider)) => Ok((org, provider)),
        (_, None) => Err(ApiError::bad_request("provider id missing from the path")),
    }
}

/// `GET …/identityProviders` → `{"data": [summary], "total": n}`.
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/identityProviders",
    tag = "identity-providers",
    operation_id = "listIdentityProviders",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    responses(
        (status = 200, description = "The providers", body = crate::openapi::schemas::IdentityProviderList),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn list(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): ApiPath<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (org, _) = path_ids(&path)?;
    let providers = state.keyhouse.identity_providers(&principal, org).await?;
    let data: Vec<Value> = providers.iter().map(summary).collect();
    Ok(Json(json!({"total": data.len(), "data": data})))
}

/// `POST …/identityProviders` → 201 with the provider (without its secret).
#[utoipa::path(
    post,
    path = "/accounts/api/organizations/{org_id}/identityProviders",
    tag = "identity-providers",
    operation_id = "createIdentityProvider",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id")),
    request_body(content = ProviderBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Created (the client secret is never returned)", body = crate::openapi::schemas::IdentityProvider),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
        (status = 409, description = "Conflicts with an existing resource", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn create(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): ApiPath<HashMap<String, String>>,
    JsonBody(body): JsonBody<ProviderBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let (org, _) = path_ids(&path)?;
    let created = state
        .keyhouse
        .create_identity_provider(&principal, org, body.into_input()?)
        .await?;
    Ok((StatusCode::CREATED, Json(detail(&state, &created))))
}

/// `GET …/identityProviders/{providerId}`.
#[utoipa::path(
    get,
    path = "/accounts/api/organizations/{org_id}/identityProviders/{provider_id}",
    tag = "identity-providers",
    operation_id = "getIdentityProvider",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("provider_id" = String, Path, format = Uuid, description = "Identity provider id")),
    responses(
        (status = 200, description = "The provider", body = crate::openapi::schemas::IdentityProvider),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn get(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): ApiPath<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let (org, id) = provider_path(&path)?;
    let found = state
        .keyhouse
        .identity_provider(&principal, org, id)
        .await?;
    Ok(Json(detail(&state, &found)))
}

/// `PATCH …/identityProviders/{providerId}` → 200 with the provider.
#[utoipa::path(
    patch,
    path = "/accounts/api/organizations/{org_id}/identityProviders/{provider_id}",
    tag = "identity-providers",
    operation_id = "updateIdentityProvider",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("provider_id" = String, Path, format = Uuid, description = "Identity provider id")),
    request_body(content = ProviderBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Updated", body = crate::openapi::schemas::IdentityProvider),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 415, description = "The body is not `application/json`", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
        (status = 409, description = "Conflicts with an existing resource", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn patch(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): ApiPath<HashMap<String, String>>,
    JsonBody(body): JsonBody<ProviderBody>,
) -> Result<Json<Value>, ApiError> {
    let (org, id) = provider_path(&path)?;
    let updated = state
        .keyhouse
        .update_identity_provider(&principal, org, id, body.into_input()?)
        .await?;
    Ok(Json(detail(&state, &updated)))
}

/// `DELETE …/identityProviders/{providerId}` → 204.
#[utoipa::path(
    delete,
    path = "/accounts/api/organizations/{org_id}/identityProviders/{provider_id}",
    tag = "identity-providers",
    operation_id = "deleteIdentityProvider",
    params(("org_id" = String, Path, format = Uuid, description = "Organization (business group) id"), ("provider_id" = String, Path, format = Uuid, description = "Identity provider id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Invalid input", body = crate::openapi::schemas::Error),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
        (status = 403, description = "No permission in this organization", body = crate::openapi::schemas::Error),
        (status = 404, description = "No such resource (or not visible to the caller)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    Authenticated(principal): Authenticated,
    ApiPath(path): ApiPath<HashMap<String, String>>,
) -> Result<StatusCode, ApiError> {
    let (org, id) = provider_path(&path)?;
    state
        .keyhouse
        .delete_identity_provider(&principal, org, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
