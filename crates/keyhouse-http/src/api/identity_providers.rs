//! `/accounts/api/organizations/{orgId}/identityProviders[/{providerId}]`:
//! an organization's identity providers, in Anypoint's shape (`provider_id`,
//! `type.name`, `oidc_provider.client.credentials`). The client secret is
//! write-only: accepted on create and update, never returned.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use keyhouse_core::federation::{start_path, IdentityProvider, ProviderId, ProviderInput};
use keyhouse_core::ids::OrgId;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::error::ApiError;
use crate::extract::{ApiPath, Authenticated, JsonBody};
use crate::AppState;

/// `type` of a provider (Anypoint: `{"name": "openid" | "saml", "description"}`).
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct TypeBody {
    name: Option<String>,
}

/// `oidc_provider.client.credentials`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CredentialsBody {
    id: Option<String>,
    secret: Option<String>,
}

/// `oidc_provider.client`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ClientBody {
    credentials: Option<CredentialsBody>,
    /// Anypoint's dynamic client registration (`urls.register`): not supported.
    urls: Option<Value>,
}

/// `oidc_provider.claims_mapping`.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ClaimsBody {
    username_attribute: Option<String>,
    firstname_attribute: Option<String>,
    lastname_attribute: Option<String>,
    email_attribute: Option<String>,
}

/// `oidc_provider`. `urls` (authorize, token, userinfo) is accepted and
/// ignored: Keyhouse reads the endpoints from the issuer's discovery document.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct OidcBody {
    issuer: Option<String>,
    client: Option<ClientBody>,
    /// A space-separated string or an array of scopes.
    scopes: Option<Value>,
    claims_mapping: Option<ClaimsBody>,
}

/// Create / update body. Fields left out keep their value on update.
#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ProviderBody {
    name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<TypeBody>,
    oidc_provider: Option<OidcBody>,
    allow_untrusted_certificates: Option<bool>,
}

fn scopes(value: Option<Value>) -> Result<Option<Vec<String>>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(vec![s])),
        Some(Value::Array(items)) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(ApiError::bad_request(
                    "oidc_provider.scopes must be a string or an array of strings",
                )),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(ApiError::bad_request(
            "oidc_provider.scopes must be a string or an array of strings",
        )),
    }
}

impl ProviderBody {
    fn into_input(self) -> Result<ProviderInput, ApiError> {
        if self.allow_untrusted_certificates == Some(true) {
            return Err(ApiError::bad_request(
                "allow_untrusted_certificates is not supported: upstream providers must present a trusted certificate",
            ));
        }
        let oidc = self.oidc_provider.unwrap_or_default();
        let client = oidc.client.unwrap_or_default();
        if client.urls.is_some() && client.credentials.is_none() {
            return Err(ApiError::bad_request(
                "Dynamic client registration is not supported; send oidc_provider.client.credentials",
            ));
        }
        let credentials = client.credentials.unwrap_or_default();
        let claims = oidc.claims_mapping.unwrap_or_default();
        Ok(ProviderInput {
            name: self.name,
            kind: self.kind.and_then(|k| k.name),
            issuer: oidc.issuer,
            client_id: credentials.id,
            client_secret: credentials.secret,
            scopes: scopes(oidc.scopes)?,
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
        "type": {"name": provider.protocol.wire_name(), "description": "OpenID Connect"},
    })
}

/// The whole provider, without its secret. `oidc_provider.urls.redirect` is
/// the callback URL to register at the upstream; `service_provider.urls.sign_on`
/// starts a sign-in through this provider.
fn detail(state: &AppState, provider: &IdentityProvider) -> Value {
    let settings = provider.oidc();
    let issuer = &state.keyhouse.settings().issuer;
    let mut value = summary(provider);
    if let Value::Object(map) = &mut value {
        map.insert(
            "oidc_provider".into(),
            json!({
                "issuer": settings.issuer,
                "client": {"credentials": {"id": settings.client_id}},
                "scopes": settings.scopes.join(" "),
                "claims_mapping": {
                    "username_attribute": settings.claims.username,
                    "firstname_attribute": settings.claims.first_name,
                    "lastname_attribute": settings.claims.last_name,
                    "email_attribute": settings.claims.email,
                },
                "urls": {"redirect": state.keyhouse.federation_callback_url()},
            }),
        );
        map.insert("allow_untrusted_certificates".into(), json!(false));
        map.insert(
            "service_provider".into(),
            json!({"urls": {"sign_on": format!("{issuer}{}", start_path(provider.id))}}),
        );
        map.insert("created_at".into(), json!(provider.created_at.to_iso()));
        map.insert("updated_at".into(), json!(provider.updated_at.to_iso()));
    }
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
