//! The database connection as the store uses it: every query is timed into the
//! `store_query_duration_seconds` histogram, and every transaction run by an administrative
//! write carries that write's audit event (`crate::audit::record`), so no query can be left out
//! of either.

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Instant;

use surrealdb::engine::any::Any;
use surrealdb::method::{IntoVariables, Query};
use surrealdb::{IndexedResults, Surreal};

/// The store's connection, shared by every clone of the store. The client sits behind an `Arc`:
/// in SurrealDB 3.3 cloning a `Surreal` opens a new server-side session (and dropping it ends
/// one), which cost about a quarter of the CPU of a cached authenticated request.
#[derive(Clone)]
pub(crate) struct Db(pub(super) std::sync::Arc<Surreal<Any>>);

impl Db {
    /// A SurrealQL query, timed when awaited. Inside an administrative write, a script with a
    /// transaction also stores the write's audit event just before it commits.
    pub(crate) fn query<'c>(&'c self, query: impl Into<Cow<'c, str>>) -> TimedQuery<'c> {
        let query = query.into();
        if let Some(at) = query.rfind(COMMIT) {
            if let Some(events) = crate::audit::events_to_carry() {
                let carried = format!("{}{}{}", &query[..at], super::audit::CARRY_EVENTS, &query[at..]);
                let rows: Vec<super::audit::AuditRow> = events.iter().map(super::audit::AuditRow::from).collect();
                return TimedQuery(self.0.query(carried).bind(("audit_events", rows)));
            }
        }
        TimedQuery(self.0.query(query))
    }
}

impl Db {
    /// One record by its `[tenant, key]` id, read without any SurrealQL to parse (the hot path
    /// of reads by id), timed like a query.
    pub(crate) async fn select_by_id<T: surrealdb::types::SurrealValue>(
        &self,
        table: &str,
        tenant: &str,
        key: &str,
    ) -> surrealdb::Result<Option<T>> {
        let id = surrealdb::types::RecordId::new(
            table,
            surrealdb::types::RecordIdKey::Array(vec![tenant.to_owned(), key.to_owned()].into()),
        );
        let started = Instant::now();
        let row = self.0.select(id).await;
        crate::metrics::store_query(started.elapsed());
        row
    }
}

/// How every transactional store script ends.
const COMMIT: &str = "COMMIT TRANSACTION";

/// A query and its bindings; awaiting it runs it and records its time.
pub(crate) struct TimedQuery<'c>(Query<'c, Any>);

impl TimedQuery<'_> {
    /// Appends another statement, as `surrealdb`'s `Query::query`.
    pub(crate) fn query(self, query: &'static str) -> Self {
        TimedQuery(self.0.query(query))
    }

    /// Binds variables (`("name", value)` pairs), as `surrealdb`'s `Query::bind`.
    pub(crate) fn bind(self, variables: impl IntoVariables) -> Self {
        TimedQuery(self.0.bind(variables))
    }
}

impl<'c> IntoFuture for TimedQuery<'c> {
    type Output = surrealdb::Result<IndexedResults>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send + 'c>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let started = Instant::now();
            let result = self.0.await;
            crate::metrics::store_query(started.elapsed());
            result
        })
    }
}
