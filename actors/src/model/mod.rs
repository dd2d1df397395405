//! The identity model shared by every dialect: one user record, its sessions, keys and policies.

mod iam;
mod identity;
mod ids;
mod principal;
mod session;
mod tenant;
mod user;

pub use iam::{ApiKey, Group, Permissions, Policy};
pub use identity::{identity_id, IdentityKey, LinkedIdentity};
pub use ids::Kind;
pub use principal::{CredentialKind, Principal};
pub use session::Session;
pub use tenant::{limits as tenant_limits, parse_hostname, Tenant, TenantId, TenantSettings};
pub use user::{NewUser, Role, User, UserChanges, UserSummary};
