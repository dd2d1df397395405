//! The sign-in page: provider buttons, the password form and `local_auth_enabled`, the
//! account page, sign-out, and the session cookie's attributes.

mod common;

use common::Server;
use reqwest::Method;
use serde_json::json;

fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

fn manual() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn configure(server: &Server, admin: &str, configuration: serde_json::Value) {
    let reply = server
        .call(Method::PATCH, "/v0/configuration", Some(admin), Some(json!({"configuration": configuration})))
        .await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

const IDP_METADATA: &str = r#"<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/metadata"><IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></IDPSSODescriptor></EntityDescriptor>"#;

#[tokio::test]
async fn the_page_lists_providers_and_the_password_form() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    configure(
        &server,
        &admin,
        json!({"openid_connect_providers": [{"id": "okta", "label": "Okta <Corp>", "client_id": "c",
            "client_secret": "s", "auto_create_users": false, "discovery_document_uri": "https://example.okta.com/.well-known/openid-configuration"}]}),
    )
    .await;
    let page = reqwest::get(server.url("/sign_in")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let html = page.text().await.unwrap();
    assert!(
        html.contains(&format!("href=\"{}/auth/oidc/okta\">Sign in with Okta &lt;Corp&gt;</a>", server.base)),
        "{html}"
    );
    assert!(html.contains("name=\"password\""), "{html}");
    // No inline script: the only script is Tessera's own file.
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 1, "{html}");
    assert!(scripts[0].starts_with(&format!(" src=\"{}/assets/tessera.js\"", server.base)), "{html}");
}

#[tokio::test]
async fn password_sign_in_sets_the_cookie_and_signs_out() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let created = server
        .post(
            "/v0/users",
            Some(&admin),
            json!({"user": {"email": "carol@example.com",
            "password": "a long password 1", "password_confirmation": "a long password 1"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let browser = manual();
    let form = [("email", "carol@example.com"), ("password", "a long password 1")];
    let signed_in = browser.post(server.url("/auth/identity/callback")).form(&form).send().await.unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], server.url("/account").as_str());
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"), "{cookie}");
    let account = browser.get(server.url("/account")).send().await.unwrap().text().await.unwrap();
    assert!(account.contains("carol@example.com") && account.contains("Signed in with: email"), "{account}");
    let record = server.get("/v0/users/carol@example.com", Some(&admin)).await.body["data"].clone();
    assert_eq!(record["last_signed_in_method"], "email");
    // Signed in, the sign-in page sends you to your account.
    let page = browser.get(server.url("/sign_in")).send().await.unwrap();
    assert_eq!(page.headers()["location"], server.url("/account").as_str());

    let out = browser.post(server.url("/sign_out")).send().await.unwrap();
    assert_eq!(out.status(), 303);
    assert_eq!(out.headers()["location"], server.url("/sign_in").as_str());
    assert_eq!(browser.get(server.url("/api/v1/users/me")).send().await.unwrap().status(), 401);

    let wrong = [("email", "carol@example.com"), ("password", "not the password")];
    let refused = browser.post(server.url("/auth/identity/callback")).form(&wrong).send().await.unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.text().await.unwrap().contains("Invalid email or password"));
    let empty = browser.post(server.url("/auth/identity/callback")).body("").send().await.unwrap();
    assert_eq!(empty.status(), 400);
    let forged = browser
        .post(server.url("/auth/identity/callback"))
        .header("Origin", "https://evil.example")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "login forgery from another site");
}

#[tokio::test]
async fn local_auth_disabled_hides_the_form_and_refuses_passwords() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    configure(
        &server,
        &admin,
        json!({"local_auth_enabled": false, "saml_identity_providers": [{"id": "entra", "label": "Entra ID",
            "base_url": format!("{}/auth/saml", server.base), "metadata": IDP_METADATA, "auto_create_users": false}]}),
    )
    .await;
    let html = reqwest::get(server.url("/sign_in")).await.unwrap().text().await.unwrap();
    assert!(!html.contains("name=\"password\""), "{html}");
    assert!(html.contains(&format!("href=\"{}/auth/saml/auth/signin/entra\">Sign in with Entra ID</a>", server.base)));
    let form = [("email", "admin"), ("password", "whatever it is")];
    let refused = browser().post(server.url("/auth/identity/callback")).form(&form).send().await.unwrap();
    assert_eq!(refused.status(), 404);
    assert!(refused.text().await.unwrap().contains("Local auth disabled"));
    // The SOAT API's password login is refused to people (they use SSO); admins keep it as a
    // break-glass login. A wrong password is still just "Invalid credentials".
    let created =
        server.post("/api/v1/users", Some(&admin), json!({"username": "erin", "password": "erins password"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let person =
        server.post("/api/v1/users/login", None, json!({"username": "erin", "password": "erins password"})).await;
    assert_eq!(person.status, 404, "{}", person.text);
    assert_eq!(person.body, json!({"error": "Local auth disabled"}));
    let wrong =
        server.post("/api/v1/users/login", None, json!({"username": "erin", "password": "not it at all"})).await;
    assert_eq!(wrong.status, 401, "{}", wrong.text);
    let admin_login =
        server.post("/api/v1/users/login", None, json!({"username": "admin", "password": "supersecret"})).await;
    assert_eq!(admin_login.status, 200, "{}", admin_login.text);
}

#[tokio::test]
async fn cookies_are_secure_when_the_external_url_is_https() {
    let server = Server::start_with(&[("TESSERA__SERVER__EXTERNAL_URL", "https://id.example.com")]).await;
    let admin = server.admin_token().await;
    server
        .post(
            "/v0/users",
            Some(&admin),
            json!({"user": {"email": "dan@example.com",
            "password": "a long password 2", "password_confirmation": "a long password 2"}}),
        )
        .await;
    let form = [("email", "dan@example.com"), ("password", "a long password 2")];
    let signed_in = manual().post(server.url("/auth/identity/callback")).form(&form).send().await.unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly"), "{cookie}");
    assert_eq!(signed_in.headers()["location"], "https://id.example.com/account");
}
