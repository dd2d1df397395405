//! `/api/v1/groups…`: groups, their members and their policies.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use tessera_actors::model::Kind;
use tessera_actors::scim::etag;
use tessera_actors::store::GroupPatch;
use tessera_actors::user_actor::{
    CreateGroup, DeleteGroup, GetGroup, GetGroupPolicies, ListGroups, SetGroupPolicies, UpdateGroup,
};
use uuid::Uuid;

use super::fields::Fields;
use super::page::ListPage;
use super::precondition::IfMatch;
use super::render::{GroupRecord, PolicySummary};
use super::SoatError;
use crate::http::caller::Caller;
use crate::http::openapi::soat as doc;
use crate::http::path_id::PathId;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

const GROUP_NOT_FOUND: &str = "Group not found";

fn group_id(path: &str) -> Result<Uuid, SoatError> {
    Kind::Group.parse(path).ok_or(SoatError::NotFound(GROUP_NOT_FOUND))
}

/// `GET /groups`
#[utoipa::path(
    get,
    path = "/api/v1/groups",
    operation_id = "soat_list_groups",
    tag = "soat",
    params(doc::ListPageQuery),
    responses(
        (status = 200, description = "Every group of the tenant in creation order, or the page `limit`/`offset` name.", body = Vec<GroupRecord>),
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
    let groups = ask(&state.domain.users, ListGroups { tenant, by, span })
        .await
        .map_err(SoatError::or_missing(GROUP_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(groups.iter().map(GroupRecord::from).collect::<Vec<_>>()))
}

/// `POST /groups`
#[utoipa::path(
    post,
    path = "/api/v1/groups",
    operation_id = "soat_create_group",
    tag = "soat",
    request_body = doc::CreateGroupBody,
    responses(
        (status = 201, description = "The new group.", body = GroupRecord),
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
    let message = CreateGroup {
        tenant,
        by,
        name: fields.string("name")?,
        description: fields.string("description")?,
        members: fields.ids("member_ids", Kind::User, false)?.unwrap_or_default(),
    };
    let group = ask(&state.domain.users, message).await.map_err(SoatError::or_missing(GROUP_NOT_FOUND))?;
    Ok(HttpResponse::Created().json(GroupRecord::from(&group)))
}

/// `GET /groups/{group_id}`
#[utoipa::path(
    get,
    path = "/api/v1/groups/{group_id}",
    operation_id = "soat_get_group",
    tag = "soat",
    params(("group_id" = String, Path, description = "`grp_` and 32 hex digits.")),
    responses(
        (status = 200, description = "The group.", body = GroupRecord, headers(("ETag" = String, description = "The version, for `If-Match`."))),
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
    let group = ask(&state.domain.users, GetGroup { tenant, by, id: group_id(&path)? })
        .await
        .map_err(SoatError::or_missing(GROUP_NOT_FOUND))?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, etag(group.version))).json(GroupRecord::from(&group)))
}

/// `PUT /groups/{group_id}`: `member_ids` replaces the member list; `add_member_ids` and
/// `remove_member_ids` change only the members they name (safe against concurrent changes).
/// With `If-Match: <ETag of a GET>` a full replacement applies only to the version it was
/// computed from (412 otherwise), so two writers never silently overwrite each other.
#[utoipa::path(
    put,
    path = "/api/v1/groups/{group_id}",
    operation_id = "soat_update_group",
    tag = "soat",
    params(("group_id" = String, Path, description = "`grp_` and 32 hex digits."), ("If-Match" = Option<String>, Header, description = "An `ETag` of a `GET`: the write applies only to that version (412 otherwise).")),
    request_body = doc::UpdateGroupBody,
    responses(
        (status = 200, description = "The group as changed.", body = GroupRecord, headers(("ETag" = String, description = "The version, for `If-Match`."))),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 409, response = doc::SoatConflict),
        (status = 412, response = doc::SoatPreconditionFailed),
        (status = 413, response = doc::SoatPayloadTooLarge),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
    IfMatch(expected_version): IfMatch,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let id = group_id(&path)?;
    let fields = Fields::parse(&bytes)?;
    let patch = GroupPatch {
        name: fields.string("name")?,
        description: fields.nullable_string("description")?,
        members: fields.ids("member_ids", Kind::User, false)?,
        add_members: fields.ids("add_member_ids", Kind::User, false)?.unwrap_or_default(),
        remove_members: fields.ids("remove_member_ids", Kind::User, false)?.unwrap_or_default(),
        expected_version,
        ..GroupPatch::default()
    };
    let group = ask(&state.domain.users, UpdateGroup { tenant, by, id, patch })
        .await
        .map_err(SoatError::or_missing(GROUP_NOT_FOUND))?;
    Ok(HttpResponse::Ok().insert_header((header::ETAG, etag(group.version))).json(GroupRecord::from(&group)))
}

/// `DELETE /groups/{group_id}`
#[utoipa::path(
    delete,
    path = "/api/v1/groups/{group_id}",
    operation_id = "soat_delete_group",
    tag = "soat",
    params(("group_id" = String, Path, description = "`grp_` and 32 hex digits.")),
    responses(
        (status = 204, description = "Deleted."),
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
    ask(&state.domain.users, DeleteGroup { tenant, by, id: group_id(&path)? })
        .await
        .map_err(SoatError::or_missing(GROUP_NOT_FOUND))?;
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /groups/{group_id}/policies`, with the list's `ETag`.
#[utoipa::path(
    get,
    path = "/api/v1/groups/{group_id}/policies",
    operation_id = "soat_get_group_policies",
    tag = "soat",
    params(("group_id" = String, Path, description = "`grp_` and 32 hex digits.")),
    responses(
        (status = 200, description = "The policies attached to the group.", body = Vec<PolicySummary>, headers(("ETag" = String, description = "The version, for `If-Match`."))),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn get_policies(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let (policies, version) = ask(&state.domain.users, GetGroupPolicies { tenant, by, id: group_id(&path)? })
        .await
        .map_err(SoatError::or_missing(GROUP_NOT_FOUND))?;
    Ok(PolicySummary::list_response(&policies, version))
}

/// `PUT /groups/{group_id}/policies`: replaces the whole list; with `If-Match` only the list
/// at that version (412 otherwise).
#[utoipa::path(
    put,
    path = "/api/v1/groups/{group_id}/policies",
    operation_id = "soat_attach_group_policies",
    tag = "soat",
    params(("group_id" = String, Path, description = "`grp_` and 32 hex digits."), ("If-Match" = Option<String>, Header, description = "An `ETag` of a `GET`: the write applies only to that version (412 otherwise).")),
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
pub async fn set_policies(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
    IfMatch(expected_version): IfMatch,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let by = caller?;
    let id = group_id(&path)?;
    let policy_ids = Fields::parse(&bytes)?.ids("policy_ids", Kind::Policy, true)?.unwrap_or_default();
    ask(&state.domain.users, SetGroupPolicies { tenant, by, id, policy_ids, expected_version })
        .await
        .map_err(SoatError::or_missing(GROUP_NOT_FOUND))?;
    Ok(HttpResponse::NoContent().finish())
}
