//! An app's lifecycle in the console: secret reset (shown once on the app's
//! page) and deletion after a confirmation step, through the service calls
//! behind `PATCH …?resetSecret=true` and `DELETE …/connectedApplications/{id}`.

use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Form;
use keyhouse_core::service::AppInput;
use serde::Deserialize;

use super::apps::list_href;
use super::templates::{render, DeletePage};
use super::{console_page, flash, here, nav, poster, refusal, secure, visitor};
use crate::extract::ClientIp;
use crate::pages::see_other;
use crate::AppState;

/// Form purposes (bound to the app's client id).
pub(crate) const RESET: &str = "console-app-reset";
const DELETE: &str = "console-app-delete";

/// The token field of a one-button form.
#[derive(Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/apps/{client_id}/reset-secret`: a new secret (tokens issued
/// with the old one stop working), shown once on the app's page.
#[utoipa::path(
    post,
    path = "/console/apps/{client_id}/reset-secret",
    tag = "console",
    operation_id = "consoleResetSecret",
    params(("client_id" = String, Path, description = "Connected app client id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "The form's fields and its `csrf` token (bound to the session and the form)"),
    responses(
        (status = 303, description = "Done: on to the page that shows the result"),
        (status = 400, description = "Refused input: the form again with the reason", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn reset_secret(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let presented = form.map(|Form(f)| f.csrf).unwrap_or_default();
    let visitor = match poster(&state, &headers, source, (RESET, &client_id), &presented).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    match state
        .keyhouse
        .update_app(
            &visitor.principal,
            None,
            &client_id,
            AppInput::default(),
            true,
        )
        .await
    {
        Ok((app, Some(secret))) => {
            let mut response = see_other(&format!("/console/apps/{}", app.client_id));
            flash::attach(
                &mut response,
                secure(&state),
                &visitor.session,
                &app.client_id,
                &secret,
            );
            response
        }
        Ok((app, None)) => see_other(&format!("/console/apps/{}", app.client_id)),
        Err(err) => refusal(err),
    }
}

/// `GET /console/apps/{client_id}/delete`: the confirmation step.
#[utoipa::path(
    get,
    path = "/console/apps/{client_id}/delete",
    tag = "console",
    operation_id = "consoleConfirmDelete",
    params(("client_id" = String, Path, description = "Connected app client id")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to the console's sign-in page, coming back here after"),
        (status = 403, description = "The user may not see this (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn confirm_delete(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    Path(client_id): Path<String>,
) -> Response {
    let visitor = match visitor(&state, &headers, source, &here(&uri)).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    match state
        .keyhouse
        .app(&visitor.principal, None, &client_id)
        .await
    {
        Ok(app) => console_page(
            None,
            render(&DeletePage {
                nav: nav(&visitor),
                active: "apps",
                csrf: visitor.token(DELETE, &app.client_id),
                client_id: app.client_id,
                name: app.name,
            }),
        ),
        Err(err) => refusal(err),
    }
}

/// `POST /console/apps/{client_id}/delete`: deletes the app (its tokens die
/// with it) and goes back to the list.
#[utoipa::path(
    post,
    path = "/console/apps/{client_id}/delete",
    tag = "console",
    operation_id = "consoleDeleteApp",
    params(("client_id" = String, Path, description = "Connected app client id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "The form's fields and its `csrf` token (bound to the session and the form)"),
    responses(
        (status = 303, description = "Done: on to the page that shows the result"),
        (status = 400, description = "Refused input: the form again with the reason", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn delete(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    let presented = form.map(|Form(f)| f.csrf).unwrap_or_default();
    let visitor = match poster(&state, &headers, source, (DELETE, &client_id), &presented).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let org = match state
        .keyhouse
        .app(&visitor.principal, None, &client_id)
        .await
    {
        Ok(app) => app.org_id.to_string(),
        Err(err) => return refusal(err),
    };
    match state
        .keyhouse
        .delete_app(&visitor.principal, None, &client_id)
        .await
    {
        Ok(()) => see_other(&format!("{}&deleted=1", list_href(&org, "", 0))),
        Err(err) => refusal(err),
    }
}
