//! A user the IdP provisioned through SCIM is the account that person signs in to through the
//! tenant's OIDC provider (linked on the SCIM `externalId` = the provider's subject, or on the
//! verified email of the unclaimed account), and deactivating it through SCIM ends its browser
//! session at once. Against the real OpenID provider.

mod common;

use common::oidc::OidcProvider;
use common::Server;
use reqwest::Method;
use serde_json::{json, Value};

const CLIENT_ID: &str = "tessera";
const CLIENT_SECRET: &str = "a-client-secret";
const USERS: &str = r#"[{"sub":"00u-okta-1","email":"dana@idp.test","email_verified":true},
  {"sub":"00u-okta-2","email":"erin@idp.test","email_verified":true},
  {"sub":"00u-okta-3","email":"finn@corp.test","email_verified":true},
  {"sub":"00u-okta-4","email":"gus@idp.test","email_verified":true}]"#;
const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";

async fn setup() -> (Server, OidcProvider, String) {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let redirect = format!("{}/auth/oidc/idp/callback/", server.base);
    let provider = OidcProvider::start(CLIENT_ID, CLIENT_SECRET, &[redirect], USERS, true);
    let config = json!({"id": "idp", "label": "Okta", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "discovery_document_uri": format!("{}/.well-known/openid-configuration", provider.issuer),
        "auto_create_users": false});
    let body = json!({"configuration": {"openid_connect_providers": [config]}});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(body)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    (server, provider, admin)
}

/// Provisions a user through SCIM; returns its id.
async fn provision(server: &Server, admin: &str, user: Value) -> String {
    let reply = server.post("/scim/v2/Users", Some(admin), user).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// Signs `sub` in through the provider in a fresh browser: (status, body, browser).
async fn sign_in(server: &Server, provider: &OidcProvider, sub: &str) -> (u16, String, reqwest::Client) {
    provider.login_as(sub).await;
    let browser = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let response = browser.get(server.url("/auth/oidc/idp")).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap(), browser)
}

/// The signed-in browser's own user, as SOAT shows it (status, body).
async fn me(server: &Server, browser: &reqwest::Client) -> (u16, Value) {
    let response = browser.get(server.url("/api/v1/users/me")).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

fn soat_id(uuid: &str) -> String {
    format!("usr_{}", uuid.replace('-', ""))
}

#[tokio::test]
async fn a_provisioned_account_is_linked_by_external_id_and_never_when_claimed() {
    let (server, provider, admin) = setup().await;
    // Its email differs from the one the provider asserts, so only the external id can link it.
    let dana = provision(
        &server,
        &admin,
        json!({"schemas": [USER_URN], "userName": "dana.s", "externalId": "00u-okta-1",
        "emails": [{"value": "dana@corp.test", "type": "work", "primary": true}]}),
    )
    .await;
    let (status, page, browser) = sign_in(&server, &provider, "00u-okta-1").await;
    assert_eq!(status, 200, "{page}");
    let (status, body) = me(&server, &browser).await;
    assert_eq!((status, body["id"].as_str()), (200, Some(soat_id(&dana).as_str())), "{body}");
    let linked = server.get(&format!("/api/v1/users/{}/identities", soat_id(&dana)), Some(&admin)).await;
    assert_eq!(linked.body.as_array().map(Vec::len), Some(1), "{}", linked.text);

    // An account with a password is claimed: the external id alone does not hand it over.
    provision(
        &server,
        &admin,
        json!({"schemas": [USER_URN], "userName": "erin.s", "externalId": "00u-okta-2",
        "password": "erins-own-password"}),
    )
    .await;
    let (status, page, browser) = sign_in(&server, &provider, "00u-okta-2").await;
    assert_eq!(status, 403, "{page}");
    assert_eq!(me(&server, &browser).await.0, 401);

    // Two accounts with the subject as external id: ambiguous, so neither is taken.
    let mut twins = Vec::new();
    for name in ["gus.a", "gus.b"] {
        let body = json!({"schemas": [USER_URN], "userName": name, "externalId": "00u-okta-4"});
        twins.push(provision(&server, &admin, body).await);
    }
    let (status, page, browser) = sign_in(&server, &provider, "00u-okta-4").await;
    assert_eq!(status, 403, "{page}");
    assert_eq!(me(&server, &browser).await.0, 401);
    for twin in twins {
        let linked = server.get(&format!("/api/v1/users/{}/identities", soat_id(&twin)), Some(&admin)).await;
        assert_eq!(linked.body, json!([]), "{}", linked.text);
    }

    // No external id, but the verified email of the unclaimed provisioned account links it.
    let finn = provision(
        &server,
        &admin,
        json!({"schemas": [USER_URN], "userName": "finn",
        "emails": [{"value": "finn@corp.test", "primary": true}]}),
    )
    .await;
    let (status, page, browser) = sign_in(&server, &provider, "00u-okta-3").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(me(&server, &browser).await.1["id"].as_str(), Some(soat_id(&finn).as_str()));
}

#[tokio::test]
async fn deactivating_through_scim_ends_an_oidc_session_at_once() {
    let (server, provider, admin) = setup().await;
    let dana =
        provision(&server, &admin, json!({"schemas": [USER_URN], "userName": "dana.s", "externalId": "00u-okta-1"}))
            .await;
    let (status, page, browser) = sign_in(&server, &provider, "00u-okta-1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(me(&server, &browser).await.0, 200);

    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "value": {"active": false}}]});
    let reply = server.call(Method::PATCH, &format!("/scim/v2/Users/{dana}"), Some(&admin), Some(deactivate)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(reply.body["active"], json!(false));
    assert_eq!(me(&server, &browser).await.0, 401, "the browser session ended with the deactivation");
    let (status, page, _) = sign_in(&server, &provider, "00u-okta-1").await;
    assert_eq!(status, 403, "a deactivated account cannot sign in again: {page}");

    let activate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "True"}]});
    let reply = server.call(Method::PATCH, &format!("/scim/v2/Users/{dana}"), Some(&admin), Some(activate)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let (status, page, browser) = sign_in(&server, &provider, "00u-okta-1").await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(me(&server, &browser).await.0, 200);
}
