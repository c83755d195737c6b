//! OAuth 2.0: client authentication, the grants, the scope catalogue,
//! introspection and revocation, and RFC 6749 §5.2 errors.

pub mod assertion;
pub mod authorize;
pub mod client_auth;
pub mod error;
pub mod grant;
pub mod introspect;
pub mod pkce;
pub mod records;
pub mod revoke;
pub mod scope;
pub mod secret;
