//! The authenticated caller of a request, resolved from storage on every request.

use std::collections::BTreeMap;

use super::{Kind, Permissions, Role, TenantId, User};
use uuid::Uuid;

/// Which kind of credential authenticated the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialKind {
    /// A login JWT backed by a session record.
    Session(Uuid),
    /// An `sk_…` API key backed by a key record.
    ApiKey(Uuid),
}

/// A caller whose credential was checked against live records just now; the role is the
/// stored one, never a claim from the token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub tenant: TenantId,
    pub user: User,
    pub credential: CredentialKind,
    pub permissions: Permissions,
    /// Where the request came from (for the audit trail); set by the HTTP layer.
    pub origin: crate::audit::RequestOrigin,
}

impl Principal {
    /// Whether the caller holds the admin role right now.
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }

    /// The condition keys policies can test (`soat:…`).
    pub fn context(&self) -> BTreeMap<String, String> {
        let role = if self.is_admin() { "admin" } else { "user" };
        let credential = match self.credential {
            CredentialKind::Session(_) => "session",
            CredentialKind::ApiKey(_) => "api-key",
        };
        BTreeMap::from([
            ("soat:tenant".to_owned(), self.tenant.to_string()),
            ("soat:user_id".to_owned(), Kind::User.public_id(self.user.id)),
            ("soat:username".to_owned(), self.user.username.clone()),
            ("soat:role".to_owned(), role.to_owned()),
            ("soat:credential".to_owned(), credential.to_owned()),
        ])
    }
}
