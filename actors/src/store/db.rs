//! The database connection as the store uses it: every query is timed into the
//! `store_query_duration_seconds` histogram, and every transaction run by an administrative
//! write carries that write's audit event (`crate::audit::record`), so no query can be left out
//! of either.

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Instant;

use surrealdb::method::IntoVariables;
use surrealdb::types::Variables;
use surrealdb::IndexedResults;
use tracing::Instrument;

use super::client::Client;
use crate::audit::AuditEvent;

/// The store's connection, shared by every clone of the store. The client sits behind an `Arc`:
/// in SurrealDB 3.3 cloning a `Surreal` opens a new server-side session (and dropping it ends
/// one), which cost about a quarter of the CPU of a cached authenticated request.
#[derive(Clone)]
pub(crate) struct Db(pub(super) std::sync::Arc<Client>);

impl Db {
    /// A SurrealQL query, timed when awaited. Inside an administrative write, a script with a
    /// transaction also stores the write's audit event just before it commits.
    pub(crate) fn query<'c>(&self, query: impl Into<Cow<'c, str>>) -> TimedQuery {
        let query = query.into();
        let events = if query.contains(COMMIT) { crate::audit::events_to_carry() } else { None };
        self.query_carrying(query, events.as_deref())
    }

    /// A SurrealQL query whose transaction stores `events` just before it commits: for a write
    /// run on behalf of other tasks (grouped creations), which took their events with them.
    pub(crate) fn query_carrying<'c>(
        &self,
        query: impl Into<Cow<'c, str>>,
        events: Option<&[AuditEvent]>,
    ) -> TimedQuery {
        let query = query.into();
        if let (Some(at), Some(events)) = (query.rfind(COMMIT), events.filter(|events| !events.is_empty())) {
            let carried = format!("{}{}{}", &query[..at], super::audit::CARRY_EVENTS, &query[at..]);
            return TimedQuery::new(self, carried).bind(("audit_events", super::audit::carried_rows(events)));
        }
        TimedQuery::new(self, query.into_owned())
    }
}

impl Db {
    /// One record by its `[tenant, key]` id, read without any SurrealQL to parse (the hot path
    /// of reads by id), timed like a query.
    pub(crate) async fn select_by_id<T: surrealdb::types::SurrealValue + Send + 'static>(
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
        let client = self.0.clone();
        let row = super::on_store_runtime(async move { client.select(id).await }.in_current_span()).await;
        crate::metrics::store_query(started.elapsed());
        row
    }
}

/// How every transactional store script ends.
const COMMIT: &str = "COMMIT TRANSACTION";

/// A query and its bindings; awaiting it runs it on the store's runtime and records its time.
///
/// An embedded engine executes a query inside the future that awaits it, so awaited where it
/// is built it would run on the one thread the actors share: every write of the directory on
/// one core. Spawned on the store's multi-threaded runtime (see `store_runtime`), queries run
/// on every core while the actors only hand them over.
pub(crate) struct TimedQuery {
    client: std::sync::Arc<Client>,
    statements: Vec<String>,
    variables: surrealdb::Result<Variables>,
}

impl TimedQuery {
    fn new(db: &Db, query: String) -> Self {
        TimedQuery { client: db.0.clone(), statements: vec![query], variables: Ok(Variables::new()) }
    }

    /// Appends another statement, as `surrealdb`'s `Query::query`.
    pub(crate) fn query(mut self, query: &'static str) -> Self {
        self.statements.push(query.to_owned());
        self
    }

    /// Binds variables (`("name", value)` pairs), as `surrealdb`'s `Query::bind`.
    pub(crate) fn bind(mut self, variables: impl IntoVariables) -> Self {
        self.variables = match (self.variables, variables.into_variables()) {
            (Ok(mut bound), Ok(more)) => {
                bound.extend(more);
                Ok(bound)
            }
            (Err(error), _) | (_, Err(error)) => Err(error),
        };
        self
    }
}

impl IntoFuture for TimedQuery {
    type Output = surrealdb::Result<IndexedResults>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let TimedQuery { client, statements, variables } = self;
            let variables = variables?;
            let started = Instant::now();
            let run = async move { client.query(statements, variables).await };
            let result = super::on_store_runtime(run.in_current_span()).await;
            crate::metrics::store_query(started.elapsed());
            result
        })
    }
}
