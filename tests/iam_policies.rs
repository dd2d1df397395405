//! The IAM policies contract (iam-spec "Permissions catalog", "Policies", "User policies"), row by
//! row, over HTTP: the catalog, policy CRUD with document validation, and attaching policies to users.

mod common;

use common::{Reply, Server};
use reqwest::Method;
use serde_json::{json, Value};

/// The keys of a PolicyRecord, sorted.
const POLICY_KEYS: [&str; 6] = ["created_at", "description", "document", "id", "name", "updated_at"];

/// `prefix` followed by exactly 32 hex digits.
fn is_id(value: &Value, prefix: &str) -> bool {
    value
        .as_str()
        .and_then(|s| s.strip_prefix(prefix))
        .is_some_and(|hex| hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()))
}

/// ISO 8601 with milliseconds and `Z`.
fn assert_soat_timestamp(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("{value:?} is not a string"));
    let (_, fraction) = text.rsplit_once('.').unwrap_or_else(|| panic!("{text} has no fraction"));
    assert!(fraction.len() == 4 && fraction.ends_with('Z'), "{text}");
    assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
}

fn assert_policy_shape(policy: &Value) {
    let mut keys: Vec<&str> = policy.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, POLICY_KEYS, "{policy}");
    assert!(is_id(&policy["id"], "pol_"), "{policy}");
    assert_soat_timestamp(&policy["created_at"]);
    assert_soat_timestamp(&policy["updated_at"]);
}

fn allow(actions: &[&str]) -> Value {
    json!({"statement": [{"effect": "Allow", "action": actions}]})
}

async fn put(server: &Server, path: &str, token: Option<&str>, body: Value) -> Reply {
    server.call(Method::PUT, path, token, Some(body)).await
}

async fn create_policy(server: &Server, token: &str, name: &str, document: Value) -> String {
    let reply = server.post("/api/v1/policies", Some(token), json!({"name": name, "document": document})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// Creates a user with password `<username>-password` and returns its id.
async fn create_user(server: &Server, admin: &str, username: &str) -> String {
    let password = format!("{username}-password");
    let reply = server.post("/api/v1/users", Some(admin), json!({"username": username, "password": password})).await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn user_token(server: &Server, admin: &str, username: &str) -> (String, String) {
    let id = create_user(server, admin, username).await;
    let token = server.login(username, &format!("{username}-password")).await;
    (id, token)
}

/// The ids of a JSON array of records, sorted.
fn ids(list: &Value) -> Vec<String> {
    let mut ids: Vec<String> = list
        .as_array()
        .unwrap_or_else(|| panic!("{list} is not an array"))
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids
}

/// The exact 400 body for an invalid document.
fn invalid_document(details: &[&str]) -> Value {
    json!({"error": format!("Invalid policy document\n{}", details.join("\n")), "details": details})
}

// ---------------------------------------------------------------------------------------------
// Permissions catalog

#[tokio::test]
async fn permissions_catalog_lists_every_module_and_sorted_actions() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let (_, alice) = user_token(&server, &admin, "alice").await;

    let reply = server.get("/api/v1/permissions", Some(&admin)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let expected_modules = json!({
        "users": ["ListUsers", "CreateUser", "GetUser", "UpdateUser", "DeleteUser", "GetUserPolicies", "AttachUserPolicies", "ListUserIdentities", "LinkUserIdentity", "UnlinkUserIdentity"],
        "policies": ["ListPolicies", "CreatePolicy", "GetPolicy", "UpdatePolicy", "DeletePolicy"],
        "api-keys": ["ListApiKeys", "CreateApiKey", "GetApiKey", "UpdateApiKey", "DeleteApiKey"],
        "groups": ["ListGroups", "CreateGroup", "GetGroup", "UpdateGroup", "DeleteGroup", "GetGroupPolicies", "AttachGroupPolicies"],
        "sessions": ["ListSessions", "RevokeSession"],
        "identity-providers": ["GetConfiguration", "UpdateConfiguration"],
    });
    let modules = reply.body["modules"].as_object().unwrap_or_else(|| panic!("{}", reply.text));
    for (module, operations) in expected_modules.as_object().unwrap() {
        assert_eq!(&modules[module], operations, "module {module}");
    }
    for module in ["scim", "tenants"] {
        assert!(modules[module].as_array().is_some_and(|ops| !ops.is_empty()), "module {module}: {}", reply.text);
    }

    // `actions` is exactly every "module:Operation" of `modules`, sorted.
    let actions: Vec<String> =
        reply.body["actions"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_owned()).collect();
    let mut flattened: Vec<String> = modules
        .iter()
        .flat_map(|(module, ops)| {
            ops.as_array().unwrap().iter().map(move |op| format!("{module}:{}", op.as_str().unwrap()))
        })
        .collect();
    flattened.sort();
    assert_eq!(actions, flattened);
    assert_eq!(actions[0], "api-keys:CreateApiKey");
    assert!(actions.contains(&"users:AttachUserPolicies".to_owned()));
    assert_eq!(reply.body.as_object().unwrap().len(), 2, "{}", reply.text);

    // Any authenticated caller may read it; nobody else.
    let as_user = server.get("/api/v1/permissions", Some(&alice)).await;
    assert_eq!(as_user.status, 200);
    assert_eq!(as_user.body, reply.body);
    let anonymous = server.get("/api/v1/permissions", None).await;
    assert_eq!(anonymous.status, 401);
    assert!(anonymous.body["error"].is_string(), "{}", anonymous.text);
}

// ---------------------------------------------------------------------------------------------
// Policies CRUD

#[tokio::test]
async fn admin_creates_lists_gets_updates_and_deletes_policies() {
    let server = Server::start().await;
    let admin = server.admin_token().await;

    assert_eq!(server.get("/api/v1/policies", Some(&admin)).await.body, json!([]));

    let document = json!({"statement": [
        {"effect": "Allow", "action": ["users:ListUsers", "users:GetUser"], "resource": ["srn:default:user:*"]},
        {"effect": "Deny", "action": ["users:*"], "resource": ["srn:default:user:usr_0123456789abcdef0123456789abcdef"],
         "condition": {"StringEquals": {"soat:role": "user"}, "StringLike": {"soat:username": ["help*", "desk?"]}}},
    ]});
    let created = server
        .post(
            "/api/v1/policies",
            Some(&admin),
            json!({"name": "helpdesk", "description": "Read users", "document": document}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let policy = created.body.clone();
    assert_policy_shape(&policy);
    assert_eq!(policy["name"], "helpdesk");
    assert_eq!(policy["description"], "Read users");
    assert_eq!(policy["document"], document);
    assert_eq!(policy["created_at"], policy["updated_at"]);
    let id = policy["id"].as_str().unwrap().to_owned();

    // Without a description it is null; the smallest documents are valid.
    let minimal =
        server.post("/api/v1/policies", Some(&admin), json!({"name": "all", "document": allow(&["*"])})).await;
    assert_eq!(minimal.status, 201, "{}", minimal.text);
    assert_policy_shape(&minimal.body);
    assert_eq!(minimal.body["description"], Value::Null);
    assert_eq!(minimal.body["document"], allow(&["*"]));
    let module_wide = server
        .post("/api/v1/policies", Some(&admin), json!({"name": "policies", "document": allow(&["policies:*"])}))
        .await;
    assert_eq!(module_wide.status, 201, "{}", module_wide.text);
    assert_ne!(minimal.body["id"], policy["id"]);

    let list = server.get("/api/v1/policies", Some(&admin)).await;
    assert_eq!(list.status, 200);
    assert_eq!(
        ids(&list.body),
        sorted(vec![
            id.clone(),
            minimal.body["id"].as_str().unwrap().to_owned(),
            module_wide.body["id"].as_str().unwrap().to_owned()
        ])
    );
    let listed = list.body.as_array().unwrap().iter().find(|p| p["id"] == id.as_str()).unwrap();
    assert_eq!(listed, &policy);

    let got = server.get(&format!("/api/v1/policies/{id}"), Some(&admin)).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, policy);

    // PUT: the document is replaced, omitted name and description are kept.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let new_document = allow(&["users:ListUsers"]);
    let updated =
        put(&server, &format!("/api/v1/policies/{id}"), Some(&admin), json!({"document": new_document})).await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    assert_policy_shape(&updated.body);
    assert_eq!(updated.body["id"], policy["id"]);
    assert_eq!(updated.body["name"], "helpdesk");
    assert_eq!(updated.body["description"], "Read users");
    assert_eq!(updated.body["document"], new_document);
    assert_eq!(updated.body["created_at"], policy["created_at"]);
    assert!(updated.body["updated_at"].as_str().unwrap() > policy["updated_at"].as_str().unwrap(), "{}", updated.text);
    assert_eq!(server.get(&format!("/api/v1/policies/{id}"), Some(&admin)).await.body, updated.body);

    // PUT with a name and a description changes both.
    let renamed = put(
        &server,
        &format!("/api/v1/policies/{id}"),
        Some(&admin),
        json!({"name": "support", "description": "List users", "document": new_document}),
    )
    .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["name"], "support");
    assert_eq!(renamed.body["description"], "List users");
    assert_eq!(server.get(&format!("/api/v1/policies/{id}"), Some(&admin)).await.body, renamed.body);

    // DELETE: 204 with no body, then 404 everywhere.
    let deleted = server.delete(&format!("/api/v1/policies/{id}"), Some(&admin)).await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty(), "{}", deleted.text);
    let gone = server.get(&format!("/api/v1/policies/{id}"), Some(&admin)).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body, json!({"error": "Policy not found"}));
    let again = server.delete(&format!("/api/v1/policies/{id}"), Some(&admin)).await;
    assert_eq!(again.status, 404);
    assert_eq!(again.body, json!({"error": "Policy not found"}));
    let update_gone =
        put(&server, &format!("/api/v1/policies/{id}"), Some(&admin), json!({"document": new_document})).await;
    assert_eq!(update_gone.status, 404);
    assert_eq!(update_gone.body, json!({"error": "Policy not found"}));
    assert_eq!(server.get("/api/v1/policies", Some(&admin)).await.body.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn unknown_and_malformed_policy_ids_are_404() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    create_policy(&server, &admin, "real", allow(&["users:ListUsers"])).await;
    for bad in [
        "pol_0123456789abcdef0123456789abcdef",
        "pol_nothex",
        "pol_0123456789abcdef0123456789abcde",
        "12",
        "usr_0123456789abcdef0123456789abcdef",
    ] {
        let path = format!("/api/v1/policies/{bad}");
        for reply in [
            server.get(&path, Some(&admin)).await,
            put(&server, &path, Some(&admin), json!({"document": allow(&["users:ListUsers"])})).await,
            server.delete(&path, Some(&admin)).await,
        ] {
            assert_eq!(reply.status, 404, "{bad}: {}", reply.text);
            assert_eq!(reply.body, json!({"error": "Policy not found"}), "{bad}");
        }
    }
}

#[tokio::test]
async fn create_rejects_missing_fields_and_bad_input() {
    let server = Server::start().await;
    let admin = server.admin_token().await;

    let blank_name = server.post("/api/v1/policies", Some(&admin), json!({"document": allow(&["*"])})).await;
    assert_eq!(blank_name.status, 400, "{}", blank_name.text);
    assert_eq!(blank_name.body["error"], "name: can't be blank");
    let empty_name =
        server.post("/api/v1/policies", Some(&admin), json!({"name": "", "document": allow(&["*"])})).await;
    assert_eq!(empty_name.status, 400, "{}", empty_name.text);
    assert_eq!(empty_name.body["error"], "name: can't be blank");

    let cases = [
        json!({"name": "x"}),
        json!({"name": "x", "document": null}),
        json!({"name": 5, "document": allow(&["*"])}),
        json!({"name": "x", "description": 7, "document": allow(&["*"])}),
        json!({"name": "x", "document": "not an object"}),
        json!({"name": "x", "document": [1, 2]}),
        json!([1, 2]),
    ];
    for body in cases {
        let reply = server.post("/api/v1/policies", Some(&admin), body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert!(reply.body["error"].as_str().is_some_and(|m| !m.is_empty()), "{body}: {}", reply.text);
    }
    // Nothing was created.
    assert_eq!(server.get("/api/v1/policies", Some(&admin)).await.body, json!([]));
}

#[tokio::test]
async fn invalid_documents_report_every_problem_at_once() {
    let server = Server::start().await;
    let admin = server.admin_token().await;

    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"statement": []}), vec!["statement: must be a non-empty array"]),
        (json!({}), vec!["statement: must be a non-empty array"]),
        (json!({"statement": "Allow"}), vec!["statement: must be a non-empty array"]),
        (
            json!({"statement": [{"effect": "Maybe", "action": ["users:ListUsers"]}]}),
            vec!["statement[0].effect: must be one of Allow, Deny"],
        ),
        (
            json!({"statement": [{"effect": "allow", "action": []}]}),
            vec!["statement[0].effect: must be one of Allow, Deny", "statement[0].action: must be a non-empty array"],
        ),
        (
            json!({"statement": [{"effect": "Allow", "action": ["X"]}]}),
            vec![r#"statement[0].action: "X" is invalid — must be *, module:*, or module:Operation"#],
        ),
        (
            json!({"statement": [{"effect": "Allow", "action": ["users:Nope"]}]}),
            vec![r#"statement[0].action: "users:Nope" is not a known action"#],
        ),
        (
            json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"], "resource": []}]}),
            vec!["statement[0].resource: must be a non-empty array when present"],
        ),
        // Several statements, several problems: one line each, in statement order.
        (
            json!({"statement": [
                {"effect": "Allow", "action": ["users:ListUsers"]},
                {"effect": "Permit", "action": ["users:ListUsers"]},
                {"effect": "Allow", "action": ["X"]},
                {"effect": "Deny", "action": ["users:Nope"]},
                {"effect": "Allow", "action": ["users:GetUser"], "resource": []},
                {"effect": "Deny", "action": []},
            ]}),
            vec![
                "statement[1].effect: must be one of Allow, Deny",
                r#"statement[2].action: "X" is invalid — must be *, module:*, or module:Operation"#,
                r#"statement[3].action: "users:Nope" is not a known action"#,
                "statement[4].resource: must be a non-empty array when present",
                "statement[5].action: must be a non-empty array",
            ],
        ),
    ];
    for (document, details) in cases {
        let reply =
            server.post("/api/v1/policies", Some(&admin), json!({"name": "bad", "document": document.clone()})).await;
        assert_eq!(reply.status, 400, "{document}: {}", reply.text);
        assert_eq!(reply.body, invalid_document(&details), "{document}");
    }

    // Problems that are not pinned word for word are still reported the same way.
    let loose = [
        json!({"statement": [{"action": ["users:ListUsers"]}]}),
        json!({"statement": [{"effect": "Allow"}]}),
        json!({"statement": [{"effect": "Allow", "action": "users:ListUsers"}]}),
        json!({"statement": [{"effect": "Allow", "action": [7]}]}),
        json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"], "resource": "*"}]}),
        json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"], "condition": {"NumericEquals": {"soat:role": "user"}}}]}),
        json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"], "condition": "soat:role"}]}),
        json!({"statement": [7]}),
        json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"], "resource": ["foo"]}]}),
        json!({"statement": [{"effect": "Allow", "action": ["nope:*"]}]}),
        json!({"statement": [{"effect": "Allow", "action": ["nope:ListUsers"]}]}),
    ];
    for document in loose {
        let reply =
            server.post("/api/v1/policies", Some(&admin), json!({"name": "bad", "document": document.clone()})).await;
        assert_eq!(reply.status, 400, "{document}: {}", reply.text);
        let details = reply.body["details"].as_array().unwrap_or_else(|| panic!("{document}: {}", reply.text));
        assert!(!details.is_empty(), "{document}");
        let lines: Vec<&str> = details.iter().map(|d| d.as_str().unwrap()).collect();
        assert_eq!(reply.body["error"], format!("Invalid policy document\n{}", lines.join("\n")), "{document}");
        assert!(lines.iter().all(|l| l.starts_with("statement")), "{document}: {lines:?}");
    }
    assert_eq!(server.get("/api/v1/policies", Some(&admin)).await.body, json!([]));
}

#[tokio::test]
async fn update_validates_before_looking_the_policy_up() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let id = create_policy(&server, &admin, "keep", allow(&["users:ListUsers"])).await;
    let before = server.get(&format!("/api/v1/policies/{id}"), Some(&admin)).await.body;
    let unknown = "pol_0123456789abcdef0123456789abcdef";
    let bad = json!({"statement": [{"effect": "Maybe", "action": ["X"]}]});
    let expected = invalid_document(&[
        "statement[0].effect: must be one of Allow, Deny",
        r#"statement[0].action: "X" is invalid — must be *, module:*, or module:Operation"#,
    ]);

    for target in [id.as_str(), unknown, "pol_nothex"] {
        let path = format!("/api/v1/policies/{target}");
        let invalid = put(&server, &path, Some(&admin), json!({"name": "x", "document": bad})).await;
        assert_eq!(invalid.status, 400, "{target}: {}", invalid.text);
        assert_eq!(invalid.body, expected, "{target}");
        // The document is required on update.
        let missing = put(&server, &path, Some(&admin), json!({"name": "renamed"})).await;
        assert_eq!(missing.status, 400, "{target}: {}", missing.text);
        assert!(missing.body["error"].as_str().is_some_and(|m| !m.is_empty()), "{target}");
    }
    // A blank name is refused on update as on create.
    let blank =
        put(&server, &format!("/api/v1/policies/{id}"), Some(&admin), json!({"name": "", "document": allow(&["*"])}))
            .await;
    assert_eq!(blank.status, 400, "{}", blank.text);
    assert_eq!(blank.body["error"], "name: can't be blank");
    let valid_unknown =
        put(&server, &format!("/api/v1/policies/{unknown}"), Some(&admin), json!({"document": allow(&["*"])})).await;
    assert_eq!(valid_unknown.status, 404);
    assert_eq!(valid_unknown.body, json!({"error": "Policy not found"}));
    // The failed updates changed nothing.
    assert_eq!(server.get(&format!("/api/v1/policies/{id}"), Some(&admin)).await.body, before);
}

#[tokio::test]
async fn policy_routes_need_a_token_and_permission() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let admin_id = server.get("/api/v1/users/me", Some(&admin)).await.body["id"].as_str().unwrap().to_owned();
    let id = create_policy(&server, &admin, "p", allow(&["users:ListUsers"])).await;
    let (alice_id, alice) = user_token(&server, &admin, "alice").await;
    let document = allow(&["*"]);
    let policy_path = format!("/api/v1/policies/{id}");
    let user_policies = format!("/api/v1/users/{admin_id}/policies");

    for token in [None, Some("garbage")] {
        let replies = [
            server.get("/api/v1/policies", token).await,
            server.post("/api/v1/policies", token, json!({"name": "x", "document": document})).await,
            server.get(&policy_path, token).await,
            put(&server, &policy_path, token, json!({"document": document})).await,
            server.delete(&policy_path, token).await,
            server.get(&user_policies, token).await,
            put(&server, &user_policies, token, json!({"policy_ids": [id]})).await,
        ];
        for reply in replies {
            assert_eq!(reply.status, 401, "{token:?}: {}", reply.text);
            assert!(reply.body["error"].as_str().is_some_and(|m| !m.is_empty()), "{}", reply.text);
        }
    }

    // A non-admin without policies: 403 on every route, including attaching policies to itself.
    let own_policies = format!("/api/v1/users/{alice_id}/policies");
    let replies = [
        server.get("/api/v1/policies", Some(&alice)).await,
        server.post("/api/v1/policies", Some(&alice), json!({"name": "x", "document": document})).await,
        server.get(&policy_path, Some(&alice)).await,
        put(&server, &policy_path, Some(&alice), json!({"document": document})).await,
        server.delete(&policy_path, Some(&alice)).await,
        server.get(&user_policies, Some(&alice)).await,
        put(&server, &user_policies, Some(&alice), json!({"policy_ids": [id]})).await,
        put(&server, &own_policies, Some(&alice), json!({"policy_ids": [id]})).await,
    ];
    for reply in replies {
        assert_eq!(reply.status, 403, "{}", reply.text);
        assert_eq!(reply.body, json!({"error": "Forbidden"}));
    }
    // Nothing changed.
    let list = server.get("/api/v1/policies", Some(&admin)).await;
    assert_eq!(ids(&list.body), vec![id.clone()]);
    assert_eq!(list.body[0]["document"], allow(&["users:ListUsers"]));
    assert_eq!(server.get(&own_policies, Some(&admin)).await.body, json!([]));
    assert_eq!(server.get(&user_policies, Some(&admin)).await.body, json!([]));
}

// ---------------------------------------------------------------------------------------------
// User policies

#[tokio::test]
async fn attaching_policies_replaces_the_users_list() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let alice = create_user(&server, &admin, "alice").await;
    let list_users = create_policy(&server, &admin, "list-users", allow(&["users:ListUsers"])).await;
    let described = server
        .post(
            "/api/v1/policies",
            Some(&admin),
            json!({"name": "get-users", "description": "Read one user", "document": allow(&["users:GetUser"])}),
        )
        .await;
    assert_eq!(described.status, 201, "{}", described.text);
    let get_user = described.body["id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/users/{alice}/policies");

    let empty = server.get(&path, Some(&admin)).await;
    assert_eq!(empty.status, 200, "{}", empty.text);
    assert_eq!(empty.body, json!([]));

    let attached = put(&server, &path, Some(&admin), json!({"policy_ids": [list_users, get_user]})).await;
    assert_eq!(attached.status, 204, "{}", attached.text);
    assert!(attached.text.is_empty());
    let got = server.get(&path, Some(&admin)).await;
    assert_eq!(got.status, 200);
    let mut entries = got.body.as_array().unwrap().clone();
    entries.sort_by_key(|p| p["id"].as_str().unwrap().to_owned());
    let mut expected = vec![
        json!({"id": list_users, "name": "list-users", "description": null}),
        json!({"id": get_user, "name": "get-users", "description": "Read one user"}),
    ];
    expected.sort_by_key(|p| p["id"].as_str().unwrap().to_owned());
    assert_eq!(entries, expected);

    // PUT replaces the whole list.
    assert_eq!(put(&server, &path, Some(&admin), json!({"policy_ids": [get_user]})).await.status, 204);
    assert_eq!(
        server.get(&path, Some(&admin)).await.body,
        json!([{"id": get_user, "name": "get-users", "description": "Read one user"}])
    );

    // An unknown (or malformed) policy id among good ones: 404 and nothing changes.
    for unknown in ["pol_0123456789abcdef0123456789abcdef", "pol_nothex", "nope"] {
        let reply = put(&server, &path, Some(&admin), json!({"policy_ids": [list_users, unknown]})).await;
        assert_eq!(reply.status, 404, "{unknown}: {}", reply.text);
        assert_eq!(reply.body, json!({"error": "Policy not found"}));
        assert_eq!(ids(&server.get(&path, Some(&admin)).await.body), vec![get_user.clone()]);
    }

    // A deleted policy disappears from the user's list.
    assert_eq!(put(&server, &path, Some(&admin), json!({"policy_ids": [list_users, get_user]})).await.status, 204);
    assert_eq!(server.delete(&format!("/api/v1/policies/{get_user}"), Some(&admin)).await.status, 204);
    assert_eq!(
        server.get(&path, Some(&admin)).await.body,
        json!([{"id": list_users, "name": "list-users", "description": null}])
    );
    // Attaching the deleted one again is a 404.
    let stale = put(&server, &path, Some(&admin), json!({"policy_ids": [get_user]})).await;
    assert_eq!(stale.status, 404);
    assert_eq!(stale.body, json!({"error": "Policy not found"}));

    // [] detaches all.
    let cleared = put(&server, &path, Some(&admin), json!({"policy_ids": []})).await;
    assert_eq!(cleared.status, 204, "{}", cleared.text);
    assert_eq!(server.get(&path, Some(&admin)).await.body, json!([]));
    // The policy itself still exists.
    assert_eq!(server.get(&format!("/api/v1/policies/{list_users}"), Some(&admin)).await.status, 200);
}

#[tokio::test]
async fn attaching_rejects_bad_bodies_and_unknown_users() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let alice = create_user(&server, &admin, "alice").await;
    let policy = create_policy(&server, &admin, "p", allow(&["users:ListUsers"])).await;
    let path = format!("/api/v1/users/{alice}/policies");
    assert_eq!(put(&server, &path, Some(&admin), json!({"policy_ids": [policy]})).await.status, 204);

    for body in [
        json!({}),
        json!({"policy_ids": null}),
        json!({"policy_ids": policy}),
        json!({"policy_ids": {"0": policy}}),
        json!({"policy_ids": [1]}),
        json!({"policy_ids": [policy, null]}),
        json!({"policy_ids": [[policy]]}),
    ] {
        let reply = put(&server, &path, Some(&admin), body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        assert_eq!(reply.body, json!({"error": "policy_ids must be an array"}), "{body}");
    }
    // Nothing changed.
    assert_eq!(ids(&server.get(&path, Some(&admin)).await.body), vec![policy.clone()]);

    for user in ["usr_0123456789abcdef0123456789abcdef", "usr_nothex", "12", &policy] {
        let path = format!("/api/v1/users/{user}/policies");
        let get = server.get(&path, Some(&admin)).await;
        assert_eq!(get.status, 404, "{user}: {}", get.text);
        assert_eq!(get.body, json!({"error": "User not found"}));
        let attach = put(&server, &path, Some(&admin), json!({"policy_ids": [policy]})).await;
        assert_eq!(attach.status, 404, "{user}: {}", attach.text);
        assert_eq!(attach.body, json!({"error": "User not found"}));
    }

    // A deleted user's policies are gone with it.
    assert_eq!(server.delete(&format!("/api/v1/users/{alice}"), Some(&admin)).await.status, 204);
    let gone = server.get(&path, Some(&admin)).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body, json!({"error": "User not found"}));
}

#[tokio::test]
async fn policies_live_under_tenant_paths_too() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;
    let acme = server.admin_token_in("/t/acme").await;

    let reply = server
        .post(
            "/t/acme/api/v1/policies",
            Some(&acme),
            json!({"name": "acme-only", "document": allow(&["users:ListUsers"])}),
        )
        .await;
    assert_eq!(reply.status, 201, "{}", reply.text);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    assert_eq!(ids(&server.get("/t/acme/api/v1/policies", Some(&acme)).await.body), vec![id.clone()]);
    assert_eq!(server.get(&format!("/t/acme/api/v1/policies/{id}"), Some(&acme)).await.status, 200);
    assert_eq!(server.get("/t/acme/api/v1/permissions", Some(&acme)).await.status, 200);

    // The default tenant does not see it, and an acme token is not valid there.
    assert_eq!(server.get("/api/v1/policies", Some(&admin)).await.body, json!([]));
    let other = server.get(&format!("/api/v1/policies/{id}"), Some(&admin)).await;
    assert_eq!(other.status, 404);
    assert_eq!(other.body, json!({"error": "Policy not found"}));
    assert_eq!(server.delete(&format!("/api/v1/policies/{id}"), Some(&admin)).await.status, 404);
    assert_eq!(server.get("/api/v1/policies", Some(&acme)).await.status, 401);
    assert_eq!(server.get(&format!("/t/acme/api/v1/policies/{id}"), Some(&acme)).await.status, 200);
}
