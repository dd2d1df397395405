//! The authenticated caller of a request, resolved from storage on every request.

use super::{TenantId, User};
use uuid::Uuid;

/// Which kind of credential authenticated the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A login JWT backed by a session record.
    Session(Uuid),
    /// A long-lived API token backed by a token record.
    ApiToken(Uuid),
}

/// A caller whose credential was checked against live records just now; the role is the
/// stored one, never a claim from the token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: TenantId,
    pub user: User,
    pub credential: CredentialKind,
}

impl Principal {
    /// Whether the caller holds the admin role right now.
    pub fn is_admin(&self) -> bool {
        self.user.role == super::Role::Admin
    }
}
