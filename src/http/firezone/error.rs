//! Firezone's error bodies, exactly as its clients match them.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use tessera_actors::{AuthFailure, Conflict, DomainError, FieldErrors};

/// An error as Firezone clients expect it.
#[derive(Debug, thiserror::Error)]
pub enum FirezoneError {
    /// 401 `{"errors":{"auth":"<reason>"}}`
    #[error("unauthenticated: {0}")]
    Auth(&'static str),
    /// 401 `{"error":"Unauthorized"}`: authenticated but not allowed.
    #[error("Unauthorized")]
    Unauthorized,
    /// 404 `{"error":"not_found"}`
    #[error("not_found")]
    NotFound,
    /// 400 `{"error":"Bad Request"}` (or a more precise message for unparsable JSON).
    #[error("{0}")]
    BadRequest(String),
    /// 422 `{"errors":{field:[messages]}}`
    #[error("unprocessable")]
    Unprocessable(FieldErrors),
    /// 422 with a structured error object (nested lists of providers).
    #[error("unprocessable")]
    UnprocessableDocument(serde_json::Value),
    /// 409 `{"errors":{"base":[message]}}`: the record changed under the request; read it and retry.
    #[error("conflict")]
    Conflict(&'static str),
    #[error("Service Unavailable")]
    Busy,
    #[error("Internal server error")]
    Internal,
}

impl FirezoneError {
    /// One field's 422.
    pub fn field(field: &str, message: &str) -> Self {
        FirezoneError::Unprocessable(FieldErrors::from([(field.to_owned(), vec![message.to_owned()])]))
    }
}

impl From<DomainError> for FirezoneError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound | DomainError::Missing(_) => FirezoneError::NotFound,
            DomainError::InvalidDocument(errors) => FirezoneError::UnprocessableDocument(errors),
            DomainError::InvalidPolicy(problems) => {
                FirezoneError::Unprocessable(FieldErrors::from([("document".to_owned(), problems)]))
            }
            DomainError::Invalid(fields) => FirezoneError::Unprocessable(fields),
            DomainError::Scim(problem) => {
                FirezoneError::Unprocessable(FieldErrors::from([("base".to_owned(), vec![problem.detail])]))
            }
            DomainError::Conflict(Conflict::EmailTaken | Conflict::UsernameTaken) => {
                FirezoneError::field("email", "has already been taken")
            }
            DomainError::Conflict(Conflict::LastAdmin) => FirezoneError::field("base", "can't delete the last admin"),
            DomainError::Conflict(Conflict::UsersExist) => FirezoneError::field("base", "users already exist"),
            DomainError::Conflict(Conflict::TooManyKeys) => FirezoneError::field("base", "too many API keys"),
            DomainError::Conflict(Conflict::GroupNameTaken) => FirezoneError::field("name", "has already been taken"),
            DomainError::Conflict(Conflict::AccountExists) => FirezoneError::field("email", "has already been taken"),
            DomainError::Conflict(Conflict::IdentityLinked) => {
                FirezoneError::field("identity", "is already linked to a user")
            }
            DomainError::Conflict(Conflict::TenantExists) => FirezoneError::field("id", "has already been taken"),
            DomainError::Conflict(Conflict::HostnameTaken) => {
                FirezoneError::field("hostnames", "has already been taken")
            }
            DomainError::Conflict(Conflict::Modified | Conflict::VersionMismatch) => {
                FirezoneError::Conflict("was modified concurrently, retry")
            }
            DomainError::Unauthenticated(failure) => failure.into(),
            DomainError::Forbidden | DomainError::SignInRefused(_) => FirezoneError::Unauthorized,
            // Firezone's API has no password sign-in; only a retry would help.
            DomainError::Busy | DomainError::Throttled(_) | DomainError::Overloaded(_) => FirezoneError::Busy,
            DomainError::Storage(message) | DomainError::Unavailable(message) => {
                tracing::error!(%message, "request failed: service unavailable");
                FirezoneError::Busy
            }
            DomainError::Internal(message) => {
                tracing::error!(%message, "request failed");
                FirezoneError::Internal
            }
        }
    }
}

impl From<AuthFailure> for FirezoneError {
    fn from(failure: AuthFailure) -> Self {
        if failure == AuthFailure::Unavailable {
            return FirezoneError::Busy;
        }
        FirezoneError::Auth(match failure {
            AuthFailure::Missing => "unauthenticated",
            AuthFailure::InvalidToken | AuthFailure::InvalidCredentials => "invalid_token",
            AuthFailure::NoResource | AuthFailure::Disabled | AuthFailure::Unavailable => "no_resource_found",
        })
    }
}

impl ResponseError for FirezoneError {
    fn status_code(&self) -> StatusCode {
        match self {
            FirezoneError::Auth(_) | FirezoneError::Unauthorized => StatusCode::UNAUTHORIZED,
            FirezoneError::NotFound => StatusCode::NOT_FOUND,
            FirezoneError::BadRequest(_) => StatusCode::BAD_REQUEST,
            FirezoneError::Unprocessable(_) | FirezoneError::UnprocessableDocument(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            FirezoneError::Conflict(_) => StatusCode::CONFLICT,
            FirezoneError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            FirezoneError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            FirezoneError::Auth(reason) => json!({"errors": {"auth": reason}}),
            FirezoneError::Unprocessable(fields) => json!({"errors": fields}),
            FirezoneError::UnprocessableDocument(errors) => json!({"errors": errors}),
            FirezoneError::Conflict(message) => json!({"errors": {"base": [message]}}),
            other => json!({"error": other.to_string()}),
        };
        let mut response = HttpResponse::build(self.status_code());
        if matches!(self, FirezoneError::Busy) {
            response.insert_header(("Retry-After", "1"));
        }
        response.json(body)
    }
}

impl actix_web::Responder for FirezoneError {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &actix_web::HttpRequest) -> HttpResponse {
        self.error_response()
    }
}
