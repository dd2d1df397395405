//! Lists and searches: `GET /Users`, `GET /Groups`, `POST /{Users,Groups,}/.search`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_actors::provisioning_actor::ScimSearch;
use tessera_actors::scim::ResourceKind;

use super::params::{from_body, from_url, list_response, Position, Query};
use super::{json_body, respond, ScimCall, ScimError};
use crate::http::ask;
use crate::http::openapi::scim as doc;

async fn run(call: ScimCall, kinds: Vec<ResourceKind>, query: Query) -> Result<HttpResponse, ScimError> {
    let message = ScimSearch {
        context: call.context,
        kinds,
        filter: query.filter,
        sort_by: query.sort_by,
        descending: query.descending,
        offset: query.start_index - 1,
        count: query.count,
        cursor: query.cursor.clone(),
    };
    let page = ask(&call.state.domain.provisioning, message).await?;
    let resources = page.resources.iter().map(|(kind, resource)| query.projection.apply(*kind, resource)).collect();
    let position = match query.cursor {
        Some(_) => Position::Cursors { next: page.next_cursor, previous: page.previous_cursor },
        None => Position::Index(query.start_index),
    };
    Ok(respond(StatusCode::OK, &list_response(page.total, position, resources)))
}

/// `GET /Users`.
#[utoipa::path(
    get,
    path = "/scim/v2/Users",
    operation_id = "scim_list_users",
    tag = "scim",
    params(doc::ScimListQuery),
    responses(
        (status = 200, description = "One page of resources.", content_type = "application/scim+json", body = doc::ScimListResponse),
        (status = 400, response = doc::ScimBadRequest),
        (status = 401, response = doc::ScimUnauthorized),
        (status = 403, response = doc::ScimForbidden),
        (status = 503, response = doc::ScimUnavailable),
    )
)]
pub async fn list_users(req: HttpRequest, call: ScimCall) -> Result<HttpResponse, ScimError> {
    run(call, vec![ResourceKind::User], from_url(req.query_string())?).await
}

/// `GET /Groups`.
#[utoipa::path(
    get,
    path = "/scim/v2/Groups",
    operation_id = "scim_list_groups",
    tag = "scim",
    params(doc::ScimListQuery),
    responses(
        (status = 200, description = "One page of resources.", content_type = "application/scim+json", body = doc::ScimListResponse),
        (status = 400, response = doc::ScimBadRequest),
        (status = 401, response = doc::ScimUnauthorized),
        (status = 403, response = doc::ScimForbidden),
        (status = 503, response = doc::ScimUnavailable),
    )
)]
pub async fn list_groups(req: HttpRequest, call: ScimCall) -> Result<HttpResponse, ScimError> {
    run(call, vec![ResourceKind::Group], from_url(req.query_string())?).await
}

/// `POST /Users/.search`.
#[utoipa::path(
    post,
    path = "/scim/v2/Users/.search",
    operation_id = "scim_search_users",
    tag = "scim",
    request_body(content((doc::ScimSearchRequest = "application/scim+json"), (doc::ScimSearchRequest = "application/json"))),
    responses(
        (status = 200, description = "One page of resources.", content_type = "application/scim+json", body = doc::ScimListResponse),
        (status = 400, response = doc::ScimBadRequest),
        (status = 401, response = doc::ScimUnauthorized),
        (status = 403, response = doc::ScimForbidden),
        (status = 413, response = doc::ScimPayloadTooLarge),
        (status = 415, response = doc::ScimUnsupportedMediaType),
        (status = 503, response = doc::ScimUnavailable),
    )
)]
pub async fn search_users(req: HttpRequest, call: ScimCall, body: web::Bytes) -> Result<HttpResponse, ScimError> {
    run(call, vec![ResourceKind::User], from_body(&json_body(&req, &body)?)?).await
}

/// `POST /Groups/.search`.
#[utoipa::path(
    post,
    path = "/scim/v2/Groups/.search",
    operation_id = "scim_search_groups",
    tag = "scim",
    request_body(content((doc::ScimSearchRequest = "application/scim+json"), (doc::ScimSearchRequest = "application/json"))),
    responses(
        (status = 200, description = "One page of resources.", content_type = "application/scim+json", body = doc::ScimListResponse),
        (status = 400, response = doc::ScimBadRequest),
        (status = 401, response = doc::ScimUnauthorized),
        (status = 403, response = doc::ScimForbidden),
        (status = 413, response = doc::ScimPayloadTooLarge),
        (status = 415, response = doc::ScimUnsupportedMediaType),
        (status = 503, response = doc::ScimUnavailable),
    )
)]
pub async fn search_groups(req: HttpRequest, call: ScimCall, body: web::Bytes) -> Result<HttpResponse, ScimError> {
    run(call, vec![ResourceKind::Group], from_body(&json_body(&req, &body)?)?).await
}

/// `POST /.search`: users and groups together.
#[utoipa::path(
    post,
    path = "/scim/v2/.search",
    operation_id = "scim_search",
    tag = "scim",
    request_body(content((doc::ScimSearchRequest = "application/scim+json"), (doc::ScimSearchRequest = "application/json"))),
    responses(
        (status = 200, description = "One page of users and groups.", content_type = "application/scim+json", body = doc::ScimListResponse),
        (status = 400, response = doc::ScimBadRequest),
        (status = 401, response = doc::ScimUnauthorized),
        (status = 403, response = doc::ScimForbidden),
        (status = 413, response = doc::ScimPayloadTooLarge),
        (status = 415, response = doc::ScimUnsupportedMediaType),
        (status = 503, response = doc::ScimUnavailable),
    )
)]
pub async fn search_all(req: HttpRequest, call: ScimCall, body: web::Bytes) -> Result<HttpResponse, ScimError> {
    run(call, vec![ResourceKind::User, ResourceKind::Group], from_body(&json_body(&req, &body)?)?).await
}
