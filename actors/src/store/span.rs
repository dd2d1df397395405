//! A span of a list read in creation order from its `(tenant, created_at, id)` index (schema
//! version 15): `limit` records from the 0-based `offset`, so a page never sorts the tenant.

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
pub(super) fn bind(request: super::db::TimedQuery<'_>, span: Option<Span>) -> super::db::TimedQuery<'_> {
    let Span { offset, limit } = span.unwrap_or(Span { offset: 0, limit: 0 });
    request.bind(("count", limit)).bind(("offset", offset))
}
