//! Lists and searches: `GET /Users`, `GET /Groups`, `POST /{Users,Groups,}/.search`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_actors::provisioning_actor::ScimSearch;
use tessera_actors::scim::ResourceKind;

use super::params::{from_body, from_url, list_response, Position, Query};
use super::{json_body, respond, ScimCall, ScimError};
use crate::http::ask;

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
pub async fn list_users(req: HttpRequest, call: ScimCall) -> Result<HttpResponse, ScimError> {
    run(call, vec![ResourceKind::User], from_url(req.query_string())?).await
}

/// `GET /Groups`.
pub async fn list_groups(req: HttpRequest, call: ScimCall) -> Result<HttpResponse, ScimError> {
    run(call, vec![ResourceKind::Group], from_url(req.query_string())?).await
}

/// `POST /Users/.search`.
pub async fn search_users(req: HttpRequest, call: ScimCall, body: web::Bytes) -> Result<HttpResponse, ScimError> {
    run(call, vec![ResourceKind::User], from_body(&json_body(&req, &body)?)?).await
}

/// `POST /Groups/.search`.
pub async fn search_groups(req: HttpRequest, call: ScimCall, body: web::Bytes) -> Result<HttpResponse, ScimError> {
    run(call, vec![ResourceKind::Group], from_body(&json_body(&req, &body)?)?).await
}

/// `POST /.search`: users and groups together.
pub async fn search_all(req: HttpRequest, call: ScimCall, body: web::Bytes) -> Result<HttpResponse, ScimError> {
    run(call, vec![ResourceKind::User, ResourceKind::Group], from_body(&json_body(&req, &body)?)?).await
}
