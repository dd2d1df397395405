//! The stylesheet and the script of the pages, compiled into the binary and served by Tessera
//! itself, so the Content-Security-Policy can allow `'self'` and nothing else.

use actix_web::{web, HttpResponse};

use super::routes::resource;

const STYLESHEET: &str = include_str!("assets/tessera.css");
const SCRIPT: &str = include_str!("assets/tessera.js");

/// Registers `/assets/…` (inside the tenant scope and at the root).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/assets/tessera.css").get(stylesheet)).service(resource("/assets/tessera.js").get(script));
}

fn asset(content_type: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

/// `GET /assets/tessera.css`
#[utoipa::path(get, path = "/assets/tessera.css", operation_id = "stylesheet", tag = "sign-in", security(()),
    responses((status = 200, description = "The pages' stylesheet.", content_type = "text/css", body = String)))]
pub async fn stylesheet() -> HttpResponse {
    asset("text/css; charset=utf-8", STYLESHEET)
}

/// `GET /assets/tessera.js`: progressive enhancement only (copy buttons, confirmations);
/// every page works without it.
#[utoipa::path(get, path = "/assets/tessera.js", operation_id = "script", tag = "sign-in", security(()),
    responses((status = 200, description = "The pages' script.", content_type = "text/javascript", body = String)))]
pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", SCRIPT)
}
