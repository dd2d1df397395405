//! `/api/v1/users…`: bootstrap, login, me, list, create, get, delete.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use tessera_actors::model::NewUser;
use tessera_actors::session_actor::{LoginChannel, PasswordLogin, LOCAL_AUTH_DISABLED};
use tessera_actors::user_actor::{
    BootstrapUser, CreateUser, DeleteUser, GetUser, PasswordCheck, SearchUsers, UserOrder, UserRef,
};
use tessera_actors::validate::PasswordRules;
use tessera_actors::{DomainError, FieldErrors, Role};

use super::fields::Fields;
use super::page::ListPage;
use super::render::{role, UserRecord};
use super::SoatError;
use crate::http::caller::Caller;
use crate::http::openapi::soat as doc;
use crate::http::path_id::PathId;
use crate::http::stream;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};
use tessera_actors::model::Kind;
use tessera_actors::store::Span;

const CHECK: PasswordCheck = PasswordCheck { rules: PasswordRules::SOAT, confirmation_required: false };
const USER_NOT_FOUND: &str = "User not found";

/// `{username, password}` from a JSON object body.
fn credentials(bytes: &[u8]) -> Result<(Fields, String, String), SoatError> {
    let fields = Fields::parse(bytes)?;
    let username = fields.required_string("username")?;
    let password = fields.required_string("password")?;
    Ok((fields, username, password))
}

/// `POST /users/bootstrap`: the first user, as admin; 409 once any user exists.
#[utoipa::path(
    post,
    path = "/api/v1/users/bootstrap",
    operation_id = "soat_bootstrap_user",
    tag = "soat",
    security(()),
    request_body = doc::Credentials,
    responses(
        (status = 201, description = "The first user, an admin.", body = UserRecord),
        (status = 400, response = doc::SoatBadRequest),
        (status = 409, response = doc::SoatConflict),
        (status = 413, response = doc::SoatPayloadTooLarge),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn bootstrap(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let (_, username, password) = credentials(&bytes)?;
    let user =
        NewUser { username, email: None, role: Role::Admin, password: Some(password), password_confirmation: None };
    let created = ask(&state.domain.users, BootstrapUser { tenant, user, check: CHECK, origin: state.origin(&req) })
        .await
        .map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    Ok(HttpResponse::Created().json(UserRecord::from(&created)))
}

/// `POST /users/login`: a JWT for the user's new session.
#[utoipa::path(
    post,
    path = "/api/v1/users/login",
    operation_id = "soat_login_user",
    tag = "soat",
    security(()),
    request_body = doc::Credentials,
    description = "Password sign-in. 404 `Local auth disabled` when the tenant turned password sign-in off (admins keep it as a break-glass login); 429 after too many failures for the username or from the address; 503 when too many sign-ins are being checked.",
    responses(
        (status = 200, description = "Signed in: a new session and its token.", body = doc::LoginResponse),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 404, response = doc::SoatNotFound),
        (status = 413, response = doc::SoatPayloadTooLarge),
        (status = 429, response = doc::SoatTooManyRequests),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let (_, username, password) = credentials(&bytes)?;
    let origin = state.origin(&req);
    let login = PasswordLogin { tenant, username, password, channel: LoginChannel::Api, origin };
    let signed_in = match ask(&state.domain.sessions, login).await {
        Ok(signed_in) => signed_in,
        Err(DomainError::SignInRefused(_)) => return Err(SoatError::NotFound(LOCAL_AUTH_DISABLED)),
        Err(error) => return Err(SoatError::from_domain(error, USER_NOT_FOUND)),
    };
    Ok(HttpResponse::Ok().json(json!({
        "id": Kind::User.public_id(signed_in.user.id),
        "username": signed_in.user.username,
        "role": role(signed_in.user.role),
        "token": signed_in.token,
    })))
}

/// `GET /users/me`
#[utoipa::path(
    get,
    path = "/api/v1/users/me",
    operation_id = "soat_get_me",
    tag = "soat",
    responses(
        (status = 200, description = "The caller.", body = doc::MeResponse),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 503, response = doc::SoatUnavailable),
    )
)]
pub async fn me(Caller(caller): Caller) -> Result<HttpResponse, SoatError> {
    let user = caller?.user;
    Ok(HttpResponse::Ok()
        .json(json!({"id": Kind::User.public_id(user.id), "username": user.username, "role": role(user.role)})))
}

/// `GET /users[?limit&offset]`
#[utoipa::path(
    get,
    path = "/api/v1/users",
    operation_id = "soat_list_users",
    tag = "soat",
    params(doc::ListPageQuery),
    responses(
        (status = 200, description = "Every user of the tenant in creation order, or the page `limit`/`offset` name.", body = Vec<UserRecord>),
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
    let Some(Span { limit, offset }) = ListPage::parse(req.query_string())? else {
        return stream::users(&state, tenant, by, stream::ARRAY, |user| UserRecord::from(user))
            .await
            .map_err(SoatError::or_missing(USER_NOT_FOUND));
    };
    let search = SearchUsers { tenant, by, text: None, order: UserOrder::Created, descending: false, offset, limit };
    let page = ask(&state.domain.users, search).await.map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(page.users.iter().map(UserRecord::from).collect::<Vec<_>>()))
}

/// `POST /users`: role defaults to `user`.
#[utoipa::path(
    post,
    path = "/api/v1/users",
    operation_id = "soat_create_user",
    tag = "soat",
    request_body = doc::CreateUserBody,
    responses(
        (status = 201, description = "The new user.", body = UserRecord),
        (status = 400, response = doc::SoatBadRequest),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
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
    let (fields, username, password) = credentials(&bytes)?;
    let role = match fields.string("role")?.as_deref() {
        None | Some("user") => Role::Unprivileged,
        Some("admin") => Role::Admin,
        Some(_) => return Err(SoatError::BadRequest("role: must be one of admin, user".into())),
    };
    let user = NewUser { username, email: None, role, password: Some(password), password_confirmation: None };
    let message = CreateUser { tenant, by, user, check: CHECK, parse_errors: FieldErrors::new() };
    let created = ask(&state.domain.users, message).await.map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    Ok(HttpResponse::Created().json(UserRecord::from(&created)))
}

/// `GET /users/{user_id}`
#[utoipa::path(
    get,
    path = "/api/v1/users/{user_id}",
    operation_id = "soat_get_user",
    tag = "soat",
    params(("user_id" = String, Path, description = "The user's id, `usr_` and 32 hex digits.")),
    responses(
        (status = 200, description = "The user.", body = UserRecord),
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
    let user = user_ref(&path)?;
    let found =
        ask(&state.domain.users, GetUser { tenant, by, user }).await.map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(UserRecord::from(&found)))
}

/// `DELETE /users/{user_id}`: the user's sessions and tokens go with it.
#[utoipa::path(
    delete,
    path = "/api/v1/users/{user_id}",
    operation_id = "soat_delete_user",
    tag = "soat",
    params(("user_id" = String, Path, description = "The user's id, `usr_` and 32 hex digits.")),
    responses(
        (status = 204, description = "Deleted, with its sessions, keys and linked identities."),
        (status = 401, response = doc::SoatUnauthorized),
        (status = 403, response = doc::SoatForbidden),
        (status = 404, response = doc::SoatNotFound),
        (status = 409, response = doc::SoatConflict),
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
    let user = user_ref(&path)?;
    ask(&state.domain.users, DeleteUser { tenant, by, user }).await.map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    Ok(HttpResponse::NoContent().finish())
}

fn user_ref(id: &str) -> Result<UserRef, SoatError> {
    Kind::User.parse(id).map(UserRef::Id).ok_or(SoatError::NotFound(USER_NOT_FOUND))
}
