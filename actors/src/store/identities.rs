//! Linked upstream identities (issuer + subject → user).

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
}
