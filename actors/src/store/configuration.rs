//! Per-tenant identity configuration documents and pending sign-in state.

use chrono::{DateTime, Utc};

use super::{Store, StoreError};
use crate::model::TenantId;

impl Store {
    /// The stored configuration document of a tenant, if any.
    pub async fn get_configuration(&self, tenant: &TenantId) -> Result<Option<String>, StoreError> {
        let mut response = self
            .db
            .query("SELECT VALUE document FROM type::record('configuration', $tenant)")
            .bind(("tenant", tenant.as_str().to_owned()))
            .await?;
        let documents: Vec<String> = response.take(0)?;
        Ok(documents.into_iter().next())
    }

    /// Every tenant's configuration document, as (tenant, document): one read for a listing of
    /// tenants instead of one per tenant.
    pub async fn configuration_documents(&self) -> Result<Vec<(String, String)>, StoreError> {
        let mut response = self.db.query("SELECT VALUE [tenant, document] FROM configuration").await?;
        Ok(response.take(0)?)
    }

    /// Stores a tenant's configuration document if the stored one is still `expected` (`None`:
    /// none stored yet), else `Conflict(Modified)`: a compare-and-swap, so that a change computed
    /// from a stale document never overwrites a concurrent one.
    pub async fn put_configuration(
        &self,
        tenant: &TenantId,
        document: &str,
        expected: Option<&str>,
    ) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query(
                    "BEGIN TRANSACTION;
                 LET $stored = (SELECT document FROM ONLY type::record('configuration', $tenant));
                 IF $stored.document != $expected { THROW 'modified_concurrently'; };
                 UPSERT type::record('configuration', $tenant) SET tenant = $tenant, document = $document,
                     updated_at = time::now() RETURN NONE;
                 COMMIT TRANSACTION;",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("document", document.to_owned()))
                .bind(("expected", expected.map(str::to_owned)))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Stores a configuration only if the tenant has none (start-up seeding); whether it did.
    pub async fn seed_configuration(&self, tenant: &TenantId, document: &str) -> Result<bool, StoreError> {
        let outcome = self
            .db
            .query(
                "CREATE type::record('configuration', $tenant) SET tenant = $tenant, document = $document,
                 updated_at = time::now() RETURN NONE",
            )
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("document", document.to_owned()))
            .await
            .and_then(super::first_failure);
        match outcome {
            Ok(()) => Ok(true),
            Err(error) if error.message().contains("already exists") => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Records a pending sign-in under `state` (an unguessable, single-use key).
    pub async fn put_sign_in_state(
        &self,
        tenant: &TenantId,
        state: &str,
        provider: &str,
        payload: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.db
            .query(
                "CREATE type::record('sign_in_state', [$tenant, $state]) SET tenant = $tenant, provider = $provider,
                 payload = $payload, expires_at = $expires_at RETURN NONE",
            )
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("state", state.to_owned()))
            .bind(("provider", provider.to_owned()))
            .bind(("payload", payload.to_owned()))
            .bind(("expires_at", expires_at))
            .await
            .and_then(super::first_failure)?;
        Ok(())
    }

    /// Takes (reads and deletes) a pending sign-in: `(provider, payload)` if it existed and had
    /// not expired. A state can be used once only.
    pub async fn take_sign_in_state(
        &self,
        tenant: &TenantId,
        state: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let mut response = self
            .db
            .query(
                "DELETE type::record('sign_in_state', [$tenant, $state]) WHERE expires_at > time::now() RETURN BEFORE",
            )
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("state", state.to_owned()))
            .await?;
        let rows: Vec<surrealdb::types::Value> = response.take(0)?;
        let row = rows.into_iter().next().map(surrealdb::types::Value::into_json_value);
        Ok(row.and_then(|row| {
            Some((row.get("provider")?.as_str()?.to_owned(), row.get("payload")?.as_str()?.to_owned()))
        }))
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Conflict;
    use crate::model::TenantId;
    use crate::store::{test_store, StoreError};

    /// A write names the version it replaces; a stale one is refused, never applied.
    #[tokio::test]
    async fn a_configuration_write_from_a_stale_version_is_refused() {
        let store = test_store().await;
        let tenant = TenantId::default_tenant();
        let stale = |outcome: Result<(), StoreError>| matches!(outcome, Err(StoreError::Conflict(Conflict::Modified)));
        store.put_configuration(&tenant, "first", None).await.unwrap();
        assert!(stale(store.put_configuration(&tenant, "lost", None).await), "one already exists");
        store.put_configuration(&tenant, "second", Some("first")).await.unwrap();
        assert!(stale(store.put_configuration(&tenant, "lost", Some("first")).await), "first was replaced");
        assert_eq!(store.get_configuration(&tenant).await.unwrap().as_deref(), Some("second"));
    }
}
