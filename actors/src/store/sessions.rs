//! Sessions and API tokens: the server-side records that keep tokens revocable.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::rows::{ApiTokenRow, SessionRow};
use super::{Store, StoreError};
use crate::model::{ApiToken, Session, TenantId};

const SESSION_FIELDS: &str = "sid, user, method, created_at, expires_at";
const TOKEN_FIELDS: &str = "tid, user, created_at, expires_at";

impl Store {
    /// Records a new session.
    pub async fn create_session(&self, tenant: &TenantId, session: &Session) -> Result<(), StoreError> {
        self.db
            .query(
                "CREATE type::record('session', [$tenant, $sid]) SET tenant = $tenant, sid = $sid, user = $user, \
                 method = $method, created_at = $created_at, expires_at = $expires_at RETURN NONE",
            )
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("sid", session.id.to_string()))
            .bind(("user", session.user_id.to_string()))
            .bind(("method", session.method.clone()))
            .bind(("created_at", session.created_at))
            .bind(("expires_at", session.expires_at))
            .await?
            .check()?;
        Ok(())
    }

    /// The session with this id, if it exists in this tenant (expired ones included).
    pub async fn get_session(&self, tenant: &TenantId, id: Uuid) -> Result<Option<Session>, StoreError> {
        let query = format!("SELECT {SESSION_FIELDS} FROM type::record('session', [$tenant, $sid])");
        let mut response =
            self.db.query(query).bind(("tenant", tenant.as_str().to_owned())).bind(("sid", id.to_string())).await?;
        let rows: Vec<SessionRow> = response.take(0)?;
        rows.into_iter().next().map(SessionRow::into_session).transpose()
    }

    /// Unexpired sessions of one user, or of every user when `user` is `None`.
    pub async fn list_sessions(&self, tenant: &TenantId, user: Option<Uuid>) -> Result<Vec<Session>, StoreError> {
        let filter = if user.is_some() { "AND user = $user" } else { "" };
        let query = format!(
            "SELECT {SESSION_FIELDS} FROM session WHERE tenant = $tenant {filter} AND expires_at > time::now() \
             ORDER BY created_at"
        );
        let mut response = self
            .db
            .query(query)
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("user", user.map(|id| id.to_string())))
            .await?;
        let rows: Vec<SessionRow> = response.take(0)?;
        rows.into_iter().map(SessionRow::into_session).collect()
    }

    /// Deletes one session; `NotFound` if it did not exist.
    pub async fn delete_session(&self, tenant: &TenantId, id: Uuid) -> Result<(), StoreError> {
        let mut response = self
            .db
            .query("DELETE type::record('session', [$tenant, $sid]) RETURN BEFORE")
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("sid", id.to_string()))
            .await?;
        let deleted: Vec<SessionRow> = response.take(0)?;
        if deleted.is_empty() {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Records an API token unless its owner already holds `max_per_user` unexpired ones
    /// (`TooManyTokens`); the count and the insert share one transaction.
    pub async fn create_api_token(
        &self,
        tenant: &TenantId,
        token: &ApiToken,
        max_per_user: usize,
    ) -> Result<(), StoreError> {
        let script = "BEGIN TRANSACTION;
             UPSERT type::record('tenant_lock', $tenant) SET at = time::now();
             IF array::len(SELECT tid FROM api_token WHERE tenant = $tenant AND user = $user AND expires_at > time::now()) >= $max
                 { THROW 'too_many_tokens'; };
             CREATE type::record('api_token', [$tenant, $tid]) SET tenant = $tenant, tid = $tid, user = $user,
                 created_at = $created_at, expires_at = $expires_at RETURN NONE;
             COMMIT TRANSACTION;";
        self.retrying(|| async {
            self.db
                .query(script)
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("tid", token.id.to_string()))
                .bind(("user", token.user_id.to_string()))
                .bind(("created_at", token.created_at))
                .bind(("expires_at", token.expires_at))
                .bind(("max", max_per_user as i64))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// The API token record with this id, if it exists in this tenant.
    pub async fn get_api_token(&self, tenant: &TenantId, id: Uuid) -> Result<Option<ApiToken>, StoreError> {
        let query = format!("SELECT {TOKEN_FIELDS} FROM type::record('api_token', [$tenant, $tid])");
        let mut response =
            self.db.query(query).bind(("tenant", tenant.as_str().to_owned())).bind(("tid", id.to_string())).await?;
        let rows: Vec<ApiTokenRow> = response.take(0)?;
        rows.into_iter().next().map(ApiTokenRow::into_token).transpose()
    }

    /// Removes expired sessions and tokens; returns how many went.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut response = self
            .db
            .query("DELETE session WHERE expires_at <= $now RETURN BEFORE; DELETE api_token WHERE expires_at <= $now RETURN BEFORE")
            .bind(("now", now))
            .await?;
        let sessions: Vec<SessionRow> = response.take(0)?;
        let tokens: Vec<ApiTokenRow> = response.take(1)?;
        Ok(sessions.len() + tokens.len())
    }
}
