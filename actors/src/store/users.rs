//! User records: uniqueness and the last-admin rule are enforced here, inside the database.

use uuid::Uuid;

use chrono::{DateTime, Utc};
use surrealdb::types::{Object, Value};

use super::rows::{UserRow, USER_FIELDS};
use super::{Store, StoreError};
use crate::model::{TenantId, User};
use crate::validate::unique_key;

/// Whether a write must first take the tenant lock and keep at least one admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminGuard {
    /// No admin count check.
    None,
    /// Refuse the write (`last_admin`) if it would leave the tenant without an admin.
    KeepOne,
}

const LOCK: &str = "UPSERT type::record('tenant_lock', $tenant) SET at = time::now(), tenant = $tenant;";
/// Usernames and emails share one sign-in namespace: after a write, no other user of the
/// tenant may have the written record's email as username, or its username as email. Each
/// check reads its unique index alone (the planner would otherwise intersect it with a scan of
/// the tenant, making every write cost grow with the directory).
pub(super) const CROSS_UNIQUE: &str =
    "LET $after = (SELECT username_key, email_key, email FROM ONLY type::record('user', [$tenant, $uid]));
     IF $after.email != NONE AND array::len(SELECT uid FROM user WITH INDEX user_username WHERE tenant = $tenant
         AND username_key = $after.email_key AND uid != $uid) > 0 { THROW 'email_taken'; };
     IF array::len(SELECT uid FROM user WITH INDEX user_email WHERE tenant = $tenant
         AND email_key = $after.username_key AND uid != $uid) > 0 { THROW 'username_taken'; };";

/// Serializes writers of one sign-in name: every transaction that gives a user a username or
/// email writes the same lock key for it (and removes it again, so no name lingers), so two
/// transactions claiming one name as username and as email conflict instead of both passing
/// `CROSS_UNIQUE` on snapshots that do not see each other.
const NAME_LOCKS: &str = "FOR $name IN $names {
         UPSERT type::record('tenant_lock', [$tenant, 'name', $name]) SET at = time::now() RETURN NONE;
         DELETE type::record('tenant_lock', [$tenant, 'name', $name]);
     };";

/// Admin accounts are only for admins: when a write is made on behalf of a user (`$by`), a
/// target that is an admin as stored now (`$current`), or a role change (`$role_change`), needs
/// `$by` to be an admin as stored now, whatever was read before the transaction.
const ADMIN_ONLY: &str = "IF $by != NONE AND ($current.role = 'admin' OR $role_change)
         AND (SELECT role FROM ONLY type::record('user', [$tenant, $by])).role != 'admin' { THROW 'forbidden'; };";

const ADMINS_LEFT: &str = "array::len(SELECT uid FROM user WHERE tenant = $tenant AND role = 'admin' AND uid != $uid)";

impl Store {
    /// Creates a user; `UsernameTaken`/`EmailTaken` when a unique key is in use.
    pub async fn create_user(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION; {NAME_LOCKS}
             CREATE type::record('user', [$tenant, $uid]) CONTENT $row RETURN NONE;
             {CROSS_UNIQUE}
             COMMIT TRANSACTION;"
        );
        let mut names = vec![unique_key(&user.username)];
        names.extend(user.email.as_deref().map(unique_key));
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("uid", user.id.to_string()))
                .bind(("row", with_tenant(tenant, user)))
                .bind(("names", names.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Creates several users in one transaction (a SCIM Bulk request): all of them, or — when
    /// any name is taken, also between them — none, with the conflict of the first refusal.
    pub async fn create_users(&self, tenant: &TenantId, users: &[User]) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION; {NAME_LOCKS}
             FOR $row IN $rows {{ CREATE type::record('user', [$tenant, $row.uid]) CONTENT $row RETURN NONE; }};
             FOR $uid IN $uids {{ {CROSS_UNIQUE} }};
             COMMIT TRANSACTION;"
        );
        let rows: Vec<Value> = users.iter().map(|user| with_tenant(tenant, user)).collect();
        let uids: Vec<String> = users.iter().map(|user| user.id.to_string()).collect();
        let mut names: Vec<String> = Vec::new();
        for user in users {
            names.push(unique_key(&user.username));
            names.extend(user.email.as_deref().map(unique_key));
        }
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("rows", rows.clone()))
                .bind(("uids", uids.clone()))
                .bind(("names", names.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Whether the tenant has any user (one index read).
    pub async fn has_users(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        let mut response = self
            .db
            .query("SELECT VALUE uid FROM user WHERE tenant = $tenant LIMIT 1")
            .bind(("tenant", tenant.as_str().to_owned()))
            .await?;
        let found: Vec<String> = response.take(0)?;
        Ok(!found.is_empty())
    }

    /// Creates the first user of a tenant; `UsersExist` once any user exists. Two racing
    /// bootstraps both write the tenant lock, so exactly one commits.
    pub async fn bootstrap_user(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION; {LOCK}
             IF array::len(SELECT uid FROM user WHERE tenant = $tenant LIMIT 1) > 0 {{ THROW 'users_exist'; }};
             CREATE type::record('user', [$tenant, $uid]) CONTENT $row RETURN NONE;
             COMMIT TRANSACTION;"
        );
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("uid", user.id.to_string()))
                .bind(("row", with_tenant(tenant, user)))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Applies `patch` (only the fields it names, so concurrent changes of different fields
    /// all apply) to a stored user and returns the result; `NotFound` if it is gone. Every rule
    /// that depends on stored state is checked in the writing transaction: only admins change
    /// admins or roles (`Forbidden`, when `patch.by` is set), usernames and emails stay unique
    /// across both, and a new password ends the user's sessions. With `AdminGuard::KeepOne` a
    /// demotion that would leave the tenant without an admin is refused with `LastAdmin`.
    pub async fn update_user(
        &self,
        tenant: &TenantId,
        id: Uuid,
        patch: &UserPatch,
        guard: AdminGuard,
    ) -> Result<User, StoreError> {
        let check = match guard {
            AdminGuard::None => String::new(),
            AdminGuard::KeepOne => {
                format!("{LOCK} IF $patch.role != NONE AND $patch.role != 'admin' AND {ADMINS_LEFT} = 0 {{ THROW 'last_admin'; }};")
            }
        };
        let script = format!(
            "BEGIN TRANSACTION; {check}
             LET $current = (SELECT role, username_key, email_key, email, version FROM ONLY type::record('user', [$tenant, $uid]));
             IF $current = NONE {{ THROW 'not_found'; }};
             IF $expected != NONE AND ($current.version ?? 0) != $expected {{ THROW 'version_mismatch'; }};
             LET $role_change = $patch.role != NONE;
             {ADMIN_ONLY}
             {NAME_LOCKS}
             UPDATE type::record('user', [$tenant, $uid]) MERGE $patch RETURN NONE;
             IF $profile_set {{
                 UPDATE type::record('user', [$tenant, $uid]) SET scim = $profile, profile_email_keys = $email_keys RETURN NONE;
             }};
             IF $profile_set OR $patch.email_key != NONE {{
                 UPDATE type::record('user', [$tenant, $uid])
                     SET email_keys = array::sort(array::union(profile_email_keys ?? [], IF email = NONE {{ [] }} ELSE {{ [email_key] }}))
                     RETURN NONE;
             }};
             IF $bump {{ UPDATE type::record('user', [$tenant, $uid]) SET version = ($current.version ?? 0) + 1 RETURN NONE; }};
             IF $patch.disabled_at != NONE {{ DELETE session WHERE tenant = $tenant AND user = $uid; }};
             IF $follow AND $current.email != NONE AND $current.email_key = $current.username_key {{
                 UPDATE type::record('user', [$tenant, $uid]) SET username = email, username_key = email_key RETURN NONE;
             }};
             {CROSS_UNIQUE}
             IF $patch.password_hash != NONE {{ DELETE session WHERE tenant = $tenant AND user = $uid AND sid != $keep; }};
             COMMIT TRANSACTION;"
        );
        let keep = patch.keep_session.map(|sid| sid.to_string());
        let by = patch.by.map(|by| by.to_string());
        let follow = patch.username_follows_email && matches!(patch.email, Some(Some(_)));
        let names = patch.names();
        let expected = patch.expected_version.map(|version| i64::try_from(version).unwrap_or(i64::MAX));
        let bump = patch.last_signed_in.is_none();
        let (profile_set, profile, email_keys) = match &patch.profile {
            Some(profile) => {
                let email = patch.email.as_ref().and_then(Option::as_deref);
                (true, (!profile.is_null()).then(|| profile.clone()), super::rows::profile_email_keys(profile, email))
            }
            None => (false, None, Vec::new()),
        };
        let patch = patch.to_value();
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("uid", id.to_string()))
                .bind(("expected", expected))
                .bind(("bump", bump))
                .bind(("profile_set", profile_set))
                .bind(("profile", profile.clone()))
                .bind(("email_keys", email_keys.clone()))
                .bind(("keep", keep.clone()))
                .bind(("by", by.clone()))
                .bind(("follow", follow))
                .bind(("names", names.clone()))
                .bind(("patch", patch.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await?;
        self.get_user(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// Deletes a user with its sessions, tokens and linked identities, in one transaction, on
    /// behalf of `by`; `NotFound` if absent, `Forbidden` if it is an admin (as stored now) and
    /// `by` is not, `LastAdmin` if it is the tenant's only admin.
    pub async fn delete_user(&self, tenant: &TenantId, id: Uuid, by: Uuid) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION;
             LET $current = (SELECT role FROM ONLY type::record('user', [$tenant, $uid]));
             IF $current = NONE {{ THROW 'not_found'; }};
             LET $role_change = false;
             {ADMIN_ONLY}
             IF $current.role = 'admin' {{ {LOCK} IF {ADMINS_LEFT} = 0 {{ THROW 'last_admin'; }}; }};
             DELETE type::record('user', [$tenant, $uid]);
             DELETE session WHERE tenant = $tenant AND user = $uid;
             DELETE api_key WHERE tenant = $tenant AND user = $uid;
             UPDATE user_group SET members -= $uid WHERE tenant = $tenant AND members CONTAINS $uid;
             DELETE identity WHERE tenant = $tenant AND user = $uid;
             COMMIT TRANSACTION;"
        );
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("uid", id.to_string()))
                .bind(("by", by.to_string()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// The user with this id, if it exists in this tenant.
    pub async fn get_user(&self, tenant: &TenantId, id: Uuid) -> Result<Option<User>, StoreError> {
        let query = format!("SELECT {USER_FIELDS} FROM type::record('user', [$tenant, $uid])");
        let mut response =
            self.db.query(query).bind(("tenant", tenant.as_str().to_owned())).bind(("uid", id.to_string())).await?;
        let rows: Vec<UserRow> = response.take(0)?;
        rows.into_iter().next().map(UserRow::into_user).transpose()
    }

    /// The user with this username (case-insensitive).
    pub async fn find_user_by_username(&self, tenant: &TenantId, username: &str) -> Result<Option<User>, StoreError> {
        self.find_one("username_key = $key", tenant, unique_key(username)).await
    }

    /// The user a sign-in name denotes: by username or by email, case-insensitive, in one query.
    pub async fn find_user_by_login(&self, tenant: &TenantId, login: &str) -> Result<Option<User>, StoreError> {
        self.find_one("(username_key = $key OR email_key = $key)", tenant, unique_key(login)).await
    }

    /// The user with this email (case-insensitive); a user without an email is matched by
    /// username, which is how Firezone addresses users created through SOAT.
    pub async fn find_user_by_email(&self, tenant: &TenantId, email: &str) -> Result<Option<User>, StoreError> {
        self.find_one("(email_key = $key OR (email = NONE AND username_key = $key))", tenant, unique_key(email)).await
    }

    /// The user whose email is `email` (case-insensitive); never matched by username, since
    /// an upstream sign-in must not take over an account whose username merely looks like an
    /// address.
    pub async fn find_user_by_email_only(&self, tenant: &TenantId, email: &str) -> Result<Option<User>, StoreError> {
        self.find_one("email_key = $key", tenant, unique_key(email)).await
    }

    async fn find_one(&self, condition: &str, tenant: &TenantId, key: String) -> Result<Option<User>, StoreError> {
        let query = format!("SELECT {USER_FIELDS} FROM user WHERE tenant = $tenant AND {condition} LIMIT 1");
        let mut response = self.db.query(query).bind(("tenant", tenant.as_str().to_owned())).bind(("key", key)).await?;
        let rows: Vec<UserRow> = response.take(0)?;
        rows.into_iter().next().map(UserRow::into_user).transpose()
    }

    /// Every user of the tenant, oldest first.
    pub async fn list_users(&self, tenant: &TenantId) -> Result<Vec<User>, StoreError> {
        let query = format!("SELECT {USER_FIELDS} FROM user WHERE tenant = $tenant ORDER BY created_at, uid");
        let mut response = self.db.query(query).bind(("tenant", tenant.as_str().to_owned())).await?;
        let rows: Vec<UserRow> = response.take(0)?;
        rows.into_iter().map(UserRow::into_user).collect()
    }
}

/// The stored row, with its tenant, as one object to bind.
pub(super) fn with_tenant(tenant: &TenantId, user: &User) -> Value {
    use surrealdb::types::SurrealValue;
    let mut value = UserRow::from_user(user).into_value();
    if let Value::Object(object) = &mut value {
        object.insert("tenant".to_owned(), Value::String(tenant.as_str().to_owned()));
    }
    value
}

/// The fields of a user to change; unset fields are left as stored.
#[derive(Debug, Default, Clone)]
pub struct UserPatch {
    pub username: Option<String>,
    /// `Some(None)` removes the email.
    pub email: Option<Option<String>>,
    pub role: Option<crate::model::Role>,
    pub password_hash: Option<String>,
    pub disabled_at: Option<Option<DateTime<Utc>>>,
    pub last_signed_in: Option<(DateTime<Utc>, String)>,
    /// The user's id, needed for the placeholder email key when the email is removed.
    pub uid: Uuid,
    /// A session to keep when a new password ends the others (the caller's own).
    pub keep_session: Option<Uuid>,
    /// The user on whose behalf the change is made: then an admin target, or a role change,
    /// needs that user to be an admin when the write happens. `None` for the server's own
    /// bookkeeping (sign-in times).
    pub by: Option<Uuid>,
    /// With a new email: if the stored username is the stored email (users created by email),
    /// the username follows the new email; decided on the record as the write finds it.
    pub username_follows_email: bool,
    /// `Some(None)` removes the external id.
    pub external_id: Option<Option<String>>,
    /// Replaces the whole SCIM profile (`Null` clears it).
    pub profile: Option<serde_json::Value>,
    /// Write only if the stored version is this one (`VersionMismatch` otherwise): a
    /// provisioning write computed from a read is applied to that read or not at all.
    pub expected_version: Option<u64>,
}

impl UserPatch {
    /// Whether the patch changes nothing (a no-op update leaves `updated_at` alone).
    pub fn is_empty(&self) -> bool {
        self.username.is_none()
            && self.email.is_none()
            && self.role.is_none()
            && self.password_hash.is_none()
            && self.disabled_at.is_none()
            && self.last_signed_in.is_none()
            && self.external_id.is_none()
            && self.profile.is_none()
    }

    /// The sign-in names (unique keys) the patch gives the user, to lock while writing.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.username.iter().map(|username| unique_key(username)).collect();
        names.extend(self.email.iter().flatten().map(|email| unique_key(email)));
        names
    }

    /// The MERGE object: derived keys and `updated_at` included.
    fn to_value(&self) -> Value {
        let mut object = Object::new();
        let mut set = |key: &str, value: Value| {
            object.insert(key.to_owned(), value);
        };
        if let Some(username) = &self.username {
            set("username", Value::String(username.clone()));
            set("username_key", Value::String(unique_key(username)));
        }
        if let Some(email) = &self.email {
            set("email", email.clone().map(Value::String).unwrap_or(Value::None));
            let key = match email {
                Some(email) => unique_key(email),
                None => format!("\u{0}none:{}", self.uid),
            };
            set("email_key", Value::String(key));
        }
        if let Some(role) = self.role {
            set("role", Value::String(role.as_str().to_owned()));
        }
        if let Some(hash) = &self.password_hash {
            set("password_hash", Value::String(hash.clone()));
        }
        if let Some(external_id) = &self.external_id {
            set("external_id", external_id.clone().map(Value::String).unwrap_or(Value::None));
        }
        if let Some(disabled_at) = self.disabled_at {
            set("disabled_at", disabled_at.map(|at| Value::Datetime(at.into())).unwrap_or(Value::None));
        }
        if let Some((at, method)) = &self.last_signed_in {
            set("last_signed_in_at", Value::Datetime((*at).into()));
            set("last_signed_in_method", Value::String(method.clone()));
        } else {
            set("updated_at", Value::Datetime(Utc::now().into()));
        }
        Value::Object(object)
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::{AdminGuard, UserPatch};
    use crate::model::{Role, TenantId, User};
    use crate::store::{test_store, Store, StoreError};

    async fn user(store: &Store, tenant: &TenantId, name: &str, role: Role) -> User {
        let user = User::new(name.to_owned(), None, role, None);
        store.create_user(tenant, &user).await.unwrap();
        user
    }

    /// The admin-only rule is checked on the records as the write finds them, so a decision
    /// the actor made on an older read (the target was not an admin yet, the caller still was)
    /// cannot let a non-admin change or delete an admin.
    #[tokio::test]
    async fn only_a_current_admin_writes_an_admin() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let admin = user(&store, &tenant, "admin", Role::Admin).await;
        let helper = user(&store, &tenant, "helper", Role::Unprivileged).await;
        let target = user(&store, &tenant, "target", Role::Unprivileged).await;
        let password = |by: Uuid| UserPatch {
            uid: target.id,
            by: Some(by),
            password_hash: Some("$argon2id$fake".into()),
            ..UserPatch::default()
        };
        // While the target is unprivileged, the helper may change it.
        store.update_user(&tenant, target.id, &password(helper.id), AdminGuard::None).await.unwrap();
        // The helper may not promote anyone.
        let promote =
            |by: Uuid| UserPatch { uid: target.id, by: Some(by), role: Some(Role::Admin), ..UserPatch::default() };
        let refused = store.update_user(&tenant, target.id, &promote(helper.id), AdminGuard::KeepOne).await;
        assert!(matches!(refused, Err(StoreError::Forbidden)), "{refused:?}");
        store.update_user(&tenant, target.id, &promote(admin.id), AdminGuard::KeepOne).await.unwrap();
        // Now the target is an admin: the helper can neither change nor delete it.
        let refused = store.update_user(&tenant, target.id, &password(helper.id), AdminGuard::None).await;
        assert!(matches!(refused, Err(StoreError::Forbidden)), "{refused:?}");
        let refused = store.delete_user(&tenant, target.id, helper.id).await;
        assert!(matches!(refused, Err(StoreError::Forbidden)), "{refused:?}");
        // The server's own bookkeeping (no `by`) is not subject to the rule.
        let bookkeeping = UserPatch {
            uid: target.id,
            last_signed_in: Some((chrono::Utc::now(), "email".into())),
            ..UserPatch::default()
        };
        store.update_user(&tenant, target.id, &bookkeeping, AdminGuard::None).await.unwrap();
        // A caller demoted since it was let in is no longer an admin.
        let demote_admin =
            UserPatch { uid: admin.id, by: Some(target.id), role: Some(Role::Unprivileged), ..UserPatch::default() };
        store.update_user(&tenant, admin.id, &demote_admin, AdminGuard::KeepOne).await.unwrap();
        let refused = store.delete_user(&tenant, target.id, admin.id).await;
        assert!(matches!(refused, Err(StoreError::Forbidden)), "{refused:?}");
        let stored = store.get_user(&tenant, target.id).await.unwrap().unwrap();
        assert_eq!(stored.role, Role::Admin);
        assert_eq!(stored.password_hash.as_deref(), Some("$argon2id$fake"));
    }

    /// Whether the username follows a new email is decided on the stored record.
    #[tokio::test]
    async fn the_username_follows_the_email_only_when_they_were_equal() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let linked = User::new("a@test".into(), Some("A@test".into()), Role::Unprivileged, None);
        let separate = User::new("bee".into(), Some("b@test".into()), Role::Unprivileged, None);
        store.create_user(&tenant, &linked).await.unwrap();
        store.create_user(&tenant, &separate).await.unwrap();
        for (user, expected) in [(&linked, "c@test"), (&separate, "bee")] {
            let email = if user.id == linked.id { "c@test" } else { "d@test" };
            let patch = UserPatch {
                uid: user.id,
                email: Some(Some(email.into())),
                username_follows_email: true,
                ..UserPatch::default()
            };
            let updated = store.update_user(&tenant, user.id, &patch, AdminGuard::None).await.unwrap();
            assert_eq!(updated.username, expected);
            assert_eq!(updated.email.as_deref(), Some(email));
        }
    }
}
