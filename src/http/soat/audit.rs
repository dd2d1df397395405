//! `/api/v1/audit-events`: the tenant's audit trail, newest first, a page at a time.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;
use tessera_actors::audit::{cursor_of, AuditEvent};
use tessera_actors::audit_filters::{AuditFilters, TimeFormat};
use tessera_actors::provisioning_actor::ListAuditEvents;
use tessera_actors::DomainError;

use super::SoatError;
use crate::http::caller::Caller;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

/// Events per page when `limit` is not given.
const DEFAULT_LIMIT: u32 = 100;

/// One page: the events and, when there may be more, the cursor of the next page.
#[derive(Serialize)]
pub struct AuditPage {
    events: Vec<AuditEvent>,
    next_cursor: Option<String>,
}

/// `GET /audit-events?from&to&actor&action&target&outcome&cursor&limit` (`audit:ListEvents`).
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    // Every filter optional, all of them applying together; `limit` 1–500, 100 if absent.
    let filters = web::Query::<AuditFilters>::from_query(req.query_string())
        .map_err(|error| SoatError::BadRequest(format!("Invalid query: {error}")))?
        .into_inner();
    let query = filters
        .query(filters.limit.unwrap_or(DEFAULT_LIMIT), TimeFormat::RFC3339)
        .map_err(|errors| SoatError::from_domain(DomainError::Invalid(errors), "Not found"))?;
    let limit = query.limit as usize;
    let events = ask(&state.domain.provisioning, ListAuditEvents { tenant, by, query })
        .await
        .map_err(SoatError::or_missing("Not found"))?;
    let next_cursor = (events.len() == limit).then(|| events.last().map(cursor_of)).flatten();
    Ok(HttpResponse::Ok().json(AuditPage { events, next_cursor }))
}
