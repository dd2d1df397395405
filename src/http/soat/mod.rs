//! The SOAT dialect (`/api/v1`), wire-compatible with `@soat/sdk@0.7.0` and `@soat/cli@0.7.0`:
//! snake_case JSON, `usr_…` ids, `{"error": "…"}` bodies.

mod api_keys;
mod error;
mod fields;
mod groups;
mod identities;
mod policies;
mod render;
mod sessions;
mod tenants;
mod users;

use actix_web::web;

pub use error::SoatError;
pub use tenants::TenantRecord;

/// Registers the SOAT routes inside an `/api/v1` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/users/bootstrap").route(web::post().to(users::bootstrap)))
        .service(web::resource("/users/login").route(web::post().to(users::login)))
        .service(web::resource("/users/me").route(web::get().to(users::me)))
        .service(web::resource("/users").route(web::get().to(users::list)).route(web::post().to(users::create)))
        .service(
            web::resource("/users/{user_id}").route(web::get().to(users::get)).route(web::delete().to(users::delete)),
        )
        .service(
            web::resource("/users/{user_id}/policies")
                .route(web::get().to(policies::get_user_policies))
                .route(web::put().to(policies::set_user_policies)),
        )
        .service(
            web::resource("/users/{user_id}/identities")
                .route(web::get().to(identities::list))
                .route(web::post().to(identities::link)),
        )
        .service(web::resource("/users/{user_id}/identities/{identity_id}").route(web::delete().to(identities::unlink)))
        .service(web::resource("/permissions").route(web::get().to(policies::permissions)))
        .service(
            web::resource("/policies").route(web::get().to(policies::list)).route(web::post().to(policies::create)),
        )
        .service(
            web::resource("/policies/{policy_id}")
                .route(web::get().to(policies::get))
                .route(web::put().to(policies::update))
                .route(web::delete().to(policies::delete)),
        )
        .service(web::resource("/groups").route(web::get().to(groups::list)).route(web::post().to(groups::create)))
        .service(
            web::resource("/groups/{group_id}")
                .route(web::get().to(groups::get))
                .route(web::put().to(groups::update))
                .route(web::delete().to(groups::delete)),
        )
        .service(
            web::resource("/groups/{group_id}/policies")
                .route(web::get().to(groups::get_policies))
                .route(web::put().to(groups::set_policies)),
        )
        .service(
            web::resource("/api-keys").route(web::get().to(api_keys::list)).route(web::post().to(api_keys::create)),
        )
        .service(
            web::resource("/api-keys/{api_key_id}")
                .route(web::get().to(api_keys::get))
                .route(web::put().to(api_keys::update))
                .route(web::delete().to(api_keys::delete)),
        )
        .service(web::resource("/tenants").route(web::get().to(tenants::list)).route(web::post().to(tenants::create)))
        .service(
            web::resource("/tenants/{tenant_id}")
                .route(web::get().to(tenants::get))
                .route(web::patch().to(tenants::update))
                .route(web::delete().to(tenants::delete)),
        )
        .service(web::resource("/sessions").route(web::get().to(sessions::list)))
        .service(web::resource("/sessions/{session_id}").route(web::delete().to(sessions::revoke)))
        .default_service(web::to(|| async { SoatError::NotFound("Not found") }));
}
