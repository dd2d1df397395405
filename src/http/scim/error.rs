//! SCIM's error shape (RFC 7644 §3.12): `{"schemas":[Error], "status":"<code>", "scimType", "detail"}`
//! with `application/scim+json`, for every failure on a SCIM route.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;
use tessera_actors::model::Kind;
use tessera_actors::scim::{ScimProblem, ScimType};
use tessera_actors::{AuthFailure, Conflict, DomainError};

/// The SCIM error message schema.
pub const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
/// The media type of every SCIM response body.
pub const SCIM_JSON: &str = "application/scim+json";

/// An error as SCIM clients expect it.
#[derive(Debug, thiserror::Error)]
#[error("{detail}")]
pub struct ScimError {
    pub status: StatusCode,
    pub scim_type: Option<ScimType>,
    pub detail: String,
}

impl ScimError {
    /// An error with a status, an optional scimType and a detail for the client.
    pub fn new(status: StatusCode, scim_type: Option<ScimType>, detail: impl Into<String>) -> Self {
        ScimError { status, scim_type, detail: detail.into() }
    }

    /// A 400 with a scimType.
    pub fn bad(scim_type: ScimType, detail: impl Into<String>) -> Self {
        ScimError::new(StatusCode::BAD_REQUEST, Some(scim_type), detail)
    }

    /// A 404 for `what`.
    pub fn not_found(what: &str) -> Self {
        ScimError::new(StatusCode::NOT_FOUND, None, format!("{what} not found"))
    }
}

impl From<ScimProblem> for ScimError {
    fn from(problem: ScimProblem) -> Self {
        let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::BAD_REQUEST);
        ScimError::new(status, problem.scim_type, problem.detail)
    }
}

impl From<AuthFailure> for ScimError {
    fn from(failure: AuthFailure) -> Self {
        match failure {
            AuthFailure::Unavailable => unavailable(),
            AuthFailure::Disabled => {
                ScimError::new(StatusCode::UNAUTHORIZED, None, "The credential's user is disabled")
            }
            _ => ScimError::new(StatusCode::UNAUTHORIZED, None, "A valid bearer token of this tenant is required"),
        }
    }
}

fn unavailable() -> ScimError {
    ScimError::new(StatusCode::SERVICE_UNAVAILABLE, None, "Service unavailable, please retry")
}

impl From<DomainError> for ScimError {
    fn from(error: DomainError) -> Self {
        match error {
            DomainError::NotFound => ScimError::not_found("Resource"),
            DomainError::Missing(kind) => {
                let what = match kind {
                    Kind::User => "a member or user it names does not exist",
                    Kind::Group => "a group it names does not exist",
                    _ => "a record it names does not exist",
                };
                ScimError::bad(ScimType::InvalidValue, format!("The request is invalid: {what}"))
            }
            DomainError::Scim(problem) => problem.into(),
            DomainError::Invalid(fields) => ScimError::bad(
                ScimType::InvalidValue,
                fields
                    .iter()
                    .flat_map(|(field, messages)| messages.iter().map(move |message| format!("{field} {message}")))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            DomainError::InvalidDocument(_) | DomainError::InvalidPolicy(_) => {
                ScimError::bad(ScimType::InvalidValue, "The request is invalid")
            }
            DomainError::Conflict(conflict) => conflict_error(conflict),
            DomainError::Unauthenticated(failure) => failure.into(),
            DomainError::Forbidden | DomainError::SignInRefused(_) => {
                ScimError::new(StatusCode::FORBIDDEN, None, "The credential may not do this")
            }
            DomainError::Throttled(_) | DomainError::Overloaded(_) => {
                ScimError::new(StatusCode::TOO_MANY_REQUESTS, None, "Too many requests, please retry")
            }
            DomainError::Busy => unavailable(),
            DomainError::Storage(message) | DomainError::Unavailable(message) => {
                tracing::error!(%message, "SCIM request failed: service unavailable");
                unavailable()
            }
            DomainError::Internal(message) => {
                tracing::error!(%message, "SCIM request failed");
                ScimError::new(StatusCode::INTERNAL_SERVER_ERROR, None, "Internal server error")
            }
        }
    }
}

fn conflict_error(conflict: Conflict) -> ScimError {
    let uniqueness = |detail: &str| ScimError::new(StatusCode::CONFLICT, Some(ScimType::Uniqueness), detail);
    match conflict {
        Conflict::UsernameTaken => uniqueness("userName is already in use"),
        Conflict::EmailTaken | Conflict::AccountExists => uniqueness("An email address is already in use"),
        Conflict::GroupNameTaken => uniqueness("displayName is already in use"),
        Conflict::IdentityLinked => uniqueness("The identity is already linked"),
        Conflict::VersionMismatch => {
            ScimError::new(StatusCode::PRECONDITION_FAILED, None, "The resource changed: its version does not match")
        }
        Conflict::LastAdmin => ScimError::new(
            StatusCode::CONFLICT,
            Some(ScimType::Mutability),
            "The tenant's last admin cannot be removed",
        ),
        Conflict::Modified => ScimError::new(StatusCode::CONFLICT, None, "Modified concurrently, please retry"),
        Conflict::UsersExist | Conflict::TooManyKeys | Conflict::TenantExists | Conflict::HostnameTaken => {
            ScimError::new(StatusCode::CONFLICT, None, conflict.to_string())
        }
    }
}

impl ResponseError for ScimError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut body =
            json!({"schemas": [ERROR_URN], "status": self.status.as_u16().to_string(), "detail": self.detail});
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type.as_str());
        }
        let mut response = HttpResponse::build(self.status);
        response.content_type(SCIM_JSON);
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            response.insert_header(("Retry-After", "1"));
        }
        response.body(body.to_string())
    }
}

impl actix_web::Responder for ScimError {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, _: &actix_web::HttpRequest) -> HttpResponse {
        self.error_response()
    }
}
