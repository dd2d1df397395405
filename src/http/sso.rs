//! Browser sign-in through upstream providers. OIDC: `/auth/oidc/{provider}` redirects to the
//! provider and its callback signs the person in. SAML (Firezone's routes): SP metadata at
//! `/auth/saml/sp/metadata/{id}`, `/auth/saml/auth/signin/{id}` redirects to the IdP, and the
//! IdP posts to the ACS `/auth/saml/sp/consume/{id}`. Failures are readable HTML pages, never
//! JSON, since a person is looking at them.

use actix_web::cookie::{time::Duration as CookieAge, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tessera_actors::provisioning_actor::{
    FinishOidcSignIn, FinishSamlSignIn, GetSamlMetadata, StartOidcSignIn, StartSamlSignIn,
};
use tessera_actors::session_actor::OpenSession;
use tessera_actors::{DomainError, TenantId, User};

use super::html::{message, sign_in_failed};
use super::path_id::PathId;
use super::sign_in::{browser_cookie, signed_in_redirect};
use super::tenant::Tenant;
use super::{ask, AppState};
use crate::http::routes::resource;

/// Registers the sign-in routes (inside the tenant scope and at the root).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/auth/oidc/{provider}").get(start_oidc))
        .service(resource("/auth/oidc/{provider}/callback").get(finish_oidc))
        .service(resource("/auth/oidc/{provider}/callback/").get(finish_oidc))
        .service(resource("/auth/saml/sp/metadata/{provider}").get(saml_metadata))
        .service(resource("/auth/saml/auth/signin/{provider}").get(start_saml))
        .service(resource("/auth/saml/sp/consume/{provider}").post(finish_saml));
}

/// Opens a session for a user an upstream provider signed in, and redirects to the account
/// page with the session cookie. Shared by every protocol.
pub async fn open_session(state: &AppState, tenant: TenantId, user: User, method: String) -> HttpResponse {
    let base_url = state.base_url(&tenant);
    match ask(&state.domain.sessions, OpenSession { tenant, user, method }).await {
        Ok(signed_in) => signed_in_redirect(state, &base_url, &signed_in),
        Err(error) => sign_in_failed(error, &base_url),
    }
}

/// The cookie binding a started OIDC sign-in to the browser that started it, so a callback
/// link made in another browser (login forgery) is refused.
const OIDC_STATE_COOKIE: &str = "tessera_oidc_state";

/// Counts a sign-in start from the request's address; the 429 page (with `Retry-After`) once
/// that address has started too many.
fn start_refused(req: &HttpRequest, state: &AppState, base_url: &str) -> Option<HttpResponse> {
    let wait = state.sign_in_starts.as_ref()?.check(state.client_address.of(req)).err()?;
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    // Debug only: a flood must not become a flood of log lines.
    tracing::debug!(peer = ?req.peer_addr(), "too many sign-in starts from one address");
    let text = format!("Too many sign-ins were started from your address. Try again in {seconds} seconds.");
    let mut page = message(StatusCode::TOO_MANY_REQUESTS, "Sign-in paused", &text, base_url);
    page.headers_mut().insert(header::RETRY_AFTER, seconds.into());
    Some(page)
}

/// `GET /auth/oidc/{provider}`: redirect to the provider.
#[utoipa::path(
    get,
    path = "/auth/oidc/{provider}",
    operation_id = "oidc_start",
    tag = "sign-in",
    security(()),
    params(("provider" = String, Path, description = "The provider's id.")),
    responses(
        (status = 302, description = "To the provider's authorization endpoint (PKCE, `state`, `nonce`); a cookie binds the sign-in to this browser.", headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 403, description = "Refused.", content_type = "text/html", body = String),
        (status = 404, description = "No such provider.", content_type = "text/html", body = String),
        (status = 429, description = "Too many sign-ins started from this address; try again after `Retry-After` seconds.", content_type = "text/html", body = String, headers(("Retry-After" = String))),
        (status = 503, description = "The provider or the database is unreachable.", content_type = "text/html", body = String),
    )
)]
pub async fn start_oidc(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    provider: PathId,
) -> HttpResponse {
    let base_url = state.base_url(&tenant);
    if let Some(refused) = start_refused(&req, &state, &base_url) {
        return refused;
    }
    let start = StartOidcSignIn { tenant, provider: provider.0, base_url: base_url.clone() };
    match ask(&state.domain.provisioning, start).await {
        Ok(redirect) => HttpResponse::Found()
            .cookie(browser_cookie(&state, OIDC_STATE_COOKIE, redirect.binding, Some(CookieAge::minutes(10))))
            .insert_header((header::LOCATION, redirect.url))
            .finish(),
        Err(error) => sign_in_failed(error, &base_url),
    }
}

/// The provider's answer.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Callback {
    /// The authorization code.
    code: Option<String>,
    /// The state the sign-in started with.
    state: Option<String>,
    /// An OAuth error code: the provider refused.
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/oidc/{provider}/callback[/]`: verify, provision, open a session, set the cookie.
#[utoipa::path(
    get,
    path = "/auth/oidc/{provider}/callback",
    operation_id = "oidc_callback",
    tag = "sign-in",
    security(()),
    params(("provider" = String, Path, description = "The provider's id."), Callback),
    responses(
        (status = 303, description = "Signed in: the session cookie is set and the browser goes to `/account`.", headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 400, description = "A malformed query string.", body = crate::http::openapi::soat::SoatErrorBody),
        (status = 403, description = "Refused (provider error, state invalid, expired or started in another browser, no verified email, no matching account, disabled user).", content_type = "text/html", body = String),
        (status = 404, description = "No such provider.", content_type = "text/html", body = String),
        (status = 503, description = "The provider or the database is unreachable.", content_type = "text/html", body = String),
    )
)]
pub async fn finish_oidc(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    provider: PathId,
    query: web::Query<Callback>,
) -> HttpResponse {
    let base_url = state.base_url(&tenant);
    let query = query.into_inner();
    if let Some(error) = query.error {
        // Only a well-formed OAuth error code is shown: the description is free text anyone can
        // put in a link, and this page is on our domain.
        let code = if !error.is_empty()
            && error.len() <= 64
            && error.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            error
        } else {
            "error".to_owned()
        };
        tracing::info!(code = %code, description = ?query.error_description, "provider refused a sign-in");
        return sign_in_failed(DomainError::SignInRefused(format!("the provider refused: {code}")), &base_url);
    }
    let (Some(code), Some(sign_in_state)) = (query.code, query.state) else {
        let reason = "the provider's answer lacks a code or state";
        return sign_in_failed(DomainError::SignInRefused(reason.into()), &base_url);
    };
    let refusal = match req.cookie(OIDC_STATE_COOKIE) {
        None => Some("this sign-in was started in another browser; please start again"),
        Some(cookie) if cookie.value() != sign_in_state => Some("the sign-in state is invalid or has expired"),
        Some(_) => None,
    };
    if let Some(reason) = refusal {
        return sign_in_failed(DomainError::SignInRefused(reason.into()), &base_url);
    }
    let finish = FinishOidcSignIn {
        tenant: tenant.clone(),
        provider: provider.0.clone(),
        code,
        state: sign_in_state,
        base_url: base_url.clone(),
        origin: state.origin(&req),
    };
    let mut response = match ask(&state.domain.provisioning, finish).await {
        Ok(user) => open_session(&state, tenant, user, provider.0).await,
        Err(error) => sign_in_failed(error, &base_url),
    };
    let _ = response.add_cookie(&browser_cookie(&state, OIDC_STATE_COOKIE, String::new(), Some(CookieAge::ZERO)));
    response
}

/// `GET /auth/saml/sp/metadata/{provider}`: the SP metadata to register at the IdP.
#[utoipa::path(
    get,
    path = "/auth/saml/sp/metadata/{provider}",
    operation_id = "saml_metadata",
    tag = "sign-in",
    security(()),
    params(("provider" = String, Path, description = "The provider's id.")),
    responses(
        (status = 200, description = "The SP metadata (its URL is the SP entity id).", content_type = "application/samlmetadata+xml", body = String),
        (status = 404, description = "No such provider.", content_type = "text/html", body = String),
        (status = 503, description = "The database is unreachable.", content_type = "text/html", body = String),
    )
)]
pub async fn saml_metadata(state: web::Data<AppState>, Tenant(tenant): Tenant, provider: PathId) -> HttpResponse {
    let base_url = state.base_url(&tenant);
    match ask(&state.domain.provisioning, GetSamlMetadata { tenant, provider: provider.0 }).await {
        Ok(xml) => HttpResponse::Ok().content_type("application/samlmetadata+xml").body(xml),
        Err(error) => sign_in_failed(error, &base_url),
    }
}

/// The cookie binding a SAML request to the browser that started it. The IdP's answer is a
/// cross-site POST, which carries only `SameSite=None` cookies, and browsers keep those only
/// when `Secure`: so the binding applies when `server.external_url` is https.
const SAML_REQUEST_COOKIE: &str = "tessera_saml_request";

fn saml_cookie(value: &str, max_age: CookieAge) -> Cookie<'static> {
    Cookie::build(SAML_REQUEST_COOKIE, value.to_owned())
        .path("/")
        .http_only(true)
        .secure(true)
        .same_site(SameSite::None)
        .max_age(max_age)
        .finish()
}

/// `GET /auth/saml/auth/signin/{provider}`: redirect to the IdP with an AuthnRequest.
#[utoipa::path(
    get,
    path = "/auth/saml/auth/signin/{provider}",
    operation_id = "saml_start",
    tag = "sign-in",
    security(()),
    params(("provider" = String, Path, description = "The provider's id.")),
    responses(
        (status = 302, description = "To the IdP with an AuthnRequest (HTTP-Redirect binding).", headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 403, description = "Refused.", content_type = "text/html", body = String),
        (status = 404, description = "No such provider.", content_type = "text/html", body = String),
        (status = 429, description = "Too many sign-ins started from this address; try again after `Retry-After` seconds.", content_type = "text/html", body = String, headers(("Retry-After" = String))),
        (status = 503, description = "The database is unreachable.", content_type = "text/html", body = String),
    )
)]
pub async fn start_saml(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    provider: PathId,
) -> HttpResponse {
    let base_url = state.base_url(&tenant);
    if let Some(refused) = start_refused(&req, &state, &base_url) {
        return refused;
    }
    match ask(&state.domain.provisioning, StartSamlSignIn { tenant, provider: provider.0 }).await {
        Ok(redirect) => {
            let mut response = HttpResponse::Found();
            if state.is_https() {
                response.cookie(saml_cookie(&redirect.binding, CookieAge::minutes(10)));
            }
            response.insert_header((header::LOCATION, redirect.url)).finish()
        }
        Err(error) => sign_in_failed(error, &base_url),
    }
}

/// The IdP's HTTP-POST to the ACS.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct SamlPost {
    /// The base64-encoded SAML Response.
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
}

/// `POST /auth/saml/sp/consume/{provider}`: verify, provision, open a session, set the cookie.
#[utoipa::path(
    post,
    path = "/auth/saml/sp/consume/{provider}",
    operation_id = "saml_consume",
    tag = "sign-in",
    security(()),
    params(("provider" = String, Path, description = "The provider's id.")),
    request_body(content = SamlPost, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: the session cookie is set and the browser goes to `/account`.", headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 403, description = "Refused: no SAMLResponse, an invalid, unsigned, replayed or foreign response, no matching account, or a disabled user.", content_type = "text/html", body = String),
        (status = 404, description = "No such provider.", content_type = "text/html", body = String),
        (status = 503, description = "The database is unreachable.", content_type = "text/html", body = String),
    )
)]
pub async fn finish_saml(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    provider: PathId,
    form: Result<web::Form<SamlPost>, actix_web::Error>,
) -> HttpResponse {
    let base_url = state.base_url(&tenant);
    let Ok(form) = form else {
        let reason = "the request carries no SAMLResponse, or it is too large";
        return sign_in_failed(DomainError::SignInRefused(reason.into()), &base_url);
    };
    let browser_request = match req.cookie(SAML_REQUEST_COOKIE) {
        Some(cookie) if state.is_https() => Some(cookie.value().to_owned()),
        None if state.is_https() => {
            let reason = "this sign-in was started in another browser; please start again";
            return sign_in_failed(DomainError::SignInRefused(reason.into()), &base_url);
        }
        _ => None,
    };
    let finish = FinishSamlSignIn {
        tenant: tenant.clone(),
        provider: provider.0.clone(),
        saml_response: form.into_inner().saml_response,
        browser_request,
        origin: state.origin(&req),
    };
    let mut response = match ask(&state.domain.provisioning, finish).await {
        Ok(user) => open_session(&state, tenant, user, provider.0).await,
        Err(error) => sign_in_failed(error, &base_url),
    };
    if state.is_https() {
        let _ = response.add_cookie(&saml_cookie("", CookieAge::ZERO));
    }
    response
}
