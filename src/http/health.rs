//! Liveness (`/healthz`: the process answers) and readiness (`/readyz`: it can serve — the
//! store answers with this binary's schema and the password hasher takes work).

use actix_web::{web, HttpResponse};

use super::AppState;

/// How long each readiness check may take before it counts as failed.
const READY_DEADLINE: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /readyz`: 200 when ready, else 503 listing what is not (no tenant data, no secrets).
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

/// `GET /healthz`
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}
