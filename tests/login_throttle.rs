//! Password guessing is braked: after five consecutive failures for one login name, attempts
//! for that name are refused for a while (429 with Retry-After), even with the right password;
//! other names and other tenants are unaffected.

mod common;

use common::Server;
use serde_json::json;

async fn attempt(server: &Server, prefix: &str, username: &str, password: &str) -> common::Reply {
    let body = json!({"username": username, "password": password});
    server.post(&format!("{prefix}/api/v1/users/login"), None, body).await
}

#[tokio::test]
async fn five_failures_lock_the_name_for_a_while() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;
    server.admin_token_in("/t/acme").await;
    let created =
        server.post("/api/v1/users", Some(&admin), json!({"username": "carol", "password": "carols password"})).await;
    assert_eq!(created.status, 201, "{}", created.text);

    for _ in 0..5 {
        let reply = attempt(&server, "", "admin", "not-the-password").await;
        assert_eq!(reply.status, 401, "{}", reply.text);
        assert_eq!(reply.body, json!({"error": "Invalid credentials"}));
    }
    let locked = attempt(&server, "", "ADMIN", "supersecret").await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(locked.body["error"].as_str().unwrap().starts_with("Too many failed sign-ins"), "{}", locked.text);
    let wait: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");

    // The browser form is braked the same way, with a readable page.
    let form = [("email", "admin"), ("password", "supersecret")];
    let page = reqwest::Client::new().post(server.url("/auth/identity/callback")).form(&form).send().await.unwrap();
    assert_eq!(page.status(), 429);
    assert!(page.text().await.unwrap().contains("Too many failed sign-ins"));

    // Other names, other tenants, and existing tokens are unaffected.
    assert_eq!(attempt(&server, "", "carol", "carols password").await.status, 200);
    assert_eq!(attempt(&server, "/t/acme", "admin", "supersecret").await.status, 200);
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 200);
}

#[tokio::test]
async fn a_success_resets_the_count() {
    let server = Server::start().await;
    server.admin_token().await;
    for _ in 0..3 {
        assert_eq!(attempt(&server, "", "admin", "wrong password!").await.status, 401);
    }
    assert_eq!(attempt(&server, "", "admin", "supersecret").await.status, 200);
    for _ in 0..4 {
        assert_eq!(attempt(&server, "", "admin", "wrong password!").await.status, 401);
    }
    assert_eq!(attempt(&server, "", "admin", "supersecret").await.status, 200, "4 fresh failures do not lock");
}
