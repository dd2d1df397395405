//! Firezone's user JSON: exactly the eight documented keys.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_actors::{Role, User, UserSummary};

/// `2023-03-29T15:11:47.363517Z`: always six fraction digits and `Z`.
pub(super) fn timestamp(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Firezone's role names.
pub fn role(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Unprivileged => "unprivileged",
    }
}

/// A user as `/v0/users` shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = FirezoneUser)]
pub struct UserJson {
    /// The user's UUID, hyphenated.
    #[schema(format = "uuid")]
    id: String,
    /// The email, or the username of a user without one.
    email: String,
    #[schema(value_type = crate::http::openapi::firezone::FirezoneRole)]
    role: &'static str,
    /// Six fraction digits and `Z`, like every timestamp here.
    #[schema(required = true, format = DateTime)]
    last_signed_in_at: Option<String>,
    /// `email` for a password sign-in, else the provider's id.
    #[schema(required = true)]
    last_signed_in_method: Option<String>,
    /// Set while the user is disabled.
    #[schema(required = true, format = DateTime)]
    disabled_at: Option<String>,
    #[schema(format = DateTime)]
    inserted_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl From<&User> for UserJson {
    fn from(user: &User) -> Self {
        UserJson::from(&UserSummary::from(user))
    }
}

impl From<&UserSummary> for UserJson {
    fn from(user: &UserSummary) -> Self {
        UserJson {
            id: user.id.to_string(),
            email: user.email_or_username().to_owned(),
            role: role(user.role),
            last_signed_in_at: user.last_signed_in_at.map(timestamp),
            last_signed_in_method: user.last_signed_in_method.clone(),
            disabled_at: user.disabled_at.map(timestamp),
            inserted_at: timestamp(user.created_at),
            updated_at: timestamp(user.updated_at),
        }
    }
}
