//! Server-wide settings kept in the database so that every replica shares them.

use super::{Store, StoreError};

impl Store {
    /// The stored value of `name`, or `init()` stored now if there was none. Concurrent
    /// first starts agree: the loser of the create reads the winner's value.
    pub async fn setting_or_init(&self, name: &str, init: impl FnOnce() -> String) -> Result<String, StoreError> {
        if let Some(value) = self.setting(name).await? {
            return Ok(value);
        }
        self.db
            .query("IF record::exists(type::record('setting', $name)) = false { CREATE type::record('setting', $name) SET value = $value RETURN NONE; }")
            .bind(("name", name.to_owned()))
            .bind(("value", init()))
            .await?
            .check()?;
        self.setting(name).await?.ok_or(StoreError::NotFound)
    }

    /// The stored value of `name`, if any.
    pub async fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        let mut response = self
            .db
            .query("SELECT VALUE value FROM type::record('setting', $name)")
            .bind(("name", name.to_owned()))
            .await?;
        let values: Vec<String> = response.take(0)?;
        Ok(values.into_iter().next())
    }
}
