//! The SOAT users contract (soat-api.md "Users"), row by row, over HTTP.

mod common;

use common::Server;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn bootstrap_creates_one_admin_then_409() {
    let server = Server::start().await;
    let reply =
        server.post("/api/v1/users/bootstrap", None, json!({"username": "admin", "password": "supersecret"})).await;
    assert_eq!(reply.status, 201);
    let user = &reply.body;
    assert!(user["id"].as_str().unwrap().starts_with("usr_"));
    assert_eq!(user["username"], "admin");
    assert_eq!(user["role"], "admin");
    assert!(user["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(user["updated_at"].is_string());
    assert!(user.get("password").is_none() && user.get("password_hash").is_none());

    let again =
        server.post("/api/v1/users/bootstrap", None, json!({"username": "other", "password": "supersecret"})).await;
    assert_eq!(again.status, 409);
    assert_eq!(again.body, json!({"error": "Users already exist"}));
}

#[tokio::test]
async fn login_returns_a_token_and_hides_which_part_was_wrong() {
    let server = Server::start().await;
    server.admin_token().await;
    let reply = server.post("/api/v1/users/login", None, json!({"username": "admin", "password": "supersecret"})).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["username"], "admin");
    assert_eq!(reply.body["role"], "admin");
    assert!(reply.body["id"].as_str().unwrap().starts_with("usr_"));
    assert!(reply.body["token"].as_str().unwrap().len() > 20);

    let wrong_password =
        server.post("/api/v1/users/login", None, json!({"username": "admin", "password": "nope-nope"})).await;
    let unknown_user =
        server.post("/api/v1/users/login", None, json!({"username": "ghost", "password": "supersecret"})).await;
    for reply in [wrong_password, unknown_user] {
        assert_eq!(reply.status, 401);
        assert_eq!(reply.body, json!({"error": "Invalid credentials"}));
    }
    // Usernames are case-insensitive.
    let upper = server.post("/api/v1/users/login", None, json!({"username": "ADMIN", "password": "supersecret"})).await;
    assert_eq!(upper.status, 200);
}

#[tokio::test]
async fn me_needs_a_valid_token() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let me = server.get("/api/v1/users/me", Some(&token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body["username"], "admin");
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body.as_object().unwrap().len(), 3);

    for token in [None, Some("garbage"), Some("eyJhbGciOiJIUzI1NiJ9.e30.x")] {
        let reply = server.get("/api/v1/users/me", token).await;
        assert_eq!(reply.status, 401);
        assert!(reply.body["error"].is_string());
    }
}

#[tokio::test]
async fn admin_creates_lists_gets_and_deletes_users() {
    let server = Server::start().await;
    let token = server.admin_token().await;

    let alice = server.post("/api/v1/users", Some(&token), json!({"username": "alice", "password": "alicepass"})).await;
    assert_eq!(alice.status, 201);
    assert_eq!(alice.body["role"], "user");
    let alice_id = alice.body["id"].as_str().unwrap().to_owned();

    let bob = server
        .post("/api/v1/users", Some(&token), json!({"username": "bob", "password": "bobspassword", "role": "admin"}))
        .await;
    assert_eq!(bob.status, 201);
    assert_eq!(bob.body["role"], "admin");

    let list = server.get("/api/v1/users", Some(&token)).await;
    assert_eq!(list.status, 200);
    let names: Vec<&str> = list.body.as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap()).collect();
    assert_eq!(names, ["admin", "alice", "bob"]);

    let got = server.get(&format!("/api/v1/users/{alice_id}"), Some(&token)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, alice.body);

    let deleted = server.delete(&format!("/api/v1/users/{alice_id}"), Some(&token)).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    let gone = server.get(&format!("/api/v1/users/{alice_id}"), Some(&token)).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body, json!({"error": "User not found"}));
    let again = server.delete(&format!("/api/v1/users/{alice_id}"), Some(&token)).await;
    assert_eq!(again.status, 404);
    for bad in ["usr_nothex", "12", "pol_0123456789abcdef0123456789abcdef"] {
        assert_eq!(server.get(&format!("/api/v1/users/{bad}"), Some(&token)).await.status, 404);
    }
}

#[tokio::test]
async fn create_rejects_duplicates_and_bad_input() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let first = server.post("/api/v1/users", Some(&token), json!({"username": "alice", "password": "alicepass"})).await;
    assert_eq!(first.status, 201);
    let duplicate =
        server.post("/api/v1/users", Some(&token), json!({"username": "ALICE", "password": "alicepass"})).await;
    assert_eq!(duplicate.status, 409);
    assert_eq!(duplicate.body, json!({"error": "Username already exists"}));

    let cases = [
        json!({"password": "alicepass"}),
        json!({"username": "x"}),
        json!({"username": 5, "password": "alicepass"}),
        json!({"username": "carol", "password": "short"}),
        json!({"username": "", "password": "alicepass"}),
        json!({"username": "white space", "password": "alicepass"}),
        json!({"username": "carol", "password": "alicepass", "role": "root"}),
        json!([1, 2]),
    ];
    for body in cases {
        let reply = server.post("/api/v1/users", Some(&token), body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {:?}", reply.body);
        assert!(reply.body["error"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
}

#[tokio::test]
async fn non_admins_get_403_and_anonymous_401() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let created =
        server.post("/api/v1/users", Some(&token), json!({"username": "alice", "password": "alicepass"})).await;
    let alice_id = created.body["id"].as_str().unwrap().to_owned();
    let alice = server.login("alice", "alicepass").await;

    assert_eq!(server.get("/api/v1/users/me", Some(&alice)).await.body["role"], "user");
    let forbidden = [
        server.get("/api/v1/users", Some(&alice)).await,
        server.post("/api/v1/users", Some(&alice), json!({"username": "eve", "password": "evepassword"})).await,
        server.get(&format!("/api/v1/users/{alice_id}"), Some(&alice)).await,
        server.delete(&format!("/api/v1/users/{alice_id}"), Some(&alice)).await,
    ];
    for reply in forbidden {
        assert_eq!(reply.status, 403);
        assert_eq!(reply.body, json!({"error": "Forbidden"}));
    }
    let anonymous = [
        server.get("/api/v1/users", None).await,
        server.post("/api/v1/users", None, json!({"username": "eve", "password": "evepassword"})).await,
        server.get(&format!("/api/v1/users/{alice_id}"), None).await,
        server.call(Method::DELETE, &format!("/api/v1/users/{alice_id}"), None, None).await,
    ];
    for reply in anonymous {
        assert_eq!(reply.status, 401);
    }
}

#[tokio::test]
async fn deleted_users_tokens_stop_at_once_and_role_is_read_live() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let created =
        server.post("/api/v1/users", Some(&token), json!({"username": "alice", "password": "alicepass"})).await;
    let alice_id = created.body["id"].as_str().unwrap().to_owned();
    let alice = server.login("alice", "alicepass").await;
    assert_eq!(server.get("/api/v1/users/me", Some(&alice)).await.status, 200);
    assert_eq!(server.delete(&format!("/api/v1/users/{alice_id}"), Some(&token)).await.status, 204);
    assert_eq!(server.get("/api/v1/users/me", Some(&alice)).await.status, 401);
    // Recreating the same username does not revive the old token.
    server.post("/api/v1/users", Some(&token), json!({"username": "alice", "password": "alicepass"})).await;
    assert_eq!(server.get("/api/v1/users/me", Some(&alice)).await.status, 401);
}

#[tokio::test]
async fn the_last_admin_cannot_be_deleted() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let me = server.get("/api/v1/users/me", Some(&token)).await;
    let reply = server.delete(&format!("/api/v1/users/{}", me.body["id"].as_str().unwrap()), Some(&token)).await;
    assert_eq!(reply.status, 409);
    assert_eq!(reply.body, json!({"error": "Cannot remove the last admin"}));
}

#[tokio::test]
async fn environment_bootstraps_an_admin_at_start() {
    let server = Server::start_with(&[("SOAT_ADMIN_USERNAME", "root"), ("SOAT_ADMIN_PASSWORD", "rootpassword")]).await;
    let token = server.login("root", "rootpassword").await;
    assert_eq!(server.get("/api/v1/users/me", Some(&token)).await.body["role"], "admin");
    let late = server.post("/api/v1/users/bootstrap", None, json!({"username": "x", "password": "supersecret"})).await;
    assert_eq!(late.status, 409);
}

#[tokio::test]
async fn the_user_list_pages_with_limit_and_offset() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    for index in 0..7 {
        let body = json!({"username": format!("pager{index}"), "password": "pager password"});
        assert_eq!(server.post("/api/v1/users", Some(&admin), body).await.status, 201);
    }
    let names = |reply: &common::Reply| -> Vec<String> {
        reply.body.as_array().unwrap().iter().map(|user| user["username"].as_str().unwrap().to_owned()).collect()
    };
    let all = server.get("/api/v1/users", Some(&admin)).await;
    assert_eq!(all.status, 200);
    assert_eq!(names(&all).len(), 8, "no parameters: the whole list, as before");
    let first = server.get("/api/v1/users?limit=3", Some(&admin)).await;
    assert_eq!(names(&first), names(&all)[..3]);
    let middle = server.get("/api/v1/users?limit=3&offset=3", Some(&admin)).await;
    assert_eq!(names(&middle), names(&all)[3..6]);
    let last = server.get("/api/v1/users?offset=6", Some(&admin)).await;
    assert_eq!(names(&last), names(&all)[6..]);
    assert_eq!(first.body[0], all.body[0], "the same records as the list");
    for bad in ["limit=0", "limit=501", "limit=ten", "offset=-1", "offset=10001"] {
        for list in ["users", "groups", "policies"] {
            let refused = server.get(&format!("/api/v1/{list}?{bad}"), Some(&admin)).await;
            assert_eq!(refused.status, 400, "{list}?{bad}: {}", refused.text);
            assert!(refused.body["error"].is_string(), "{}", refused.text);
        }
    }
    // Groups and policies page the same way.
    let document = json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"], "resource": ["*"]}]});
    for index in 0..5 {
        let group = server.post("/api/v1/groups", Some(&admin), json!({"name": format!("team{index}")})).await;
        assert_eq!(group.status, 201, "{}", group.text);
        let policy = json!({"name": format!("policy{index}"), "document": document});
        assert_eq!(server.post("/api/v1/policies", Some(&admin), policy).await.status, 201);
    }
    for list in ["groups", "policies"] {
        let all = server.get(&format!("/api/v1/{list}"), Some(&admin)).await;
        let all = all.body.as_array().unwrap().clone();
        assert_eq!(all.len(), 5);
        let page = server.get(&format!("/api/v1/{list}?limit=2&offset=2"), Some(&admin)).await;
        assert_eq!(page.body.as_array().unwrap(), &all[2..4], "{list}");
    }
}

/// The records of a list reply.
fn records(reply: &common::Reply) -> Vec<serde_json::Value> {
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body.as_array().unwrap_or_else(|| panic!("not a list: {}", reply.text)).clone()
}

/// Reads `list` (a path, maybe with a query) page by page with `limit`, asserting that every
/// page is the matching slice of `whole` and that the pages together are `whole`.
async fn assert_pages_make_the_list(server: &Server, token: &str, list: &str, whole: &[serde_json::Value]) {
    let joiner = if list.contains('?') { '&' } else { '?' };
    let mut read = Vec::new();
    for offset in (0..=whole.len()).step_by(2) {
        let page = records(&server.get(&format!("{list}{joiner}limit=2&offset={offset}"), Some(token)).await);
        assert_eq!(page, whole[offset..whole.len().min(offset + 2)], "{list} at {offset}");
        read.extend(page);
    }
    assert_eq!(read, whole, "{list}: the pages are the whole list");
    let beyond = records(&server.get(&format!("{list}{joiner}offset={}", whole.len()), Some(token)).await);
    assert!(beyond.is_empty(), "{list}: past the end, an empty page");
    let rest = records(&server.get(&format!("{list}{joiner}offset=1"), Some(token)).await);
    assert_eq!(rest, whole[1..], "{list}: offset alone, up to the default limit");
    let first = records(&server.get(&format!("{list}{joiner}limit=3"), Some(token)).await);
    assert_eq!(first, whole[..3], "{list}: limit alone, from the start");
}

#[tokio::test]
async fn api_keys_and_sessions_page_with_limit_and_offset() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    for _ in 0..4 {
        server.login("admin", "supersecret").await;
    }
    let body = json!({"username": "keeper", "password": "keeper password"});
    let keeper_id = server.post("/api/v1/users", Some(&admin), body).await.body["id"].as_str().unwrap().to_owned();
    let keeper = server.login("keeper", "keeper password").await;
    server.login("keeper", "keeper password").await;
    let made: Vec<(&String, String)> = (0..7)
        .map(|i| (&admin, format!("admin-key{i}")))
        .chain(["keeper-a", "keeper-b"].map(|name| (&keeper, name.to_owned())))
        .collect();
    for (token, name) in &made {
        let created = server.post("/api/v1/api-keys", Some(token), json!({"name": name})).await;
        assert_eq!(created.status, 201, "{}", created.text);
    }

    // Keys: without parameters the whole list in creation order, as before; pages of it.
    let keys = records(&server.get("/api/v1/api-keys", Some(&admin)).await);
    let names: Vec<&str> = keys.iter().map(|key| key["name"].as_str().unwrap()).collect();
    assert_eq!(names, made.iter().map(|(_, name)| name.as_str()).collect::<Vec<_>>());
    assert!(keys.iter().all(|key| key.get("key").is_none() && key["id"].as_str().unwrap().starts_with("key_")));
    assert_pages_make_the_list(&server, &admin, "/api/v1/api-keys", &keys).await;
    // A caller who may list only its own keys pages those.
    let own = records(&server.get("/api/v1/api-keys", Some(&keeper)).await);
    assert_eq!(own, keys[7..]);
    assert_eq!(records(&server.get("/api/v1/api-keys?limit=1&offset=1", Some(&keeper)).await), keys[8..]);

    // Sessions: own, everyone's and one user's, each in creation order and paged alike.
    let all = records(&server.get("/api/v1/sessions?user_id=all", Some(&admin)).await);
    let owners: Vec<&str> = all.iter().map(|session| session["user_id"].as_str().unwrap()).collect();
    assert_eq!(owners.len(), 7, "{all:?}");
    assert!(owners[..5].iter().all(|owner| *owner != keeper_id) && owners[5..] == [keeper_id.as_str(); 2]);
    let mine = records(&server.get("/api/v1/sessions", Some(&admin)).await);
    assert_eq!(mine, all[..5], "no parameters: the caller's own, as before");
    assert_pages_make_the_list(&server, &admin, "/api/v1/sessions?user_id=all", &all).await;
    assert_pages_make_the_list(&server, &admin, "/api/v1/sessions", &mine).await;
    let theirs = format!("/api/v1/sessions?user_id={keeper_id}");
    assert_eq!(records(&server.get(&format!("{theirs}&limit=1&offset=1"), Some(&admin)).await), all[6..]);
    assert_eq!(records(&server.get("/api/v1/sessions?offset=1", Some(&keeper)).await), all[6..]);

    for bad in ["limit=0", "limit=501", "limit=x", "offset=-1", "offset=10001"] {
        let one_user = format!("{theirs}&");
        for list in ["/api/v1/api-keys?", "/api/v1/sessions?", "/api/v1/sessions?user_id=all&", one_user.as_str()] {
            let refused = server.get(&format!("{list}{bad}"), Some(&admin)).await;
            assert_eq!(refused.status, 400, "{list}{bad}: {}", refused.text);
            assert!(refused.body["error"].is_string(), "{}", refused.text);
        }
    }
}
