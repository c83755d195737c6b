//! The audit log as an organization reads it (Anypoint reference §8, Audit Log
//! Query API) and as retention trims it. Reading needs Organization
//! Administrator rights or `read:audit_logs` in the organization itself: a
//! query covers exactly the organization in the path, not its business
//! groups (Anypoint: results are business-group scoped).

use super::{Keyhouse, Principal};
use crate::access::{Action, Actor};
use crate::audit::AuditEvent;
use crate::audit_query::{
    check_values, AuditCursor, AuditFilter, AuditQuery, DEFAULT_LIMIT, MAX_LIMIT, PLATFORM,
};
use crate::error::{CoreError, CoreResult};
use crate::ids::{OrgId, UserId};
use crate::time_fmt::Timestamp;

/// Default retention of audit events (Anypoint: one year).
pub const AUDIT_RETENTION_DAYS: i64 = 365;
/// Rows one retention statement deletes at most.
const PURGE_BATCH: u64 = 10_000;
/// Statements one retention run issues at most; the rest waits for the next run.
const PURGE_BATCHES_PER_RUN: u32 = 100;
/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// An audit query as the client sent it (body and query string), before
/// validation. Empty lists filter nothing.
#[derive(Debug, Clone, Default)]
pub struct AuditQueryInput {
    pub start: Option<Timestamp>,
    pub end: Option<Timestamp>,
    pub platforms: Vec<String>,
    pub object_types: Vec<String>,
    pub actions: Vec<String>,
    pub object_ids: Vec<String>,
    pub user_ids: Vec<String>,
    pub environment_ids: Vec<String>,
    /// `organizationId` in the body: must name the path's organization when sent.
    pub organization_id: Option<String>,
    pub ascending: bool,
    pub offset: Option<u64>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
    /// `cursorPagination=true` (also implied by a `cursor`).
    pub cursor_mode: bool,
    /// `doIncludeTotal=true`: the total in cursor mode (offset mode always has it).
    pub include_total: bool,
}

/// One page of results. `cursor` is set in cursor mode whenever `data` is not
/// empty (Anypoint: the last page is `{"data": []}` without a cursor).
#[derive(Debug, Clone)]
pub struct AuditResults {
    pub data: Vec<AuditEvent>,
    pub total: Option<u64>,
    pub cursor: Option<String>,
}

/// A validated query and how to answer it.
struct AuditPlan {
    query: AuditQuery,
    cursor_mode: bool,
    include_total: bool,
    /// A platform or environment filter no Keyhouse event can match.
    matches_nothing: bool,
}

impl AuditQueryInput {
    /// Validates the input for `org` (400-class errors name the field).
    fn plan(self, org: OrgId) -> CoreResult<AuditPlan> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if limit == 0 || limit > MAX_LIMIT {
            return Err(CoreError::Validation(format!(
                "limit must be between 1 and {MAX_LIMIT}"
            )));
        }
        if let (Some(start), Some(end)) = (self.start, self.end) {
            if start > end {
                return Err(CoreError::Validation(
                    "startDate must not be after endDate".to_owned(),
                ));
            }
        }
        if let Some(named) = &self.organization_id {
            if OrgId::parse(named)? != org {
                return Err(CoreError::Validation(
                    "organizationId must be the organization in the path".to_owned(),
                ));
            }
        }
        for (field, values) in [
            ("platforms", &self.platforms),
            ("objectTypes", &self.object_types),
            ("actions", &self.actions),
            ("objectIds", &self.object_ids),
            ("userIds", &self.user_ids),
            ("environmentIds", &self.environment_ids),
        ] {
            check_values(field, values)?;
        }
        let user_ids = self
            .user_ids
            .iter()
            .map(|u| UserId::parse(u))
            .collect::<CoreResult<Vec<_>>>()?;
        let cursor = self
            .cursor
            .as_deref()
            .map(AuditCursor::decode)
            .transpose()?;
        if cursor.is_some_and(|c| c.ascending != self.ascending) {
            return Err(CoreError::Validation(
                "cursor was issued for the other sort order (ascending)".to_owned(),
            ));
        }
        let other_platform = !self.platforms.is_empty()
            && !self
                .platforms
                .iter()
                .any(|p| p.eq_ignore_ascii_case(PLATFORM));
        Ok(AuditPlan {
            matches_nothing: other_platform || !self.environment_ids.is_empty(),
            cursor_mode: self.cursor_mode || cursor.is_some(),
            include_total: self.include_total,
            query: AuditQuery {
                filter: AuditFilter {
                    org,
                    from: self.start,
                    until: self.end,
                    object_types: self.object_types,
                    actions: self.actions,
                    object_ids: self.object_ids,
                    user_ids,
                },
                ascending: self.ascending,
                after: cursor.map(|c| c.position),
                // With a cursor, the cursor wins over offset (Anypoint §8).
                offset: if cursor.is_some() {
                    0
                } else {
                    self.offset.unwrap_or(0)
                },
                limit,
            },
        })
    }
}

impl Keyhouse {
    /// `POST /audit/v2/organizations/{orgId}/query`: one page of the
    /// organization's events matching the filters.
    pub async fn query_audit(
        &self,
        principal: &Principal,
        org: OrgId,
        input: AuditQueryInput,
    ) -> CoreResult<AuditResults> {
        self.check_audit_reader(principal, org).await?;
        let plan = input.plan(org)?;
        let want_total = !plan.cursor_mode || plan.include_total;
        if plan.matches_nothing {
            return Ok(AuditResults {
                data: Vec::new(),
                total: want_total.then_some(0),
                cursor: None,
            });
        }
        let records = self.store.query_audit_events(&plan.query).await?;
        let total = if want_total {
            Some(self.store.count_audit_events(&plan.query.filter).await?)
        } else {
            None
        };
        let cursor = match (plan.cursor_mode, records.last()) {
            (true, Some(last)) => Some(
                AuditCursor {
                    ascending: plan.query.ascending,
                    position: last.position,
                }
                .encode(),
            ),
            _ => None,
        };
        Ok(AuditResults {
            data: records.into_iter().map(|r| r.event).collect(),
            total,
            cursor,
        })
    }

    /// `GET /audit/v2/organizations/{orgId}/platforms`: the products whose
    /// events can appear (Keyhouse records only Access Management).
    pub async fn audit_platforms(
        &self,
        principal: &Principal,
        org: OrgId,
    ) -> CoreResult<Vec<&'static str>> {
        self.check_audit_reader(principal, org).await?;
        Ok(vec![PLATFORM])
    }

    /// `GET /audit/v2/organizations/{orgId}/retentionSettings`: how many days
    /// events are kept (set by the operator, the same for every organization).
    pub async fn audit_retention(&self, principal: &Principal, org: OrgId) -> CoreResult<i64> {
        self.check_audit_reader(principal, org).await?;
        Ok(self.settings.audit_retention_days)
    }

    /// Deletes events older than the retention period; run periodically by
    /// the server. Returns how many went in this run (bounded per run).
    pub async fn purge_audit_log(&self) -> CoreResult<u64> {
        let days = self.settings.audit_retention_days;
        let cutoff = Timestamp(
            self.clock
                .now()
                .0
                .saturating_sub(days.saturating_mul(DAY_MS)),
        );
        let mut purged = 0;
        for _ in 0..PURGE_BATCHES_PER_RUN {
            let went = self.store.purge_audit_events(cutoff, PURGE_BATCH).await?;
            purged += went;
            if went < PURGE_BATCH {
                break;
            }
        }
        Ok(purged)
    }

    /// An event for a change `actor` made in `org` now: the acting user (and
    /// the app, for a delegated token) or the acting app, and the request's
    /// source address. Written by the caller in the change's transaction.
    pub(super) fn change_event(
        &self,
        actor: &Actor,
        principal: &Principal,
        org: OrgId,
        action: &str,
        object_type: &str,
        object_id: impl Into<String>,
    ) -> AuditEvent {
        let event = AuditEvent::new(self.clock.now(), action, object_type)
            .org(org)
            .object(object_id)
            .source(principal.source);
        match actor {
            Actor::User(u) => match &principal.client_id {
                Some(client_id) => event.user(u.user.id).client(client_id),
                None => event.user(u.user.id),
            },
            Actor::App(a) => event.client(&a.app.client_id),
        }
    }

    /// Org Administrator (or a delegated `full` token), or an app holding
    /// `read:audit_logs` in `org`; nobody reaches another tenant's log.
    async fn check_audit_reader(&self, principal: &Principal, org: OrgId) -> CoreResult<()> {
        let actor = self.actor(principal).await?;
        let tree = self.tree_of(&actor, org).await?;
        actor.check(&tree, org, Action::ReadAuditLogs)
    }
}
