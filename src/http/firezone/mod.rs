//! The Firezone legacy dialect (`/v0`): wrapped bodies (`{"user": …}` in, `{"data": …}` out),
//! hyphenated UUIDs, microsecond timestamps and Firezone's exact error bodies.

pub(super) mod configuration;
mod error;
pub(super) mod render;
pub(super) mod users;

use crate::http::routes::resource;
use actix_web::web;

pub use error::FirezoneError;

/// Registers the Firezone routes inside a `/v0` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/users").get(users::list).post(users::create))
        .service(resource("/users/{id}").get(users::get).patch(users::update).put(users::update).delete(users::delete))
        .service(
            resource("/configuration").get(configuration::get).patch(configuration::update).put(configuration::update),
        )
        .default_service(web::to(|| async { FirezoneError::NotFound }));
}
