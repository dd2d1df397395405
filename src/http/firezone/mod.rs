//! The Firezone legacy dialect (`/v0`): wrapped bodies (`{"user": …}` in, `{"data": …}` out),
//! hyphenated UUIDs, microsecond timestamps and Firezone's exact error bodies.

mod configuration;
mod error;
mod render;
mod users;

use actix_web::web;

pub use error::FirezoneError;

/// Registers the Firezone routes inside a `/v0` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users").route(web::get().to(users::list)).route(web::post().to(users::create)))
        .service(
            web::resource("/users/{id}")
                .route(web::get().to(users::get))
                .route(web::patch().to(users::update))
                .route(web::put().to(users::update))
                .route(web::delete().to(users::delete)),
        )
        .service(
            web::resource("/configuration")
                .route(web::get().to(configuration::get))
                .route(web::patch().to(configuration::update))
                .route(web::put().to(configuration::update)),
        )
        .default_service(web::to(|| async { FirezoneError::NotFound }));
}
