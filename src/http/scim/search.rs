//! Lists and searches: `GET /Users`, `GET /Groups`, `POST /{Users,Groups,}/.search`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_actors::provisioning_actor::ScimSearch;
use tessera_actors::scim::ResourceKind;

use super::params::{from_body, from_url, list_response, Position, Query};
use super::{context, json_body, respond, ScimError};
use crate::http::caller::Caller;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

async fn run(
    state: &AppState,
    tenant: Tenant,
    caller: Caller,
    kinds: Vec<ResourceKind>,
    query: Query,
) -> Result<HttpResponse, ScimError> {
    let context = context(state, tenant, caller)?;
    let message = ScimSearch {
        context,
        kinds,
        filter: query.filter,
        sort_by: query.sort_by,
        descending: query.descending,
        offset: query.start_index - 1,
        count: query.count,
        cursor: query.cursor.clone(),
    };
    let page = ask(&state.domain.provisioning, message).await?;
    let resources = page.resources.iter().map(|(kind, resource)| query.projection.apply(*kind, resource)).collect();
    let position = match query.cursor {
        Some(_) => Position::Cursors { next: page.next_cursor, previous: page.previous_cursor },
        None => Position::Index(query.start_index),
    };
    Ok(respond(StatusCode::OK, &list_response(page.total, position, resources)))
}

/// `GET /Users`.
pub async fn list_users(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    caller: Caller,
) -> Result<HttpResponse, ScimError> {
    run(&state, tenant, caller, vec![ResourceKind::User], from_url(req.query_string())?).await
}

/// `GET /Groups`.
pub async fn list_groups(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    caller: Caller,
) -> Result<HttpResponse, ScimError> {
    run(&state, tenant, caller, vec![ResourceKind::Group], from_url(req.query_string())?).await
}

/// `POST /Users/.search`.
pub async fn search_users(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    caller: Caller,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    run(&state, tenant, caller, vec![ResourceKind::User], from_body(&json_body(&req, &body)?)?).await
}

/// `POST /Groups/.search`.
pub async fn search_groups(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    caller: Caller,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    run(&state, tenant, caller, vec![ResourceKind::Group], from_body(&json_body(&req, &body)?)?).await
}

/// `POST /.search`: users and groups together.
pub async fn search_all(
    req: HttpRequest,
    state: web::Data<AppState>,
    tenant: Tenant,
    caller: Caller,
    body: web::Bytes,
) -> Result<HttpResponse, ScimError> {
    let query = from_body(&json_body(&req, &body)?)?;
    run(&state, tenant, caller, vec![ResourceKind::User, ResourceKind::Group], query).await
}
