//! The tenant registry: a tenant must exist before anything can be stored under it. Every
//! change bumps the registry epoch in its own transaction, which is how other replicas notice.

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};

use super::{Scope, Store, StoreError};
use crate::model::{Tenant, TenantId, TenantSettings};

/// Every table that holds records of a tenant, each with an index starting with `tenant` (or
/// with a tenant-first key, [`KEYED_TABLES`]), so that a deletion can empty it for one tenant in
/// bounded batches.
pub const TENANT_TABLES: &[&str] = &[
    "session",
    "api_key",
    "identity",
    "sign_in_state",
    "login_attempt",
    "sign_in_name",
    "user",
    "user_group",
    "policy",
    "configuration",
    "tenant_host",
    "tenant_lock",
    "audit_event",
    "membership",
];

/// The tenant tables whose only tenant-first index is on a string key `<tenant> …` (schema
/// version 16), and that key: a tenant's records are those keyed from `<tenant> ` up to
/// `<tenant>!` (a tenant id holds no space and no `!`).
const KEYED_TABLES: &[(&str, &str)] = &[("sign_in_name", "name_key"), ("audit_event", "feed_key")];

/// The bounds `$from`, `$to` of a tenant's keys in [`KEYED_TABLES`].
pub(super) fn tenant_key_bounds(tenant: &TenantId) -> (String, String) {
    (format!("{tenant} "), format!("{tenant}!"))
}

/// The query reading up to `$limit` ids of `$tenant`'s records in `table` from an index (a
/// keyed table's between [`tenant_key_bounds`]).
pub(super) fn tenant_ids_query(table: &str) -> String {
    match KEYED_TABLES.iter().find(|(keyed, _)| *keyed == table) {
        Some((_, key)) => {
            format!("SELECT VALUE id FROM {table} WHERE {key} >= $from AND {key} < $to ORDER BY {key} LIMIT $limit")
        }
        None => "SELECT VALUE id FROM type::table($table) WHERE tenant = $tenant LIMIT $limit".to_owned(),
    }
}

/// Bumps the epoch every replica polls; part of every tenant write's transaction.
const BUMP_EPOCH: &str = "UPSERT tenant_registry:epoch SET epoch = (epoch OR 0) + 1 RETURN NONE;";

/// Claims `$hostnames` for `$id`, refusing any another tenant holds.
const CLAIM_HOSTNAMES: &str = "FOR $host IN $hostnames {
         LET $holder = (SELECT VALUE tenant FROM ONLY type::record('tenant_host', $host));
         IF $holder != NONE AND $holder != $id { THROW 'hostname_taken'; };
         UPSERT type::record('tenant_host', $host) SET tenant = $id RETURN NONE;
     };";

const TENANT_FIELDS: &str = "name, display_name, hostnames, password_min_length, session_lifetime_minutes, \
     api_key_max_lifetime_days, deleting_at, created_at, updated_at";

/// What a tenant update changes; `None` leaves a field as stored. Settings are replaced whole
/// (the API reads them, changes what it was asked to, and writes them back).
#[derive(Debug, Clone, Default)]
pub struct TenantPatch {
    pub display_name: Option<String>,
    pub hostnames: Option<Vec<String>>,
    pub settings: Option<TenantSettings>,
}

#[derive(Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct TenantRow {
    name: String,
    display_name: Option<String>,
    hostnames: Option<Vec<String>>,
    password_min_length: Option<i64>,
    session_lifetime_minutes: Option<i64>,
    api_key_max_lifetime_days: Option<i64>,
    deleting_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: Option<DateTime<Utc>>,
}

impl TenantRow {
    fn into_tenant(self) -> Option<Tenant> {
        let id = TenantId::parse(&self.name)?;
        let setting = |value: Option<i64>| value.and_then(|value| u32::try_from(value).ok());
        Some(Tenant {
            display_name: self.display_name.unwrap_or_else(|| self.name.clone()),
            id,
            hostnames: self.hostnames.unwrap_or_default(),
            settings: TenantSettings {
                password_min_length: setting(self.password_min_length),
                session_lifetime_minutes: setting(self.session_lifetime_minutes),
                api_key_max_lifetime_days: setting(self.api_key_max_lifetime_days),
            },
            deleting_at: self.deleting_at,
            created_at: self.created_at,
            updated_at: self.updated_at.unwrap_or(self.created_at),
        })
    }
}

/// The stored form of a tenant's settings, bound as one object; a setting left to its default
/// is absent (NONE), not JSON null, which the schema's `option<int>` refuses.
fn settings_value(settings: &TenantSettings) -> serde_json::Value {
    let mut object = serde_json::Map::new();
    for (key, value) in [
        ("password_min_length", settings.password_min_length),
        ("session_lifetime_minutes", settings.session_lifetime_minutes),
        ("api_key_max_lifetime_days", settings.api_key_max_lifetime_days),
    ] {
        if let Some(value) = value {
            object.insert(key.to_owned(), value.into());
        }
    }
    serde_json::Value::Object(object)
}

impl Store {
    /// Creates the tenant if it does not exist yet (the default tenant and `server.tenants`).
    pub async fn ensure_tenant(&self, tenant: &TenantId) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION;
             IF record::exists(type::record('tenant', $name)) = false {{
                 CREATE type::record('tenant', $name) SET name = $name, created_at = time::now(),
                     updated_at = time::now() RETURN NONE;
                 {BUMP_EPOCH}
             }};
             COMMIT TRANSACTION;"
        );
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("name", tenant.as_str().to_owned()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Creates a tenant with its hostnames; `TenantExists` if the id is taken (also while an
    /// earlier tenant of that id is still being deleted), `HostnameTaken` if another tenant
    /// routes one of the hostnames.
    pub async fn create_tenant(&self, tenant: &Tenant) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION;
             IF record::exists(type::record('tenant', $id)) {{ THROW 'tenant_exists'; }};
             {CLAIM_HOSTNAMES}
             CREATE type::record('tenant', $id) SET name = $id, display_name = $display_name,
                 hostnames = $hostnames, password_min_length = $settings.password_min_length,
                 session_lifetime_minutes = $settings.session_lifetime_minutes,
                 api_key_max_lifetime_days = $settings.api_key_max_lifetime_days,
                 created_at = $now, updated_at = $now RETURN NONE;
             {BUMP_EPOCH}
             COMMIT TRANSACTION;"
        );
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("id", tenant.id.as_str().to_owned()))
                .bind(("display_name", tenant.display_name.clone()))
                .bind(("hostnames", tenant.hostnames.clone()))
                .bind(("settings", settings_value(&tenant.settings)))
                .bind(("now", tenant.created_at))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// One tenant (also while it is being deleted).
    pub async fn get_tenant(&self, tenant: &TenantId) -> Result<Option<Tenant>, StoreError> {
        let mut response = self
            .db
            .query(format!("SELECT {TENANT_FIELDS} FROM type::record('tenant', $id)"))
            .bind(("id", tenant.as_str().to_owned()))
            .await?;
        let rows: Vec<TenantRow> = response.take(0)?;
        Ok(rows.into_iter().next().and_then(TenantRow::into_tenant))
    }

    /// Every tenant, by id (also those being deleted).
    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let mut response = self.db.query(format!("SELECT {TENANT_FIELDS} FROM tenant ORDER BY name")).await?;
        let rows: Vec<TenantRow> = response.take(0)?;
        Ok(rows.into_iter().filter_map(TenantRow::into_tenant).collect())
    }

    /// Applies `patch` to an active tenant and returns the result; `NotFound` if it is gone
    /// or being deleted. Hostnames it no longer lists are released in the same transaction.
    pub async fn update_tenant(&self, tenant: &TenantId, patch: &TenantPatch) -> Result<Tenant, StoreError> {
        let script = format!(
            "BEGIN TRANSACTION;
             LET $current = (SELECT name, deleting_at FROM ONLY type::record('tenant', $id));
             IF $current = NONE OR $current.deleting_at != NONE {{ THROW 'not_found'; }};
             IF $hostnames != NONE {{
                 DELETE tenant_host WHERE tenant = $id AND record::id(id) NOT IN $hostnames;
                 {CLAIM_HOSTNAMES}
                 UPDATE type::record('tenant', $id) SET hostnames = $hostnames RETURN NONE;
             }};
             IF $display_name != NONE {{
                 UPDATE type::record('tenant', $id) SET display_name = $display_name RETURN NONE;
             }};
             IF $settings != NONE {{
                 UPDATE type::record('tenant', $id) SET password_min_length = $settings.password_min_length,
                     session_lifetime_minutes = $settings.session_lifetime_minutes,
                     api_key_max_lifetime_days = $settings.api_key_max_lifetime_days RETURN NONE;
             }};
             UPDATE type::record('tenant', $id) SET updated_at = time::now() RETURN NONE;
             {BUMP_EPOCH}
             COMMIT TRANSACTION;"
        );
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("id", tenant.as_str().to_owned()))
                .bind(("display_name", patch.display_name.clone()))
                .bind(("hostnames", patch.hostnames.clone()))
                .bind(("settings", patch.settings.as_ref().map(settings_value)))
                .await
                .and_then(super::first_failure)
        })
        .await?;
        self.get_tenant(tenant).await?.ok_or(StoreError::NotFound)
    }

    /// Marks a tenant as being deleted (from then on it is served nowhere); `NotFound` if
    /// it does not exist or is already being deleted.
    pub async fn start_tenant_deletion(&self, tenant: &TenantId) -> Result<Tenant, StoreError> {
        let _changing = self.changing(Scope::Tenant(tenant.as_str()));
        let script = format!(
            "BEGIN TRANSACTION;
             LET $current = (SELECT name, deleting_at FROM ONLY type::record('tenant', $id));
             IF $current = NONE OR $current.deleting_at != NONE {{ THROW 'not_found'; }};
             UPDATE type::record('tenant', $id) SET deleting_at = time::now(), updated_at = time::now() RETURN NONE;
             {BUMP_EPOCH}
             COMMIT TRANSACTION;"
        );
        self.retrying(|| async {
            self.db.query(script.as_str()).bind(("id", tenant.as_str().to_owned())).await.and_then(super::first_failure)
        })
        .await?;
        self.get_tenant(tenant).await?.ok_or(StoreError::NotFound)
    }

    /// Up to `limit` ids of the tenant's records in `table` (one of [`TENANT_TABLES`]), read
    /// through the table's tenant index, for [`Store::delete_tenant_records`]. The read starts at the
    /// tenant's first index key and passes over the tombstones of every record deleted before
    /// (until a compaction drops them), so a purge reads many ids at once and deletes them in
    /// several short transactions: with one read per 500 deletions, each batch took longer than
    /// the one before (260 to 410 ms across a 20,000-user tenant's users).
    pub async fn tenant_record_ids(
        &self,
        tenant: &TenantId,
        table: &str,
        limit: usize,
    ) -> Result<Vec<RecordId>, StoreError> {
        if !TENANT_TABLES.contains(&table) {
            return Err(StoreError::Database(format!("{table} is not a tenant table")));
        }
        let (from, to) = tenant_key_bounds(tenant);
        let mut response = self
            .retrying(|| async {
                self.db
                    .query(tenant_ids_query(table))
                    .bind(("table", table.to_owned()))
                    .bind(("tenant", tenant.as_str().to_owned()))
                    .bind(("from", from.clone()))
                    .bind(("to", to.clone()))
                    .bind(("limit", i64::try_from(limit).unwrap_or(i64::MAX)))
                    .await
            })
            .await?;
        Ok(response.take(0)?)
    }

    /// Deletes those of these records (ids from [`Store::tenant_record_ids`]) that belong to
    /// the tenant, in one transaction; a record already gone, or another tenant's, is skipped.
    pub async fn delete_tenant_records(&self, tenant: &TenantId, ids: &[RecordId]) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query("DELETE $ids WHERE tenant = $tenant RETURN NONE")
                .bind(("ids", ids.to_vec()))
                .bind(("tenant", tenant.as_str().to_owned()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Removes the tenant record itself and its own lock, once every table is empty of it.
    pub async fn finish_tenant_deletion(&self, tenant: &TenantId) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION;
             DELETE type::record('tenant', $id);
             DELETE type::record('tenant_lock', $id);
             {BUMP_EPOCH}
             COMMIT TRANSACTION;"
        );
        self.retrying(|| async {
            self.db.query(script.as_str()).bind(("id", tenant.as_str().to_owned())).await.and_then(super::first_failure)
        })
        .await
    }

    /// The registry epoch: it changes whenever any tenant does.
    pub async fn tenant_epoch(&self) -> Result<i64, StoreError> {
        let mut response = self.db.query("SELECT VALUE epoch FROM ONLY tenant_registry:epoch").await?;
        let epoch: Option<i64> = response.take(0)?;
        Ok(epoch.unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::TenantPatch;
    use crate::error::Conflict;
    use crate::model::{Tenant, TenantId, TenantSettings};
    use crate::store::{test_store, StoreError};

    fn tenant(id: &str, hostnames: &[&str]) -> Tenant {
        Tenant {
            id: TenantId::parse(id).unwrap(),
            display_name: id.to_uppercase(),
            hostnames: hostnames.iter().map(|host| (*host).to_owned()).collect(),
            settings: TenantSettings { password_min_length: Some(14), ..TenantSettings::default() },
            deleting_at: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn ids_and_hostnames_are_unique_and_changes_bump_the_epoch() {
        let store = test_store().await;
        let before = store.tenant_epoch().await.unwrap();
        store.create_tenant(&tenant("acme", &["id.acme.test"])).await.unwrap();
        assert!(store.tenant_epoch().await.unwrap() > before);
        let again = store.create_tenant(&tenant("acme", &[])).await;
        assert!(matches!(again, Err(StoreError::Conflict(Conflict::TenantExists))), "{again:?}");
        let stolen = store.create_tenant(&tenant("other", &["id.acme.test"])).await;
        assert!(matches!(stolen, Err(StoreError::Conflict(Conflict::HostnameTaken))), "{stolen:?}");
        assert!(store.get_tenant(&TenantId::parse("other").unwrap()).await.unwrap().is_none());

        let acme = TenantId::parse("acme").unwrap();
        let moved = TenantPatch { hostnames: Some(vec!["login.acme.test".into()]), ..TenantPatch::default() };
        let updated = store.update_tenant(&acme, &moved).await.unwrap();
        assert_eq!(updated.hostnames, ["login.acme.test"]);
        assert_eq!(updated.settings.password_min_length, Some(14));
        // The released hostname can be claimed by another tenant now.
        store.create_tenant(&tenant("other", &["id.acme.test"])).await.unwrap();
    }

    #[tokio::test]
    async fn a_tenant_being_deleted_cannot_be_changed_or_recreated() {
        let store = test_store().await;
        let acme = TenantId::parse("acme").unwrap();
        store.create_tenant(&tenant("acme", &["id.acme.test"])).await.unwrap();
        let marked = store.start_tenant_deletion(&acme).await.unwrap();
        assert!(!marked.is_active());
        let update = store.update_tenant(&acme, &TenantPatch::default()).await;
        assert!(matches!(update, Err(StoreError::NotFound)), "{update:?}");
        let recreate = store.create_tenant(&tenant("acme", &[])).await;
        assert!(matches!(recreate, Err(StoreError::Conflict(Conflict::TenantExists))), "{recreate:?}");
        for table in super::TENANT_TABLES {
            store
                .delete_tenant_records(&acme, &store.tenant_record_ids(&acme, table, 1000).await.unwrap())
                .await
                .unwrap();
        }
        store.finish_tenant_deletion(&acme).await.unwrap();
        assert!(store.get_tenant(&acme).await.unwrap().is_none());
        store.create_tenant(&tenant("other", &["id.acme.test"])).await.unwrap();
    }

    /// A tenant's records are read a bounded number at a time, deleted in chunks, and only
    /// that tenant's; a chunk met again (a resumed purge) is skipped.
    #[tokio::test]
    async fn purging_removes_every_record_of_the_tenant_in_bounded_reads() {
        use crate::model::{Role, User};
        let store = test_store().await;
        let acme = TenantId::parse("acme").unwrap();
        let other = TenantId::parse("other").unwrap();
        store.create_tenant(&tenant("acme", &[])).await.unwrap();
        store.create_tenant(&tenant("other", &[])).await.unwrap();
        let users: Vec<User> =
            (0..1200).map(|i| User::new(format!("user{i}"), None, Role::Unprivileged, None)).collect();
        for chunk in users.chunks(400) {
            store.create_users(&acme, chunk).await.unwrap();
        }
        store.create_users(&other, &users[..3]).await.unwrap();
        // The deletion is scoped in the store: another tenant's ids are left alone.
        let others = store.tenant_record_ids(&other, "user", 10).await.unwrap();
        assert_eq!(others.len(), 3);
        store.delete_tenant_records(&acme, &others).await.unwrap();
        assert_eq!(store.tenant_record_ids(&other, "user", 10).await.unwrap(), others);
        let mut reads = Vec::new();
        loop {
            let ids = store.tenant_record_ids(&acme, "user", 1000).await.unwrap();
            if ids.is_empty() {
                break;
            }
            reads.push(ids.len());
            for chunk in ids.chunks(300) {
                store.delete_tenant_records(&acme, chunk).await.unwrap();
            }
            store.delete_tenant_records(&acme, &ids[..10]).await.unwrap();
        }
        assert_eq!(reads, [1000, 200]);
        let names = store.tenant_record_ids(&acme, "sign_in_name", 5000).await.unwrap();
        assert_eq!(names.len(), 1200);
        store.delete_tenant_records(&acme, &names).await.unwrap();
        let not_a_table = store.tenant_record_ids(&acme, "tenant", 10).await;
        assert!(matches!(not_a_table, Err(StoreError::Database(_))), "{not_a_table:?}");
        let mut response =
            store.db.query("SELECT VALUE tenant FROM user; SELECT VALUE tenant FROM sign_in_name;").await.unwrap();
        let users: Vec<String> = response.take(0).unwrap();
        let names: Vec<String> = response.take(1).unwrap();
        assert_eq!(users, ["other"; 3]);
        assert_eq!(names, ["other"; 3]);
    }
}
