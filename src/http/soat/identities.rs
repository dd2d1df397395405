//! `/api/v1/users/{user_id}/identities…`: an administrator links an upstream identity (OIDC or
//! SAML) to an account deliberately, or removes a link. Not part of SOAT itself.

use actix_web::{web, HttpRequest, HttpResponse};
use tessera_actors::model::{IdentityKey, Kind};
use tessera_actors::provisioning_actor::ProviderIssuer;
use tessera_actors::user_actor::{LinkUserIdentity, ListUserIdentities, UnlinkUserIdentity};
use uuid::Uuid;

use super::fields::Fields;
use super::render::IdentityRecord;
use super::SoatError;
use crate::http::caller::Caller;
use crate::http::openapi::soat as doc;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

const USER_NOT_FOUND: &str = "User not found";
const IDENTITY_NOT_FOUND: &str = "Identity not found";
/// Longest accepted subject (SAML NameIDs and OIDC `sub` are far shorter in practice).
const MAX_SUBJECT_BYTES: usize = 1024;

fn user_id(req: &HttpRequest) -> Result<Uuid, SoatError> {
    req.match_info().get("user_id").and_then(|id| Kind::User.parse(id)).ok_or(SoatError::NotFound(USER_NOT_FOUND))
}

/// `GET /users/{user_id}/identities`
#[utoipa::path(
    get,
    path = "/api/v1/users/{user_id}/identities",
    operation_id = "soat_list_user_identities",
    tag = "soat",
    params(("user_id" = String, Path, description = "The user's id, `usr_` and 32 hex digits.")),
    responses(
        (status = 200, description = "The user's linked identities.", body = Vec<IdentityRecord>),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let user = user_id(&req)?;
    let links = ask(&state.domain.users, ListUserIdentities { tenant, by, user })
        .await
        .map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(links.iter().map(IdentityRecord::from).collect::<Vec<_>>()))
}

/// `POST /users/{user_id}/identities` with `{"provider": "<provider id>", "subject": "…"}`.
#[utoipa::path(
    post,
    path = "/api/v1/users/{user_id}/identities",
    operation_id = "soat_link_user_identity",
    tag = "soat",
    params(("user_id" = String, Path, description = "The user's id, `usr_` and 32 hex digits.")),
    request_body = doc::LinkIdentityBody,
    responses(
        (status = 201, description = "Linked.", body = IdentityRecord),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 409, response = doc::SoatConflict),
        (status = 413, response = doc::SoatPayloadTooLarge),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn link(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let fields = Fields::parse(&bytes)?;
    let provider = fields.required_string("provider")?;
    let subject = fields.required_string("subject")?;
    if subject.trim().is_empty() || subject.len() > MAX_SUBJECT_BYTES {
        return Err(SoatError::BadRequest(format!("subject: must be 1 to {MAX_SUBJECT_BYTES} bytes")));
    }
    let user = user_id(&req)?;
    let issuer = ask(&state.domain.provisioning, ProviderIssuer { tenant: tenant.clone(), provider: provider.clone() })
        .await
        .map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    let identity = IdentityKey { provider, issuer, subject };
    let link = ask(&state.domain.users, LinkUserIdentity { tenant, by, user, identity })
        .await
        .map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    Ok(HttpResponse::Created().json(IdentityRecord::from(&link)))
}

/// `DELETE /users/{user_id}/identities/{identity_id}`
#[utoipa::path(
    delete,
    path = "/api/v1/users/{user_id}/identities/{identity_id}",
    operation_id = "soat_unlink_user_identity",
    tag = "soat",
    params(("user_id" = String, Path, description = "The user's id, `usr_` and 32 hex digits."), ("identity_id" = String, Path, description = "`idn_…`.")),
    responses(
        (status = 204, description = "Unlinked."),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn unlink(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let user = user_id(&req)?;
    let identity_id = req.match_info().get("identity_id").unwrap_or_default().to_owned();
    ask(&state.domain.users, UnlinkUserIdentity { tenant, by, user, identity_id }).await.map_err(
        |error| match error {
            tessera_actors::DomainError::NotFound => SoatError::NotFound(IDENTITY_NOT_FOUND),
            other => SoatError::from_domain(other, USER_NOT_FOUND),
        },
    )?;
    Ok(HttpResponse::NoContent().finish())
}
