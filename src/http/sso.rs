//! Browser sign-in through upstream providers: `/auth/oidc/{provider}` redirects to the
//! provider; its callback signs the person in with an HttpOnly session cookie. Failures are
//! readable HTML pages, never JSON, since a person is looking at them.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use tessera_actors::provisioning_actor::{FinishOidcSignIn, StartOidcSignIn};
use tessera_actors::session_actor::OpenSession;
use tessera_actors::DomainError;

use super::caller::{Caller, SESSION_COOKIE};
use super::path_id::PathId;
use super::tenant::Tenant;
use super::{ask, AppState};

/// Registers the sign-in routes (inside the tenant scope and at the root).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/oidc/{provider}").route(web::get().to(start_oidc)))
        .service(web::resource("/auth/oidc/{provider}/callback").route(web::get().to(finish_oidc)))
        .service(web::resource("/auth/oidc/{provider}/callback/").route(web::get().to(finish_oidc)))
        .service(web::resource("/account").route(web::get().to(account)));
}

/// Escapes text for HTML.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A plain page with a title and one paragraph (already escaped by the caller where needed).
fn page(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head>\
         <body style=\"font-family:sans-serif;max-width:36rem;margin:4rem auto\"><h1>{title}</h1>{body}</body></html>",
        title = escape(title)
    );
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(html)
}

/// The page for a failed sign-in.
fn refused(error: DomainError) -> HttpResponse {
    use actix_web::http::StatusCode;
    match error {
        DomainError::SignInRefused(reason) => {
            page(StatusCode::FORBIDDEN, "Sign-in failed", &format!("<p>{}</p>", escape(&reason)))
        }
        DomainError::NotFound => page(StatusCode::NOT_FOUND, "Unknown provider", "<p>No such sign-in provider.</p>"),
        DomainError::Unauthenticated(_) => {
            page(StatusCode::FORBIDDEN, "Sign-in failed", "<p>This account is disabled.</p>")
        }
        other => {
            tracing::error!(error = %other, "sign-in failed");
            page(StatusCode::SERVICE_UNAVAILABLE, "Sign-in failed", "<p>Please try again later.</p>")
        }
    }
}

/// `GET /auth/oidc/{provider}`: redirect to the provider.
pub async fn start_oidc(state: web::Data<AppState>, Tenant(tenant): Tenant, provider: PathId) -> HttpResponse {
    let base_url = state.base_url(&tenant);
    match ask(&state.domain.provisioning, StartOidcSignIn { tenant, provider: provider.0, base_url }).await {
        Ok(url) => HttpResponse::Found().insert_header((header::LOCATION, url)).finish(),
        Err(error) => refused(error),
    }
}

/// The provider's answer.
#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/oidc/{provider}/callback[/]`: verify, provision, open a session, set the cookie.
pub async fn finish_oidc(
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    provider: PathId,
    query: web::Query<Callback>,
) -> HttpResponse {
    let query = query.into_inner();
    if let Some(error) = query.error {
        let reason = query.error_description.unwrap_or(error);
        return refused(DomainError::SignInRefused(format!("the provider refused: {reason}")));
    }
    let (Some(code), Some(sign_in_state)) = (query.code, query.state) else {
        return refused(DomainError::SignInRefused("the provider's answer lacks a code or state".into()));
    };
    let base_url = state.base_url(&tenant);
    let finish = FinishOidcSignIn {
        tenant: tenant.clone(),
        provider: provider.0.clone(),
        code,
        state: sign_in_state,
        base_url: base_url.clone(),
    };
    let user = match ask(&state.domain.provisioning, finish).await {
        Ok(user) => user,
        Err(error) => return refused(error),
    };
    let signed_in = match ask(&state.domain.sessions, OpenSession { tenant, user, method: provider.0 }).await {
        Ok(signed_in) => signed_in,
        Err(error) => return refused(error),
    };
    let cookie = Cookie::build(SESSION_COOKIE, signed_in.token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(state.external_url.starts_with("https://"))
        .finish();
    HttpResponse::Found().cookie(cookie).insert_header((header::LOCATION, format!("{base_url}/account"))).finish()
}

/// `GET /account`: who is signed in.
pub async fn account(Caller(caller): Caller) -> HttpResponse {
    match caller {
        Ok(principal) => {
            let user = &principal.user;
            let body = format!(
                "<p>Signed in as <strong id=\"user\">{}</strong>.</p><p>Signed in with: {}</p>",
                escape(user.email_or_username()),
                escape(user.last_signed_in_method.as_deref().unwrap_or("unknown"))
            );
            page(actix_web::http::StatusCode::OK, "Your account", &body)
        }
        Err(_) => page(actix_web::http::StatusCode::UNAUTHORIZED, "Not signed in", "<p>Please sign in.</p>"),
    }
}
