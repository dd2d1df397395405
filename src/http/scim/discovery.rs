//! The discovery endpoints (RFC 7644 §4): public documents, absolute locations per tenant.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use tessera_actors::scim::{self, ServiceLimits};

use super::{base_url, respond, ScimError, DEFAULT_PAGE_SIZE, MAX_RESULTS};
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
pub async fn service_provider_config(state: web::Data<AppState>, tenant: Tenant) -> HttpResponse {
    respond(StatusCode::OK, &scim::service_provider_config(&base_url(&state, &tenant.0), &limits()))
}

/// `GET /ResourceTypes`.
pub async fn resource_types(state: web::Data<AppState>, tenant: Tenant) -> HttpResponse {
    respond(StatusCode::OK, &scim::resource_types(&base_url(&state, &tenant.0)))
}

/// `GET /ResourceTypes/{id}`.
pub async fn resource_type(state: web::Data<AppState>, tenant: Tenant, id: PathId) -> Result<HttpResponse, ScimError> {
    Ok(respond(StatusCode::OK, &scim::resource_type(&base_url(&state, &tenant.0), &id.0)?))
}

/// `GET /Schemas`.
pub async fn schemas(state: web::Data<AppState>, tenant: Tenant) -> HttpResponse {
    respond(StatusCode::OK, &scim::schema_documents(&base_url(&state, &tenant.0)))
}

/// `GET /Schemas/{urn}`.
pub async fn schema(state: web::Data<AppState>, tenant: Tenant, urn: PathId) -> Result<HttpResponse, ScimError> {
    Ok(respond(StatusCode::OK, &scim::schema_document(&base_url(&state, &tenant.0), &urn.0)?))
}
