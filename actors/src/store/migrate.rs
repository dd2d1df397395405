//! Versioned schema files from `schemas/`, applied in order at every start. Each file is
//! idempotent and its version is recorded, so a newer binary upgrades an older database.

use super::{Store, StoreError};

/// The schema files compiled into the binary, in order.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../../../schemas/001_core.surql")),
    (2, include_str!("../../../schemas/002_iam.surql")),
    (3, include_str!("../../../schemas/003_sso.surql")),
    (4, include_str!("../../../schemas/004_leases.surql")),
    (5, include_str!("../../../schemas/005_login_attempts.surql")),
    (7, include_str!("../../../schemas/007_expiry.surql")),
    (8, include_str!("../../../schemas/008_scim.surql")),
    (9, include_str!("../../../schemas/009_tenants.surql")),
    (10, include_str!("../../../schemas/010_sign_in_names.surql")),
    (11, include_str!("../../../schemas/011_request_path_indexes.surql")),
    (12, include_str!("../../../schemas/012_policy_list_versions.surql")),
    (13, include_str!("../../../schemas/013_audit.surql")),
    (14, include_str!("../../../schemas/014_memberships.surql")),
    (15, include_str!("../../../schemas/015_ordered_lists.surql")),
    (16, include_str!("../../../schemas/016_range_keys.surql")),
    (17, include_str!("../../../schemas/017_key_session_order.surql")),
    (18, include_str!("../../../schemas/018_fewer_indexes.surql")),
];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].0;

impl Store {
    /// The newest schema version applied to the database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let mut response = self.db.query("SELECT VALUE version FROM schema_version").await?;
        let applied: Vec<i64> = response.take(0)?;
        Ok(applied.into_iter().max().unwrap_or(0))
    }

    /// Applies every schema file newer than the recorded version; returns the versions applied.
    pub async fn migrate(&self) -> Result<Vec<i64>, StoreError> {
        // The first file defines schema_version itself, so it is always (idempotently) applied.
        self.db.query(MIGRATIONS[0].1).await?.check()?;
        let mut response = self.db.query("SELECT VALUE version FROM schema_version").await?;
        let applied: Vec<i64> = response.take(0)?;
        let current = applied.into_iter().max().unwrap_or(0);
        if current > SCHEMA_VERSION {
            return Err(StoreError::Database(format!(
                "database schema version {current} is newer than this binary's {SCHEMA_VERSION}"
            )));
        }
        let mut done = Vec::new();
        for (version, script) in MIGRATIONS.iter().filter(|(version, _)| *version > current) {
            self.db
                .query(*script)
                .query(
                    "UPSERT type::record('schema_version', $version) SET version = $version, applied_at = time::now()",
                )
                .bind(("version", *version))
                .await?
                .check()?;
            tracing::info!(version, "applied schema");
            done.push(*version);
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_store;

    /// `table`'s definition as the database gives it now (its indexes by name among it).
    async fn info(store: &crate::store::Store, table: &str) -> String {
        let mut response = store.db.query(format!("INFO FOR TABLE {table}")).await.expect("info");
        let info: surrealdb::types::Value = response.take(0).expect("info");
        format!("{info:?}")
    }

    /// Schema 18's removals hold: upgrading from 17 removes the indexes, and a later start
    /// (which applies the first file again) does not bring `user_tenant` back.
    #[tokio::test]
    async fn removed_indexes_stay_removed() {
        let store = test_store().await;
        store
            .db
            .query(
                "DEFINE INDEX user_tenant ON user FIELDS tenant; DEFINE INDEX user_uid ON user FIELDS tenant, uid UNIQUE;
                 DEFINE INDEX group_gid ON user_group FIELDS tenant, gid UNIQUE;
                 DEFINE INDEX sign_in_name_tenant ON sign_in_name FIELDS tenant;
                 DEFINE INDEX audit_tenant ON audit_event FIELDS tenant, at;
                 DELETE schema_version WHERE version >= 18;",
            )
            .await
            .unwrap()
            .check()
            .unwrap();
        assert_eq!(store.migrate().await.unwrap(), vec![18]);
        assert_eq!(store.migrate().await.unwrap(), Vec::<i64>::new());
        for (table, kept, removed) in [
            ("user", &["user_created", "user_email", "user_username"][..], &["user_tenant", "user_uid"][..]),
            ("user_group", &["group_name"], &["group_gid"]),
            ("sign_in_name", &["sign_in_name_key"], &["sign_in_name_tenant"]),
            ("audit_event", &["audit_at", "audit_feed"], &["audit_tenant"]),
        ] {
            let info = info(&store, table).await;
            for name in kept {
                assert!(info.contains(&format!("\"{name}\"")), "{table} lost {name}:\n{info}");
            }
            for name in removed {
                assert!(!info.contains(&format!("\"{name}\"")), "{table} still has {name}:\n{info}");
            }
        }
    }
}
