//! A span of a list read in creation order from its `(tenant, created_at, id)` index (schema
//! version 15): `limit` records from the 0-based `offset`, so a page never sorts the tenant; or,
//! for lists read whole page after page, the record the next page starts after.

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// `limit` records from `offset`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub offset: u64,
    pub limit: u64,
}

/// The clause a list query ends with: the span's, bound as `$count` and `$offset`, or none.
pub(super) fn clause(span: Option<Span>) -> &'static str {
    if span.is_some() {
        " LIMIT $count START $offset"
    } else {
        ""
    }
}

/// Binds a span's `$count` and `$offset` (both zero when there is none: unused then).
pub(super) fn bind(request: super::db::TimedQuery, span: Option<Span>) -> super::db::TimedQuery {
    let Span { offset, limit } = span.unwrap_or(Span { offset: 0, limit: 0 });
    request.bind(("count", limit)).bind(("offset", offset))
}

/// Where a list read in creation order goes on: after the record created at `created_at` whose
/// id is `id`. Unlike an offset, reading from it costs the same at any depth (the index is
/// entered at this key), so a whole list can be read page by page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct After {
    pub created_at: DateTime<Utc>,
    pub id: Uuid,
}

/// The statements reading up to `$count` records of `table` after `$at`/`$id` in its
/// `(tenant, created_at, id_field)` order: those created at the same instant with a greater id,
/// then those created later (two index reads, each entered at its key and stopping at the
/// count; one condition joining them with OR would make SurrealDB read from `$at` on and filter).
/// Without `after`, the first `$count`.
pub(super) fn after_queries(fields: &str, table: &str, id_field: &str, after: bool) -> String {
    let order = format!("ORDER BY created_at, {id_field} LIMIT $count");
    if after {
        format!(
            "SELECT {fields} FROM {table} WHERE tenant = $tenant AND created_at = $at AND {id_field} > $id {order};
             SELECT {fields} FROM {table} WHERE tenant = $tenant AND created_at > $at {order};"
        )
    } else {
        format!("SELECT {fields} FROM {table} WHERE tenant = $tenant {order}")
    }
}
