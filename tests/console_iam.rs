//! The console's groups and policies pages over HTTP, as a browser without JavaScript uses them:
//! groups (create, rename, members, attached policies with a version so a concurrent edit is
//! reported, delete), the policy editor with the validator's messages, and the "who can do
//! what" simulator — each checked against the SOAT API and the member's own token.

mod common;

use common::console::{ConsoleBrowser, PageReply};
use common::Server;
use reqwest::Method;
use serde_json::{json, Value};

/// The admin's console browser and its API token.
async fn admin(server: &Server) -> (ConsoleBrowser<'_>, String) {
    let token = server.admin_token().await;
    (ConsoleBrowser::new(server, "", &token), token)
}

/// A user made through the API (unprivileged) and its id.
async fn user(server: &Server, token: &str, username: &str) -> String {
    let body = json!({"username": username, "password": format!("{username} password")});
    let created = server.post("/api/v1/users", Some(token), body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

/// A policy made through the API and its id.
async fn policy(server: &Server, token: &str, name: &str, document: Value) -> String {
    let created = server.post("/api/v1/policies", Some(token), json!({"name": name, "document": document})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    created.body["id"].as_str().unwrap().to_owned()
}

/// The console path a redirect points to, without its query.
fn redirected_path(reply: &PageReply) -> String {
    assert_eq!(reply.status, 303, "{}", reply.html);
    reply.location().split("/console").nth(1).unwrap().split('?').next().unwrap().to_owned()
}

/// The policy-list version the page's attach and detach forms carry.
fn version(page: &PageReply) -> String {
    let marker = "name=\"version\" value=\"";
    let start =
        page.html.find(marker).unwrap_or_else(|| panic!("no version on the page: {}", page.html)) + marker.len();
    page.html[start..].split('"').next().unwrap().to_owned()
}

/// The ids of the policies attached to a group, through the SOAT API.
async fn attached(server: &Server, token: &str, group: &str) -> Vec<String> {
    let reply = server.get(&format!("/api/v1/groups/{group}/policies"), Some(token)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body.as_array().unwrap().iter().map(|policy| policy["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_group_gets_members_and_policies_that_then_apply_to_its_members() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let gus = user(&server, &token, "gus").await;
    let gus_token = server.login("gus", "gus password").await;
    assert_eq!(server.get("/api/v1/groups", Some(&gus_token)).await.status, 403);

    // Create: a blank name comes back with its message; a taken one with a conflict.
    let blank = console.submit("/groups", "/groups", &[("name", " ")]).await;
    assert_eq!(blank.status, 422, "{}", blank.html);
    assert!(blank.html.contains("be blank"), "{}", blank.html);
    let group_path = redirected_path(&console.submit("/groups", "/groups", &[("name", "operators")]).await);
    let group = group_path.rsplit('/').next().unwrap().to_owned();
    let taken = console.submit("/groups", "/groups", &[("name", "operators")]).await;
    assert_eq!(taken.status, 409, "{}", taken.html);
    let record = server.get(&format!("/api/v1/groups/{group}"), Some(&token)).await;
    assert_eq!(record.body["name"], "operators", "{}", record.text);
    assert!(console.get("/groups").await.html.contains(">operators</a>"));

    // Members: by username; an unknown name is refused with the text kept.
    let nobody = console.submit(&group_path, &format!("{group_path}/members"), &[("user", "nobody-here")]).await;
    assert_eq!(nobody.status, 422, "{}", nobody.html);
    assert!(nobody.html.contains("matches no user"), "{}", nobody.html);
    assert!(nobody.html.contains("value=\"nobody-here\""), "{}", nobody.html);
    // The search offers users to pick, members excepted.
    let search = console.get(&format!("{group_path}?q=gu")).await;
    assert!(search.html.contains(&format!("value=\"{gus}\"")), "{}", search.html);
    let added = console.submit(&group_path, &format!("{group_path}/members"), &[("user", "GUS")]).await;
    assert_eq!(redirected_path(&added), group_path);
    let record = server.get(&format!("/api/v1/groups/{group}"), Some(&token)).await;
    assert_eq!(record.body["member_ids"], json!([gus]), "{}", record.text);
    let page = console.get(&group_path).await;
    assert!(page.html.contains(">gus</a>"), "{}", page.html);
    let search = console.get(&format!("{group_path}?q=gu")).await;
    assert!(!search.html.contains(&format!("value=\"{gus}\"")), "{}", search.html);

    // A policy attached at the version the page showed applies to the member at once.
    let readers = policy(
        &server,
        &token,
        "group-readers",
        json!({"statement": [{"effect": "Allow", "action": ["groups:ListGroups", "groups:GetGroup"]}]}),
    )
    .await;
    let other =
        policy(&server, &token, "other", json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"]}]}))
            .await;
    let page = console.get(&group_path).await;
    let shown = version(&page);
    let attach = format!("{group_path}/policies");
    let done = console.post(&attach, &page.csrf(), &[("policy_id", &readers), ("version", &shown)]).await;
    assert_eq!(redirected_path(&done), group_path);
    assert_eq!(attached(&server, &token, &group).await, [readers.as_str()]);
    assert_eq!(server.get("/api/v1/groups", Some(&gus_token)).await.status, 200);
    assert_eq!(server.get(&format!("/api/v1/groups/{group}"), Some(&gus_token)).await.status, 200);

    // A form from before that change is refused as "changed meanwhile", and nothing is written.
    let stale = console.post(&attach, &page.csrf(), &[("policy_id", &other), ("version", &shown)]).await;
    assert_eq!(stale.status, 409, "{}", stale.html);
    assert!(stale.html.contains("changed by someone else"), "{}", stale.html);
    assert_eq!(attached(&server, &token, &group).await, [readers.as_str()]);

    // Detach at the current version: the member loses the access.
    let page = console.get(&group_path).await;
    let detach = format!("{group_path}/policies/{readers}/detach");
    let detached = console.post(&detach, &page.csrf(), &[("version", &version(&page))]).await;
    assert_eq!(redirected_path(&detached), group_path);
    assert!(attached(&server, &token, &group).await.is_empty());
    assert_eq!(server.get("/api/v1/groups", Some(&gus_token)).await.status, 403);

    // Remove the member, rename, delete after the confirmation.
    let removed = console.post(&format!("{group_path}/members/{gus}/remove"), &page.csrf(), &[]).await;
    assert_eq!(redirected_path(&removed), group_path);
    let record = server.get(&format!("/api/v1/groups/{group}"), Some(&token)).await;
    assert_eq!(record.body["member_ids"], json!([]), "{}", record.text);
    let renamed = console.submit(&group_path, &group_path, &[("name", "operations"), ("description", "on call")]).await;
    assert_eq!(redirected_path(&renamed), group_path);
    let record = server.get(&format!("/api/v1/groups/{group}"), Some(&token)).await;
    assert_eq!(
        (record.body["name"].as_str(), record.body["description"].as_str()),
        (Some("operations"), Some("on call"))
    );
    let confirm = console.get(&format!("{group_path}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.html.contains("cannot be undone"), "{}", confirm.html);
    let deleted = console.post(&format!("{group_path}/delete"), &confirm.csrf(), &[]).await;
    assert_eq!(redirected_path(&deleted), "/groups");
    assert_eq!(server.get(&format!("/api/v1/groups/{group}"), Some(&token)).await.status, 404);
    assert_eq!(console.get(&group_path).await.status, 404);
}

#[tokio::test]
async fn the_policy_editor_shows_the_validators_messages_and_stores_nothing_invalid() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let editor = console.get("/policies/new").await;
    assert_eq!(editor.status, 200, "{}", editor.html);
    assert!(editor.html.contains("<textarea"), "{}", editor.html);

    // Not JSON: the parser's message, the text kept.
    let typed = "{\"statement\": [";
    let broken = console.post("/policies", &editor.csrf(), &[("name", "broken"), ("document", typed)]).await;
    assert_eq!(broken.status, 422, "{}", broken.html);
    assert!(broken.html.contains("not valid JSON"), "{}", broken.html);
    assert!(broken.html.contains("{&quot;statement&quot;: [</textarea>"), "{}", broken.html);

    // JSON that breaks the rules: every validator message, beside the editor.
    let typed = r#"{"statement": [{"effect": "Maybe", "action": ["users:Nope"]}], "extra": 1}"#;
    let invalid = console.post("/policies", &editor.csrf(), &[("name", "invalid"), ("document", typed)]).await;
    assert_eq!(invalid.status, 422, "{}", invalid.html);
    for message in [
        "statement[0].effect: must be one of Allow, Deny",
        "&quot;users:Nope&quot; is not a known action",
        "unknown key &quot;extra&quot;",
    ] {
        assert!(invalid.html.contains(message), "{message}: {}", invalid.html);
    }
    assert!(invalid.html.contains("value=\"invalid\""), "the name is kept");
    // Field problems (a blank name, a blank document) come back too.
    let blank = console.post("/policies", &editor.csrf(), &[("name", ""), ("document", "")]).await;
    assert_eq!(blank.status, 422, "{}", blank.html);
    assert!(blank.html.contains("name can"), "{}", blank.html);
    assert!(blank.html.contains("document can"), "{}", blank.html);
    assert_eq!(server.get("/api/v1/policies", Some(&token)).await.body, json!([]), "nothing was stored");

    // A valid one is created; its page edits it; an invalid edit changes nothing.
    let valid = r#"{"statement": [{"effect": "Allow", "action": ["users:ListUsers"]}]}"#;
    let created = console.post("/policies", &editor.csrf(), &[("name", "listers"), ("document", valid)]).await;
    let path = redirected_path(&created);
    let id = path.rsplit('/').next().unwrap().to_owned();
    let page = console.get(&path).await;
    assert!(page.html.contains("users:ListUsers"), "{}", page.html);
    let refused = console.post(&path, &page.csrf(), &[("name", "listers"), ("document", typed)]).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("is not a known action"), "{}", refused.html);
    let stored = server.get(&format!("/api/v1/policies/{id}"), Some(&token)).await;
    assert_eq!(stored.body["document"]["statement"][0]["action"], json!(["users:ListUsers"]), "{}", stored.text);
    let changed = r#"{"statement": [{"effect": "Deny", "action": ["users:DeleteUser"]}]}"#;
    let saved = console.post(&path, &page.csrf(), &[("name", "no-deletes"), ("document", changed)]).await;
    assert_eq!(redirected_path(&saved), path);
    let stored = server.get(&format!("/api/v1/policies/{id}"), Some(&token)).await;
    assert_eq!(stored.body["name"], "no-deletes");
    assert_eq!(stored.body["document"]["statement"][0]["effect"], "Deny", "{}", stored.text);
    assert!(console.get("/policies").await.html.contains(">no-deletes</a>"));

    // Delete after the confirmation.
    let confirm = console.get(&format!("{path}/delete")).await;
    assert!(confirm.html.contains("cannot be undone"), "{}", confirm.html);
    let deleted = console.post(&format!("{path}/delete"), &confirm.csrf(), &[]).await;
    assert_eq!(redirected_path(&deleted), "/policies");
    assert_eq!(server.get(&format!("/api/v1/policies/{id}"), Some(&token)).await.status, 404);
}

#[tokio::test]
async fn the_simulator_names_the_deciding_statement_and_answers_only_those_allowed_to_ask() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let sam = user(&server, &token, "sam").await;
    let document = json!({"statement": [
        {"effect": "Allow", "action": ["groups:ListGroups"]},
        {"effect": "Deny", "action": ["users:DeleteUser"], "resource": ["srn:default:user:*"]}
    ]});
    let rules = policy(&server, &token, "team-rules", document).await;
    let group = server.post("/api/v1/groups", Some(&token), json!({"name": "team", "member_ids": [sam]})).await;
    assert_eq!(group.status, 201, "{}", group.text);
    let put = format!("/api/v1/groups/{}/policies", group.body["id"].as_str().unwrap());
    let attach = server.call(Method::PUT, &put, Some(&token), Some(json!({"policy_ids": [rules]}))).await;
    assert_eq!(attach.status, 204, "{}", attach.text);

    let form = console.get("/policies/simulate").await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert!(form.html.contains("<datalist id=\"actions\">"), "{}", form.html);
    assert!(form.html.contains("value=\"users:ListUsers\""), "{}", form.html);

    // Allowed by the group's policy: the policy and statement that decided.
    let allowed = console.get("/policies/simulate?user=sam&action=groups:ListGroups&resource=").await;
    assert_eq!(allowed.status, 200, "{}", allowed.html);
    assert!(allowed.html.contains("class=\"allow\">Allow<"), "{}", allowed.html);
    assert!(allowed.html.contains("statement <strong>0</strong>"), "{}", allowed.html);
    assert!(allowed.html.contains(">team-rules</a>"), "{}", allowed.html);
    assert!(allowed.html.contains("srn:default:group:*"), "the default resource: {}", allowed.html);
    // An explicit Deny, by id.
    let denied = console.get(&format!("/policies/simulate?user={sam}&action=users:DeleteUser")).await;
    assert!(denied.html.contains("class=\"deny\">Deny<"), "{}", denied.html);
    assert!(denied.html.contains("statement <strong>1</strong>"), "{}", denied.html);
    assert!(denied.html.contains("&quot;Deny&quot;"), "the statement is shown: {}", denied.html);
    // Nothing matches: not allowed. The admin role allows everything.
    let none = console.get("/policies/simulate?user=sam&action=policies:ListPolicies").await;
    assert!(none.html.contains(">Not allowed<"), "{}", none.html);
    assert!(none.html.contains("No statement"), "{}", none.html);
    let admin_answer = console.get("/policies/simulate?user=admin&action=tenants:DeleteTenant").await;
    assert!(admin_answer.html.contains("class=\"allow\">Allow<"), "{}", admin_answer.html);
    assert!(admin_answer.html.contains("admin role allows everything"), "{}", admin_answer.html);
    // Bad questions: 4xx with the message beside the field.
    let unknown_user = console.get("/policies/simulate?user=nobody&action=groups:ListGroups").await;
    assert_eq!(unknown_user.status, 404, "{}", unknown_user.html);
    assert!(unknown_user.html.contains("matches no user"));
    let unknown_action = console.get("/policies/simulate?user=sam&action=groups:Fly").await;
    assert_eq!(unknown_action.status, 422, "{}", unknown_action.html);
    assert!(unknown_action.html.contains("is not a known action"));

    // A member without the permission is refused; with policies:GetPolicy alone still refused
    // (the user must be readable too); with both, answered.
    let sam_console = ConsoleBrowser::new(&server, "", &server.login("sam", "sam password").await);
    assert_eq!(sam_console.get("/policies/simulate?user=admin&action=users:GetUser").await.status, 403);
    let reader = user(&server, &token, "rita").await;
    let read_policies = json!({"statement": [{"effect": "Allow", "action": ["policies:GetPolicy"]}]});
    let read_policies = policy(&server, &token, "read-policies", read_policies).await;
    let put = format!("/api/v1/users/{reader}/policies");
    let attach = server.call(Method::PUT, &put, Some(&token), Some(json!({"policy_ids": [read_policies]}))).await;
    assert_eq!(attach.status, 204, "{}", attach.text);
    let rita = ConsoleBrowser::new(&server, "", &server.login("rita", "rita password").await);
    let question = format!("/policies/simulate?user={sam}&action=groups:ListGroups");
    assert_eq!(rita.get(&question).await.status, 403);
    let read_sam = json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"], "resource": [format!("srn:default:user:{sam}")]}]});
    let read_sam = policy(&server, &token, "read-sam", read_sam).await;
    let both = json!({"policy_ids": [read_policies, read_sam]});
    assert_eq!(server.call(Method::PUT, &put, Some(&token), Some(both)).await.status, 204);
    let answered = rita.get(&question).await;
    assert_eq!(answered.status, 200, "{}", answered.html);
    assert!(answered.html.contains("class=\"allow\">Allow<"), "{}", answered.html);
    assert_eq!(rita.get("/policies/simulate?user=admin&action=groups:ListGroups").await.status, 403);
}

#[tokio::test]
async fn groups_and_policies_forms_need_the_csrf_token() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let missing = console.post_raw("/groups", "name=forged", Some(&server.base)).await;
    assert_eq!(missing.status, 403, "{}", missing.html);
    let wrong = console.post("/policies", &"0".repeat(64), &[("name", "forged"), ("document", "{}")]).await;
    assert_eq!(wrong.status, 403, "{}", wrong.html);
    assert_eq!(server.get("/api/v1/groups", Some(&token)).await.body, json!([]));
    assert_eq!(server.get("/api/v1/policies", Some(&token)).await.body, json!([]));
}

#[tokio::test]
async fn group_and_policy_lists_page_from_the_store() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let console = ConsoleBrowser::new(&server, "", &token);
    let document = json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"], "resource": ["*"]}]});
    for index in 0..53 {
        let group = server.post("/api/v1/groups", Some(&token), json!({"name": format!("team-{index:02}")})).await;
        assert_eq!(group.status, 201, "{}", group.text);
        let policy = json!({"name": format!("policy-{index:02}"), "document": document});
        assert_eq!(server.post("/api/v1/policies", Some(&token), policy).await.status, 201);
    }
    for (list, name) in [("/groups", "team-"), ("/policies", "policy-")] {
        let first = console.get(list).await;
        assert_eq!(first.status, 200, "{}", first.html);
        assert!(first.html.contains(&format!(">{name}00<")) && first.html.contains(&format!(">{name}49<")), "{list}");
        assert!(!first.html.contains(&format!(">{name}50<")), "{list}: 50 a page");
        assert!(first.html.contains("rel=\"next\""), "{list}");
        let second = console.get(&format!("{list}?page=2")).await;
        assert!(
            second.html.contains(&format!(">{name}52<")) && !second.html.contains(&format!(">{name}00<")),
            "{list}"
        );
        assert!(!second.html.contains("rel=\"next\""), "{list}: the last page");
        let beyond = console.get(&format!("{list}?page=99999999999")).await;
        assert_eq!(beyond.status, 200, "{list}: {}", beyond.html);
    }
}
