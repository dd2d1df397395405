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
