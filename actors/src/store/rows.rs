//! Storage shapes and their conversion to the domain model.

use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;
use uuid::Uuid;

use super::StoreError;
use crate::model::{ApiKey, Group, Policy, Role, Session, User, UserSummary};

/// Fields selected for a user (the record id is derived and not read back).
pub const USER_FIELDS: &str = "uid, username, username_key, email, email_key, role, password_hash, disabled_at, \
     last_signed_in_at, last_signed_in_method, policy_ids, external_id, scim, version, created_at, updated_at";

#[derive(Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct UserRow {
    pub uid: String,
    pub username: String,
    pub username_key: String,
    pub email: Option<String>,
    pub email_key: String,
    pub role: String,
    pub password_hash: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub last_signed_in_at: Option<DateTime<Utc>>,
    pub last_signed_in_method: Option<String>,
    pub policy_ids: Option<Vec<String>>,
    pub external_id: Option<String>,
    pub scim: Option<serde_json::Value>,
    pub profile_email_keys: Option<Vec<String>>,
    pub email_keys: Option<Vec<String>>,
    pub version: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The unique-index key for an email, or a placeholder unique to the user when there is none.
pub fn email_key(user: &User) -> String {
    match &user.email {
        Some(email) => crate::validate::unique_key(email),
        None => format!("\u{0}none:{}", user.id),
    }
}

/// The lowercased addresses of a SCIM profile's `emails` other than the record's own email
/// (`email_key` holds that one, and follows it when another dialect changes it), indexed for
/// `emails.value` lookups.
pub fn profile_email_keys(profile: &serde_json::Value, email: Option<&str>) -> Vec<String> {
    let mut keys: Vec<String> = profile
        .get("emails")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|email| email.get("value").and_then(serde_json::Value::as_str))
        .map(crate::validate::unique_key)
        .collect();
    keys.sort();
    keys.dedup();
    if let Some(email) = email.map(crate::validate::unique_key) {
        keys.retain(|key| *key != email);
    }
    keys
}

/// Every address of a user, lowercased: its email and its SCIM profile's other addresses.
pub fn all_email_keys(profile: &serde_json::Value, email: Option<&str>) -> Vec<String> {
    let mut keys = profile_email_keys(profile, email);
    keys.extend(email.map(crate::validate::unique_key));
    keys.sort();
    keys
}

impl UserRow {
    pub fn from_user(user: &User) -> Self {
        UserRow {
            uid: user.id.to_string(),
            username: user.username.clone(),
            username_key: crate::validate::unique_key(&user.username),
            email: user.email.clone(),
            email_key: email_key(user),
            role: user.role.as_str().to_owned(),
            password_hash: user.password_hash.clone(),
            disabled_at: user.disabled_at,
            last_signed_in_at: user.last_signed_in_at,
            last_signed_in_method: user.last_signed_in_method.clone(),
            policy_ids: Some(uuid_strings(&user.policy_ids)),
            external_id: user.external_id.clone(),
            scim: (!user.profile.is_null()).then(|| user.profile.clone()),
            profile_email_keys: Some(profile_email_keys(&user.profile, user.email.as_deref())),
            email_keys: Some(all_email_keys(&user.profile, user.email.as_deref())),
            version: Some(i64::try_from(user.version).unwrap_or(i64::MAX)),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }

    pub fn into_user(self) -> Result<User, StoreError> {
        Ok(User {
            id: parse_uuid(&self.uid)?,
            role: stored_role(&self.role)?,
            username: self.username,
            email: self.email,
            password_hash: self.password_hash,
            disabled_at: self.disabled_at,
            last_signed_in_at: self.last_signed_in_at,
            last_signed_in_method: self.last_signed_in_method,
            policy_ids: parse_uuids(self.policy_ids.unwrap_or_default())?,
            external_id: self.external_id,
            profile: self.scim.unwrap_or(serde_json::Value::Null),
            version: self.version.and_then(|version| u64::try_from(version).ok()).unwrap_or(0),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// The projection of a whole list: each user as one array of the fields of a [`UserSummary`]
/// (no hash, profile or policy), in [`SummaryRow`]'s order. An array, not an object, because a
/// list reads 100k of them: no field names are built, converted and looked up again per user
/// (issue #12).
pub const SUMMARY_ARRAY: &str = "VALUE [uid, username, email, role, disabled_at, last_signed_in_at, \
     last_signed_in_method, created_at, updated_at]";

/// A stored user as [`SUMMARY_ARRAY`] reads it, field by field in its order.
#[derive(Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct SummaryRow(
    String,
    String,
    Option<String>,
    String,
    Option<DateTime<Utc>>,
    Option<DateTime<Utc>>,
    Option<String>,
    DateTime<Utc>,
    DateTime<Utc>,
);

impl SummaryRow {
    pub fn into_summary(self) -> Result<UserSummary, StoreError> {
        let SummaryRow(
            uid,
            username,
            email,
            role,
            disabled_at,
            last_signed_in_at,
            last_signed_in_method,
            created_at,
            updated_at,
        ) = self;
        Ok(UserSummary {
            id: parse_uuid(&uid)?,
            role: stored_role(&role)?,
            username,
            email,
            disabled_at,
            last_signed_in_at,
            last_signed_in_method,
            created_at,
            updated_at,
        })
    }
}

/// A stored role, or the store's error for one this build does not know.
fn stored_role(role: &str) -> Result<Role, StoreError> {
    Role::from_stored(role).ok_or_else(|| StoreError::Database(format!("stored role {role:?} is unknown")))
}

#[derive(Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct SessionRow {
    pub sid: String,
    pub user: String,
    pub method: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

impl SessionRow {
    pub fn into_session(self) -> Result<Session, StoreError> {
        Ok(Session {
            id: parse_uuid(&self.sid)?,
            user_id: parse_uuid(&self.user)?,
            method: self.method,
            created_at: self.created_at,
            expires_at: self.expires_at,
        })
    }
}

#[derive(Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct PolicyRow {
    pub pid: String,
    pub name: String,
    pub description: Option<String>,
    pub document: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl PolicyRow {
    pub fn into_policy(self) -> Result<Policy, StoreError> {
        Ok(Policy {
            id: parse_uuid(&self.pid)?,
            document: serde_json::from_str(&self.document)
                .map_err(|error| StoreError::Database(format!("stored policy {} is unreadable: {error}", self.pid)))?,
            name: self.name,
            description: self.description,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct GroupRow {
    pub gid: String,
    pub name: String,
    pub description: Option<String>,
    pub external_id: Option<String>,
    pub members: Vec<String>,
    pub policy_ids: Vec<String>,
    pub version: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl GroupRow {
    pub fn into_group(self) -> Result<Group, StoreError> {
        Ok(Group {
            id: parse_uuid(&self.gid)?,
            name: self.name,
            description: self.description,
            external_id: self.external_id,
            members: parse_uuids(self.members)?,
            policy_ids: parse_uuids(self.policy_ids)?,
            version: self.version.and_then(|version| u64::try_from(version).ok()).unwrap_or(0),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

#[derive(Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct ApiKeyRow {
    pub kid: String,
    pub user: String,
    pub name: String,
    pub key_prefix: String,
    pub policy_ids: Vec<String>,
    pub narrowed: bool,
    /// Read only by the key lookup.
    pub key_hash: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ApiKeyRow {
    pub fn into_key(self) -> Result<ApiKey, StoreError> {
        Ok(ApiKey {
            id: parse_uuid(&self.kid)?,
            user_id: parse_uuid(&self.user)?,
            name: self.name,
            key_prefix: self.key_prefix,
            policy_ids: parse_uuids(self.policy_ids)?,
            narrowed: self.narrowed,
            expires_at: self.expires_at,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// Record ids as stored.
pub fn uuid_strings(ids: &[Uuid]) -> Vec<String> {
    ids.iter().map(Uuid::to_string).collect()
}

fn parse_uuids(values: Vec<String>) -> Result<Vec<Uuid>, StoreError> {
    values.iter().map(|value| parse_uuid(value)).collect()
}

fn parse_uuid(value: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(value).map_err(|_| StoreError::Database(format!("stored id {value:?} is not a UUID")))
}
