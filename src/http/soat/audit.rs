//! `/api/v1/audit-events`: the tenant's audit trail, newest first, a page at a time.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_actors::audit::{cursor_of, AuditEvent};
use tessera_actors::audit_filters::{AuditFilters, TimeFormat};
use tessera_actors::provisioning_actor::ListAuditEvents;
use tessera_actors::store::AuditQuery;
use tessera_actors::{DomainError, FieldErrors};

use super::SoatError;
use crate::http::caller::Caller;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

/// Events per page when `limit` is not given.
const DEFAULT_LIMIT: u32 = 100;

/// The query of `GET /audit-events`: every filter optional, all of them applying together.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditParams {
    /// RFC 3339; events at or after it.
    from: Option<String>,
    /// RFC 3339; events before it.
    to: Option<String>,
    /// `usr_…` or `key_…`.
    actor: Option<String>,
    /// `users:UpdateUser`, or every action of a module as `users:*`.
    action: Option<String>,
    /// An SRN, e.g. `srn:default:user:usr_…`.
    target: Option<String>,
    /// `success`, `denied` or `failure`.
    outcome: Option<String>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// 1–500, default 100.
    limit: Option<u32>,
}

/// One page: the events and, when there may be more, the cursor of the next page.
#[derive(Serialize)]
pub struct AuditPage {
    events: Vec<AuditEvent>,
    next_cursor: Option<String>,
}

/// SOAT writes times as RFC 3339.
const RFC3339: TimeFormat<'static> = TimeFormat {
    parse: |text| DateTime::parse_from_rfc3339(text).ok().map(|at| at.with_timezone(&Utc)),
    message: "must be an RFC 3339 time",
};

impl AuditParams {
    fn into_query(self) -> Result<AuditQuery, FieldErrors> {
        let filters = AuditFilters {
            from: self.from.as_deref(),
            to: self.to.as_deref(),
            actor: self.actor.as_deref(),
            action: self.action.as_deref(),
            target: self.target.as_deref(),
            outcome: self.outcome.as_deref(),
            cursor: self.cursor.as_deref(),
        };
        filters.query(self.limit.unwrap_or(DEFAULT_LIMIT), RFC3339)
    }
}

/// `GET /audit-events?from&to&actor&action&target&outcome&cursor&limit` (`audit:ListEvents`).
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let params = web::Query::<AuditParams>::from_query(req.query_string())
        .map_err(|error| SoatError::BadRequest(format!("Invalid query: {error}")))?
        .into_inner();
    let query =
        params.into_query().map_err(|errors| SoatError::from_domain(DomainError::Invalid(errors), "Not found"))?;
    let limit = query.limit as usize;
    let events = ask(&state.domain.provisioning, ListAuditEvents { tenant, by, query })
        .await
        .map_err(SoatError::or_missing("Not found"))?;
    let next_cursor = (events.len() == limit).then(|| events.last().map(cursor_of)).flatten();
    Ok(HttpResponse::Ok().json(AuditPage { events, next_cursor }))
}
