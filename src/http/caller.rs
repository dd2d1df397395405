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

/// The name of the HttpOnly cookie that carries a browser session's token over http.
pub const SESSION_COOKIE: &str = "tessera_session";

/// Its name over https: the `__Host-` prefix makes browsers refuse it unless it is `Secure`,
/// host-only and for the whole path, so no sibling host or plain-http page can plant or shadow it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-tessera_session";

/// The session cookie's name for this deployment's scheme.
pub fn session_cookie_name(state: &AppState) -> &'static str {
    if state.is_https() {
        SECURE_SESSION_COOKIE
    } else {
        SESSION_COOKIE
    }
}

/// The browser session's token carried by the request's session cookie, if any.
pub fn session_cookie(req: &HttpRequest, state: &AppState) -> Option<String> {
    req.cookie(session_cookie_name(state)).map(|cookie| cookie.value().to_owned()).filter(|token| !token.is_empty())
}

/// The token of an `Authorization: Bearer …` header (scheme matched case-insensitively), or
/// else of the session cookie, which unsafe methods accept only from our own pages (`base_url`,
/// computed only then).
fn bearer(req: &HttpRequest, state: &AppState, base_url: impl FnOnce() -> String) -> Option<String> {
    if req.headers().contains_key(header::AUTHORIZATION) {
        return authorization(req);
    }
    if !req.method().is_safe() && !from_our_pages(req, &base_url()) {
        return None;
    }
    session_cookie(req, state)
}

/// Whether a browser request comes from our own origin: its `Origin` (when sent) is
/// `external_url`'s and `Sec-Fetch-Site` (when sent) is not another site. Browsers send both
/// on cross-origin posts, so a forged form or fetch from elsewhere cannot ride on the cookie.
pub fn from_our_pages(req: &HttpRequest, external_url: &str) -> bool {
    let site = req.headers().get("sec-fetch-site").and_then(|site| site.to_str().ok());
    if matches!(site, Some("cross-site" | "same-site")) {
        return false;
    }
    let Some(origin) = req.headers().get(header::ORIGIN).and_then(|origin| origin.to_str().ok()) else {
        return true;
    };
    reqwest::Url::parse(external_url)
        .map(|ours| ours.origin().ascii_serialization().eq_ignore_ascii_case(origin))
        .unwrap_or(false)
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
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let tenant: TenantId = match Tenant::from_request(req, payload).into_inner() {
            Ok(Tenant(tenant)) => tenant,
            Err(_) => TenantId::default_tenant(),
        };
        // The tenant's own pages are where its browser sessions come from.
        let token = state.as_ref().and_then(|state| bearer(req, state, || state.base_url(&tenant)));
        let origin = state.as_ref().map(|state| state.origin(req)).unwrap_or_default();
        Box::pin(async move {
            let (Some(token), Some(state)) = (token, state) else {
                return Ok(Caller(Err(AuthFailure::Missing)));
            };
            let lookup = state.domain.sessions.send(Authenticate { tenant, token });
            let outcome = match tokio::time::timeout(super::domain_deadline(), lookup).await {
                Ok(Ok(outcome)) => outcome,
                // A dead actor or a database that does not answer: not the credential's fault.
                Ok(Err(_)) | Err(_) => Err(AuthFailure::Unavailable),
            };
            Ok(Caller(outcome.map(|mut principal| {
                principal.origin = origin;
                principal
            })))
        })
    }
}
