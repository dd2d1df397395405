//! `/api/v1/sessions`: list and revoke server-side sessions.

use actix_web::{web, HttpResponse};
use serde::Deserialize;
use tessera_actors::session_actor::{ListSessions, RevokeSession};

use super::render::SessionRecord;
use super::SoatError;
use crate::http::caller::Caller;
use crate::http::path_id::PathId;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};
use tessera_actors::model::Kind;

const SESSION_NOT_FOUND: &str = "Session not found";

#[derive(Deserialize)]
pub struct ListQuery {
    /// `usr_…` to list another user's sessions (admins), or `all`.
    user_id: Option<String>,
}

/// `GET /sessions[?user_id=usr_…|all]`: own sessions; admins may ask for others'.
pub async fn list(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let user = match query.user_id.as_deref() {
        None => None,
        Some("all") => Some(None),
        Some(id) => Some(Some(Kind::User.parse(id).ok_or(SoatError::NotFound("User not found"))?)),
    };
    let sessions = ask(&state.domain.sessions, ListSessions { tenant, by, user })
        .await
        .map_err(SoatError::or_missing(SESSION_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(sessions.iter().map(SessionRecord::from).collect::<Vec<_>>()))
}

/// `DELETE /sessions/{session_id}`: its tokens stop working at once.
pub async fn revoke(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let session = Kind::Session.parse(&path).ok_or(SoatError::NotFound(SESSION_NOT_FOUND))?;
    ask(&state.domain.sessions, RevokeSession { tenant, by, session })
        .await
        .map_err(SoatError::or_missing(SESSION_NOT_FOUND))?;
    Ok(HttpResponse::NoContent().finish())
}
