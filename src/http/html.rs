//! Server-rendered pages for people in a browser (sign-in, account, the console): maud
//! templates, so every value is escaped by the template engine; one stylesheet and one small
//! script served by Tessera itself (`/assets/…`), nothing inline and nothing from elsewhere.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;
use maud::{html, Markup, DOCTYPE};
use tessera_actors::DomainError;

/// The policy every page is served with: only our own stylesheet, script and form targets;
/// no inline script or style, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// A whole document: `title`, an optional navigation bar, and the body. `base_url` is where the
/// tenant's assets are served.
pub fn document(base_url: &str, title: &str, nav: Option<Markup>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Tessera" }
                link rel="stylesheet" href={ (base_url) "/assets/tessera.css" };
                script src={ (base_url) "/assets/tessera.js" } defer {}
            }
            body {
                @if let Some(nav) = nav { (nav) }
                main id="main" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// Answers `markup` with `status` and the headers every page carries.
pub fn respond(status: StatusCode, markup: Markup) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "same-origin"))
        .insert_header(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .body(markup.into_string())
}

/// A page without navigation (sign-in, account, errors of the sign-in flows).
pub fn page(status: StatusCode, base_url: &str, title: &str, body: Markup) -> HttpResponse {
    respond(status, document(base_url, title, None, body))
}

/// A page with one paragraph of text and a link back to the sign-in page.
pub fn message(status: StatusCode, title: &str, text: &str, base_url: &str) -> HttpResponse {
    let body = html! {
        p { (text) }
        p { a href={ (base_url) "/sign_in" } { "Back to sign-in" } }
    };
    page(status, base_url, title, body)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_by_the_template() {
        let markup = document("/t/a\"b", "<script>x</script>", None, html! { p { ("'&") } }).into_string();
        assert!(markup.contains("&lt;script&gt;x&lt;/script&gt;"), "{markup}");
        assert!(markup.contains("/t/a&quot;b/assets/tessera.css"), "{markup}");
        assert!(markup.contains("'&amp;"), "{markup}");
        assert!(!markup.contains("<script>x"), "{markup}");
    }
}
