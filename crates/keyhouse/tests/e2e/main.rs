//! End-to-end tests: one integration binary that spawns the real server and
//! speaks HTTP to it. Run against SQLite by default and against PostgreSQL
//! with `KEYHOUSE_TEST_BACKEND=postgres` (scripts/test.sh runs both).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod admin_cli;
mod anypoint_cli;
mod app_scopes;
mod audit;
mod audit_access;
mod audit_coverage;
mod authorization_code;
mod authorizations;
mod bad_input;
mod browser_flow;
mod cluster;
mod connected_apps;
mod console;
mod console_admin;
mod console_orgs;
mod console_users;
mod environments;
mod expiry;
mod federation;
mod health;
mod jwt_bearer;
mod login;
mod me;
mod mfa;
mod oauth_clients;
mod observability;
mod oidc_client;
mod oidc_provider;
mod openapi;
mod organizations;
mod password_grant;
mod public_clients;
mod refresh_tokens;
mod restart;
mod saml;
mod saml_browser;
mod token_endpoint;
mod users;
