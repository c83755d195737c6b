//! Anypoint wire shapes built from core views. Org, env and user objects are
//! camelCase with Anypoint's exceptions (`idprovider_id`); see the reference.

use keyhouse_core::access::{ConnectedApp, Environment, ScopeGrant, User};
use keyhouse_core::ids::OrgId;
use keyhouse_core::service::{AppSummary, HierarchyNode, MeView, OrgDetails, OrgSummary};
use keyhouse_core::time_fmt::Timestamp;
use serde_json::{json, Map, Value};

pub mod audit;

/// Our users sign in with Keyhouse itself: Anypoint calls that provider `mulesoft`.
const LOCAL_IDP: &str = "mulesoft";

fn ids(list: &[OrgId]) -> Vec<String> {
    list.iter().map(ToString::to_string).collect()
}

/// An environment object (`GET …/environments/{id}`).
pub fn environment(env: &Environment) -> Value {
    json!({
        "id": env.id.to_string(),
        "name": env.name,
        "organizationId": env.org_id.to_string(),
        "isProduction": env.is_production(),
        "type": env.env_type.as_str(),
        "clientId": env.client_id,
        "arcNamespace": Value::Null,
    })
}

/// A flat user object (`GET /accounts/api/users/me` reads these fields).
pub fn user(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "createdAt": user.created_at.to_iso(),
        "updatedAt": user.updated_at.to_iso(),
        "organizationId": user.org_id.to_string(),
        "firstName": user.first_name,
        "lastName": user.last_name,
        "email": user.email,
        "phoneNumber": user.phone_number,
        "username": user.username,
        "idprovider_id": LOCAL_IDP,
        "enabled": user.enabled,
        "deleted": false,
        "lastLogin": user.last_login.map(Timestamp::to_iso),
        "mfaVerificationExcluded": false,
        "mfaVerifiersConfigured": "false",
        "isFederated": false,
        "type": "host",
        "organizationPreferences": {},
        "properties": {"cs_auth": {"activeOrganizationId": user.org_id.to_string(), "teams": true}},
    })
}

/// Keys every organization object shares, full or summary.
fn org_common(summary: &OrgSummary) -> Map<String, Value> {
    let org = &summary.org;
    let value = json!({
        "id": org.id.to_string(),
        "name": org.name,
        "createdAt": org.created_at.to_iso(),
        "updatedAt": org.updated_at.to_iso(),
        "ownerId": org.owner_id.to_string(),
        "clientId": org.client_id,
        "idprovider_id": LOCAL_IDP,
        "isFederated": false,
        "parentOrganizationIds": ids(&summary.parent_ids),
        "subOrganizationIds": ids(&summary.sub_ids),
        "tenantOrganizationIds": [],
        "mfaRequired": if summary.mfa_required { "mandatory" } else { "no" },
        "isAutomaticAdminPromotionExempt": false,
        "orgType": "anypoint",
        "domain": org.domain,
        "isRoot": org.is_root(),
        "isMaster": org.is_root(),
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// An element of `memberOfOrganizations`: the summary plus `parentName`/`parentId`.
pub fn org_summary(summary: &OrgSummary) -> Value {
    let mut map = org_common(summary);
    map.insert("parentName".into(), json!(summary.parent_name));
    map.insert(
        "parentId".into(),
        json!(summary.org.parent_id.map(|p| p.to_string())),
    );
    Value::Object(map)
}

/// A full organization object (`GET /accounts/api/organizations/{id}`).
pub fn org_details(details: &OrgDetails) -> Value {
    let summary = OrgSummary {
        org: details.org.clone(),
        parent_name: None,
        parent_ids: details.parent_ids.clone(),
        sub_ids: details.sub_ids.clone(),
        mfa_required: details.mfa_required,
    };
    let mut map = org_common(&summary);
    let org = &details.org;
    map.insert(
        "parentId".into(),
        json!(org.parent_id.map(|p| p.to_string())),
    );
    map.insert("gdotId".into(), Value::Null);
    map.insert("deletedAt".into(), Value::Null);
    map.insert("sessionTimeout".into(), json!(org.session_timeout_minutes));
    map.insert("properties".into(), org.properties.clone());
    map.insert("entitlements".into(), org.entitlements.clone());
    map.insert(
        "environments".into(),
        Value::Array(details.environments.iter().map(environment).collect()),
    );
    map.insert(
        "owner".into(),
        details.owner.as_ref().map(user).unwrap_or(Value::Null),
    );
    Value::Object(map)
}

/// The user object of `/me`, `/users/me` and `/profile`: flat user plus organizations.
pub fn me_user(me: &MeView) -> Value {
    let mut value = user(&me.user);
    let orgs: Vec<Value> = me.member_of.iter().map(org_summary).collect();
    if let Value::Object(map) = &mut value {
        map.insert(
            "mfaVerifiersConfigured".into(),
            json!(if me.mfa_configured { "true" } else { "false" }),
        );
        map.insert("organization".into(), org_details(&me.organization));
        map.insert("memberOfOrganizations".into(), Value::Array(orgs.clone()));
        map.insert("contributorOfOrganizations".into(), Value::Array(orgs));
    }
    value
}

/// A node of the hierarchy: the summary with nested `subOrganizations`.
pub fn hierarchy(node: &HierarchyNode) -> Value {
    let mut value = org_summary(&node.summary);
    if let Value::Object(map) = &mut value {
        map.insert(
            "subOrganizations".into(),
            Value::Array(node.children.iter().map(hierarchy).collect()),
        );
    }
    value
}

/// A connected app (Anypoint snake_case). The secret appears only in the
/// answers to create and reset: Keyhouse keeps nothing but its hash.
pub fn connected_app(app: &ConnectedApp, secret: Option<&str>) -> Value {
    let mut value = json!({
        "client_id": app.client_id,
        "client_name": app.name,
        "org_id": app.org_id.to_string(),
        "owner_org_id": app.org_id.to_string(),
        "owner_user_id": app.owner_user_id.to_string(),
        "grant_types": app.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "redirect_uris": app.redirect_uris,
        "public_keys": app.public_keys,
        "scopes": app.scopes,
        "audience": app.audience.as_str(),
        "client_uri": app.client_uri,
        "policy_uri": app.policy_uri,
        "enabled": app.enabled,
        "created_at": app.created_at.to_iso(),
        "updated_at": app.updated_at.to_iso(),
        "client_secret_updated_at": app.secret_updated_at.to_iso(),
        "token_endpoint_auth_method": if app.public_client { "none" } else { "client_secret_basic" },
    });
    // A public client has no usable secret: none is shown.
    if let (Some(secret), false, Value::Object(map)) = (secret, app.public_client, &mut value) {
        map.insert("client_secret".into(), Value::String(secret.to_owned()));
    }
    value
}

/// One context-bound scope: `{"scope", "context_params": {"org"?, "envId"?}}`.
pub fn scope_grant(grant: &ScopeGrant) -> Value {
    let mut context = Map::new();
    if let Some(org) = grant.org {
        context.insert("org".into(), Value::String(org.to_string()));
    }
    if let Some(env) = grant.env {
        context.insert("envId".into(), Value::String(env.to_string()));
    }
    json!({"scope": grant.scope, "context_params": context})
}

/// The app behind an app token, as `/me` shows it.
pub fn client(app: &AppSummary) -> Value {
    json!({"client_id": app.client_id, "name": app.name, "org_id": app.org_id.to_string()})
}

/// A JSON answer whose bytes are already rendered (the cached `/me` answers,
/// the OpenAPI document): what `Json` sends, without serializing again.
pub fn json_bytes(body: axum::body::Bytes) -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
