//! The Firezone `/v0/users` contract (firezone-api.md), row by row, over HTTP.

mod common;

use common::{assert_firezone_timestamp, Server};
use reqwest::Method;
use serde_json::{json, Value};

const KEYS: [&str; 8] =
    ["disabled_at", "email", "id", "inserted_at", "last_signed_in_at", "last_signed_in_method", "role", "updated_at"];

fn assert_user_shape(user: &Value) {
    let mut keys: Vec<&str> = user.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, KEYS);
    assert!(uuid::Uuid::parse_str(user["id"].as_str().unwrap()).is_ok());
    assert_firezone_timestamp(&user["inserted_at"]);
    assert_firezone_timestamp(&user["updated_at"]);
}

async fn create(server: &Server, token: &str, user: Value) -> common::Reply {
    server.post("/v0/users", Some(token), json!({"user": user})).await
}

#[tokio::test]
async fn create_returns_201_location_and_the_user() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let reply = create(
        &server,
        &token,
        json!({"email": "new-user@test", "password": "test1234test", "password_confirmation": "test1234test", "role": "unprivileged"}),
    )
    .await;
    assert_eq!(reply.status, 201, "{:?}", reply.body);
    let user = &reply.body["data"];
    assert_user_shape(user);
    assert_eq!(user["email"], "new-user@test");
    assert_eq!(user["role"], "unprivileged");
    assert_eq!(user["disabled_at"], Value::Null);
    assert_eq!(user["last_signed_in_at"], Value::Null);
    assert_eq!(user["last_signed_in_method"], Value::Null);
    assert_eq!(user["inserted_at"], user["updated_at"]);
    let location = reply.headers["location"].to_str().unwrap();
    assert_eq!(location, format!("/v0/users/{}", user["id"].as_str().unwrap()));
    assert!(reply.headers["content-type"].to_str().unwrap().starts_with("application/json"));

    // Without a password (an SSO user) and as admin; role defaults to unprivileged.
    let sso = create(&server, &token, json!({"email": "sso@test"})).await;
    assert_eq!(sso.status, 201);
    assert_eq!(sso.body["data"]["role"], "unprivileged");
    let admin = create(&server, &token, json!({"email": "boss@test", "role": "admin"})).await;
    assert_eq!(admin.body["data"]["role"], "admin");
    // Emails are trimmed.
    let trimmed = create(&server, &token, json!({"email": "  spaced@test  "})).await;
    assert_eq!(trimmed.body["data"]["email"], "spaced@test");
}

#[tokio::test]
async fn create_reports_every_validation_message() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let seed = create(&server, &token, json!({"email": "taken@test"})).await;
    assert_eq!(seed.status, 201);
    let cases = [
        (
            json!({"email": "test@test.com", "password": "test1234"}),
            json!({"password": ["should be at least 12 character(s)"], "password_confirmation": ["can't be blank"]}),
        ),
        (json!({}), json!({"email": ["can't be blank"]})),
        (json!({"email": null}), json!({"email": ["can't be blank"]})),
        (json!({"email": "no-at-sign"}), json!({"email": ["is invalid email address"]})),
        (json!({"email": "TAKEN@test"}), json!({"email": ["has already been taken"]})),
        (
            json!({"email": "a@test", "password": "x".repeat(65), "password_confirmation": "y"}),
            json!({"password": ["should be at most 64 character(s)"], "password_confirmation": ["does not match confirmation"]}),
        ),
        (json!({"email": "a@test", "role": "superuser"}), json!({"role": ["is invalid"]})),
        (json!({"email": 42}), json!({"email": ["is invalid"]})),
        (json!({"email": "", "role": 7}), json!({"email": ["can't be blank"], "role": ["is invalid"]})),
    ];
    for (user, errors) in cases {
        let reply = create(&server, &token, user.clone()).await;
        assert_eq!(reply.status, 422, "{user}");
        assert_eq!(reply.body, json!({"errors": errors}), "{user}");
    }
    // An empty password means no password.
    let blank = create(&server, &token, json!({"email": "blank@test", "password": ""})).await;
    assert_eq!(blank.status, 201);
}

#[tokio::test]
async fn missing_wrapper_is_400() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    for body in [json!({}), json!({"email": "x@test"}), json!({"user": "x"}), json!([])] {
        let reply = server.post("/v0/users", Some(&token), body.clone()).await;
        assert_eq!(reply.status, 400, "{body}");
        assert_eq!(reply.body, json!({"error": "Bad Request"}), "{body}");
    }
}

#[tokio::test]
async fn list_get_by_id_or_email_and_404() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let created = create(&server, &token, json!({"email": "Test-905@Test"})).await.body["data"].clone();
    let id = created["id"].as_str().unwrap();

    let list = server.get("/v0/users", Some(&token)).await;
    assert_eq!(list.status, 200);
    let users = list.body["data"].as_array().unwrap();
    assert_eq!(users.len(), 2);
    users.iter().for_each(assert_user_shape);

    for key in [id.to_owned(), "test-905@test".to_owned(), "TEST-905@TEST".to_owned()] {
        let reply = server.get(&format!("/v0/users/{key}"), Some(&token)).await;
        assert_eq!(reply.status, 200, "{key}");
        assert_eq!(reply.body["data"], created);
    }
    for missing in ["nobody@test", "4963a5f0-dbb5-424a-8859-8032209eeaef", "not-a-uuid"] {
        let reply = server.get(&format!("/v0/users/{missing}"), Some(&token)).await;
        assert_eq!(reply.status, 404);
        assert_eq!(reply.body, json!({"error": "not_found"}));
    }
}

#[tokio::test]
async fn patch_and_put_update_only_the_keys_sent() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let created = create(&server, &token, json!({"email": "test-1960@test"})).await.body["data"].clone();
    let id = created["id"].as_str().unwrap();

    for method in [Method::PATCH, Method::PUT] {
        let noop =
            server.call(method.clone(), "/v0/users/test-1960@test", Some(&token), Some(json!({"user": {}}))).await;
        assert_eq!(noop.status, 200);
        assert_eq!(noop.body["data"], created, "{method} no-op changed the user");
    }
    // Read-only keys are ignored.
    let ignored = server
        .call(
            Method::PATCH,
            &format!("/v0/users/{id}"),
            Some(&token),
            Some(json!({"user": {"disabled_at": "2020-01-01T00:00:00Z", "id": "x", "last_signed_in_method": "x"}})),
        )
        .await;
    assert_eq!(ignored.status, 200);
    assert_eq!(ignored.body["data"], created);

    let promoted = server
        .call(
            Method::PUT,
            &format!("/v0/users/{id}"),
            Some(&token),
            Some(json!({"user": {"role": "admin", "email": "renamed@test"}})),
        )
        .await;
    assert_eq!(promoted.status, 200);
    assert_eq!(promoted.body["data"]["role"], "admin");
    assert_eq!(promoted.body["data"]["email"], "renamed@test");
    assert_eq!(promoted.body["data"]["inserted_at"], created["inserted_at"]);
    assert_ne!(promoted.body["data"]["updated_at"], created["updated_at"]);

    let password = server
        .call(
            Method::PATCH,
            "/v0/users/renamed@test",
            Some(&token),
            Some(json!({"user": {"password": "a-long-password", "password_confirmation": "a-long-password"}})),
        )
        .await;
    assert_eq!(password.status, 200);
    // The new password works for sign-in, through the SOAT login (username follows the email).
    server.login("renamed@test", "a-long-password").await;

    let bad = [
        (json!({"password": "a-long-password"}), json!({"password_confirmation": ["can't be blank"]})),
        (
            json!({"password": "short", "password_confirmation": "short"}),
            json!({"password": ["should be at least 12 character(s)"]}),
        ),
        (json!({"role": "emperor"}), json!({"role": ["is invalid"]})),
        (json!({"email": "admin"}), json!({"email": ["is invalid email address"]})),
        (json!({"email": null}), json!({"email": ["can't be blank"]})),
    ];
    for (user, errors) in bad {
        let reply = server
            .call(Method::PATCH, &format!("/v0/users/{id}"), Some(&token), Some(json!({"user": user.clone()})))
            .await;
        assert_eq!(reply.status, 422, "{user}");
        assert_eq!(reply.body, json!({"errors": errors}), "{user}");
    }
    let missing = server.call(Method::PATCH, "/v0/users/ghost@test", Some(&token), Some(json!({"user": {}}))).await;
    assert_eq!(missing.status, 404);
    let unwrapped =
        server.call(Method::PATCH, &format!("/v0/users/{id}"), Some(&token), Some(json!({"role": "admin"}))).await;
    assert_eq!(unwrapped.status, 400);
    assert_eq!(unwrapped.body, json!({"error": "Bad Request"}));
}

#[tokio::test]
async fn email_must_stay_unique_on_update() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    create(&server, &token, json!({"email": "one@test"})).await;
    create(&server, &token, json!({"email": "two@test"})).await;
    let reply = server
        .call(Method::PATCH, "/v0/users/two@test", Some(&token), Some(json!({"user": {"email": "ONE@test"}})))
        .await;
    assert_eq!(reply.status, 422);
    assert_eq!(reply.body, json!({"errors": {"email": ["has already been taken"]}}));
}

#[tokio::test]
async fn own_role_cannot_change_and_last_admin_cannot_go() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let same =
        server.call(Method::PATCH, "/v0/users/admin", Some(&token), Some(json!({"user": {"role": "admin"}}))).await;
    assert_eq!(same.status, 200);
    let demote = server
        .call(Method::PATCH, "/v0/users/admin", Some(&token), Some(json!({"user": {"role": "unprivileged"}})))
        .await;
    assert_eq!(demote.status, 422);
    assert_eq!(demote.body, json!({"errors": {"role": ["You cannot change your own role"]}}));

    let last = server.delete("/v0/users/admin", Some(&token)).await;
    assert_eq!(last.status, 422);
    assert_eq!(last.body, json!({"errors": {"base": ["can't delete the last admin"]}}));

    // With a second admin, deleting is fine; by email and by id both work.
    create(&server, &token, json!({"email": "second@test", "role": "admin"})).await;
    let victim = create(&server, &token, json!({"email": "victim@test"})).await;
    let victim_id = victim.body["data"]["id"].as_str().unwrap().to_owned();
    let by_id = server.delete(&format!("/v0/users/{victim_id}"), Some(&token)).await;
    assert_eq!(by_id.status, 204);
    assert!(by_id.text.is_empty());
    assert_eq!(server.delete("/v0/users/victim@test", Some(&token)).await.status, 404);
    assert_eq!(server.delete("/v0/users/second@test", Some(&token)).await.status, 204);
}

#[tokio::test]
async fn auth_failures_have_firezone_bodies() {
    let server = Server::start().await;
    let token = server.admin_token().await;

    let none = server.get("/v0/users", None).await;
    assert_eq!((none.status.as_u16(), none.body.clone()), (401, json!({"errors": {"auth": "unauthenticated"}})));

    let basic =
        reqwest::Client::new().get(server.url("/v0/users")).header("authorization", "Basic YTpi").send().await.unwrap();
    assert_eq!(basic.status(), 401);
    assert_eq!(basic.json::<Value>().await.unwrap(), json!({"errors": {"auth": "unauthenticated"}}));

    let garbage = server.get("/v0/users", Some("not-a-jwt")).await;
    assert_eq!((garbage.status.as_u16(), garbage.body.clone()), (401, json!({"errors": {"auth": "invalid_token"}})));

    // Scheme is case-insensitive.
    let lower = reqwest::Client::new()
        .get(server.url("/v0/users"))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(lower.status(), 200);

    // A well-formed token whose session is gone.
    let alice_id = create(
        &server,
        &token,
        json!({"email": "alice@test", "password": "alicepassword", "password_confirmation": "alicepassword"}),
    )
    .await
    .body["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let alice = server.login("alice@test", "alicepassword").await;
    let forbidden = server.get("/v0/users", Some(&alice)).await;
    assert_eq!((forbidden.status.as_u16(), forbidden.body.clone()), (401, json!({"error": "Unauthorized"})));
    assert_eq!(server.delete(&format!("/v0/users/{alice_id}"), Some(&token)).await.status, 204);
    let gone = server.get("/v0/users", Some(&alice)).await;
    assert_eq!((gone.status.as_u16(), gone.body.clone()), (401, json!({"errors": {"auth": "no_resource_found"}})));
}

#[tokio::test]
async fn sign_in_is_recorded() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let me = server.get("/v0/users/admin", Some(&token)).await;
    assert_eq!(me.body["data"]["last_signed_in_method"], "email");
    assert_firezone_timestamp(&me.body["data"]["last_signed_in_at"]);
}
