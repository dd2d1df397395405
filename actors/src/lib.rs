//! Tessera's domain: the identity model, the actors that own every operation on it, and the
//! tenant-scoped SurrealDB store they share. Nothing here knows HTTP; the dialects in the
//! `tessera` crate translate their wire formats into the messages defined here.

pub mod audit;
pub mod audit_filters;
pub mod auth;
pub mod configuration;
pub mod crypto;
pub mod error;
pub mod hasher;
pub mod login_brake;
pub mod metrics;
pub mod model;
pub mod policy;
pub mod provisioning_actor;
pub mod scim;
pub mod secrets;
pub mod session_actor;
pub mod sso;
pub mod store;
pub mod system;
pub mod tenant_directory;
pub mod throttle;
pub mod tokens;
pub mod user_actor;
pub mod validate;

pub use error::{AuthFailure, Conflict, DomainError, FieldErrors};
pub use model::{Principal, Role, Session, TenantId, User, UserSummary};
pub use system::{Domain, DomainSettings};
pub use tenant_directory::TenantDirectory;
