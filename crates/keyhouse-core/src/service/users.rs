//! Users of an organization (Anypoint §7 "Users"): list, create, read,
//! change, disable and delete. Users belong to a tenant (their root
//! organization); the path's organization decides who may act and, for
//! changes, whose users: an administrator of a business group manages only
//! users whose memberships all lie in that group's subtree.

use super::bootstrap::NewUser;
use super::{Keyhouse, Principal};
use crate::access::user::parse_profile_field;
use crate::access::{Action, Actor, Membership, OrgTree, Organization, Role, User};
use crate::audit::AuditEvent;
use crate::error::{CoreError, CoreResult};
use crate::ids::{OrgId, UserId};
use crate::store::Page;

/// Users per page when `limit` is absent (Anypoint lists 25).
pub const USER_PAGE_DEFAULT: u64 = 25;
/// Largest page of users a client may ask for.
pub const USER_PAGE_MAX: u64 = 500;
/// Longest search text accepted (the longest field it can match).
const SEARCH_MAX_CHARS: usize = 255;

/// `POST …/users`: a user with a password, made a member of the path's
/// organization (Anypoint: new users have no permissions until granted).
#[derive(Clone, Default)]
pub struct NewOrgUser {
    pub username: String,
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub phone_number: Option<String>,
}

impl std::fmt::Debug for NewOrgUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewOrgUser")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// `PUT …/users/{userId}`: the fields to change; absent ones stay. An empty
/// `phone_number` clears it.
#[derive(Debug, Clone, Default)]
pub struct UserChange {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone_number: Option<String>,
    pub enabled: Option<bool>,
}

/// A required, printable profile field (names and email of API-created users).
fn required_field(field: &str, raw: &str) -> CoreResult<String> {
    let value = parse_profile_field(field, raw)?;
    if value.is_empty() {
        return Err(CoreError::Validation(format!("{field} is required")));
    }
    Ok(value)
}

/// An email address: required, printable, and with one `@` inside it.
fn parse_email(raw: &str) -> CoreResult<String> {
    let email = required_field("email", raw)?;
    match email.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && !email.contains(char::is_whitespace) =>
        {
            Ok(email)
        }
        _ => Err(CoreError::Validation(
            "email must be an address such as ada@example.com".to_owned(),
        )),
    }
}

/// A phone number: optional free text; empty means none.
fn parse_phone(raw: Option<&str>) -> CoreResult<Option<String>> {
    let Some(raw) = raw else { return Ok(None) };
    let phone = parse_profile_field("phoneNumber", raw)?;
    Ok(Some(phone).filter(|p| !p.is_empty()))
}

impl Keyhouse {
    /// `GET …/users?offset&limit&search`: the tenant's users, by username.
    pub async fn users(
        &self,
        principal: &Principal,
        org: OrgId,
        search: Option<&str>,
        offset: u64,
        limit: Option<u64>,
    ) -> CoreResult<Page<User>> {
        let limit = limit.unwrap_or(USER_PAGE_DEFAULT);
        if limit == 0 || limit > USER_PAGE_MAX {
            return Err(CoreError::Validation(format!(
                "limit must be between 1 and {USER_PAGE_MAX}"
            )));
        }
        let search = search.map(str::trim).filter(|s| !s.is_empty());
        if search.is_some_and(|s| s.chars().count() > SEARCH_MAX_CHARS) {
            return Err(CoreError::Validation(format!(
                "search must be at most {SEARCH_MAX_CHARS} characters"
            )));
        }
        let (_, _, found) = self.authorize(principal, org, Action::ViewUsers).await?;
        Ok(self
            .store
            .list_users(found.root_id, search, offset, limit)
            .await?)
    }

    /// `GET …/users/{userId}`: a user of the organization's tenant.
    pub async fn org_user(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
    ) -> CoreResult<User> {
        let (_, _, found) = self.authorize(principal, org, Action::ViewUsers).await?;
        self.user_of_tenant(&found, user).await
    }

    /// `POST …/users`: checks the username and password as `keyhouse admin
    /// create-user` does (the same code), then creates the user as a member of
    /// `org`, audited as `user.created` in the same transaction.
    pub async fn create_org_user(
        &self,
        principal: &Principal,
        org: OrgId,
        new: NewOrgUser,
    ) -> CoreResult<User> {
        let (actor, _, found) = self.authorize(principal, org, Action::ManageUsers).await?;
        let first_name = required_field("firstName", &new.first_name)?;
        let last_name = required_field("lastName", &new.last_name)?;
        let email = parse_email(&new.email)?;
        let phone_number = parse_phone(new.phone_number.as_deref())?;
        let basics = NewUser {
            username: new.username,
            password: new.password,
            first_name,
            last_name,
            email,
        };
        let mut user = self
            .build_user(found.root_id, basics, self.clock.now())
            .await?;
        user.phone_number = phone_number;
        let membership = Membership {
            user_id: user.id,
            org_id: org,
            role: Role::Member,
        };
        let event = self
            .user_event(&actor, principal, &user, "user.created")
            .with("memberOf", org.to_string());
        self.store
            .insert_user_audited(&user, &[membership], &[event])
            .await?;
        Ok(user)
    }

    /// `PUT …/users/{userId}`: changes the profile and `enabled`. Disabling
    /// ends the user's tokens and browser sessions at once (storage, this
    /// node's memory, and other nodes through the store's notifications).
    pub async fn update_org_user(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
        change: UserChange,
    ) -> CoreResult<User> {
        let (actor, tree, found) = self.authorize(principal, org, Action::ManageUsers).await?;
        let before = self.managed_user(&actor, &tree, &found, user).await?;
        let mut after = before.clone();
        if let Some(v) = &change.first_name {
            after.first_name = required_field("firstName", v)?;
        }
        if let Some(v) = &change.last_name {
            after.last_name = required_field("lastName", v)?;
        }
        if let Some(v) = &change.email {
            after.email = parse_email(v)?;
        }
        if change.phone_number.is_some() {
            after.phone_number = parse_phone(change.phone_number.as_deref())?;
        }
        if let Some(enabled) = change.enabled {
            if !enabled && before.enabled {
                self.check_removable(&actor, &tree, &before, "disable")?;
            }
            after.enabled = enabled;
        }
        let changed: Vec<&str> = [
            ("firstName", before.first_name != after.first_name),
            ("lastName", before.last_name != after.last_name),
            ("email", before.email != after.email),
            ("phoneNumber", before.phone_number != after.phone_number),
        ]
        .into_iter()
        .filter_map(|(name, differs)| differs.then_some(name))
        .collect();
        let mut events = Vec::new();
        if !changed.is_empty() {
            events.push(
                self.user_event(&actor, principal, &after, "user.updated")
                    .with("fields", changed.join(",")),
            );
        }
        if before.enabled != after.enabled {
            let action = if after.enabled {
                "user.enabled"
            } else {
                "user.disabled"
            };
            events.push(self.user_event(&actor, principal, &after, action));
        }
        if events.is_empty() {
            return Ok(before);
        }
        after.updated_at = self.clock.now();
        let revoked = self.store.update_user(&after, &events).await?;
        for hash in &revoked {
            self.sessions.remove(hash);
        }
        self.directory.forget_user(after.id);
        Ok(after)
    }

    /// `DELETE …/users/{userId}`: the user goes with their memberships,
    /// tokens, sessions, consents and MFA, audited as `user.deleted`.
    pub async fn delete_org_user(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
    ) -> CoreResult<()> {
        let (actor, tree, found) = self.authorize(principal, org, Action::ManageUsers).await?;
        let gone = self.managed_user(&actor, &tree, &found, user).await?;
        self.check_removable(&actor, &tree, &gone, "delete")?;
        let event = self.user_event(&actor, principal, &gone, "user.deleted");
        let revoked = self.store.delete_user(gone.id, &[event]).await?;
        for hash in &revoked {
            self.sessions.remove(hash);
        }
        self.directory.forget_user(gone.id);
        self.mfa_cache.forget_user(gone.id);
        Ok(())
    }

    /// A user of `org`'s tenant, or not found (users of other tenants look
    /// exactly like users that do not exist).
    async fn user_of_tenant(&self, org: &Organization, user: UserId) -> CoreResult<User> {
        self.load_user(user)
            .await?
            .filter(|u| u.org_id == org.root_id)
            .ok_or_else(|| CoreError::NotFound(format!("User {user} not found")))
    }

    /// A user the caller may change through `org`: in the tenant, and every
    /// membership in an organization the caller administers (for apps: inside
    /// `org`'s subtree), so a business group's administrator cannot change the
    /// administrators of its parent.
    async fn managed_user(
        &self,
        actor: &Actor,
        tree: &OrgTree,
        org: &Organization,
        user: UserId,
    ) -> CoreResult<User> {
        let target = self.user_of_tenant(org, user).await?;
        let memberships = self.load_memberships(target.id).await?;
        let allowed = |m: &Membership| match actor {
            Actor::User(u) => u.role_in(tree, m.org_id) == Some(Role::Admin),
            Actor::App(_) => m.org_id == org.id || tree.ancestors(m.org_id).contains(&org.id),
        };
        if !memberships.iter().all(allowed) {
            return Err(CoreError::Forbidden(format!(
                "User {user} also belongs to organizations you do not administer"
            )));
        }
        Ok(target)
    }

    /// Refuses to disable or delete the caller themself or an organization's
    /// owner (either would leave the organization without its administrator).
    fn check_removable(
        &self,
        actor: &Actor,
        tree: &OrgTree,
        target: &User,
        verb: &str,
    ) -> CoreResult<()> {
        if matches!(actor, Actor::User(u) if u.user.id == target.id) {
            return Err(CoreError::Validation(format!(
                "You cannot {verb} your own user"
            )));
        }
        if let Some(owned) = tree
            .all_in_order()
            .into_iter()
            .find(|o| o.owner_id == target.id)
        {
            return Err(CoreError::Validation(format!(
                "You cannot {verb} the owner of the organization {}",
                owned.name
            )));
        }
        Ok(())
    }

    /// An audit event about `user`, in their tenant's log, naming them.
    fn user_event(
        &self,
        actor: &Actor,
        principal: &Principal,
        user: &User,
        action: &str,
    ) -> AuditEvent {
        self.change_event(
            actor,
            principal,
            user.org_id,
            action,
            "user",
            user.id.to_string(),
        )
        .with("username", user.username.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_and_phones() {
        assert!(parse_email("ada@example.com").is_ok());
        for bad in ["", "ada", "@example.com", "ada@", "a@b@c", "a b@c.d"] {
            assert!(parse_email(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_phone(Some(" ")).ok(), Some(None));
        assert_eq!(
            parse_phone(Some("555 0100")).ok(),
            Some(Some("555 0100".to_owned()))
        );
        assert!(parse_phone(Some("1\u{0}")).is_err());
    }
}
