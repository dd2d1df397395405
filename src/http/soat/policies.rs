//! `/api/v1/policies…`, `/api/v1/users/{id}/policies` and `/api/v1/permissions`.

use actix_web::{web, HttpResponse};
use serde_json::json;
use tessera_actors::model::Kind;
use tessera_actors::policy::catalog;
use tessera_actors::user_actor::{
    CreatePolicy, DeletePolicy, GetPolicy, GetUserPolicies, ListPolicies, SetUserPolicies, UpdatePolicy,
};
use uuid::Uuid;

use super::fields::Fields;
use super::precondition::IfMatch;
use super::render::{PolicyRecord, PolicySummary};
use super::SoatError;
use crate::http::caller::Caller;
use crate::http::path_id::PathId;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

const POLICY_NOT_FOUND: &str = "Policy not found";
const USER_NOT_FOUND: &str = "User not found";

fn policy_id(path: &str) -> Result<Uuid, SoatError> {
    Kind::Policy.parse(path).ok_or(SoatError::NotFound(POLICY_NOT_FOUND))
}

/// `GET /permissions`: the action catalog.
pub async fn permissions(Caller(caller): Caller) -> Result<HttpResponse, SoatError> {
    caller?;
    let modules: serde_json::Map<String, serde_json::Value> = catalog::modules()
        .into_iter()
        .map(|module| (module.to_owned(), json!(catalog::operations(module).unwrap_or_default())))
        .collect();
    Ok(HttpResponse::Ok().json(json!({"actions": catalog::all_actions(), "modules": modules})))
}

/// `GET /policies`
pub async fn list(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
) -> Result<HttpResponse, SoatError> {
    let policies = ask(&state.domain.users, ListPolicies { tenant, by: caller? })
        .await
        .map_err(SoatError::or_missing(POLICY_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(policies.iter().map(PolicyRecord::from).collect::<Vec<_>>()))
}

/// `POST /policies`
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
