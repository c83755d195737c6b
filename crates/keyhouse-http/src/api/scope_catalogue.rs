//! `GET /accounts/api/cs/scopes`: every scope Keyhouse knows, with its display
//! name and the context it is granted in. (Anypoint does not publish this
//! shape; ours is `{"data": [{"scope", "name", "context"}], "total"}`.)

use axum::Json;
use keyhouse_core::oauth::scope::CATALOGUE;
use serde_json::{json, Value};

use crate::extract::Authenticated;

/// The catalogue; any authenticated caller may read it.
#[utoipa::path(
    get,
    path = "/accounts/api/cs/scopes",
    tag = "scopes",
    operation_id = "listScopes",
    responses(
        (status = 200, description = "Every scope Keyhouse knows", body = crate::openapi::schemas::Catalogue),
        (status = 401, description = "Missing, invalid or expired token, or a missing scope (`WWW-Authenticate` says which)", body = crate::openapi::schemas::Error),
    ),
    security(("bearer" = []), ("client_shortcut" = [])),
)]
pub async fn list(Authenticated(_): Authenticated) -> Json<Value> {
    let data: Vec<Value> = CATALOGUE
        .iter()
        .map(|s| json!({"scope": s.name, "name": s.display_name, "context": s.context.as_str()}))
        .collect();
    Json(json!({"data": data, "total": CATALOGUE.len()}))
}
