//! `GET /accounts/authorizations`: the signed-in user's authorized apps with a
//! Revoke button each (issue 5 §8), and sign-out.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;

use super::authorize::{failure_page, sign_in_page, SignInView, HOME_PATH};
use super::templates::{self, AppRow};
use super::{
    cookie_value, cross_site, error_page, form_token, page, see_other, tokens_match, Cookies,
};
use crate::extract::ClientIp;
use crate::AppState;

fn cookies(state: &AppState) -> Cookies {
    Cookies::for_issuer(&state.keyhouse.settings().issuer)
}

/// The list page, or the sign-in form when nobody is signed in.
#[utoipa::path(
    get,
    path = "/accounts/authorizations",
    tag = "pages",
    operation_id = "pageAuthorizations",
    responses((status = 200, description = "The apps the user authorized, or the sign-in form", content_type = "text/html", body = String)),
    security((), ("browser_session" = [])),
)]
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let session = cookie_value(&headers, cookies(&state).session_name()).unwrap_or_default();
    let signed_in = match state.keyhouse.browser_user(&session).await {
        Ok(found) => found,
        Err(err) => return failure_page(err),
    };
    let Some((_, user)) = signed_in else {
        return sign_in_page(&state, &headers, StatusCode::OK, SignInView::default());
    };
    let apps = match state.keyhouse.authorizations_of(user.id).await {
        Ok(apps) => apps,
        Err(err) => return failure_page(err),
    };
    let rows: Vec<AppRow> = apps
        .into_iter()
        .map(|a| AppRow {
            csrf: form_token(&session, "revoke", &a.client_id),
            last_used: a
                .last_used_at
                .map_or_else(|| "never".to_owned(), |t| t.to_iso()),
            client_id: a.client_id,
            client_name: a.client_name,
            scopes: a.scopes,
        })
        .collect();
    let signout = form_token(&session, "signout", "");
    page(
        StatusCode::OK,
        templates::authorizations(&user.username, &rows, &signout),
        None,
    )
}

/// The fields of the revoke and sign-out forms.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

fn expired_form() -> Response {
    error_page(
        StatusCode::FORBIDDEN,
        "This form has expired",
        "The form was not sent from this browser session. Reload the page and try again.",
    )
}

/// `POST /accounts/authorizations/{clientId}/revoke`.
#[utoipa::path(
    post,
    path = "/accounts/authorizations/{client_id}/revoke",
    tag = "pages",
    operation_id = "pageRevokeAuthorization",
    params(("client_id" = String, Path)),
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Revoked: back to the list"),
        (status = 403, description = "Expired or cross-site form (HTML error page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn revoke(
    State(state): State<AppState>,
    source: ClientIp,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let session = cookie_value(&headers, cookies(&state).session_name()).unwrap_or_default();
    let presented = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if session.is_empty()
        || cross_site(&headers)
        || !tokens_match(&form_token(&session, "revoke", &client_id), &presented)
    {
        return expired_form();
    }
    let user = match state.keyhouse.browser_user(&session).await {
        Ok(Some((_, user))) => user,
        Ok(None) => return see_other(HOME_PATH),
        Err(err) => return failure_page(err),
    };
    match state
        .keyhouse
        .revoke_authorization(user.id, user.org_id, &client_id, source.0)
        .await
    {
        Ok(()) | Err(keyhouse_core::CoreError::NotFound(_)) => see_other(HOME_PATH),
        Err(err) => failure_page(err),
    }
}

/// `POST /accounts/signout`: ends the browser session and clears its cookie.
#[utoipa::path(
    post,
    path = "/accounts/signout",
    tag = "pages",
    operation_id = "pageSignOut",
    request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed out; the session cookie is cleared"),
        (status = 403, description = "Expired or cross-site form (HTML error page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let jar = cookies(&state);
    let session = cookie_value(&headers, jar.session_name()).unwrap_or_default();
    let presented = form.map(|Form(f)| f.csrf).unwrap_or_default();
    if session.is_empty()
        || cross_site(&headers)
        || !tokens_match(&form_token(&session, "signout", ""), &presented)
    {
        return expired_form();
    }
    if let Err(err) = state.keyhouse.browser_sign_out(&session).await {
        return failure_page(err);
    }
    let mut response = see_other(HOME_PATH);
    if let Some(value) = jar.set(jar.session_name(), "", 0) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}
