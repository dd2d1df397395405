//! Concurrent user creations are written together, several per transaction (issue #12), yet
//! each caller gets the answer it would have had alone: a taken email is refused to exactly
//! one of two racing callers, every created user exists in its own tenant only, and every
//! creation has its one audit event with its own outcome.

mod common;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use common::Server;
use futures::future::join_all;
use serde_json::{json, Value};

/// Distinct emails created at once, and how many of them are also sent a second time.
const EMAILS: usize = 40;
const TWICE: usize = 8;

/// Creates `email` through `POST {prefix}/v0/users`; its status and body.
async fn create(server: &Server, prefix: &str, token: &str, email: String) -> (u16, Value) {
    let reply = server.post(&format!("{prefix}/v0/users"), Some(token), json!({"user": {"email": email}})).await;
    (reply.status.as_u16(), reply.body)
}

/// The `users:CreateUser` audit events of the tenant at `prefix` with this outcome, once there are `count`
/// (failures are appended off the request path) or after 5 s.
async fn creations(server: &Server, prefix: &str, token: &str, outcome: &str, count: usize) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let path = format!("{prefix}/api/v1/audit-events?action=users:CreateUser&outcome={outcome}&limit=500");
        let reply = server.get(&path, Some(token)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        let found = reply.body["events"].as_array().unwrap().clone();
        if found.len() >= count || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn racing_creations_each_get_their_own_answer() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let created = server
        .post(
            "/api/v1/tenants",
            Some(&admin),
            json!({"id": "acme", "admin": {"username": "root", "password": "acme root password"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let acme = server.login_in("/t/acme", "root", "acme root password").await;

    // Every email once in each tenant, the first TWICE of them twice in the default tenant,
    // all at once.
    let email = |index: usize| format!("racer{index}@example.test");
    let mut calls = Vec::new();
    for index in 0..EMAILS {
        calls.push(("", admin.as_str(), email(index)));
        calls.push(("/t/acme", acme.as_str(), email(index)));
    }
    for index in 0..TWICE {
        calls.push(("", admin.as_str(), email(index)));
    }
    let answers =
        join_all(calls.iter().map(|(prefix, token, email)| create(&server, prefix, token, email.clone()))).await;

    for prefix in ["", "/t/acme"] {
        let mine: Vec<&(u16, Value)> =
            answers.iter().zip(&calls).filter(|(_, call)| call.0 == prefix).map(|(answer, _)| answer).collect();
        let created: Vec<&Value> = mine.iter().filter(|(status, _)| *status == 201).map(|(_, body)| body).collect();
        assert_eq!(created.len(), EMAILS, "{prefix}: each email created once");
        let refused: Vec<&Value> = mine.iter().filter(|(status, _)| *status != 201).map(|(_, body)| body).collect();
        let expected_refusals = if prefix.is_empty() { TWICE } else { 0 };
        assert_eq!(refused.len(), expected_refusals, "{prefix}: {refused:?}");
        for body in refused {
            assert_eq!(body, &json!({"errors": {"email": ["has already been taken"]}}));
        }
        let emails: HashSet<&str> = created.iter().map(|body| body["data"]["email"].as_str().unwrap()).collect();
        assert_eq!(emails.len(), EMAILS, "{prefix}: distinct users");
        // Each answer names a user that exists, in this tenant and not in the other.
        let token = if prefix.is_empty() { &admin } else { &acme };
        let other = if prefix.is_empty() { ("/t/acme", &acme) } else { ("", &admin) };
        for body in &created {
            let id = body["data"]["id"].as_str().unwrap();
            let read = server.get(&format!("{prefix}/v0/users/{id}"), Some(token)).await;
            assert_eq!(read.status, 200, "{prefix}: {id}");
            assert_eq!(read.body["data"]["email"], body["data"]["email"]);
            let elsewhere = server.get(&format!("{}/v0/users/{id}", other.0), Some(other.1)).await;
            assert_eq!(elsewhere.status, 404, "{prefix}: {id} is not in the other tenant");
        }
        let listed = server.get(&format!("{prefix}/v0/users"), Some(token)).await;
        assert_eq!(listed.body["data"].as_array().unwrap().len(), EMAILS + 1, "{prefix}: and its admin");
    }

    // One audit event per creation, with its own outcome and target.
    for (prefix, token) in [("", &admin), ("/t/acme", &acme)] {
        let tenant = if prefix.is_empty() { "default" } else { "acme" };
        let created: HashSet<String> = answers
            .iter()
            .zip(&calls)
            .filter(|((status, _), call)| *status == 201 && call.0 == prefix)
            .map(|((_, body), _)| {
                let uuid = body["data"]["id"].as_str().unwrap().replace('-', "");
                format!("srn:{tenant}:user:usr_{uuid}")
            })
            .collect();
        let succeeded = creations(&server, prefix, token, "success", EMAILS).await;
        let targets: Vec<&str> = succeeded
            .iter()
            .map(|event| event["target"].as_str().unwrap())
            .filter(|target| created.contains(*target))
            .collect();
        assert_eq!(targets.len(), EMAILS, "{prefix}: one event per created user: {succeeded:?}");
        assert_eq!(targets.iter().collect::<HashSet<_>>().len(), EMAILS, "{prefix}: each names its own user");
        assert!(succeeded.iter().all(|event| event["tenant"] == tenant), "{prefix}: {succeeded:?}");
    }
    let failed = creations(&server, "", &admin, "failure", TWICE).await;
    assert_eq!(failed.len(), TWICE, "{failed:?}");
}
