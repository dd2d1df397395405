//! Policies and their attachment to users, groups and API keys.

use chrono::Utc;
use surrealdb::types::{Object, SurrealValue, Value};
use uuid::Uuid;

use super::rows::{uuid_strings, PolicyRow};
use super::{Scope, Store, StoreError};
use crate::model::{Policy, TenantId};
use crate::policy::PolicyDocument;

const POLICY_FIELDS: &str = "pid, name, description, document, created_at, updated_at";

/// Where a list of policy ids is attached.
#[derive(Debug, Clone, Copy)]
pub enum Holder {
    User(Uuid),
    Group(Uuid),
    ApiKey(Uuid),
}

impl Holder {
    /// Extra assignments when the list changes: a key with policies is narrowed by them.
    fn extra(self) -> &'static str {
        match self {
            // Once narrowed, always narrowed: emptying the list leaves the key with nothing.
            Holder::ApiKey(_) => ", narrowed = narrowed OR array::len($ids) > 0",
            Holder::User(_) | Holder::Group(_) => "",
        }
    }

    /// What a change of this holder's policies can affect: its user, its key, or (for a group)
    /// anyone in the tenant.
    fn scope(self, tenant: &TenantId) -> super::Scope<'_> {
        match self {
            Holder::User(id) => super::Scope::User(tenant.as_str(), id),
            Holder::Group(_) => super::Scope::Tenant(tenant.as_str()),
            Holder::ApiKey(id) => super::Scope::ApiKey(tenant.as_str(), id),
        }
    }

    fn table_and_key(self) -> (&'static str, Uuid) {
        match self {
            Holder::User(id) => ("user", id),
            Holder::Group(id) => ("user_group", id),
            Holder::ApiKey(id) => ("api_key", id),
        }
    }
}

/// The policies among `$ids` (each once) that exist, read by record id.
#[cfg(test)]
pub(super) const EXISTING_POLICIES: &str =
    "SELECT pid FROM array::map(array::distinct($ids), |$pid| type::record('policy', [$tenant, $pid]))";

/// Throws `missing_policy` unless every id in `$ids` names a policy of the tenant (the policies
/// are read by record id, [`EXISTING_POLICIES`]).
pub(crate) const CHECK_POLICIES: &str = "IF array::len(SELECT pid FROM array::map(array::distinct($ids), \
     |$pid| type::record('policy', [$tenant, $pid]))) != array::len(array::distinct($ids)) { THROW 'missing_policy'; };";

/// The policies among `$ids` (each once), read by record id, in creation order.
pub(super) const POLICIES_BY_ID: &str =
    "array::map(array::distinct($ids), |$pid| type::record('policy', [$tenant, $pid])) ORDER BY created_at, pid";

/// The policy ids of the groups `$uid` is a member of, read by record ids through the user's
/// memberships.
pub(super) fn group_policy_ids() -> String {
    format!("SELECT VALUE policy_ids FROM {}", super::groups::groups_of_user())
}

/// The tenant's policies, oldest first (`span`: only those).
pub(super) fn list_policies_query(span: Option<super::Span>) -> String {
    let clause = super::span::clause(span);
    format!("SELECT {POLICY_FIELDS} FROM policy WHERE tenant = $tenant ORDER BY created_at, pid{clause}")
}

impl Store {
    /// Stores a new policy.
    pub async fn create_policy(&self, tenant: &TenantId, policy: &Policy) -> Result<(), StoreError> {
        let document = document_text(policy)?;
        self.retrying(|| async {
            self.db
                .query(
                    "CREATE type::record('policy', [$tenant, $pid]) SET tenant = $tenant, pid = $pid, name = $name, \
                 description = $description, document = $document, created_at = $created_at, \
                 updated_at = $created_at RETURN NONE",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("pid", policy.id.to_string()))
                .bind(("name", policy.name.clone()))
                .bind(("description", policy.description.clone()))
                .bind(("document", document.clone()))
                .bind(("created_at", policy.created_at))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Applies `patch` (only the fields it names, in one statement, so concurrent updates of
    /// different fields both apply) and returns the policy; `NotFound` if it is gone.
    pub async fn update_policy(&self, tenant: &TenantId, id: Uuid, patch: &PolicyPatch) -> Result<Policy, StoreError> {
        let _changing = self.changing(Scope::Tenant(tenant.as_str()));
        let patch = patch.to_value()?;
        self.retrying(|| async {
            self.db
                .query(
                    "BEGIN TRANSACTION;
                 IF record::exists(type::record('policy', [$tenant, $pid])) = false { THROW 'not_found'; };
                 UPDATE type::record('policy', [$tenant, $pid]) MERGE $patch RETURN NONE;
                 COMMIT TRANSACTION;",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("pid", id.to_string()))
                .bind(("patch", patch.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await?;
        self.get_policy(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// Deletes a policy and detaches it from every holder, in one transaction.
    pub async fn delete_policy(&self, tenant: &TenantId, id: Uuid) -> Result<(), StoreError> {
        let _changing = self.changing(Scope::Tenant(tenant.as_str()));
        self.retrying(|| async {
            self.db
                .query(
                    "BEGIN TRANSACTION;
                     IF record::exists(type::record('policy', [$tenant, $pid])) = false { THROW 'not_found'; };
                     DELETE type::record('policy', [$tenant, $pid]);
                     UPDATE user SET policy_ids -= $pid WHERE tenant = $tenant AND policy_ids CONTAINS $pid;
                     UPDATE user_group SET policy_ids -= $pid WHERE tenant = $tenant AND policy_ids CONTAINS $pid;
                     UPDATE api_key SET policy_ids -= $pid WHERE tenant = $tenant AND policy_ids CONTAINS $pid;
                     COMMIT TRANSACTION;",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("pid", id.to_string()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// The policy with this id, if it exists in this tenant.
    pub async fn get_policy(&self, tenant: &TenantId, id: Uuid) -> Result<Option<Policy>, StoreError> {
        Ok(self.get_policies(tenant, &[id]).await?.into_iter().next())
    }

    /// The policies among `ids` that exist in this tenant, in creation order.
    pub async fn get_policies(&self, tenant: &TenantId, ids: &[Uuid]) -> Result<Vec<Policy>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let query = format!("SELECT {POLICY_FIELDS} FROM {POLICIES_BY_ID}");
        let mut response =
            self.db.query(query).bind(("tenant", tenant.as_str().to_owned())).bind(("ids", uuid_strings(ids))).await?;
        let rows: Vec<PolicyRow> = response.take(0)?;
        rows.into_iter().map(PolicyRow::into_policy).collect()
    }

    /// The tenant's policies, oldest first (`span`: only those).
    pub async fn list_policies(&self, tenant: &TenantId, span: Option<super::Span>) -> Result<Vec<Policy>, StoreError> {
        let request = self.db.query(list_policies_query(span)).bind(("tenant", tenant.as_str().to_owned()));
        let mut response = super::span::bind(request, span).await?;
        let rows: Vec<PolicyRow> = response.take(0)?;
        rows.into_iter().map(PolicyRow::into_policy).collect()
    }

    /// Replaces the policy list of a holder. `NotFound` if the holder is gone, `MissingPolicy`
    /// (and no change) if any id names no policy of the tenant. With `expected`, the list is
    /// replaced only if the holder's policy-list version is still that one (`VersionMismatch`
    /// otherwise), checked in the writing transaction: two full replacements computed from the
    /// same read never silently overwrite each other. Every replacement moves the version.
    pub async fn set_policies(
        &self,
        tenant: &TenantId,
        holder: Holder,
        ids: &[Uuid],
        expected: Option<u64>,
    ) -> Result<(), StoreError> {
        let _changing = self.changing(holder.scope(tenant));
        let (table, key) = holder.table_and_key();
        let extra = holder.extra();
        let script = format!(
            "BEGIN TRANSACTION;
             LET $current = (SELECT policies_version FROM ONLY type::record('{table}', [$tenant, $key]));
             IF $current = NONE {{ THROW 'not_found'; }};
             IF $expected != NONE AND ($current.policies_version ?? 0) != $expected {{ THROW 'version_mismatch'; }};
             {CHECK_POLICIES}
             UPDATE type::record('{table}', [$tenant, $key]) SET policy_ids = array::distinct($ids), updated_at = $now,
                 policies_version = ($current.policies_version ?? 0) + 1{extra} RETURN NONE;
             COMMIT TRANSACTION;"
        );
        let ids = uuid_strings(ids);
        let expected = expected.map(|version| i64::try_from(version).unwrap_or(i64::MAX));
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("key", key.to_string()))
                .bind(("ids", ids.clone()))
                .bind(("expected", expected))
                .bind(("now", Utc::now()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// The policy ids attached to a holder and the version of that list (what `If-Match`
    /// names), read by record id; `None` if the holder does not exist.
    pub async fn holder_policies(
        &self,
        tenant: &TenantId,
        holder: Holder,
    ) -> Result<Option<(Vec<Policy>, u64)>, StoreError> {
        #[derive(SurrealValue)]
        #[surreal(crate = "surrealdb::types")]
        struct Row {
            policy_ids: Option<Vec<String>>,
            policies_version: Option<i64>,
        }
        let (table, key) = holder.table_and_key();
        let mut response = self
            .db
            .query(format!("SELECT policy_ids, policies_version FROM ONLY type::record('{table}', [$tenant, $key])"))
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("key", key.to_string()))
            .await?;
        let Some(row): Option<Row> = response.take(0)? else { return Ok(None) };
        let ids: Vec<Uuid> =
            row.policy_ids.unwrap_or_default().iter().filter_map(|id| Uuid::parse_str(id).ok()).collect();
        let version = u64::try_from(row.policies_version.unwrap_or(0)).unwrap_or(0);
        Ok(Some((self.get_policies(tenant, &ids).await?, version)))
    }

    /// The documents that apply to a user: its own policies and those of its groups.
    pub async fn user_policy_documents(
        &self,
        tenant: &TenantId,
        user: &crate::model::User,
    ) -> Result<Vec<Policy>, StoreError> {
        let mut response = self
            .db
            .query(format!("array::flatten({})", group_policy_ids()))
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("uid", user.id.to_string()))
            .await?;
        let from_groups: Vec<String> = response.take(0)?;
        let mut ids = user.policy_ids.clone();
        ids.extend(from_groups.iter().filter_map(|id| Uuid::parse_str(id).ok()));
        ids.sort();
        ids.dedup();
        self.get_policies(tenant, &ids).await
    }
}

fn document_text(policy: &Policy) -> Result<String, StoreError> {
    text(&policy.document)
}

fn text(document: &PolicyDocument) -> Result<String, StoreError> {
    serde_json::to_string(document).map_err(|error| StoreError::Database(error.to_string()))
}

/// The fields of a policy to change; unset fields are left as stored.
#[derive(Debug, Default, Clone)]
pub struct PolicyPatch {
    pub name: Option<String>,
    /// `Some(None)` removes the description.
    pub description: Option<Option<String>>,
    pub document: Option<PolicyDocument>,
}

impl PolicyPatch {
    /// The MERGE object, `updated_at` included.
    fn to_value(&self) -> Result<Value, StoreError> {
        let mut object = Object::new();
        if let Some(name) = &self.name {
            object.insert("name".to_owned(), Value::String(name.clone()));
        }
        if let Some(description) = &self.description {
            object.insert("description".to_owned(), description.clone().map(Value::String).unwrap_or(Value::None));
        }
        if let Some(document) = &self.document {
            object.insert("document".to_owned(), Value::String(text(document)?));
        }
        object.insert("updated_at".to_owned(), Value::Datetime(Utc::now().into()));
        Ok(Value::Object(object))
    }
}
