//! Environments of an organization.

use super::bootstrap::new_environment;
use super::{Keyhouse, Principal};
use crate::access::environment::{parse_env_name, EnvType};
use crate::access::{Action, Actor, Environment};
use crate::audit::AuditEvent;
use crate::error::{CoreError, CoreResult};
use crate::ids::{EnvId, OrgId};
use crate::store::Page;

/// Largest page of environments a client may ask for.
pub const ENV_PAGE_MAX: u64 = 1000;

/// `POST …/environments`: `type` defaults to sandbox; `isProduction`, if sent, must agree.
#[derive(Debug, Clone)]
pub struct NewEnvironment {
    pub name: String,
    pub env_type: Option<String>,
    pub is_production: Option<bool>,
}

/// `PUT …/environments/{id}`: only the name may change (Anypoint).
#[derive(Debug, Clone, Default)]
pub struct EnvUpdate {
    pub name: Option<String>,
    pub env_type: Option<String>,
    pub is_production: Option<bool>,
}

impl Keyhouse {
    /// `GET …/environments` with `offset`/`limit`.
    pub async fn environments(
        &self,
        principal: &Principal,
        org: OrgId,
        offset: u64,
        limit: Option<u64>,
    ) -> CoreResult<Page<Environment>> {
        let limit = limit.unwrap_or(ENV_PAGE_MAX);
        if limit == 0 || limit > ENV_PAGE_MAX {
            return Err(CoreError::Validation(format!(
                "limit must be between 1 and {ENV_PAGE_MAX}"
            )));
        }
        let (actor, _, _) = self
            .authorize(principal, org, Action::ListEnvironments)
            .await?;
        if matches!(actor, Actor::User(_)) {
            return Ok(self.store.list_environments(org, offset, limit).await?);
        }
        // Apps see only the environments their scopes name: filter, then page.
        let all = self
            .store
            .list_environments(org, 0, ENV_PAGE_MAX)
            .await?
            .data;
        let visible: Vec<Environment> = all
            .into_iter()
            .filter(|e| actor.sees_environment(org, e.id))
            .collect();
        let total = visible.len() as u64;
        let data = visible
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect();
        Ok(Page { data, total })
    }

    /// `GET …/environments/{envId}`.
    pub async fn environment(
        &self,
        principal: &Principal,
        org: OrgId,
        env: EnvId,
    ) -> CoreResult<Environment> {
        self.authorize(principal, org, Action::ViewEnvironment(env))
            .await?;
        self.env_in_org(org, env).await
    }

    /// `POST …/environments`.
    pub async fn create_environment(
        &self,
        principal: &Principal,
        org: OrgId,
        new: NewEnvironment,
    ) -> CoreResult<Environment> {
        let (actor, _, _) = self
            .authorize(principal, org, Action::CreateEnvironment)
            .await?;
        let name = parse_env_name(&new.name)?;
        let env_type = match new.env_type.as_deref() {
            Some(raw) => EnvType::parse(raw)?,
            None if new.is_production == Some(true) => EnvType::Production,
            None => EnvType::Sandbox,
        };
        check_production_flag(env_type, new.is_production)?;
        let env = new_environment(org, &name, env_type, self.clock.now());
        let event = self
            .env_event(&actor, principal, &env, "environment.created")
            .with("type", env.env_type.as_str());
        self.store.insert_environment(&env, &[event]).await?;
        self.directory.clear();
        Ok(env)
    }

    /// `PUT …/environments/{envId}`: renames; a different type is refused.
    pub async fn update_environment(
        &self,
        principal: &Principal,
        org: OrgId,
        env: EnvId,
        update: EnvUpdate,
    ) -> CoreResult<Environment> {
        let (actor, _, _) = self
            .authorize(principal, org, Action::EditEnvironment(env))
            .await?;
        let mut current = self.env_in_org(org, env).await?;
        if let Some(raw) = update.env_type.as_deref() {
            if EnvType::parse(raw)? != current.env_type {
                return Err(CoreError::Validation(
                    "The type of an environment cannot be changed".to_owned(),
                ));
            }
        }
        check_production_flag(current.env_type, update.is_production)?;
        if let Some(name) = update.name {
            let before = std::mem::replace(&mut current.name, parse_env_name(&name)?);
            current.updated_at = self.clock.now();
            let event = self
                .env_event(&actor, principal, &current, "environment.updated")
                .with("previousName", before);
            self.store.update_environment(&current, &[event]).await?;
            self.directory.clear();
        }
        Ok(current)
    }

    /// `DELETE …/environments/{envId}`. The last environment of an organization stays:
    /// clients such as anypoint-cli-v4 cannot work in an organization without one.
    pub async fn delete_environment(
        &self,
        principal: &Principal,
        org: OrgId,
        env: EnvId,
    ) -> CoreResult<()> {
        let (actor, _, _) = self
            .authorize(principal, org, Action::EditEnvironment(env))
            .await?;
        let gone = self.env_in_org(org, env).await?;
        if self.store.list_environments(org, 0, 1).await?.total <= 1 {
            return Err(CoreError::Validation(
                "An organization must keep at least one environment".to_owned(),
            ));
        }
        let event = self.env_event(&actor, principal, &gone, "environment.deleted");
        self.store.delete_environment(env, &[event]).await?;
        self.directory.clear();
        Ok(())
    }

    /// An audit event about `env`, in its organization's log, naming it.
    fn env_event(
        &self,
        actor: &Actor,
        principal: &Principal,
        env: &Environment,
        action: &str,
    ) -> AuditEvent {
        self.change_event(
            actor,
            principal,
            env.org_id,
            action,
            "environment",
            env.id.to_string(),
        )
        .with("name", env.name.as_str())
    }

    async fn env_in_org(&self, org: OrgId, env: EnvId) -> CoreResult<Environment> {
        self.store
            .find_environment(env)
            .await?
            .filter(|e| e.org_id == org)
            .ok_or_else(|| CoreError::NotFound(format!("Environment {env} not found")))
    }
}

fn check_production_flag(env_type: EnvType, is_production: Option<bool>) -> CoreResult<()> {
    match is_production {
        Some(flag) if flag != (env_type == EnvType::Production) => Err(CoreError::Validation(
            "isProduction must be true exactly when type is production".to_owned(),
        )),
        _ => Ok(()),
    }
}
