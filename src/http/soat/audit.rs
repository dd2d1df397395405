//! `/api/v1/audit-events`: the tenant's audit trail, newest first, a page at a time.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tessera_actors::audit::{cursor_of, parse_cursor, AuditEvent, AuditOutcome};
use tessera_actors::provisioning_actor::ListAuditEvents;
use tessera_actors::store::AuditQuery;

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

fn time(field: &str, value: Option<&str>) -> Result<Option<DateTime<Utc>>, SoatError> {
    value
        .map(|value| {
            DateTime::parse_from_rfc3339(value)
                .map(|at| at.with_timezone(&Utc))
                .map_err(|_| SoatError::BadRequest(format!("{field} must be an RFC 3339 time")))
        })
        .transpose()
}

/// Whether `cursor` has exactly the shape of the cursors this API hands out (`next_cursor`:
/// microseconds since 1970, `_`, the event's id as 32 lowercase hex digits), the pattern the
/// OpenAPI document gives; anything else is refused before it is parsed.
fn is_cursor_shaped(cursor: &str) -> bool {
    let Some((micros, id)) = cursor.split_once('_') else { return false };
    (1..=18).contains(&micros.len())
        && micros.bytes().all(|byte| byte.is_ascii_digit())
        && id.len() == 32
        && id.bytes().all(|byte| matches!(byte, b'0'..=b'9' | b'a'..=b'f'))
}

impl AuditParams {
    fn into_query(self) -> Result<AuditQuery, SoatError> {
        let outcome = self
            .outcome
            .as_deref()
            .map(|outcome| {
                AuditOutcome::parse(outcome)
                    .ok_or_else(|| SoatError::BadRequest("outcome must be success, denied or failure".into()))
            })
            .transpose()?;
        let before = self
            .cursor
            .as_deref()
            .map(|cursor| {
                is_cursor_shaped(cursor)
                    .then(|| parse_cursor(cursor))
                    .flatten()
                    .ok_or_else(|| SoatError::BadRequest("cursor is not valid".into()))
            })
            .transpose()?;
        Ok(AuditQuery {
            from: time("from", self.from.as_deref())?,
            to: time("to", self.to.as_deref())?,
            before,
            actor: self.actor,
            action: self.action,
            target: self.target,
            outcome,
            limit: self.limit.unwrap_or(DEFAULT_LIMIT),
        })
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
    let query = params.into_query()?;
    let limit = query.limit as usize;
    let events = ask(&state.domain.provisioning, ListAuditEvents { tenant, by, query })
        .await
        .map_err(SoatError::or_missing("Not found"))?;
    let next_cursor = (events.len() == limit).then(|| events.last().map(cursor_of)).flatten();
    Ok(HttpResponse::Ok().json(AuditPage { events, next_cursor }))
}
