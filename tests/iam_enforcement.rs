//! Policy enforcement end to end (iam-spec "Enforcement"): what a non-admin may do is exactly what
//! its policies (its own, its groups', narrowed by an API key's) allow, on both dialects, live.

mod common;

use common::{Reply, Server};
use reqwest::Method;
use serde_json::{json, Value};

fn forbidden() -> Value {
    json!({"error": "Forbidden"})
}

fn unauthorized() -> Value {
    json!({"error": "Unauthorized"})
}

fn allow(actions: &[&str]) -> Value {
    json!({"statement": [{"effect": "Allow", "action": actions}]})
}

fn allow_on(actions: &[&str], resources: &[&str]) -> Value {
    json!({"statement": [{"effect": "Allow", "action": actions, "resource": resources}]})
}

async fn put(server: &Server, path: &str, token: Option<&str>, body: Value) -> Reply {
    server.call(Method::PUT, path, token, Some(body)).await
}

async fn patch(server: &Server, path: &str, token: Option<&str>, body: Value) -> Reply {
    server.call(Method::PATCH, path, token, Some(body)).await
}

/// Creates a policy in the tenant behind `prefix` ("" for default) and returns its id.
async fn create_policy_in(server: &Server, prefix: &str, token: &str, name: &str, document: Value) -> String {
    let reply = server
        .post(&format!("{prefix}/api/v1/policies"), Some(token), json!({"name": name, "document": document}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn create_policy(server: &Server, token: &str, name: &str, document: Value) -> String {
    create_policy_in(server, "", token, name, document).await
}

/// Replaces a user's policies; asserts 204.
async fn attach_in(server: &Server, prefix: &str, admin: &str, user_id: &str, policies: &[&str]) {
    let reply =
        put(server, &format!("{prefix}/api/v1/users/{user_id}/policies"), Some(admin), json!({"policy_ids": policies}))
            .await;
    assert_eq!(reply.status, 204, "{}", reply.text);
}

async fn attach(server: &Server, admin: &str, user_id: &str, policies: &[&str]) {
    attach_in(server, "", admin, user_id, policies).await
}

/// Creates a user (password `<username>-password`) in a tenant, attaches policies, logs in.
async fn user_with_policies_in(
    server: &Server,
    prefix: &str,
    admin: &str,
    username: &str,
    policies: &[&str],
) -> (String, String) {
    let password = format!("{username}-password");
    let reply = server
        .post(&format!("{prefix}/api/v1/users"), Some(admin), json!({"username": username, "password": password}))
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    if !policies.is_empty() {
        attach_in(server, prefix, admin, &id, policies).await;
    }
    (id, server.login_in(prefix, username, &password).await)
}

async fn user_with_policies(server: &Server, admin: &str, username: &str, policies: &[&str]) -> (String, String) {
    user_with_policies_in(server, "", admin, username, policies).await
}

async fn create_key(server: &Server, token: &str, body: Value) -> String {
    let reply = server.post("/api/v1/api-keys", Some(token), body).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["key"].as_str().unwrap().to_owned()
}

/// The Firezone id (hyphenated UUID) of a SOAT `usr_…` id.
fn firezone_id(soat_id: &str) -> String {
    uuid::Uuid::parse_str(&soat_id["usr_".len()..]).unwrap().hyphenated().to_string()
}

fn usernames(list: &Value) -> Vec<String> {
    let mut names: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("{list} is not an array"))
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

fn assert_reply(reply: &Reply, status: u16, body: &Value, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.text);
    assert_eq!(&reply.body, body, "{what}");
}

// (1) -----------------------------------------------------------------------------------------

#[tokio::test]
async fn helpdesk_can_list_and_read_users_and_nothing_more() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let helpdesk_policy =
        create_policy(&server, &admin, "helpdesk", allow(&["users:ListUsers", "users:GetUser"])).await;
    let (alice_id, _) = user_with_policies(&server, &admin, "alice", &[]).await;
    let (_, helpdesk) = user_with_policies(&server, &admin, "helpdesk", &[&helpdesk_policy]).await;
    let alice_fz = firezone_id(&alice_id);

    // SOAT: list and read.
    let list = server.get("/api/v1/users", Some(&helpdesk)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(usernames(&list.body), ["admin", "alice", "helpdesk"]);
    let alice = server.get(&format!("/api/v1/users/{alice_id}"), Some(&helpdesk)).await;
    assert_eq!(alice.status, 200, "{}", alice.text);
    assert_eq!(alice.body["username"], "alice");
    // Firezone: list and read.
    let fz_list = server.get("/v0/users", Some(&helpdesk)).await;
    assert_eq!(fz_list.status, 200, "{}", fz_list.text);
    assert_eq!(fz_list.body["data"].as_array().unwrap().len(), 3);
    let fz_alice = server.get(&format!("/v0/users/{alice_fz}"), Some(&helpdesk)).await;
    assert_eq!(fz_alice.status, 200, "{}", fz_alice.text);
    assert_eq!(fz_alice.body["data"]["id"], alice_fz.as_str());

    // Nothing more: SOAT 403, Firezone 401 Unauthorized.
    assert_reply(
        &server.post("/api/v1/users", Some(&helpdesk), json!({"username": "eve", "password": "evepassword"})).await,
        403,
        &forbidden(),
        "SOAT create",
    );
    assert_reply(
        &server.delete(&format!("/api/v1/users/{alice_id}"), Some(&helpdesk)).await,
        403,
        &forbidden(),
        "SOAT delete",
    );
    assert_reply(&server.get("/api/v1/policies", Some(&helpdesk)).await, 403, &forbidden(), "list policies");
    assert_reply(
        &server.post("/api/v1/policies", Some(&helpdesk), json!({"name": "x", "document": allow(&["*"])})).await,
        403,
        &forbidden(),
        "create policy",
    );
    assert_reply(
        &server.get(&format!("/api/v1/users/{alice_id}/policies"), Some(&helpdesk)).await,
        403,
        &forbidden(),
        "get user policies",
    );
    assert_reply(&server.get("/api/v1/groups", Some(&helpdesk)).await, 403, &forbidden(), "list groups");
    assert_reply(&server.get("/api/v1/sessions?user_id=all", Some(&helpdesk)).await, 403, &forbidden(), "all sessions");
    assert_reply(
        &server.post("/v0/users", Some(&helpdesk), json!({"user": {"email": "eve@test"}})).await,
        401,
        &unauthorized(),
        "Firezone create",
    );
    assert_reply(
        &patch(
            &server,
            &format!("/v0/users/{alice_fz}"),
            Some(&helpdesk),
            json!({"user": {"email": "alice@evil.test"}}),
        )
        .await,
        401,
        &unauthorized(),
        "Firezone PATCH",
    );
    assert_reply(
        &put(&server, &format!("/v0/users/{alice_fz}"), Some(&helpdesk), json!({"user": {"email": "alice@evil.test"}}))
            .await,
        401,
        &unauthorized(),
        "Firezone PUT",
    );
    assert_reply(
        &server.delete(&format!("/v0/users/{alice_fz}"), Some(&helpdesk)).await,
        401,
        &unauthorized(),
        "Firezone delete",
    );

    // Own things stay allowed.
    assert_eq!(server.get("/api/v1/users/me", Some(&helpdesk)).await.status, 200);
    assert_eq!(server.get("/api/v1/sessions", Some(&helpdesk)).await.status, 200);

    // Nothing changed.
    let after = server.get("/api/v1/users", Some(&admin)).await;
    assert_eq!(usernames(&after.body), ["admin", "alice", "helpdesk"]);
    let alice_now = server.get(&format!("/v0/users/{alice_fz}"), Some(&admin)).await;
    assert_eq!(alice_now.body["data"]["email"], "alice");
}

// (2) -----------------------------------------------------------------------------------------

#[tokio::test]
async fn a_deny_overrides_an_allow() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let (target_id, _) = user_with_policies(&server, &admin, "target", &[]).await;

    // Across two policies.
    let everything = create_policy(&server, &admin, "users-all", allow(&["users:*"])).await;
    let no_get = create_policy(
        &server,
        &admin,
        "no-get",
        json!({"statement": [{"effect": "Deny", "action": ["users:GetUser"]}]}),
    )
    .await;
    let (_, split) = user_with_policies(&server, &admin, "split", &[&everything, &no_get]).await;
    assert_eq!(server.get("/api/v1/users", Some(&split)).await.status, 200);
    assert_reply(
        &server.get(&format!("/api/v1/users/{target_id}"), Some(&split)).await,
        403,
        &forbidden(),
        "denied get",
    );
    assert_reply(
        &server.get(&format!("/v0/users/{}", firezone_id(&target_id)), Some(&split)).await,
        401,
        &unauthorized(),
        "denied Firezone get",
    );

    // Within one policy, and limited to one resource: `*` allowed, one user denied.
    let one_denied = create_policy(
        &server,
        &admin,
        "all-but-target",
        json!({"statement": [
            {"effect": "Allow", "action": ["*"]},
            {"effect": "Deny", "action": ["users:GetUser", "users:DeleteUser"], "resource": [format!("srn:default:user:{target_id}")]},
        ]}),
    )
    .await;
    let (other_id, _) = user_with_policies(&server, &admin, "other", &[]).await;
    let (_, mixed) = user_with_policies(&server, &admin, "mixed", &[&one_denied]).await;
    assert_reply(&server.get(&format!("/api/v1/users/{target_id}"), Some(&mixed)).await, 403, &forbidden(), "target");
    assert_reply(
        &server.delete(&format!("/api/v1/users/{target_id}"), Some(&mixed)).await,
        403,
        &forbidden(),
        "target",
    );
    let other = server.get(&format!("/api/v1/users/{other_id}"), Some(&mixed)).await;
    assert_eq!(other.status, 200, "{}", other.text);
    assert_eq!(server.get("/api/v1/policies", Some(&mixed)).await.status, 200);
    assert_eq!(server.get(&format!("/api/v1/users/{target_id}"), Some(&admin)).await.status, 200);
    // "*" includes deleting other users.
    assert_eq!(server.delete(&format!("/api/v1/users/{other_id}"), Some(&mixed)).await.status, 204);
}

// (3) -----------------------------------------------------------------------------------------

#[tokio::test]
async fn resource_globs_limit_grants_to_matching_users() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let (carol_id, _) = user_with_policies(&server, &admin, "carol", &[]).await;
    let (dave_id, _) = user_with_policies(&server, &admin, "dave", &[]).await;

    let only_carol = create_policy(
        &server,
        &admin,
        "carol",
        allow_on(&["users:GetUser"], &[&format!("srn:default:user:{carol_id}")]),
    )
    .await;
    let (_, reader) = user_with_policies(&server, &admin, "reader", &[&only_carol]).await;
    let carol = server.get(&format!("/api/v1/users/{carol_id}"), Some(&reader)).await;
    assert_eq!(carol.status, 200, "{}", carol.text);
    assert_eq!(carol.body["username"], "carol");
    assert_eq!(server.get(&format!("/v0/users/{}", firezone_id(&carol_id)), Some(&reader)).await.status, 200);
    assert_reply(&server.get(&format!("/api/v1/users/{dave_id}"), Some(&reader)).await, 403, &forbidden(), "dave");
    assert_reply(
        &server.get(&format!("/v0/users/{}", firezone_id(&dave_id)), Some(&reader)).await,
        401,
        &unauthorized(),
        "Firezone dave",
    );
    assert_reply(&server.get("/api/v1/users", Some(&reader)).await, 403, &forbidden(), "list");

    // `?` matches one character: carol's id with its last digit wildcarded.
    let question = format!("srn:default:user:{}?", &carol_id[..carol_id.len() - 1]);
    let glob_q = create_policy(&server, &admin, "q", allow_on(&["users:GetUser"], &[&question])).await;
    let (_, q_reader) = user_with_policies(&server, &admin, "qreader", &[&glob_q]).await;
    assert_eq!(server.get(&format!("/api/v1/users/{carol_id}"), Some(&q_reader)).await.status, 200);
    if dave_id[..dave_id.len() - 1] != carol_id[..carol_id.len() - 1] {
        assert_eq!(server.get(&format!("/api/v1/users/{dave_id}"), Some(&q_reader)).await.status, 403);
    }

    // `srn:default:user:*` covers every user, and listing.
    let all_users =
        create_policy(&server, &admin, "all", allow_on(&["users:GetUser", "users:ListUsers"], &["srn:default:user:*"]))
            .await;
    let (_, wide) = user_with_policies(&server, &admin, "wide", &[&all_users]).await;
    assert_eq!(server.get(&format!("/api/v1/users/{dave_id}"), Some(&wide)).await.status, 200);
    assert_eq!(server.get("/api/v1/users", Some(&wide)).await.status, 200);
    assert_eq!(server.get("/v0/users", Some(&wide)).await.status, 200);

    // A resource of another type grants nothing on users.
    let policies_only =
        create_policy(&server, &admin, "wrong-type", allow_on(&["users:GetUser"], &["srn:default:policy:*"])).await;
    let (_, wrong) = user_with_policies(&server, &admin, "wrong", &[&policies_only]).await;
    assert_reply(
        &server.get(&format!("/api/v1/users/{carol_id}"), Some(&wrong)).await,
        403,
        &forbidden(),
        "wrong type",
    );
}

// (4) -----------------------------------------------------------------------------------------

#[tokio::test]
async fn conditions_grant_only_when_they_hold() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let for_helen = create_policy(
        &server,
        &admin,
        "helen-only",
        json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"],
                              "condition": {"StringEquals": {"soat:username": "helen"}}}]}),
    )
    .await;
    let (_, helen) = user_with_policies(&server, &admin, "helen", &[&for_helen]).await;
    let (_, ivan) = user_with_policies(&server, &admin, "ivan", &[&for_helen]).await;
    assert_eq!(server.get("/api/v1/users", Some(&helen)).await.status, 200);
    assert_eq!(server.get("/v0/users", Some(&helen)).await.status, 200);
    assert_reply(&server.get("/api/v1/users", Some(&ivan)).await, 403, &forbidden(), "ivan");
    assert_reply(&server.get("/v0/users", Some(&ivan)).await, 401, &unauthorized(), "ivan on Firezone");

    // A list of values matches any of them; StringLike globs; StringNotEquals excludes.
    let listed = create_policy(
        &server,
        &admin,
        "listed",
        json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"],
                              "condition": {"StringEquals": {"soat:username": ["judy", "kate"]}}}]}),
    )
    .await;
    let (_, judy) = user_with_policies(&server, &admin, "judy", &[&listed]).await;
    let (_, leo) = user_with_policies(&server, &admin, "leo", &[&listed]).await;
    assert_eq!(server.get("/api/v1/users", Some(&judy)).await.status, 200);
    assert_eq!(server.get("/api/v1/users", Some(&leo)).await.status, 403);

    let like = create_policy(
        &server,
        &admin,
        "like",
        json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"],
                              "condition": {"StringLike": {"soat:username": "ops-*"}}}]}),
    )
    .await;
    let (_, ops) = user_with_policies(&server, &admin, "ops-mia", &[&like]).await;
    let (_, dev) = user_with_policies(&server, &admin, "dev-ned", &[&like]).await;
    assert_eq!(server.get("/api/v1/users", Some(&ops)).await.status, 200);
    assert_eq!(server.get("/api/v1/users", Some(&dev)).await.status, 403);

    let not_oscar = create_policy(
        &server,
        &admin,
        "not-oscar",
        json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"],
                              "condition": {"StringNotEquals": {"soat:username": "oscar"}}}]}),
    )
    .await;
    let (_, oscar) = user_with_policies(&server, &admin, "oscar", &[&not_oscar]).await;
    let (_, pia) = user_with_policies(&server, &admin, "pia", &[&not_oscar]).await;
    assert_eq!(server.get("/api/v1/users", Some(&oscar)).await.status, 403);
    assert_eq!(server.get("/api/v1/users", Some(&pia)).await.status, 200);

    // soat:user_id and soat:credential: only pia's login session, not her API key.
    let pia_id = server.get("/api/v1/users/me", Some(&pia)).await.body["id"].as_str().unwrap().to_owned();
    let session_only = create_policy(
        &server,
        &admin,
        "session-only",
        json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"],
                              "condition": {"StringEquals": {"soat:credential": "session", "soat:user_id": pia_id}}}]}),
    )
    .await;
    attach(&server, &admin, &pia_id, &[&session_only]).await;
    let pia_key = create_key(&server, &pia, json!({"name": "pia"})).await;
    assert_eq!(server.get(&format!("/api/v1/users/{pia_id}"), Some(&pia)).await.status, 200);
    assert_reply(&server.get(&format!("/api/v1/users/{pia_id}"), Some(&pia_key)).await, 403, &forbidden(), "api key");
    assert_eq!(server.get("/api/v1/users", Some(&pia)).await.status, 403, "the old policy was replaced");
}

// (5) -----------------------------------------------------------------------------------------

#[tokio::test]
async fn api_key_policies_narrow_their_owner() {
    let server = Server::start().await;
    let admin = server.admin_token().await;

    // An admin's key narrowed to listing users.
    let list_only = create_policy(&server, &admin, "list", allow(&["users:ListUsers"])).await;
    let narrow = create_key(&server, &admin, json!({"name": "narrow", "policy_ids": [list_only]})).await;
    assert_eq!(server.get("/api/v1/users", Some(&narrow)).await.status, 200);
    assert_eq!(server.get("/v0/users", Some(&narrow)).await.status, 200);
    assert_reply(
        &server.post("/api/v1/users", Some(&narrow), json!({"username": "eve", "password": "evepassword"})).await,
        403,
        &forbidden(),
        "narrow admin key create",
    );
    assert_reply(
        &server.post("/v0/users", Some(&narrow), json!({"user": {"email": "eve@test"}})).await,
        401,
        &unauthorized(),
        "narrow admin key Firezone create",
    );
    assert_reply(&server.get("/api/v1/policies", Some(&narrow)).await, 403, &forbidden(), "narrow admin key policies");
    // The same admin's unrestricted key may everything.
    let full = create_key(&server, &admin, json!({"name": "full"})).await;
    let created =
        server.post("/api/v1/users", Some(&full), json!({"username": "eve", "password": "evepassword"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let eve_id = created.body["id"].as_str().unwrap().to_owned();

    // A non-admin's key with a policy broader than its owner's gets only the intersection.
    let read_users = create_policy(&server, &admin, "read", allow(&["users:ListUsers", "users:GetUser"])).await;
    let users_all = create_policy(&server, &admin, "users-all", allow(&["users:*", "policies:*"])).await;
    let (_, quinn) = user_with_policies(&server, &admin, "quinn", &[&read_users]).await;
    let broad = create_key(&server, &quinn, json!({"name": "broad", "policy_ids": [users_all]})).await;
    assert_eq!(server.get("/api/v1/users", Some(&broad)).await.status, 200);
    assert_eq!(server.get(&format!("/api/v1/users/{eve_id}"), Some(&broad)).await.status, 200);
    assert_reply(
        &server.post("/api/v1/users", Some(&broad), json!({"username": "fay", "password": "faypassword"})).await,
        403,
        &forbidden(),
        "broad key create",
    );
    assert_reply(
        &server.delete(&format!("/api/v1/users/{eve_id}"), Some(&broad)).await,
        403,
        &forbidden(),
        "broad key delete",
    );
    assert_reply(&server.get("/api/v1/policies", Some(&broad)).await, 403, &forbidden(), "broad key policies");
    assert_reply(
        &server.delete(&format!("/v0/users/{}", firezone_id(&eve_id)), Some(&broad)).await,
        401,
        &unauthorized(),
        "broad key Firezone delete",
    );
    // ...and a narrower key of the same owner loses what its policies leave out.
    let list_key = create_key(&server, &quinn, json!({"name": "list", "policy_ids": [list_only]})).await;
    assert_eq!(server.get("/api/v1/users", Some(&list_key)).await.status, 200);
    assert_reply(
        &server.get(&format!("/api/v1/users/{eve_id}"), Some(&list_key)).await,
        403,
        &forbidden(),
        "list key get",
    );
    assert_eq!(server.get(&format!("/api/v1/users/{eve_id}"), Some(&quinn)).await.status, 200);
    // A key without policies acts as its owner.
    let plain = create_key(&server, &quinn, json!({"name": "plain"})).await;
    assert_eq!(server.get(&format!("/api/v1/users/{eve_id}"), Some(&plain)).await.status, 200);
    assert_reply(
        &server.post("/api/v1/users", Some(&plain), json!({"username": "fay", "password": "faypassword"})).await,
        403,
        &forbidden(),
        "plain key create",
    );
    // Nothing was created or deleted by the refused calls.
    assert_eq!(usernames(&server.get("/api/v1/users", Some(&admin)).await.body), ["admin", "eve", "quinn"]);
}

// (6) -----------------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_detaching_or_changing_a_policy_takes_effect_at_once() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let first = create_policy(&server, &admin, "first", allow(&["users:ListUsers"])).await;
    let second = create_policy(&server, &admin, "second", allow(&["users:ListUsers"])).await;
    let (rita_id, rita) = user_with_policies(&server, &admin, "rita", &[&first]).await;
    let (sam_id, sam) = user_with_policies(&server, &admin, "sam", &[&second]).await;
    let rita_key = create_key(&server, &rita, json!({"name": "rita"})).await;
    assert_eq!(server.get("/api/v1/users", Some(&rita)).await.status, 200);
    assert_eq!(server.get("/api/v1/users", Some(&rita_key)).await.status, 200);
    assert_eq!(server.get("/api/v1/users", Some(&sam)).await.status, 200);

    // Deleting: stops at once, for the session and the key.
    assert_eq!(server.delete(&format!("/api/v1/policies/{first}"), Some(&admin)).await.status, 204);
    assert_reply(&server.get("/api/v1/users", Some(&rita)).await, 403, &forbidden(), "deleted policy");
    assert_reply(&server.get("/api/v1/users", Some(&rita_key)).await, 403, &forbidden(), "deleted policy, key");
    assert_reply(&server.get("/v0/users", Some(&rita)).await, 401, &unauthorized(), "deleted policy, Firezone");
    assert_eq!(server.get(&format!("/api/v1/users/{rita_id}/policies"), Some(&admin)).await.body, json!([]));

    // Detaching: likewise.
    attach(&server, &admin, &sam_id, &[]).await;
    assert_reply(&server.get("/api/v1/users", Some(&sam)).await, 403, &forbidden(), "detached");
    attach(&server, &admin, &sam_id, &[&second]).await;
    assert_eq!(server.get("/api/v1/users", Some(&sam)).await.status, 200);

    // Changing the document: likewise.
    let updated = put(
        &server,
        &format!("/api/v1/policies/{second}"),
        Some(&admin),
        json!({"document": allow(&["users:GetUser"])}),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_reply(&server.get("/api/v1/users", Some(&sam)).await, 403, &forbidden(), "narrowed policy");
    assert_eq!(server.get(&format!("/api/v1/users/{rita_id}"), Some(&sam)).await.status, 200);

    // A policy deleted while attached to a key and to its owner: the key grants nothing.
    let third = create_policy(&server, &admin, "third", allow(&["users:ListUsers"])).await;
    attach(&server, &admin, &rita_id, &[&third]).await;
    let narrowed = create_key(&server, &rita, json!({"name": "narrowed", "policy_ids": [third]})).await;
    assert_eq!(server.get("/api/v1/users", Some(&narrowed)).await.status, 200);
    assert_eq!(server.delete(&format!("/api/v1/policies/{third}"), Some(&admin)).await.status, 204);
    assert_reply(&server.get("/api/v1/users", Some(&narrowed)).await, 403, &forbidden(), "key policy deleted");

    // Deleting the only policy of an admin's narrowed key must not widen the key to the
    // admin's full power: a deleted policy stops granting, it never starts granting more.
    let fourth = create_policy(&server, &admin, "fourth", allow(&["users:ListUsers"])).await;
    let admin_narrow = create_key(&server, &admin, json!({"name": "admin-narrow", "policy_ids": [fourth]})).await;
    assert_eq!(server.get("/api/v1/users", Some(&admin_narrow)).await.status, 200);
    assert_eq!(server.delete(&format!("/api/v1/policies/{fourth}"), Some(&admin)).await.status, 204);
    assert_reply(
        &server.post("/api/v1/users", Some(&admin_narrow), json!({"username": "eve", "password": "evepassword"})).await,
        403,
        &forbidden(),
        "narrowed admin key after its policy was deleted",
    );
    assert_reply(&server.get("/api/v1/policies", Some(&admin_narrow)).await, 403, &forbidden(), "policies");
    assert_reply(&server.get("/api/v1/users", Some(&admin_narrow)).await, 403, &forbidden(), "list");
}

#[tokio::test]
async fn a_narrowed_key_cannot_widen_itself() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let list_only = create_policy(&server, &admin, "list", allow(&["users:ListUsers"])).await;
    let reply =
        server.post("/api/v1/api-keys", Some(&admin), json!({"name": "narrow", "policy_ids": [list_only]})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let key_id = reply.body["id"].as_str().unwrap().to_owned();
    let key = reply.body["key"].as_str().unwrap().to_owned();
    // Stripping its own policies needs api-keys:UpdateApiKey from those policies.
    assert_reply(
        &put(&server, &format!("/api/v1/api-keys/{key_id}"), Some(&key), json!({"policy_ids": []})).await,
        403,
        &forbidden(),
        "strip own policies",
    );
    assert_reply(
        &server.post("/api/v1/api-keys", Some(&key), json!({"name": "child"})).await,
        403,
        &forbidden(),
        "mint a key",
    );
    let record = server.get(&format!("/api/v1/api-keys/{key_id}"), Some(&admin)).await;
    assert_eq!(record.body["policy_ids"], json!([list_only]));
    assert_reply(
        &server.post("/api/v1/users", Some(&key), json!({"username": "eve", "password": "evepassword"})).await,
        403,
        &forbidden(),
        "create user",
    );
}

#[tokio::test]
async fn session_permissions_reach_other_users_sessions() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let (alice_id, alice) = user_with_policies(&server, &admin, "alice", &[]).await;
    let lister = create_policy(&server, &admin, "sessions-read", allow(&["sessions:ListSessions"])).await;
    let revoker =
        create_policy(&server, &admin, "sessions-all", allow(&["sessions:ListSessions", "sessions:RevokeSession"]))
            .await;
    let (_, auditor) = user_with_policies(&server, &admin, "auditor", &[&lister]).await;
    let (_, security) = user_with_policies(&server, &admin, "security", &[&revoker]).await;
    let (_, nobody) = user_with_policies(&server, &admin, "nobody", &[]).await;

    assert_reply(&server.get("/api/v1/sessions?user_id=all", Some(&nobody)).await, 403, &forbidden(), "nobody");
    let all = server.get("/api/v1/sessions?user_id=all", Some(&auditor)).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(all.body.as_array().unwrap().len(), 5);
    let alices = server.get(&format!("/api/v1/sessions?user_id={alice_id}"), Some(&auditor)).await;
    assert_eq!(alices.status, 200, "{}", alices.text);
    let sessions = alices.body.as_array().unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0]["user_id"], alice_id.as_str());
    let alice_session = sessions[0]["id"].as_str().unwrap().to_owned();

    // Listing is not revoking: the auditor sees the session, so it is told it may not.
    let refused = server.delete(&format!("/api/v1/sessions/{alice_session}"), Some(&auditor)).await;
    assert_reply(&refused, 403, &forbidden(), "revoke without sessions:RevokeSession");
    assert_eq!(server.get("/api/v1/users/me", Some(&alice)).await.status, 200);
    let revoked = server.delete(&format!("/api/v1/sessions/{alice_session}"), Some(&security)).await;
    assert_eq!(revoked.status, 204, "{}", revoked.text);
    assert_eq!(server.get("/api/v1/users/me", Some(&alice)).await.status, 401);
}

#[tokio::test]
async fn group_routes_follow_the_contract_and_their_permissions() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let (tom_id, _) = user_with_policies(&server, &admin, "tom", &[]).await;
    let readers =
        create_policy(&server, &admin, "group-readers", allow(&["groups:ListGroups", "groups:GetGroup"])).await;
    let (_, reader) = user_with_policies(&server, &admin, "reader", &[&readers]).await;

    let created = server.post("/api/v1/groups", Some(&admin), json!({"name": "Support"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let group = created.body.clone();
    let mut keys: Vec<&str> = group.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["created_at", "description", "id", "member_ids", "name", "updated_at"]);
    assert_eq!(group["description"], Value::Null);
    assert_eq!(group["member_ids"], json!([]));
    let group_id = group["id"].as_str().unwrap().to_owned();

    let duplicate = server.post("/api/v1/groups", Some(&admin), json!({"name": "SUPPORT"})).await;
    assert_reply(&duplicate, 409, &json!({"error": "Group already exists"}), "duplicate name");
    let unknown_member = server
        .post(
            "/api/v1/groups",
            Some(&admin),
            json!({"name": "x", "member_ids": ["usr_0123456789abcdef0123456789abcdef"]}),
        )
        .await;
    assert_reply(&unknown_member, 404, &json!({"error": "User not found"}), "unknown member");

    // Readers read; they do not write.
    let listed = server.get("/api/v1/groups", Some(&reader)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body, json!([group]));
    assert_eq!(server.get(&format!("/api/v1/groups/{group_id}"), Some(&reader)).await.body, group);
    assert_reply(
        &put(&server, &format!("/api/v1/groups/{group_id}"), Some(&reader), json!({"member_ids": [tom_id]})).await,
        403,
        &forbidden(),
        "update group",
    );
    assert_reply(
        &server.delete(&format!("/api/v1/groups/{group_id}"), Some(&reader)).await,
        403,
        &forbidden(),
        "delete",
    );
    assert_reply(
        &server.get(&format!("/api/v1/groups/{group_id}/policies"), Some(&reader)).await,
        403,
        &forbidden(),
        "group policies",
    );
    assert_reply(
        &put(&server, &format!("/api/v1/groups/{group_id}/policies"), Some(&reader), json!({"policy_ids": [readers]}))
            .await,
        403,
        &forbidden(),
        "attach group policies",
    );

    // Group policy attachment follows the user rules.
    let path = format!("/api/v1/groups/{group_id}/policies");
    assert_reply(
        &put(&server, &path, Some(&admin), json!({"policy_ids": "x"})).await,
        400,
        &json!({"error": "policy_ids must be an array"}),
        "bad policy_ids",
    );
    assert_reply(
        &put(&server, &path, Some(&admin), json!({"policy_ids": ["pol_0123456789abcdef0123456789abcdef"]})).await,
        404,
        &json!({"error": "Policy not found"}),
        "unknown policy",
    );
    assert_eq!(server.get(&path, Some(&admin)).await.body, json!([]));

    for bad in ["grp_0123456789abcdef0123456789abcdef", "grp_nothex", "12"] {
        assert_reply(
            &server.get(&format!("/api/v1/groups/{bad}"), Some(&admin)).await,
            404,
            &json!({"error": "Group not found"}),
            bad,
        );
    }
    assert_eq!(server.delete(&format!("/api/v1/groups/{group_id}"), Some(&admin)).await.status, 204);
    assert_eq!(server.get("/api/v1/groups", Some(&admin)).await.body, json!([]));
}

// (7) -----------------------------------------------------------------------------------------

#[tokio::test]
async fn group_policies_grant_to_members_only() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let list = create_policy(&server, &admin, "list", allow(&["users:ListUsers"])).await;
    let (tom_id, tom) = user_with_policies(&server, &admin, "tom", &[]).await;
    let (_, uma) = user_with_policies(&server, &admin, "uma", &[]).await;

    let group = server
        .post(
            "/api/v1/groups",
            Some(&admin),
            json!({"name": "support", "description": "Front line", "member_ids": [tom_id]}),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.text);
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    assert!(group_id.starts_with("grp_") && group_id.len() == 36, "{group_id}");
    assert_eq!(group.body["member_ids"], json!([tom_id]));
    assert_eq!(group.body["name"], "support");
    assert_eq!(group.body["description"], "Front line");

    assert_reply(&server.get("/api/v1/users", Some(&tom)).await, 403, &forbidden(), "before the group policy");
    let attached =
        put(&server, &format!("/api/v1/groups/{group_id}/policies"), Some(&admin), json!({"policy_ids": [list]})).await;
    assert_eq!(attached.status, 204, "{}", attached.text);
    assert_eq!(
        server.get(&format!("/api/v1/groups/{group_id}/policies"), Some(&admin)).await.body,
        json!([{"id": list, "name": "list", "description": null}])
    );
    assert_eq!(server.get("/api/v1/users", Some(&tom)).await.status, 200);
    assert_eq!(server.get("/v0/users", Some(&tom)).await.status, 200);
    assert_reply(&server.get("/api/v1/users", Some(&uma)).await, 403, &forbidden(), "not a member");
    // The group grants only what its policies allow.
    assert_reply(&server.get(&format!("/api/v1/users/{tom_id}"), Some(&tom)).await, 403, &forbidden(), "get");

    // Removing the member stops it at once.
    let updated = put(&server, &format!("/api/v1/groups/{group_id}"), Some(&admin), json!({"member_ids": []})).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_eq!(updated.body["member_ids"], json!([]));
    assert_eq!(updated.body["name"], "support");
    assert_reply(&server.get("/api/v1/users", Some(&tom)).await, 403, &forbidden(), "removed member");

    // Adding back, then deleting the group, stops it too.
    let readded =
        put(&server, &format!("/api/v1/groups/{group_id}"), Some(&admin), json!({"member_ids": [tom_id]})).await;
    assert_eq!(readded.status, 200, "{}", readded.text);
    assert_eq!(server.get("/api/v1/users", Some(&tom)).await.status, 200);
    assert_eq!(server.delete(&format!("/api/v1/groups/{group_id}"), Some(&admin)).await.status, 204);
    assert_reply(&server.get("/api/v1/users", Some(&tom)).await, 403, &forbidden(), "deleted group");

    // Group routes need groups:* permissions.
    assert_reply(&server.get("/api/v1/groups", Some(&tom)).await, 403, &forbidden(), "list groups");
    assert_reply(
        &server.post("/api/v1/groups", Some(&tom), json!({"name": "mine", "member_ids": [tom_id]})).await,
        403,
        &forbidden(),
        "create group",
    );
}

// (8) -----------------------------------------------------------------------------------------

#[tokio::test]
async fn policies_are_scoped_to_their_tenant() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;
    let acme_admin = server.admin_token_in("/t/acme").await;

    // A policy in acme grants in acme...
    let acme_list = create_policy_in(&server, "/t/acme", &acme_admin, "list", allow(&["users:ListUsers"])).await;
    let (_, acme_vic) = user_with_policies_in(&server, "/t/acme", &acme_admin, "vic", &[&acme_list]).await;
    assert_eq!(server.get("/t/acme/api/v1/users", Some(&acme_vic)).await.status, 200);
    assert_eq!(server.get("/t/acme/v0/users", Some(&acme_vic)).await.status, 200);

    // ...and does not exist in default: it cannot be attached there, and grants nothing.
    let (default_vic_id, default_vic) = user_with_policies(&server, &admin, "vic", &[]).await;
    let cross = put(
        &server,
        &format!("/api/v1/users/{default_vic_id}/policies"),
        Some(&admin),
        json!({"policy_ids": [acme_list]}),
    )
    .await;
    assert_eq!(cross.status, 404, "{}", cross.text);
    assert_eq!(cross.body, json!({"error": "Policy not found"}));
    assert_reply(&server.get("/api/v1/users", Some(&default_vic)).await, 403, &forbidden(), "default vic");
    // An acme token does not work in default.
    assert_eq!(server.get("/api/v1/users", Some(&acme_vic)).await.status, 401);

    // In acme, a resource naming the default tenant matches nothing.
    let default_srn = create_policy_in(
        &server,
        "/t/acme",
        &acme_admin,
        "default-srn",
        allow_on(&["users:ListUsers", "users:GetUser"], &["srn:default:user:*"]),
    )
    .await;
    let (wes_id, acme_wes) = user_with_policies_in(&server, "/t/acme", &acme_admin, "wes", &[&default_srn]).await;
    assert_reply(&server.get("/t/acme/api/v1/users", Some(&acme_wes)).await, 403, &forbidden(), "srn:default in acme");
    assert_reply(
        &server.get(&format!("/t/acme/api/v1/users/{wes_id}"), Some(&acme_wes)).await,
        403,
        &forbidden(),
        "srn:default get in acme",
    );
    assert_reply(&server.get("/t/acme/v0/users", Some(&acme_wes)).await, 401, &unauthorized(), "srn:default Firezone");
    // While srn:acme:user:* does.
    let acme_srn = create_policy_in(
        &server,
        "/t/acme",
        &acme_admin,
        "acme-srn",
        allow_on(&["users:ListUsers", "users:GetUser"], &["srn:acme:user:*"]),
    )
    .await;
    attach_in(&server, "/t/acme", &acme_admin, &wes_id, &[&acme_srn]).await;
    assert_eq!(server.get("/t/acme/api/v1/users", Some(&acme_wes)).await.status, 200);
    assert_eq!(server.get(&format!("/t/acme/api/v1/users/{wes_id}"), Some(&acme_wes)).await.status, 200);

    // And a condition on soat:tenant.
    let tenant_cond = create_policy_in(
        &server,
        "",
        &admin,
        "acme-only",
        json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"],
                              "condition": {"StringEquals": {"soat:tenant": "acme"}}}]}),
    )
    .await;
    attach(&server, &admin, &default_vic_id, &[&tenant_cond]).await;
    assert_reply(
        &server.get("/api/v1/users", Some(&default_vic)).await,
        403,
        &forbidden(),
        "soat:tenant acme in default",
    );
}

// (9) -----------------------------------------------------------------------------------------

#[tokio::test]
async fn only_admins_create_admins_or_change_roles() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let managers = create_policy(
        &server,
        &admin,
        "user-managers",
        allow(&["users:CreateUser", "users:UpdateUser", "users:ListUsers", "users:GetUser"]),
    )
    .await;
    let (_, manager) = user_with_policies(&server, &admin, "manager", &[&managers]).await;

    // Plain users: allowed on both dialects.
    let plain =
        server.post("/api/v1/users", Some(&manager), json!({"username": "xena", "password": "xenapassword"})).await;
    assert_eq!(plain.status, 201, "{}", plain.text);
    assert_eq!(plain.body["role"], "user");
    let explicit = server
        .post("/api/v1/users", Some(&manager), json!({"username": "yuri", "password": "yuripassword", "role": "user"}))
        .await;
    assert_eq!(explicit.status, 201, "{}", explicit.text);
    let fz_plain = server.post("/v0/users", Some(&manager), json!({"user": {"email": "zoe@test"}})).await;
    assert_eq!(fz_plain.status, 201, "{}", fz_plain.text);
    assert_eq!(fz_plain.body["data"]["role"], "unprivileged");

    // Admins: refused.
    assert_reply(
        &server
            .post(
                "/api/v1/users",
                Some(&manager),
                json!({"username": "boss", "password": "bosspassword", "role": "admin"}),
            )
            .await,
        403,
        &forbidden(),
        "SOAT admin create",
    );
    assert_reply(
        &server.post("/v0/users", Some(&manager), json!({"user": {"email": "boss@test", "role": "admin"}})).await,
        401,
        &unauthorized(),
        "Firezone admin create",
    );
    // Role changes: refused; other updates are fine.
    let zoe = fz_plain.body["data"]["id"].as_str().unwrap().to_owned();
    assert_reply(
        &patch(&server, &format!("/v0/users/{zoe}"), Some(&manager), json!({"user": {"role": "admin"}})).await,
        401,
        &unauthorized(),
        "Firezone promote",
    );
    let renamed =
        patch(&server, &format!("/v0/users/{zoe}"), Some(&manager), json!({"user": {"email": "zoe@corp.test"}})).await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["data"]["email"], "zoe@corp.test");

    // Nothing was promoted or created beyond the plain users.
    let users = server.get("/api/v1/users", Some(&admin)).await.body;
    assert_eq!(usernames(&users), ["admin", "manager", "xena", "yuri", "zoe@corp.test"]);
    let admins: Vec<&str> = users
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["role"] == "admin")
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(admins, ["admin"]);
}

#[tokio::test]
async fn role_and_memberships_are_read_live_for_keys_and_groups() {
    let server = Server::start().await;
    let admin = server.admin_token().await;

    // An admin's key loses admin power as soon as its owner is demoted.
    let bob = server
        .post("/api/v1/users", Some(&admin), json!({"username": "bob", "password": "bobspassword", "role": "admin"}))
        .await;
    assert_eq!(bob.status, 201, "{}", bob.text);
    let bob_id = bob.body["id"].as_str().unwrap().to_owned();
    let bob_token = server.login("bob", "bobspassword").await;
    let bob_key = create_key(&server, &bob_token, json!({"name": "bob"})).await;
    assert_eq!(server.get("/api/v1/users", Some(&bob_key)).await.status, 200);
    let demoted = patch(
        &server,
        &format!("/v0/users/{}", firezone_id(&bob_id)),
        Some(&admin),
        json!({"user": {"role": "unprivileged"}}),
    )
    .await;
    assert_eq!(demoted.status, 200, "{}", demoted.text);
    assert_reply(&server.get("/api/v1/users", Some(&bob_key)).await, 403, &forbidden(), "demoted owner's key");
    assert_reply(&server.get("/v0/users", Some(&bob_key)).await, 401, &unauthorized(), "demoted owner's key, Firezone");

    // Deleting a member removes it from its groups; deleting a policy detaches it from groups.
    let list = create_policy(&server, &admin, "list", allow(&["users:ListUsers"])).await;
    let (cleo_id, _) = user_with_policies(&server, &admin, "cleo", &[]).await;
    let group =
        server.post("/api/v1/groups", Some(&admin), json!({"name": "team", "member_ids": [cleo_id, bob_id]})).await;
    assert_eq!(group.status, 201, "{}", group.text);
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/groups/{group_id}/policies");
    assert_eq!(put(&server, &path, Some(&admin), json!({"policy_ids": [list]})).await.status, 204);
    assert_eq!(server.get("/api/v1/users", Some(&bob_key)).await.status, 200, "granted through the group");

    assert_eq!(server.delete(&format!("/api/v1/users/{cleo_id}"), Some(&admin)).await.status, 204);
    let after = server.get(&format!("/api/v1/groups/{group_id}"), Some(&admin)).await;
    assert_eq!(after.body["member_ids"], json!([bob_id]), "{}", after.text);
    let unknown =
        put(&server, &format!("/api/v1/groups/{group_id}"), Some(&admin), json!({"member_ids": [cleo_id]})).await;
    assert_reply(&unknown, 404, &json!({"error": "User not found"}), "deleted member");

    assert_eq!(server.delete(&format!("/api/v1/policies/{list}"), Some(&admin)).await.status, 204);
    assert_eq!(server.get(&path, Some(&admin)).await.body, json!([]));
    assert_reply(&server.get("/api/v1/users", Some(&bob_key)).await, 403, &forbidden(), "group policy deleted");
}
