//! Concurrent updates the database must arbitrate without losing any: 16 writers at once, then
//! the stored result is read back and checked exactly. Changes that do not overlap all apply;
//! decisions that depend on the stored record (only admins change admins, one admin stays,
//! usernames and emails stay unique across both) hold against the record as it is written.

mod common;

use std::collections::BTreeSet;

use common::{Reply, Server};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

const WRITERS: usize = 16;

fn document() -> Value {
    json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"]}]})
}

async fn call(server: &Server, method: Method, path: String, token: &str, body: Value) -> Reply {
    server.call(method, &path, Some(token), Some(body)).await
}

async fn put(server: &Server, path: impl AsRef<str>, token: &str, body: Value) -> Reply {
    server.call(Method::PUT, path.as_ref(), Some(token), Some(body)).await
}

async fn patch(server: &Server, path: impl AsRef<str>, token: &str, body: Value) -> Reply {
    server.call(Method::PATCH, path.as_ref(), Some(token), Some(body)).await
}

fn id(reply: &Reply) -> String {
    reply.body["id"].as_str().unwrap_or_else(|| panic!("no id in {}", reply.text)).to_owned()
}

/// Firezone's form of a SOAT id (`usr_<32 hex>` → hyphenated UUID).
fn firezone_id(soat_id: &str) -> String {
    uuid::Uuid::parse_str(soat_id.trim_start_matches("usr_")).unwrap().to_string()
}

fn statuses(replies: &[Reply]) -> Vec<u16> {
    replies.iter().map(|reply| reply.status.as_u16()).collect()
}

async fn create_policy(server: &Server, admin: &str, name: &str, document: Value) -> String {
    let reply = server.post("/api/v1/policies", Some(admin), json!({"name": name, "document": document})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    id(&reply)
}

/// A SOAT user (no email) with password `<username>-password`; returns its SOAT id.
async fn create_user(server: &Server, admin: &str, username: &str, role: &str) -> String {
    let body = json!({"username": username, "password": format!("{username}-password"), "role": role});
    let reply = server.post("/api/v1/users", Some(admin), body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    id(&reply)
}

/// Whether `username` signs in with `password` (one attempt).
async fn signs_in(server: &Server, username: &str, password: &str) -> bool {
    let reply = server.post("/api/v1/users/login", None, json!({"username": username, "password": password})).await;
    reply.status == 200
}

#[tokio::test]
async fn policy_name_and_description_updates_both_apply() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    for round in 0..6 {
        let policy = create_policy(&server, &admin, &format!("original-{round}"), document()).await;
        let path = format!("/api/v1/policies/{policy}");
        let writes = (0..WRITERS).map(|i| {
            let body = if i % 2 == 0 {
                json!({"name": format!("name-{i}"), "document": document()})
            } else {
                json!({"description": format!("description-{i}"), "document": document()})
            };
            put(&server, &path, &admin, body)
        });
        let replies = join_all(writes).await;
        assert!(replies.iter().all(|reply| reply.status == 200), "{:?}", statuses(&replies));
        let stored = server.get(&path, Some(&admin)).await.body;
        let name = stored["name"].as_str().unwrap();
        let description = stored["description"].as_str().unwrap_or_else(|| panic!("description lost: {stored}"));
        let index = |text: &str, prefix: &str| text.strip_prefix(prefix).and_then(|n| n.parse::<usize>().ok());
        assert!(index(name, "name-").is_some_and(|i| i % 2 == 0), "name lost: {stored}");
        assert!(index(description, "description-").is_some_and(|i| i % 2 == 1), "description lost: {stored}");
        assert_eq!(stored["document"], document());
    }
}

#[tokio::test]
async fn configuration_patches_of_different_keys_all_apply() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    // Two keys, eight writers each: both keys end with one of their writers' values.
    for round in 0..3 {
        let writes = (0..WRITERS).map(|i| {
            let change = if i % 2 == 0 {
                json!({"default_client_mtu": 1000 + round * 100 + i})
            } else {
                json!({"default_client_endpoint": format!("vpn-{round}-{i}.example.com")})
            };
            patch(&server, "/v0/configuration", &admin, json!({"configuration": change}))
        });
        let replies = join_all(writes).await;
        assert!(replies.iter().all(|reply| reply.status == 200), "{:?}", statuses(&replies));
        let stored = server.get("/v0/configuration", Some(&admin)).await.body["data"].clone();
        let mtu = stored["default_client_mtu"].as_u64().unwrap() as usize;
        let mtus: Vec<usize> = (0..WRITERS).filter(|i| i % 2 == 0).map(|i| 1000 + round * 100 + i).collect();
        assert!(mtus.contains(&mtu), "mtu lost: {stored}");
        let endpoint = stored["default_client_endpoint"].as_str().unwrap_or_default().to_owned();
        assert!(endpoint.starts_with(&format!("vpn-{round}-")), "endpoint lost: {stored}");
    }
    // Nine keys, one writer each: every change is there.
    let changes = [
        json!({"disable_vpn_on_oidc_error": true}),
        json!({"allow_unprivileged_device_management": false}),
        json!({"allow_unprivileged_device_configuration": false}),
        json!({"vpn_session_duration": 3600}),
        json!({"default_client_persistent_keepalive": 42}),
        json!({"default_client_mtu": 1400}),
        json!({"default_client_endpoint": "final.example.com"}),
        json!({"default_client_dns": ["9.9.9.9"]}),
        json!({"default_client_allowed_ips": ["10.0.0.0/8"]}),
    ];
    let writes =
        changes.iter().map(|change| patch(&server, "/v0/configuration", &admin, json!({"configuration": change})));
    let replies = join_all(writes).await;
    assert!(replies.iter().all(|reply| reply.status == 200), "{:?} {:?}", statuses(&replies), replies[0].body);
    let stored = server.get("/v0/configuration", Some(&admin)).await.body["data"].clone();
    for change in &changes {
        let (key, value) = change.as_object().unwrap().iter().next().unwrap();
        assert_eq!(&stored[key], value, "{key} lost: {stored}");
    }
}

#[tokio::test]
async fn api_key_updates_apply_whole_and_never_lose_a_field() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let mut policies = Vec::new();
    for i in 0..WRITERS {
        policies.push(create_policy(&server, &admin, &format!("p{i}"), document()).await);
    }
    for round in 0..3 {
        let key = server.post("/api/v1/api-keys", Some(&admin), json!({"name": format!("key-{round}")})).await;
        assert_eq!(key.status, 201, "{}", key.text);
        let path = format!("/api/v1/api-keys/{}", id(&key));
        // Each writer sends a name and a policy list together: the result is one writer's pair.
        let writes = (0..WRITERS).map(|i| {
            put(&server, &path, &admin, json!({"name": format!("name-{i}"), "policy_ids": [policies[i].clone()]}))
        });
        let replies = join_all(writes).await;
        assert!(replies.iter().all(|reply| reply.status == 200), "{:?}", statuses(&replies));
        let stored = server.get(&path, Some(&admin)).await.body;
        let winner: usize = stored["name"].as_str().unwrap().trim_start_matches("name-").parse().unwrap();
        assert_eq!(stored["policy_ids"], json!([policies[winner].clone()]), "half-applied: {stored}");
        // Name-only and policy-only writers: both fields change.
        let writes = (0..WRITERS).map(|i| {
            let body = if i % 2 == 0 {
                json!({"name": format!("renamed-{i}")})
            } else {
                json!({"policy_ids": [policies[i].clone()]})
            };
            put(&server, &path, &admin, body)
        });
        let replies = join_all(writes).await;
        assert!(replies.iter().all(|reply| reply.status == 200), "{:?}", statuses(&replies));
        let stored = server.get(&path, Some(&admin)).await.body;
        assert!(stored["name"].as_str().unwrap().starts_with("renamed-"), "name lost: {stored}");
        let odd: Vec<Value> = (0..WRITERS).filter(|i| i % 2 == 1).map(|i| json!([policies[i].clone()])).collect();
        assert!(odd.contains(&stored["policy_ids"]), "policies lost: {stored}");
    }
}

#[tokio::test]
async fn group_member_additions_and_removals_all_apply() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let mut users = Vec::new();
    for i in 0..WRITERS {
        users.push(create_user(&server, &admin, &format!("member{i}"), "user").await);
    }
    let members = |group: &Value| -> BTreeSet<String> {
        group["member_ids"].as_array().unwrap().iter().map(|id| id.as_str().unwrap().to_owned()).collect()
    };
    // Add vs add: every writer adds a different user; all of them are members afterwards.
    let group = server.post("/api/v1/groups", Some(&admin), json!({"name": "adders"})).await;
    assert_eq!(group.status, 201, "{}", group.text);
    let path = format!("/api/v1/groups/{}", id(&group));
    let writes = users.iter().map(|user| put(&server, &path, &admin, json!({"add_member_ids": [user]})));
    let replies = join_all(writes).await;
    assert!(replies.iter().all(|reply| reply.status == 200), "{:?}", statuses(&replies));
    let all: BTreeSet<String> = users.iter().cloned().collect();
    assert_eq!(members(&server.get(&path, Some(&admin)).await.body), all);
    // Add vs remove: half the users start as members and are removed, the others are added.
    let (first, second) = users.split_at(WRITERS / 2);
    let group = server.post("/api/v1/groups", Some(&admin), json!({"name": "swappers", "member_ids": first})).await;
    assert_eq!(group.status, 201, "{}", group.text);
    let path = format!("/api/v1/groups/{}", id(&group));
    let removals = first.iter().map(|user| put(&server, &path, &admin, json!({"remove_member_ids": [user]})));
    let additions = second.iter().map(|user| put(&server, &path, &admin, json!({"add_member_ids": [user]})));
    let replies = join_all(removals.chain(additions)).await;
    assert!(replies.iter().all(|reply| reply.status == 200), "{:?}", statuses(&replies));
    let expected: BTreeSet<String> = second.iter().cloned().collect();
    assert_eq!(members(&server.get(&path, Some(&admin)).await.body), expected);
    // Replacing the list and changing it in one request is refused, as is adding and removing one user.
    let mixed = put(&server, &path, &admin, json!({"member_ids": [], "add_member_ids": [users[0].clone()]})).await;
    assert_eq!(mixed.status, 400, "{}", mixed.text);
    let both = put(
        &server,
        &path,
        &admin,
        json!({"add_member_ids": [users[0].clone()], "remove_member_ids": [users[0].clone()]}),
    )
    .await;
    assert_eq!(both.status, 400, "{}", both.text);
    let unknown =
        put(&server, &path, &admin, json!({"add_member_ids": ["usr_00000000000000000000000000000000"]})).await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    assert_eq!(members(&server.get(&path, Some(&admin)).await.body), expected);
}

/// Full-list replacements computed from one read: with the ETag of that read as `If-Match`,
/// exactly one of 16 concurrent writers applies and the others get 412, so no replacement
/// silently overwrites another; the stored list is the winner's.
#[tokio::test]
async fn member_list_replacements_with_if_match_never_overwrite_each_other() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let mut users = Vec::new();
    for i in 0..WRITERS {
        users.push(create_user(&server, &admin, &format!("member{i}"), "user").await);
    }
    let group = server.post("/api/v1/groups", Some(&admin), json!({"name": "replacers"})).await;
    assert_eq!(group.status, 201, "{}", group.text);
    let path = format!("/api/v1/groups/{}", id(&group));
    let read = server.get(&path, Some(&admin)).await;
    let etag = read.headers["etag"].to_str().unwrap().to_owned();
    let client = reqwest::Client::new();
    let writes = users.iter().map(|user| {
        let request = client
            .put(server.url(&path))
            .bearer_auth(&admin)
            .header("if-match", &etag)
            .json(&json!({"member_ids": [user]}));
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    });
    let replies = join_all(writes).await;
    let winners: Vec<&Value> = replies.iter().filter(|(status, _)| *status == 200).map(|(_, body)| body).collect();
    let refused = replies.iter().filter(|(status, _)| *status == 412).count();
    assert_eq!((winners.len(), refused), (1, WRITERS - 1), "{replies:?}");
    let stored = server.get(&path, Some(&admin)).await;
    assert_eq!(stored.body["member_ids"], winners[0]["member_ids"]);
    assert_ne!(stored.headers["etag"].to_str().unwrap(), etag, "the write moved the version");
    // A stale tag is refused with SOAT's error shape; `*` and no header apply.
    let stale =
        client.put(server.url(&path)).bearer_auth(&admin).header("if-match", &etag).json(&json!({"member_ids": []}));
    let stale = stale.send().await.unwrap();
    assert_eq!(stale.status(), 412);
    assert!(stale.json::<Value>().await.unwrap()["error"].as_str().unwrap().starts_with("Precondition failed"));
    let any =
        client.put(server.url(&path)).bearer_auth(&admin).header("if-match", "*").json(&json!({"member_ids": []}));
    assert_eq!(any.send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn policy_list_replacements_with_if_match_never_overwrite_each_other() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let mut policies = Vec::new();
    for i in 0..WRITERS {
        policies.push(create_policy(&server, &admin, &format!("attachable{i}"), document()).await);
    }
    let user = create_user(&server, &admin, "holder", "user").await;
    let group = server.post("/api/v1/groups", Some(&admin), json!({"name": "holders"})).await;
    assert_eq!(group.status, 201, "{}", group.text);
    let client = reqwest::Client::new();
    for path in [format!("/api/v1/users/{user}/policies"), format!("/api/v1/groups/{}/policies", id(&group))] {
        let read = server.get(&path, Some(&admin)).await;
        assert_eq!(read.status, 200, "{}", read.text);
        let etag = read.headers["etag"].to_str().unwrap().to_owned();
        // 16 administrators each replace the list they read with their own choice.
        let writes = policies.iter().map(|policy| {
            let request = client
                .put(server.url(&path))
                .bearer_auth(&admin)
                .header("if-match", &etag)
                .json(&json!({"policy_ids": [policy]}));
            async move { (request.send().await.unwrap().status().as_u16(), policy.clone()) }
        });
        let replies = join_all(writes).await;
        let winners: Vec<&String> =
            replies.iter().filter(|(status, _)| *status == 204).map(|(_, policy)| policy).collect();
        let refused = replies.iter().filter(|(status, _)| *status == 412).count();
        assert_eq!((winners.len(), refused), (1, WRITERS - 1), "{path}: {replies:?}");
        let stored = server.get(&path, Some(&admin)).await;
        let ids: Vec<&str> =
            stored.body.as_array().unwrap().iter().map(|policy| policy["id"].as_str().unwrap()).collect();
        assert_eq!(ids, [winners[0].as_str()], "{path}: the winner's list is stored");
        let moved = stored.headers["etag"].to_str().unwrap().to_owned();
        assert_ne!(moved, etag, "{path}: the write moved the version");
        // A stale tag is refused in SOAT's shape, and changes nothing; the current tag applies.
        let stale = client
            .put(server.url(&path))
            .bearer_auth(&admin)
            .header("if-match", &etag)
            .json(&json!({"policy_ids": []}));
        let stale = stale.send().await.unwrap();
        assert_eq!(stale.status(), 412);
        assert!(stale.json::<Value>().await.unwrap()["error"].as_str().unwrap().starts_with("Precondition failed"));
        assert_eq!(
            server.get(&path, Some(&admin)).await.body.as_array().unwrap().len(),
            1,
            "{path}: stale write applied"
        );
        let fresh = client
            .put(server.url(&path))
            .bearer_auth(&admin)
            .header("if-match", &moved)
            .json(&json!({"policy_ids": []}));
        assert_eq!(fresh.send().await.unwrap().status(), 204);
        // Without If-Match (as the pinned SOAT clients send it) the list is replaced as before.
        assert_eq!(put(&server, &path, &admin, json!({"policy_ids": [policies[0]]})).await.status, 204);
        assert_eq!(server.get(&path, Some(&admin)).await.body[0]["id"], policies[0].as_str());
    }
}

#[tokio::test]
async fn role_and_password_changes_both_apply() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    for round in 0..3 {
        let username = format!("target{round}");
        let target = firezone_id(&create_user(&server, &admin, &username, "user").await);
        let path = format!("/v0/users/{target}");
        let password = format!("new-password-{round}");
        let writes = (0..WRITERS).map(|i| {
            let change = if i == 0 {
                json!({"role": "admin"})
            } else {
                json!({"password": password.clone(), "password_confirmation": password.clone()})
            };
            patch(&server, &path, &admin, json!({"user": change}))
        });
        let replies = join_all(writes).await;
        assert!(replies.iter().all(|reply| reply.status == 200), "{:?}", statuses(&replies));
        assert_eq!(server.get(&path, Some(&admin)).await.body["data"]["role"], "admin");
        assert!(signs_in(&server, &username, &password).await, "password lost");
    }
}

/// A non-admin allowed `users:UpdateUser` and `users:DeleteUser` by policy; returns its token.
async fn helpdesk(server: &Server, admin: &str) -> String {
    let policy = create_policy(
        server,
        admin,
        "helpdesk",
        json!({"statement": [{"effect": "Allow", "action": ["users:GetUser", "users:UpdateUser", "users:DeleteUser"]}]}),
    )
    .await;
    let user = create_user(server, admin, "helpdesk", "user").await;
    let attach = put(server, &format!("/api/v1/users/{user}/policies"), admin, json!({"policy_ids": [policy]})).await;
    assert_eq!(attach.status, 204, "{}", attach.text);
    server.login("helpdesk", "helpdesk-password").await
}

#[tokio::test]
async fn a_non_admin_never_changes_a_freshly_promoted_admin() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let helpdesk = helpdesk(&server, &admin).await;
    for round in 0..5 {
        let username = format!("promoted{round}");
        let target = firezone_id(&create_user(&server, &admin, &username, "user").await);
        let path = format!("/v0/users/{target}");
        // The admin promotes the user and sets its password in one change; fifteen password
        // changes by the non-admin race with it. Once the promotion is in, each is refused, so the
        // admin's password is the one that stays.
        let admins_password = format!("admins-choice-{round}");
        let promotion = patch(
            &server,
            &path,
            &admin,
            json!({"user": {"role": "admin", "password": admins_password, "password_confirmation": admins_password}}),
        );
        let takeovers = (1..WRITERS).map(|_| {
            let body = json!({"user": {"password": "helpdesk-choice", "password_confirmation": "helpdesk-choice"}});
            patch(&server, &path, &helpdesk, body)
        });
        let (promotion, takeovers) = tokio::join!(promotion, join_all(takeovers));
        assert_eq!(promotion.status, 200, "{}", promotion.text);
        for reply in &takeovers {
            assert!(reply.status == 200 || reply.status == 401, "{} {}", reply.status, reply.text);
            if reply.status == 401 {
                assert_eq!(reply.body, json!({"error": "Unauthorized"}));
            }
        }
        assert_eq!(server.get(&path, Some(&admin)).await.body["data"]["role"], "admin");
        assert!(signs_in(&server, &username, &admins_password).await, "round {round}: a non-admin changed an admin");
    }
    // Deleting races the same way: exactly one of promotion and deletion wins.
    for round in 0..5 {
        let target = firezone_id(&create_user(&server, &admin, &format!("doomed{round}"), "user").await);
        let path = format!("/v0/users/{target}");
        let promotion = patch(&server, &path, &admin, json!({"user": {"role": "admin"}}));
        let deletion = server.delete(&path, Some(&helpdesk));
        let (promotion, deletion) = tokio::join!(promotion, deletion);
        let outcome = (promotion.status.as_u16(), deletion.status.as_u16());
        assert!(outcome == (200, 401) || outcome == (404, 204), "round {round}: {outcome:?}");
        let stored = server.get(&path, Some(&admin)).await;
        assert_eq!(stored.status.as_u16(), if outcome.0 == 200 { 200 } else { 404 });
    }
}

/// The roles of every user of a tenant, by username.
async fn roles(server: &Server, prefix: &str, token: &str) -> Vec<(String, String)> {
    let users = server.get(&format!("{prefix}/api/v1/users"), Some(token)).await;
    assert_eq!(users.status, 200, "{}", users.text);
    let users = users.body.as_array().unwrap().clone();
    users
        .iter()
        .map(|user| (user["username"].as_str().unwrap().to_owned(), user["role"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn admins_demoting_each_other_leave_an_admin() {
    let tenants: Vec<String> = (0..4).map(|round| format!("pair{round}")).collect();
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", &tenants.join(","))]).await;
    // The only two admins of a tenant demote each other at once: exactly one succeeds.
    for tenant in &tenants {
        let prefix = format!("/t/{tenant}");
        let first = server.admin_token_in(&prefix).await;
        let me = server.get(&format!("{prefix}/api/v1/users/me"), Some(&first)).await.body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let body = json!({"username": "second", "password": "second-password", "role": "admin"});
        let second_id = id(&server.post(&format!("{prefix}/api/v1/users"), Some(&first), body).await);
        let second = server.login_in(&prefix, "second", "second-password").await;
        let demote = json!({"user": {"role": "unprivileged"}});
        let (x, y) = tokio::join!(
            patch(&server, format!("{prefix}/v0/users/{}", firezone_id(&second_id)), &first, demote.clone()),
            patch(&server, format!("{prefix}/v0/users/{}", firezone_id(&me)), &second, demote.clone()),
        );
        let outcome = [x.status.as_u16(), y.status.as_u16()];
        assert_eq!(outcome.iter().filter(|s| **s == 200).count(), 1, "{outcome:?} {} {}", x.text, y.text);
        assert!(outcome.iter().all(|s| [200, 401, 422].contains(s)), "{outcome:?}");
        let survivor = if outcome[0] == 200 { &first } else { &second };
        let admins = roles(&server, &prefix, survivor).await.into_iter().filter(|(_, role)| role == "admin").count();
        assert_eq!(admins, 1, "{outcome:?}");
    }
    // Sixteen admins each demote the next one round a ring, all at once.
    let admin = server.admin_token().await;
    let mut tokens = vec![admin.clone()];
    let mut ids = vec![server.get("/api/v1/users/me", Some(&admin)).await.body["id"].as_str().unwrap().to_owned()];
    for i in 1..WRITERS {
        let username = format!("ring{i}");
        ids.push(create_user(&server, &admin, &username, "admin").await);
        tokens.push(server.login(&username, &format!("{username}-password")).await);
    }
    let writes = (0..WRITERS).map(|i| {
        let target = firezone_id(&ids[(i + 1) % WRITERS]);
        patch(&server, format!("/v0/users/{target}"), &tokens[i], json!({"user": {"role": "unprivileged"}}))
    });
    let replies = join_all(writes).await;
    let outcome = statuses(&replies);
    assert!(outcome.iter().all(|s| [200, 401, 422].contains(s)), "{outcome:?}");
    let mut admins = 0;
    for token in &tokens {
        if server.get("/api/v1/users/me", Some(token)).await.body["role"] == "admin" {
            admins += 1;
        }
    }
    assert!(admins >= 1, "no admin left: {outcome:?}");
}

#[tokio::test]
async fn one_name_is_never_both_a_username_and_another_users_email() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    for round in 0..4 {
        let name = format!("Shared{round}@Test");
        let mut existing = Vec::new();
        for i in 0..WRITERS / 2 {
            existing.push(firezone_id(&create_user(&server, &admin, &format!("plain{round}-{i}"), "user").await));
        }
        // Half the writers create a user with the name as username, half give an existing
        // user the name (in another case) as email.
        let creates = (0..WRITERS / 2).map(|_| {
            let body = json!({"username": name.clone(), "password": "shared-password"});
            call(&server, Method::POST, "/api/v1/users".to_owned(), &admin, body)
        });
        let renames = existing.iter().map(|user| {
            let body = json!({"user": {"email": name.to_lowercase()}});
            call(&server, Method::PATCH, format!("/v0/users/{user}"), &admin, body)
        });
        let replies = join_all(creates.chain(renames)).await;
        let outcome = statuses(&replies);
        assert_eq!(outcome.iter().filter(|s| **s == 200 || **s == 201).count(), 1, "{outcome:?}");
        assert!(outcome.iter().all(|s| [200, 201, 409, 422].contains(s)), "{outcome:?}");
        let users = server.get("/v0/users", Some(&admin)).await.body["data"].as_array().unwrap().clone();
        let holders = users.iter().filter(|user| user["email"].as_str().is_some_and(|e| e.eq_ignore_ascii_case(&name)));
        assert_eq!(holders.count(), 1, "round {round}: {outcome:?}");
    }
}
