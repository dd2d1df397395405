//! The SOAT dialect (`/api/v1`), wire-compatible with `@soat/sdk@0.7.0` and `@soat/cli@0.7.0`:
//! snake_case JSON, `usr_…` ids, `{"error": "…"}` bodies.

mod error;
mod render;
mod sessions;
mod users;

use actix_web::web;

pub use error::SoatError;

/// Registers the SOAT routes inside an `/api/v1` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users/bootstrap").route(web::post().to(users::bootstrap)))
        .service(web::resource("/users/login").route(web::post().to(users::login)))
        .service(web::resource("/users/me").route(web::get().to(users::me)))
        .service(web::resource("/users").route(web::get().to(users::list)).route(web::post().to(users::create)))
        .service(
            web::resource("/users/{user_id}").route(web::get().to(users::get)).route(web::delete().to(users::delete)),
        )
        .service(web::resource("/sessions").route(web::get().to(sessions::list)))
        .service(web::resource("/sessions/{session_id}").route(web::delete().to(sessions::revoke)))
        .default_service(web::to(|| async { SoatError::NotFound("Not found") }));
}
