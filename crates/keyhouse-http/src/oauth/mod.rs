//! OAuth 2.0 endpoints: token (RFC 6749 §3.2), introspection (RFC 7662) and
//! revocation (RFC 7009). Errors here are RFC 6749 JSON, not Anypoint's shape.

mod error;
pub mod params;
pub(crate) mod token;
pub(crate) mod userinfo;

pub use error::OAuthResponseError;
pub use token::{introspect, revoke, token};
pub use userinfo::{discovery, jwks, userinfo_get, userinfo_post};
