//! IAM records: policies, groups and API keys, and the permissions a caller carries.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::policy::PolicyDocument;

/// A named, validated policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    pub document: PolicyDocument,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A group of users; its policies apply to every member.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// Set by SCIM provisioning; absent for groups made through the API.
    pub external_id: Option<String>,
    pub members: Vec<Uuid>,
    pub policy_ids: Vec<Uuid>,
    /// Incremented by every write: SCIM's ETag and the compare-and-swap token of provisioning.
    pub version: u64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// An API key record. The raw `sk_…` value is shown once at creation and only its keyed hash
/// is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// The first 8 characters of the raw key, so owners can tell keys apart.
    pub key_prefix: String,
    pub policy_ids: Vec<Uuid>,
    /// Limited by its own policies (stays limited if they are deleted).
    pub narrowed: bool,
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl ApiKey {
    /// Whether the key may still be used.
    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// The policies that decide what a caller may do, loaded from storage for each request.
#[derive(Debug, Clone, Default)]
pub struct Permissions {
    /// The user's own policies plus those of its groups.
    pub owner: Vec<PolicyDocument>,
    /// The API key's own policies, when the caller used a key that has some: the caller is
    /// then limited to what both sets allow.
    pub key: Option<Vec<PolicyDocument>>,
}
