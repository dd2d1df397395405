//! SOAT's error shape: `{"error": "<message>"}` with 400/401/403/404/409 (429 for throttled
//! sign-ins, 503 with `Retry-After` when too many sign-ins are being checked).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use tessera_actors::model::Kind;
use tessera_actors::{AuthFailure, Conflict, DomainError};

/// An error as SOAT clients expect it.
#[derive(Debug, thiserror::Error)]
pub enum SoatError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("Forbidden")]
    Forbidden,
    #[error("{0}")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(&'static str),
    /// 412: an `If-Match` named a version the record no longer has.
    #[error("Precondition failed: the record changed since the given ETag")]
    PreconditionFailed,
    /// 400 for a policy document, with one line per problem.
    #[error("Invalid policy document")]
    InvalidPolicy(Vec<String>),
    #[error("Service busy, please retry")]
    Busy,
    /// 503: the database or a worker is down; never reported as a credential problem.
    #[error("Service unavailable, please retry")]
    Unavailable,
    /// 429 with `Retry-After`: too many failed sign-ins for this username or from this address.
    #[error("Too many failed sign-ins, retry in {0} seconds")]
    TooManyAttempts(u64),
    /// 503 with `Retry-After`: too many sign-ins are being checked right now.
    #[error("Too many sign-ins in progress, retry in {0} seconds")]
    SignInsBusy(u64),
    #[error("Internal server error")]
    Internal,
}

impl SoatError {
    /// Maps a domain error, naming the missing thing for 404s.
    pub fn from_domain(error: DomainError, missing: &'static str) -> Self {
        match error {
            DomainError::NotFound => SoatError::NotFound(missing),
            DomainError::Missing(kind) => SoatError::NotFound(match kind {
                Kind::User => "User not found",
                Kind::Policy => "Policy not found",
                Kind::ApiKey => "API key not found",
                Kind::Group => "Group not found",
                Kind::Session => "Session not found",
            }),
            DomainError::InvalidPolicy(problems) => SoatError::InvalidPolicy(problems),
            DomainError::InvalidDocument(errors) => SoatError::BadRequest(errors.to_string()),
            DomainError::Scim(problem) => SoatError::BadRequest(problem.detail),
            DomainError::Invalid(fields) => SoatError::BadRequest(tessera_actors::error::describe_fields(&fields)),
            DomainError::Conflict(conflict) => SoatError::Conflict(match conflict {
                Conflict::UsernameTaken | Conflict::EmailTaken => "Username already exists",
                Conflict::UsersExist => "Users already exist",
                Conflict::LastAdmin => "Cannot remove the last admin",
                Conflict::TooManyKeys => "Too many API keys",
                Conflict::GroupNameTaken => "Group already exists",
                Conflict::AccountExists => "An account with this email already exists",
                Conflict::IdentityLinked => "Identity already linked",
                Conflict::Modified => "Modified concurrently, retry",
                // Only an `If-Match` write can miss its version.
                Conflict::VersionMismatch => return SoatError::PreconditionFailed,
                Conflict::TenantExists => "Tenant already exists",
                Conflict::HostnameTaken => "Hostname already taken by another tenant",
            }),
            DomainError::Unauthenticated(failure) => failure.into(),
            DomainError::Forbidden | DomainError::SignInRefused(_) => SoatError::Forbidden,
            DomainError::Busy => SoatError::Busy,
            DomainError::Throttled(seconds) => SoatError::TooManyAttempts(seconds),
            DomainError::Overloaded(seconds) => SoatError::SignInsBusy(seconds),
            DomainError::Storage(message) | DomainError::Unavailable(message) => {
                tracing::error!(%message, "request failed: service unavailable");
                SoatError::Unavailable
            }
            DomainError::Internal(message) => {
                tracing::error!(%message, "request failed");
                SoatError::Internal
            }
        }
    }
}

impl SoatError {
    /// `from_domain` as a closure for `map_err`, naming the missing thing for 404s.
    pub fn or_missing(missing: &'static str) -> impl Fn(DomainError) -> SoatError {
        move |error| SoatError::from_domain(error, missing)
    }
}

impl From<AuthFailure> for SoatError {
    fn from(failure: AuthFailure) -> Self {
        if failure == AuthFailure::Unavailable {
            return SoatError::Unavailable;
        }
        SoatError::Unauthorized(match failure {
            AuthFailure::InvalidCredentials => "Invalid credentials",
            AuthFailure::Disabled => "User is disabled",
            AuthFailure::Missing | AuthFailure::InvalidToken | AuthFailure::NoResource | AuthFailure::Unavailable => {
                "Unauthorized"
            }
        })
    }
}

impl ResponseError for SoatError {
    fn status_code(&self) -> StatusCode {
        match self {
            SoatError::BadRequest(_) | SoatError::InvalidPolicy(_) => StatusCode::BAD_REQUEST,
            SoatError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            SoatError::Forbidden => StatusCode::FORBIDDEN,
            SoatError::NotFound(_) => StatusCode::NOT_FOUND,
            SoatError::Conflict(_) => StatusCode::CONFLICT,
            SoatError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            SoatError::Busy | SoatError::Unavailable | SoatError::SignInsBusy(_) => StatusCode::SERVICE_UNAVAILABLE,
            SoatError::TooManyAttempts(_) => StatusCode::TOO_MANY_REQUESTS,
            SoatError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            SoatError::InvalidPolicy(problems) => {
                json!({"error": format!("Invalid policy document\n{}", problems.join("\n")), "details": problems})
            }
            other => json!({"error": other.to_string()}),
        };
        let mut response = HttpResponse::build(self.status_code());
        match self {
            SoatError::TooManyAttempts(seconds) | SoatError::SignInsBusy(seconds) => {
                response.insert_header(("Retry-After", seconds.to_string()));
            }
            SoatError::Busy | SoatError::Unavailable => {
                response.insert_header(("Retry-After", "1"));
            }
            _ => {}
        }
        response.json(body)
    }
}

impl actix_web::Responder for SoatError {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &actix_web::HttpRequest) -> HttpResponse {
        self.error_response()
    }
}
