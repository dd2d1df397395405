//! `/api/v1/api-keys…`: `sk_…` keys; the raw key appears only in the creation response.

use actix_web::{web, HttpRequest, HttpResponse};
use tessera_actors::model::Kind;
use tessera_actors::user_actor::{CreateApiKey, DeleteApiKey, GetApiKey, ListApiKeys, UpdateApiKey};
use uuid::Uuid;

use super::fields::Fields;
use super::page::ListPage;
use super::render::ApiKeyRecord;
use super::SoatError;
use crate::http::caller::Caller;
use crate::http::openapi::soat as doc;
use crate::http::path_id::PathId;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

const KEY_NOT_FOUND: &str = "API key not found";

fn key_id(path: &str) -> Result<Uuid, SoatError> {
    Kind::ApiKey.parse(path).ok_or(SoatError::NotFound(KEY_NOT_FOUND))
}

/// `GET /api-keys`
#[utoipa::path(
    get,
    path = "/api/v1/api-keys",
    operation_id = "soat_list_api_keys",
    tag = "soat",
    params(doc::ListPageQuery),
    responses(
        (status = 200, description = "Every key of the tenant (`api-keys:ListApiKeys`), else the caller's own, in creation order; or the page `limit`/`offset` name.", body = Vec<ApiKeyRecord>),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
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
    let span = ListPage::parse(req.query_string())?;
    let keys = ask(&state.domain.users, ListApiKeys { tenant, by, span })
        .await
        .map_err(SoatError::or_missing(KEY_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(keys.iter().map(|key| ApiKeyRecord::new(key, None)).collect::<Vec<_>>()))
}

/// `POST /api-keys {name, policy_ids?, expires_in_days?}`: the key belongs to the caller.
#[utoipa::path(
    post,
    path = "/api/v1/api-keys",
    operation_id = "soat_create_api_key",
    tag = "soat",
    request_body = doc::CreateApiKeyBody,
    responses(
        (status = 201, description = "The new key, with `key` shown this once.", body = ApiKeyRecord),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 409, response = doc::SoatConflict),
        (status = 413, response = doc::SoatPayloadTooLarge),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
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
#[utoipa::path(
    get,
    path = "/api/v1/api-keys/{api_key_id}",
    operation_id = "soat_get_api_key",
    tag = "soat",
    params(("api_key_id" = String, Path, description = "`key_` and 32 hex digits.")),
    responses(
        (status = 200, description = "The key (without `key`).", body = ApiKeyRecord),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
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
#[utoipa::path(
    put,
    path = "/api/v1/api-keys/{api_key_id}",
    operation_id = "soat_update_api_key",
    tag = "soat",
    params(("api_key_id" = String, Path, description = "`key_` and 32 hex digits.")),
    request_body = doc::UpdateApiKeyBody,
    responses(
        (status = 200, description = "The key as changed.", body = ApiKeyRecord),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 413, response = doc::SoatPayloadTooLarge),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
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
#[utoipa::path(
    delete,
    path = "/api/v1/api-keys/{api_key_id}",
    operation_id = "soat_delete_api_key",
    tag = "soat",
    params(("api_key_id" = String, Path, description = "`key_` and 32 hex digits.")),
    responses(
        (status = 204, description = "Deleted: it stops working at once."),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
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
