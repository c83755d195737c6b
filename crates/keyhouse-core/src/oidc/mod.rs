//! OpenID Connect provider pieces: signing keys and their rotation, ID tokens,
//! discovery metadata (OIDC Core 1.0, OIDC Discovery 1.0, RFC 7517).

pub mod id_token;
pub mod keys;
pub mod signing;
