//! `GET|POST /console/settings`: an organization's settings — the session
//! timeout (Anypoint: 15–180 minutes), the login domain and, on a root
//! organization, whether its users must use MFA. The same service calls as
//! `PUT /accounts/api/organizations/{orgId}` (`set_login_domain`,
//! `update_organization`) and `…/mfa` (`mfa_policy`, `set_mfa_policy`).

use askama::Template;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use axum::Form;
use keyhouse_core::access::organization::{
    parse_session_timeout, SESSION_TIMEOUT_MAX, SESSION_TIMEOUT_MIN,
};
use keyhouse_core::federation::parse_login_domain;
use keyhouse_core::ids::OrgId;
use keyhouse_core::service::OrgUpdate;
use keyhouse_core::CoreError;
use serde::Deserialize;

use super::picker::{chosen, org_options, OrgOption};
use super::templates::{render, Nav};
use super::{console_page, here, input_problem, nav, poster, refusal, visitor, Visitor};
use crate::extract::ClientIp;
use crate::pages::see_other;
use crate::AppState;

/// Form purpose (bound to the organization's id).
const SAVE: &str = "console-settings-save";

/// The page's query: the business group, and whether it was just saved.
#[derive(Deserialize, Default)]
pub struct SettingsQuery {
    #[serde(default)]
    org: String,
    #[serde(default)]
    saved: String,
}

/// The form's fields (an unticked MFA box sends nothing).
#[derive(Deserialize, Default)]
pub struct SettingsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    org: String,
    #[serde(default)]
    session_timeout: String,
    #[serde(default)]
    domain: String,
    #[serde(default)]
    mfa_required: String,
}

/// What the form shows: the organization's values, or what was entered.
pub(crate) struct SettingsValues {
    pub session_timeout: String,
    pub domain: String,
    pub mfa_required: bool,
}

/// The settings page.
#[derive(Template)]
#[template(path = "console/settings.html")]
pub(crate) struct SettingsPage {
    pub nav: Option<Nav>,
    pub active: &'static str,
    pub orgs: Vec<OrgOption>,
    pub org_id: String,
    pub org_name: String,
    pub is_root: bool,
    pub csrf: String,
    pub error: Option<String>,
    pub saved: bool,
    pub values: SettingsValues,
    pub min: u32,
    pub max: u32,
}

/// The organization as stored now: whether it is a root, and its values.
async fn current(
    state: &AppState,
    visitor: &Visitor,
    org: OrgId,
) -> Result<(bool, SettingsValues), CoreError> {
    let details = state.keyhouse.organization(&visitor.principal, org).await?;
    // Administrators only (the API's `GET …/mfa`): a member is refused here.
    let mfa_required = state.keyhouse.mfa_policy(&visitor.principal, org).await?;
    Ok((
        details.org.is_root(),
        SettingsValues {
            session_timeout: details.org.session_timeout_minutes.to_string(),
            domain: details.org.domain.unwrap_or_default(),
            mfa_required,
        },
    ))
}

async fn settings_page(
    state: &AppState,
    visitor: &Visitor,
    selected: &str,
    entered: Option<SettingsValues>,
    (error, saved): (Option<String>, bool),
) -> Response {
    let orgs = match org_options(state, visitor, selected).await {
        Ok(orgs) => orgs,
        Err(err) => return refusal(err),
    };
    let Some(org) = chosen(&orgs) else {
        return refusal(CoreError::NotFound("No organization".to_owned()));
    };
    let (org_id, org_name) = (org.id.clone(), org.name.clone());
    let stored = match OrgId::parse(&org_id) {
        Ok(id) => current(state, visitor, id).await,
        Err(err) => Err(err),
    };
    let (is_root, stored) = match stored {
        Ok(found) => found,
        Err(err) => return refusal(err),
    };
    let body = render(&SettingsPage {
        nav: nav(visitor),
        active: "settings",
        csrf: visitor.token(SAVE, &org_id),
        orgs,
        org_id,
        org_name,
        is_root,
        error: error.clone(),
        saved,
        values: entered.unwrap_or(stored),
        min: SESSION_TIMEOUT_MIN,
        max: SESSION_TIMEOUT_MAX,
    });
    console_page(error.as_deref(), body)
}

/// `GET /console/settings`: the settings of one business group (the root
/// by default).
#[utoipa::path(
    get,
    path = "/console/settings",
    tag = "console",
    operation_id = "consoleSettings",
    params(("org" = Option<String>, Query, description = "Business group (default: the root)"), ("saved" = Option<String>, Query, description = "Set after a save: shows a notice")),
    responses(
        (status = 200, description = "The page", content_type = "text/html", body = String),
        (status = 303, description = "Not signed in: to the console's sign-in page, coming back here after"),
        (status = 403, description = "The user may not see this (HTML page)", content_type = "text/html"),
        (status = 404, description = "No such object (HTML page)", content_type = "text/html"),
    ),
    security(("browser_session" = [])),
)]
pub async fn page(
    State(state): State<AppState>,
    ClientIp(source): ClientIp,
    headers: HeaderMap,
    uri: Uri,
    query: Result<Query<SettingsQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let visitor = match visitor(&state, &headers, source, &here(&uri)).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    settings_page(&state, &visitor, &q.org, None, (None, !q.saved.is_empty())).await
}

/// The entered timeout, checked before anything is written.
fn timeout_minutes(raw: &str) -> Result<u32, CoreError> {
    let minutes = raw.trim().parse::<i64>().map_err(|_| {
        CoreError::Validation(format!(
            "The session timeout must be a whole number of minutes, from {SESSION_TIMEOUT_MIN} to {SESSION_TIMEOUT_MAX}"
        ))
    })?;
    parse_session_timeout(minutes)
}

/// Writes what changed: the login domain first (it may clash with another
/// organization's), then the timeout, then the MFA policy (root only).
async fn apply(
    state: &AppState,
    visitor: &Visitor,
    source: Option<std::net::IpAddr>,
    org: OrgId,
    entered: &SettingsValues,
) -> Result<(), CoreError> {
    let minutes = timeout_minutes(&entered.session_timeout)?;
    let domain = entered.domain.trim();
    if !domain.is_empty() {
        parse_login_domain(domain)?;
    }
    let (is_root, stored) = current(state, visitor, org).await?;
    let principal = &visitor.principal;
    if !domain.eq_ignore_ascii_case(&stored.domain) {
        let domain = (!domain.is_empty()).then_some(domain);
        state
            .keyhouse
            .set_login_domain(principal, org, domain)
            .await?;
    }
    if stored.session_timeout != minutes.to_string() {
        let update = OrgUpdate {
            session_timeout: Some(i64::from(minutes)),
            ..OrgUpdate::default()
        };
        state
            .keyhouse
            .update_organization(principal, org, update)
            .await?;
    }
    if is_root && entered.mfa_required != stored.mfa_required {
        state
            .keyhouse
            .set_mfa_policy(principal, org, entered.mfa_required, source)
            .await?;
    }
    Ok(())
}

/// `POST /console/settings`: saves the form, then shows the page again with
/// a notice; a refused value shows the form again with the reason.
#[utoipa::path(
    post,
    path = "/console/settings",
    tag = "console",
    operation_id = "consoleSaveSettings",
    request_body(content_type = "application/x-www-form-urlencoded", description = "`org`, `session_timeout` (minutes), `domain`, `mfa_required` (`true` when ticked; root organizations only) and the `csrf` token"),
    responses(
        (status = 303, description = "Saved: back to the settings page"),
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
    form: Result<Form<SettingsForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return super::expired_form();
    };
    let visitor = match poster(&state, &headers, source, (SAVE, &form.org), &form.csrf).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let org = match OrgId::parse(&form.org) {
        Ok(org) => org,
        Err(err) => return refusal(err),
    };
    let entered = SettingsValues {
        session_timeout: form.session_timeout.trim().to_owned(),
        domain: form.domain.trim().to_owned(),
        mfa_required: form.mfa_required == "true",
    };
    match apply(&state, &visitor, source, org, &entered).await {
        Ok(()) => {
            let query = serde_urlencoded::to_string([("org", form.org.as_str()), ("saved", "1")])
                .unwrap_or_default();
            see_other(&format!("/console/settings?{query}"))
        }
        Err(err) => match input_problem(err) {
            Ok(problem) => {
                let shown = (Some(problem), false);
                settings_page(&state, &visitor, &form.org, Some(entered), shown).await
            }
            Err(other) => refusal(other),
        },
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::timeout_minutes;

    #[test]
    fn the_timeout_is_a_whole_number_within_anypoints_bounds() {
        assert_eq!(timeout_minutes(" 45 ").ok(), Some(45));
        for bad in ["", "abc", "14", "181", "30.5"] {
            assert!(timeout_minutes(bad).is_err(), "{bad}");
        }
    }
}
