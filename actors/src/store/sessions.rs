//! Sessions: the server-side records that keep sign-in tokens revocable.

use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;
use uuid::Uuid;

use super::rows::SessionRow;
use super::{Scope, Span, Store, StoreError};
use crate::model::{Session, TenantId};

const SESSION_FIELDS: &str = "sid, user, method, created_at, expires_at";

/// Unexpired sessions of one user, or of the tenant, oldest first (`span`: only those). Read in
/// that order from the index of schema 17 that holds them (`session_user_created` at the user,
/// `session_created` at the tenant), so nothing is sorted and a span stops at its end (expired
/// sessions, which the hourly purge removes, are skipped on the way). The index is named: the
/// planner could otherwise intersect it with the expiry index, which holds the live sessions of
/// every tenant.
pub(super) fn list_sessions_query(one_user: bool, span: Option<Span>) -> String {
    let (index, filter) = if one_user { ("session_user_created", "AND user = $user") } else { ("session_created", "") };
    let clause = super::span::clause(span);
    format!(
        "SELECT {SESSION_FIELDS} FROM session WITH INDEX {index} WHERE tenant = $tenant {filter} \
         AND expires_at > time::now() ORDER BY created_at, sid{clause}"
    )
}

impl Store {
    /// Records a new session.
    pub async fn create_session(&self, tenant: &TenantId, session: &Session) -> Result<(), StoreError> {
        self.retrying(|| async {
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
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// The session with this id, if it exists in this tenant (expired ones included).
    pub async fn get_session(&self, tenant: &TenantId, id: Uuid) -> Result<Option<Session>, StoreError> {
        let row: Option<SessionRow> = self.db.select_by_id("session", tenant.as_str(), &id.to_string()).await?;
        row.map(SessionRow::into_session).transpose()
    }

    /// Unexpired sessions of one user, or of every user when `user` is `None`, oldest first
    /// (`span`: only those).
    pub async fn list_sessions(
        &self,
        tenant: &TenantId,
        user: Option<Uuid>,
        span: Option<Span>,
    ) -> Result<Vec<Session>, StoreError> {
        let request = self
            .db
            .query(list_sessions_query(user.is_some(), span))
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("user", user.map(|id| id.to_string())));
        let mut response = super::span::bind(request, span).await?;
        let rows: Vec<SessionRow> = response.take(0)?;
        rows.into_iter().map(SessionRow::into_session).collect()
    }

    /// Deletes one session; `NotFound` if it did not exist.
    pub async fn delete_session(&self, tenant: &TenantId, id: Uuid) -> Result<(), StoreError> {
        let _changing = self.changing(Scope::Session(tenant.as_str(), id));
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

    /// Unexpired sessions per tenant, for the `active_sessions` gauge: a housekeeping read
    /// across tenants that returns counts only (read through the expiry index).
    pub async fn active_session_counts(&self, now: DateTime<Utc>) -> Result<Vec<(String, i64)>, StoreError> {
        #[derive(SurrealValue)]
        #[surreal(crate = "surrealdb::types")]
        struct Count {
            tenant: String,
            sessions: i64,
        }
        let mut response = self
            .db
            .query("SELECT tenant, count() AS sessions FROM session WHERE expires_at > $now GROUP BY tenant")
            .bind(("now", now))
            .await?;
        let counts: Vec<Count> = response.take(0)?;
        Ok(counts.into_iter().map(|count| (count.tenant, count.sessions)).collect())
    }

    /// Removes expired sessions and API keys; returns how many went.
    pub async fn purge_expired(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut response = self
            .db
            .query(
                "DELETE session WHERE expires_at <= $now RETURN BEFORE;
                 DELETE api_key WHERE expires_at <= $now AND expires_at != NONE RETURN BEFORE;
                 DELETE sign_in_state WHERE expires_at <= $now;",
            )
            .bind(("now", now))
            .await?;
        let sessions: Vec<SessionRow> = response.take(0)?;
        let keys: Vec<super::rows::ApiKeyRow> = response.take(1)?;
        Ok(sessions.len() + keys.len())
    }
}

#[cfg(test)]
mod tests {
    use crate::store::test_store;

    /// The purge reads expired rows through the expiry indexes, never by scanning the tables.
    #[tokio::test]
    async fn the_purge_reads_expired_rows_through_an_index() {
        let store = test_store().await;
        for table in ["session", "api_key", "sign_in_state"] {
            let query = format!("SELECT * FROM {table} WHERE expires_at <= time::now() EXPLAIN");
            let mut response = store.db.query(query).await.unwrap();
            let plan: surrealdb::types::Value = response.take(0).unwrap();
            let plan = format!("{plan:?}");
            assert!(plan.contains("expiry"), "{table}: {plan}");
            assert!(!plan.contains("Iterate Table"), "{table}: {plan}");
        }
        assert_eq!(store.purge_expired(chrono::Utc::now()).await.unwrap(), 0);
    }
}
