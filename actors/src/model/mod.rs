//! The identity model shared by every dialect: one user record, its sessions and tokens.

mod principal;
mod session;
mod tenant;
mod user;

pub use principal::{CredentialKind, Principal};
pub use session::{ApiToken, Session};
pub use tenant::TenantId;
pub use user::{NewUser, Role, User, UserChanges};
