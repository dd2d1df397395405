//! The discovery endpoints (RFC 7644 §4): public documents, absolute locations per tenant.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use tessera_actors::scim::{self, ServiceLimits};

use super::{base_url, respond, ScimError, DEFAULT_PAGE_SIZE, MAX_RESULTS};
use crate::http::openapi::scim as doc;
use crate::http::path_id::PathId;
use crate::http::tenant::Tenant;
use crate::http::AppState;

/// The limits advertised and enforced.
fn limits() -> ServiceLimits {
    ServiceLimits {
        bulk_max_operations: scim::BULK_MAX_OPERATIONS as u32,
        bulk_max_payload_bytes: scim::BULK_MAX_PAYLOAD_BYTES as u64,
        filter_max_results: MAX_RESULTS as u32,
        default_page_size: DEFAULT_PAGE_SIZE as u32,
        max_page_size: MAX_RESULTS as u32,
        cursor_timeout_secs: scim::CURSOR_TIMEOUT_SECS,
    }
}

/// `GET /ServiceProviderConfig`.
#[utoipa::path(
    get,
    path = "/scim/v2/ServiceProviderConfig",
    operation_id = "scim_get_service_provider_config",
    tag = "scim",
    security(()),
    responses(
        (status = 200, description = "What this service provider supports, and its limits.", content_type = "application/scim+json", body = doc::ScimDiscoveryDocument),
    )
)]
pub async fn service_provider_config(state: web::Data<AppState>, tenant: Tenant) -> HttpResponse {
    respond(StatusCode::OK, &scim::service_provider_config(&base_url(&state, &tenant.0), &limits()))
}

/// `GET /ResourceTypes`.
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes",
    operation_id = "scim_list_resource_types",
    tag = "scim",
    security(()),
    responses(
        (status = 200, description = "User (with the enterprise extension) and Group.", content_type = "application/scim+json", body = doc::ScimListResponse),
    )
)]
pub async fn resource_types(state: web::Data<AppState>, tenant: Tenant) -> HttpResponse {
    respond(StatusCode::OK, &scim::resource_types(&base_url(&state, &tenant.0)))
}

/// `GET /ResourceTypes/{id}`.
#[utoipa::path(
    get,
    path = "/scim/v2/ResourceTypes/{id}",
    operation_id = "scim_get_resource_type",
    tag = "scim",
    security(()),
    params(("id" = String, Path, description = "`User` or `Group`.")),
    responses(
        (status = 200, description = "The resource type.", content_type = "application/scim+json", body = doc::ScimDiscoveryDocument),
        (status = 404, response = doc::ScimNotFound),
    )
)]
pub async fn resource_type(state: web::Data<AppState>, tenant: Tenant, id: PathId) -> Result<HttpResponse, ScimError> {
    Ok(respond(StatusCode::OK, &scim::resource_type(&base_url(&state, &tenant.0), &id.0)?))
}

/// `GET /Schemas`.
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas",
    operation_id = "scim_list_schemas",
    tag = "scim",
    security(()),
    responses(
        (status = 200, description = "The User, Group and EnterpriseUser schemas (RFC 7643 §8.7.1).", content_type = "application/scim+json", body = doc::ScimListResponse),
    )
)]
pub async fn schemas(state: web::Data<AppState>, tenant: Tenant) -> HttpResponse {
    respond(StatusCode::OK, &scim::schema_documents(&base_url(&state, &tenant.0)))
}

/// `GET /Schemas/{urn}`.
#[utoipa::path(
    get,
    path = "/scim/v2/Schemas/{urn}",
    operation_id = "scim_get_schema",
    tag = "scim",
    security(()),
    params(("urn" = String, Path, description = "The schema's URN (case-insensitive).")),
    responses(
        (status = 200, description = "The schema.", content_type = "application/scim+json", body = doc::ScimDiscoveryDocument),
        (status = 404, response = doc::ScimNotFound),
    )
)]
pub async fn schema(state: web::Data<AppState>, tenant: Tenant, urn: PathId) -> Result<HttpResponse, ScimError> {
    Ok(respond(StatusCode::OK, &scim::schema_document(&base_url(&state, &tenant.0), &urn.0)?))
}
