//! The tenant registry: a tenant must exist before anything can be stored under it.

use super::{Store, StoreError};
use crate::model::TenantId;

impl Store {
    /// Creates the tenant if it does not exist yet.
    pub async fn ensure_tenant(&self, tenant: &TenantId) -> Result<(), StoreError> {
        self.db
            .query("IF record::exists(type::record('tenant', $name)) = false { CREATE type::record('tenant', $name) SET name = $name, created_at = time::now() RETURN NONE; }")
            .bind(("name", tenant.as_str().to_owned()))
            .await?
            .check()?;
        Ok(())
    }

    /// Names of every tenant.
    pub async fn list_tenants(&self) -> Result<Vec<String>, StoreError> {
        let mut response = self.db.query("SELECT VALUE name FROM tenant ORDER BY name").await?;
        Ok(response.take(0)?)
    }
}
