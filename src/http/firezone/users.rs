//! `/v0/users`: list, create, get, update (PATCH = PUT), delete; `{id}` is a UUID or an email.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Map, Value};
use tessera_actors::model::{NewUser, UserChanges};
use tessera_actors::user_actor::{CreateUser, DeleteUser, GetUser, PasswordCheck, UpdateUser, UserRef};
use tessera_actors::validate::PasswordRules;
use tessera_actors::{FieldErrors, Role};

use super::render::UserJson;
use super::FirezoneError;
use crate::http::body::parse_json;
use crate::http::caller::Caller;
use crate::http::ids::parse_firezone_uuid;
use crate::http::openapi::firezone as doc;
use crate::http::path_id::PathId;
use crate::http::stream::{self, Envelope};
use crate::http::tenant::Tenant;
use crate::http::{ask, AppState};

const CHECK: PasswordCheck = PasswordCheck { rules: PasswordRules::FIREZONE, confirmation_required: true };

/// The `user` object of a request, with type errors collected per field.
#[derive(Default)]
struct UserParams {
    email: Option<String>,
    password: Option<String>,
    password_confirmation: Option<String>,
    role: Option<Role>,
    errors: FieldErrors,
}

impl UserParams {
    /// Unwraps `{"user": {…}}`; a missing or non-object wrapper is Firezone's 400.
    fn parse(bytes: &[u8]) -> Result<Self, FirezoneError> {
        let value: Value = parse_json(bytes).map_err(|_| FirezoneError::BadRequest("Bad Request".into()))?;
        let Some(Value::Object(user)) = value.get("user") else {
            return Err(FirezoneError::BadRequest("Bad Request".into()));
        };
        let mut params = UserParams::default();
        params.email = params.string(user, "email", true);
        params.password = params.string(user, "password", false);
        params.password_confirmation = params.string(user, "password_confirmation", true);
        params.role = match user.get("role") {
            None | Some(Value::Null) => None,
            Some(Value::String(role)) if role == "admin" => Some(Role::Admin),
            Some(Value::String(role)) if role == "unprivileged" => Some(Role::Unprivileged),
            Some(_) => {
                params.invalid("role");
                None
            }
        };
        Ok(params)
    }

    /// A string field; `null` reads as `""` when `null_is_empty` (so it is blank, not absent).
    fn string(&mut self, user: &Map<String, Value>, key: &str, null_is_empty: bool) -> Option<String> {
        match user.get(key) {
            None => None,
            Some(Value::Null) => null_is_empty.then(String::new),
            Some(Value::String(value)) => Some(value.clone()),
            Some(_) => {
                self.invalid(key);
                None
            }
        }
    }

    fn invalid(&mut self, key: &str) {
        self.errors.entry(key.to_owned()).or_default().push("is invalid".to_owned());
    }
}

fn user_ref(id: &str) -> UserRef {
    match parse_firezone_uuid(id) {
        Some(uuid) => UserRef::Id(uuid),
        None => UserRef::Email(id.to_owned()),
    }
}

/// Firezone's list envelope.
const DATA: Envelope = Envelope { open: r#"{"data":["#, close: "]}" };

fn data(user: &tessera_actors::User) -> Value {
    json!({"data": UserJson::from(user)})
}

/// `GET /v0/users`
#[utoipa::path(
    get,
    path = "/v0/users",
    operation_id = "firezone_list_users",
    tag = "firezone",
    responses(
        (status = 200, description = "Every user of the tenant.", body = doc::FirezoneUserList),
        (status = 401, response = doc::FirezoneUnauthorized),
        (status = 503, response = doc::FirezoneUnavailable),
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
) -> Result<HttpResponse, FirezoneError> {
    Ok(stream::users(&state, tenant, caller?, DATA, |user| UserJson::from(user)).await?)
}

/// `POST /v0/users`: 201 with `Location`; role defaults to unprivileged.
#[utoipa::path(
    post,
    path = "/v0/users",
    operation_id = "firezone_create_user",
    tag = "firezone",
    request_body = doc::FirezoneCreateUserBody,
    responses(
        (status = 201, description = "The new user.", body = doc::FirezoneUserData, headers(("Location" = String, description = "The user's URL."))),
        (status = 400, response = doc::FirezoneBadRequest),
        (status = 401, response = doc::FirezoneUnauthorized),
        (status = 413, response = doc::FirezonePayloadTooLarge),
        (status = 422, response = doc::FirezoneUnprocessable),
        (status = 503, response = doc::FirezoneUnavailable),
    )
)]
pub async fn create(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    bytes: web::Bytes,
) -> Result<HttpResponse, FirezoneError> {
    let by = caller?;
    let params = UserParams::parse(&bytes)?;
    let email = params.email.unwrap_or_default();
    let user = NewUser {
        username: email.clone(),
        email: Some(email),
        role: params.role.unwrap_or(Role::Unprivileged),
        password: params.password,
        password_confirmation: params.password_confirmation,
    };
    let message = CreateUser { tenant, by, user, check: CHECK, parse_errors: params.errors };
    let created = ask(&state.domain.users, message).await?;
    let location = format!("{}/{}", req.path().trim_end_matches('/'), created.id);
    Ok(HttpResponse::Created().insert_header((header::LOCATION, location)).json(data(&created)))
}

/// `GET /v0/users/{id_or_email}`
#[utoipa::path(
    get,
    path = "/v0/users/{id}",
    operation_id = "firezone_get_user",
    tag = "firezone",
    params(("id" = String, Path, description = "The user's UUID, or its email.")),
    responses(
        (status = 200, description = "The user.", body = doc::FirezoneUserData),
        (status = 401, response = doc::FirezoneUnauthorized),
        (status = 404, response = doc::FirezoneNotFound),
        (status = 503, response = doc::FirezoneUnavailable),
    )
)]
pub async fn get(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
) -> Result<HttpResponse, FirezoneError> {
    let user = ask(&state.domain.users, GetUser { tenant, by: caller?, user: user_ref(&path) }).await?;
    Ok(HttpResponse::Ok().json(data(&user)))
}

/// `PATCH`/`PUT /v0/users/{id_or_email}`: partial update of the keys sent.
#[utoipa::path(
    method(patch, put),
    path = "/v0/users/{id}",
    operation_id = "firezone_update_user",
    tag = "firezone",
    params(("id" = String, Path, description = "The user's UUID, or its email.")),
    request_body = doc::FirezoneUpdateUserBody,
    description = "Changes the keys sent (PATCH and PUT are the same). An admin's role or password, and any role, need the admin role; a demotion never leaves the tenant without an admin.",
    responses(
        (status = 200, description = "The user as changed.", body = doc::FirezoneUserData),
        (status = 400, response = doc::FirezoneBadRequest),
        (status = 401, response = doc::FirezoneUnauthorized),
        (status = 404, response = doc::FirezoneNotFound),
        (status = 413, response = doc::FirezonePayloadTooLarge),
        (status = 422, response = doc::FirezoneUnprocessable),
        (status = 503, response = doc::FirezoneUnavailable),
    )
)]
pub async fn update(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
    bytes: web::Bytes,
) -> Result<HttpResponse, FirezoneError> {
    let by = caller?;
    let params = UserParams::parse(&bytes)?;
    let changes = UserChanges {
        email: params.email,
        password: params.password,
        password_confirmation: params.password_confirmation,
        role: params.role,
        disabled: None,
    };
    let message = UpdateUser { tenant, by, user: user_ref(&path), changes, check: CHECK, parse_errors: params.errors };
    let user = ask(&state.domain.users, message).await?;
    Ok(HttpResponse::Ok().json(data(&user)))
}

/// `DELETE /v0/users/{id_or_email}`: 204; the last admin cannot be deleted.
#[utoipa::path(
    delete,
    path = "/v0/users/{id}",
    operation_id = "firezone_delete_user",
    tag = "firezone",
    params(("id" = String, Path, description = "The user's UUID, or its email.")),
    responses(
        (status = 204, description = "Deleted, with its sessions, keys and linked identities."),
        (status = 401, response = doc::FirezoneUnauthorized),
        (status = 404, response = doc::FirezoneNotFound),
        (status = 422, response = doc::FirezoneUnprocessable),
        (status = 503, response = doc::FirezoneUnavailable),
    )
)]
pub async fn delete(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
    path: PathId,
) -> Result<HttpResponse, FirezoneError> {
    ask(&state.domain.users, DeleteUser { tenant, by: caller?, user: user_ref(&path) }).await?;
    Ok(HttpResponse::NoContent().insert_header((header::CONTENT_TYPE, "application/json; charset=utf-8")).finish())
}
