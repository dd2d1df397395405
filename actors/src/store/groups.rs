//! Groups of users; a group's policies apply to its members. Names are unique per tenant.

use chrono::Utc;
use surrealdb::types::{Object, Value};
use uuid::Uuid;

use super::rows::{uuid_strings, GroupRow};
use super::{Scope, Store, StoreError};
use crate::model::{Group, TenantId};
use crate::validate::unique_key;

pub(super) const GROUP_FIELDS: &str =
    "gid, name, description, external_id, members, policy_ids, version, created_at, updated_at";

/// The memberships of `$uid`: a record-id range of that user's `membership` records (schema 14),
/// never a scan of the tenant's groups.
pub(super) const MEMBERSHIPS_OF_USER: &str = "membership:[$tenant, $uid, NONE]..[$tenant, $uid, ..]";

/// The record ids of the groups `$uid` is a member of (through [`MEMBERSHIPS_OF_USER`]).
pub(super) fn groups_of_user() -> String {
    format!(
        "array::map((SELECT VALUE gid FROM {MEMBERSHIPS_OF_USER}), |$gid| type::record('user_group', [$tenant, $gid]))"
    )
}

/// The users among `$members` (each once) that exist, read by record id.
#[cfg(test)]
pub(super) const EXISTING_MEMBERS: &str =
    "SELECT uid FROM array::map(array::distinct($members), |$uid| type::record('user', [$tenant, $uid]))";

/// Throws `missing_user` unless every id in `$members` names a user of the tenant (the users
/// are read by record id, [`EXISTING_MEMBERS`]).
pub(super) const CHECK_MEMBERS: &str = "IF array::len(SELECT uid FROM array::map(array::distinct($members), \
     |$uid| type::record('user', [$tenant, $uid]))) != array::len(array::distinct($members)) { THROW 'missing_user'; };";

/// The fields of a group to change; unset fields are left as stored.
#[derive(Debug, Default, Clone)]
pub struct GroupPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    /// Replaces the whole member list.
    pub members: Option<Vec<Uuid>>,
    /// Members to add and to remove, applied to the list as stored when the write happens, so
    /// concurrent membership changes all apply.
    pub add_members: Vec<Uuid>,
    pub remove_members: Vec<Uuid>,
    /// `Some(None)` removes the external id.
    pub external_id: Option<Option<String>>,
    /// Write only if the stored version is this one (`VersionMismatch` otherwise).
    pub expected_version: Option<u64>,
}

/// The tenant's groups, oldest first (`span`: only those).
pub(super) fn list_groups_query(span: Option<super::Span>) -> String {
    let clause = super::span::clause(span);
    format!("SELECT {GROUP_FIELDS} FROM user_group WHERE tenant = $tenant ORDER BY created_at, gid{clause}")
}

impl Store {
    /// Stores a new group; `GroupNameTaken` on a duplicate name, `Missing(User)` for an unknown member.
    pub async fn create_group(&self, tenant: &TenantId, group: &Group) -> Result<(), StoreError> {
        let _changing = self.changing(Scope::Tenant(tenant.as_str()));
        let script = format!(
            "BEGIN TRANSACTION; {CHECK_MEMBERS}
             CREATE type::record('user_group', [$tenant, $gid]) SET tenant = $tenant, gid = $gid, name = $name,
                 name_key = $name_key, description = $description, external_id = $external_id,
                 members = array::distinct($members), policy_ids = $policy_ids, version = 1,
                 created_at = $created_at, updated_at = $created_at RETURN NONE;
             COMMIT TRANSACTION;"
        );
        let members = uuid_strings(&group.members);
        let policy_ids = uuid_strings(&group.policy_ids);
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("gid", group.id.to_string()))
                .bind(("name", group.name.clone()))
                .bind(("name_key", unique_key(&group.name)))
                .bind(("description", group.description.clone()))
                .bind(("external_id", group.external_id.clone()))
                .bind(("members", members.clone()))
                .bind(("policy_ids", policy_ids.clone()))
                .bind(("created_at", group.created_at))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Applies `patch` to a group in one transaction and returns it; `NotFound`,
    /// `GroupNameTaken`, `Missing(User)` (for a member set or added).
    pub async fn update_group(&self, tenant: &TenantId, id: Uuid, patch: &GroupPatch) -> Result<Group, StoreError> {
        let _changing = self.changing(Scope::Tenant(tenant.as_str()));
        let mut object = Object::new();
        if let Some(name) = &patch.name {
            object.insert("name".to_owned(), Value::String(name.clone()));
            object.insert("name_key".to_owned(), Value::String(unique_key(name)));
        }
        if let Some(description) = &patch.description {
            object.insert("description".to_owned(), description.clone().map(Value::String).unwrap_or(Value::None));
        }
        if let Some(external_id) = &patch.external_id {
            object.insert("external_id".to_owned(), external_id.clone().map(Value::String).unwrap_or(Value::None));
        }
        let members = patch.members.as_deref().map(|members| {
            let mut members = uuid_strings(members);
            members.sort();
            members.dedup();
            members
        });
        if let Some(members) = &members {
            let values = members.iter().cloned().map(Value::String).collect::<Vec<_>>();
            object.insert("members".to_owned(), Value::Array(values.into()));
        }
        object.insert("updated_at".to_owned(), Value::Datetime(Utc::now().into()));
        let script = format!(
            "BEGIN TRANSACTION;
             LET $current = (SELECT version FROM ONLY type::record('user_group', [$tenant, $gid]));
             IF $current = NONE {{ THROW 'not_found'; }};
             IF $expected != NONE AND ($current.version ?? 0) != $expected {{ THROW 'version_mismatch'; }};
             {CHECK_MEMBERS}
             UPDATE type::record('user_group', [$tenant, $gid]) MERGE $patch RETURN NONE;
             UPDATE type::record('user_group', [$tenant, $gid]) SET version = ($current.version ?? 0) + 1 RETURN NONE;
             IF array::len($add) > 0 OR array::len($remove) > 0 {{
                 UPDATE type::record('user_group', [$tenant, $gid])
                     SET members = array::sort(array::complement(array::union(members, $add), $remove)) RETURN NONE;
             }};
             COMMIT TRANSACTION;"
        );
        let (add, remove) = (uuid_strings(&patch.add_members), uuid_strings(&patch.remove_members));
        let expected = patch.expected_version.map(|version| i64::try_from(version).unwrap_or(i64::MAX));
        let patch = Value::Object(object);
        // Every member the write names as present must exist.
        let mut present = members.clone().unwrap_or_default();
        present.extend(add.iter().cloned());
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("gid", id.to_string()))
                .bind(("expected", expected))
                .bind(("members", present.clone()))
                .bind(("add", add.clone()))
                .bind(("remove", remove.clone()))
                .bind(("patch", patch.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await?;
        self.get_group(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// Deletes a group; `NotFound` if it did not exist.
    pub async fn delete_group(&self, tenant: &TenantId, id: Uuid) -> Result<(), StoreError> {
        let _changing = self.changing(Scope::Tenant(tenant.as_str()));
        self.retrying(|| async {
            self.db
                .query(
                    "BEGIN TRANSACTION;
                 IF record::exists(type::record('user_group', [$tenant, $gid])) = false { THROW 'not_found'; };
                 DELETE type::record('user_group', [$tenant, $gid]);
                 COMMIT TRANSACTION;",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("gid", id.to_string()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// The group with this id, if it exists in this tenant.
    pub async fn get_group(&self, tenant: &TenantId, id: Uuid) -> Result<Option<Group>, StoreError> {
        let row: Option<GroupRow> = self.db.select_by_id("user_group", tenant.as_str(), &id.to_string()).await?;
        row.map(GroupRow::into_group).transpose()
    }

    /// The tenant's groups, oldest first (`span`: only those).
    pub async fn list_groups(&self, tenant: &TenantId, span: Option<super::Span>) -> Result<Vec<Group>, StoreError> {
        let request = self.db.query(list_groups_query(span)).bind(("tenant", tenant.as_str().to_owned()));
        let mut response = super::span::bind(request, span).await?;
        let rows: Vec<GroupRow> = response.take(0)?;
        rows.into_iter().map(GroupRow::into_group).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::{GroupPatch, MEMBERSHIPS_OF_USER};
    use crate::model::{Group, Role, TenantId, User};
    use crate::store::{test_store, Store};

    /// The groups `user` is in, as its membership records say (sorted).
    async fn groups_of(store: &Store, tenant: &TenantId, user: Uuid) -> Vec<String> {
        let mut response = store
            .db
            .query(format!("SELECT VALUE gid FROM {MEMBERSHIPS_OF_USER}"))
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("uid", user.to_string()))
            .await
            .unwrap();
        let mut groups: Vec<String> = response.take(0).unwrap();
        groups.sort();
        groups
    }

    fn group(name: &str, members: &[Uuid]) -> Group {
        Group {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            description: None,
            external_id: None,
            members: members.to_vec(),
            policy_ids: Vec::new(),
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    /// Membership records follow every write of a group (create, replace, add/remove, delete)
    /// and the deletion of a user, in the same transaction; other tenants are untouched.
    #[tokio::test]
    async fn memberships_follow_every_group_write() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let other = TenantId::parse("other").unwrap();
        let mut users = Vec::new();
        for name in ["ann", "ben", "cat"] {
            let user = User::new(name.into(), None, Role::Unprivileged, None);
            store.create_user(&tenant, &user).await.unwrap();
            store.create_user(&other, &User { id: user.id, ..user.clone() }).await.unwrap();
            users.push(user.id);
        }
        let (ann, ben, cat) = (users[0], users[1], users[2]);
        let staff = group("staff", &[ann, ben]);
        let admins = group("admins", &[ann]);
        store.create_group(&tenant, &staff).await.unwrap();
        store.create_group(&tenant, &admins).await.unwrap();
        store.create_group(&other, &group("elsewhere", &[ann])).await.unwrap();
        let (s, a) = (staff.id.to_string(), admins.id.to_string());
        let mut both = vec![s.clone(), a.clone()];
        both.sort();
        assert_eq!(groups_of(&store, &tenant, ann).await, both);
        assert_eq!(groups_of(&store, &tenant, ben).await, [s.as_str()]);
        // Replacement.
        let replace = GroupPatch { members: Some(vec![ben, cat]), ..GroupPatch::default() };
        store.update_group(&tenant, staff.id, &replace).await.unwrap();
        assert_eq!(groups_of(&store, &tenant, ann).await, [a.as_str()]);
        assert_eq!(groups_of(&store, &tenant, cat).await, [s.as_str()]);
        // Add and remove.
        let change = GroupPatch { add_members: vec![ann], remove_members: vec![ben], ..GroupPatch::default() };
        store.update_group(&tenant, staff.id, &change).await.unwrap();
        assert_eq!(groups_of(&store, &tenant, ann).await, both);
        assert!(groups_of(&store, &tenant, ben).await.is_empty());
        // Deleting a user takes it out of its groups; deleting a group ends its memberships.
        store.delete_user(&tenant, ann, cat).await.unwrap();
        assert!(groups_of(&store, &tenant, ann).await.is_empty());
        assert_eq!(store.get_group(&tenant, staff.id).await.unwrap().unwrap().members, [cat]);
        store.delete_group(&tenant, staff.id).await.unwrap();
        assert!(groups_of(&store, &tenant, cat).await.is_empty());
        assert_eq!(groups_of(&store, &other, ann).await.len(), 1, "the other tenant is untouched");
    }

    /// Upgrading to schema 14 records the memberships of groups written before it.
    #[tokio::test]
    async fn schema_14_backfills_memberships() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let user = User::new("dee".into(), None, Role::Unprivileged, None);
        store.create_user(&tenant, &user).await.unwrap();
        let crew = group("crew", &[user.id]);
        store.create_group(&tenant, &crew).await.unwrap();
        let reset = "DELETE membership; REMOVE EVENT membership_sync ON TABLE user_group; \
                     DELETE schema_version WHERE version >= 14";
        store.db.query(reset).await.unwrap().check().unwrap();
        assert!(groups_of(&store, &tenant, user.id).await.is_empty());
        assert_eq!(store.migrate().await.unwrap(), (14..=super::super::migrate::SCHEMA_VERSION).collect::<Vec<_>>());
        assert_eq!(groups_of(&store, &tenant, user.id).await, [crew.id.to_string()]);
    }
}
