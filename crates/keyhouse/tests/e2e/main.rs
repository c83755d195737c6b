//! End-to-end tests: one integration binary that spawns the real server and
//! speaks HTTP to it. Run against SQLite by default and against PostgreSQL
//! with `KEYHOUSE_TEST_BACKEND=postgres` (scripts/test.sh runs both).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

mod admin_cli;
mod anypoint_cli;
mod app_scopes;
mod bad_input;
mod cluster;
mod connected_apps;
mod environments;
mod expiry;
mod health;
mod login;
mod me;
mod oauth_clients;
mod organizations;
mod restart;
mod token_endpoint;
