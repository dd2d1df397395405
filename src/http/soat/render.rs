//! SOAT's JSON records.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tessera_actors::{Role, Session, User};

use crate::http::{soat_session_id, soat_user_id};

/// ISO 8601 as JavaScript's `toISOString` writes it.
fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// SOAT's role names.
pub fn role(role: Role) -> &'static str {
    match role {
        Role::Admin => "admin",
        Role::Unprivileged => "user",
    }
}

/// `UserRecord`.
#[derive(Serialize)]
pub struct UserRecord {
    id: String,
    username: String,
    role: &'static str,
    created_at: String,
    updated_at: String,
}

impl From<&User> for UserRecord {
    fn from(user: &User) -> Self {
        UserRecord {
            id: soat_user_id(user.id),
            username: user.username.clone(),
            role: role(user.role),
            created_at: iso(user.created_at),
            updated_at: iso(user.updated_at),
        }
    }
}

/// A session as listed by `/api/v1/sessions`.
#[derive(Serialize)]
pub struct SessionRecord {
    id: String,
    user_id: String,
    method: String,
    created_at: String,
    expires_at: String,
}

impl From<&Session> for SessionRecord {
    fn from(session: &Session) -> Self {
        SessionRecord {
            id: soat_session_id(session.id),
            user_id: soat_user_id(session.user_id),
            method: session.method.clone(),
            created_at: iso(session.created_at),
            expires_at: iso(session.expires_at),
        }
    }
}
