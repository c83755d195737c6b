//! The access-management domain: organizations and their business-group tree,
//! environments, users and memberships, and who may do what.

pub mod app_rules;
pub mod connected_app;
pub mod environment;
pub mod organization;
pub mod permissions;
pub mod public_key;
pub mod tree;
pub mod user;

pub use connected_app::{Audience, ConnectedApp, GrantType, ScopeGrant, SecretHash};
pub use environment::{EnvType, Environment};
pub use organization::Organization;
pub use permissions::{Action, Actor, AppActor, UserActor};
pub use tree::OrgTree;
pub use user::{Membership, Role, User};
