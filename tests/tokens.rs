//! Server-side sessions and API tokens: revocation is immediate; API tokens from the CLI work
//! on every dialect; data and tokens survive a restart on the persistent engine.

mod common;

use common::{run_cli, Server};
use serde_json::json;

#[tokio::test]
async fn revoking_a_session_rejects_its_token_at_once() {
    let server = Server::start().await;
    let first = server.admin_token().await;
    let second = server.login("admin", "supersecret").await;

    let sessions = server.get("/api/v1/sessions", Some(&first)).await;
    assert_eq!(sessions.status, 200);
    let list = sessions.body.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert!(list.iter().all(|s| s["method"] == "email" && s["id"].as_str().unwrap().starts_with("ses_")));

    // Revoke the session behind `second` (the newest).
    let newest = list.last().unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(server.delete(&format!("/api/v1/sessions/{newest}"), Some(&first)).await.status, 204);
    assert_eq!(server.get("/api/v1/users/me", Some(&second)).await.status, 401);
    assert_eq!(server.get("/v0/users", Some(&second)).await.body, json!({"errors": {"auth": "no_resource_found"}}));
    assert_eq!(server.get("/api/v1/users/me", Some(&first)).await.status, 200);
    assert_eq!(server.delete(&format!("/api/v1/sessions/{newest}"), Some(&first)).await.status, 404);
}

#[tokio::test]
async fn users_see_only_their_own_sessions() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    server.post("/api/v1/users", Some(&admin), json!({"username": "alice", "password": "alicepass"})).await;
    let alice = server.login("alice", "alicepass").await;
    let own = server.get("/api/v1/sessions", Some(&alice)).await;
    assert_eq!(own.body.as_array().unwrap().len(), 1);
    assert_eq!(server.get("/api/v1/sessions?user_id=all", Some(&alice)).await.status, 403);
    assert_eq!(server.get("/api/v1/sessions?user_id=all", Some(&admin)).await.body.as_array().unwrap().len(), 2);
    // Alice cannot revoke the admin's session, and cannot tell it exists.
    let admin_sessions = server.get("/api/v1/sessions", Some(&admin)).await;
    let admin_session = admin_sessions.body[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(server.delete(&format!("/api/v1/sessions/{admin_session}"), Some(&alice)).await.status, 404);
    // An admin can revoke Alice's.
    let alice_session = own.body[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(server.delete(&format!("/api/v1/sessions/{alice_session}"), Some(&admin)).await.status, 204);
    assert_eq!(server.get("/api/v1/users/me", Some(&alice)).await.status, 401);
}

/// Environment for a server and CLI sharing one persistent database.
fn persistent_env(dir: &std::path::Path) -> Vec<(String, String)> {
    vec![
        ("TESSERA__DATABASE__ENDPOINT".into(), format!("surrealkv://{}", dir.join("db").display())),
        ("TESSERA__AUTH__ARGON2__MEMORY_KIB".into(), "1024".into()),
        ("TESSERA__AUTH__ARGON2__ITERATIONS".into(), "1".into()),
        ("TESSERA__LOG__LEVEL".into(), "warn".into()),
    ]
}

#[tokio::test]
async fn data_tokens_and_api_tokens_survive_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let env = persistent_env(dir.path());
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    let server = Server::start_with(&env_refs).await;
    let token = server.admin_token().await;
    let alice =
        server.post("/api/v1/users", Some(&token), json!({"username": "alice@test", "password": "alicepass"})).await;
    assert_eq!(alice.status, 201);
    server.stop();

    // The operator command opens the same database while the server is down.
    let (ok, stdout, stderr) = run_cli(&["create-api-token", "--email", "admin", "--expires-in", "7"], &env_refs, None);
    assert!(ok, "{stderr}");
    let api_token = stdout.trim().to_owned();
    let (ok, _, stderr) = run_cli(&["create-api-token", "--email", "nobody@test"], &env_refs, None);
    assert!(!ok && stderr.contains("not found"), "{stderr}");
    let (ok, _, stderr) = run_cli(&["create-api-token", "--email", "admin", "--expires-in", "91"], &env_refs, None);
    assert!(!ok && stderr.contains("91"), "{stderr}");
    let (ok, _, _) = run_cli(&["create-api-token", "--email", "admin", "--expires-in", "0"], &env_refs, None);
    assert!(!ok);

    let server = Server::start_with(&env_refs).await;
    // The login token from before the restart still works, as do the users.
    assert_eq!(server.get("/api/v1/users/me", Some(&token)).await.status, 200);
    let users = server.get("/api/v1/users", Some(&token)).await;
    assert_eq!(users.body.as_array().unwrap().len(), 2);
    // The API token works on both dialects.
    assert_eq!(server.get("/v0/users", Some(&api_token)).await.status, 200);
    assert_eq!(server.get("/api/v1/users/me", Some(&api_token)).await.body["username"], "admin");
    server.stop();
}

#[tokio::test]
async fn api_tokens_are_capped_and_die_with_their_owner() {
    let dir = tempfile::tempdir().unwrap();
    let env = persistent_env(dir.path());
    let env_refs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    let server = Server::start_with(&env_refs).await;
    let token = server.admin_token().await;
    server.post("/v0/users", Some(&token), json!({"user": {"email": "bob@test", "role": "admin"}})).await;
    server.stop();

    let mut bob_tokens = Vec::new();
    for _ in 0..25 {
        let (ok, stdout, stderr) = run_cli(&["create-api-token", "--email", "BOB@test"], &env_refs, None);
        assert!(ok, "{stderr}");
        bob_tokens.push(stdout.trim().to_owned());
    }
    let (ok, _, stderr) = run_cli(&["create-api-token", "--email", "bob@test"], &env_refs, None);
    assert!(!ok && stderr.contains("too many"), "{stderr}");

    let server = Server::start_with(&env_refs).await;
    assert_eq!(server.get("/v0/users", Some(&bob_tokens[0])).await.status, 200);
    assert_eq!(server.delete("/v0/users/bob@test", Some(&token)).await.status, 204);
    for bob in [&bob_tokens[0], &bob_tokens[24]] {
        let reply = server.get("/v0/users", Some(bob)).await;
        assert_eq!(reply.body, json!({"errors": {"auth": "no_resource_found"}}));
    }
    server.stop();
}
