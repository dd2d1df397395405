//! `/api/v1/policies…`, `/api/v1/users/{id}/policies` and `/api/v1/permissions`.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use tessera_actors::model::Kind;
use tessera_actors::policy::catalog;
use tessera_actors::user_actor::{
    CreatePolicy, DeletePolicy, GetPolicy, GetUserPolicies, ListPolicies, SetUserPolicies, UpdatePolicy,
};
use uuid::Uuid;

use super::fields::Fields;
use super::page::ListPage;
use super::precondition::IfMatch;
use super::render::{PolicyRecord, PolicySummary};
use super::SoatError;
use crate::http::caller::Caller;
use crate::http::openapi::soat as doc;
use crate::http::path_id::PathId;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

const POLICY_NOT_FOUND: &str = "Policy not found";
const USER_NOT_FOUND: &str = "User not found";

fn policy_id(path: &str) -> Result<Uuid, SoatError> {
    Kind::Policy.parse(path).ok_or(SoatError::NotFound(POLICY_NOT_FOUND))
}

/// `GET /permissions`: the action catalog.
#[utoipa::path(
    get,
    path = "/api/v1/permissions",
    operation_id = "soat_list_permissions",
    tag = "soat",
    responses(
        (status = 200, description = "The action catalog.", body = doc::PermissionsResponse),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn permissions(Caller(caller): Caller) -> Result<HttpResponse, SoatError> {
    caller?;
    let modules: serde_json::Map<String, serde_json::Value> = catalog::modules()
        .into_iter()
        .map(|module| (module.to_owned(), json!(catalog::operations(module).unwrap_or_default())))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"actions": catalog::all_actions(), "modules": modules})))
}

/// `GET /policies`
#[utoipa::path(
    get,
    path = "/api/v1/policies",
    operation_id = "soat_list_policies",
    tag = "soat",
    params(doc::ListPageQuery),
    responses(
        (status = 200, description = "Every policy of the tenant in creation order, or the page `limit`/`offset` name.", body = Vec<PolicyRecord>),
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
    let policies = ask(&state.domain.users, ListPolicies { tenant, by, span })
        .await
        .map_err(SoatError::or_missing(POLICY_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(policies.iter().map(PolicyRecord::from).collect::<Vec<_>>()))
}

/// `POST /policies`
#[utoipa::path(
    post,
    path = "/api/v1/policies",
    operation_id = "soat_create_policy",
    tag = "soat",
    request_body = doc::CreatePolicyBody,
    responses(
        (status = 201, description = "The new policy.", body = PolicyRecord),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
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
    let message = CreatePolicy {
        tenant,
        by,
        name: fields.string("name")?,
        description: fields.string("description")?,
        document: fields.value("document").cloned(),
    };
    let policy = ask(&state.domain.users, message).await.map_err(SoatError::or_missing(POLICY_NOT_FOUND))?;
    Ok(HttpResponse::Created().json(PolicyRecord::from(&policy)))
}

/// `GET /policies/{policy_id}`
#[utoipa::path(
    get,
    path = "/api/v1/policies/{policy_id}",
    operation_id = "soat_get_policy",
    tag = "soat",
    params(("policy_id" = String, Path, description = "`pol_` and 32 hex digits.")),
    responses(
        (status = 200, description = "The policy.", body = PolicyRecord),
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
    let id = policy_id(&path)?;
    let policy = ask(&state.domain.users, GetPolicy { tenant, by, id })
        .await
        .map_err(SoatError::or_missing(POLICY_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(PolicyRecord::from(&policy)))
}

/// `PUT /policies/{policy_id}`: validation before existence.
#[utoipa::path(
    put,
    path = "/api/v1/policies/{policy_id}",
    operation_id = "soat_update_policy",
    tag = "soat",
    params(("policy_id" = String, Path, description = "`pol_` and 32 hex digits.")),
    request_body = doc::UpdatePolicyBody,
    responses(
        (status = 200, description = "The policy as changed.", body = PolicyRecord),
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
    let fields = Fields::parse(&bytes)?;
    let message = UpdatePolicy {
        tenant,
        by,
        // An unparsable id names no policy; the message still validates first.
        id: Kind::Policy.parse(&path).unwrap_or_else(Uuid::nil),
        name: fields.string("name")?,
        description: fields.nullable_string("description")?,
        document: fields.value("document").cloned(),
    };
    let policy = ask(&state.domain.users, message).await.map_err(SoatError::or_missing(POLICY_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(PolicyRecord::from(&policy)))
}

/// `DELETE /policies/{policy_id}`
#[utoipa::path(
    delete,
    path = "/api/v1/policies/{policy_id}",
    operation_id = "soat_delete_policy",
    tag = "soat",
    params(("policy_id" = String, Path, description = "`pol_` and 32 hex digits.")),
    responses(
        (status = 204, description = "Deleted and detached everywhere."),
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
    let id = policy_id(&path)?;
    ask(&state.domain.users, DeletePolicy { tenant, by, id }).await.map_err(SoatError::or_missing(POLICY_NOT_FOUND))?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /users/{user_id}/policies`, with the list's `ETag`.
#[utoipa::path(
    get,
    path = "/api/v1/users/{user_id}/policies",
    operation_id = "soat_get_user_policies",
    tag = "soat",
    params(("user_id" = String, Path, description = "The user's id, `usr_` and 32 hex digits.")),
    responses(
        (status = 200, description = "The policies attached to the user.", body = Vec<PolicySummary>, headers(("ETag" = String, description = "The version, for `If-Match`."))),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn get_user_policies(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let user = Kind::User.parse(&path).ok_or(SoatError::NotFound(USER_NOT_FOUND))?;
    let (policies, version) = ask(&state.domain.users, GetUserPolicies { tenant, by, user })
        .await
        .map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    Ok(PolicySummary::list_response(&policies, version))
}

/// `PUT /users/{user_id}/policies`: replaces the whole list; with `If-Match` only the list at
/// that version (412 otherwise).
#[utoipa::path(
    put,
    path = "/api/v1/users/{user_id}/policies",
    operation_id = "soat_attach_user_policies",
    tag = "soat",
    params(("user_id" = String, Path, description = "The user's id, `usr_` and 32 hex digits."), ("If-Match" = Option<String>, Header, description = "An `ETag` of a `GET`: the write applies only to that version (412 otherwise).")),
    request_body = doc::PolicyIdsBody,
    responses(
        (status = 204, description = "The list is replaced."),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 412, response = doc::SoatPreconditionFailed),
        (status = 413, response = doc::SoatPayloadTooLarge),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn set_user_policies(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
    IfMatch(expected_version): IfMatch,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let fields = Fields::parse(&bytes)?;
    let user = Kind::User.parse(&path).ok_or(SoatError::NotFound(USER_NOT_FOUND))?;
    let policy_ids = fields.ids("policy_ids", Kind::Policy, true)?.unwrap_or_default();
    ask(&state.domain.users, SetUserPolicies { tenant, by, user, policy_ids, expected_version })
        .await
        .map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    Ok(HttpResponse::NoContent().finish())
}
