//! A tenant's identity configuration (Firezone's `/v0/configuration`): local sign-in, the
//! OIDC and SAML providers users sign in through, and client defaults. Validated here with
//! Firezone's messages; stored with provider secrets encrypted.

mod model;
mod validate;

pub use model::{stored_local_auth_enabled, Configuration, Logo, OidcProvider, SamlProvider};
pub use validate::{apply_changes, RESERVED_PROVIDER_IDS};
