//! Firezone's user JSON: exactly the eight documented keys.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_actors::{Role, User};

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
#[derive(Serialize)]
pub struct UserJson {
    id: String,
    email: String,
    role: &'static str,
    last_signed_in_at: Option<String>,
    last_signed_in_method: Option<String>,
    disabled_at: Option<String>,
    inserted_at: String,
    updated_at: String,
}

impl From<&User> for UserJson {
    fn from(user: &User) -> Self {
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
