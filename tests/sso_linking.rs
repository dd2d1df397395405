//! Which account a first OIDC/SAML sign-in may attach to, against the real providers: an
//! existing link; a *verified* email of an account with no password and no linked identity
//! (pre-provisioned); any account with that email only where the provider's
//! `link_existing_by_email` is on; never by username, never by an unverified email. And the
//! administrators' deliberate link and unlink (`/api/v1/users/{id}/identities`).

mod common;

use common::oidc::OidcProvider;
use common::saml::{idp_response, post_acs, SamlIdp};
use common::Server;
use reqwest::Method;
use serde_json::{json, Value};

const CLIENT_ID: &str = "tessera";
const CLIENT_SECRET: &str = "a-client-secret";
const ACCOUNT_EXISTS: &str = "An account with this email already exists; ask an administrator to link it.";

const OIDC_USERS: &str = r#"[{"sub":"u1","email":"alice@idp.test","email_verified":true},
  {"sub":"u2","email":"bob@idp.test","email_verified":false},
  {"sub":"boss","email":"boss@idp.test","email_verified":true},
  {"sub":"carol","email":"carol@idp.test","email_verified":true},
  {"sub":"ops","email":"OPS@idp.test","email_verified":true},
  {"sub":"ops2","email":"ops@idp.test","email_verified":true}]"#;

/// A server with one OIDC provider `idp`; `extra` adds provider fields.
async fn oidc_setup(auto_create: bool, extra: Value) -> (Server, OidcProvider, String) {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let redirect = format!("{}/auth/oidc/idp/callback/", server.base);
    let provider = OidcProvider::start(CLIENT_ID, CLIENT_SECRET, &[redirect], OIDC_USERS, true);
    let mut config = json!({"id": "idp", "label": "Test IdP", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "discovery_document_uri": format!("{}/.well-known/openid-configuration", provider.issuer),
        "auto_create_users": auto_create});
    for (key, value) in extra.as_object().unwrap() {
        config[key] = value.clone();
    }
    let body = json!({"configuration": {"openid_connect_providers": [config]}});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    (server, provider, admin)
}

/// Signs `sub` in through the provider in a fresh browser: (status, final URL, body, browser).
async fn oidc_sign_in(server: &Server, provider: &OidcProvider, sub: &str) -> (u16, String, String, reqwest::Client) {
    provider.login_as(sub).await;
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let response = browser.get(server.url("/auth/oidc/idp")).send().await.unwrap();
    let (status, url) = (response.status().as_u16(), response.url().to_string());
    (status, url, response.text().await.unwrap(), browser)
}

async fn me(browser: &reqwest::Client, server: &Server) -> Value {
    browser.get(server.url("/api/v1/users/me")).send().await.unwrap().json().await.unwrap()
}

/// A Firezone user (by email), with a password if given: its SOAT id.
async fn firezone_user(server: &Server, admin: &str, email: &str, role: &str, password: Option<&str>) -> String {
    let mut user = json!({"email": email, "role": role});
    if let Some(password) = password {
        user["password"] = json!(password);
        user["password_confirmation"] = json!(password);
    }
    let reply = server.post("/v0/users", Some(admin), json!({"user": user})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let uuid = reply.body["data"]["id"].as_str().unwrap().replace('-', "");
    format!("usr_{uuid}")
}

async fn identities(server: &Server, admin: &str, user: &str) -> Vec<Value> {
    let reply = server.get(&format!("/api/v1/users/{user}/identities"), Some(admin)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body.as_array().unwrap().clone()
}

async fn user_count(server: &Server, admin: &str) -> usize {
    server.get("/v0/users", Some(admin)).await.body["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_verified_email_of_an_admin_with_a_password_is_refused() {
    let (server, provider, admin) = oidc_setup(true, json!({})).await;
    let boss = firezone_user(&server, &admin, "boss@idp.test", "admin", Some("the boss password")).await;
    let (status, _, body, _) = oidc_sign_in(&server, &provider, "boss").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains(&ACCOUNT_EXISTS.replace('\'', "&#39;")), "{body}");
    assert_eq!(identities(&server, &admin, &boss).await, Vec::<Value>::new(), "nothing was linked");
    assert_eq!(user_count(&server, &admin).await, 2, "and nothing was created");
    // The account's own password still works, and its role is untouched.
    let token = server.login("boss@idp.test", "the boss password").await;
    assert_eq!(server.get("/api/v1/users/me", Some(&token)).await.body["role"], "admin");
}

#[tokio::test]
async fn an_unverified_email_is_refused_and_never_links() {
    let (server, provider, admin) = oidc_setup(true, json!({"link_existing_by_email": true})).await;
    let bob = firezone_user(&server, &admin, "bob@idp.test", "unprivileged", None).await;
    let (status, _, body, _) = oidc_sign_in(&server, &provider, "u2").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("did not verify"), "{body}");
    assert!(identities(&server, &admin, &bob).await.is_empty());
}

#[tokio::test]
async fn an_email_equal_to_a_username_is_refused() {
    let (server, provider, admin) = oidc_setup(true, json!({})).await;
    // A SOAT user whose username looks like the address, without an email of its own.
    let reply = server
        .post("/api/v1/users", Some(&admin), json!({"username": "carol@idp.test", "password": "carolpass"}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let carol = reply.body["id"].as_str().unwrap().to_owned();
    let (status, _, body, _) = oidc_sign_in(&server, &provider, "carol").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains(&ACCOUNT_EXISTS.replace('\'', "&#39;")), "{body}");
    assert!(identities(&server, &admin, &carol).await.is_empty());
    assert_eq!(user_count(&server, &admin).await, 2);
}

#[tokio::test]
async fn a_pre_provisioned_admin_without_password_signs_in_and_is_linked_once() {
    let (server, provider, admin) = oidc_setup(false, json!({})).await;
    let ops = firezone_user(&server, &admin, "ops@idp.test", "admin", None).await;
    // The provider's address differs in case only.
    let (status, url, body, browser) = oidc_sign_in(&server, &provider, "ops").await;
    assert_eq!((status, url.as_str()), (200, server.url("/account").as_str()), "{body}");
    assert_eq!(me(&browser, &server).await["role"], "admin");
    let links = identities(&server, &admin, &ops).await;
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0]["provider"], "idp");
    assert_eq!(links[0]["subject"], "ops");
    assert_eq!(links[0]["issuer"], provider.issuer.as_str());
    assert!(links[0]["id"].as_str().unwrap().starts_with("idn_"));
    // Linked now: another subject asserting the same verified email is a different person.
    let (status, _, body, _) = oidc_sign_in(&server, &provider, "ops2").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("ask an administrator"), "{body}");
    // The linked subject keeps signing in.
    let (status, _, _, _) = oidc_sign_in(&server, &provider, "ops").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn link_existing_by_email_opts_in_to_accounts_with_a_password() {
    let (server, provider, admin) = oidc_setup(false, json!({"link_existing_by_email": true})).await;
    let reply = server.get("/v0/configuration", Some(&admin)).await;
    assert_eq!(reply.body["data"]["openid_connect_providers"][0]["link_existing_by_email"], true);
    let boss = firezone_user(&server, &admin, "boss@idp.test", "admin", Some("the boss password")).await;
    let (status, url, body, browser) = oidc_sign_in(&server, &provider, "boss").await;
    assert_eq!((status, url.as_str()), (200, server.url("/account").as_str()), "{body}");
    assert_eq!(me(&browser, &server).await["id"], boss.as_str());
    assert_eq!(identities(&server, &admin, &boss).await.len(), 1);
    // A wrong type for the option is a validation error, as for the other flags.
    let bad = json!({"configuration": {"openid_connect_providers": [{"id": "idp", "label": "x", "client_id": "c",
        "client_secret": "s", "discovery_document_uri": "https://x.test/.well-known/openid-configuration",
        "auto_create_users": false, "link_existing_by_email": "yes"}]}});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(bad)).await;
    assert_eq!(reply.status, 422, "{}", reply.text);
    assert_eq!(reply.body["errors"]["openid_connect_providers"][0]["link_existing_by_email"], json!(["is invalid"]));
}

#[tokio::test]
async fn administrators_link_and_unlink_identities_deliberately() {
    let (server, provider, admin) = oidc_setup(false, json!({})).await;
    let reply = server.post("/api/v1/users", Some(&admin), json!({"username": "dave", "password": "davepass1"})).await;
    let dave = reply.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/users/{dave}/identities");

    // Bad input and unknown providers are 4xx.
    assert_eq!(server.post(&path, Some(&admin), json!({"provider": "idp"})).await.status, 400);
    let reply = server.post(&path, Some(&admin), json!({"provider": "nope", "subject": "u1"})).await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    let missing = "/api/v1/users/usr_00000000000000000000000000000000/identities";
    assert_eq!(server.post(missing, Some(&admin), json!({"provider": "idp", "subject": "u1"})).await.status, 404);

    let reply = server.post(&path, Some(&admin), json!({"provider": "idp", "subject": "u1"})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let link_id = reply.body["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.body["issuer"], provider.issuer.as_str());
    // The same identity cannot be linked twice.
    let reply = server.post(&path, Some(&admin), json!({"provider": "idp", "subject": "u1"})).await;
    assert_eq!(reply.status, 409, "{}", reply.text);

    // u1 (alice@idp.test upstream) now signs in as dave, although no account has her email.
    let (status, _, body, browser) = oidc_sign_in(&server, &provider, "u1").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(me(&browser, &server).await["id"], dave.as_str());

    // Unprivileged users may not link, not even to themselves.
    let dave_token = server.login("dave", "davepass1").await;
    let reply = server.post(&path, Some(&dave_token), json!({"provider": "idp", "subject": "u2"})).await;
    assert_eq!(reply.status, 403, "{}", reply.text);

    assert_eq!(server.delete(&format!("{path}/idn_0000"), Some(&admin)).await.status, 404);
    assert_eq!(server.delete(&format!("{path}/{link_id}"), Some(&admin)).await.status, 204);
    assert!(identities(&server, &admin, &dave).await.is_empty());
    let (status, _, body, _) = oidc_sign_in(&server, &provider, "u1").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("user not found and auto_create_users disabled"), "{body}");
}

#[tokio::test]
async fn linking_an_admin_needs_the_admin_role() {
    let (server, _provider, admin) = oidc_setup(false, json!({})).await;
    let boss = firezone_user(&server, &admin, "boss@idp.test", "admin", None).await;
    let policy = server
        .post(
            "/api/v1/policies",
            Some(&admin),
            json!({"name": "linker", "document": {"statement": [
            {"effect": "Allow", "action": ["users:LinkUserIdentity", "users:ListUserIdentities"]}]}}),
        )
        .await;
    assert_eq!(policy.status, 201, "{}", policy.text);
    let helper =
        server.post("/api/v1/users", Some(&admin), json!({"username": "helper", "password": "helperpass"})).await;
    let helper_id = helper.body["id"].as_str().unwrap();
    let policy_id = policy.body["id"].as_str().unwrap();
    let attach = server
        .call(
            Method::PUT,
            &format!("/api/v1/users/{helper_id}/policies"),
            Some(&admin),
            Some(json!({"policy_ids": [policy_id]})),
        )
        .await;
    assert_eq!(attach.status, 204, "{}", attach.text);
    let token = server.login("helper", "helperpass").await;
    let path = format!("/api/v1/users/{boss}/identities");
    assert_eq!(server.get(&path, Some(&token)).await.status, 200);
    let reply = server.post(&path, Some(&token), json!({"provider": "idp", "subject": "u1"})).await;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert!(identities(&server, &admin, &boss).await.is_empty());
}

const SAML_USERS: &str = r#"[{"id":"newbie","email":"new-user@test"},
  {"id":"boss","email":"boss@corp.test"}]"#;

/// Signs `user` in through the SAML IdP: (status, Location or body).
async fn saml_sign_in(server: &Server, user: &str) -> (u16, String) {
    let browser =
        reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = idp_response(server, &browser, user).await;
    post_acs(server, &browser, &response).await
}

#[tokio::test]
async fn saml_links_pre_provisioned_firezone_users_and_refuses_password_accounts() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let idp = SamlIdp::start(&server.url("/auth/saml/sp/metadata/corp"), SAML_USERS).await;
    let provider = json!({"id": "corp", "label": "Corp", "metadata": idp.metadata, "auto_create_users": false});
    let body = json!({"configuration": {"saml_identity_providers": [provider]}});
    assert_eq!(server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(body)).await.status, 200);

    // The address Firezone's own docs provision (no dot in the domain) is an address everywhere.
    let newbie = firezone_user(&server, &admin, "new-user@test", "unprivileged", None).await;
    let (status, location) = saml_sign_in(&server, "newbie").await;
    assert_eq!((status, location.as_str()), (303, server.url("/account").as_str()));
    let links = identities(&server, &admin, &newbie).await;
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0]["provider"], "corp");

    let boss = firezone_user(&server, &admin, "boss@corp.test", "admin", Some("the boss password")).await;
    let (status, body) = saml_sign_in(&server, "boss").await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("ask an administrator to link it"), "{body}");
    assert!(identities(&server, &admin, &boss).await.is_empty());
}
