//! Nothing a client sends as a credential reaches the log: a full OIDC sign-in (its `code` and
//! `state`), a SAML sign-in (its `SAMLResponse`), password sign-ins (right and wrong), session
//! tokens, API keys and provider secrets — with the server logging at debug level, and with
//! failing requests (which log errors inside the request's span) among them.

mod common;

use common::oidc::OidcProvider;
use common::saml::{hidden_field, SamlIdp};
use common::Server;
use reqwest::Method;
use serde_json::json;

const CLIENT_SECRET: &str = "client-secret-that-must-not-be-logged";
const PASSWORD: &str = "password-that-must-not-be-logged";

fn manual() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// Follows an OIDC sign-in by hand up to our callback URL, which carries `code` and `state`.
async fn oidc_callback(server: &Server, provider: &OidcProvider, browser: &reqwest::Client) -> String {
    let mut url = server.url("/auth/oidc/idp");
    loop {
        let response = browser.get(&url).send().await.unwrap();
        let location = response.headers().get("location").expect("a redirect").to_str().unwrap().to_owned();
        let next = if location.starts_with("http") { location } else { format!("{}{location}", provider.issuer) };
        if next.starts_with(&server.base) {
            return next;
        }
        url = next;
    }
}

fn query_value(url: &str, key: &str) -> String {
    let url = reqwest::Url::parse(url).unwrap();
    url.query_pairs().find(|(name, _)| name == key).map(|(_, value)| value.into_owned()).unwrap()
}

#[tokio::test]
async fn credentials_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tessera.log");
    let server = Server::start_logging_to(&[("TESSERA__LOG__LEVEL", "debug")], &log).await;
    let admin = server.admin_token().await;
    let redirect = format!("{}/auth/oidc/idp/callback/", server.base);
    let users = r#"[{"sub":"u1","email":"alice@idp.test","email_verified":true}]"#;
    let provider = OidcProvider::start("tessera", CLIENT_SECRET, &[redirect], users, true);
    let idp =
        SamlIdp::start(&server.url("/auth/saml/sp/metadata/corp"), r#"[{"id":"bob","email":"bob@idp.test"}]"#).await;
    let configuration = json!({"configuration": {
        "openid_connect_providers": [{"id": "idp", "label": "IdP", "client_id": "tessera",
            "client_secret": CLIENT_SECRET, "auto_create_users": true,
            "discovery_document_uri": format!("{}/.well-known/openid-configuration", provider.issuer)}],
        "saml_identity_providers": [{"id": "corp", "label": "Corp", "metadata": idp.metadata,
            "auto_create_users": true}]}});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(configuration)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    // OIDC: a good callback, then the same one again (refused: state spent), then a bad code.
    provider.login_as("u1").await;
    let browser = manual();
    let callback = oidc_callback(&server, &provider, &browser).await;
    let (code, state) = (query_value(&callback, "code"), query_value(&callback, "state"));
    assert_eq!(browser.get(&callback).send().await.unwrap().status(), 303);
    assert_eq!(browser.get(&callback).send().await.unwrap().status(), 403);
    let forged = callback.replace(&format!("code={code}"), "code=forged-code-value");
    assert_eq!(browser.get(&forged).send().await.unwrap().status(), 403);

    // SAML: a good response, then its replay.
    let saml = manual();
    let start = saml.get(server.url("/auth/saml/auth/signin/corp")).send().await.unwrap();
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let html = saml.get(format!("{location}&user=bob")).send().await.unwrap().text().await.unwrap();
    let saml_response = hidden_field(&html, "SAMLResponse").unwrap();
    for expected in [303, 403] {
        let reply = saml
            .post(server.url("/auth/saml/sp/consume/corp"))
            .form(&[("SAMLResponse", saml_response.as_str())])
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), expected);
    }

    // Passwords, right and wrong, on both sign-in paths; a token and an API key in use.
    let reply = server.post("/api/v1/users", Some(&admin), json!({"username": "carol", "password": PASSWORD})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let token = server.login("carol", PASSWORD).await;
    let wrong = server.post("/api/v1/users/login", None, json!({"username": "carol", "password": "x-wrong-x"})).await;
    assert_eq!(wrong.status, 401);
    let form = manual()
        .post(server.url("/auth/identity/callback"))
        .form(&[("email", "carol"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 303);
    let key = server.post("/api/v1/api-keys", Some(&token), json!({"name": "k"})).await.body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(server.get("/api/v1/users/me", Some(&key)).await.status, 200);
    assert_eq!(server.get("/api/v1/users/me?token=in-the-query-xyz", Some(&token)).await.status, 200);

    server.stop();
    let written = std::fs::read_to_string(&log).unwrap();
    assert!(written.contains("signed in through OIDC"), "the log was written at debug level:\n{written}");
    assert!(written.contains("/auth/oidc/idp/callback/") && written.contains("served"), "with access lines");
    let secrets = [
        ("OIDC code", code.as_str()),
        ("OIDC state", state.as_str()),
        ("forged code", "forged-code-value"),
        ("SAMLResponse", &saml_response[..48]),
        ("password", PASSWORD),
        ("wrong password", "x-wrong-x"),
        ("session token", token.as_str()),
        ("admin token", admin.as_str()),
        ("API key", key.as_str()),
        ("client secret", CLIENT_SECRET),
        ("query string", "in-the-query-xyz"),
    ];
    for (what, secret) in secrets {
        assert!(!written.contains(secret), "the log contains the {what}");
    }
}
