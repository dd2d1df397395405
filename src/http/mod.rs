//! The HTTP surface: one module per dialect, each translating its wire format to domain
//! messages and domain errors back to its own status codes and bodies.

mod assets;
mod body;
mod caller;
mod client_address;
mod console;
mod dialect;
mod firezone;
mod health;
mod html;
mod ids;
pub mod metrics;
mod openapi;
mod path_id;
mod request_id;
mod request_span;
pub mod routes;
mod scim;
mod sign_in;
mod soat;
mod sso;
mod start_limit;
mod stream;
mod tenant;

use actix::dev::ToEnvelope;
use actix::{Actor, Addr, Handler, Message};
use actix_web::web;
use tessera_actors::{Domain, DomainError};

pub use client_address::ClientAddress;
pub use dialect::json_error_bodies;
pub use request_id::assign as assign_request_id;
pub use request_span::RequestSpan;
pub use soat::TenantRecord;
pub use start_limit::StartLimit;
pub use tenant::resolve_tenant;

/// What every handler can reach.
pub struct AppState {
    pub domain: Domain,
    /// Public base URL (`server.external_url`), without a trailing slash.
    pub external_url: String,
    /// The per-address brake on starting upstream sign-ins; `None`: no limit.
    pub sign_in_starts: Option<StartLimit>,
    /// Which address a request is attributed to (`server.trusted_proxies`).
    pub client_address: ClientAddress,
    /// Whether `/metrics` is served by its own listener (`server.metrics_bind`), not this one.
    pub metrics_listener: bool,
}

impl AppState {
    /// The public base URL of a tenant's routes: for a tenant with hostnames, the external
    /// URL on its first hostname (same scheme and port); else the external URL, plus
    /// `/t/<tenant>` for every tenant but the default one.
    pub fn base_url(&self, tenant: &tessera_actors::TenantId) -> String {
        let found = self.domain.tenants.get(tenant.as_str());
        tenant_base_url(&self.external_url, tenant, found.as_ref().map_or(&[], |found| found.hostnames.as_slice()))
    }

    /// Whether browsers reach us over https (cookies are then `Secure`).
    /// Where a request came from (client address under `server.trusted_proxies`, request id),
    /// as the audit trail records it.
    pub fn origin(&self, req: &actix_web::HttpRequest) -> tessera_actors::audit::RequestOrigin {
        use actix_web::HttpMessage;
        tessera_actors::audit::RequestOrigin {
            client: self.client_address.of(req),
            request_id: req.extensions().get::<request_id::RequestContext>().map(|context| context.id.clone()),
        }
    }

    pub fn is_https(&self) -> bool {
        self.external_url.starts_with("https://")
    }
}

/// The public base URL of a tenant's routes: for a tenant with hostnames, `external_url` on
/// its first hostname (same scheme and port); else `external_url`, plus `/t/<tenant>` for every
/// tenant but the default one. The one place this rule lives (the server and the CLI use it).
pub fn tenant_base_url(external_url: &str, tenant: &tessera_actors::TenantId, hostnames: &[String]) -> String {
    let external_url = external_url.trim_end_matches('/');
    if let Some(hostname) = hostnames.first() {
        if let Ok(mut url) = reqwest::Url::parse(external_url) {
            if url.set_host(Some(hostname)).is_ok() {
                return url.as_str().trim_end_matches('/').to_owned();
            }
        }
    }
    if tenant.is_default() {
        external_url.to_owned()
    } else {
        format!("{external_url}/t/{tenant}")
    }
}

/// Registers every dialect, at the root (default tenant) and under `/t/{tenant}`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(routes::resource("/healthz").get(health::healthz).other_methods(health::healthz_other_methods));
    cfg.service(routes::resource("/readyz").get(health::readyz));
    cfg.service(routes::resource("/metrics").get(metrics::scrape));
    routes::scope(cfg, "/t/{tenant}", dialects);
    dialects(cfg);
}

fn dialects(cfg: &mut web::ServiceConfig) {
    cfg.service(routes::resource("/openapi.json").get(openapi::serve));
    routes::scope(cfg, "/api/v1", soat::routes);
    routes::scope(cfg, "/v0", firezone::routes);
    routes::scope(cfg, "/scim/v2", scim::routes);
    sso::routes(cfg);
    sign_in::routes(cfg);
    assets::routes(cfg);
    console::routes(cfg);
}

/// The 404 for a path outside every route, in the dialect the path belongs to.
pub fn not_found_for(path: &str) -> actix_web::HttpResponse {
    dialect::Dialect::of(path).not_found("Not found")
}

/// How long a request waits for the domain before it is answered 503 (`server.request_timeout_seconds`,
/// fixed at start): an unreachable database, whose client may wait to reconnect indefinitely,
/// must not hang clients.
static DOMAIN_DEADLINE: std::sync::OnceLock<std::time::Duration> = std::sync::OnceLock::new();

/// Sets the deadline once, at start.
pub fn set_domain_deadline(deadline: std::time::Duration) {
    let _ = DOMAIN_DEADLINE.set(deadline);
}

/// The deadline (30 s until set).
pub fn domain_deadline() -> std::time::Duration {
    DOMAIN_DEADLINE.get().copied().unwrap_or(std::time::Duration::from_secs(30))
}

/// Sends a domain message; a dead mailbox or no answer within [`domain_deadline`] is
/// `Unavailable` (503).
pub async fn ask<A, M, T>(addr: &Addr<A>, message: M) -> Result<T, DomainError>
where
    A: Actor + Handler<M>,
    A::Context: ToEnvelope<A, M>,
    M: Message<Result = Result<T, DomainError>> + Send + 'static,
    T: Send + 'static,
{
    let deadline = domain_deadline();
    match tokio::time::timeout(deadline, addr.send(message)).await {
        Ok(answer) => answer.map_err(|error| DomainError::Unavailable(format!("actor: {error}")))?,
        Err(_) => Err(DomainError::Unavailable(format!("no answer within {deadline:?}"))),
    }
}
