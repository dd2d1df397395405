//! One resource: `POST /Users`, `GET|PUT|PATCH|DELETE /Users/{id}`, and the same for Groups,
//! with ETags (`If-Match` → 412, `If-None-Match` → 304) and `attributes` projection.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_actors::provisioning_actor::{ScimDelete, ScimGet, ScimResource, ScimWrite, ScimWriteResource};
use tessera_actors::scim::{etag, parse_etags, Precondition, ResourceKind};
use uuid::Uuid;

use super::params::Projection;
use super::{json_body, kind_name, ScimCall, ScimError, SCIM_JSON};
use crate::http::ask;
use crate::http::openapi::scim as doc;
use crate::http::path_id::PathId;

/// The id in the path: a resource id is a UUID, anything else names nothing.
fn resource_id(kind: ResourceKind, path: &PathId) -> Result<Uuid, ScimError> {
    Uuid::try_parse(path.trim()).map_err(|_| ScimError::not_found(kind_name(kind)))
}

fn precondition(req: &HttpRequest, name: header::HeaderName) -> Option<Precondition> {
    req.headers().get(name).and_then(|value| value.to_str().ok()).map(parse_etags)
}

fn projection(req: &HttpRequest) -> Result<Projection, ScimError> {
    let query = super::params::from_url(req.query_string())?;
    Ok(query.projection)
}

/// A resource answer with its ETag (and `Location` when it was just created).
fn answer(status: StatusCode, kind: ResourceKind, resource: &ScimResource, projection: &Projection) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response.content_type(SCIM_JSON).insert_header((header::ETAG, etag(resource.version)));
    if status == StatusCode::CREATED {
        if let Some(location) = resource.resource["meta"]["location"].as_str() {
            response.insert_header((header::LOCATION, location.to_owned()));
        }
    }
    response.body(projection.apply(kind, &resource.resource).to_string())
}

fn not_found(kind: ResourceKind) -> impl Fn(tessera_actors::DomainError) -> ScimError {
    move |error| match error {
        tessera_actors::DomainError::NotFound => ScimError::not_found(kind_name(kind)),
        other => other.into(),
    }
}

async fn get(req: HttpRequest, call: ScimCall, path: PathId, kind: ResourceKind) -> Result<HttpResponse, ScimError> {
    let projection = projection(&req)?;
    let id = resource_id(kind, &path)?;
    let message = ScimGet { context: call.context, kind, id };
    let resource = ask(&call.state.domain.provisioning, message).await.map_err(not_found(kind))?;
    if precondition(&req, header::IF_NONE_MATCH).is_some_and(|tags| tags.matches(resource.version)) {
        return Ok(HttpResponse::NotModified().insert_header((header::ETAG, etag(resource.version))).finish());
    }
    Ok(answer(StatusCode::OK, kind, &resource, &projection))
}

/// POST (no id), PUT or PATCH of one resource.
async fn write(
    req: HttpRequest,
    call: ScimCall,
    id: Option<Uuid>,
    kind: ResourceKind,
    body: web::Bytes,
    make: fn(serde_json::Value) -> ScimWrite,
) -> Result<HttpResponse, ScimError> {
    let projection = projection(&req)?;
    let write = make(json_body(&req, &body)?);
    let status = if matches!(write, ScimWrite::Create(_)) { StatusCode::CREATED } else { StatusCode::OK };
    let if_match = precondition(&req, header::IF_MATCH);
    let message = ScimWriteResource { context: call.context, kind, id, write, if_match };
    let resource = ask(&call.state.domain.provisioning, message).await.map_err(not_found(kind))?;
    Ok(answer(status, kind, &resource, &projection))
}

async fn delete(req: HttpRequest, call: ScimCall, path: PathId, kind: ResourceKind) -> Result<HttpResponse, ScimError> {
    let id = resource_id(kind, &path)?;
    let if_match = precondition(&req, header::IF_MATCH);
    let message = ScimDelete { context: call.context, kind, id, if_match };
    ask(&call.state.domain.provisioning, message).await.map_err(not_found(kind))?;
    Ok(HttpResponse::NoContent().finish())
}

macro_rules! resource_routes {
    (
        $kind:expr, $collection:tt, $item:tt, $resource:ty, $request:ty,
        $get:ident, $create:ident, $replace:ident, $patch:ident, $delete:ident
    ) => {
        /// `GET /{resources}/{id}`.
        #[utoipa::path(
            get,
            path = $item,
            operation_id = concat!("scim_", stringify!($get)),
            tag = "scim",
            params(
                ("id" = String, Path, description = "The resource's id (a UUID)."),
                ("If-None-Match" = Option<String>, Header, description = "An `ETag`: 304 when the resource still has it."),
                doc::ScimProjectionQuery,
            ),
            responses(
                (status = 200, description = "The resource.", content_type = "application/scim+json", body = $resource,
                    headers(("ETag" = String, description = "The resource's version (weak)."))),
                (status = 304, description = "Not modified: `If-None-Match` names the current version.",
                    headers(("ETag" = String))),
                (status = 400, response = doc::ScimBadRequest),
                (status = 401, response = doc::ScimUnauthorized),
                (status = 403, response = doc::ScimForbidden),
                (status = 404, response = doc::ScimNotFound),
                (status = 503, response = doc::ScimUnavailable),
            )
        )]
        pub async fn $get(req: HttpRequest, call: ScimCall, path: PathId) -> Result<HttpResponse, ScimError> {
            get(req, call, path, $kind).await
        }

        /// `POST /{resources}`.
        #[utoipa::path(
            post,
            path = $collection,
            operation_id = concat!("scim_", stringify!($create)),
            tag = "scim",
            params(doc::ScimProjectionQuery),
            request_body(content(($request = "application/scim+json"), ($request = "application/json"))),
            responses(
                (status = 201, description = "Created.", content_type = "application/scim+json", body = $resource,
                    headers(("ETag" = String, description = "The resource's version (weak)."),
                            ("Location" = String, description = "The resource's URL."))),
                (status = 400, response = doc::ScimBadRequest),
                (status = 401, response = doc::ScimUnauthorized),
                (status = 403, response = doc::ScimForbidden),
                (status = 409, response = doc::ScimConflict),
                (status = 413, response = doc::ScimPayloadTooLarge),
                (status = 415, response = doc::ScimUnsupportedMediaType),
                (status = 503, response = doc::ScimUnavailable),
            )
        )]
        pub async fn $create(req: HttpRequest, call: ScimCall, body: web::Bytes) -> Result<HttpResponse, ScimError> {
            write(req, call, None, $kind, body, ScimWrite::Create).await
        }

        /// `PUT /{resources}/{id}`: replaces the resource, honouring mutability (read-only
        /// attributes ignored, immutable ones checked).
        #[utoipa::path(
            put,
            path = $item,
            operation_id = concat!("scim_", stringify!($replace)),
            tag = "scim",
            params(
                ("id" = String, Path, description = "The resource's id (a UUID)."),
                ("If-Match" = Option<String>, Header, description = "An `ETag`: applies only to that version (412 otherwise)."),
                doc::ScimProjectionQuery,
            ),
            request_body(content(($request = "application/scim+json"), ($request = "application/json"))),
            responses(
                (status = 200, description = "The resource as replaced.", content_type = "application/scim+json",
                    body = $resource, headers(("ETag" = String, description = "The resource's version (weak)."))),
                (status = 400, response = doc::ScimBadRequest),
                (status = 401, response = doc::ScimUnauthorized),
                (status = 403, response = doc::ScimForbidden),
                (status = 404, response = doc::ScimNotFound),
                (status = 409, response = doc::ScimConflict),
                (status = 412, response = doc::ScimPreconditionFailed),
                (status = 413, response = doc::ScimPayloadTooLarge),
                (status = 415, response = doc::ScimUnsupportedMediaType),
                (status = 503, response = doc::ScimUnavailable),
            )
        )]
        pub async fn $replace(
            req: HttpRequest,
            call: ScimCall,
            path: PathId,
            body: web::Bytes,
        ) -> Result<HttpResponse, ScimError> {
            let id = resource_id($kind, &path)?;
            write(req, call, Some(id), $kind, body, ScimWrite::Replace).await
        }

        /// `PATCH /{resources}/{id}`: every operation applies, or none.
        #[utoipa::path(
            patch,
            path = $item,
            operation_id = concat!("scim_", stringify!($patch)),
            tag = "scim",
            params(
                ("id" = String, Path, description = "The resource's id (a UUID)."),
                ("If-Match" = Option<String>, Header, description = "An `ETag`: applies only to that version (412 otherwise)."),
                doc::ScimProjectionQuery,
            ),
            request_body(content((doc::ScimPatchOp = "application/scim+json"), (doc::ScimPatchOp = "application/json"))),
            responses(
                (status = 200, description = "The resource as patched.", content_type = "application/scim+json",
                    body = $resource, headers(("ETag" = String, description = "The resource's version (weak)."))),
                (status = 400, response = doc::ScimBadRequest),
                (status = 401, response = doc::ScimUnauthorized),
                (status = 403, response = doc::ScimForbidden),
                (status = 404, response = doc::ScimNotFound),
                (status = 409, response = doc::ScimConflict),
                (status = 412, response = doc::ScimPreconditionFailed),
                (status = 413, response = doc::ScimPayloadTooLarge),
                (status = 415, response = doc::ScimUnsupportedMediaType),
                (status = 503, response = doc::ScimUnavailable),
            )
        )]
        pub async fn $patch(
            req: HttpRequest,
            call: ScimCall,
            path: PathId,
            body: web::Bytes,
        ) -> Result<HttpResponse, ScimError> {
            let id = resource_id($kind, &path)?;
            write(req, call, Some(id), $kind, body, ScimWrite::Patch).await
        }

        /// `DELETE /{resources}/{id}`.
        #[utoipa::path(
            delete,
            path = $item,
            operation_id = concat!("scim_", stringify!($delete)),
            tag = "scim",
            params(
                ("id" = String, Path, description = "The resource's id (a UUID)."),
                ("If-Match" = Option<String>, Header, description = "An `ETag`: deletes only that version (412 otherwise)."),
            ),
            responses(
                (status = 204, description = "Deleted (a user goes with its sessions, keys, linked identities and group memberships)."),
                (status = 401, response = doc::ScimUnauthorized),
                (status = 403, response = doc::ScimForbidden),
                (status = 404, response = doc::ScimNotFound),
                (status = 409, response = doc::ScimConflict),
                (status = 412, response = doc::ScimPreconditionFailed),
                (status = 503, response = doc::ScimUnavailable),
            )
        )]
        pub async fn $delete(req: HttpRequest, call: ScimCall, path: PathId) -> Result<HttpResponse, ScimError> {
            delete(req, call, path, $kind).await
        }
    };
}

resource_routes!(
    ResourceKind::User,
    "/scim/v2/Users",
    "/scim/v2/Users/{id}",
    doc::ScimUser,
    doc::ScimUserRequest,
    get_user,
    create_user,
    replace_user,
    patch_user,
    delete_user
);
resource_routes!(
    ResourceKind::Group,
    "/scim/v2/Groups",
    "/scim/v2/Groups/{id}",
    doc::ScimGroup,
    doc::ScimGroupRequest,
    get_group,
    create_group,
    replace_group,
    patch_group,
    delete_group
);
