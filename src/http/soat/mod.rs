//! The SOAT dialect (`/api/v1`), wire-compatible with `@soat/sdk@0.7.0` and `@soat/cli@0.7.0`:
//! snake_case JSON, `usr_…` ids, `{"error": "…"}` bodies.

pub(super) mod api_keys;
mod audit;
mod error;
mod fields;
pub(super) mod groups;
pub(super) mod identities;
mod page;
pub(super) mod policies;
mod precondition;
mod render;
pub(super) mod sessions;
pub(super) mod tenants;
pub(super) mod users;

use crate::http::routes::resource;
use actix_web::web;

pub use error::SoatError;
pub use tenants::{Operator, TenantRecord};

/// Registers the SOAT routes inside an `/api/v1` scope.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/users/bootstrap").post(users::bootstrap))
        .service(resource("/users/login").post(users::login))
        .service(resource("/users/me").get(users::me))
        .service(resource("/users").get(users::list).post(users::create))
        .service(resource("/users/{user_id}").get(users::get).delete(users::delete))
        .service(
            resource("/users/{user_id}/policies").get(policies::get_user_policies).put(policies::set_user_policies),
        )
        .service(resource("/users/{user_id}/identities").get(identities::list).post(identities::link))
        .service(resource("/users/{user_id}/identities/{identity_id}").delete(identities::unlink))
        .service(resource("/permissions").get(policies::permissions))
        .service(resource("/policies").get(policies::list).post(policies::create))
        .service(resource("/policies/{policy_id}").get(policies::get).put(policies::update).delete(policies::delete))
        .service(resource("/groups").get(groups::list).post(groups::create))
        .service(resource("/groups/{group_id}").get(groups::get).put(groups::update).delete(groups::delete))
        .service(resource("/groups/{group_id}/policies").get(groups::get_policies).put(groups::set_policies))
        .service(resource("/audit-events").get(audit::list))
        .service(resource("/api-keys").get(api_keys::list).post(api_keys::create))
        .service(resource("/api-keys/{api_key_id}").get(api_keys::get).put(api_keys::update).delete(api_keys::delete))
        .service(resource("/tenants").get(tenants::list).post(tenants::create))
        .service(resource("/tenants/{tenant_id}").get(tenants::get).patch(tenants::update).delete(tenants::delete))
        .service(resource("/sessions").get(sessions::list))
        .service(resource("/sessions/{session_id}").delete(sessions::revoke))
        .default_service(web::to(|| async { SoatError::NotFound("Not found") }));
}
