//! User records: uniqueness and the last-admin rule are enforced here, inside the database.

use uuid::Uuid;

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use surrealdb::types::{Array, Object, RecordId, SurrealValue, Value};

use super::rows::{SummaryRow, UserRow, SUMMARY_ARRAY, USER_FIELDS};
use super::{After, Scope, Store, StoreError};
use crate::audit::AuditEvent;
use crate::error::Conflict;
use crate::model::{Role, TenantId, User, UserSummary};
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

/// Usernames and emails share one sign-in namespace, kept as a claim table: every user owns
/// the `sign_in_name` record `[tenant, key]` of its username key and of its email key (one
/// record when they are equal), written in the transaction that gives, changes or removes the
/// name. A name claimed by another user is refused; two transactions claiming one name write
/// the same record, so one of them conflicts, retries, and finds the claim.
///
/// Claims a new user's names (`$claims`, from [`claims`]): `email_taken` when its email
/// (`$ekey`, `NONE` without one) is claimed, else `username_taken` when its username (`$ukey`) is.
pub(super) const CLAIM_NEW_NAMES: &str =
    "IF $ekey != NONE AND record::exists(type::record('sign_in_name', [$tenant, $ekey])) { THROW 'email_taken'; };
     IF record::exists(type::record('sign_in_name', [$tenant, $ukey])) { THROW 'username_taken'; };
     INSERT INTO sign_in_name $claims RETURN NONE;";

/// After a write of user `$uid` that read it before as `$current` (`username_key`, `email`,
/// `email_key`): if its names changed, claims the new ones (`email_taken` / `username_taken`
/// when another user holds them) and releases the ones it no longer has.
const RECLAIM_NAMES: &str =
    "LET $after = (SELECT username_key, email, email_key FROM ONLY type::record('user', [$tenant, $uid]));
     IF $after.username_key != $current.username_key OR $after.email_key != $current.email_key {
         LET $ekey = IF $after.email != NONE { $after.email_key } ELSE { NONE };
         IF $ekey != NONE AND (type::record('sign_in_name', [$tenant, $ekey]).uid ?? $uid) != $uid { THROW 'email_taken'; };
         IF (type::record('sign_in_name', [$tenant, $after.username_key]).uid ?? $uid) != $uid { THROW 'username_taken'; };
         FOR $old IN [$current.username_key, IF $current.email != NONE { $current.email_key } ELSE { NONE }] {
             IF $old != NONE AND $old != $after.username_key AND $old != $ekey {
                 DELETE type::record('sign_in_name', [$tenant, $old]) WHERE uid = $uid;
             };
         };
         UPSERT type::record('sign_in_name', [$tenant, $after.username_key]) CONTENT {
             tenant: $tenant, uid: $uid, as_username: true, as_email: $ekey = $after.username_key } RETURN NONE;
         IF $ekey != NONE AND $ekey != $after.username_key {
             UPSERT type::record('sign_in_name', [$tenant, $ekey]) CONTENT {
                 tenant: $tenant, uid: $uid, as_username: false, as_email: true } RETURN NONE;
         };
     };";

/// Releases the names of user `$uid`, read before as `$current` (`username_key`, `email`,
/// `email_key`), when it is deleted.
const RELEASE_NAMES: &str =
    "DELETE type::record('sign_in_name', [$tenant, $current.username_key]) WHERE uid = $uid;
     IF $current.email != NONE { DELETE type::record('sign_in_name', [$tenant, $current.email_key]) WHERE uid = $uid; };";

/// Admin accounts are only for admins: when a write is made on behalf of a user (`$by`), a
/// target that is an admin as stored now (`$current`), or a role change (`$role_change`), needs
/// `$by` to be an admin as stored now, whatever was read before the transaction.
const ADMIN_ONLY: &str = "IF $by != NONE AND ($current.role = 'admin' OR $role_change)
         AND (SELECT role FROM ONLY type::record('user', [$tenant, $by])).role != 'admin' { THROW 'forbidden'; };";

/// Whether the tenant has a user: the first entry of `user_created` (tenant first), named since
/// no index is on the tenant alone.
pub(super) const HAS_USERS: &str = "SELECT VALUE uid FROM user WITH INDEX user_created WHERE tenant = $tenant LIMIT 1";

/// Up to `$count` users of the tenant as lists show them, oldest first, after `$at`/`$id`
/// when `after`.
pub(super) fn users_after_query(after: bool) -> String {
    super::span::after_queries(SUMMARY_ARRAY, "user", "uid", after)
}

/// The owner of the sign-in name `$key`, if `condition` holds for it: two record-id reads.
pub(super) fn find_one_query(condition: &str) -> String {
    format!(
        "SELECT {USER_FIELDS} FROM type::record('user', [$tenant, type::record('sign_in_name', [$tenant, $key]).uid])
         WHERE {condition}"
    )
}

/// The other admins of the tenant, through `user_role` at admin (named, since the planner would
/// otherwise intersect it with another index of the tenant).
#[cfg(test)]
pub(super) const OTHER_ADMINS: &str =
    "SELECT uid FROM user WITH INDEX user_role WHERE tenant = $tenant AND role = 'admin' AND uid != $uid";

/// How many admins the tenant has besides `$uid` ([`OTHER_ADMINS`], counted).
pub(super) const ADMINS_LEFT: &str =
    "array::len(SELECT uid FROM user WITH INDEX user_role WHERE tenant = $tenant AND role = 'admin' AND uid != $uid)";

impl Store {
    /// Creates a user; `EmailTaken` when its email is another user's username or email, else
    /// `UsernameTaken` when its username is.
    pub async fn create_user(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError> {
        self.create_user_by(tenant, user, None).await
    }

    /// Creates a user on behalf of `by`: an admin account only while `by` is an admin as
    /// stored when the write happens (`Forbidden` otherwise), so a caller demoted after its
    /// request was authenticated cannot still create admins. Every other creation joins the
    /// concurrent ones in one transaction (see [`super::creations`]).
    pub async fn create_user_by(&self, tenant: &TenantId, user: &User, by: Option<Uuid>) -> Result<(), StoreError> {
        let events = crate::audit::events_to_carry();
        match by {
            Some(by) if user.role == Role::Admin => self.create_one(tenant, user, Some(by), events.as_deref()).await,
            _ => self.create_grouped(tenant, user.clone(), events).await,
        }
    }

    /// Creates one user in a transaction of its own, which stores `events` as it commits.
    pub(super) async fn create_one(
        &self,
        tenant: &TenantId,
        user: &User,
        by: Option<Uuid>,
        events: Option<&[AuditEvent]>,
    ) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION;
             IF $by != NONE AND $row.role = 'admin'
                 AND (SELECT role FROM ONLY type::record('user', [$tenant, $by])).role != 'admin' {{ THROW 'forbidden'; }};
             {CLAIM_NEW_NAMES}
             CREATE type::record('user', [$tenant, $uid]) CONTENT $row RETURN NONE;
             COMMIT TRANSACTION;"
        );
        let by = by.map(|by| by.to_string());
        let names = Names::of(user);
        let claims = claims(tenant, user);
        self.retrying(|| async {
            self.db
                .query_carrying(script.as_str(), events)
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("uid", user.id.to_string()))
                .bind(("row", with_tenant(tenant, user)))
                .bind(names.clone())
                .bind(("claims", claims.clone()))
                .bind(("by", by.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Creates several users in one transaction (a SCIM Bulk request): all of them, or none.
    /// A name given twice in the batch is refused before the database is asked; a name claimed
    /// already is refused with the conflict of the first user (in order) that wants one:
    /// `EmailTaken` when its email is claimed, else `UsernameTaken`. Set-based: one read of
    /// the claims, one insert of the claims and one of the users, whatever the batch size.
    pub async fn create_users(&self, tenant: &TenantId, users: &[User]) -> Result<(), StoreError> {
        let events = crate::audit::events_to_carry();
        self.insert_users(tenant, users, events.as_deref()).await
    }

    /// [`Store::create_users`], its transaction storing `events` as it commits.
    pub(super) async fn insert_users(
        &self,
        tenant: &TenantId,
        users: &[User],
        events: Option<&[AuditEvent]>,
    ) -> Result<(), StoreError> {
        const SCRIPT: &str = "BEGIN TRANSACTION;
             LET $taken = (SELECT VALUE id FROM $claim_ids);
             IF array::len($taken) > 0 AND $taken[0] IN $email_ids { THROW 'email_taken'; };
             IF array::len($taken) > 0 { THROW 'username_taken'; };
             INSERT INTO sign_in_name $claims RETURN NONE;
             INSERT INTO user $rows RETURN NONE;
             COMMIT TRANSACTION;";
        if users.is_empty() {
            return Ok(());
        }
        let mut seen: HashSet<String> = HashSet::new();
        // Per user, its email claim first: the first claimed id then names the first refused
        // user, and whether its email was the name refused.
        let mut claim_ids: Vec<Value> = Vec::new();
        let mut email_ids: Vec<Value> = Vec::new();
        let mut all_claims: Vec<Value> = Vec::new();
        for user in users {
            let names = Names::of(user);
            if names.ekey.as_ref().is_some_and(|key| seen.contains(key)) {
                return Err(StoreError::Conflict(Conflict::EmailTaken));
            }
            if seen.contains(&names.ukey) {
                return Err(StoreError::Conflict(Conflict::UsernameTaken));
            }
            if let Some(ekey) = &names.ekey {
                email_ids.push(claim_id(tenant, ekey));
                claim_ids.push(claim_id(tenant, ekey));
            }
            if names.ekey.as_ref() != Some(&names.ukey) {
                claim_ids.push(claim_id(tenant, &names.ukey));
            }
            all_claims.extend(claims(tenant, user));
            seen.extend(names.ekey);
            seen.insert(names.ukey);
        }
        let rows: Vec<Value> = users.iter().map(|user| with_id(tenant, user)).collect();
        self.retrying(|| async {
            self.db
                .query_carrying(SCRIPT, events)
                .bind(("claim_ids", claim_ids.clone()))
                .bind(("email_ids", email_ids.clone()))
                .bind(("claims", all_claims.clone()))
                .bind(("rows", rows.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Whether the tenant has any user (one index read).
    pub async fn has_users(&self, tenant: &TenantId) -> Result<bool, StoreError> {
        let mut response = self.db.query(HAS_USERS).bind(("tenant", tenant.as_str().to_owned())).await?;
        let found: Vec<String> = response.take(0)?;
        Ok(!found.is_empty())
    }

    /// Creates the first user of a tenant; `UsersExist` once any user exists. Two racing
    /// bootstraps both write the tenant lock, so exactly one commits.
    pub async fn bootstrap_user(&self, tenant: &TenantId, user: &User) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION; {LOCK}
             IF array::len({HAS_USERS}) > 0 {{ THROW 'users_exist'; }};
             {CLAIM_NEW_NAMES}
             CREATE type::record('user', [$tenant, $uid]) CONTENT $row RETURN NONE;
             COMMIT TRANSACTION;"
        );
        let names = Names::of(user);
        let claims = claims(tenant, user);
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("uid", user.id.to_string()))
                .bind(("row", with_tenant(tenant, user)))
                .bind(names.clone())
                .bind(("claims", claims.clone()))
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
        let _changing = self.changing(Scope::User(tenant.as_str(), id));
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
             {RECLAIM_NAMES}
             IF $patch.password_hash != NONE {{ DELETE session WHERE tenant = $tenant AND user = $uid AND sid != $keep; }};
             COMMIT TRANSACTION;"
        );
        let keep = patch.keep_session.map(|sid| sid.to_string());
        let by = patch.by.map(|by| by.to_string());
        let follow = patch.username_follows_email && matches!(patch.email, Some(Some(_)));
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
        let _changing = self.changing(Scope::User(tenant.as_str(), id));
        let script = format!(
            "BEGIN TRANSACTION;
             LET $current = (SELECT role, username_key, email, email_key FROM ONLY type::record('user', [$tenant, $uid]));
             IF $current = NONE {{ THROW 'not_found'; }};
             LET $role_change = false;
             {ADMIN_ONLY}
             IF $current.role = 'admin' {{ {LOCK} IF {ADMINS_LEFT} = 0 {{ THROW 'last_admin'; }}; }};
             DELETE type::record('user', [$tenant, $uid]);
             {RELEASE_NAMES}
             DELETE session WHERE tenant = $tenant AND user = $uid;
             DELETE api_key WHERE tenant = $tenant AND user = $uid;
             LET $groups = {groups};
             UPDATE $groups SET members -= $uid RETURN NONE;
             DELETE identity WHERE tenant = $tenant AND user = $uid;
             COMMIT TRANSACTION;",
            groups = super::groups::groups_of_user()
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
        let row: Option<UserRow> = self.db.select_by_id("user", tenant.as_str(), &id.to_string()).await?;
        row.map(UserRow::into_user).transpose()
    }

    /// The user with this id for answering a read (`GET /users/{id}`): from the record cache
    /// while neither the user nor its tenant changed, else read and kept. Decisions and writes
    /// use [`Store::get_user`], which always reads the record.
    pub async fn read_user(&self, tenant: &TenantId, id: Uuid) -> Result<Option<User>, StoreError> {
        if let Some(user) = self.principals.get_user(tenant, id) {
            return Ok(Some(user));
        }
        let start = self.principals.start_read();
        let user = self.get_user(tenant, id).await?;
        if let Some(user) = &user {
            self.principals.insert_user(tenant, start, user.clone());
        }
        Ok(user)
    }

    /// The user with this username (case-insensitive).
    pub async fn find_user_by_username(&self, tenant: &TenantId, username: &str) -> Result<Option<User>, StoreError> {
        self.find_one("username_key = $key", tenant, unique_key(username)).await
    }

    /// The user a sign-in name denotes: by username or by email, case-insensitive.
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

    /// The owner of the claim on `key`, if `condition` holds for it: two reads by record id,
    /// whatever the size of the tenant (a condition on the table would make the planner scan it).
    async fn find_one(&self, condition: &str, tenant: &TenantId, key: String) -> Result<Option<User>, StoreError> {
        let query = find_one_query(condition);
        let mut response = self.db.query(query).bind(("tenant", tenant.as_str().to_owned())).bind(("key", key)).await?;
        let rows: Vec<UserRow> = response.take(0)?;
        rows.into_iter().next().map(UserRow::into_user).transpose()
    }

    /// Up to `count` users of the tenant as lists show them, oldest first, after `after` (from
    /// the first without): one page of the whole list, read from the `user_created` index at
    /// any depth alike.
    pub async fn list_users(
        &self,
        tenant: &TenantId,
        after: Option<After>,
        count: u64,
    ) -> Result<Vec<UserSummary>, StoreError> {
        let mut request = self
            .db
            .query(users_after_query(after.is_some()))
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("count", count.min(i64::MAX as u64)));
        if let Some(After { created_at, id }) = after {
            request = request.bind(("at", created_at)).bind(("id", id.to_string()));
        }
        let mut response = request.await?;
        let mut rows: Vec<SummaryRow> = response.take(0)?;
        if after.is_some() {
            rows.extend(response.take::<Vec<SummaryRow>>(1)?);
        }
        rows.truncate(usize::try_from(count).unwrap_or(usize::MAX));
        rows.into_iter().map(SummaryRow::into_summary).collect()
    }
}

/// The stored row, with its tenant, as one object to bind.
pub(super) fn with_tenant(tenant: &TenantId, user: &User) -> Value {
    let mut value = UserRow::from_user(user).into_value();
    if let Value::Object(object) = &mut value {
        object.insert("tenant".to_owned(), Value::String(tenant.as_str().to_owned()));
    }
    value
}

/// The stored row with its record id, for `INSERT`.
fn with_id(tenant: &TenantId, user: &User) -> Value {
    let mut value = with_tenant(tenant, user);
    if let Value::Object(object) = &mut value {
        let key = Array::from(vec![tenant.as_str().to_owned(), user.id.to_string()]);
        object.insert("id".to_owned(), Value::RecordId(RecordId::new("user", key)));
    }
    value
}

/// A user's sign-in names as claim keys: `$ukey`, and `$ekey` (`NONE` without an email).
#[derive(Debug, Clone, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub(super) struct Names {
    ukey: String,
    ekey: Option<String>,
}

impl Names {
    pub(super) fn of(user: &User) -> Self {
        Names { ukey: unique_key(&user.username), ekey: user.email.as_deref().map(unique_key) }
    }
}

/// The record id of the claim on `key`.
fn claim_id(tenant: &TenantId, key: &str) -> Value {
    Value::RecordId(RecordId::new("sign_in_name", Array::from(vec![tenant.as_str().to_owned(), key.to_owned()])))
}

/// The claim records a new user owns: its username's, and its email's unless that is the same.
pub(super) fn claims(tenant: &TenantId, user: &User) -> Vec<Value> {
    let Names { ukey, ekey } = Names::of(user);
    let claim = |key: &str, as_username: bool, as_email: bool| {
        let mut object = Object::new();
        object.insert("id".to_owned(), claim_id(tenant, key));
        object.insert("tenant".to_owned(), Value::String(tenant.as_str().to_owned()));
        object.insert("uid".to_owned(), Value::String(user.id.to_string()));
        object.insert("as_username".to_owned(), Value::Bool(as_username));
        object.insert("as_email".to_owned(), Value::Bool(as_email));
        Value::Object(object)
    };
    let mut claims = vec![claim(&ukey, true, ekey.as_ref() == Some(&ukey))];
    if let Some(ekey) = ekey.filter(|ekey| *ekey != ukey) {
        claims.push(claim(&ekey, false, true));
    }
    claims
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

    use surrealdb::types::SurrealValue;

    use super::{AdminGuard, UserPatch};
    use crate::error::Conflict;
    use crate::model::{Role, TenantId, User, UserSummary};
    use crate::store::{test_store, Store, StoreError};

    async fn user(store: &Store, tenant: &TenantId, name: &str, role: Role) -> User {
        let user = User::new(name.to_owned(), None, role, None);
        store.create_user(tenant, &user).await.unwrap();
        user
    }

    /// Creating an admin needs a creator who is an admin as stored when the write happens:
    /// one demoted after its request was authenticated (the actor's check passed on the older
    /// read) is refused in the transaction.
    #[tokio::test]
    async fn only_a_current_admin_creates_an_admin() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let boss = user(&store, &tenant, "boss", Role::Admin).await;
        user(&store, &tenant, "other-admin", Role::Admin).await;
        let first = User::new("first".into(), None, Role::Admin, None);
        store.create_user_by(&tenant, &first, Some(boss.id)).await.unwrap();
        let demote = UserPatch { uid: boss.id, role: Some(Role::Unprivileged), ..UserPatch::default() };
        store.update_user(&tenant, boss.id, &demote, AdminGuard::None).await.unwrap();
        let second = User::new("second".into(), None, Role::Admin, None);
        let refused = store.create_user_by(&tenant, &second, Some(boss.id)).await;
        assert!(matches!(refused, Err(StoreError::Forbidden)), "{refused:?}");
        assert!(store.get_user(&tenant, second.id).await.unwrap().is_none());
        assert!(store.find_user_by_username(&tenant, "second").await.unwrap().is_none(), "no name was claimed");
        let plain = User::new("plain".into(), None, Role::Unprivileged, None);
        store.create_user_by(&tenant, &plain, Some(boss.id)).await.unwrap();
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

    fn person(username: &str, email: Option<&str>) -> User {
        User::new(username.to_owned(), email.map(str::to_owned), Role::Unprivileged, None)
    }

    fn taken(result: Result<impl std::fmt::Debug, StoreError>, expected: Conflict) {
        match result {
            Err(StoreError::Conflict(conflict)) if conflict == expected => {}
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }

    /// The claim records of a tenant, as (key, uid, as_username, as_email), sorted.
    async fn claims(store: &Store, tenant: &TenantId) -> Vec<(String, String, bool, bool)> {
        #[derive(Debug, SurrealValue)]
        #[surreal(crate = "surrealdb::types")]
        struct Claim {
            key: String,
            uid: String,
            as_username: bool,
            as_email: bool,
        }
        let mut response = store
            .db
            .query("SELECT record::id(id)[1] AS key, uid, as_username, as_email FROM sign_in_name WHERE tenant = $tenant ORDER BY key")
            .bind(("tenant", tenant.as_str().to_owned()))
            .await
            .unwrap();
        let rows: Vec<Claim> = response.take(0).unwrap();
        rows.into_iter().map(|claim| (claim.key, claim.uid, claim.as_username, claim.as_email)).collect()
    }

    fn patch(uid: Uuid) -> UserPatch {
        UserPatch { uid, ..UserPatch::default() }
    }

    /// One user's email is never another's username, whichever is written first, on create
    /// and on update; the refusal names the new user's name that collided.
    #[tokio::test]
    async fn a_username_is_never_another_users_email() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let a = person("alice", Some("Alice@Test"));
        store.create_user(&tenant, &a).await.unwrap();
        // A's email as B's username, and A's username as B's email.
        taken(store.create_user(&tenant, &person("ALICE@test", None)).await, Conflict::UsernameTaken);
        taken(store.create_user(&tenant, &person("bob", Some("Alice"))).await, Conflict::EmailTaken);
        // Both collide: the email is named.
        taken(store.create_user(&tenant, &person("alice", Some("alice@test"))).await, Conflict::EmailTaken);
        // The same through updates of an existing user.
        let b = person("bob", Some("bob@test"));
        store.create_user(&tenant, &b).await.unwrap();
        let rename = UserPatch { username: Some("alice@TEST".into()), ..patch(b.id) };
        taken(store.update_user(&tenant, b.id, &rename, AdminGuard::None).await, Conflict::UsernameTaken);
        let readdress = UserPatch { email: Some(Some("ALICE".into())), ..patch(b.id) };
        taken(store.update_user(&tenant, b.id, &readdress, AdminGuard::None).await, Conflict::EmailTaken);
        // And by an auto-created (SSO) user.
        let identity = crate::model::IdentityKey {
            provider: "corp".into(),
            issuer: "https://idp.test".into(),
            subject: "s1".into(),
        };
        let sso = person("bob@test", Some("bob@test"));
        taken(store.create_linked_user(&tenant, &sso, &identity, None).await, Conflict::EmailTaken);
        // Nothing changed: B is as created, and the claims are exactly A's and B's.
        let stored = store.get_user(&tenant, b.id).await.unwrap().unwrap();
        assert_eq!((stored.username.as_str(), stored.email.as_deref()), ("bob", Some("bob@test")));
        let (a_id, b_id) = (a.id.to_string(), b.id.to_string());
        assert_eq!(
            claims(&store, &tenant).await,
            vec![
                ("alice".into(), a_id.clone(), true, false),
                ("alice@test".into(), a_id, false, true),
                ("bob".into(), b_id.clone(), true, false),
                ("bob@test".into(), b_id, false, true),
            ]
        );
        // Another tenant has its own names.
        let other = TenantId::parse("other").unwrap();
        store.create_user(&other, &person("alice@test", Some("alice"))).await.unwrap();
    }

    /// A user's username may be its own email (one claim for both), on create and on update.
    #[tokio::test]
    async fn a_users_username_may_be_its_own_email() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let a = person("Carol@Test", Some("carol@test"));
        store.create_user(&tenant, &a).await.unwrap();
        assert_eq!(claims(&store, &tenant).await, vec![("carol@test".into(), a.id.to_string(), true, true)]);
        let b = person("dave", Some("dave@test"));
        store.create_user(&tenant, &b).await.unwrap();
        let same = UserPatch { username: Some("DAVE@test".into()), ..patch(b.id) };
        store.update_user(&tenant, b.id, &same, AdminGuard::None).await.unwrap();
        // Swapped back apart: the email keeps its claim, the new username gets one.
        let apart = UserPatch { username: Some("david".into()), ..patch(b.id) };
        store.update_user(&tenant, b.id, &apart, AdminGuard::None).await.unwrap();
        let b_id = b.id.to_string();
        assert_eq!(
            claims(&store, &tenant).await,
            vec![
                ("carol@test".into(), a.id.to_string(), true, true),
                ("dave@test".into(), b_id.clone(), false, true),
                ("david".into(), b_id, true, false),
            ]
        );
        // The username follows a new email when they were equal: the old name is released.
        let follow = UserPatch { email: Some(Some("carol2@test".into())), username_follows_email: true, ..patch(a.id) };
        let updated = store.update_user(&tenant, a.id, &follow, AdminGuard::None).await.unwrap();
        assert_eq!(updated.username, "carol2@test");
        store.create_user(&tenant, &person("carol@test", None)).await.unwrap();
    }

    /// Deleting a user, renaming it, or removing its email frees the names for others.
    #[tokio::test]
    async fn names_are_released_on_delete_and_on_rename() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let admin = user(&store, &tenant, "admin", Role::Admin).await;
        let a = person("erin", Some("erin@test"));
        store.create_user(&tenant, &a).await.unwrap();
        let rename = UserPatch { username: Some("erin2".into()), ..patch(a.id) };
        store.update_user(&tenant, a.id, &rename, AdminGuard::None).await.unwrap();
        let taker = person("ERIN", None);
        store.create_user(&tenant, &taker).await.unwrap();
        let drop_email = UserPatch { email: Some(None), ..patch(a.id) };
        store.update_user(&tenant, a.id, &drop_email, AdminGuard::None).await.unwrap();
        store.create_user(&tenant, &person("x", Some("erin@test"))).await.unwrap();
        store.delete_user(&tenant, a.id, admin.id).await.unwrap();
        store.create_user(&tenant, &person("Erin2", None)).await.unwrap();
        // A bookkeeping write leaves the claims alone; no claim of a deleted user is left.
        let seen = UserPatch { last_signed_in: Some((chrono::Utc::now(), "password".into())), ..patch(taker.id) };
        store.update_user(&tenant, taker.id, &seen, AdminGuard::None).await.unwrap();
        let owners: Vec<String> = claims(&store, &tenant).await.into_iter().map(|claim| claim.1).collect();
        assert_eq!(owners.len(), 5, "admin, erin, x, erin@test, erin2");
        assert!(!owners.contains(&a.id.to_string()));
        assert_eq!(store.find_user_by_login(&tenant, "erin").await.unwrap().unwrap().id, taker.id);
    }

    /// A batch is created whole or not at all: a name twice in it, or claimed already, refuses
    /// every user of it.
    #[tokio::test]
    async fn a_batch_with_a_taken_name_creates_nobody() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        store.create_user(&tenant, &person("frank", Some("frank@test"))).await.unwrap();
        let fresh = |i: usize| person(&format!("user{i}"), Some(&format!("user{i}@test")));
        // Inside the batch: a username used twice, an email that is another's username.
        let batch = vec![fresh(1), fresh(2), person("USER1", None)];
        taken(store.create_users(&tenant, &batch).await, Conflict::UsernameTaken);
        let batch = vec![fresh(1), person("u3", Some("user1")), fresh(2)];
        taken(store.create_users(&tenant, &batch).await, Conflict::EmailTaken);
        // Claimed already, as username or as email.
        let batch = vec![fresh(1), person("Frank@Test", None), fresh(2)];
        taken(store.create_users(&tenant, &batch).await, Conflict::UsernameTaken);
        let batch = vec![fresh(1), person("u3", Some("FRANK")), fresh(2)];
        taken(store.create_users(&tenant, &batch).await, Conflict::EmailTaken);
        assert_eq!(store.list_users(&tenant, None, 10_000).await.unwrap().len(), 1);
        assert_eq!(claims(&store, &tenant).await.len(), 2);
        // A batch with a user whose username is its email, and users without email.
        let batch = vec![fresh(1), person("same@test", Some("SAME@test")), person("plain", None)];
        store.create_users(&tenant, &batch).await.unwrap();
        assert_eq!(store.list_users(&tenant, None, 10_000).await.unwrap().len(), 4);
        assert_eq!(claims(&store, &tenant).await.len(), 6);
        for user in &batch {
            let stored = store.get_user(&tenant, user.id).await.unwrap().unwrap();
            assert_eq!(stored.username, user.username);
            assert_eq!(store.find_user_by_login(&tenant, &user.username).await.unwrap().unwrap().id, user.id);
        }
    }

    /// Lookups by name read the claim: a username or an email for sign-in, an email (or the
    /// username of a user without one) for Firezone, the email alone for upstream sign-ins.
    #[tokio::test]
    async fn lookups_by_name_read_the_claim() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let a = person("gina", Some("gina@test"));
        let b = person("hal@test", None);
        store.create_user(&tenant, &a).await.unwrap();
        store.create_user(&tenant, &b).await.unwrap();
        let id = |user: Option<User>| user.map(|user| user.id);
        assert_eq!(id(store.find_user_by_username(&tenant, "GINA").await.unwrap()), Some(a.id));
        assert_eq!(id(store.find_user_by_username(&tenant, "gina@test").await.unwrap()), None);
        assert_eq!(id(store.find_user_by_login(&tenant, "Gina@Test").await.unwrap()), Some(a.id));
        assert_eq!(id(store.find_user_by_login(&tenant, "gina").await.unwrap()), Some(a.id));
        assert_eq!(id(store.find_user_by_email(&tenant, "gina@test").await.unwrap()), Some(a.id));
        assert_eq!(id(store.find_user_by_email(&tenant, "gina").await.unwrap()), None);
        assert_eq!(id(store.find_user_by_email(&tenant, "HAL@test").await.unwrap()), Some(b.id));
        assert_eq!(id(store.find_user_by_email_only(&tenant, "hal@test").await.unwrap()), None);
        assert_eq!(id(store.find_user_by_email_only(&tenant, "gina@test").await.unwrap()), Some(a.id));
        assert_eq!(id(store.find_user_by_login(&tenant, "nobody").await.unwrap()), None);
        let other = TenantId::parse("other").unwrap();
        assert_eq!(id(store.find_user_by_login(&other, "gina").await.unwrap()), None);
    }

    /// Writers racing for one name (new users with it as username or as email, a batch with
    /// it, existing users renamed to it) write the same claim record: exactly one wins.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_claims_of_one_name_have_one_winner() {
        racing_claims(test_store().await).await;
        // The same on the engine a server stores in by default.
        let dir = tempfile::tempdir().unwrap();
        let config = crate::store::test_config(format!("surrealkv://{}", dir.path().join("db").display()));
        racing_claims(Store::open(&config).await.unwrap()).await;
    }

    async fn racing_claims(store: Store) {
        let tenant = TenantId::default_tenant();
        for round in 0..3 {
            let name = format!("Racer{round}@Test");
            let mut existing = Vec::new();
            for i in 0..3 {
                let user = person(&format!("plain{round}-{i}"), None);
                store.create_user(&tenant, &user).await.unwrap();
                existing.push(user.id);
            }
            let mut tasks = Vec::new();
            for i in 0..9 {
                let (store, tenant, name) = (store.clone(), tenant.clone(), name.clone());
                let renamed = existing[i / 3];
                tasks.push(tokio::spawn(async move {
                    match i % 3 {
                        0 => store.create_user(&tenant, &person(&name.to_uppercase(), None)).await,
                        1 => store.create_users(&tenant, &[person(&format!("b{round}-{i}"), Some(&name))]).await,
                        _ => {
                            let patch = UserPatch { email: Some(Some(name.to_lowercase())), ..patch(renamed) };
                            store.update_user(&tenant, renamed, &patch, AdminGuard::None).await.map(|_| ())
                        }
                    }
                }));
            }
            let mut wins = 0;
            let mut winners = Vec::new();
            for (i, task) in tasks.into_iter().enumerate() {
                match task.await.unwrap() {
                    Ok(()) => {
                        wins += 1;
                        winners.push(i);
                    }
                    Err(StoreError::Conflict(Conflict::UsernameTaken | Conflict::EmailTaken)) => {}
                    Err(other) => panic!("unexpected {other:?}"),
                }
            }
            assert_eq!(wins, 1, "round {round}: {winners:?} {:?}", claims(&store, &tenant).await);
            let key = name.to_lowercase();
            let holders = store
                .list_users(&tenant, None, 10_000)
                .await
                .unwrap()
                .into_iter()
                .filter(|user| {
                    user.username.to_lowercase() == key
                        || user.email.as_deref().map(str::to_lowercase) == Some(key.clone())
                })
                .count();
            assert_eq!(holders, 1, "round {round}");
        }
    }

    /// A whole list read chunk after chunk holds every user once, in creation order, also when
    /// several were created at the same instant and a chunk ends among them.
    #[tokio::test]
    async fn chunks_after_a_key_cover_the_list_once() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let instant = chrono::Utc::now();
        let mut users: Vec<User> = (0..5)
            .map(|index| User { created_at: instant, ..person(&format!("same{index}"), None) })
            .chain((0..4).map(|index| {
                let later = instant + chrono::Duration::milliseconds(index + 1);
                User { created_at: later, ..person(&format!("later{index}"), None) }
            }))
            .collect();
        for user in &users {
            store.create_user(&tenant, user).await.unwrap();
        }
        store.create_user(&TenantId::parse("other").unwrap(), &person("elsewhere", None)).await.unwrap();
        users.sort_by_key(|user| (user.created_at, user.id.to_string()));
        let expected: Vec<Uuid> = users.iter().map(|user| user.id).collect();
        for count in [1, 2, 3, 9, 10] {
            let (mut read, mut after) = (Vec::new(), None);
            loop {
                let chunk = store.list_users(&tenant, after, count).await.unwrap();
                assert!(chunk.len() as u64 <= count);
                read.extend(chunk.iter().map(|user| user.id));
                match chunk.last() {
                    Some(last) if chunk.len() as u64 == count => {
                        after = Some(super::After { created_at: last.created_at, id: last.id });
                    }
                    _ => break,
                }
            }
            assert_eq!(read, expected, "chunks of {count}");
        }
    }

    /// A whole list shows each user's summary exactly as stored (every field a list renders,
    /// timestamps and role included), and reads no more: its rows are [`super::SummaryRow`]s,
    /// whose fields hold no password hash, SCIM profile or policy.
    #[tokio::test]
    async fn a_list_reads_each_users_summary_as_stored() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let signed_in = chrono::Utc::now() - chrono::Duration::minutes(5);
        let admin = User::new("root".to_owned(), None, Role::Admin, Some("$argon2id$v=19$secret".to_owned()));
        let provisioned = User {
            disabled_at: Some(signed_in - chrono::Duration::minutes(1)),
            last_signed_in_at: Some(signed_in),
            last_signed_in_method: Some("okta".to_owned()),
            external_id: Some("00u1".to_owned()),
            profile: serde_json::json!({"name": {"givenName": "Ann"}}),
            ..person("ann", Some("Ann@Example.test"))
        };
        for user in [&admin, &provisioned] {
            store.create_user(&tenant, user).await.unwrap();
        }
        let listed = store.list_users(&tenant, None, 10).await.unwrap();
        let mut expected = vec![UserSummary::from(&admin), UserSummary::from(&provisioned)];
        expected.sort_by_key(|user| (user.created_at, user.id));
        assert_eq!(listed.len(), 2);
        // Compared to the millisecond, the finest either dialect renders.
        for (listed, expected) in listed.iter().zip(&expected) {
            assert_eq!(
                (listed.id, &listed.username, &listed.email, listed.role),
                (expected.id, &expected.username, &expected.email, expected.role)
            );
            assert_eq!(listed.last_signed_in_method, expected.last_signed_in_method);
            let millis = |at: Option<chrono::DateTime<chrono::Utc>>| at.map(|at| at.timestamp_millis());
            assert_eq!(millis(listed.disabled_at), millis(expected.disabled_at));
            assert_eq!(millis(listed.last_signed_in_at), millis(expected.last_signed_in_at));
            assert_eq!(listed.created_at.timestamp_millis(), expected.created_at.timestamp_millis());
            assert_eq!(listed.updated_at.timestamp_millis(), expected.updated_at.timestamp_millis());
        }
        for secret in ["password_hash", "scim", "policy_ids", "external_id"] {
            assert!(!super::SUMMARY_ARRAY.contains(secret), "{secret} is read by lists");
        }
    }

    /// A database from before the claim table gets the claims of its users from schema 10,
    /// and applying it again changes nothing.
    #[tokio::test]
    async fn schema_10_backfills_the_claims() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let other = TenantId::parse("other").unwrap();
        let users = [person("ivy", Some("ivy@test")), person("jo@test", Some("JO@test")), person("kim", None)];
        for user in &users {
            store.create_user(&tenant, user).await.unwrap();
        }
        store.create_user(&other, &person("ivy", None)).await.unwrap();
        let expected = claims(&store, &tenant).await;
        assert_eq!(expected.len(), 4);
        // As a database at schema 8: no claims, versions 9 and later not applied.
        store.db.query("DELETE sign_in_name; DELETE schema_version WHERE version >= 9").await.unwrap().check().unwrap();
        assert!(claims(&store, &tenant).await.is_empty());
        assert_eq!(store.migrate().await.unwrap(), (9..=super::super::migrate::SCHEMA_VERSION).collect::<Vec<_>>());
        assert_eq!(claims(&store, &tenant).await, expected);
        assert_eq!(claims(&store, &other).await.len(), 1);
        let script = include_str!("../../../schemas/010_sign_in_names.surql");
        store.db.query(script).await.unwrap().check().unwrap();
        assert_eq!(claims(&store, &tenant).await, expected);
        assert_eq!(claims(&store, &other).await.len(), 1);
        // The backfilled claims are enforced.
        taken(store.create_user(&tenant, &person("IVY@test", None)).await, Conflict::UsernameTaken);
        assert_eq!(store.find_user_by_login(&tenant, "jo@test").await.unwrap().unwrap().id, users[1].id);
    }
}
