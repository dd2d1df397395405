//! The SCIM 2.0 dialect (`/scim/v2`, RFC 7644): discovery documents, Users and Groups, and
//! searches, in `application/scim+json` with SCIM's error shape. It only moves requests and
//! answers on and off the wire; the ProvisioningActor applies the protocol.

pub(super) mod bulk;
pub(super) mod discovery;
mod error;
mod params;
pub(super) mod resources;
pub(super) mod search;

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use serde_json::Value;
use tessera_actors::provisioning_actor::ScimContext;
use tessera_actors::scim::ResourceKind;

pub use error::{ScimError, SCIM_JSON};

use super::caller::Caller;
use super::tenant::Tenant;
use super::AppState;
use crate::http::routes::resource;

/// The most resources one list or search answers (`filter.maxResults`).
pub const MAX_RESULTS: u64 = 1000;
/// The page size when a request names none.
pub const DEFAULT_PAGE_SIZE: u64 = 100;

/// Registers the SCIM routes inside a `/scim/v2` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/ServiceProviderConfig").get(discovery::service_provider_config).other_methods(not_allowed))
        .service(resource("/ResourceTypes").get(discovery::resource_types).other_methods(not_allowed))
        .service(resource("/ResourceTypes/{id}").get(discovery::resource_type).other_methods(not_allowed))
        .service(resource("/Schemas").get(discovery::schemas).other_methods(not_allowed))
        .service(resource("/Schemas/{urn}").get(discovery::schema).other_methods(not_allowed))
        .service(resource("/.search").post(search::search_all))
        .service(
            resource("/Bulk")
                .app_data(web::PayloadConfig::new(tessera_actors::scim::BULK_MAX_PAYLOAD_BYTES))
                .post(bulk::bulk),
        )
        .service(resource("/Users/.search").post(search::search_users))
        .service(resource("/Groups/.search").post(search::search_groups))
        .service(resource("/Users").get(search::list_users).post(resources::create_user))
        .service(resource("/Groups").get(search::list_groups).post(resources::create_group))
        .service(
            resource("/Users/{id}")
                .get(resources::get_user)
                .put(resources::replace_user)
                .patch(resources::patch_user)
                .delete(resources::delete_user),
        )
        .service(
            resource("/Groups/{id}")
                .get(resources::get_group)
                .put(resources::replace_group)
                .patch(resources::patch_group)
                .delete(resources::delete_group),
        )
        .default_service(web::to(|| async { ScimError::not_found("Endpoint") }));
}

/// A write to a read-only discovery document: 405 with `Allow` (RFC 9110 §15.5.6).
async fn not_allowed() -> HttpResponse {
    let mut response =
        ScimError::new(StatusCode::METHOD_NOT_ALLOWED, None, "Method not allowed on this endpoint").error_response();
    response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET"));
    response
}

/// The tenant's SCIM root URL, for `meta.location` and `$ref`s.
pub fn base_url(state: &AppState, tenant: &tessera_actors::TenantId) -> String {
    format!("{}/scim/v2", state.base_url(tenant))
}

/// The prologue every resource route shares, said once: the tenant, a caller authenticated in
/// it (401 in SCIM's shape otherwise), and the tenant's SCIM root for `meta.location`.
pub struct ScimCall {
    pub state: web::Data<AppState>,
    pub context: ScimContext,
}

impl FromRequest for ScimCall {
    type Error = ScimError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ScimError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let tenant = Tenant::from_request(req, payload).into_inner();
        let caller = Caller::from_request(req, payload);
        Box::pin(async move {
            let unavailable =
                || ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, "Service unavailable, please retry");
            let state = state.ok_or_else(unavailable)?;
            let Tenant(tenant) = tenant.map_err(|_| ScimError::not_found("Tenant"))?;
            let by = caller.await.map_err(|_| unavailable())?.0.map_err(ScimError::from)?;
            let base_url = base_url(&state, &tenant);
            Ok(ScimCall { state, context: ScimContext { tenant, by, base_url } })
        })
    }
}

/// A SCIM JSON answer.
pub fn respond(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status).content_type(SCIM_JSON).body(body.to_string())
}

/// A request body as JSON: `application/scim+json` or `application/json` (or none), at most
/// the server's body limit; anything else is 400 invalidSyntax.
pub fn json_body(req: &HttpRequest, body: &[u8]) -> Result<Value, ScimError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if !media.is_empty() && media != SCIM_JSON && media != "application/json" {
        return Err(ScimError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            None,
            "Send application/scim+json (or application/json)",
        ));
    }
    super::body::parse_json(body)
        .map_err(|message| ScimError::bad(tessera_actors::scim::ScimType::InvalidSyntax, message))
}

/// The resource kind's name for messages.
pub fn kind_name(kind: ResourceKind) -> &'static str {
    match kind {
        ResourceKind::User => "User",
        ResourceKind::Group => "Group",
    }
}
