//! OpenID Connect sign-in against a real provider (npm `oidc-provider`) started on loopback:
//! auto-create on and off, an existing user, claims only in userinfo, state checks, disabled users.

mod common;

use common::oidc::OidcProvider;
use common::Server;
use reqwest::Method;
use serde_json::json;

const CLIENT_ID: &str = "tessera";
const CLIENT_SECRET: &str = "a-client-secret";

/// A browser-like client: follows redirects, keeps cookies.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

const USERS: &str = r#"[{"sub":"u1","email":"alice@idp.test","email_verified":true,"name":"Alice"},
  {"sub":"u2","email":"bob@idp.test","email_verified":false,"name":"Bob"},
  {"sub":"u3","name":"No Email"}]"#;

async fn setup(auto_create: bool, claims_in_id_token: bool) -> (Server, OidcProvider, String) {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let redirect = format!("{}/auth/oidc/idp/callback/", server.base);
    let provider = OidcProvider::start(CLIENT_ID, CLIENT_SECRET, &[redirect], USERS, claims_in_id_token);
    let configuration = json!({"configuration": {"openid_connect_providers": [{
        "id": "idp", "label": "Test IdP", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "discovery_document_uri": format!("{}/.well-known/openid-configuration", provider.issuer),
        "auto_create_users": auto_create}]}});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(configuration)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    (server, provider, admin)
}

/// Runs the whole browser flow; returns the final status, URL and body.
async fn sign_in(server: &Server, client: &reqwest::Client) -> (u16, String, String) {
    let response = client.get(server.url("/auth/oidc/idp")).send().await.unwrap();
    let status = response.status().as_u16();
    let url = response.url().to_string();
    (status, url, response.text().await.unwrap())
}

#[tokio::test]
async fn auto_create_on_creates_an_unprivileged_user_and_signs_in() {
    let (server, provider, admin) = setup(true, false).await;
    provider.login_as("u1").await;
    let browser = browser();
    let (status, url, body) = sign_in(&server, &browser).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(url, server.url("/account"));
    assert!(body.contains("alice@idp.test"), "{body}");
    // The cookie is a credential for the APIs too.
    let me =
        browser.get(server.url("/api/v1/users/me")).send().await.unwrap().json::<serde_json::Value>().await.unwrap();
    assert_eq!(me["username"], "alice@idp.test");
    assert_eq!(me["role"], "user");
    let record = server.get("/v0/users/alice@idp.test", Some(&admin)).await.body["data"].clone();
    assert_eq!(record["last_signed_in_method"], "idp");
    assert_eq!(record["role"], "unprivileged");
    // Signing in again finds the same account through the link.
    provider.login_as("u1").await;
    let (status, _, _) = sign_in(&server, &reqwest::Client::builder().cookie_store(true).build().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(server.get("/v0/users", Some(&admin)).await.body["data"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn auto_create_off_refuses_unknown_users_but_admits_provisioned_ones() {
    let (server, provider, admin) = setup(false, true).await;
    provider.login_as("u1").await;
    let (status, _, body) = sign_in(&server, &browser()).await;
    assert_eq!(status, 403);
    assert!(body.contains("user not found and auto_create_users disabled"), "{body}");
    assert_eq!(server.get("/v0/users", Some(&admin)).await.body["data"].as_array().unwrap().len(), 1);

    // Provisioned beforehand (by email, any case), the same person gets in.
    server.post("/v0/users", Some(&admin), json!({"user": {"email": "ALICE@idp.test"}})).await;
    provider.login_as("u1").await;
    let (status, url, _) = sign_in(&server, &browser()).await;
    assert_eq!((status, url), (200, server.url("/account")));
}

#[tokio::test]
async fn an_unverified_email_never_links_to_an_existing_account() {
    let (server, provider, admin) = setup(true, false).await;
    server.post("/v0/users", Some(&admin), json!({"user": {"email": "bob@idp.test", "role": "admin"}})).await;
    provider.login_as("u2").await;
    let (status, _, body) = sign_in(&server, &browser()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("did not verify"), "{body}");
    // And a provider that supplies no email cannot create an account.
    provider.login_as("u3").await;
    let (status, _, body) = sign_in(&server, &browser()).await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn state_is_single_use_and_must_match() {
    let (server, provider, _) = setup(true, false).await;
    provider.login_as("u1").await;
    // Stop at the callback to capture it.
    let manual =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut url = server.url("/auth/oidc/idp");
    let callback = loop {
        let response = manual.get(&url).send().await.unwrap();
        let location = response.headers().get("location").expect("a redirect").to_str().unwrap().to_owned();
        let next = if location.starts_with("http") { location } else { format!("{}{location}", provider.issuer) };
        if next.starts_with(&server.base) {
            break next;
        }
        url = next;
    };
    let forged = callback.replace("state=", "state=x");
    let response = manual.get(&forged).send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("state"));
    // The right state from another browser (a forwarded callback link) is refused, and spent not.
    let elsewhere = reqwest::get(&callback).await.unwrap();
    assert_eq!(elsewhere.status(), 403);
    assert!(elsewhere.text().await.unwrap().contains("another browser"));
    let first = manual.get(&callback).send().await.unwrap();
    assert_eq!(first.status(), 303, "the real state works once");
    let cookie = first
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_owned())
        .find(|value| value.starts_with("tessera_session="))
        .expect("a session cookie");
    assert!(
        cookie.starts_with("tessera_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(!cookie.contains("Secure"), "plain http: {cookie}");
    assert_eq!(first.headers()["location"], server.url("/account").as_str());
    assert_eq!(manual.get(&callback).send().await.unwrap().status(), 403, "and only once");
    let other_provider = callback.replace("/auth/oidc/idp/", "/auth/oidc/other/");
    assert_eq!(reqwest::get(&other_provider).await.unwrap().status(), 403);
}

#[tokio::test]
async fn unknown_providers_and_provider_errors_are_pages() {
    let (server, _provider, _) = setup(true, false).await;
    let response = reqwest::get(server.url("/auth/oidc/nope")).await.unwrap();
    assert_eq!(response.status(), 404);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let denied =
        reqwest::get(server.url("/auth/oidc/idp/callback?error=access_denied&error_description=nope")).await.unwrap();
    assert_eq!(denied.status(), 403);
    let page = denied.text().await.unwrap();
    assert!(page.contains("the provider refused: access_denied") && !page.contains("nope"), "{page}");
    let phishing = reqwest::get(server.url("/auth/oidc/idp/callback?error=Call%20+1-555%20now")).await.unwrap();
    let page = phishing.text().await.unwrap();
    // Not just "555": the page links back to the server, whose port may contain it.
    assert!(
        page.contains("the provider refused: error") && !page.contains("1-555") && !page.contains("Call"),
        "{page}"
    );
    let account = reqwest::get(server.url("/account")).await.unwrap();
    assert_eq!(account.status(), 401);
}
