//! The API keys contract (iam-spec "API keys"), row by row, over HTTP: the raw `sk_` key is shown
//! once, works as a Bearer credential on every dialect, and dies with its record or its owner.

mod common;

use common::{run_cli, Reply, Server};
use reqwest::Method;
use serde_json::{json, Value};

/// The keys of an ApiKeyRecord, sorted (creation adds `key`).
const KEY_FIELDS: [&str; 9] =
    ["created_at", "expires_at", "id", "key_prefix", "name", "policy_ids", "project_id", "updated_at", "user_id"];

const UNKNOWN_KEY_ID: &str = "key_0123456789abcdef0123456789abcdef";

fn is_id(value: &Value, prefix: &str) -> bool {
    value
        .as_str()
        .and_then(|s| s.strip_prefix(prefix))
        .is_some_and(|hex| hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

fn assert_soat_timestamp(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("{value:?} is not a string"));
    let (_, fraction) = text.rsplit_once('.').unwrap_or_else(|| panic!("{text} has no fraction"));
    assert!(fraction.len() == 4 && fraction.ends_with('Z'), "{text}");
    assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
}

fn sorted_keys(value: &Value) -> Vec<String> {
    let mut keys: Vec<String> = value.as_object().unwrap_or_else(|| panic!("{value}")).keys().cloned().collect();
    keys.sort();
    keys
}

/// Asserts the shape of a record as GET and list show it (no raw key).
fn assert_record_shape(record: &Value) {
    assert_eq!(sorted_keys(record), KEY_FIELDS, "{record}");
    assert!(is_id(&record["id"], "key_"), "{record}");
    assert!(is_id(&record["user_id"], "usr_"), "{record}");
    assert_eq!(record["project_id"], Value::Null);
    assert!(record["policy_ids"].is_array(), "{record}");
    assert!(record["key_prefix"].as_str().is_some_and(|p| p.len() == 8 && p.starts_with("sk_")), "{record}");
    assert_soat_timestamp(&record["created_at"]);
    assert_soat_timestamp(&record["updated_at"]);
}

/// The record of a creation reply, without `key`.
fn without_key(created: &Value) -> Value {
    let mut record = created.clone();
    record.as_object_mut().unwrap().remove("key");
    record
}

fn allow(actions: &[&str]) -> Value {
    json!({"statement": [{"effect": "Allow", "action": actions}]})
}

async fn put(server: &Server, path: &str, token: Option<&str>, body: Value) -> Reply {
    server.call(Method::PUT, path, token, Some(body)).await
}

async fn create_policy(server: &Server, token: &str, name: &str, document: Value) -> String {
    let reply = server.post("/api/v1/policies", Some(token), json!({"name": name, "document": document})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn user_token(server: &Server, admin: &str, username: &str) -> (String, String) {
    let password = format!("{username}-password");
    let reply = server.post("/api/v1/users", Some(admin), json!({"username": username, "password": password})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    (id, server.login(username, &password).await)
}

async fn my_id(server: &Server, token: &str) -> String {
    server.get("/api/v1/users/me", Some(token)).await.body["id"].as_str().unwrap().to_owned()
}

/// Creates a key and returns the whole creation reply body.
async fn create_key(server: &Server, token: &str, body: Value) -> Value {
    let reply = server.post("/api/v1/api-keys", Some(token), body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body
}

fn key_of(created: &Value) -> String {
    created["key"].as_str().unwrap().to_owned()
}

fn id_of(created: &Value) -> String {
    created["id"].as_str().unwrap().to_owned()
}

fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("{list} is not an array"))
        .iter()
        .map(|k| k["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

#[tokio::test]
async fn creating_a_key_shows_it_once() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let admin_id = my_id(&server, &admin).await;

    let created = create_key(&server, &admin, json!({"name": "ci"})).await;
    let mut expected_fields: Vec<&str> = KEY_FIELDS.to_vec();
    expected_fields.push("key");
    expected_fields.sort();
    assert_eq!(sorted_keys(&created), expected_fields, "{created}");
    let key = key_of(&created);
    assert!(key.starts_with("sk_") && key.len() >= 32, "{key}");
    assert_eq!(created["key_prefix"].as_str().unwrap(), &key[..8]);
    assert_eq!(created["name"], "ci");
    assert_eq!(created["user_id"], admin_id.as_str());
    assert_eq!(created["policy_ids"], json!([]));
    assert_eq!(created["expires_at"], Value::Null);
    assert_eq!(created["project_id"], Value::Null);
    let record = without_key(&created);
    assert_record_shape(&record);

    // GET and list show the record, never the key.
    let got = server.get(&format!("/api/v1/api-keys/{}", id_of(&created)), Some(&admin)).await;
    assert_eq!(got.status, 200, "{}", got.text);
    assert_eq!(got.body, record);
    assert!(!got.text.contains(&key));
    let list = server.get("/api/v1/api-keys", Some(&admin)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body, json!([record]));
    assert!(!list.text.contains(&key));

    // Every key is different.
    let second = create_key(&server, &admin, json!({"name": "ci"})).await;
    assert_ne!(second["id"], created["id"]);
    assert_ne!(key_of(&second), key);
    assert_eq!(
        ids(&server.get("/api/v1/api-keys", Some(&admin)).await.body),
        sorted(vec![id_of(&created), id_of(&second)])
    );
}

#[tokio::test]
async fn keys_carry_policies_and_expiry() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let policy = create_policy(&server, &admin, "list", allow(&["users:ListUsers"])).await;
    let other = create_policy(&server, &admin, "get", allow(&["users:GetUser"])).await;

    let with_policies = create_key(&server, &admin, json!({"name": "narrow", "policy_ids": [policy]})).await;
    assert_eq!(with_policies["policy_ids"], json!([policy]));

    let before = chrono::Utc::now();
    let expiring = create_key(&server, &admin, json!({"name": "temp", "expires_in_days": 30})).await;
    let expires_at = chrono::DateTime::parse_from_rfc3339(expiring["expires_at"].as_str().unwrap()).unwrap();
    assert_soat_timestamp(&expiring["expires_at"]);
    let delta = expires_at.with_timezone(&chrono::Utc) - before;
    assert!(
        delta >= chrono::Duration::days(30) - chrono::Duration::minutes(1)
            && delta <= chrono::Duration::days(30) + chrono::Duration::minutes(1),
        "{expires_at}"
    );
    for days in [1, 365] {
        let created = create_key(&server, &admin, json!({"name": format!("d{days}"), "expires_in_days": days})).await;
        assert!(created["expires_at"].is_string(), "{created}");
    }

    // PUT changes name and policies; omitted fields are kept.
    let path = format!("/api/v1/api-keys/{}", id_of(&with_policies));
    let renamed = put(&server, &path, Some(&admin), json!({"name": "renamed"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_record_shape(&renamed.body);
    assert_eq!(renamed.body["name"], "renamed");
    assert_eq!(renamed.body["policy_ids"], json!([policy]));
    assert_eq!(renamed.body["key_prefix"], with_policies["key_prefix"]);
    let repoliced = put(&server, &path, Some(&admin), json!({"policy_ids": [other]})).await;
    assert_eq!(repoliced.status, 200, "{}", repoliced.text);
    assert_eq!(repoliced.body["name"], "renamed");
    assert_eq!(repoliced.body["policy_ids"], json!([other]));
    assert_eq!(server.get(&path, Some(&admin)).await.body, repoliced.body);
    let unknown_policy =
        put(&server, &path, Some(&admin), json!({"policy_ids": ["pol_0123456789abcdef0123456789abcdef"]})).await;
    assert_eq!(unknown_policy.status, 404);
    assert_eq!(unknown_policy.body, json!({"error": "Policy not found"}));
    assert_eq!(server.get(&path, Some(&admin)).await.body["policy_ids"], json!([other]));

    // Deleting a policy detaches it from the key at once.
    assert_eq!(server.delete(&format!("/api/v1/policies/{other}"), Some(&admin)).await.status, 204);
    assert_eq!(server.get(&path, Some(&admin)).await.body["policy_ids"], json!([]));
}

#[tokio::test]
async fn creation_rejects_bad_input() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let policy = create_policy(&server, &admin, "p", allow(&["users:ListUsers"])).await;
    let cases = [
        json!({}),
        json!({"name": ""}),
        json!({"name": 5}),
        json!({"name": "k", "policy_ids": "pol_x"}),
        json!({"name": "k", "policy_ids": [1]}),
        json!({"name": "k", "expires_in_days": 0}),
        json!({"name": "k", "expires_in_days": 366}),
        json!({"name": "k", "expires_in_days": -1}),
        json!({"name": "k", "expires_in_days": "7"}),
        json!([1, 2]),
    ];
    for body in cases {
        let reply = server.post("/api/v1/api-keys", Some(&admin), body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert!(reply.body["error"].as_str().is_some_and(|m| !m.is_empty()), "{body}: {}", reply.text);
    }
    for unknown in ["pol_0123456789abcdef0123456789abcdef", "pol_nothex"] {
        let reply =
            server.post("/api/v1/api-keys", Some(&admin), json!({"name": "k", "policy_ids": [policy, unknown]})).await;
        assert_eq!(reply.status, 404, "{unknown}: {}", reply.text);
        assert_eq!(reply.body, json!({"error": "Policy not found"}));
    }
    assert_eq!(server.get("/api/v1/api-keys", Some(&admin)).await.body, json!([]));

    let anonymous = server.post("/api/v1/api-keys", None, json!({"name": "k"})).await;
    assert_eq!(anonymous.status, 401);
    for reply in [
        server.get("/api/v1/api-keys", None).await,
        server.get(&format!("/api/v1/api-keys/{UNKNOWN_KEY_ID}"), None).await,
        put(&server, &format!("/api/v1/api-keys/{UNKNOWN_KEY_ID}"), None, json!({"name": "x"})).await,
        server.delete(&format!("/api/v1/api-keys/{UNKNOWN_KEY_ID}"), None).await,
    ] {
        assert_eq!(reply.status, 401, "{}", reply.text);
        assert!(reply.body["error"].is_string(), "{}", reply.text);
    }
}

#[tokio::test]
async fn at_most_25_keys_per_user() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let (_, alice) = user_token(&server, &admin, "alice").await;
    let mut keys = Vec::new();
    for n in 0..25 {
        keys.push(create_key(&server, &alice, json!({"name": format!("k{n}")})).await);
    }
    let refused = server.post("/api/v1/api-keys", Some(&alice), json!({"name": "k25"})).await;
    assert_eq!(refused.status, 409, "{}", refused.text);
    assert_eq!(refused.body, json!({"error": "Too many API keys"}));
    assert_eq!(server.get("/api/v1/api-keys", Some(&alice)).await.body.as_array().unwrap().len(), 25);
    // The cap is per user: the admin can still create keys.
    create_key(&server, &admin, json!({"name": "admin"})).await;
    // Deleting one makes room again.
    assert_eq!(server.delete(&format!("/api/v1/api-keys/{}", id_of(&keys[0])), Some(&alice)).await.status, 204);
    create_key(&server, &alice, json!({"name": "again"})).await;
    assert_eq!(server.post("/api/v1/api-keys", Some(&alice), json!({"name": "k26"})).await.status, 409);
}

#[tokio::test]
async fn a_key_is_a_bearer_credential_on_every_dialect() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let created = create_key(&server, &admin, json!({"name": "ci"})).await;
    let key = key_of(&created);

    let me = server.get("/api/v1/users/me", Some(&key)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["username"], "admin");
    assert_eq!(me.body["role"], "admin");
    let users = server.get("/api/v1/users", Some(&key)).await;
    assert_eq!(users.status, 200, "{}", users.text);
    let alice = server.post("/api/v1/users", Some(&key), json!({"username": "alice", "password": "alicepass"})).await;
    assert_eq!(alice.status, 201, "{}", alice.text);
    let firezone = server.get("/v0/users", Some(&key)).await;
    assert_eq!(firezone.status, 200, "{}", firezone.text);
    assert_eq!(firezone.body["data"].as_array().unwrap().len(), 2);
    let made = server.post("/v0/users", Some(&key), json!({"user": {"email": "bob@test"}})).await;
    assert_eq!(made.status, 201, "{}", made.text);

    // A key can manage keys (it has no policies of its own).
    let child = create_key(&server, &key, json!({"name": "child"})).await;
    assert_eq!(child["user_id"], created["user_id"]);

    // Deleted: refused at once on both dialects.
    let deleted = server.delete(&format!("/api/v1/api-keys/{}", id_of(&created)), Some(&admin)).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    let soat = server.get("/api/v1/users/me", Some(&key)).await;
    assert_eq!(soat.status, 401, "{}", soat.text);
    assert!(soat.body["error"].is_string(), "{}", soat.text);
    let firezone = server.get("/v0/users", Some(&key)).await;
    assert_eq!(firezone.status, 401);
    assert_eq!(firezone.body, json!({"errors": {"auth": "no_resource_found"}}));
    let again = server.delete(&format!("/api/v1/api-keys/{}", id_of(&created)), Some(&admin)).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.body, json!({"error": "API key not found"}));
    // Its sibling still works.
    assert_eq!(server.get("/v0/users", Some(&key_of(&child))).await.status, 200);

    // Unknown sk_ strings: no_resource_found; other garbage: invalid_token.
    for unknown in ["sk_0000000000000000000000000000000000000000", "sk_x"] {
        let firezone = server.get("/v0/users", Some(unknown)).await;
        assert_eq!(firezone.status, 401);
        assert_eq!(firezone.body, json!({"errors": {"auth": "no_resource_found"}}), "{unknown}");
        let soat = server.get("/api/v1/users/me", Some(unknown)).await;
        assert_eq!(soat.status, 401);
        assert!(soat.body["error"].is_string());
    }
    // A real key with one character changed is unknown too.
    let child_key = key_of(&child);
    let last = child_key.chars().last().unwrap();
    let forged = format!("{}{}", &child_key[..child_key.len() - 1], if last == '0' { '1' } else { '0' });
    assert_eq!(server.get("/v0/users", Some(&forged)).await.body, json!({"errors": {"auth": "no_resource_found"}}));
    assert_eq!(server.get("/api/v1/users/me", Some(&forged)).await.status, 401);
    let garbage = server.get("/v0/users", Some("garbage")).await;
    assert_eq!(garbage.status, 401);
    assert_eq!(garbage.body, json!({"errors": {"auth": "invalid_token"}}));
}

#[tokio::test]
async fn deleting_the_owner_deletes_its_keys() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let (alice_id, alice) = user_token(&server, &admin, "alice").await;
    let first = create_key(&server, &alice, json!({"name": "one"})).await;
    let second = create_key(&server, &alice, json!({"name": "two"})).await;
    let admin_key = create_key(&server, &admin, json!({"name": "admin"})).await;
    assert_eq!(first["user_id"], alice_id.as_str());
    assert_eq!(server.get("/api/v1/users/me", Some(&key_of(&first))).await.body["username"], "alice");

    assert_eq!(server.delete(&format!("/api/v1/users/{alice_id}"), Some(&admin)).await.status, 204);
    for created in [&first, &second] {
        let key = key_of(created);
        assert_eq!(server.get("/api/v1/users/me", Some(&key)).await.status, 401);
        let firezone = server.get("/v0/users", Some(&key)).await;
        assert_eq!(firezone.status, 401);
        assert_eq!(firezone.body, json!({"errors": {"auth": "no_resource_found"}}));
        let record = server.get(&format!("/api/v1/api-keys/{}", id_of(created)), Some(&admin)).await;
        assert_eq!(record.status, 404, "{}", record.text);
        assert_eq!(record.body, json!({"error": "API key not found"}));
    }
    assert_eq!(ids(&server.get("/api/v1/api-keys", Some(&admin)).await.body), vec![id_of(&admin_key)]);

    // Recreating the same username does not revive the keys.
    user_token(&server, &admin, "alice").await;
    assert_eq!(server.get("/api/v1/users/me", Some(&key_of(&first))).await.status, 401);
}

#[tokio::test]
async fn owners_see_their_keys_admins_see_all() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let (alice_id, alice) = user_token(&server, &admin, "alice").await;
    let (_, bob) = user_token(&server, &admin, "bob").await;
    let alice_key = create_key(&server, &alice, json!({"name": "alice-key"})).await;
    let bob_key = create_key(&server, &bob, json!({"name": "bob-key"})).await;
    let admin_key = create_key(&server, &admin, json!({"name": "admin-key"})).await;
    assert_eq!(alice_key["user_id"], alice_id.as_str());

    // Each user lists only their own keys; the admin lists all of the tenant's.
    assert_eq!(server.get("/api/v1/api-keys", Some(&alice)).await.body, json!([without_key(&alice_key)]));
    assert_eq!(server.get("/api/v1/api-keys", Some(&bob)).await.body, json!([without_key(&bob_key)]));
    let all = server.get("/api/v1/api-keys", Some(&admin)).await;
    assert_eq!(all.status, 200);
    assert_eq!(ids(&all.body), sorted(vec![id_of(&alice_key), id_of(&bob_key), id_of(&admin_key)]));
    // A key acting for alice lists alice's keys.
    assert_eq!(ids(&server.get("/api/v1/api-keys", Some(&key_of(&alice_key))).await.body), vec![id_of(&alice_key)]);

    // Bob cannot see, change or delete Alice's key, nor tell that it exists.
    let alice_path = format!("/api/v1/api-keys/{}", id_of(&alice_key));
    for reply in [
        server.get(&alice_path, Some(&bob)).await,
        put(&server, &alice_path, Some(&bob), json!({"name": "stolen"})).await,
        server.delete(&alice_path, Some(&bob)).await,
        server.get(&format!("/api/v1/api-keys/{UNKNOWN_KEY_ID}"), Some(&bob)).await,
        server.get("/api/v1/api-keys/key_nothex", Some(&bob)).await,
        server.get(&format!("/api/v1/api-keys/{alice_id}"), Some(&bob)).await,
    ] {
        assert_eq!(reply.status, 404, "{}", reply.text);
        assert_eq!(reply.body, json!({"error": "API key not found"}));
    }
    // Alice can.
    let own = server.get(&alice_path, Some(&alice)).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.body, without_key(&alice_key));
    let renamed = put(&server, &alice_path, Some(&alice), json!({"name": "mine"})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "mine");
    // The admin can read and delete anyone's key.
    let seen = server.get(&alice_path, Some(&admin)).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.body["name"], "mine");
    assert_eq!(server.get("/api/v1/users/me", Some(&key_of(&alice_key))).await.status, 200);
    assert_eq!(server.delete(&alice_path, Some(&admin)).await.status, 204);
    assert_eq!(server.get("/api/v1/users/me", Some(&key_of(&alice_key))).await.status, 401);
    assert_eq!(server.get("/api/v1/api-keys", Some(&alice)).await.body, json!([]));
    // Bob's key was untouched by all this.
    assert_eq!(server.get("/api/v1/users/me", Some(&key_of(&bob_key))).await.body["username"], "bob");
    for bad in [UNKNOWN_KEY_ID, "key_nothex", "12"] {
        let reply = server.get(&format!("/api/v1/api-keys/{bad}"), Some(&admin)).await;
        assert_eq!(reply.status, 404, "{bad}");
        assert_eq!(reply.body, json!({"error": "API key not found"}));
    }
}

#[tokio::test]
async fn api_key_permissions_extend_access_to_other_users_keys() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let (alice_id, alice) = user_token(&server, &admin, "alice").await;
    let (_, bob) = user_token(&server, &admin, "bob").await;
    let alice_key = create_key(&server, &alice, json!({"name": "alice-key"})).await;
    let bob_key = create_key(&server, &bob, json!({"name": "bob-key"})).await;
    let auditor =
        create_policy(&server, &admin, "auditor", allow(&["api-keys:ListApiKeys", "api-keys:GetApiKey"])).await;
    let attach =
        put(&server, &format!("/api/v1/users/{alice_id}/policies"), Some(&admin), json!({"policy_ids": [auditor]}))
            .await;
    assert_eq!(attach.status, 204, "{}", attach.text);

    assert_eq!(
        ids(&server.get("/api/v1/api-keys", Some(&alice)).await.body),
        sorted(vec![id_of(&alice_key), id_of(&bob_key)])
    );
    let bob_path = format!("/api/v1/api-keys/{}", id_of(&bob_key));
    let read = server.get(&bob_path, Some(&alice)).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body, without_key(&bob_key));
    // Reading is not changing or deleting: Alice sees the key, so she is told she may not.
    let refused = server.delete(&bob_path, Some(&alice)).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.body, json!({"error": "Forbidden"}));
    let refused = put(&server, &bob_path, Some(&alice), json!({"name": "stolen"})).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.body, json!({"error": "Forbidden"}));
    assert_eq!(server.get(&bob_path, Some(&admin)).await.body["name"], "bob-key");
    assert_eq!(server.get("/api/v1/users/me", Some(&key_of(&bob_key))).await.status, 200);
}

#[tokio::test]
async fn a_key_with_policies_cannot_create_keys() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let list_only = create_policy(&server, &admin, "list", allow(&["users:ListUsers"])).await;
    let key_maker = create_policy(&server, &admin, "keys", allow(&["api-keys:CreateApiKey"])).await;
    let narrow = create_key(&server, &admin, json!({"name": "narrow", "policy_ids": [list_only]})).await;
    let maker = create_key(&server, &admin, json!({"name": "maker", "policy_ids": [key_maker]})).await;

    let refused = server.post("/api/v1/api-keys", Some(&key_of(&narrow)), json!({"name": "more"})).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.body, json!({"error": "Forbidden"}));
    // Not even a key allowed api-keys:CreateApiKey: a narrowed key could otherwise mint an
    // unnarrowed one (README, "Permissions").
    let also_refused = server.post("/api/v1/api-keys", Some(&key_of(&maker)), json!({"name": "more"})).await;
    assert_eq!(also_refused.status, 403, "{}", also_refused.text);
    // Login sessions need no policy for their own keys, admins or not.
    let (_, alice) = user_token(&server, &admin, "alice").await;
    create_key(&server, &alice, json!({"name": "own"})).await;
}

#[tokio::test]
async fn keys_are_scoped_to_their_tenant() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;
    let acme = server.admin_token_in("/t/acme").await;
    let created = server.post("/t/acme/api/v1/api-keys", Some(&acme), json!({"name": "acme"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let key = key_of(&created.body);
    assert_eq!(server.get("/t/acme/api/v1/users/me", Some(&key)).await.status, 200);
    assert_eq!(server.get("/t/acme/v0/users", Some(&key)).await.status, 200);
    assert_eq!(server.get("/api/v1/users/me", Some(&key)).await.status, 401);
    assert_eq!(server.get("/v0/users", Some(&key)).await.status, 401);
    assert_eq!(server.get("/api/v1/api-keys", Some(&admin)).await.body, json!([]));
    let other = server.get(&format!("/api/v1/api-keys/{}", id_of(&created.body)), Some(&admin)).await;
    assert_eq!(other.status, 404);
    assert_eq!(other.body, json!({"error": "API key not found"}));
}

#[tokio::test]
async fn create_api_token_makes_an_sk_key_named_api_token() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("TESSERA__DATABASE__ENDPOINT".to_owned(), format!("surrealkv://{}", dir.path().join("db").display())),
        ("TESSERA__AUTH__ARGON2__MEMORY_KIB".to_owned(), "1024".to_owned()),
        ("TESSERA__AUTH__ARGON2__ITERATIONS".to_owned(), "1".to_owned()),
        ("TESSERA__LOG__LEVEL".to_owned(), "warn".to_owned()),
    ];
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let server = Server::start_with(&env_refs).await;
    let admin = server.admin_token().await;
    server.stop();

    let (ok, stdout, stderr) = run_cli(&["create-api-token", "--email", "admin", "--expires-in", "7"], &env_refs, None);
    assert!(ok, "{stderr}");
    let token = stdout.trim().to_owned();
    assert!(token.starts_with("sk_"), "{token}");

    let server = Server::start_with(&env_refs).await;
    let list = server.get("/api/v1/api-keys", Some(&admin)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let keys = list.body.as_array().unwrap();
    assert_eq!(keys.len(), 1, "{}", list.text);
    assert_record_shape(&keys[0]);
    assert_eq!(keys[0]["name"], "api-token");
    assert_eq!(keys[0]["key_prefix"].as_str().unwrap(), &token[..8]);
    let expires_at = chrono::DateTime::parse_from_rfc3339(keys[0]["expires_at"].as_str().unwrap()).unwrap();
    let delta = expires_at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    assert!(delta > chrono::Duration::days(7) - chrono::Duration::minutes(5) && delta <= chrono::Duration::days(7));
    assert_eq!(server.get("/api/v1/users/me", Some(&token)).await.body["username"], "admin");
    assert_eq!(server.get("/v0/users", Some(&token)).await.status, 200);
    // It is an API key like any other: deleting it over HTTP stops it.
    let id = keys[0]["id"].as_str().unwrap();
    assert_eq!(server.delete(&format!("/api/v1/api-keys/{id}"), Some(&admin)).await.status, 204);
    assert_eq!(server.get("/v0/users", Some(&token)).await.body, json!({"errors": {"auth": "no_resource_found"}}));
    server.stop();
}

#[tokio::test]
async fn concurrent_creations_respect_the_cap() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    for n in 0..20 {
        create_key(&server, &admin, json!({"name": format!("k{n}")})).await;
    }
    let attempts = (0..12).map(|n| server.post("/api/v1/api-keys", Some(&admin), json!({"name": format!("race{n}")})));
    let replies = futures::future::join_all(attempts).await;
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 5, "{statuses:?}");
    for reply in replies.iter().filter(|r| r.status != 201) {
        assert_eq!(reply.status, 409, "{}", reply.text);
        assert_eq!(reply.body, json!({"error": "Too many API keys"}));
    }
    assert_eq!(server.get("/api/v1/api-keys", Some(&admin)).await.body.as_array().unwrap().len(), 25);
}

#[tokio::test]
async fn a_demoted_owners_key_loses_admin_power() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let bob = server
        .post("/api/v1/users", Some(&admin), json!({"username": "bob", "password": "bobspassword", "role": "admin"}))
        .await;
    let bob_id = bob.body["id"].as_str().unwrap().to_owned();
    let bob_token = server.login("bob", "bobspassword").await;
    let created = create_key(&server, &bob_token, json!({"name": "bob"})).await;
    let key = key_of(&created);
    // As an admin, the key sees every key of the tenant.
    assert_eq!(server.get("/api/v1/api-keys", Some(&key)).await.body.as_array().unwrap().len(), 1);
    let admin_key = create_key(&server, &admin, json!({"name": "admin"})).await;
    assert_eq!(server.get("/api/v1/api-keys", Some(&key)).await.body.as_array().unwrap().len(), 2);
    let uuid = uuid::Uuid::parse_str(&bob_id["usr_".len()..]).unwrap();
    let demoted = server
        .call(
            Method::PATCH,
            &format!("/v0/users/{uuid}"),
            Some(&admin),
            Some(json!({"user": {"role": "unprivileged"}})),
        )
        .await;
    assert_eq!(demoted.status, 200, "{}", demoted.text);
    // Now it sees only bob's own key, and not the admin's.
    assert_eq!(server.get("/api/v1/api-keys", Some(&key)).await.body, json!([without_key(&created)]));
    let hidden = server.get(&format!("/api/v1/api-keys/{}", id_of(&admin_key)), Some(&key)).await;
    assert_eq!(hidden.status, 404);
    assert_eq!(hidden.body, json!({"error": "API key not found"}));
}
