//! Users see and revoke the apps they authorized; admins see and revoke every
//! user's grants to an app (Anypoint "Authorizations", issue 5 §8).

use std::net::IpAddr;

use super::{Keyhouse, Principal};
use crate::access::Actor;
use crate::audit::AuditEvent;
use crate::error::{CoreError, CoreResult};
use crate::ids::{OrgId, UserId};
use crate::oauth::records::Consent;
use crate::time_fmt::Timestamp;

/// One authorization as listed to the user or to an admin.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizedApp {
    pub client_id: String,
    pub client_name: String,
    pub user_id: UserId,
    pub username: String,
    pub scopes: Vec<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

impl Keyhouse {
    /// The person behind a token that may manage their own authorizations: their
    /// own login, or an app they gave `full`.
    async fn self_service_user(&self, principal: &Principal) -> CoreResult<crate::access::User> {
        match self.actor(principal).await? {
            Actor::User(u) if u.has_scope(&["full"]) => Ok(u.user),
            Actor::User(_) => Err(CoreError::InsufficientScope("full".to_owned())),
            Actor::App(_) => Err(CoreError::Forbidden(
                "Only a user's token lists that user's authorized apps".to_owned(),
            )),
        }
    }

    async fn describe(&self, consents: Vec<Consent>) -> CoreResult<Vec<AuthorizedApp>> {
        let mut out = Vec::with_capacity(consents.len());
        for c in consents {
            let client_name = self
                .cached_app(&c.client_id)
                .await?
                .map(|a| a.app.name.clone())
                .unwrap_or_default();
            let username = self
                .load_user(c.user_id)
                .await?
                .map(|u| u.username)
                .unwrap_or_default();
            out.push(AuthorizedApp {
                client_id: c.client_id,
                client_name,
                user_id: c.user_id,
                username,
                scopes: c
                    .scope
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                created_at: c.created_at,
                updated_at: c.updated_at,
                last_used_at: c.last_used_at,
            });
        }
        Ok(out)
    }

    /// `GET /accounts/api/users/me/authorizations`.
    pub async fn my_authorizations(&self, principal: &Principal) -> CoreResult<Vec<AuthorizedApp>> {
        let user = self.self_service_user(principal).await?;
        self.authorizations_of(user.id).await
    }

    /// The apps a user authorized (also used by the authorized-apps page).
    pub async fn authorizations_of(&self, user: UserId) -> CoreResult<Vec<AuthorizedApp>> {
        let consents = self.store.list_consents_of_user(user).await?;
        self.describe(consents).await
    }

    /// `DELETE /accounts/api/users/me/authorizations/{clientId}`.
    pub async fn revoke_my_authorization(
        &self,
        principal: &Principal,
        client_id: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<()> {
        let user = self.self_service_user(principal).await?;
        self.revoke_authorization(user.id, user.org_id, client_id, source)
            .await
    }

    /// Withdraws a user's consent: the consent, and the app's access tokens,
    /// refresh tokens and unused codes for that user, go at once, in storage and
    /// in memory. `NotFound` when the user had not authorized the app.
    pub async fn revoke_authorization(
        &self,
        user: UserId,
        user_org: OrgId,
        client_id: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<()> {
        let now = self.clock.now();
        let event = AuditEvent::new(now, "consent.revoked", "connected_app")
            .org(user_org)
            .user(user)
            .client(client_id)
            .object(crate::ids::truncate(client_id))
            .source(source);
        let existed = self.store.revoke_consent(user, client_id, &[event]).await?;
        self.sessions.remove_user_client(user, client_id);
        if existed {
            Ok(())
        } else {
            Err(CoreError::NotFound(format!(
                "You have not authorized the app {}",
                crate::ids::truncate(client_id)
            )))
        }
    }

    /// `GET …/connectedApplications/{clientId}/grants`: every user who authorized the app.
    pub async fn app_grants(
        &self,
        principal: &Principal,
        org: OrgId,
        client_id: &str,
    ) -> CoreResult<Vec<AuthorizedApp>> {
        let (_, _, app) = self.managed_app(principal, Some(org), client_id).await?;
        let consents = self.store.list_consents_of_app(&app.client_id).await?;
        self.describe(consents).await
    }

    /// `DELETE …/connectedApplications/{clientId}/grants`: revokes every user's
    /// grant to the app, with their access and refresh tokens.
    pub async fn revoke_app_grants(
        &self,
        principal: &Principal,
        org: OrgId,
        client_id: &str,
        source: Option<IpAddr>,
    ) -> CoreResult<u64> {
        let (actor, _, app) = self.managed_app(principal, Some(org), client_id).await?;
        let now = self.clock.now();
        let event = AuditEvent::new(now, "consent.revoked_all", "connected_app")
            .org(app.org_id)
            .user(actor.acting_user_id())
            .object(app.client_id.clone())
            .source(source);
        let count = self
            .store
            .revoke_consents_of_app(&app.client_id, &[event])
            .await?;
        // Drop every delegated token of the app from memory; its own
        // (client_credentials) tokens are not affected in storage and come back
        // on the next lookup only for shared backends, so keep them here.
        self.sessions.remove_delegated(&app.client_id);
        Ok(count)
    }
}
