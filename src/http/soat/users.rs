//! `/api/v1/users…`: bootstrap, login, me, list, create, get, delete.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use tessera_actors::model::NewUser;
use tessera_actors::session_actor::{LoginChannel, PasswordLogin, LOCAL_AUTH_DISABLED};
use tessera_actors::user_actor::{BootstrapUser, CreateUser, DeleteUser, GetUser, ListUsers, PasswordCheck, UserRef};
use tessera_actors::validate::PasswordRules;
use tessera_actors::{DomainError, FieldErrors, Role};

use super::fields::Fields;
use super::render::{role, UserRecord};
use super::SoatError;
use crate::http::caller::Caller;
use crate::http::path_id::PathId;
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};
use tessera_actors::model::Kind;

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
pub async fn bootstrap(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let (_, username, password) = credentials(&bytes)?;
    let user =
        NewUser { username, email: None, role: Role::Admin, password: Some(password), password_confirmation: None };
    let created = ask(&state.domain.users, BootstrapUser { tenant, user, check: CHECK })
        .await
        .map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    Ok(HttpResponse::Created().json(UserRecord::from(&created)))
}

/// `POST /users/login`: a JWT for the user's new session.
pub async fn login(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    bytes: web::Bytes,
) -> Result<HttpResponse, SoatError> {
    let (_, username, password) = credentials(&bytes)?;
    let client = state.client_address.of(&req);
    let login = PasswordLogin { tenant, username, password, channel: LoginChannel::Api, client };
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
pub async fn me(Caller(caller): Caller) -> Result<HttpResponse, SoatError> {
    let user = caller?.user;
    Ok(HttpResponse::Ok()
        .json(json!({"id": Kind::User.public_id(user.id), "username": user.username, "role": role(user.role)})))
}

/// `GET /users`
pub async fn list(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
) -> Result<HttpResponse, SoatError> {
    let users = ask(&state.domain.users, ListUsers { tenant, by: caller? })
        .await
        .map_err(SoatError::or_missing(USER_NOT_FOUND))?;
    Ok(HttpResponse::Ok().json(users.iter().map(UserRecord::from).collect::<Vec<_>>()))
}

/// `POST /users`: role defaults to `user`.
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
