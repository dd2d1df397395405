//! The one user record every dialect reads and writes.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// What a user may do without policies: admins manage the directory, others only themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    Unprivileged,
}

impl Role {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Unprivileged => "unprivileged",
        }
    }

    /// Parses the stored spelling.
    pub fn from_stored(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Role::Admin),
            "unprivileged" => Some(Role::Unprivileged),
            _ => None,
        }
    }
}

/// A user of one tenant, as stored. The password hash never leaves the actors crate's
/// callers through a dialect: renderers pick the public fields.
#[derive(Clone, PartialEq)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    /// Absent for users created with a username only (SOAT); Firezone then shows the username.
    pub email: Option<String>,
    pub role: Role,
    pub password_hash: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub last_signed_in_at: Option<DateTime<Utc>>,
    pub last_signed_in_method: Option<String>,
    /// Policies attached directly to the user.
    pub policy_ids: Vec<Uuid>,
    /// The identity provider's own id for the account (SCIM `externalId`), used to match a
    /// provisioned account on later syncs and sign-ins.
    pub external_id: Option<String>,
    /// The SCIM attributes beyond the core fields (name, emails, phone numbers, the enterprise
    /// extension, …) as one JSON object; `Null` for users nobody provisioned.
    pub profile: serde_json::Value,
    /// Incremented by every write: SCIM's ETag and the compare-and-swap token of provisioning.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    /// A user about to be created: a fresh id, never signed in, no policies, created now.
    ///
    /// The id is a UUIDv7 (its first 48 bits the creation time in milliseconds, 74 random bits
    /// after them): records are keyed `[tenant, id]`, so users created together sit together
    /// on disk, and a list in creation order reads neighbouring blocks instead of one random
    /// block per user.
    pub fn new(username: String, email: Option<String>, role: Role, password_hash: Option<String>) -> Self {
        let now = Utc::now();
        User {
            id: Uuid::now_v7(),
            username,
            email,
            role,
            password_hash,
            disabled_at: None,
            last_signed_in_at: None,
            last_signed_in_method: None,
            policy_ids: Vec::new(),
            external_id: None,
            profile: serde_json::Value::Null,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    /// The address Firezone and sign-in use: the email, or the username where none was given.
    pub fn email_or_username(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.username)
    }

    /// Whether sign-in and tokens are refused for this user.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}

/// A user as whole lists show it (`GET /api/v1/users`, `GET /v0/users`): the fields those
/// render, without the password hash, the SCIM profile or the policies. A list of 100,000
/// users reads only these (issue #12), and never pulls every password hash into memory.
#[derive(Debug, Clone, PartialEq)]
pub struct UserSummary {
    pub id: Uuid,
    pub username: String,
    pub email: Option<String>,
    pub role: Role,
    pub disabled_at: Option<DateTime<Utc>>,
    pub last_signed_in_at: Option<DateTime<Utc>>,
    pub last_signed_in_method: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl UserSummary {
    /// As [`User::email_or_username`].
    pub fn email_or_username(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.username)
    }
}

impl From<&User> for UserSummary {
    fn from(user: &User) -> Self {
        UserSummary {
            id: user.id,
            username: user.username.clone(),
            email: user.email.clone(),
            role: user.role,
            disabled_at: user.disabled_at,
            last_signed_in_at: user.last_signed_in_at,
            last_signed_in_method: user.last_signed_in_method.clone(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The hash is deliberately left out so that a stray `{:?}` never logs it.
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

/// A request to create a user, already translated out of its dialect.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub email: Option<String>,
    pub role: Role,
    /// The clear password, hashed by the actor before anything is stored; empty means none.
    pub password: Option<String>,
    /// Checked only where the dialect requires a confirmation.
    pub password_confirmation: Option<String>,
}

/// A partial update: `None` leaves a field unchanged.
#[derive(Clone, Default)]
pub struct UserChanges {
    pub email: Option<String>,
    pub password: Option<String>,
    pub password_confirmation: Option<String>,
    pub role: Option<Role>,
    /// `Some(true)` disables the account (its sessions end at once), `Some(false)` enables it.
    pub disabled: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// New users get time-ordered ids, so that users created one after another are neighbours
    /// in the store's `[tenant, id]` key order (what makes a whole listing read blocks in turn).
    #[test]
    fn new_users_get_time_ordered_ids() {
        let first = User::new("a".into(), None, Role::Unprivileged, None);
        std::thread::sleep(std::time::Duration::from_millis(2));
        let second = User::new("b".into(), None, Role::Unprivileged, None);
        assert_eq!(first.id.get_version_num(), 7);
        assert!(first.id < second.id, "{} then {}", first.id, second.id);
        let unix = |id: Uuid| id.get_timestamp().map(|at| at.to_unix()).expect("a v7 id has a timestamp");
        let (seconds, _) = unix(first.id);
        assert!((seconds as i64 - first.created_at.timestamp()).abs() <= 1);
    }
}
