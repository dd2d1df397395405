//! SCIM `/Bulk` (RFC 7644 §3.7) through the real server: `bulkId` references in either order,
//! `failOnErrors`, per-operation errors and versions, and the advertised limits (413 past them).

mod common;

use common::Server;
use reqwest::Method;
use serde_json::{json, Value};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

async fn bulk(server: &Server, token: &str, body: Value) -> (u16, Value) {
    let reply = server.call(Method::POST, "/scim/v2/Bulk", Some(token), Some(body)).await;
    (reply.status.as_u16(), reply.body)
}

fn user(bulk_id: &str, name: &str) -> Value {
    json!({"method": "POST", "path": "/Users", "bulkId": bulk_id, "data": {"schemas": [USER], "userName": name}})
}

#[tokio::test]
async fn a_group_and_its_members_are_created_in_one_request_in_any_order() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    // The group comes first and names members created after it.
    let body = json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Groups", "bulkId": "staff", "data": {"schemas": [GROUP], "displayName": "Staff",
            "members": [{"value": "bulkId:alice", "type": "User"}, {"value": "bulkId:bob", "type": "User"}]}},
        user("alice", "alice"),
        user("bob", "bob"),
        {"method": "PATCH", "path": "/Users/bulkId:bob", "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "title", "value": "Engineer"}]}}
    ]});
    let (status, response) = bulk(&server, &admin, body).await;
    assert_eq!(status, 200, "{response}");
    assert_eq!(response["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]));
    let operations = response["Operations"].as_array().unwrap();
    assert_eq!(operations.len(), 4, "{response}");
    let by_bulk_id = |id: &str| operations.iter().find(|op| op["bulkId"] == json!(id)).unwrap().clone();
    for id in ["staff", "alice", "bob"] {
        let operation = by_bulk_id(id);
        assert_eq!(operation["status"], json!("201"), "{operation}");
        assert!(operation["version"].as_str().unwrap().starts_with("W/\""), "{operation}");
    }
    let patched = operations.iter().find(|op| op["method"] == json!("PATCH")).unwrap();
    assert_eq!(patched["status"], json!("200"), "{patched}");
    let group_location = by_bulk_id("staff")["location"].as_str().unwrap().to_owned();
    let group_path = group_location.split("/scim/v2").nth(1).unwrap();
    let group = server.get(&format!("/scim/v2{group_path}"), Some(&admin)).await.body;
    let members: Vec<&str> =
        group["members"].as_array().unwrap().iter().map(|m| m["value"].as_str().unwrap()).collect();
    let alice = by_bulk_id("alice")["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let bob = by_bulk_id("bob")["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    assert_eq!(members.len(), 2);
    assert!(members.contains(&alice.as_str()) && members.contains(&bob.as_str()), "{group}");
    let bob_now = server.get(&format!("/scim/v2/Users/{bob}"), Some(&admin)).await.body;
    assert_eq!(bob_now["title"], json!("Engineer"));
}

#[tokio::test]
async fn errors_are_reported_per_operation_and_fail_on_errors_stops() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let (_, first) = bulk(&server, &admin, json!({"schemas": [BULK], "Operations": [user("a", "carol")]})).await;
    let carol = first["Operations"][0]["location"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();

    let body = json!({"schemas": [BULK], "Operations": [
        user("dup", "CAROL"),
        {"method": "DELETE", "path": format!("/Users/{carol}"), "version": "W/\"999\""},
        {"method": "POST", "path": "/Groups", "bulkId": "g", "data": {"schemas": [GROUP], "displayName": "G",
            "members": [{"value": "bulkId:never"}]}},
        user("ok", "dave")
    ]});
    let (status, response) = bulk(&server, &admin, body.clone()).await;
    assert_eq!(status, 200, "{response}");
    let operations = response["Operations"].as_array().unwrap();
    assert_eq!(operations.len(), 4, "{response}");
    let status_of = |bulk_id: Option<&str>, method: &str| {
        operations
            .iter()
            .find(|op| op["method"] == json!(method) && bulk_id.is_none_or(|id| op["bulkId"] == json!(id)))
            .unwrap()
            .clone()
    };
    let duplicate = status_of(Some("dup"), "POST");
    assert_eq!(duplicate["status"], json!("409"));
    assert_eq!(duplicate["response"]["scimType"], json!("uniqueness"));
    assert_eq!(duplicate["response"]["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    assert_eq!(status_of(None, "DELETE")["status"], json!("412"));
    let unresolved = status_of(Some("g"), "POST");
    assert_eq!(unresolved["status"], json!("409"), "{unresolved}");
    assert_eq!(status_of(Some("ok"), "POST")["status"], json!("201"));
    assert_eq!(server.get(&format!("/scim/v2/Users/{carol}"), Some(&admin)).await.status, 200, "not deleted");

    // failOnErrors: 1 stops at the first error; nothing after it runs.
    let stopped = json!({"schemas": [BULK], "failOnErrors": 1, "Operations": [user("x", "carol"), user("y", "erin")]});
    let (status, response) = bulk(&server, &admin, stopped).await;
    assert_eq!(status, 200);
    assert_eq!(response["Operations"].as_array().unwrap().len(), 1, "{response}");
    let erin = server.get("/scim/v2/Users?filter=userName%20eq%20%22erin%22", Some(&admin)).await;
    assert_eq!(erin.body["totalResults"], json!(0));
}

#[tokio::test]
async fn the_advertised_limits_hold() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let config = server.get("/scim/v2/ServiceProviderConfig", Some(&admin)).await.body;
    assert_eq!(config["bulk"]["supported"], json!(true));
    let max_operations = config["bulk"]["maxOperations"].as_u64().unwrap() as usize;
    let max_payload = config["bulk"]["maxPayloadSize"].as_u64().unwrap() as usize;

    let too_many: Vec<Value> = (0..=max_operations).map(|i| user(&format!("u{i}"), &format!("user{i}"))).collect();
    let (status, response) = bulk(&server, &admin, json!({"schemas": [BULK], "Operations": too_many})).await;
    assert_eq!(status, 413, "{response}");
    assert_eq!(response["status"], json!("413"));
    assert_eq!(server.get("/scim/v2/Users?count=0", Some(&admin)).await.body["totalResults"], json!(1), "nothing ran");

    let padding = "x".repeat(max_payload);
    let oversized = json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "bulkId": "a", "data": {"schemas": [USER], "userName": "a", "title": padding}}]});
    let reply = server.call(Method::POST, "/scim/v2/Bulk", Some(&admin), Some(oversized)).await;
    assert_eq!(reply.status, 413, "{}", reply.text);
    assert_eq!(reply.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));

    let (status, response) = bulk(&server, &admin, json!({"Operations": []})).await;
    assert_eq!((status, response["scimType"].clone()), (400, json!("invalidSyntax")));
    // `failOnErrors` is a positive integer of JSON's (and the document's int64) range: `2.0`
    // is 2, 2^63 is refused (it used to be read as an unsigned 64-bit number).
    let none = |fail_on_errors: Value| json!({"schemas": [BULK], "failOnErrors": fail_on_errors, "Operations": []});
    assert_eq!(bulk(&server, &admin, none(json!(2.0))).await.0, 200);
    for refused in [json!(9_223_372_036_854_775_808_u64), json!(0), json!(1.5), json!("1")] {
        let (status, response) = bulk(&server, &admin, none(refused.clone())).await;
        assert_eq!((status, response["scimType"].clone()), (400, json!("invalidValue")), "{refused}: {response}");
    }
    let unauthenticated =
        server.call(Method::POST, "/scim/v2/Bulk", None, Some(json!({"schemas": [BULK], "Operations": []}))).await;
    assert_eq!(unauthenticated.status, 401);
}

/// Creations go to the database in batches; a batch with a name taken (here: twice in the
/// same request, in any case) still creates every other user and refuses only the duplicate.
#[tokio::test]
async fn batched_creations_report_each_duplicate_on_its_own_operation() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let mut operations: Vec<Value> = (0..300).map(|i| user(&format!("u{i}"), &format!("member{i}"))).collect();
    operations.push(user("dup", "MEMBER7"));
    let (status, response) = bulk(&server, &admin, json!({"schemas": [BULK], "Operations": operations})).await;
    assert_eq!(status, 200, "{response}");
    let results = response["Operations"].as_array().unwrap();
    assert_eq!(results.len(), 301);
    let created = results.iter().filter(|op| op["status"] == json!("201")).count();
    assert_eq!(created, 300, "{response}");
    let duplicate = results.iter().find(|op| op["bulkId"] == json!("dup")).unwrap();
    assert_eq!(duplicate["status"], json!("409"), "{duplicate}");
    assert_eq!(duplicate["response"]["scimType"], json!("uniqueness"));
    let listed = server.get("/scim/v2/Users?count=0", Some(&admin)).await;
    assert_eq!(listed.body["totalResults"], json!(301), "300 members and the admin");
    let found = server.get("/scim/v2/Users?filter=userName%20eq%20%22member299%22", Some(&admin)).await;
    assert_eq!(found.body["totalResults"], json!(1));
}
