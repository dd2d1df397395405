//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can serve — the
//! store answers with this binary's schema and the password hasher takes work).

use actix_web::http::{header, Method};
use actix_web::{web, HttpRequest, HttpResponse};

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
            hasher takes work, each within 2 s.", body = super::openapi::pages::Ready),
        (status = 503, description = "Not ready, with what is not.", body = super::openapi::pages::NotReady,
            headers(("Retry-After" = String, description = "Seconds to wait before retrying."))),
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let problems = state.domain.readiness(READY_DEADLINE).await;
    // Not a reason to stop serving: without the feed, cached credentials live a second at most.
    let cache = if state.domain.credential_changes_followed() { "live" } else { "ttl" };
    if problems.is_empty() {
        HttpResponse::Ok().json(serde_json::json!({"status": "ready", "credential_cache": cache}))
    } else {
        tracing::warn!(?problems, "not ready");
        HttpResponse::ServiceUnavailable()
            .insert_header(("Retry-After", "1"))
            .json(serde_json::json!({"status": "unavailable", "problems": problems, "credential_cache": cache}))
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

/// `/healthz` with another method: `HEAD` is answered as `GET` (liveness probes that only look
/// at the status), anything else is 405 naming what is allowed.
pub async fn healthz_other_methods(req: HttpRequest) -> HttpResponse {
    if req.method() == Method::HEAD {
        return healthz().await;
    }
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "GET, HEAD"))
        .json(serde_json::json!({"error": "Method not allowed"}))
}
