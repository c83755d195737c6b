//! `GET|POST /console/apps/{client_id}/edit`: changing an app after it was
//! created (name, grant types, redirect URIs, audience, client URI, enabled),
//! through the service call behind `PATCH …/connectedApplications/{id}`
//! (`update_app`), so a disabled app is refused tokens at once.

use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Form;
use keyhouse_core::access::ConnectedApp;
use keyhouse_core::service::AppInput;

use super::templates::{render, Nav};
use super::{console_page, here, input_problem, nav, poster, refusal, visitor, Visitor};
use crate::extract::ClientIp;
use crate::pages::see_other;
use crate::AppState;

/// Form purpose (bound to the app's client id).
const EDIT: &str = "console-app-edit";

/// The grant types the form offers, with their labels.
const GRANTS: [(&str, &str); 5] = [
    (
        "client_credentials",
        "Client credentials (on its own behalf)",
    ),
    ("authorization_code", "Authorization code"),
    ("refresh_token", "Refresh token"),
    ("password", "Password"),
    ("urn:ietf:params:oauth:grant-type:jwt-bearer", "JWT bearer"),
];

/// One grant-type checkbox.
pub(crate) struct GrantBox {
    pub value: &'static str,
    pub label: &'static str,
    pub id: String,
    pub checked: bool,
}

/// What the edit form shows: the app's values, or what was entered before a
/// refused attempt.
pub(crate) struct EditValues {
    pub name: String,
    pub grants: Vec<String>,
    pub redirect_uris: String,
    pub audience: String,
    pub client_uri: String,
    pub enabled: bool,
}

impl EditValues {
    fn of(app: &ConnectedApp) -> Self {
        Self {
            name: app.name.clone(),
            grants: app
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            redirect_uris: app.redirect_uris.join("\n"),
            audience: app.audience.as_str().to_owned(),
            client_uri: app.client_uri.clone().unwrap_or_default(),
            enabled: app.enabled,
        }
    }

    fn from_pairs(pairs: &[(String, String)]) -> Self {
        Self {
            name: field(pairs, "name").to_owned(),
            grants: pairs
                .iter()
                .filter(|(n, _)| n == "grant_types")
                .map(|(_, v)| v.clone())
                .collect(),
            redirect_uris: field(pairs, "redirect_uris").to_owned(),
            audience: field(pairs, "audience").to_owned(),
            client_uri: field(pairs, "client_uri").to_owned(),
            enabled: field(pairs, "enabled") == "true",
        }
    }

    /// The `PATCH` input: every field of the form is sent (an empty client
    /// URI clears it; an unticked "enabled" box disables the app), the
    /// audience only when chosen.
    fn input(&self) -> AppInput {
        let client_uri = self.client_uri.trim();
        AppInput {
            client_name: Some(self.name.trim().to_owned()),
            grant_types: Some(self.grants.clone()),
            redirect_uris: Some(lines(&self.redirect_uris)),
            audience: (!self.audience.is_empty()).then(|| self.audience.clone()),
            client_uri: Some((!client_uri.is_empty()).then(|| client_uri.to_owned())),
            enabled: Some(self.enabled),
            ..AppInput::default()
        }
    }

    /// The checkboxes, ticked as the values say.
    pub fn boxes(&self) -> Vec<GrantBox> {
        GRANTS
            .iter()
            .map(|(value, label)| GrantBox {
                value,
                label,
                id: format!("edit-grant-{}", value.rsplit(':').next().unwrap_or(value)),
                checked: self.grants.iter().any(|g| g == value),
            })
            .collect()
    }
}

/// The edit page.
#[derive(Template)]
#[template(path = "console/app_edit.html")]
pub(crate) struct AppEditPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub client_id: String,
    pub csrf: String,
    pub error: Option<String>,
    pub form: EditValues,
}

/// The value of a form field (the first, when repeated; "" when absent).
pub(crate) fn field<'a>(pairs: &'a [(String, String)], name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map_or("", |(_, v)| v.as_str())
}

/// The non-empty, trimmed lines of a textarea.
pub(crate) fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn edit_page(
    visitor: &Visitor,
    client_id: &str,
    form: EditValues,
    error: Option<String>,
) -> Response {
    let body = render(&AppEditPage {
        nav: nav(visitor),
        active: "apps",
        client_id: client_id.to_owned(),
        csrf: visitor.token(EDIT, client_id),
        error: error.clone(),
        form,
    });
    console_page(error.as_deref(), body)
}

/// `GET /console/apps/{client_id}/edit`: the form, filled with the app's values.
#[utoipa::path(
    get,
    path = "/console/apps/{client_id}/edit",
    tag = "console",
    operation_id = "consoleEditAppPage",
    params(("client_id" = String, Path, description = "Connected app client id")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to the console's sign-in page, coming back here after"),
        (status = 403, description = "The user may not see this (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn form(
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
        Ok(app) => edit_page(&visitor, &app.client_id, EditValues::of(&app), None),
        Err(err) => refusal(err),
    }
}

/// `POST /console/apps/{client_id}/edit`: saves the form and goes back to
/// the app's page; a refused change shows the form again with the reason.
#[utoipa::path(
    post,
    path = "/console/apps/{client_id}/edit",
    tag = "console",
    operation_id = "consoleEditApp",
    params(("client_id" = String, Path, description = "Connected app client id")),
    request_body(content_type = "application/x-www-form-urlencoded", description = "`name`, `grant_types` (repeated), `redirect_uris` (one per line), `audience`, `client_uri`, `enabled` (`true` when ticked) and the `csrf` token"),
    responses(
        (status = 303, description = "Saved: on to the app's page"),
        (status = 400, description = "Refused input: the form again with the reason", content_type = "text/html", body = String),
        (status = 403, description = "Expired or cross-site form, or no permission (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn save(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    Path(client_id): Path<String>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let pairs = form.map(|Form(p)| p).unwrap_or_default();
    let presented = field(&pairs, "csrf");
    let visitor = match poster(&state, &headers, source, (EDIT, &client_id), presented).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let values = EditValues::from_pairs(&pairs);
    match state
        .keyhouse
        .update_app(&visitor.principal, None, &client_id, values.input(), false)
        .await
    {
        Ok((app, _)) => see_other(&format!("/console/apps/{}", app.client_id)),
        Err(err) => match input_problem(err) {
            Ok(problem) => edit_page(&visitor, &client_id, values, Some(problem)),
            Err(other) => refusal(other),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_sent_and_an_unticked_box_disables() {
        let pairs: Vec<(String, String)> = [
            ("name", " Portal "),
            ("grant_types", "authorization_code"),
            ("grant_types", "refresh_token"),
            (
                "redirect_uris",
                "https://a.example/cb\r\n\r\n https://b.example/cb ",
            ),
            ("audience", "everyone"),
            ("client_uri", " "),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        let values = EditValues::from_pairs(&pairs);
        assert!(!values.enabled);
        let input = values.input();
        assert_eq!(input.client_name.as_deref(), Some("Portal"));
        assert_eq!(input.enabled, Some(false));
        assert_eq!(input.client_uri, Some(None));
        assert_eq!(input.redirect_uris.map(|u| u.len()), Some(2));
        assert_eq!(
            input.grant_types,
            Some(vec![
                "authorization_code".to_owned(),
                "refresh_token".to_owned()
            ])
        );
        let boxes = values.boxes();
        assert!(boxes
            .iter()
            .any(|b| b.id == "edit-grant-jwt-bearer" && !b.checked));
        assert!(boxes
            .iter()
            .any(|b| b.id == "edit-grant-refresh_token" && b.checked));
    }
}
