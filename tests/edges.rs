//! The edges: health, body limits, malformed JSON, unknown routes and methods, bad config.

mod common;

use common::{run_cli, Server};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn health_answers() {
    let server = Server::start().await;
    let reply = server.get("/healthz", None).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, json!({"status": "ok"}));
}

#[tokio::test]
async fn oversized_bodies_get_413_in_each_dialect() {
    let server = Server::start_with(&[("TESSERA__SERVER__MAX_BODY_BYTES", "4096")]).await;
    let token = server.admin_token().await;
    let big = json!({"username": "x".repeat(5000), "password": "supersecret"});
    let soat = server.post("/api/v1/users", Some(&token), big.clone()).await;
    assert_eq!(soat.status, 413);
    assert_eq!(soat.body, json!({"error": "Request body too large"}));
    let firezone = server.post("/v0/users", Some(&token), json!({"user": big})).await;
    assert_eq!(firezone.status, 413);
    assert_eq!(firezone.body["error"], "Request body too large");
}

#[tokio::test]
async fn malformed_json_is_400_in_each_dialect() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    for body in [&b"{not json"[..], b"", b"\"str\"", b"{\"username\": \"a\", \"password\": "] {
        let soat = server.raw(Method::POST, "/api/v1/users", Some(&token), body.to_vec()).await;
        assert_eq!(soat.status, 400, "{body:?}");
        assert!(soat.body["error"].as_str().is_some_and(|m| !m.is_empty()), "{:?}", soat.text);
        let login = server.raw(Method::POST, "/api/v1/users/login", None, body.to_vec()).await;
        assert_eq!(login.status, 400);
        let firezone = server.raw(Method::POST, "/v0/users", Some(&token), body.to_vec()).await;
        assert_eq!(firezone.status, 400);
        assert!(firezone.body["error"].as_str().unwrap().starts_with("Bad Request"));
    }
}

/// JSON (and JSON Schema, by which the OpenAPI document's `integer`s are read) counts `30.0` as
/// the integer 30: every dialect accepts it where it takes an integer, and refuses a fraction or
/// a number out of range in its own shape.
#[tokio::test]
async fn integral_numbers_are_integers_in_every_dialect() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let key = server.post("/api/v1/api-keys", Some(&token), json!({"name": "k", "expires_in_days": 30.0})).await;
    assert_eq!(key.status, 201, "{}", key.text);
    for refused in [json!(30.5), json!(9_223_372_036_854_775_808_u64)] {
        let reply =
            server.post("/api/v1/api-keys", Some(&token), json!({"name": "k", "expires_in_days": refused})).await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert_eq!(reply.body, json!({"error": "expires_in_days must be an integer"}));
    }
    let tenant = json!({"id": "acme", "settings": {"password_min_length": 10.0, "session_lifetime_minutes": 60}});
    let created = server.post("/api/v1/tenants", Some(&token), tenant).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(created.body["settings"]["password_min_length"], json!(10));
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 1.0});
    let found = server.post("/scim/v2/Users/.search", Some(&token), search).await;
    assert_eq!((found.status.as_u16(), found.body["itemsPerPage"].clone()), (200, json!(1)), "{}", found.text);
    let configuration = json!({"configuration": {"default_client_mtu": 1400.0}});
    let changed = server.call(Method::PATCH, "/v0/configuration", Some(&token), Some(configuration)).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["data"]["default_client_mtu"], json!(1400));
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_in_the_dialect_shape() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let soat = server.get("/api/v1/nothing", Some(&token)).await;
    assert_eq!((soat.status.as_u16(), soat.body), (404, json!({"error": "Not found"})));
    let firezone = server.get("/v0/nothing", Some(&token)).await;
    assert_eq!((firezone.status.as_u16(), firezone.body), (404, json!({"error": "not_found"})));
    let elsewhere = server.get("/nothing/at/all", None).await;
    assert_eq!(elsewhere.status, 404);
    assert!(elsewhere.body.is_object());
    let method = server.call(Method::PATCH, "/api/v1/users", Some(&token), None).await;
    assert_eq!(method.status, 405);
    assert_eq!(method.body, json!({"error": "Method not allowed"}));
    let firezone_method = server.call(Method::POST, "/v0/users/someone@test", Some(&token), None).await;
    assert_eq!(firezone_method.status, 405);
    assert!(firezone_method.body["error"].is_string());
    // Every 405 says what is allowed (RFC 9110 §15.5.6).
    assert_eq!(method.headers["allow"], "GET, POST");
    assert!(firezone_method.headers["allow"].to_str().unwrap().contains("GET"));
    // Liveness answers GET and HEAD only (it used to answer 200 to any method, TRACE included).
    for (verb, status) in [(Method::HEAD, 200), (Method::TRACE, 405), (Method::POST, 405), (Method::DELETE, 405)] {
        let reply = server.call(verb.clone(), "/healthz", None, None).await;
        assert_eq!(reply.status, status, "{verb} /healthz");
        if status == 405 {
            assert_eq!(reply.headers["allow"], "GET, HEAD", "{verb} /healthz");
            assert_eq!(reply.body, json!({"error": "Method not allowed"}));
        }
    }
    let bad_query = server.get("/api/v1/sessions?user_id=usr_zz", Some(&token)).await;
    assert_eq!(bad_query.status, 404);
    // A well-formed id of no user of this tenant is absent too, not an empty list.
    let nobody = server.get("/api/v1/sessions?user_id=usr_0123456789abcdef0123456789abcdef", Some(&token)).await;
    assert_eq!((nobody.status.as_u16(), nobody.body), (404, json!({"error": "User not found"})));
}

#[tokio::test]
async fn strange_inputs_never_cause_5xx() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let paths = [
        "/api/v1/users/%00",
        "/api/v1/users/usr_%F0%9F%92%A9",
        "/v0/users/%25%25",
        "/v0/users/a%40b",
        "/v0/users/00000000-0000-0000-0000-000000000000",
        "/api/v1/users/usr_00000000000000000000000000000000",
    ];
    for path in paths {
        for method in [Method::GET, Method::DELETE, Method::PATCH] {
            let reply = server.call(method.clone(), path, Some(&token), Some(json!({"user": {}}))).await;
            assert!(reply.status.is_client_error() || reply.status.is_success(), "{method} {path}: {}", reply.status);
        }
    }
    let odd_bodies = [
        json!({"user": {"email": "x@y", "password": 12, "password_confirmation": ["a"]}}),
        json!({"user": {"email": "\u{0}@\u{0}"}}),
        json!({"user": {"email": format!("{}@x", "a".repeat(300))}}),
        json!({"username": "\u{202e}evil", "password": "p".repeat(2000)}),
    ];
    for body in odd_bodies {
        for path in ["/v0/users", "/api/v1/users", "/api/v1/users/login", "/api/v1/users/bootstrap"] {
            let reply = server.post(path, Some(&token), body.clone()).await;
            assert!(reply.status.is_client_error(), "{path} {body}: {}", reply.status);
        }
    }
}

#[test]
fn bad_configuration_fails_at_start_naming_the_key() {
    let cases = [
        ("TESSERA__SERVER__BIND", "not-an-address", "bind"),
        ("TESSERA__DATABASE__ENDPOINT", "postgres://x", "database.endpoint"),
        ("TESSERA__SERVER__NO_SUCH_KEY", "1", "no_such_key"),
        ("TESSERA__AUTH__ARGON2__MEMORY_KIB", "1", "auth.argon2"),
        ("TESSERA__AUTH__TOKEN_SECRET", "short", "auth.token_secret"),
        ("TESSERA__DATABASE__MEMTABLE_MIB", "2", "database.memtable_mib"),
        ("TESSERA__DATABASE__BLOCK_CACHE_MIB", "0", "database.block_cache_mib"),
        ("TESSERA__DATABASE__BLOCK_CACHE_MIB", "lots", "block_cache_mib"),
    ];
    for (key, value, named) in cases {
        let (ok, _, stderr) = run_cli(&["serve"], &[(key, value)], None);
        assert!(!ok, "{key}={value} was accepted");
        assert!(stderr.contains(named), "{key}={value}: {stderr}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "[server]\nbnid = \"127.0.0.1:1\"\n").unwrap();
    let (ok, _, stderr) = run_cli(&["--config", file.to_str().unwrap(), "serve"], &[], None);
    assert!(!ok && stderr.contains("bnid"), "{stderr}");
    let (ok, _, stderr) = run_cli(&["--config", "/no/such/file.toml", "serve"], &[], None);
    assert!(!ok && stderr.contains("no such file"), "{stderr}");
}
