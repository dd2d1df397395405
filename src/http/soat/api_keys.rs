//! `/api/v1/api-keys…`: `sk_…` keys; the raw key appears only in the creation response.

use actix_web::{web, HttpResponse};
use tessera_actors::model::Kind;
use tessera_actors::user_actor::{CreateApiKey, DeleteApiKey, GetApiKey, ListApiKeys, UpdateApiKey};
use uuid::Uuid;

use super::fields::Fields;
use super::render::ApiKeyRecord;
use super::SoatError;
use crate::http::caller::Caller;
use crate::http::path_id::PathId;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

const KEY_NOT_FOUND: &str = "API key not found";

fn key_id(path: &str) -> Result<Uuid, SoatError> {
    Kind::ApiKey.parse(path).ok_or(SoatError::NotFound(KEY_NOT_FOUND))
}

/// `GET /api-keys`
pub async fn list(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
) -> Result<HttpResponse, SoatError> {
    let keys = ask(&state.domain.users, ListApiKeys { tenant, by: caller? })
        .await
        .map_err(SoatError::or_missing(KEY_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(keys.iter().map(|key| ApiKeyRecord::new(key, None)).collect::<Vec<_>>()))
}

/// `POST /api-keys {name, policy_ids?, expires_in_days?}`: the key belongs to the caller.
pub async fn create(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let fields = Fields::parse(&bytes)?;
    let message = CreateApiKey {
        tenant,
        by,
        name: fields.string("name")?,
        policy_ids: fields.ids("policy_ids", Kind::Policy, false)?.unwrap_or_default(),
        expires_in_days: fields.integer("expires_in_days")?,
    };
    let issued = ask(&state.domain.users, message).await.map_err(SoatError::or_missing(KEY_NOT_FOUND))?;
    Ok(HttpResponse::Created().json(ApiKeyRecord::new(&issued.key, Some(&issued.raw))))
}

/// `GET /api-keys/{api_key_id}`
pub async fn get(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let key = ask(&state.domain.users, GetApiKey { tenant, by, id: key_id(&path)? })
        .await
        .map_err(SoatError::or_missing(KEY_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(ApiKeyRecord::new(&key, None)))
}

/// `PUT /api-keys/{api_key_id} {name?, policy_ids?}`
pub async fn update(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let id = key_id(&path)?;
    let fields = Fields::parse(&bytes)?;
    let message = UpdateApiKey {
        tenant,
        by,
        id,
        name: fields.string("name")?,
        policy_ids: fields.ids("policy_ids", Kind::Policy, false)?,
    };
    let key = ask(&state.domain.users, message).await.map_err(SoatError::or_missing(KEY_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(ApiKeyRecord::new(&key, None)))
}

/// `DELETE /api-keys/{api_key_id}`: the key stops working at once.
pub async fn delete(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    ask(&state.domain.users, DeleteApiKey { tenant, by, id: key_id(&path)? })
        .await
        .map_err(SoatError::or_missing(KEY_NOT_FOUND))?;
    Ok(HttpResponse::NoContent().finish())
}
