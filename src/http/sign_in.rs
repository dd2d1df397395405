//! The sign-in page (providers and the password form), password sign-in, the account page and
//! sign-out. Sessions are carried by an HttpOnly, SameSite=Lax cookie the APIs also accept.

use actix_web::cookie::{time::Duration as CookieAge, Cookie, SameSite};
use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;
use tessera_actors::model::CredentialKind;
use tessera_actors::provisioning_actor::{GetSignInChoices, Protocol, UpstreamSignOut};
use tessera_actors::session_actor::{LoginChannel, PasswordLogin, SignOut, SignedIn, LOCAL_AUTH_DISABLED};
use tessera_actors::{AuthFailure, DomainError};

use super::caller::{from_our_pages, session_cookie_name, Caller};
use maud::html;

use super::html::{message, page, sign_in_failed};
use super::tenant::Tenant;
use super::{ask, AppState};
use crate::http::routes::resource;

/// Registers the page routes (inside the tenant scope and at the root).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/sign_in").get(sign_in_page))
        .service(resource("/auth/identity/callback").post(password_sign_in))
        .service(resource("/sign_out").post(sign_out).delete(sign_out))
        .service(resource("/account").get(account));
}

/// A first-party cookie for our own pages: HttpOnly, `SameSite=Lax`, `Secure` over https;
/// `max_age` `None` for a browser-session cookie, zero to clear it.
pub fn browser_cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age: Option<CookieAge>,
) -> Cookie<'static> {
    let mut cookie =
        Cookie::build(name, value).path("/").http_only(true).same_site(SameSite::Lax).secure(state.is_https()).finish();
    if let Some(max_age) = max_age {
        cookie.set_max_age(max_age);
    }
    cookie
}

/// A redirect to the account page that sets the session cookie.
pub fn signed_in_redirect(state: &AppState, base_url: &str, signed_in: &SignedIn) -> HttpResponse {
    HttpResponse::SeeOther()
        .cookie(browser_cookie(state, session_cookie_name(state), signed_in.token.clone(), None))
        .insert_header((header::LOCATION, format!("{base_url}/account")))
        .finish()
}

/// `GET /sign_in`: "Sign in with …" for each provider, and the password form when local
/// auth is enabled. A signed-in visitor goes to the account page.
#[utoipa::path(
    get,
    path = "/sign_in",
    operation_id = "sign_in_page",
    tag = "sign-in",
    security(()),
    responses(
        (status = 200, description = "The sign-in page: a link per OIDC and SAML provider, and the password form when local auth is enabled.", content_type = "text/html", body = String),
        (status = 303, description = "Already signed in: to `/account`.", headers(("Location" = String))),
        (status = 503, description = "The configuration cannot be read.", content_type = "text/html", body = String),
    )
)]
pub async fn sign_in_page(state: web::Data<AppState>, Tenant(tenant): Tenant, Caller(caller): Caller) -> HttpResponse {
    let base_url = state.base_url(&tenant);
    if caller.is_ok() {
        return HttpResponse::SeeOther().insert_header((header::LOCATION, format!("{base_url}/account"))).finish();
    }
    let choices = match ask(&state.domain.provisioning, GetSignInChoices { tenant }).await {
        Ok(choices) => choices,
        Err(error) => return sign_in_failed(error, &base_url),
    };
    let links: Vec<(String, &str)> = choices
        .providers
        .iter()
        .map(|provider| {
            let path = match provider.protocol {
                Protocol::Oidc => format!("{base_url}/auth/oidc/{}", provider.id),
                Protocol::Saml => format!("{base_url}/auth/saml/auth/signin/{}", provider.id),
            };
            (path, provider.label.as_str())
        })
        .collect();
    let body = html! {
        @if !links.is_empty() {
            ul.plain {
                @for (path, label) in &links { li { a.button.secondary href=(path) { "Sign in with " (label) } } }
            }
        }
        @if choices.local_auth_enabled {
            form.card method="post" action={ (base_url) "/auth/identity/callback" } {
                label for="email" { "Email or username" }
                input #email name="email" type="text" autocomplete="username" required;
                label for="password" { "Password" }
                input #password name="password" type="password" autocomplete="current-password" required;
                p { button type="submit" { "Sign in" } }
            }
        }
        @if links.is_empty() && !choices.local_auth_enabled {
            p { "No sign-in method is configured for this directory." }
        }
    };
    page(StatusCode::OK, &base_url, "Sign in", body)
}

/// The password form.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct PasswordForm {
    /// The email or username.
    email: String,
    password: String,
}

/// `POST /auth/identity/callback`: password sign-in from the form; 404 "Local auth disabled"
/// when the tenant turned it off.
#[utoipa::path(
    post,
    path = "/auth/identity/callback",
    operation_id = "password_sign_in",
    tag = "sign-in",
    security(()),
    request_body(content = PasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Signed in: the session cookie is set and the browser goes to `/account`.", headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 400, description = "The form lacks the email or password, or they are too long.", content_type = "text/html", body = String),
        (status = 401, description = "Invalid email or password.", content_type = "text/html", body = String),
        (status = 403, description = "The form was not posted from this site, or the account is disabled.", content_type = "text/html", body = String),
        (status = 404, description = "Local auth disabled for this tenant.", content_type = "text/html", body = String),
        (status = 429, description = "Too many failed sign-ins; try again after `Retry-After` seconds.", content_type = "text/html", body = String, headers(("Retry-After" = String))),
        (status = 503, description = "Too many sign-ins in progress, or the service is unavailable.", content_type = "text/html", body = String, headers(("Retry-After" = String))),
    )
)]
pub async fn password_sign_in(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    form: Result<web::Form<PasswordForm>, actix_web::Error>,
) -> HttpResponse {
    let base_url = state.base_url(&tenant);
    if !from_our_pages(&req, &base_url) {
        return message(StatusCode::FORBIDDEN, "Sign-in failed", "The form was not posted from this site.", &base_url);
    }
    let Ok(form) = form else {
        return message(StatusCode::BAD_REQUEST, "Sign-in failed", "Enter your email and password.", &base_url);
    };
    let form = form.into_inner();
    let origin = state.origin(&req);
    let login =
        PasswordLogin { tenant, username: form.email, password: form.password, channel: LoginChannel::Form, origin };
    match ask(&state.domain.sessions, login).await {
        Ok(signed_in) => signed_in_redirect(&state, &base_url, &signed_in),
        Err(DomainError::SignInRefused(_)) => {
            message(StatusCode::NOT_FOUND, LOCAL_AUTH_DISABLED, LOCAL_AUTH_DISABLED, &base_url)
        }
        Err(DomainError::Unauthenticated(AuthFailure::Disabled)) => {
            message(StatusCode::FORBIDDEN, "Sign-in failed", "This account is disabled.", &base_url)
        }
        Err(DomainError::Unauthenticated(_)) => {
            message(StatusCode::UNAUTHORIZED, "Sign-in failed", "Invalid email or password.", &base_url)
        }
        Err(DomainError::Invalid(_)) => message(
            StatusCode::BAD_REQUEST,
            "Sign-in failed",
            "The email, username or password is too long.",
            &base_url,
        ),
        Err(DomainError::Throttled(seconds)) => {
            let text = format!("Too many failed sign-ins. Try again in {seconds} seconds.");
            let mut page = message(StatusCode::TOO_MANY_REQUESTS, "Sign-in paused", &text, &base_url);
            page.headers_mut().insert(header::RETRY_AFTER, seconds.into());
            page
        }
        Err(DomainError::Overloaded(seconds)) => {
            let text = format!("Too many sign-ins are in progress. Try again in {seconds} seconds.");
            let mut page = message(StatusCode::SERVICE_UNAVAILABLE, "Sign-in busy", &text, &base_url);
            page.headers_mut().insert(header::RETRY_AFTER, seconds.into());
            page
        }
        Err(error) => sign_in_failed(error, &base_url),
    }
}

/// `GET /account`: who is signed in, with a sign-out button.
#[utoipa::path(
    get,
    path = "/account",
    operation_id = "account_page",
    tag = "sign-in",
    responses(
        (status = 200, description = "Who is signed in, how, and a sign-out button.", content_type = "text/html", body = String),
        (status = 401, description = "Not signed in.", content_type = "text/html", body = String),
    )
)]
pub async fn account(state: web::Data<AppState>, Tenant(tenant): Tenant, Caller(caller): Caller) -> HttpResponse {
    let base_url = state.base_url(&tenant);
    let Ok(principal) = caller else {
        return message(StatusCode::UNAUTHORIZED, "Not signed in", "Please sign in.", &base_url);
    };
    let user = &principal.user;
    let body = html! {
        div.card {
            p { "Signed in as " strong #user { (user.email_or_username()) } "." }
            p { "Signed in with: " (user.last_signed_in_method.as_deref().unwrap_or("unknown")) }
            p { a href={ (base_url) "/console" } { "Open the console" } }
            form method="post" action={ (base_url) "/sign_out" } { button type="submit" { "Sign out" } }
        }
    };
    page(StatusCode::OK, &base_url, "Your account", body)
}

/// `POST|DELETE /sign_out`: ends the browser's session and clears the cookie; continues to the
/// OIDC provider's logout when the session came from one that supports it.
#[utoipa::path(
    method(post, delete),
    path = "/sign_out",
    operation_id = "sign_out",
    tag = "sign-in",
    security((), ("session_cookie" = [])),
    responses(
        (status = 303, description = "Signed out: the cookie is cleared and the browser goes to `/sign_in`, or to the OIDC provider's logout.", headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 403, description = "Not posted from this site.", content_type = "text/html", body = String),
    )
)]
pub async fn sign_out(
    req: HttpRequest,
    state: web::Data<AppState>,
    Tenant(tenant): Tenant,
    Caller(caller): Caller,
) -> HttpResponse {
    let base_url = state.base_url(&tenant);
    if !from_our_pages(&req, &base_url) {
        return message(StatusCode::FORBIDDEN, "Sign-out failed", "The form was not posted from this site.", &base_url);
    }
    let mut upstream = None;
    if let Ok(principal) = caller {
        if let CredentialKind::Session(session) = principal.credential {
            match ask(&state.domain.sessions, SignOut { tenant: tenant.clone(), session }).await {
                Ok(Some(ended)) if ended.method != "email" => {
                    upstream = ask(&state.domain.provisioning, UpstreamSignOut { tenant, method: ended.method })
                        .await
                        .ok()
                        .flatten();
                }
                Ok(_) => {}
                // The cookie is cleared anyway; the session record expires on its own.
                Err(error) => tracing::error!(%error, "ending the session failed"),
            }
        }
    }
    let cleared = browser_cookie(&state, session_cookie_name(&state), String::new(), Some(CookieAge::ZERO));
    let location = upstream.unwrap_or_else(|| format!("{base_url}/sign_in"));
    HttpResponse::SeeOther().cookie(cleared).insert_header((header::LOCATION, location)).finish()
}
