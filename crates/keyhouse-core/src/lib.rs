//! Keyhouse core: every behaviour of the server, free of HTTP and SQL.
//!
//! The HTTP layer extracts requests and calls [`service::Keyhouse`]; storage
//! backends implement the traits in [`store`]. Time comes in through
//! [`clock::Clock`] so that expiry is testable without sleeping.

pub mod access;
pub mod audit;
pub mod audit_query;
pub mod authn;
pub mod clock;
pub mod error;
pub mod federation;
pub mod ids;
pub mod metrics;
pub mod oauth;
pub mod oidc;
pub mod service;
pub mod store;
pub mod store_idp;
pub mod store_mfa;
pub mod time_fmt;

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance_grants;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance_idp;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance_mfa;
#[cfg(any(test, feature = "conformance"))]
pub mod conformance_users;

pub use error::CoreError;
pub use service::Keyhouse;
