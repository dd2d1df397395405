//! Tenant resolution, once per request: `/t/{tenant}/…` names one; else a `Host` that a
//! tenant claims routes to it; else the default tenant. An unknown tenant, or one being
//! deleted, gets the dialect's 404 before any handler runs.

use std::future::{ready, Ready};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};
use tessera_actors::TenantId;

use super::dialect::Dialect;
use super::AppState;

/// The tenant a request addresses.
#[derive(Clone)]
pub struct Tenant(pub TenantId);

/// The tenant named by the path, if the path has the `/t/{tenant}` prefix.
fn named(path: &str) -> Option<&str> {
    path.strip_prefix("/t/").map(|rest| rest.split('/').next().unwrap_or(""))
}

/// The request's host, lowercased and without port (the `Host` header as sent; forwarded
/// host headers are not trusted for routing).
fn request_host(req: &ServiceRequest) -> Option<String> {
    let host = req.headers().get(header::HOST).and_then(|host| host.to_str().ok()).or_else(|| req.uri().host())?;
    let host = match host.strip_prefix('[') {
        // An IPv6 literal keeps its brackets; no tenant claims one, so it routes to the default.
        Some(literal) => &host[..literal.find(']').map_or(host.len(), |end| end + 2)],
        None => host.split(':').next().unwrap_or(host),
    };
    Some(host.trim_end_matches('.').to_ascii_lowercase())
}

/// Which tenant a request addresses, `None` when it names one that is not served.
fn resolve(req: &ServiceRequest, state: &AppState) -> Option<TenantId> {
    let directory = &state.domain.tenants;
    if let Some(name) = named(req.path()) {
        return TenantId::parse(name).filter(|id| directory.active(id).is_some());
    }
    match request_host(req).and_then(|host| directory.by_host(&host)) {
        Some(tenant) if tenant.is_active() => Some(tenant.id.clone()),
        Some(_) => None,
        None => Some(TenantId::default_tenant()),
    }
}

impl FromRequest for Tenant {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // `resolve_tenant` has put it there (and refused requests to tenants not served).
        let tenant = req.extensions().get::<Tenant>().cloned().unwrap_or(Tenant(TenantId::default_tenant()));
        ready(Ok(tenant))
    }
}

/// Middleware around every route: resolves the tenant once and refuses unknown ones with the
/// dialect's 404.
pub async fn resolve_tenant(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let tenant = req.app_data::<web::Data<AppState>>().and_then(|state| resolve(&req, state));
    let Some(tenant) = tenant else {
        let dialect = Dialect::of(req.path());
        let response = dialect.not_found("Tenant not found");
        return Ok(req.into_response(response));
    };
    tracing::Span::current().record("tenant", tenant.as_str());
    req.extensions_mut().insert(Tenant(tenant));
    Ok(next.call(req).await?.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::request_host;

    #[test]
    fn hosts_are_matched_without_port_or_case() {
        let host = |value: &str| request_host(&TestRequest::default().insert_header(("host", value)).to_srv_request());
        assert_eq!(host("ID.Acme.test:8443").as_deref(), Some("id.acme.test"));
        assert_eq!(host("id.acme.test.").as_deref(), Some("id.acme.test"));
        assert_eq!(host("[::1]:8080").as_deref(), Some("[::1]"));
        assert_eq!(host("[::1]").as_deref(), Some("[::1]"));
    }
}
