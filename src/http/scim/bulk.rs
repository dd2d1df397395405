//! `POST /Bulk` (RFC 7644 §3.7): the BulkRequest in, the BulkResponse out; each operation's
//! outcome in the shape its own request would have had.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};
use tessera_actors::provisioning_actor::{BulkOutcome, ScimBulk};
use tessera_actors::scim::{etag, parse_bulk, BULK_RESPONSE_URN};

use super::error::ERROR_URN;
use super::{json_body, respond, ScimCall, ScimError};
use crate::http::ask;
use crate::http::openapi::scim as doc;

/// `POST /Bulk`.
#[utoipa::path(
    post,
    path = "/scim/v2/Bulk",
    operation_id = "scim_bulk",
    tag = "scim",
    request_body(content((doc::ScimBulkRequest = "application/scim+json"), (doc::ScimBulkRequest = "application/json"))),
    description = "At most 1000 operations (`maxOperations`) and 1 MiB (`maxPayloadSize`), 413 past them. `bulkId:<id>` in an operation's path or data names the resource another operation creates; a reference no operation creates fails that operation with 409. Every operation is authorised on its own: its refusals (403, 404, 409, …) are in its outcome.",
    responses(
        (status = 200, description = "Each operation's outcome, as its own request would have answered (status, `location`, `version`, or the SCIM error in `response`).", content_type = "application/scim+json", body = doc::ScimBulkResponse),
        (status = 400, response = doc::ScimBadRequest),
        (status = 401, response = doc::ScimUnauthorized),
        (status = 413, response = doc::ScimPayloadTooLarge),
        (status = 415, response = doc::ScimUnsupportedMediaType),
        (status = 503, response = doc::ScimUnavailable),
    )
)]
pub async fn bulk(req: HttpRequest, call: ScimCall, body: web::Bytes) -> Result<HttpResponse, ScimError> {
    let request = parse_bulk(&json_body(&req, &body)?)?;
    let outcomes = ask(&call.state.domain.provisioning, ScimBulk { context: call.context, request }).await?;
    let operations: Vec<Value> = outcomes.into_iter().map(render).collect();
    Ok(respond(StatusCode::OK, &json!({"schemas": [BULK_RESPONSE_URN], "Operations": operations})))
}

fn render(outcome: BulkOutcome) -> Value {
    let mut operation = json!({"method": outcome.method.as_str()});
    if let Some(bulk_id) = outcome.bulk_id {
        operation["bulkId"] = json!(bulk_id);
    }
    if let Some(location) = outcome.location {
        operation["location"] = json!(location);
    }
    if let Some(version) = outcome.version {
        operation["version"] = json!(etag(version));
    }
    match outcome.result {
        Ok(status) => operation["status"] = json!(status.to_string()),
        Err(error) => {
            let error = ScimError::from(error);
            let code = error.status.as_u16().to_string();
            let mut response = json!({"schemas": [ERROR_URN], "status": code, "detail": error.detail});
            if let Some(scim_type) = error.scim_type {
                response["scimType"] = json!(scim_type.as_str());
            }
            operation["status"] = json!(code);
            operation["response"] = response;
        }
    }
    operation
}
