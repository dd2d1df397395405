//! `GET /metrics`: Prometheus' text format. On the main listener only the operator may read it
//! (a caller of the `default` tenant allowed `metrics:GetMetrics`: Prometheus sends an `sk_` key
//! as its bearer token); with `server.metrics_bind` set it is served there instead, without a
//! credential, and the main listener answers 404.

use actix_web::{web, HttpResponse};
use tessera_actors::provisioning_actor::TenantCaller;
use tessera_actors::session_actor::ReadMetrics;

use super::soat::{Operator, SoatError};
use super::{ask, AppState};

/// `GET /metrics` on the main listener.
#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    description = "Prometheus' text format: requests and latency by route template, sign-ins, throttling, the \
        password hasher, store queries, active sessions per tenant, SCIM operations and process statistics. \
        On the main listener only the operator reads it (a caller of the `default` tenant allowed \
        `metrics:GetMetrics`, e.g. Prometheus with an `sk_` key); with `server.metrics_bind` set it is served \
        there without a credential and this route answers 404.",
    responses(
        (status = 200, description = "The metrics.", content_type = "text/plain; version=0.0.4; charset=utf-8",
            body = String),
        (status = 401, response = super::openapi::soat::SoatUnauthorized),
        (status = 403, response = super::openapi::soat::SoatForbidden),
        (status = 404, response = super::openapi::soat::SoatNotFound),
        (status = 503, response = super::openapi::soat::SoatUnavailable),
    )
)]
pub async fn scrape(
    state: web::Data<AppState>,
    operator: Result<Operator, SoatError>,
) -> Result<HttpResponse, SoatError> {
    if state.metrics_listener {
        return Err(SoatError::NotFound("Not found"));
    }
    read(&state, operator?.into_caller()).await
}

/// `GET /metrics` on the dedicated listener: whoever can reach it is the operator.
pub async fn scrape_listener(state: web::Data<AppState>) -> Result<HttpResponse, SoatError> {
    read(&state, TenantCaller::Operator).await
}

async fn read(state: &AppState, by: TenantCaller) -> Result<HttpResponse, SoatError> {
    let text = ask(&state.domain.sessions, ReadMetrics { by }).await.map_err(SoatError::or_missing("Not found"))?;
    Ok(HttpResponse::Ok().content_type(tessera_actors::metrics::CONTENT_TYPE).body(text))
}
