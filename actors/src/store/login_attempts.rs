//! Sign-in attempt counters (the rules are in `crate::throttle`): one record per tenant, kind
//! (`name` or `address`) and key, read and written by record id, so replicas sharing the database
//! share the counts and no request scans the table.

use chrono::{DateTime, Utc};
use surrealdb::types::SurrealValue;

use super::{classify, is_transaction_conflict, Store, StoreError, MAX_RETRIES};
use crate::model::TenantId;
use crate::throttle::{Counter, Reservation, Verdict};

#[derive(Debug, SurrealValue)]
#[surreal(crate = "surrealdb::types")]
struct CounterRow {
    attempts: i64,
    locked_until: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    stamp: String,
}

impl CounterRow {
    fn counter(&self) -> Counter {
        Counter {
            attempts: u32::try_from(self.attempts.max(0)).unwrap_or(u32::MAX),
            locked_until: self.locked_until,
            expires_at: self.expires_at,
        }
    }
}

/// Deletes expired counters; `expires_at` is indexed, so this reads only what it deletes.
const PURGE: &str = "DELETE login_attempt WHERE expires_at <= $now";

const READ: &str = "SELECT attempts, locked_until, expires_at, stamp FROM ONLY type::record('login_attempt', [$tenant, 'name', $name]);
     SELECT attempts, locked_until, expires_at, stamp FROM ONLY type::record('login_attempt', [$tenant, 'address', $address]);";

/// Writes the counters a rule decided on, unless either changed since it was read.
const WRITE_HEAD: &str = "BEGIN TRANSACTION;
     LET $name_now = (SELECT stamp FROM ONLY type::record('login_attempt', [$tenant, 'name', $name]));
     LET $address_now = (SELECT stamp FROM ONLY type::record('login_attempt', [$tenant, 'address', $address]));
     IF ($name_now.stamp ?? '') != $name_stamp OR ($address_now.stamp ?? '') != $address_stamp { THROW 'stale' };";
const WRITE_NAME: &str = "UPSERT type::record('login_attempt', [$tenant, 'name', $name]) SET tenant = $tenant, \
     attempts = $name_attempts, locked_until = $name_locked_until, expires_at = $name_expires_at, stamp = $stamp \
     RETURN NONE;";
const WRITE_ADDRESS: &str =
    "UPSERT type::record('login_attempt', [$tenant, 'address', $address]) SET tenant = $tenant, \
     attempts = $address_attempts, locked_until = NONE, expires_at = $address_expires_at, stamp = $stamp RETURN NONE;";

impl Store {
    /// Counts one sign-in attempt for the login name key `name` and the client address key
    /// `address`. `rule` is shown both counters as stored (`None` when absent) and returns the
    /// verdict and the counters to store; they are written in one transaction that first checks
    /// that neither counter changed since it was read (else both are read and ruled on again),
    /// so concurrent attempts, on this replica or another, are each counted exactly once.
    pub async fn count_login_attempt(
        &self,
        tenant: &TenantId,
        name: &str,
        address: &str,
        rule: impl Fn(Option<Counter>, Option<Counter>) -> Reservation,
    ) -> Result<Verdict, StoreError> {
        use rand::Rng;
        let mut tries: u64 = 0;
        loop {
            match self.try_count_login_attempt(tenant, name, address, &rule).await {
                Ok(Some(verdict)) => return Ok(verdict),
                // Changed since it was read: rule again on the current counters.
                Ok(None) => {}
                Err(error) if is_transaction_conflict(&error) => {}
                Err(error) => return Err(classify(&error)),
            }
            tries += 1;
            if tries > MAX_RETRIES {
                return Err(StoreError::Busy);
            }
            let pause = rand::thread_rng().gen_range(1..=5 * tries.min(20));
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        }
    }

    /// One read-rule-write round; `None` when a counter changed in between.
    async fn try_count_login_attempt(
        &self,
        tenant: &TenantId,
        name: &str,
        address: &str,
        rule: &impl Fn(Option<Counter>, Option<Counter>) -> Reservation,
    ) -> Result<Option<Verdict>, surrealdb::Error> {
        let mut response = self
            .db
            .query(READ)
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("name", name.to_owned()))
            .bind(("address", address.to_owned()))
            .await?;
        let name_row: Option<CounterRow> = response.take(0)?;
        let address_row: Option<CounterRow> = response.take(1)?;
        let reservation =
            rule(name_row.as_ref().map(CounterRow::counter), address_row.as_ref().map(CounterRow::counter));
        if reservation.name.is_none() && reservation.address.is_none() {
            return Ok(Some(reservation.verdict));
        }
        let stamp_of = |row: Option<CounterRow>| row.map_or_else(String::new, |row| row.stamp);
        let mut script = String::from(WRITE_HEAD);
        if reservation.name.is_some() {
            script.push_str(WRITE_NAME);
        }
        if reservation.address.is_some() {
            script.push_str(WRITE_ADDRESS);
        }
        script.push_str("COMMIT TRANSACTION;");
        let mut query = self
            .db
            .query(script)
            .bind(("tenant", tenant.as_str().to_owned()))
            .bind(("name", name.to_owned()))
            .bind(("address", address.to_owned()))
            .bind(("name_stamp", stamp_of(name_row)))
            .bind(("address_stamp", stamp_of(address_row)))
            .bind(("stamp", uuid::Uuid::new_v4().to_string()));
        if let Some(counter) = reservation.name {
            query = query
                .bind(("name_attempts", i64::from(counter.attempts)))
                .bind(("name_locked_until", counter.locked_until))
                .bind(("name_expires_at", counter.expires_at));
        }
        if let Some(counter) = reservation.address {
            query = query
                .bind(("address_attempts", i64::from(counter.attempts)))
                .bind(("address_expires_at", counter.expires_at));
        }
        match query.await.and_then(super::first_failure) {
            Ok(()) => Ok(Some(reservation.verdict)),
            Err(error) if error.is_thrown() => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// Forgets a login name's count (after a success).
    pub async fn clear_login_name(&self, tenant: &TenantId, name: &str) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query("DELETE type::record('login_attempt', [$tenant, 'name', $name]) RETURN NONE")
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("name", name.to_owned()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Gives one counted attempt back to a client address (after a success), so that people
    /// signing in successfully behind one address do not use up its budget.
    pub async fn refund_login_address(&self, tenant: &TenantId, address: &str) -> Result<(), StoreError> {
        self.retrying(|| async {
            self.db
                .query(
                    "UPDATE type::record('login_attempt', [$tenant, 'address', $address]) \
                     SET attempts = math::max([attempts - 1, 0]), stamp = $stamp RETURN NONE",
                )
                .bind(("tenant", tenant.as_str().to_owned()))
                .bind(("address", address.to_owned()))
                .bind(("stamp", uuid::Uuid::new_v4().to_string()))
                .await
                .and_then(super::first_failure)
        })
        .await
    }

    /// Removes counters that expired by `now` (through the `expires_at` index); returns how many.
    pub async fn purge_login_attempts(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut response = self.db.query(format!("{PURGE} RETURN BEFORE")).bind(("now", now)).await?;
        let purged: Vec<CounterRow> = response.take(0)?;
        Ok(purged.len())
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeDelta, Utc};

    use crate::model::TenantId;
    use crate::store::{test_store, Store};
    use crate::throttle::{reserve, Counter, Verdict, ADDRESS_BUDGET, FREE_FAILURES};

    async fn store() -> Store {
        test_store().await
    }

    #[tokio::test]
    async fn concurrent_attempts_are_each_counted_once() {
        let store = store().await;
        let tenant = TenantId::default_tenant();
        let attempts = (0..40).map(|_| {
            let (store, tenant) = (store.clone(), tenant.clone());
            tokio::spawn(async move {
                store.count_login_attempt(&tenant, "n", "a", |name, address| reserve(Utc::now(), name, address)).await
            })
        });
        let verdicts: Vec<Verdict> =
            futures_join(attempts.collect()).await.into_iter().map(|joined| joined.unwrap().unwrap()).collect();
        let passed = verdicts.iter().filter(|verdict| **verdict == Verdict::Proceed).count();
        assert_eq!(passed, FREE_FAILURES as usize, "{verdicts:?}");
        // Every attempt spent the address budget; none beyond it.
        let peek = |name: Option<Counter>, address: Option<Counter>| {
            assert_eq!(name.map(|c| c.attempts), Some(FREE_FAILURES));
            assert_eq!(address.map(|c| c.attempts), Some(ADDRESS_BUDGET));
            reserve(Utc::now(), name, address)
        };
        let refused = store.count_login_attempt(&tenant, "n", "a", peek).await.unwrap();
        assert!(matches!(refused, Verdict::Refused(_)));
        let other = TenantId::parse("other").unwrap();
        let fresh = store.count_login_attempt(&other, "n", "a", |n, a| reserve(Utc::now(), n, a)).await.unwrap();
        assert_eq!(fresh, Verdict::Proceed, "tenants count apart");
    }

    #[tokio::test]
    async fn success_clears_the_name_and_refunds_the_address() {
        let store = store().await;
        let tenant = TenantId::default_tenant();
        let count = || store.count_login_attempt(&tenant, "n", "a", |n, a| reserve(Utc::now(), n, a));
        for _ in 0..3 {
            assert_eq!(count().await.unwrap(), Verdict::Proceed);
        }
        store.clear_login_name(&tenant, "n").await.unwrap();
        store.refund_login_address(&tenant, "a").await.unwrap();
        store.refund_login_address(&tenant, "nowhere").await.unwrap();
        let check = |name: Option<Counter>, address: Option<Counter>| {
            assert_eq!(name, None);
            assert_eq!(address.map(|c| c.attempts), Some(2));
            reserve(Utc::now(), name, address)
        };
        assert_eq!(store.count_login_attempt(&tenant, "n", "a", check).await.unwrap(), Verdict::Proceed);
    }

    #[tokio::test]
    async fn expired_counters_are_purged_through_the_index() {
        let store = store().await;
        let tenant = TenantId::default_tenant();
        let past = Utc::now() - TimeDelta::hours(1);
        let stale = |_: Option<Counter>, _: Option<Counter>| reserve(past, None, None);
        store.count_login_attempt(&tenant, "old", "a1", stale).await.unwrap();
        store.count_login_attempt(&tenant, "new", "a2", |n, a| reserve(Utc::now(), n, a)).await.unwrap();
        assert_eq!(store.purge_login_attempts(Utc::now()).await.unwrap(), 2, "the old name and its address");
        assert_eq!(store.purge_login_attempts(Utc::now()).await.unwrap(), 0);
        let mut plan = store.db.query(format!("{} EXPLAIN", super::PURGE)).bind(("now", Utc::now())).await.unwrap();
        let plan: surrealdb::types::Value = plan.take(0).unwrap();
        let plan = format!("{plan:?}");
        assert!(plan.contains("Iterate Index") && plan.contains("login_attempt_expiry"), "{plan}");
        assert!(!plan.contains("Iterate Table"), "{plan}");
    }

    async fn futures_join<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<Result<T, tokio::task::JoinError>> {
        let mut results = Vec::new();
        for handle in handles {
            results.push(handle.await);
        }
        results
    }
}
