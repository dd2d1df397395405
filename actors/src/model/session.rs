//! Server-side records that back every token, so revoking one rejects the token at once.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// A sign-in session: a login JWT is valid only while its session exists and is unexpired.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    /// How the user signed in: `"email"` for password, otherwise a provider id.
    pub method: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}
