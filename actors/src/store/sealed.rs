//! What key rotation reads and rewrites: sealed values found page by page, replaced only if
//! unchanged since they were read (so a concurrent writer's newer value is never lost), and the
//! counts that tell whether an old key may be retired.

use chrono::{DateTime, Utc};
use surrealdb::types::{RecordId, SurrealValue};

use super::{Store, StoreError};
use crate::model::TenantId;

/// A tenant-owned column holding sealed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SealedColumn {
    /// `identity.refresh_token`: upstream OIDC refresh tokens.
    RefreshToken,
    /// `sign_in_state.payload`: pending OIDC and SAML sign-ins (live ones only).
    SignInState,
}

impl SealedColumn {
    fn table(self) -> &'static str {
        match self {
            SealedColumn::RefreshToken => "identity",
            SealedColumn::SignInState => "sign_in_state",
        }
    }

    fn field(self) -> &'static str {
        match self {
            SealedColumn::RefreshToken => "refresh_token",
            SealedColumn::SignInState => "payload",
        }
    }

    /// Expired sign-in states are never opened again, so they are left as they are.
    fn live(self) -> &'static str {
        match self {
            SealedColumn::RefreshToken => "",
            SealedColumn::SignInState => "AND expires_at > time::now()",
        }
    }
}

/// One sealed value and the record holding it.
#[derive(Debug, Clone, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct SealedValue {
    pub id: RecordId,
    pub value: String,
}

/// A sealed value to replace, if it still is `old`.
#[derive(Debug, Clone, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
pub struct SealedChange {
    pub id: RecordId,
    pub old: String,
    pub new: String,
}

impl Store {
    /// Up to `limit` values of `column` in this tenant not starting with `current` (the prefix
    /// of values sealed under the newest key), after record `after`, in record order.
    pub async fn sealed_values(
        &self,
        tenant: &TenantId,
        column: SealedColumn,
        current: &str,
        after: Option<RecordId>,
        limit: usize,
    ) -> Result<Vec<SealedValue>, StoreError> {
        let (table, field, live) = (column.table(), column.field(), column.live());
        let query = format!(
            "SELECT id, {field} AS value FROM {table} WHERE tenant = $tenant AND {field} != NONE
             AND !string::starts_with({field}, $current) {live} AND ($after = NONE OR id > $after)
             ORDER BY id LIMIT $limit"
        );
        let mut response = self
            .db
            .query(query)
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("current", current.to_owned()))
            .bind(("after", after))
            .bind(("limit", limit as i64))
            .await?;
        Ok(response.take(0)?)
    }

    /// Replaces sealed values of `column` in one transaction, each only if it still holds its
    /// old value.
    pub async fn replace_sealed_values(
        &self,
        tenant: &TenantId,
        column: SealedColumn,
        changes: Vec<SealedChange>,
    ) -> Result<(), StoreError> {
        let (table, field) = (column.table(), column.field());
        let script = format!(
            "BEGIN TRANSACTION;
             FOR $change IN $changes {{
                 LET $record = $change.id;
                 IF record::tb($record) != '{table}' {{ THROW 'not_found'; }};
                 UPDATE $record SET {field} = $change.new WHERE tenant = $tenant AND {field} = $change.old RETURN NONE;
             }};
             COMMIT TRANSACTION;"
        );
        self.retrying(|| async {
            self.db
                .query(script.as_str())
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("changes", changes.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Replaces a tenant's configuration document only if it still is `old`; whether it did.
    pub async fn replace_configuration(&self, tenant: &TenantId, old: &str, new: &str) -> Result<bool, StoreError> {
        let mut response = self
            .retrying(|| async {
                self.db
                    .query(
                        "UPDATE type::record('configuration', $tenant) SET document = $new, updated_at = time::now()
                         WHERE document = $old RETURN VALUE true",
                    )
                    .bind(("tenant", tenant.as_str().to_owned()))
                    .bind(("old", old.to_owned()))
                    .bind(("new", new.to_owned()))
                    .await
            })
            .await?;
        let done: Vec<bool> = response.take(0)?;
        Ok(!done.is_empty())
    }

    /// Replaces a server-wide setting only if it still is `old`; whether it did.
    pub async fn replace_setting(&self, name: &str, old: &str, new: &str) -> Result<bool, StoreError> {
        let mut response = self
            .retrying(|| async {
                self.db
                    .query(
                        "UPDATE type::record('setting', $name) SET value = $new WHERE value = $old RETURN VALUE true",
                    )
                    .bind(("name", name.to_owned()))
                    .bind(("old", old.to_owned()))
                    .bind(("new", new.to_owned()))
                    .await
            })
            .await?;
        let done: Vec<bool> = response.take(0)?;
        Ok(!done.is_empty())
    }

    /// Deletes a server-wide setting if it still is `value`.
    pub async fn delete_setting(&self, name: &str, value: &str) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query("DELETE type::record('setting', $name) WHERE value = $value RETURN NONE")
                .bind(("name", name.to_owned()))
                .bind(("value", value.to_owned()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Unexpired sessions of this tenant created before `before`.
    pub async fn count_live_sessions_before(
        &self,
        tenant: &TenantId,
        before: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.count(
            "SELECT count() AS n FROM session WHERE tenant = $tenant AND expires_at > time::now()
             AND created_at < $before GROUP ALL",
            tenant,
            ("before", surrealdb::types::Value::Datetime(before.into())),
        )
        .await
    }

    /// Unexpired API keys of this tenant whose stored hash does not start with `prefix`.
    pub async fn count_live_api_keys_not_hashed_under(
        &self,
        tenant: &TenantId,
        prefix: &str,
    ) -> Result<usize, StoreError> {
        self.count(
            "SELECT count() AS n FROM api_key WHERE tenant = $tenant
             AND (expires_at = NONE OR expires_at > time::now()) AND !string::starts_with(key_hash, $prefix) GROUP ALL",
            tenant,
            ("prefix", surrealdb::types::Value::String(prefix.to_owned())),
        )
        .await
    }

    async fn count(
        &self,
        query: &str,
        tenant: &TenantId,
        parameter: (&'static str, surrealdb::types::Value),
    ) -> Result<usize, StoreError> {
        let mut response = self.db.query(query).bind(("tenant", tenant.as_str().to_owned())).bind(parameter).await?;
        let counts: Vec<i64> = response.take("n")?;
        Ok(counts.into_iter().next().unwrap_or(0).max(0) as usize)
    }
}
