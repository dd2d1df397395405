//! Who is using the console: the browser session behind the cookie, checked like every API
//! call (the same `Authenticate`), plus the CSRF token every form of that session carries.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{header, StatusCode};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse, ResponseError};
use maud::{html, Markup};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tessera_actors::model::{CredentialKind, Kind};
use tessera_actors::{AuthFailure, DomainError, Principal, TenantId};
use uuid::Uuid;

use crate::http::caller::{session_cookie, Caller};
use crate::http::html::message;
use crate::http::tenant::Tenant;
use crate::http::AppState;

/// The largest form the console accepts (a policy document is the biggest).
const MAX_FORM_BYTES: usize = 64 * 1024;

/// A signed-in console user: the principal (checked against live records on this request), the
/// tenant, its base URL and the session's CSRF token.
pub struct Console {
    pub state: web::Data<AppState>,
    pub tenant: TenantId,
    pub principal: Principal,
    /// The tenant's base URL (`…/t/<tenant>` or its hostname).
    pub base: String,
    /// The token every form of this session carries (see [`csrf_token`]).
    pub csrf: String,
}

/// The CSRF token of a browser session: a hash of the session's secret token, so only a page
/// that could read the cookie's value (ours) can know it, it needs no storage, and it dies with
/// the session. It reveals nothing about the token itself.
pub fn csrf_token(session_token: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(b"tessera console csrf\0");
    digest.update(session_token.as_bytes());
    hex::encode(digest.finalize())
}

impl Console {
    /// Whether the console user may perform `action` on `resource` (the same decision the
    /// actors make; used only to show or hide what would be refused anyway).
    pub fn can(&self, action: &str, resource: &str) -> bool {
        tessera_actors::auth::allowed(&self.principal, action, resource)
    }

    /// The URL of a console path (`/users` → `<base>/console/users`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/console{path}", self.base)
    }

    /// The hidden field every form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// A 303 to a console path after a successful form (post/redirect/get).
    pub fn redirect(&self, path: &str) -> HttpResponse {
        HttpResponse::SeeOther().insert_header((header::LOCATION, self.url(path))).finish()
    }

    /// The page for a query string that does not parse (a page number that is not one, …).
    pub fn bad_query(&self) -> ConsoleError {
        ConsoleError::new(StatusCode::BAD_REQUEST, "Bad request", "The address has a malformed parameter.", &self.base)
    }

    /// A domain refusal as a console error page.
    pub fn fail(&self, error: DomainError) -> ConsoleError {
        ConsoleError::from_domain(error, &self.base)
    }
}

/// A console request refused before or instead of its page, answered as an HTML page.
#[derive(Debug)]
pub struct ConsoleError {
    status: StatusCode,
    title: &'static str,
    text: String,
    base: String,
    retry_after: Option<u64>,
}

impl ConsoleError {
    /// An error page with `status`.
    pub fn new(status: StatusCode, title: &'static str, text: impl Into<String>, base: &str) -> Self {
        ConsoleError { status, title, text: text.into(), base: base.to_owned(), retry_after: None }
    }

    /// The page for a domain error.
    pub fn from_domain(error: DomainError, base: &str) -> Self {
        use DomainError as E;
        match error {
            E::NotFound => Self::new(StatusCode::NOT_FOUND, "Not found", "It does not exist, or no longer.", base),
            E::Forbidden => Self::new(StatusCode::FORBIDDEN, "Not allowed", "You are not allowed to do this.", base),
            E::Invalid(errors) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Not saved",
                tessera_actors::error::describe_fields(&errors),
                base,
            ),
            E::InvalidPolicy(problems) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "Not saved", problems.join(" "), base)
            }
            E::InvalidDocument(errors) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Not saved",
                format!("The document is invalid: {errors}"),
                base,
            ),
            E::Missing(kind) => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Not saved",
                format!("A {kind:?} it refers to does not exist.").to_lowercase(),
                base,
            ),
            E::Busy => ConsoleError {
                retry_after: Some(1),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "Busy", "Please try again shortly.", base)
            },
            E::Conflict(conflict) => Self::new(StatusCode::CONFLICT, "Not saved", conflict.to_string(), base),
            E::Unauthenticated(_) => Self::sign_in(base),
            E::Throttled(seconds) | E::Overloaded(seconds) => ConsoleError {
                retry_after: Some(seconds),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "Busy", "Please try again shortly.", base)
            },
            other => {
                tracing::error!(error = %other, "console request failed");
                Self::unavailable(base)
            }
        }
    }

    fn sign_in(base: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "Please sign in", "Sign in to use the console.", base)
    }

    fn unavailable(base: &str) -> Self {
        ConsoleError {
            retry_after: Some(5),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "Unavailable", "Please try again shortly.", base)
        }
    }
}

impl std::fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.status, self.text)
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = message(self.status, self.title, &self.text, &self.base);
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// The console user's session token: the console works with the browser's session cookie only
/// (an API credential has no CSRF token and no business in a browser).
fn cookie_token(req: &HttpRequest, state: &AppState) -> Option<String> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        return None;
    }
    session_cookie(req, state)
}

impl FromRequest for Console {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned().expect("AppState is registered");
        let tenant = Tenant::from_request(req, payload).into_inner().map(|Tenant(tenant)| tenant);
        let caller = Caller::from_request(req, payload);
        let token = cookie_token(req, &state);
        Box::pin(async move {
            let tenant = tenant.unwrap_or_else(|_| TenantId::default_tenant());
            let base = state.base_url(&tenant);
            let Caller(outcome) = caller.await.map_err(|_| ConsoleError::sign_in(&base))?;
            let principal = match outcome {
                Ok(principal) => principal,
                Err(AuthFailure::Unavailable) => return Err(ConsoleError::unavailable(&base)),
                Err(_) => return Err(ConsoleError::sign_in(&base)),
            };
            let (Some(token), CredentialKind::Session(_)) = (token, principal.credential) else {
                return Err(ConsoleError::new(
                    StatusCode::FORBIDDEN,
                    "Browser sessions only",
                    "The console is used with a browser session; API credentials use the API.",
                    &base,
                ));
            };
            let csrf = csrf_token(&token);
            Ok(Console { state, tenant, principal, base, csrf })
        })
    }
}

/// The record id of the route's `name` segment (`usr_…`, `grp_…`, … or a bare UUID); a value
/// that names no record is the 404 page.
pub fn path_id(req: &HttpRequest, console: &Console, name: &str, kind: Kind) -> Result<Uuid, ConsoleError> {
    req.match_info()
        .get(name)
        .and_then(|value| kind.parse(value).or_else(|| Uuid::parse_str(value).ok()))
        .ok_or_else(|| console.fail(DomainError::NotFound))
}

/// A form with nothing but its CSRF token (delete, revoke, unlink buttons).
#[derive(serde::Deserialize)]
pub struct Empty {}

/// `?done=…` after a redirect: the notice a page shows (see `layout::notice`).
#[derive(serde::Deserialize, Default)]
pub struct Done {
    pub done: Option<String>,
}

/// A posted console form of type `T` whose `csrf` field matched the session's token (compared
/// in constant time); anything else is refused before the handler runs.
pub struct Posted<T>(pub T);

#[derive(serde::Deserialize)]
struct CsrfField {
    csrf: Option<String>,
}

impl<T: DeserializeOwned + 'static> FromRequest for Posted<T> {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        // Who is posting is settled first, so that no stranger learns anything from how a
        // form is refused (and the refusal is the same 401/403 as for any console page).
        let console = Console::from_request(req, payload);
        let form_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let console = console.await?;
            let (base, expected) = (console.base, Some(console.csrf));
            let bad = |text: &str| ConsoleError::new(StatusCode::BAD_REQUEST, "Not saved", text, &base);
            let bytes = body.await.map_err(|_| bad("The form could not be read."))?;
            if bytes.len() > MAX_FORM_BYTES {
                return Err(ConsoleError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "Not saved",
                    "The form is too large.",
                    &base,
                ));
            }
            if !form_type {
                return Err(bad("Forms are sent as application/x-www-form-urlencoded."));
            }
            let field: CsrfField = serde_urlencoded::from_bytes(&bytes).map_err(|_| bad("The form is malformed."))?;
            let matches = match (expected, field.csrf) {
                (Some(expected), Some(sent)) => bool::from(expected.as_bytes().ct_eq(sent.as_bytes())),
                _ => false,
            };
            if !matches {
                return Err(ConsoleError::new(
                    StatusCode::FORBIDDEN,
                    "Form expired",
                    "This form does not belong to your session. Reload the page and try again.",
                    &base,
                ));
            }
            let form = serde_urlencoded::from_bytes(&bytes).map_err(|_| bad("The form is incomplete or malformed."))?;
            Ok(Posted(form))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csrf_tokens_differ_per_session_and_hide_the_session_token() {
        let one = csrf_token("session-one");
        assert_eq!(one, csrf_token("session-one"));
        assert_ne!(one, csrf_token("session-two"));
        assert_eq!(one.len(), 64);
        assert!(!one.contains("session"));
    }
}
