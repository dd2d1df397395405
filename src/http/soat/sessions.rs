//! `/api/v1/sessions`: list and revoke server-side sessions.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tessera_actors::session_actor::{ListSessions, RevokeSession};

use super::page::ListPage;
use super::render::SessionRecord;
use super::SoatError;
use crate::http::caller::Caller;
use crate::http::openapi::soat as doc;
use crate::http::path_id::PathId;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};
use tessera_actors::model::Kind;

const SESSION_NOT_FOUND: &str = "Session not found";

/// The query of `GET /sessions`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `usr_…` to list another user's sessions (admins), or `all` (404 for no such user).
    user_id: Option<String>,
}

/// `GET /sessions[?user_id=usr_…|all][&limit&offset]`: own sessions; admins may ask for others'.
#[utoipa::path(
    get,
    path = "/api/v1/sessions",
    operation_id = "soat_list_sessions",
    tag = "soat",
    params(ListQuery, doc::ListPageQuery),
    responses(
        (status = 200, description = "The unexpired sessions asked for, in creation order; or the page `limit`/`offset` name.", body = Vec<SessionRecord>),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let span = ListPage::parse(req.query_string())?;
    let user = match query.user_id.as_deref() {
        None => None,
        Some("all") => Some(None),
        Some(id) => Some(Some(Kind::User.parse(id).ok_or(SoatError::NotFound("User not found"))?)),
    };
    let sessions = ask(&state.domain.sessions, ListSessions { tenant, by, user, span })
        .await
        .map_err(SoatError::or_missing(SESSION_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(sessions.iter().map(SessionRecord::from).collect::<Vec<_>>()))
}

/// `DELETE /sessions/{session_id}`: its tokens stop working at once.
#[utoipa::path(
    delete,
    path = "/api/v1/sessions/{session_id}",
    operation_id = "soat_revoke_session",
    tag = "soat",
    params(("session_id" = String, Path, description = "`ses_` and 32 hex digits.")),
    responses(
        (status = 204, description = "Revoked: its token stops working at once."),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
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
