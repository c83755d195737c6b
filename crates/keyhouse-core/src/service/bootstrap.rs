//! First start and operator commands: creating root organizations and users
//! from the shell, where having the data directory already means full control.

use super::Keyhouse;
use crate::access::environment::EnvType;
use crate::access::organization::{default_entitlements, parse_org_name, SESSION_TIMEOUT_DEFAULT};
use crate::access::user::{check_new_password, parse_profile_field, parse_username, username_key};
use crate::access::{Environment, Membership, Organization, Role, User};
use crate::error::{CoreError, CoreResult};
use crate::ids::{generate_client_id, EnvId, OrgId, UserId};
use crate::time_fmt::Timestamp;

/// The administrator to create on first start; a missing password is generated.
#[derive(Clone)]
pub struct AdminCredentials {
    pub username: String,
    pub password: Option<String>,
}

impl std::fmt::Debug for AdminCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminCredentials")
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// What first start did, so the CLI can print the generated password exactly once.
#[derive(Debug)]
pub struct BootstrapOutcome {
    pub created: bool,
    pub org_id: OrgId,
    pub org_name: String,
    pub admin_username: String,
    pub generated_password: Option<String>,
}

/// A user to create: profile fields plus an initial password.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// A root organization and its first administrator.
#[derive(Debug, Clone)]
pub struct NewRootOrganization {
    pub name: String,
    pub admin: NewUser,
}

impl Keyhouse {
    /// Creates the first root organization (with `Production` and `Sandbox`) and its
    /// administrator when storage holds none; otherwise reuses what exists.
    pub async fn bootstrap(
        &self,
        org_name: &str,
        admin: AdminCredentials,
    ) -> CoreResult<BootstrapOutcome> {
        if let Some(existing) = self
            .store
            .list_root_organizations()
            .await?
            .into_iter()
            .next()
        {
            return Ok(BootstrapOutcome {
                created: false,
                org_id: existing.id,
                org_name: existing.name,
                admin_username: admin.username,
                generated_password: None,
            });
        }
        let generated = admin.password.is_none();
        let password = admin
            .password
            .unwrap_or_else(|| crate::authn::token::mint().secret[..24].to_owned());
        let (org, user) = self
            .create_root_organization(NewRootOrganization {
                name: org_name.to_owned(),
                admin: NewUser {
                    username: admin.username,
                    password: password.clone(),
                    first_name: "Keyhouse".to_owned(),
                    last_name: "Administrator".to_owned(),
                    email: String::new(),
                },
            })
            .await?;
        Ok(BootstrapOutcome {
            created: true,
            org_id: org.id,
            org_name: org.name,
            admin_username: user.username,
            generated_password: generated.then_some(password),
        })
    }

    /// Creates a root organization with `Production` and `Sandbox` environments and
    /// its administrator (owner), in one transaction.
    pub async fn create_root_organization(
        &self,
        new: NewRootOrganization,
    ) -> CoreResult<(Organization, User)> {
        let name = parse_org_name(&new.name)?;
        let now = self.clock.now();
        let org_id = OrgId::generate();
        let user = self.build_user(org_id, new.admin, now).await?;
        let org = Organization {
            id: org_id,
            name,
            client_id: generate_client_id(),
            parent_id: None,
            root_id: org_id,
            owner_id: user.id,
            domain: None,
            session_timeout_minutes: SESSION_TIMEOUT_DEFAULT,
            entitlements: default_entitlements(),
            properties: serde_json::json!({}),
            created_at: now,
            updated_at: now,
        };
        let envs = [
            new_environment(org_id, "Production", EnvType::Production, now),
            new_environment(org_id, "Sandbox", EnvType::Sandbox, Timestamp(now.0 + 1)),
        ];
        self.store
            .insert_root_organization(&org, &envs, &user)
            .await?;
        self.directory.clear();
        Ok((org, user))
    }

    /// Creates a user in `org`'s tree with `role` in `org` (operator command).
    pub async fn create_user(&self, org: OrgId, new: NewUser, role: Role) -> CoreResult<User> {
        let target = self
            .store
            .find_organization(org)
            .await?
            .ok_or_else(|| CoreError::NotFound(format!("Organization {org} not found")))?;
        let user = self
            .build_user(target.root_id, new, self.clock.now())
            .await?;
        let membership = Membership {
            user_id: user.id,
            org_id: org,
            role,
        };
        self.store.insert_user(&user, &[membership]).await?;
        self.directory.clear();
        Ok(user)
    }

    /// Finds a root organization by id or exact name (operator commands take either).
    pub async fn find_root_organization(&self, id_or_name: &str) -> CoreResult<Organization> {
        let roots = self.store.list_root_organizations().await?;
        roots
            .into_iter()
            .find(|o| o.id.to_string() == id_or_name || o.name == id_or_name)
            .ok_or_else(|| CoreError::NotFound(format!("Organization '{id_or_name}' not found")))
    }

    /// Checks and hashes a new user's credentials (shared with `POST …/users`).
    pub(super) async fn build_user(
        &self,
        root: OrgId,
        new: NewUser,
        now: Timestamp,
    ) -> CoreResult<User> {
        let username = parse_username(&new.username)?;
        check_new_password(&new.password)?;
        if self
            .store
            .find_user_by_username_key(&username_key(&username))
            .await?
            .is_some()
        {
            return Err(CoreError::Conflict(format!(
                "Username '{username}' is already taken"
            )));
        }
        let hash = self.passwords.hash(new.password).await?;
        Ok(User {
            id: UserId::generate(),
            org_id: root,
            username,
            first_name: parse_profile_field("firstName", &new.first_name)?,
            last_name: parse_profile_field("lastName", &new.last_name)?,
            email: parse_profile_field("email", &new.email)?,
            phone_number: None,
            password_hash: Some(hash),
            enabled: true,
            created_at: now,
            updated_at: now,
            last_login: None,
        })
    }
}

/// A new environment with fresh ids. Environments created together get
/// successive milliseconds so listings keep their creation order.
pub(super) fn new_environment(
    org: OrgId,
    name: &str,
    env_type: EnvType,
    now: Timestamp,
) -> Environment {
    Environment {
        id: EnvId::generate(),
        org_id: org,
        name: name.to_owned(),
        env_type,
        client_id: generate_client_id(),
        created_at: now,
        updated_at: now,
    }
}
