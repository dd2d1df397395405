//! Whole user lists are written chunk by chunk as the store reads them (issue #12): past a
//! chunk's size both dialects still answer every user once, in creation order, in their own
//! shape, and the SOAT pages (`limit`/`offset`) agree with the whole list.

mod common;

use std::collections::HashSet;

use common::Server;
use serde_json::{json, Value};

/// Users created besides the admin: more than two chunks of 1,000, ending mid-chunk.
const USERS: usize = 2_345;

/// Creates `USERS` users through SCIM /Bulk (1,000 operations per request at most).
async fn provision(server: &Server, admin: &str) {
    let names: Vec<usize> = (0..USERS).collect();
    for chunk in names.chunks(1_000) {
        let operations: Vec<Value> = chunk
            .iter()
            .map(|index| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{index}"), "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": format!("member{index:05}"),
                    "emails": [{"value": format!("member{index:05}@example.com"), "primary": true}],
                }})
            })
            .collect();
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations});
        let reply = server.post("/scim/v2/Bulk", Some(admin), body).await;
        assert_eq!(reply.status, 200, "{}", &reply.text[..reply.text.len().min(300)]);
        let created = reply.body["Operations"].as_array().unwrap();
        assert!(created.iter().all(|op| op["status"] == "201"), "{}", &reply.text[..reply.text.len().min(300)]);
    }
}

fn usernames(list: &[Value]) -> Vec<String> {
    list.iter().map(|user| user["username"].as_str().expect("username").to_owned()).collect()
}

#[tokio::test]
async fn whole_lists_hold_every_user_once_in_creation_order() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    provision(&server, &admin).await;

    let soat = server.get("/api/v1/users", Some(&admin)).await;
    assert_eq!(soat.status, 200);
    assert!(soat.headers.get("content-length").is_none(), "the list is streamed, not buffered");
    let soat = soat.body.as_array().expect("a JSON array").clone();
    assert_eq!(soat.len(), USERS + 1);
    let ids: HashSet<&str> = soat.iter().map(|user| user["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), soat.len(), "each user once");
    assert_eq!(usernames(&soat)[0], "admin", "the oldest first");
    let members: Vec<String> = usernames(&soat).into_iter().skip(1).collect();
    let mut sorted = members.clone();
    sorted.sort();
    assert_eq!(members.len(), USERS);
    assert_eq!(sorted, (0..USERS).map(|index| format!("member{index:05}")).collect::<Vec<_>>());

    // The SOAT pages are slices of the same list.
    let mut paged = Vec::new();
    for offset in (0..=USERS).step_by(500) {
        let page = server.get(&format!("/api/v1/users?limit=500&offset={offset}"), Some(&admin)).await;
        assert_eq!(page.status, 200);
        paged.extend(page.body.as_array().unwrap().iter().cloned());
    }
    assert_eq!(paged, soat, "pages in the same order as the whole list");

    // Firezone: the same users in the same order, in its `{"data": [...]}` envelope.
    let firezone = server.get("/v0/users", Some(&admin)).await;
    assert_eq!(firezone.status, 200);
    let data = firezone.body["data"].as_array().expect("data").clone();
    assert_eq!(firezone.body.as_object().unwrap().len(), 1, "data alone");
    assert_eq!(data.len(), soat.len());
    let out_of_order = data
        .iter()
        .zip(&soat)
        .filter(|(firezone, soat)| {
            let uuid = firezone["id"].as_str().unwrap().replace('-', "");
            soat["id"].as_str() != Some(&format!("usr_{uuid}"))
        })
        .count();
    assert_eq!(out_of_order, 0, "the same users in the same order in both dialects");
    assert_eq!(data[1]["email"], "member00000@example.com");
}

#[tokio::test]
async fn a_refused_whole_list_is_refused_before_it_starts() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let body = json!({"username": "plain", "password": "plain password"});
    assert_eq!(server.post("/api/v1/users", Some(&admin), body).await.status, 201);
    let plain = server.login("plain", "plain password").await;
    let soat = server.get("/api/v1/users", Some(&plain)).await;
    assert_eq!(soat.status, 403, "{}", soat.text);
    assert!(soat.body["error"].is_string(), "SOAT's error shape: {}", soat.text);
    let firezone = server.get("/v0/users", Some(&plain)).await;
    assert_eq!(firezone.status, 401, "Firezone answers a refusal 401: {}", firezone.text);
    assert_eq!(firezone.body, json!({"error": "Unauthorized"}));
    for path in ["/api/v1/users", "/v0/users"] {
        assert_eq!(server.get(path, None).await.status, 401, "{path}");
    }
}
