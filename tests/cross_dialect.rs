//! One record, three views: users created in one dialect are visible, updatable and deletable
//! in the other, and tenants are separate directories.

mod common;

use common::Server;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn soat_users_appear_in_firezone_and_back() {
    let server = Server::start().await;
    let token = server.admin_token().await;

    // SOAT → Firezone: the username stands in for the missing email; ids map usr_<hex> ↔ UUID.
    let alice =
        server.post("/api/v1/users", Some(&token), json!({"username": "alice", "password": "alicepass"})).await.body;
    let soat_id = alice["id"].as_str().unwrap();
    let uuid = uuid::Uuid::parse_str(&soat_id["usr_".len()..]).unwrap();
    let seen = server.get(&format!("/v0/users/{uuid}"), Some(&token)).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.body["data"]["email"], "alice");
    assert_eq!(seen.body["data"]["role"], "unprivileged");
    let by_name = server.get("/v0/users/alice", Some(&token)).await;
    assert_eq!(by_name.body["data"]["id"], uuid.to_string());

    // Firezone updates a SOAT user: promote, and give it an email.
    let updated = server
        .call(
            Method::PATCH,
            &format!("/v0/users/{uuid}"),
            Some(&token),
            Some(json!({"user": {"role": "admin", "email": "alice@corp.test"}})),
        )
        .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.body["data"]["email"], "alice@corp.test");
    let soat_view = server.get(&format!("/api/v1/users/{soat_id}"), Some(&token)).await;
    assert_eq!(soat_view.body["role"], "admin");
    assert_eq!(soat_view.body["username"], "alice", "a SOAT username is not an email and stays");

    // Firezone → SOAT: the email is the username, and the password signs in via SOAT login.
    let bob = server
        .post("/v0/users", Some(&token), json!({"user": {"email": "bob@corp.test", "password": "bobs-password", "password_confirmation": "bobs-password"}}))
        .await;
    let bob_uuid = bob.body["data"]["id"].as_str().unwrap().to_owned();
    let bob_soat = format!("usr_{}", uuid::Uuid::parse_str(&bob_uuid).unwrap().simple());
    let listed = server.get("/api/v1/users", Some(&token)).await;
    let bob_record = listed.body.as_array().unwrap().iter().find(|u| u["id"] == bob_soat.as_str()).unwrap().clone();
    assert_eq!(bob_record["username"], "bob@corp.test");
    assert_eq!(bob_record["role"], "user");
    let bob_token = server.login("bob@corp.test", "bobs-password").await;
    assert_eq!(server.get("/api/v1/users/me", Some(&bob_token)).await.body["id"], bob_soat.as_str());

    // Deleting in SOAT removes it from Firezone, and vice versa.
    assert_eq!(server.delete(&format!("/api/v1/users/{bob_soat}"), Some(&token)).await.status, 204);
    assert_eq!(server.get(&format!("/v0/users/{bob_uuid}"), Some(&token)).await.status, 404);
    assert_eq!(server.delete("/v0/users/alice@corp.test", Some(&token)).await.status, 204);
    assert_eq!(server.get(&format!("/api/v1/users/{soat_id}"), Some(&token)).await.status, 404);

    // Uniqueness spans dialects: a Firezone email equal to a SOAT username is taken.
    server.post("/api/v1/users", Some(&token), json!({"username": "carol@corp.test", "password": "carolpass"})).await;
    let clash = server.post("/v0/users", Some(&token), json!({"user": {"email": "CAROL@corp.test"}})).await;
    assert_eq!(clash.status, 422);
    assert_eq!(clash.body, json!({"errors": {"email": ["has already been taken"]}}));
}

#[tokio::test]
async fn a_login_token_works_on_both_dialects() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    assert_eq!(server.get("/api/v1/users", Some(&token)).await.status, 200);
    assert_eq!(server.get("/v0/users", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn tenants_are_separate_directories() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme,globex")]).await;
    let default_admin = server.admin_token().await;
    let acme_admin = server.admin_token_in("/t/acme").await;

    // Same username in two tenants, two accounts with their own passwords; each tenant sees
    // only its own.
    let acme_alice = server
        .post("/t/acme/api/v1/users", Some(&acme_admin), json!({"username": "alice", "password": "alicepass"}))
        .await;
    assert_eq!(acme_alice.status, 201);
    let default_alice = server
        .post("/api/v1/users", Some(&default_admin), json!({"username": "alice", "password": "another alice pass"}))
        .await;
    assert_eq!(default_alice.status, 201);
    let login = |prefix: &'static str, password: &'static str| {
        let server = &server;
        async move {
            let body = json!({"username": "alice", "password": password});
            server.post(&format!("{prefix}/api/v1/users/login"), None, body).await.status.as_u16()
        }
    };
    assert_eq!(login("/t/acme", "alicepass").await, 200);
    assert_eq!(login("/t/acme", "another alice pass").await, 401);
    assert_eq!(login("", "another alice pass").await, 200);
    assert_eq!(login("", "alicepass").await, 401);
    // The same email, too: one account per tenant.
    for (prefix, token) in [("/t/acme", &acme_admin), ("", &default_admin)] {
        let carol = server
            .post(&format!("{prefix}/v0/users"), Some(token), json!({"user": {"email": "carol@example.com"}}))
            .await;
        assert_eq!(carol.status, 201, "{prefix}: {}", carol.text);
    }
    assert_ne!(acme_alice.body["id"], default_alice.body["id"]);
    assert_eq!(server.get("/t/acme/api/v1/users", Some(&acme_admin)).await.body.as_array().unwrap().len(), 3);
    assert_eq!(server.get("/t/acme/v0/users", Some(&acme_admin)).await.body["data"].as_array().unwrap().len(), 3);
    let acme_id = acme_alice.body["id"].as_str().unwrap();
    assert_eq!(server.get(&format!("/api/v1/users/{acme_id}"), Some(&default_admin)).await.status, 404);
    // Routes with an id segment work under the tenant prefix.
    assert_eq!(server.get(&format!("/t/acme/api/v1/users/{acme_id}"), Some(&acme_admin)).await.body, acme_alice.body);
    assert_eq!(server.get("/t/acme/v0/users/alice", Some(&acme_admin)).await.body["data"]["email"], "alice");

    // Tokens are valid only in their own tenant.
    assert_eq!(server.get("/t/acme/api/v1/users/me", Some(&default_admin)).await.status, 401);
    assert_eq!(server.get("/api/v1/users/me", Some(&acme_admin)).await.status, 401);
    let foreign = server.get("/t/acme/v0/users", Some(&default_admin)).await;
    assert_eq!(foreign.body, json!({"errors": {"auth": "invalid_token"}}));
    // The default tenant is also reachable by name.
    assert_eq!(server.get("/t/default/api/v1/users/me", Some(&default_admin)).await.status, 200);

    // Bootstrap is per tenant: globex can still bootstrap.
    let globex = server
        .post("/t/globex/api/v1/users/bootstrap", None, json!({"username": "admin", "password": "supersecret"}))
        .await;
    assert_eq!(globex.status, 201);

    // Unknown and malformed tenants are 404 in the dialect's shape.
    let unknown = server.get("/t/initech/api/v1/users/me", Some(&default_admin)).await;
    assert_eq!((unknown.status.as_u16(), unknown.body), (404, json!({"error": "Tenant not found"})));
    let firezone = server.get("/t/initech/v0/users", None).await;
    assert_eq!((firezone.status.as_u16(), firezone.body), (404, json!({"error": "not_found"})));
    assert_eq!(server.get("/t/Bad_Name/api/v1/users/me", None).await.status, 404);
}
