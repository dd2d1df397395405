//! Credential extraction: the bearer token is checked against live records by the
//! SessionActor; each dialect turns a failure into its own 401.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use tessera_actors::session_actor::Authenticate;
use tessera_actors::{AuthFailure, Principal, TenantId};

use super::tenant::Tenant;
use super::AppState;

/// The result of authenticating a request; never fails extraction itself.
pub struct Caller(pub Result<Principal, AuthFailure>);

/// The name of the HttpOnly cookie that carries a browser session's token.
pub const SESSION_COOKIE: &str = "tessera_session";

/// The token of an `Authorization: Bearer …` header (scheme matched case-insensitively), or
/// else of the session cookie.
fn bearer(req: &HttpRequest) -> Option<String> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        return authorization(req);
    }
    req.cookie(SESSION_COOKIE).map(|cookie| cookie.value().to_owned()).filter(|token| !token.is_empty())
}

fn authorization(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then(|| token.to_owned())
}

impl FromRequest for Caller {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let token = bearer(req);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let tenant: TenantId = match Tenant::from_request(req, payload).into_inner() {
            Ok(Tenant(tenant)) => tenant,
            Err(_) => TenantId::default_tenant(),
        };
        Box::pin(async move {
            let (Some(token), Some(state)) = (token, state) else {
                return Ok(Caller(Err(AuthFailure::Missing)));
            };
            let outcome = state
                .domain
                .sessions
                .send(Authenticate { tenant, token })
                .await
                .unwrap_or(Err(AuthFailure::NoResource));
            Ok(Caller(outcome))
        })
    }
}
