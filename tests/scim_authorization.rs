//! An identity provider drives authorisation by pushing group membership: a SCIM group's IAM
//! policies (attached by an administrator) apply to the users the IdP adds to it, and stop
//! applying the moment it removes them.

mod common;

use common::Server;
use reqwest::Method;
use serde_json::json;

const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

#[tokio::test]
async fn group_membership_pushed_by_scim_grants_and_revokes_policies() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let policy = server
        .post(
            "/api/v1/policies",
            Some(&admin),
            json!({"name": "directory-readers",
                   "document": {"statement": [{"effect": "Allow", "action": ["users:ListUsers"]}]}}),
        )
        .await;
    assert_eq!(policy.status, 201, "{}", policy.text);
    let policy_id = policy.body["id"].as_str().unwrap().to_owned();

    let group = server
        .post(
            "/scim/v2/Groups",
            Some(&admin),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Helpdesk"}),
        )
        .await;
    assert_eq!(group.status, 201, "{}", group.text);
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let soat_group = format!("grp_{}", group_id.replace('-', ""));
    let attach = server
        .call(
            Method::PUT,
            &format!("/api/v1/groups/{soat_group}/policies"),
            Some(&admin),
            Some(json!({"policy_ids": [policy_id]})),
        )
        .await;
    assert_eq!(attach.status, 204, "{}", attach.text);

    let user = server
        .post(
            "/scim/v2/Users",
            Some(&admin),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "hana", "password": "hanas-password"}),
        )
        .await;
    assert_eq!(user.status, 201, "{}", user.text);
    let user_id = user.body["id"].as_str().unwrap().to_owned();
    let token = server.login("hana", "hanas-password").await;
    assert_eq!(server.get("/api/v1/users", Some(&token)).await.status, 403, "no policy yet");

    let add =
        json!({"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": user_id}]}]});
    let reply = server.call(Method::PATCH, &format!("/scim/v2/Groups/{group_id}"), Some(&admin), Some(add)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let listed = server.get("/api/v1/users", Some(&token)).await;
    assert_eq!(listed.status, 200, "the group's policy applies at once: {}", listed.text);
    let groups = server.get(&format!("/scim/v2/Users/{user_id}"), Some(&admin)).await.body["groups"].clone();
    assert_eq!(groups[0]["value"], json!(group_id));
    assert_eq!(groups[0]["display"], json!("Helpdesk"));

    let remove = json!({"schemas": [PATCH_OP],
                        "Operations": [{"op": "remove", "path": format!("members[value eq \"{user_id}\"]")}]});
    let reply = server.call(Method::PATCH, &format!("/scim/v2/Groups/{group_id}"), Some(&admin), Some(remove)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    assert_eq!(server.get("/api/v1/users", Some(&token)).await.status, 403, "and stops applying at once");
}
