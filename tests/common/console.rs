//! A browser's view of the console for HTTP tests: the session cookie, same-origin form posts
//! carrying the page's CSRF token, and no redirect following (tests assert each step).

#![allow(dead_code)]

use reqwest::header::{HeaderMap, CONTENT_TYPE, COOKIE, ORIGIN};
use reqwest::redirect::Policy;

use super::Server;

/// One answer: status, headers and the HTML.
pub struct PageReply {
    pub status: u16,
    pub headers: HeaderMap,
    pub html: String,
}

impl PageReply {
    /// The CSRF token of the page's forms.
    pub fn csrf(&self) -> String {
        let marker = "name=\"csrf\" value=\"";
        let start =
            self.html.find(marker).unwrap_or_else(|| panic!("no form on the page: {}", self.html)) + marker.len();
        self.html[start..start + 64].to_owned()
    }

    /// Where a redirect goes.
    pub fn location(&self) -> &str {
        self.headers.get("location").and_then(|value| value.to_str().ok()).unwrap_or("")
    }
}

/// A browser signed in to the console of the tenant at `prefix` with a session token.
pub struct ConsoleBrowser<'a> {
    pub server: &'a Server,
    pub prefix: String,
    pub token: String,
    client: reqwest::Client,
}

impl<'a> ConsoleBrowser<'a> {
    pub fn new(server: &'a Server, prefix: &str, token: &str) -> Self {
        let client = reqwest::Client::builder().redirect(Policy::none()).build().unwrap();
        ConsoleBrowser { server, prefix: prefix.to_owned(), token: token.to_owned(), client }
    }

    /// The URL of a console path of this tenant.
    pub fn url(&self, path: &str) -> String {
        self.server.url(&format!("{}/console{path}", self.prefix))
    }

    /// `GET` a console path.
    pub async fn get(&self, path: &str) -> PageReply {
        let request = self.client.get(self.url(path)).header(COOKIE, format!("tessera_session={}", self.token));
        reply(request).await
    }

    /// Posts a form (from our own origin) with `csrf` and `fields`.
    pub async fn post(&self, path: &str, csrf: &str, fields: &[(&str, &str)]) -> PageReply {
        let mut form: Vec<(&str, &str)> = vec![("csrf", csrf)];
        form.extend_from_slice(fields);
        self.post_raw(path, &serde_urlencoded::to_string(&form).unwrap(), Some(&self.server.base)).await
    }

    /// Posts a raw url-encoded body with an optional `Origin`.
    pub async fn post_raw(&self, path: &str, body: &str, origin: Option<&str>) -> PageReply {
        let mut request = self
            .client
            .post(self.url(path))
            .header(COOKIE, format!("tessera_session={}", self.token))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(origin) = origin {
            request = request.header(ORIGIN, origin);
        }
        reply(request).await
    }

    /// Loads `page`, then posts its form to `path`: the usual click.
    pub async fn submit(&self, page: &str, path: &str, fields: &[(&str, &str)]) -> PageReply {
        let csrf = self.get(page).await.csrf();
        self.post(path, &csrf, fields).await
    }
}

async fn reply(request: reqwest::RequestBuilder) -> PageReply {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let html = response.text().await.unwrap_or_default();
    PageReply { status, headers, html }
}
