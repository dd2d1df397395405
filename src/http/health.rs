//! Liveness: answers once the server accepts requests.

use actix_web::HttpResponse;

/// `GET /healthz`
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}
