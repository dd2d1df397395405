//! The browser pages and the operational routes: what is not a JSON API of a dialect.

// These types describe the wire format for the document; the handlers read and write it by hand.
#![allow(dead_code)]

use serde::Deserialize;
use utoipa::ToSchema;

/// `{"status": "ok"}` (liveness) or `{"status": "ready"}` (readiness).
#[derive(Deserialize, ToSchema)]
pub struct HealthStatus {
    pub status: String,
}

/// `{"status": "ready", "credential_cache": "live"}`: ready, and how cached credentials learn of
/// changes made through other replicas.
#[derive(Deserialize, ToSchema)]
pub struct Ready {
    /// `ready`.
    pub status: String,
    /// `live`: a change feed invalidates cached credentials within milliseconds; `ttl`: the feed
    /// is down and cached credentials are trusted for one second at most.
    pub credential_cache: String,
}

/// `{"status": "unavailable", "problems": […], "credential_cache": …}`: what is not ready (no
/// tenant data, no secrets).
#[derive(Deserialize, ToSchema)]
pub struct NotReady {
    /// `unavailable`.
    pub status: String,
    pub problems: Vec<String>,
    /// As in [`Ready`].
    pub credential_cache: String,
}

/// `GET /auth/oidc/{provider}/callback/`: the same callback with a trailing slash (the default
/// redirect URI has one); documented apart since a route template names one path.
#[utoipa::path(
    get,
    path = "/auth/oidc/{provider}/callback/",
    operation_id = "oidc_callback_slash",
    tag = "sign-in",
    security(()),
    params(("provider" = String, Path, description = "The provider's id."), crate::http::sso::Callback),
    responses(
        (status = 303, description = "Signed in: the session cookie is set and the browser goes to `/account`.",
            headers(("Location" = String), ("Set-Cookie" = String))),
        (status = 400, description = "A malformed query string.", body = super::soat::SoatErrorBody),
        (status = 403, description = "Refused (provider error, state invalid, expired or started in another \
            browser, no verified email, no matching account, disabled user): an HTML page.",
            content_type = "text/html", body = String),
        (status = 404, description = "No such provider: an HTML page.", content_type = "text/html", body = String),
        (status = 503, description = "The provider or the database is unreachable: an HTML page.",
            content_type = "text/html", body = String),
    )
)]
pub fn finish_oidc_slash() {}
