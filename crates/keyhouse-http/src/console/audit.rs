//! `GET /console/audit`: a business group's audit log with filters (date
//! range, action, object type), and a chart of token issuances and failures
//! over the range. Read through the service call behind `POST
//! /audit/v2/organizations/{orgId}/query`, so only those who may read the
//! log through the API see it here.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use keyhouse_core::audit::AuditEvent;
use keyhouse_core::ids::OrgId;
use keyhouse_core::service::AuditQueryInput;
use keyhouse_core::time_fmt::Timestamp;
use keyhouse_core::CoreError;
use serde::Deserialize;

use super::chart::{build, Kind};
use super::picker::{chosen, org_options};
use super::templates::{render, AuditFilters, AuditPage, EventRow};
use super::{console_page, here, input_problem, nav, refusal, visitor, Visitor};
use crate::extract::ClientIp;
use crate::AppState;

const DAY_MS: i64 = 86_400_000;
/// Days shown when no range is given (today and the 13 before).
const DEFAULT_DAYS: i64 = 14;
/// Events listed under the chart.
const LISTED: u64 = 50;
/// Events read for the chart: pages of the query API's largest size.
const CHART_PAGE: u64 = 1000;
const CHART_PAGES: usize = 20;

/// The filters, as the form sends them.
#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    org: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    object_type: String,
}

fn today_ms() -> i64 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    now - now.rem_euclid(DAY_MS)
}

/// The range `[from 00:00, to 24:00)` of the date fields (YYYY-MM-DD).
fn range(q: &AuditQuery) -> Result<(Timestamp, Timestamp), String> {
    let day = |text: &str, default: i64| -> Result<i64, String> {
        if text.trim().is_empty() {
            return Ok(default);
        }
        Timestamp::parse_iso(text)
            .map(|t| t.0 - t.0.rem_euclid(DAY_MS))
            .ok_or_else(|| format!("'{}' is not a date (YYYY-MM-DD)", text.trim()))
    };
    let today = today_ms();
    let from = day(&q.from, today - (DEFAULT_DAYS - 1) * DAY_MS)?;
    let to = day(&q.to, today)?;
    if from > to {
        return Err("The start date is after the end date".to_owned());
    }
    Ok((Timestamp(from), Timestamp(to + DAY_MS - 1)))
}

fn filtered(values: &str) -> Vec<String> {
    values
        .split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
        .collect()
}

fn row(event: AuditEvent) -> EventRow {
    let actor = match (&event.actor_user_id, &event.actor_client_id) {
        (Some(user), Some(client)) => format!("user {user} via app {client}"),
        (Some(user), None) => format!("user {user}"),
        (None, Some(client)) => format!("app {client}"),
        (None, None) => String::new(),
    };
    EventRow {
        at: event.at.to_iso(),
        action: event.action,
        object_type: event.object_type,
        object_id: event.object_id.unwrap_or_default(),
        actor,
        success: event.success,
    }
}

/// Every event of the range (up to the reading limit) as chart points.
async fn chart_points(
    state: &AppState,
    visitor: &Visitor,
    org: OrgId,
    (from, until): (Timestamp, Timestamp),
) -> Result<(Vec<(Timestamp, Kind)>, bool), CoreError> {
    let mut points = Vec::new();
    let mut cursor = None;
    for _ in 0..CHART_PAGES {
        let input = AuditQueryInput {
            start: Some(from),
            end: Some(until),
            ascending: true,
            limit: Some(CHART_PAGE),
            cursor_mode: true,
            cursor: cursor.take(),
            ..AuditQueryInput::default()
        };
        let page = state
            .keyhouse
            .query_audit(&visitor.principal, org, input)
            .await?;
        points.extend(page.data.iter().filter_map(|e| {
            if !e.success {
                Some((e.at, Kind::Failed))
            } else if e.action == "token.issued" {
                Some((e.at, Kind::Issued(e.detail["count"].as_u64().unwrap_or(1))))
            } else {
                None
            }
        }));
        match page.cursor {
            Some(next) if page.data.len() as u64 == CHART_PAGE => cursor = Some(next),
            _ => return Ok((points, false)),
        }
    }
    Ok((points, true))
}

/// The page.
#[utoipa::path(
    get,
    path = "/console/audit",
    tag = "console",
    operation_id = "consoleAudit",
    params(("org" = Option<String>, Query, description = "Business group (default: the root)"), ("from" = Option<String>, Query, description = "First day, YYYY-MM-DD"), ("to" = Option<String>, Query, description = "Last day, YYYY-MM-DD"), ("action" = Option<String>, Query, description = "Actions, comma-separated"), ("object_type" = Option<String>, Query, description = "Object types, comma-separated")),
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
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    let q = query.map(|Query(q)| q).unwrap_or_default();
    let visitor = match visitor(&state, &headers, source, &here(&uri)).await {
        Ok(v) => v,
        Err(response) => return response,
    };
    let orgs = match org_options(&state, &visitor, &q.org).await {
        Ok(orgs) => orgs,
        Err(err) => return refusal(err),
    };
    let org_id = chosen(&orgs).map(|o| o.id.clone()).unwrap_or_default();
    let org = match OrgId::parse(&org_id) {
        Ok(org) => org,
        Err(err) => return refusal(err),
    };
    let today = Timestamp(today_ms());
    let (span, mut error) = match range(&q) {
        Ok(span) => (span, None),
        Err(problem) => (
            (
                Timestamp(today.0 - (DEFAULT_DAYS - 1) * DAY_MS),
                Timestamp(today.0 + DAY_MS - 1),
            ),
            Some(problem),
        ),
    };
    let input = AuditQueryInput {
        start: Some(span.0),
        end: Some(span.1),
        actions: filtered(&q.action),
        object_types: filtered(&q.object_type),
        limit: Some(LISTED),
        ..AuditQueryInput::default()
    };
    let (events, total) = match state
        .keyhouse
        .query_audit(&visitor.principal, org, input)
        .await
    {
        Ok(found) => (
            found.data.into_iter().map(row).collect(),
            found.total.unwrap_or(0),
        ),
        Err(err) => match input_problem(err) {
            Ok(problem) => {
                error = Some(problem);
                (Vec::new(), 0)
            }
            Err(other) => return refusal(other),
        },
    };
    let (points, truncated) = match chart_points(&state, &visitor, org, span).await {
        Ok(found) => found,
        Err(err) => return refusal(err),
    };
    let filters = AuditFilters {
        from: span.0.to_iso().get(..10).unwrap_or_default().to_owned(),
        to: span.1.to_iso().get(..10).unwrap_or_default().to_owned(),
        action: q.action,
        object_type: q.object_type,
    };
    let body = render(&AuditPage {
        nav: nav(&visitor),
        active: "audit",
        orgs,
        filters,
        events,
        total,
        chart: build(span.0, Timestamp(span.1 .0 + 1), &points, truncated),
        error: error.clone(),
    });
    console_page(error.as_deref(), body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn the_date_fields_make_whole_days() {
        let q = AuditQuery {
            from: "2024-05-01".to_owned(),
            to: "2024-05-03".to_owned(),
            ..AuditQuery::default()
        };
        let (from, until) = range(&q).unwrap();
        assert_eq!(from.to_iso(), "2024-05-01T00:00:00.000Z");
        assert_eq!(until.to_iso(), "2024-05-03T23:59:59.999Z");
        let backwards = AuditQuery {
            from: "2024-05-03".to_owned(),
            to: "2024-05-01".to_owned(),
            ..AuditQuery::default()
        };
        assert!(range(&backwards).is_err());
        let bad = AuditQuery {
            from: "yesterday".to_owned(),
            ..AuditQuery::default()
        };
        assert!(range(&bad).unwrap_err().contains("not a date"));
        let (from, until) = range(&AuditQuery::default()).unwrap();
        assert_eq!((until.0 + 1 - from.0) / DAY_MS, DEFAULT_DAYS);
    }
}
