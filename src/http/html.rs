//! Plain server-rendered pages for people in a browser: no scripts, no external assets.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use tessera_actors::DomainError;

/// Escapes text for HTML element content and quoted attributes.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A page with a title and a body (already escaped by the caller where needed).
pub fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head>\
         <body style=\"font-family:sans-serif;max-width:36rem;margin:4rem auto\"><h1>{title}</h1>{body}</body></html>",
        title = escape(title)
    );
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .body(html)
}

/// A page with one paragraph of (unescaped) text and a link back to the sign-in page.
pub fn message(status: StatusCode, title: &str, text: &str, base_url: &str) -> HttpResponse {
    let body = format!("<p>{}</p><p><a href=\"{}/sign_in\">Back to sign-in</a></p>", escape(text), escape(base_url));
    page(status, title, &body)
}

/// The page for a failed sign-in (403, as Firezone answers), or 404 for an unknown provider.
pub fn sign_in_failed(error: DomainError, base_url: &str) -> HttpResponse {
    match error {
        DomainError::SignInRefused(reason) => message(StatusCode::FORBIDDEN, "Sign-in failed", &reason, base_url),
        DomainError::NotFound => {
            message(StatusCode::NOT_FOUND, "Unknown provider", "No such sign-in provider.", base_url)
        }
        DomainError::Unauthenticated(_) => {
            message(StatusCode::FORBIDDEN, "Sign-in failed", "This account is disabled.", base_url)
        }
        other => {
            tracing::error!(error = %other, "sign-in failed");
            message(StatusCode::SERVICE_UNAVAILABLE, "Sign-in failed", "Please try again later.", base_url)
        }
    }
}
