//! Which dialect a path belongs to, and the generic errors (404, 405, 413, …) in its shape,
//! for responses produced before any dialect handler runs.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

/// The wire dialect of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Soat,
    Firezone,
    Scim,
    /// The console's HTML pages (`/console…`): errors are pages too.
    Console,
    Other,
}

impl Dialect {
    /// Classifies a request path (with or without the `/t/{tenant}` prefix).
    pub fn of(full: &str) -> Self {
        let path = match full.strip_prefix("/t/") {
            Some(rest) => rest.find('/').map_or("", |slash| &rest[slash..]),
            None => full,
        };
        if path == "/console" || path.starts_with("/console/") {
            return Dialect::Console;
        }
        if path == "/api" || path.starts_with("/api/") {
            Dialect::Soat
        } else if path == "/v0" || path.starts_with("/v0/") {
            Dialect::Firezone
        } else if path == "/scim" || path.starts_with("/scim/") {
            Dialect::Scim
        } else {
            Dialect::Other
        }
    }

    /// A 404 in this dialect's shape; `message` is used where the dialect carries one.
    pub fn not_found(self, message: &str) -> HttpResponse {
        match self {
            Dialect::Console => self.status(StatusCode::NOT_FOUND),
            Dialect::Soat => HttpResponse::NotFound().json(json!({"error": message})),
            Dialect::Scim => super::scim::ScimError::new(StatusCode::NOT_FOUND, None, message).error_response(),
            Dialect::Firezone | Dialect::Other => HttpResponse::NotFound().json(json!({"error": "not_found"})),
        }
    }

    /// Any other generic error status in this dialect's shape.
    pub fn status(self, status: StatusCode) -> HttpResponse {
        if self == Dialect::Console {
            let text = status.canonical_reason().unwrap_or("The request was refused.");
            return super::html::message(status, "Not available", text, "");
        }
        if status == StatusCode::NOT_FOUND {
            return self.not_found("Not found");
        }
        if self == Dialect::Scim {
            let scim_type =
                (status == StatusCode::BAD_REQUEST).then_some(tessera_actors::scim::ScimType::InvalidSyntax);
            let detail = status.canonical_reason().unwrap_or("Request refused");
            return super::scim::ScimError::new(status, scim_type, detail).error_response();
        }
        let message = match (self, status) {
            (Dialect::Firezone, StatusCode::BAD_REQUEST) => "Bad Request",
            (_, StatusCode::PAYLOAD_TOO_LARGE) => "Request body too large",
            (_, StatusCode::METHOD_NOT_ALLOWED) => "Method not allowed",
            (_, StatusCode::UNSUPPORTED_MEDIA_TYPE) => "Unsupported media type",
            (_, status) if status.is_server_error() => "Internal server error",
            (_, status) => status.canonical_reason().unwrap_or("Bad request"),
        };
        HttpResponse::build(status).json(json!({"error": message}))
    }
}

/// Middleware: error responses that are neither JSON nor a deliberate HTML page yet (unknown
/// routes, wrong methods, bodies over the limit, unparsable paths) are replaced by the
/// dialect's JSON error.
pub async fn json_error_bodies(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let dialect = Dialect::of(req.path());
    let response = next.call(req).await?;
    let status = response.status();
    let is_rendered =
        response.headers().get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_some_and(|value| {
            value.starts_with("application/json")
                || value.starts_with("application/scim+json")
                || value.starts_with("text/html")
        });
    if (status.is_client_error() || status.is_server_error()) && !is_rendered {
        let allow = response.headers().get(header::ALLOW).cloned();
        let (req, _) = response.into_parts();
        let mut replacement = dialect.status(status);
        if let Some(allow) = allow {
            replacement.headers_mut().insert(header::ALLOW, allow);
        }
        return Ok(ServiceResponse::new(req, replacement));
    }
    Ok(response.map_into_boxed_body())
}

#[cfg(test)]
mod tests {
    use super::Dialect;

    #[test]
    fn paths_map_to_dialects() {
        assert_eq!(Dialect::of("/api/v1/users"), Dialect::Soat);
        assert_eq!(Dialect::of("/t/acme/api/v1/users"), Dialect::Soat);
        assert_eq!(Dialect::of("/v0/users/x"), Dialect::Firezone);
        assert_eq!(Dialect::of("/t/acme/v0"), Dialect::Firezone);
        assert_eq!(Dialect::of("/scim/v2/Users"), Dialect::Scim);
        assert_eq!(Dialect::of("/t/acme/scim/v2"), Dialect::Scim);
        assert_eq!(Dialect::of("/nothing"), Dialect::Other);
        assert_eq!(Dialect::of("/t/acme/console/users"), Dialect::Console);
        assert_eq!(Dialect::of("/console"), Dialect::Console);
        assert_eq!(Dialect::of("/consoles"), Dialect::Other);
        assert_eq!(Dialect::of("/t/acme"), Dialect::Other);
    }
}
