//! API keys: looked up by the keyed hash of the presented `sk_…` value; capped per user.

use uuid::Uuid;

use super::policies::CHECK_POLICIES;
use super::rows::{uuid_strings, ApiKeyRow};
use super::{Scope, Span, Store, StoreError};
use crate::model::{ApiKey, TenantId};

const KEY_FIELDS: &str = "kid, user, name, key_prefix, policy_ids, narrowed, expires_at, created_at, updated_at";

/// A key by its hash under any master key: the hash index is named, since the planner would
/// otherwise read every key of the tenant through `api_key_user` and filter the hashes.
const KEY_BY_HASH: &str = "WITH INDEX api_key_hash WHERE key_hash IN $hashes AND tenant = $tenant";

/// The live keys of `$user`, through `api_key_user` at the user (named, so that the expiry
/// index, which holds every tenant's keys, is not intersected with it).
pub(super) const LIVE_KEYS_OF_USER: &str = "SELECT kid FROM api_key WITH INDEX api_key_user \
     WHERE tenant = $tenant AND user = $user AND (expires_at = NONE OR expires_at > time::now())";

/// Keys of one user, or of the tenant, oldest first (`span`: only those). Read in that order
/// from the index of schema 17 that holds them (`api_key_user_created` at the user,
/// `api_key_created` at the tenant), so nothing is sorted and a span stops at its end.
pub(super) fn list_api_keys_query(one_user: bool, span: Option<Span>) -> String {
    let filter = if one_user { "AND user = $user" } else { "" };
    let clause = super::span::clause(span);
    format!("SELECT {KEY_FIELDS} FROM api_key WHERE tenant = $tenant {filter} ORDER BY created_at, kid{clause}")
}

impl Store {
    /// Stores a key (with the hash of its raw value) unless its owner already holds `max`
    /// live keys (`TooManyKeys`) or a policy id is unknown (`Missing(Policy)`).
    pub async fn create_api_key(
        &self,
        tenant: &TenantId,
        key: &ApiKey,
        hash: &str,
        max: usize,
    ) -> Result<(), StoreError> {
        let script = format!(
            "BEGIN TRANSACTION;
             UPSERT type::record('tenant_lock', [$tenant, $user]) SET at = time::now(), tenant = $tenant;
             IF array::len({LIVE_KEYS_OF_USER}) >= $max {{ THROW 'too_many_keys'; }};
             {CHECK_POLICIES}
             CREATE type::record('api_key', [$tenant, $kid]) SET tenant = $tenant, kid = $kid, user = $user,
                 name = $name, key_prefix = $key_prefix, key_hash = $key_hash, policy_ids = array::distinct($ids), narrowed = array::len($ids) > 0,
                 expires_at = $expires_at, created_at = $created_at, updated_at = $created_at RETURN NONE;
             COMMIT TRANSACTION;"
        );
        let ids = uuid_strings(&key.policy_ids);
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("kid", key.id.to_string()))
                .bind(("user", key.user_id.to_string()))
                .bind(("name", key.name.clone()))
                .bind(("key_prefix", key.key_prefix.clone()))
                .bind(("key_hash", hash.to_owned()))
                .bind(("ids", ids.clone()))
                .bind(("expires_at", key.expires_at))
                .bind(("created_at", key.created_at))
                .bind(("max", max as i64))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// The key stored under one of `hashes` (the forms a raw value has under each master key),
    /// in this tenant, with its stored hash.
    /// The plan of the lookup every `sk_` request makes, for the index test.
    #[cfg(test)]
    pub(crate) async fn explain_api_key_lookup(&self, tenant: &TenantId, hashes: &[String]) -> String {
        let mut response = self
            .db
            .query(format!("SELECT {KEY_FIELDS} FROM api_key {KEY_BY_HASH} LIMIT 1 EXPLAIN"))
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("hashes", hashes.to_vec()))
            .await
            .expect("explain");
        let plan: surrealdb::types::Value = response.take(0).expect("plan");
        format!("{plan:?}")
    }

    pub async fn find_api_key_by_hash(
        &self,
        tenant: &TenantId,
        hashes: &[String],
    ) -> Result<Option<(ApiKey, String)>, StoreError> {
        let query = format!("SELECT {KEY_FIELDS}, key_hash FROM api_key {KEY_BY_HASH} LIMIT 1");
        let mut response =
            self.db.query(query).bind(("tenant", tenant.as_str().to_owned())).bind(("hashes", hashes.to_vec())).await?;
        let rows: Vec<ApiKeyRow> = response.take(0)?;
        rows.into_iter()
            .next()
            .map(|row| {
                let stored = row.key_hash.clone().unwrap_or_default();
                row.into_key().map(|key| (key, stored))
            })
            .transpose()
    }

    /// Re-stores a key's hash under the newest master key, if it still is `old` (a key used
    /// after a rotation moves to the new key, so the old one can be retired).
    pub async fn rehash_api_key(&self, tenant: &TenantId, id: Uuid, old: &str, new: &str) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query("UPDATE type::record('api_key', [$tenant, $kid]) SET key_hash = $new WHERE key_hash = $old RETURN NONE")
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("kid", id.to_string()))
                .bind(("old", old.to_owned()))
                .bind(("new", new.to_owned()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// The key with this id, if it exists in this tenant.
    pub async fn get_api_key(&self, tenant: &TenantId, id: Uuid) -> Result<Option<ApiKey>, StoreError> {
        let query = format!("SELECT {KEY_FIELDS} FROM type::record('api_key', [$tenant, $kid])");
        let mut response =
            self.db.query(query).bind(("tenant", tenant.as_str().to_owned())).bind(("kid", id.to_string())).await?;
        let rows: Vec<ApiKeyRow> = response.take(0)?;
        rows.into_iter().next().map(ApiKeyRow::into_key).transpose()
    }

    /// Keys of one user, or of the whole tenant, oldest first.
    pub async fn list_api_keys(&self, tenant: &TenantId, user: Option<Uuid>) -> Result<Vec<ApiKey>, StoreError> {
        self.list_api_keys_span(tenant, user, None).await
    }

    /// Keys of one user, or of the whole tenant, oldest first (`span`: only those).
    pub async fn list_api_keys_span(
        &self,
        tenant: &TenantId,
        user: Option<Uuid>,
        span: Option<Span>,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let request = self
            .db
            .query(list_api_keys_query(user.is_some(), span))
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("user", user.map(|id| id.to_string())));
        let mut response = super::span::bind(request, span).await?;
        let rows: Vec<ApiKeyRow> = response.take(0)?;
        rows.into_iter().map(ApiKeyRow::into_key).collect()
    }

    /// Renames a key and/or replaces its policies in one transaction (both or neither), touching
    /// only the fields given, and returns the key; `NotFound` if it is gone, `Missing(Policy)`
    /// (and no change) if a policy id is unknown.
    pub async fn update_api_key(
        &self,
        tenant: &TenantId,
        id: Uuid,
        name: Option<&str>,
        policy_ids: Option<&[Uuid]>,
    ) -> Result<ApiKey, StoreError> {
        let _changing = self.changing(Scope::ApiKey(tenant.as_str(), id));
        let script = format!(
            "BEGIN TRANSACTION;
             IF record::exists(type::record('api_key', [$tenant, $kid])) = false {{ THROW 'not_found'; }};
             IF $set_ids {{
                 {CHECK_POLICIES}
                 UPDATE type::record('api_key', [$tenant, $kid]) SET policy_ids = array::distinct($ids),
                     narrowed = narrowed OR array::len($ids) > 0 RETURN NONE;
             }};
             IF $name != NONE {{ UPDATE type::record('api_key', [$tenant, $kid]) SET name = $name RETURN NONE; }};
             UPDATE type::record('api_key', [$tenant, $kid]) SET updated_at = time::now() RETURN NONE;
             COMMIT TRANSACTION;"
        );
        let ids = policy_ids.map(uuid_strings);
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("kid", id.to_string()))
                .bind(("set_ids", ids.is_some()))
                .bind(("ids", ids.clone().unwrap_or_default()))
                .bind(("name", name.map(str::to_owned)))
                .await
                .and_then(super::first_failure)
        })
        .await?;
        self.get_api_key(tenant, id).await?.ok_or(StoreError::NotFound)
    }

    /// Deletes a key; `NotFound` if it did not exist.
    pub async fn delete_api_key(&self, tenant: &TenantId, id: Uuid) -> Result<(), StoreError> {
        let _changing = self.changing(Scope::ApiKey(tenant.as_str(), id));
        self.retrying(|| async {
            self.db
                .query(
                    "BEGIN TRANSACTION;
                 IF record::exists(type::record('api_key', [$tenant, $kid])) = false { THROW 'not_found'; };
                 DELETE type::record('api_key', [$tenant, $kid]);
                 COMMIT TRANSACTION;",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("kid", id.to_string()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use crate::model::{ApiKey, Kind, TenantId};
    use crate::store::{test_store, StoreError};

    /// A rename and a policy change travel together: an unknown policy leaves the name as it was.
    #[tokio::test]
    async fn a_key_update_applies_whole_or_not_at_all() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let now = Utc::now();
        let key = ApiKey {
            id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            name: "before".into(),
            key_prefix: "sk_12345".into(),
            policy_ids: Vec::new(),
            narrowed: false,
            expires_at: None,
            created_at: now,
            updated_at: now,
        };
        store.create_api_key(&tenant, &key, "hash", 25).await.unwrap();
        let unknown = [Uuid::new_v4()];
        let refused = store.update_api_key(&tenant, key.id, Some("after"), Some(&unknown)).await;
        assert!(matches!(refused, Err(StoreError::Missing(Kind::Policy))), "{refused:?}");
        assert_eq!(store.get_api_key(&tenant, key.id).await.unwrap().unwrap().name, "before");
        let renamed = store.update_api_key(&tenant, key.id, Some("after"), None).await.unwrap();
        assert_eq!((renamed.name.as_str(), renamed.narrowed), ("after", false));
        let gone = store.update_api_key(&tenant, Uuid::new_v4(), Some("x"), None).await;
        assert!(matches!(gone, Err(StoreError::NotFound)), "{gone:?}");
    }

    /// Every `sk_` request looks its key up by hash: the hash index is read at each hash, never
    /// the tenant's keys.
    #[tokio::test]
    async fn the_key_lookup_reads_the_hash_index_at_each_hash() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let hashes = ["hash-under-new-key".to_owned(), "hash-under-old-key".to_owned()];
        let plan = store.explain_api_key_lookup(&tenant, &hashes).await;
        for hash in &hashes {
            assert!(plan.contains(&format!("\"access\": String(\"= '{hash}'\")")), "{plan}");
        }
        assert!(
            plan.contains("\"api_key_hash\"") && !plan.contains("api_key_user") && !plan.contains("TableScan"),
            "{plan}"
        );
    }
}
