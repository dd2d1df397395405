//! Escalation paths that must stay closed, and concurrency that must not surface as errors.

mod common;

use common::Server;
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

/// Creates a policy allowing `actions`, a user holding it, and returns (user id, token).
async fn user_with(server: &Server, admin: &str, name: &str, actions: &[&str]) -> (String, String) {
    let document = json!({"statement": [{"effect": "Allow", "action": actions}]});
    let policy = server.post("/api/v1/policies", Some(admin), json!({"name": name, "document": document})).await;
    assert_eq!(policy.status, 201, "{}", policy.text);
    let password = format!("{name}-password");
    let user = server.post("/api/v1/users", Some(admin), json!({"username": name, "password": password})).await;
    let id = user.body["id"].as_str().unwrap().to_owned();
    let attach = server
        .call(
            Method::PUT,
            &format!("/api/v1/users/{id}/policies"),
            Some(admin),
            Some(json!({"policy_ids": [policy.body["id"]]})),
        )
        .await;
    assert_eq!(attach.status, 204);
    (id, server.login(name, &password).await)
}

#[tokio::test]
async fn non_admins_cannot_touch_admin_accounts_even_with_users_star() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let admin_id = server.get("/api/v1/users/me", Some(&admin)).await.body["id"].as_str().unwrap().to_owned();
    server
        .post("/api/v1/users", Some(&admin), json!({"username": "second", "password": "secondpass", "role": "admin"}))
        .await;
    let (_, helpdesk) = user_with(&server, &admin, "helpdesk", &["users:*"]).await;

    let takeover = json!({"user": {"password": "owned-by-helpdesk", "password_confirmation": "owned-by-helpdesk"}});
    let reply = server.call(Method::PATCH, "/v0/users/admin", Some(&helpdesk), Some(takeover)).await;
    assert_eq!((reply.status.as_u16(), reply.body), (401, json!({"error": "Unauthorized"})));
    let email = server
        .call(Method::PATCH, "/v0/users/admin", Some(&helpdesk), Some(json!({"user": {"email": "x@evil.io"}})))
        .await;
    assert_eq!(email.status, 401);
    assert_eq!(server.delete(&format!("/api/v1/users/{admin_id}"), Some(&helpdesk)).await.status, 403);
    assert_eq!(server.delete("/v0/users/second", Some(&helpdesk)).await.status, 401);
    // The admin is untouched; unprivileged users remain manageable.
    server.login("admin", "supersecret").await;
    server.post("/api/v1/users", Some(&admin), json!({"username": "carol", "password": "carolpass"})).await;
    let carol = server
        .call(
            Method::PATCH,
            "/v0/users/carol",
            Some(&helpdesk),
            Some(json!({"user": {"password": "carols-new-pass", "password_confirmation": "carols-new-pass"}})),
        )
        .await;
    assert_eq!(carol.status, 200, "{}", carol.text);
}

#[tokio::test]
async fn a_new_password_ends_the_users_other_sessions() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    server.post("/api/v1/users", Some(&admin), json!({"username": "dave@test", "password": "davespassword"})).await;
    let dave = server.login("dave@test", "davespassword").await;
    let change = json!({"user": {"password": "daves-new-password", "password_confirmation": "daves-new-password"}});
    assert_eq!(server.call(Method::PATCH, "/v0/users/dave@test", Some(&admin), Some(change)).await.status, 200);
    assert_eq!(server.get("/api/v1/users/me", Some(&dave)).await.status, 401);
    // The admin changing its own password keeps the session it used.
    let own = json!({"user": {"password": "a-new-admin-password", "password_confirmation": "a-new-admin-password"}});
    assert_eq!(server.call(Method::PATCH, "/v0/users/admin", Some(&admin), Some(own)).await.status, 200);
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 200);
}

#[tokio::test]
async fn a_narrowed_key_cannot_widen_itself_or_mint_keys() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let document = json!({"statement": [{"effect": "Allow", "action": ["api-keys:*"]}]});
    let policy = server.post("/api/v1/policies", Some(&admin), json!({"name": "keys", "document": document})).await;
    let created = server
        .post("/api/v1/api-keys", Some(&admin), json!({"name": "narrow", "policy_ids": [policy.body["id"]]}))
        .await;
    let (raw, id) = (created.body["key"].as_str().unwrap().to_owned(), created.body["id"].as_str().unwrap().to_owned());
    assert_eq!(server.get("/api/v1/users", Some(&raw)).await.status, 403);

    let widen =
        server.call(Method::PUT, &format!("/api/v1/api-keys/{id}"), Some(&raw), Some(json!({"policy_ids": []}))).await;
    assert_eq!(widen.status, 403);
    let mint = server.post("/api/v1/api-keys", Some(&raw), json!({"name": "escape"})).await;
    assert_eq!(mint.status, 403);
    // Even the owner emptying the list leaves the key narrowed (to nothing).
    let emptied = server
        .call(Method::PUT, &format!("/api/v1/api-keys/{id}"), Some(&admin), Some(json!({"policy_ids": []})))
        .await;
    assert_eq!(emptied.status, 200);
    assert_eq!(server.get("/api/v1/users", Some(&raw)).await.status, 403);
    assert_eq!(server.get("/api/v1/api-keys", Some(&raw)).await.status, 403);
}

#[tokio::test]
async fn usernames_and_emails_share_one_namespace() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    server.post("/api/v1/users", Some(&admin), json!({"username": "bob@x.com", "password": "bobspassword"})).await;
    server.post("/api/v1/users", Some(&admin), json!({"username": "carol", "password": "carolpass"})).await;
    let clash = server
        .call(Method::PATCH, "/v0/users/carol", Some(&admin), Some(json!({"user": {"email": "Bob@x.com"}})))
        .await;
    assert_eq!(clash.status, 422);
    assert_eq!(clash.body, json!({"errors": {"email": ["has already been taken"]}}));
    server.post("/v0/users", Some(&admin), json!({"user": {"email": "erin@x.com"}})).await;
    let soat = server
        .post("/api/v1/users", Some(&admin), json!({"username": "ERIN@x.com", "password": "erinspassword"}))
        .await;
    assert_eq!(soat.status, 409);
    let users = server.get("/v0/users", Some(&admin)).await.body["data"].as_array().unwrap().len();
    assert_eq!(users, 4);
}

#[tokio::test]
async fn concurrent_writes_never_fail_with_5xx() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    server.post("/api/v1/users", Some(&admin), json!({"username": "frank", "password": "frankspassword"})).await;
    let frank = server.login("frank", "frankspassword").await;
    let keys = join_all((0..40).map(|i| {
        let token = if i % 2 == 0 { admin.clone() } else { frank.clone() };
        let server = &server;
        async move { server.post("/api/v1/api-keys", Some(&token), json!({"name": format!("k{i}")})).await }
    }))
    .await;
    let statuses: Vec<u16> = keys.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 40, "{statuses:?}");

    for i in 0..30 {
        server.post("/v0/users", Some(&admin), json!({"user": {"email": format!("v{i}@x.io")}})).await;
    }
    let paths: Vec<String> = (0..30).map(|i| format!("/v0/users/v{i}@x.io")).collect();
    let deletes = join_all(paths.iter().map(|path| server.delete(path, Some(&admin)))).await;
    let statuses: Vec<u16> = deletes.iter().map(|r| r.status.as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    let body: Value = server.get("/v0/users", Some(&admin)).await.body;
    assert_eq!(body["data"].as_array().unwrap().len(), 2);
}
