//! Races the database must arbitrate: exactly one bootstrap and one owner of an email win.

mod common;

use common::Server;
use futures::future::join_all;
use serde_json::json;

#[tokio::test]
async fn concurrent_bootstraps_have_exactly_one_winner() {
    for _ in 0..3 {
        let server = Server::start().await;
        let attempts = (0..12).map(|i| {
            server.post(
                "/api/v1/users/bootstrap",
                None,
                json!({"username": format!("admin{i}"), "password": "supersecret"}),
            )
        });
        let replies = join_all(attempts).await;
        let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
        for reply in replies.iter().filter(|r| r.status == 409) {
            assert_eq!(reply.body, json!({"error": "Users already exist"}));
        }
        let winner = replies.iter().find(|r| r.status == 201).unwrap().body["username"].as_str().unwrap().to_owned();
        let token = server.login(&winner, "supersecret").await;
        assert_eq!(server.get("/api/v1/users", Some(&token)).await.body.as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn concurrent_creates_of_one_email_have_exactly_one_winner() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    for round in 0..3 {
        let email = format!("Race{round}@Test");
        let attempts = (0..10).map(|i| {
            // Vary the case: uniqueness is case-insensitive.
            let email = if i % 2 == 0 { email.clone() } else { email.to_lowercase() };
            server.post("/v0/users", Some(&token), json!({"user": {"email": email}}))
        });
        let replies = join_all(attempts).await;
        let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        for reply in replies.iter().filter(|r| r.status != 201) {
            assert_eq!(reply.status, 422);
            assert_eq!(reply.body, json!({"errors": {"email": ["has already been taken"]}}));
        }
        // And the same through SOAT usernames.
        let name = format!("racer{round}");
        let soat = join_all((0..10).map(|_| {
            server.post("/api/v1/users", Some(&token), json!({"username": name.clone(), "password": "racerpass"}))
        }))
        .await;
        let statuses: Vec<u16> = soat.iter().map(|r| r.status.as_u16()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert!(statuses.iter().all(|s| *s == 201 || *s == 409), "{statuses:?}");
    }
}

#[tokio::test]
async fn concurrent_deletes_never_remove_every_admin() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let second = server
        .post("/api/v1/users", Some(&token), json!({"username": "second", "password": "secondpass", "role": "admin"}))
        .await;
    let second_token = server.login("second", "secondpass").await;
    let me = server.get("/api/v1/users/me", Some(&token)).await.body["id"].as_str().unwrap().to_owned();
    let other = second.body["id"].as_str().unwrap().to_owned();
    // Each admin deletes the other at the same moment: one must be refused.
    let (path_a, path_b) = (format!("/api/v1/users/{other}"), format!("/api/v1/users/{me}"));
    let a = server.delete(&path_a, Some(&token));
    let b = server.delete(&path_b, Some(&second_token));
    let (a, b) = tokio::join!(a, b);
    let statuses = [a.status.as_u16(), b.status.as_u16()];
    assert!(statuses.contains(&204), "{statuses:?}");
    let survivors = [&token, &second_token];
    let mut admins = 0;
    for token in survivors {
        if server.get("/api/v1/users/me", Some(token)).await.status == 200 {
            admins += 1;
        }
    }
    assert_eq!(admins, 1, "{statuses:?}");
}
