//! Tenant resolution: `/t/{tenant}/…` names one; bare paths address the default tenant.

use std::future::{ready, Ready};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpRequest};
use tessera_actors::TenantId;

use super::dialect::Dialect;
use super::AppState;

/// The tenant a request addresses.
pub struct Tenant(pub TenantId);

/// The tenant named by the path, if the path has the `/t/{tenant}` prefix.
fn named(path: &str) -> Option<&str> {
    path.strip_prefix("/t/").map(|rest| rest.split('/').next().unwrap_or(""))
}

impl FromRequest for Tenant {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // `check_tenant` has already refused unknown or malformed names.
        let tenant = named(req.path()).and_then(TenantId::parse).unwrap_or_else(TenantId::default_tenant);
        ready(Ok(Tenant(tenant)))
    }
}

/// Middleware on the `/t/{tenant}` scope: unknown tenants get the dialect's 404.
pub async fn check_tenant(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let known = named(req.path())
        .and_then(TenantId::parse)
        .zip(req.app_data::<web::Data<AppState>>())
        .is_some_and(|(tenant, state)| state.tenants.contains(tenant.as_str()));
    if !known {
        let dialect = Dialect::of(req.path());
        let response = dialect.not_found("Tenant not found");
        return Ok(req.into_response(response));
    }
    Ok(next.call(req).await?.map_into_boxed_body())
}
