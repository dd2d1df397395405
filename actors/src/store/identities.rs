//! Linked upstream identities (issuer + subject → user).

use chrono::{DateTime, Utc};
use surrealdb::types::{SurrealValue, Value};
use uuid::Uuid;

use super::{Store, StoreError};
use crate::model::TenantId;

impl Store {
    /// The user an upstream identity is linked to, if any.
    pub async fn find_identity(
        &self,
        tenant: &TenantId,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Uuid>, StoreError> {
        let mut response = self
            .db
            .query("SELECT VALUE user FROM identity WHERE tenant = $tenant AND issuer = $issuer AND subject = $subject LIMIT 1")
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("issuer", issuer.to_owned()))
            .bind(("subject", subject.to_owned()))
            .await?;
        let users: Vec<String> = response.take(0)?;
        Ok(users.into_iter().next().and_then(|user| Uuid::parse_str(&user).ok()))
    }

    /// Links an upstream identity to a user, or refreshes the stored (sealed) refresh token of
    /// an existing link.
    pub async fn link_identity(
        &self,
        tenant: &TenantId,
        user: Uuid,
        provider: &str,
        issuer: &str,
        subject: &str,
        sealed_refresh_token: Option<String>,
    ) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query(
                    "UPSERT type::record('identity', [$tenant, $issuer, $subject]) SET tenant = $tenant, user = $user,
                     provider = $provider, issuer = $issuer, subject = $subject,
                     refresh_token = $refresh ?? refresh_token, created_at = created_at ?? time::now() RETURN NONE",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("user", user.to_string()))
                .bind(("provider", provider.to_owned()))
                .bind(("issuer", issuer.to_owned()))
                .bind(("subject", subject.to_owned()))
                .bind(("refresh", sealed_refresh_token.clone()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Linked identities of a tenant that hold a (sealed) refresh token, for the refresher.
    pub async fn refreshable_identities(&self, tenant: &TenantId) -> Result<Vec<RefreshableIdentity>, StoreError> {
        let mut response = self
            .db
            .query(
                "SELECT user, provider, issuer, subject, refresh_token FROM identity
                 WHERE tenant = $tenant AND refresh_token != NONE AND provider != NONE",
            )
            .bind(("tenant", tenant.as_str().to_owned()))
            .await?;
        let rows: Vec<IdentityRow> = response.take(0)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| {
                Some(RefreshableIdentity {
                    user: Uuid::parse_str(&row.user).ok()?,
                    provider: row.provider,
                    issuer: row.issuer,
                    subject: row.subject,
                    sealed_refresh_token: row.refresh_token,
                })
            })
            .collect())
    }

    /// The sealed refresh token an identity holds now, to tell whether a newer one arrived.
    pub async fn identity_refresh_token(
        &self,
        tenant: &TenantId,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<String>, StoreError> {
        let mut response = self
            .db
            .query("SELECT VALUE refresh_token FROM type::record('identity', [$tenant, $issuer, $subject])")
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("issuer", issuer.to_owned()))
            .bind(("subject", subject.to_owned()))
            .await?;
        let tokens: Vec<Option<String>> = response.take(0)?;
        Ok(tokens.into_iter().next().flatten())
    }

    /// Stores a rotated refresh token only if the identity still holds `old`: a token a
    /// sign-in stored meanwhile is never overwritten by an older rotation.
    pub async fn replace_refresh_token(
        &self,
        tenant: &TenantId,
        issuer: &str,
        subject: &str,
        old: &str,
        new: &str,
    ) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query(
                    "UPDATE type::record('identity', [$tenant, $issuer, $subject]) SET refresh_token = $new
                     WHERE refresh_token = $old RETURN NONE",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("issuer", issuer.to_owned()))
                .bind(("subject", subject.to_owned()))
                .bind(("old", old.to_owned()))
                .bind(("new", new.to_owned()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Marks a user disabled because its upstream refresh failed; an earlier `disabled_at`
    /// is kept. The user's sessions end in the same transaction.
    pub async fn disable_user(&self, tenant: &TenantId, user: Uuid, at: DateTime<Utc>) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query(
                    "BEGIN TRANSACTION;
                     UPDATE type::record('user', [$tenant, $uid]) SET disabled_at = disabled_at ?? $at RETURN NONE;
                     DELETE session WHERE tenant = $tenant AND user = $uid;
                     COMMIT TRANSACTION;",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("uid", user.to_string()))
                .bind(("at", Value::Datetime(at.into())))
                .await
                .and_then(super::first_failure)
        })
        .await
    }
}

/// A linked identity the refresher must refresh.
#[derive(Debug, Clone)]
pub struct RefreshableIdentity {
    pub user: Uuid,
    pub provider: String,
    pub issuer: String,
    pub subject: String,
    pub sealed_refresh_token: String,
}

#[derive(Debug, SurrealValue)]
struct IdentityRow {
    user: String,
    provider: String,
    issuer: String,
    subject: String,
    refresh_token: String,
}
