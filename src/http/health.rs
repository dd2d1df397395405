//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can serve — the
//! store answers with this binary's schema and the password hasher takes work).

use actix_web::{web, HttpResponse};

use super::AppState;

/// How long each readiness check may take before it counts as failed.
const READY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /readyz`: 200 when ready, else 503 listing what is not (no tenant data, no secrets).
#[utoipa::path(
    get,
    path = "/readyz",
    operation_id = "readyz",
    tag = "operations",
    security(()),
    responses(
        (status = 200, description = "Ready: the store answers with this binary's schema version and the password \
            hasher takes work, each within 2 s (`{\"status\": \"ready\"}`).", body = super::openapi::pages::HealthStatus),
        (status = 503, description = "Not ready, with what is not.", body = super::openapi::pages::NotReady,
            headers(("Retry-After" = String, description = "Seconds to wait before retrying."))),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let problems = state.domain.readiness(READY_DEADLINE).await;
    if problems.is_empty() {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready"}))
    } else {
        tracing::warn!(?problems, "not ready");
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(serde_json::json!({"status": "unavailable", "problems": problems}))
    }
}

/// `GET /healthz`: the process serves requests (liveness).
#[utoipa::path(
    get,
    path = "/healthz",
    operation_id = "healthz",
    tag = "operations",
    security(()),
    responses((status = 200, description = "Alive (`{\"status\": \"ok\"}`).", body = super::openapi::pages::HealthStatus))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}
