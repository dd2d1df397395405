//! Leases: a named right to run a periodic job, held by one replica until it expires, so that
//! replicas sharing a database do not all run the job (and race each other) at once.

use chrono::{DateTime, Utc};
use surrealdb::types::Value;

use super::{Store, StoreError};

impl Store {
    /// Takes or renews the lease `name` for `holder` until `until`; `true` if `holder` now has
    /// it, `false` while another holder's lease has not expired.
    pub async fn take_lease(&self, name: &str, holder: &str, until: DateTime<Utc>) -> Result<bool, StoreError> {
        let taken = self
            .retrying(|| async {
                self.db
                    .query(
                        "BEGIN TRANSACTION;
                         LET $current = (SELECT holder, until FROM ONLY type::record('lease', $name));
                         IF $current != NONE AND $current.until >= time::now() AND $current.holder != $holder {
                             THROW 'lease_held';
                         };
                         UPSERT type::record('lease', $name) SET holder = $holder, until = $until RETURN NONE;
                         COMMIT TRANSACTION;",
                    )
                    .bind(("name", name.to_owned()))
                    .bind(("holder", holder.to_owned()))
                    .bind(("until", Value::Datetime(until.into())))
                    .await
                    .and_then(super::first_failure)
            })
            .await;
        match taken {
            Ok(()) => Ok(true),
            Err(StoreError::LeaseHeld) => Ok(false),
            Err(error) => Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use crate::store::test_store;

    #[tokio::test]
    async fn one_holder_at_a_time_until_it_expires() {
        let store = test_store().await;
        let soon = chrono::Utc::now() + Duration::minutes(5);
        assert!(store.take_lease("job", "a", soon).await.unwrap());
        assert!(!store.take_lease("job", "b", soon).await.unwrap(), "a holds it");
        assert!(store.take_lease("job", "a", soon).await.unwrap(), "a renews it");
        assert!(store.take_lease("other", "b", soon).await.unwrap(), "leases are per name");
        let past = chrono::Utc::now() - Duration::seconds(1);
        assert!(store.take_lease("job", "a", past).await.unwrap());
        assert!(store.take_lease("job", "b", soon).await.unwrap(), "an expired lease is free");
    }
}
