//! Backup and restore: the whole database as a SurrealQL export (schema and records of every
//! tenant), and its import into an empty database. Sealed values stay sealed: a backup is of no
//! use without the master key file, and gives nothing away without it.

use std::path::Path;

use super::{Store, StoreConfig, StoreError};

impl Store {
    /// Writes the whole database to `file` as SurrealQL (embedded engines and HTTP only: the
    /// SurrealDB SDK cannot export over `ws://`, where `surreal export` does it).
    pub async fn export_to(&self, file: &Path) -> Result<(), StoreError> {
        self.db
            .0
            .export(file)
            .await
            .map_err(|error| StoreError::Database(format!("export failed: {}", error.message())))
    }

    /// Opens the database at `config` for a restore: it must hold no Tessera data yet (no
    /// schema applied), so a restore can never merge into or overwrite a live directory.
    /// Imports `file`, then brings the schema up to this binary's version.
    pub async fn restore(config: &StoreConfig, file: &Path) -> Result<Store, StoreError> {
        let (config, file) = (config.clone(), file.to_owned());
        super::store_runtime()
            .spawn(async move { Store::restore_on_this_runtime(&config, &file).await })
            .await
            .map_err(|error| StoreError::Database(format!("the store's runtime failed: {error}")))?
    }

    async fn restore_on_this_runtime(config: &StoreConfig, file: &Path) -> Result<Store, StoreError> {
        let store = Store::connect_unmigrated(config).await?;
        let mut response = store.db.query("INFO FOR DB").await?;
        let info: surrealdb::types::Value = response.take(0)?;
        let has_tables = match &info {
            surrealdb::types::Value::Object(info) => {
                matches!(info.get("tables"), Some(surrealdb::types::Value::Object(tables)) if !tables.is_empty())
            }
            _ => false,
        };
        if has_tables {
            return Err(StoreError::Database(format!(
                "{} already holds a database; restore only into an empty one",
                config.endpoint
            )));
        }
        store
            .db
            .0
            .import(file)
            .await
            .map_err(|error| StoreError::Database(format!("import failed: {}", error.message())))?;
        store.migrate().await?;
        Ok(store)
    }
}
