//! The per-organization MFA policy (issue 6 §5: "admin policy to require MFA
//! per organization") and the facts about it that other answers show.

use std::net::IpAddr;

use super::{Keyhouse, Principal};
use crate::access::Action;
use crate::audit::AuditEvent;
use crate::error::{CoreError, CoreResult};
use crate::ids::OrgId;

impl Keyhouse {
    /// `GET /accounts/api/organizations/{orgId}/mfa`: whether the users of the
    /// organization's tree must use MFA (the policy lives on the root).
    /// Administrators only.
    pub async fn mfa_policy(&self, principal: &Principal, org: OrgId) -> CoreResult<bool> {
        let (_, _, found) = self
            .authorize(principal, org, Action::EditOrganization)
            .await?;
        Ok(self.store.find_mfa_required(found.root_id).await?)
    }

    /// `PUT /accounts/api/organizations/{orgId}/mfa`: sets the policy of a
    /// root organization (users belong to root organizations, so that is
    /// where it applies). Administrators only; audited.
    pub async fn set_mfa_policy(
        &self,
        principal: &Principal,
        org: OrgId,
        required: bool,
        source: Option<IpAddr>,
    ) -> CoreResult<bool> {
        let (actor, _, found) = self
            .authorize(principal, org, Action::EditOrganization)
            .await?;
        if !found.is_root() {
            return Err(CoreError::Validation(format!(
                "The multi-factor authentication policy is set on the root organization ({})",
                found.root_id
            )));
        }
        let previous = self.store.find_mfa_required(org).await?;
        let event = AuditEvent::new(self.clock.now(), "org.mfa_policy_changed", "organization")
            .org(org)
            .user(actor.acting_user_id())
            .object(org.to_string())
            .source(source)
            .with("mfaRequired", required)
            .with("previous", previous);
        let event = match &principal.client_id {
            Some(client) => event.client(client),
            None => event,
        };
        self.store.set_mfa_required(org, required, &[event]).await?;
        self.mfa_cache.forget_org(org);
        Ok(required)
    }

    /// The origin of the redirect URI of an authorization request, when the
    /// request names a known app and one of its redirect URIs: the MFA page
    /// needs it for its CSP `form-action`, which browsers also apply to the
    /// redirects that follow the form (like the sign-in page).
    pub async fn request_redirect_origin(
        &self,
        pairs: &[(String, String)],
    ) -> CoreResult<Option<String>> {
        let params = crate::oauth::authorize::Params::new(pairs);
        let app = match params.get("client_id") {
            Some(id) if id.len() <= crate::access::connected_app::CLIENT_ID_MAX_CHARS => {
                self.cached_app(id).await?
            }
            _ => None,
        };
        Ok(crate::oauth::authorize::check_target(&params, app)
            .ok()
            .map(|t| crate::oauth::authorize::origin_of(&t.redirect_uri)))
    }

    /// Whether the organization's tree requires MFA (for the org objects).
    pub(crate) async fn tree_requires_mfa(&self, root: OrgId) -> CoreResult<bool> {
        if let Some(hit) = self.mfa_cache.required(root) {
            return Ok(hit);
        }
        let epoch = self.mfa_cache.epoch();
        let required = self.store.find_mfa_required(root).await?;
        self.mfa_cache.keep_required(epoch, root, required);
        Ok(required)
    }
}
