//! OAuth 2.0: client authentication, the grants, the scope catalogue,
//! introspection and revocation, and RFC 6749 §5.2 errors.

pub mod client_auth;
pub mod error;
pub mod grant;
pub mod introspect;
pub mod revoke;
pub mod scope;
pub mod secret;
