//! Connected-app management (Anypoint reference §5.2, §5.3): create, list,
//! read, patch (incl. secret reset), delete, and context-bound scopes.
//! Only administrators of the app's organization manage it; app tokens never do.

use super::{Keyhouse, Principal};
use crate::access::app_rules::{
    check_chosen_secret, parse_app_name, parse_flat_scopes, parse_grant_types, parse_public_keys,
    parse_redirect_uris, parse_web_uri,
};
use crate::access::connected_app::{APPS_PER_ORG_MAX, SCOPES_PER_APP_MAX};
use crate::access::{Action, Actor, Audience, ConnectedApp, GrantType, OrgTree, ScopeGrant};
use crate::error::{CoreError, CoreResult};
use crate::ids::{generate_client_id, EnvId, OrgId, UserId};
use crate::oauth::scope::{lookup, ScopeContext};
use crate::oauth::secret;
use crate::store::Page;

/// Largest page of apps a client may ask for.
pub const APP_PAGE_MAX: u64 = 500;

/// Create or patch fields; `None` means "not sent" (keep on patch, default on create).
#[derive(Debug, Clone, Default)]
pub struct AppInput {
    pub client_name: Option<String>,
    pub grant_types: Option<Vec<String>>,
    pub redirect_uris: Option<Vec<String>>,
    pub public_keys: Option<Vec<String>>,
    pub scopes: Option<Vec<String>>,
    pub audience: Option<String>,
    pub client_uri: Option<Option<String>>,
    pub policy_uri: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub owner_user_id: Option<UserId>,
    /// A secret chosen by the admin (Anypoint allows it); redacted in `Debug`
    /// by never being printed (the struct is only logged by field names).
    pub client_secret: Option<String>,
    /// RFC 7591 `token_endpoint_auth_method`: `none` makes a public client.
    pub token_endpoint_auth_method: Option<String>,
}

impl AppInput {
    /// The wire names of the fields sent, secrets aside: the `fields` of the
    /// `connected_app.updated` audit event.
    fn sent_fields(&self) -> Vec<&'static str> {
        [
            ("client_name", self.client_name.is_some()),
            ("grant_types", self.grant_types.is_some()),
            ("redirect_uris", self.redirect_uris.is_some()),
            ("public_keys", self.public_keys.is_some()),
            ("scopes", self.scopes.is_some()),
            ("audience", self.audience.is_some()),
            ("client_uri", self.client_uri.is_some()),
            ("policy_uri", self.policy_uri.is_some()),
            ("enabled", self.enabled.is_some()),
            ("owner_user_id", self.owner_user_id.is_some()),
            (
                "token_endpoint_auth_method",
                self.token_endpoint_auth_method.is_some(),
            ),
        ]
        .into_iter()
        .filter_map(|(name, sent)| sent.then_some(name))
        .collect()
    }
}

/// One scope with its context as sent (`context_params.org` / `envId`).
#[derive(Debug, Clone)]
pub struct ScopeInput {
    pub scope: String,
    pub org: Option<OrgId>,
    pub env: Option<EnvId>,
}

/// How a scopes request changes the app's scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeUpdate {
    /// PUT: the list becomes exactly this.
    Replace,
    /// PATCH: these are added.
    Add,
    /// DELETE: these are removed.
    Remove,
}

fn not_found(client_id: &str) -> CoreError {
    CoreError::NotFound(format!(
        "Connected application {} not found",
        crate::ids::truncate(client_id)
    ))
}

impl Keyhouse {
    /// Creates an app in `org` (or the caller's root organization) → the app and
    /// its secret, which is never shown again.
    pub async fn create_app(
        &self,
        principal: &Principal,
        org: Option<OrgId>,
        input: AppInput,
    ) -> CoreResult<(ConnectedApp, String)> {
        let actor = self.actor(principal).await?;
        let org = org.unwrap_or_else(|| actor.root_id());
        let tree = self.tree_of(&actor, org).await?;
        actor.check(&tree, org, Action::ManageConnectedApps)?;
        if self.store.list_apps(org, None, 0, 1).await?.total >= APPS_PER_ORG_MAX {
            return Err(CoreError::Validation(format!(
                "An organization can have at most {APPS_PER_ORG_MAX} connected apps"
            )));
        }
        let name = input
            .client_name
            .as_deref()
            .ok_or_else(|| CoreError::Validation("client_name is required".to_owned()))?;
        let grant_names = input
            .grant_types
            .as_deref()
            .ok_or_else(|| CoreError::Validation("grant_types is required".to_owned()))?;
        let now = self.clock.now();
        let generated = secret::generate();
        let mut app = ConnectedApp {
            client_id: generate_client_id(),
            secret_hash: generated.hash,
            name: parse_app_name(name)?,
            org_id: org,
            owner_user_id: actor.acting_user_id(),
            grant_types: parse_grant_types(grant_names)?,
            redirect_uris: Vec::new(),
            public_keys: Vec::new(),
            scopes: Vec::new(),
            audience: Audience::Internal,
            client_uri: None,
            policy_uri: None,
            enabled: true,
            created_at: now,
            updated_at: now,
            secret_updated_at: now,
            public_client: false,
        };
        let mut shown = generated.secret;
        if let Some(chosen) = &input.client_secret {
            check_chosen_secret(chosen)?;
            app.secret_hash = secret::hash(chosen);
            shown = chosen.clone();
        }
        self.apply_input(&mut app, &input, &tree).await?;
        let grants: Vec<&str> = app.grant_types.iter().map(|g| g.as_str()).collect();
        let event = self
            .change_event(
                &actor,
                principal,
                org,
                "connected_app.created",
                "connected_app",
                &app.client_id,
            )
            .with("name", app.name.as_str())
            .with("grantTypes", grants);
        self.store
            .insert_app(&app, &[], &[event])
            .await
            .map_err(name_clash)?;
        Ok((app, shown))
    }

    /// Lists the apps of `org` (or the caller's root organization).
    pub async fn apps(
        &self,
        principal: &Principal,
        org: Option<OrgId>,
        search: Option<&str>,
        offset: u64,
        limit: Option<u64>,
    ) -> CoreResult<Page<ConnectedApp>> {
        let limit = limit.unwrap_or(APP_PAGE_MAX);
        if limit == 0 || limit > APP_PAGE_MAX {
            return Err(CoreError::Validation(format!(
                "limit must be between 1 and {APP_PAGE_MAX}"
            )));
        }
        let actor = self.actor(principal).await?;
        let org = org.unwrap_or_else(|| actor.root_id());
        let tree = self.tree_of(&actor, org).await?;
        actor.check(&tree, org, Action::ManageConnectedApps)?;
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        Ok(self.store.list_apps(org, search, offset, limit).await?)
    }

    /// One app, if the caller administers its organization (and it is in `org`, when given).
    pub async fn app(
        &self,
        principal: &Principal,
        org: Option<OrgId>,
        client_id: &str,
    ) -> CoreResult<ConnectedApp> {
        let (_, _, app) = self.managed_app(principal, org, client_id).await?;
        Ok(app)
    }

    /// Patches an app; with `reset_secret` a new secret is generated and returned.
    /// A new secret or disabling the app ends every token issued to it.
    pub async fn update_app(
        &self,
        principal: &Principal,
        org: Option<OrgId>,
        client_id: &str,
        input: AppInput,
        reset_secret: bool,
    ) -> CoreResult<(ConnectedApp, Option<String>)> {
        let (actor, tree, mut app) = self.managed_app(principal, org, client_id).await?;
        let now = self.clock.now();
        let mut shown = None;
        match (reset_secret, &input.client_secret) {
            (true, Some(_)) => {
                return Err(CoreError::Validation(
                    "Send either resetSecret=true or client_secret, not both".to_owned(),
                ))
            }
            (true, None) => {
                let generated = secret::generate();
                app.secret_hash = generated.hash;
                shown = Some(generated.secret);
            }
            (false, Some(chosen)) => {
                check_chosen_secret(chosen)?;
                app.secret_hash = secret::hash(chosen);
            }
            (false, None) => {}
        }
        let new_secret = reset_secret || input.client_secret.is_some();
        if new_secret {
            app.secret_updated_at = now;
        }
        if let Some(name) = &input.client_name {
            app.name = parse_app_name(name)?;
        }
        if let Some(grants) = &input.grant_types {
            app.grant_types = parse_grant_types(grants)?;
        }
        let was_enabled = app.enabled;
        self.apply_input(&mut app, &input, &tree).await?;
        app.updated_at = now;
        let event = |action: &str| {
            self.change_event(
                &actor,
                principal,
                app.org_id,
                action,
                "connected_app",
                &app.client_id,
            )
        };
        let mut events = Vec::new();
        let fields = input.sent_fields();
        if !fields.is_empty() {
            events.push(
                event("connected_app.updated")
                    .with("fields", fields)
                    .with("enabled", app.enabled),
            );
        }
        if new_secret {
            events.push(event("connected_app.secret_reset").with("generated", reset_secret));
        }
        self.store
            .update_app(&app, &events)
            .await
            .map_err(name_clash)?;
        if new_secret || (was_enabled && !app.enabled) {
            self.store.delete_tokens_of_app(&app.client_id).await?;
            self.forget_app(&app.client_id);
        } else {
            self.apps.invalidate(&app.client_id);
        }
        Ok((app, shown))
    }

    /// Deletes an app: its credentials, scopes and tokens die with it.
    pub async fn delete_app(
        &self,
        principal: &Principal,
        org: Option<OrgId>,
        client_id: &str,
    ) -> CoreResult<()> {
        let (actor, _, app) = self.managed_app(principal, org, client_id).await?;
        let event = self
            .change_event(
                &actor,
                principal,
                app.org_id,
                "connected_app.deleted",
                "connected_app",
                &app.client_id,
            )
            .with("name", app.name.as_str());
        self.store.delete_app(&app.client_id, &[event]).await?;
        self.forget_app(&app.client_id);
        Ok(())
    }

    /// The app's context-bound scopes.
    pub async fn app_scopes(
        &self,
        principal: &Principal,
        org: Option<OrgId>,
        client_id: &str,
    ) -> CoreResult<Vec<ScopeGrant>> {
        let (_, _, app) = self.managed_app(principal, org, client_id).await?;
        Ok(self.store.list_app_scopes(&app.client_id).await?)
    }

    /// Replaces, adds or removes scopes. Each scope must be known and sent with
    /// exactly the context it needs, in an organization (and environment) of the
    /// app's tree that the caller administers. Takes effect on live tokens at once.
    pub async fn update_app_scopes(
        &self,
        principal: &Principal,
        org: Option<OrgId>,
        client_id: &str,
        scopes: Vec<ScopeInput>,
        mode: ScopeUpdate,
    ) -> CoreResult<()> {
        let (actor, tree, app) = self.managed_app(principal, org, client_id).await?;
        let mut wanted: Vec<ScopeGrant> = Vec::new();
        for input in scopes {
            let grant = self.check_scope(&actor, &tree, input).await?;
            if !wanted.contains(&grant) {
                wanted.push(grant);
            }
        }
        let current = self.store.list_app_scopes(&app.client_id).await?;
        let next: Vec<ScopeGrant> = match mode {
            ScopeUpdate::Replace => wanted,
            ScopeUpdate::Add => {
                let mut all = current;
                all.extend(wanted);
                let mut unique: Vec<ScopeGrant> = Vec::new();
                for g in all {
                    if !unique.contains(&g) {
                        unique.push(g);
                    }
                }
                unique
            }
            ScopeUpdate::Remove => current
                .into_iter()
                .filter(|g| !wanted.contains(g))
                .collect(),
        };
        if next.len() > SCOPES_PER_APP_MAX {
            return Err(CoreError::Validation(format!(
                "An app can hold at most {SCOPES_PER_APP_MAX} scopes"
            )));
        }
        let listed: Vec<serde_json::Value> = next
            .iter()
            .map(|g| {
                serde_json::json!({
                    "scope": g.scope,
                    "org": g.org.map(|o| o.to_string()),
                    "envId": g.env.map(|e| e.to_string()),
                })
            })
            .collect();
        let mode = match mode {
            ScopeUpdate::Replace => "replace",
            ScopeUpdate::Add => "add",
            ScopeUpdate::Remove => "remove",
        };
        let event = self
            .change_event(
                &actor,
                principal,
                app.org_id,
                "connected_app.scopes_changed",
                "connected_app",
                &app.client_id,
            )
            .with("mode", mode)
            .with("scopes", listed);
        self.store
            .replace_app_scopes(&app.client_id, &next, &[event])
            .await?;
        self.apps.invalidate(&app.client_id);
        Ok(())
    }

    /// Loads an app the caller may manage, with the tree of its organization.
    pub(super) async fn managed_app(
        &self,
        principal: &Principal,
        org: Option<OrgId>,
        client_id: &str,
    ) -> CoreResult<(Actor, std::sync::Arc<OrgTree>, ConnectedApp)> {
        let actor = self.actor(principal).await?;
        if matches!(actor, Actor::App(_)) {
            return Err(CoreError::Forbidden(
                "Connected apps cannot manage connected apps".to_owned(),
            ));
        }
        let app = self
            .store
            .find_app(client_id)
            .await?
            .filter(|a| org.is_none_or(|o| o == a.org_id))
            .ok_or_else(|| not_found(client_id))?;
        let tree = self
            .tree_of(&actor, app.org_id)
            .await
            .map_err(|_| not_found(client_id))?;
        actor.check(&tree, app.org_id, Action::ManageConnectedApps)?;
        Ok((actor, tree, app))
    }

    /// Applies the optional fields and checks the app as a whole.
    async fn apply_input(
        &self,
        app: &mut ConnectedApp,
        input: &AppInput,
        tree: &OrgTree,
    ) -> CoreResult<()> {
        if let Some(uris) = &input.redirect_uris {
            app.redirect_uris = parse_redirect_uris(uris)?;
        }
        if let Some(keys) = &input.public_keys {
            app.public_keys = parse_public_keys(keys)?;
        }
        if let Some(scopes) = &input.scopes {
            app.scopes = parse_flat_scopes(scopes)?;
        }
        if let Some(audience) = &input.audience {
            app.audience = Audience::parse(audience)?;
        }
        if let Some(uri) = &input.client_uri {
            app.client_uri = uri
                .as_deref()
                .map(|u| parse_web_uri("client_uri", u))
                .transpose()?;
        }
        if let Some(uri) = &input.policy_uri {
            app.policy_uri = uri
                .as_deref()
                .map(|u| parse_web_uri("policy_uri", u))
                .transpose()?;
        }
        if let Some(enabled) = input.enabled {
            app.enabled = enabled;
        }
        if let Some(method) = &input.token_endpoint_auth_method {
            app.public_client = match method.as_str() {
                "none" => true,
                "client_secret_basic" | "client_secret_post" => false,
                other => {
                    return Err(CoreError::Validation(format!(
                        "token_endpoint_auth_method '{}' is not valid: use none, client_secret_basic or client_secret_post",
                        crate::ids::truncate(other)
                    )))
                }
            };
        }
        if let Some(owner) = input.owner_user_id {
            match self.store.find_user(owner).await? {
                Some(u) if tree.get(u.org_id).is_some() => app.owner_user_id = u.id,
                _ => {
                    return Err(CoreError::Validation(format!(
                        "owner_user_id {owner} is not a user of this organization"
                    )))
                }
            }
        }
        check_app_shape(app)
    }

    async fn check_scope(
        &self,
        actor: &Actor,
        tree: &OrgTree,
        input: ScopeInput,
    ) -> CoreResult<ScopeGrant> {
        let info = lookup(&input.scope).ok_or_else(|| {
            CoreError::Validation(format!(
                "Unknown scope '{}'",
                crate::ids::truncate(&input.scope)
            ))
        })?;
        let needs = |what: &str| CoreError::Validation(format!("Scope '{}' {what}", info.name));
        match (info.context, input.org, input.env) {
            (ScopeContext::Global, None, None) => {}
            (ScopeContext::Global, _, _) => return Err(needs("takes no context_params")),
            (ScopeContext::Org, Some(_), None) => {}
            (ScopeContext::Org, _, _) => {
                return Err(needs("needs context_params.org and no envId"))
            }
            (ScopeContext::OrgEnv, Some(_), Some(_)) => {}
            (ScopeContext::OrgEnv, _, _) => {
                return Err(needs("needs context_params.org and context_params.envId"))
            }
        }
        if let Some(org) = input.org {
            if tree.get(org).is_none() {
                return Err(CoreError::Validation(format!(
                    "Organization {org} is not part of this app's organization tree"
                )));
            }
            actor.check(tree, org, Action::ManageConnectedApps)?;
            if let Some(env) = input.env {
                let found = self.store.find_environment(env).await?;
                if found.is_none_or(|e| e.org_id != org) {
                    return Err(CoreError::Validation(format!(
                        "Environment {env} does not belong to organization {org}"
                    )));
                }
            }
        }
        Ok(ScopeGrant {
            scope: info.name.to_owned(),
            org: input.org,
            env: input.env,
        })
    }
}

/// Rules that concern several fields at once (Anypoint reference §5.1).
fn check_app_shape(app: &ConnectedApp) -> CoreResult<()> {
    let own_behalf = app.allows(GrantType::ClientCredentials);
    if own_behalf && !app.scopes.is_empty() {
        return Err(CoreError::Validation(
            "Apps acting on their own behalf get scopes through the scopes endpoint, not 'scopes'"
                .to_owned(),
        ));
    }
    if app.allows(GrantType::AuthorizationCode) && app.redirect_uris.is_empty() {
        return Err(CoreError::Validation(
            "authorization_code needs at least one redirect_uri".to_owned(),
        ));
    }
    if app.allows(GrantType::JwtBearer) && app.public_keys.is_empty() {
        return Err(CoreError::Validation(
            "The JWT bearer grant needs at least one public key".to_owned(),
        ));
    }
    if app.public_client
        && (!app.allows(GrantType::AuthorizationCode)
            || app
                .grant_types
                .iter()
                .any(|g| !matches!(g, GrantType::AuthorizationCode | GrantType::RefreshToken)))
    {
        return Err(CoreError::Validation(
            "Public clients (token_endpoint_auth_method none) may use only authorization_code and refresh_token".to_owned(),
        ));
    }
    if !own_behalf && app.client_uri.is_none() {
        return Err(CoreError::Validation(
            "Apps acting on behalf of users need a client_uri".to_owned(),
        ));
    }
    Ok(())
}

/// A duplicate name is the client's mistake: 400, as Anypoint answers.
fn name_clash(err: crate::store::StoreError) -> CoreError {
    match err {
        crate::store::StoreError::Conflict(msg) => CoreError::Validation(msg),
        other => other.into(),
    }
}
