//! Authentication: password hashing, opaque bearer tokens and the in-memory
//! session table that makes token validation a memory lookup.

pub mod browser;
pub mod password;
pub mod sessions;
pub mod throttle;
pub mod token;
pub mod token_writer;
pub mod totp;
