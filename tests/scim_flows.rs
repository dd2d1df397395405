//! SCIM 2.0 as Okta and Microsoft Entra ID actually drive it (reference/scim.md), over HTTP
//! against the real server: their exact request bodies and quirks, ETags and concurrent writes,
//! filters and sorting, the same record seen through the Firezone and SOAT dialects, what
//! deactivation does to sign-in, credentials and tenants, and the wire rules.

mod common;

use std::collections::HashSet;

use common::{Reply, Server};
use futures::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use uuid::Uuid;

const USER_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_URN: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR_URN: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
const LIST_URN: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
const SEARCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
const SCIM_JSON: &str = "application/scim+json";
/// Okta's Content-Type on SCIM 2.0 writes.
const OKTA_CONTENT_TYPE: &str = "application/scim+json; charset=utf-8";

// ---------------------------------------------------------------------------------------------
// A SCIM client speaking as one identity provider

/// Sends one request with an explicit Content-Type (when there is a body) and extra headers.
async fn send(
    server: &Server,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Option<Vec<u8>>,
    headers: &[(&str, &str)],
) -> Reply {
    let mut request = reqwest::Client::new().request(method, server.url(path)).header("accept", SCIM_JSON);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        if let Some(content_type) = content_type {
            request = request.header("content-type", content_type);
        }
        request = request.body(body);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, headers, text, body }
}

/// A provisioning client: its bearer token, its Content-Type and the tenant's SCIM root.
struct Idp<'s> {
    server: &'s Server,
    token: String,
    content_type: &'static str,
    root: String,
}

impl<'s> Idp<'s> {
    fn okta(server: &'s Server, token: &str) -> Self {
        Idp { server, token: token.to_owned(), content_type: OKTA_CONTENT_TYPE, root: "/scim/v2".to_owned() }
    }

    fn entra(server: &'s Server, token: &str) -> Self {
        Idp { server, token: token.to_owned(), content_type: SCIM_JSON, root: "/scim/v2".to_owned() }
    }

    async fn request(&self, method: Method, path: &str, body: Option<&Value>, headers: &[(&str, &str)]) -> Reply {
        let body = body.map(|body| serde_json::to_vec(body).unwrap());
        let path = format!("{}{path}", self.root);
        send(self.server, method, &path, Some(&self.token), Some(self.content_type), body, headers).await
    }

    async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None, &[]).await
    }

    async fn post(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::POST, path, Some(body), &[]).await
    }

    async fn put(&self, path: &str, body: &Value) -> Reply {
        self.request(Method::PUT, path, Some(body), &[]).await
    }

    /// A PATCH with these operations, in a PatchOp message.
    async fn patch(&self, path: &str, operations: Value) -> Reply {
        self.request(Method::PATCH, path, Some(&patch_op(operations)), &[]).await
    }

    async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None, &[]).await
    }

    /// POSTs a resource, asserts 201 with matching `Location` and `ETag`, returns the body.
    async fn create(&self, path: &str, body: &Value) -> Value {
        let reply = self.post(path, body).await;
        assert_scim(&reply, 201);
        assert_eq!(header(&reply, "location"), reply.body["meta"]["location"].as_str().unwrap(), "{}", reply.text);
        assert_eq!(header(&reply, "etag"), reply.body["meta"]["version"].as_str().unwrap(), "{}", reply.text);
        reply.body
    }

    /// A list or search answered 200 as a ListResponse.
    async fn list(&self, path_and_query: &str) -> Value {
        let reply = self.get(path_and_query).await;
        assert_scim(&reply, 200);
        assert_list_shape(&reply.body);
        reply.body
    }

    /// The userNames a user filter finds, in the server's (creation) order.
    async fn user_names(&self, filter: &str) -> Vec<String> {
        user_names(&self.list(&format!("/Users?filter={}", enc(filter))).await)
    }
}

fn patch_op(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP_URN], "Operations": operations})
}

/// Percent-encodes a query parameter value.
fn enc(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                (byte as char).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

fn header<'r>(reply: &'r Reply, name: &str) -> &'r str {
    reply.headers.get(name).unwrap_or_else(|| panic!("no {name} header: {:?}", reply.headers)).to_str().unwrap()
}

/// Asserts the status and that the body is `application/scim+json`.
fn assert_scim(reply: &Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text);
    assert_eq!(header(reply, "content-type"), SCIM_JSON, "{}", reply.text);
}

/// Asserts a SCIM error: the Error schema, `status` as a string, the scimType (or none) and a
/// non-empty detail.
fn assert_error(reply: &Reply, status: u16, scim_type: Option<&str>) {
    assert_scim(reply, status);
    assert_eq!(reply.body["schemas"], json!([ERROR_URN]), "{}", reply.text);
    assert_eq!(reply.body["status"], json!(status.to_string()), "{}", reply.text);
    match scim_type {
        Some(scim_type) => assert_eq!(reply.body["scimType"], scim_type, "{}", reply.text),
        None => assert!(reply.body.get("scimType").is_none(), "{}", reply.text),
    }
    assert!(reply.body["detail"].as_str().is_some_and(|detail| !detail.is_empty()), "{}", reply.text);
    let keys: HashSet<&str> = reply.body.as_object().unwrap().keys().map(String::as_str).collect();
    let expected: HashSet<&str> = if scim_type.is_some() {
        ["schemas", "status", "scimType", "detail"].into()
    } else {
        ["schemas", "status", "detail"].into()
    };
    assert_eq!(keys, expected, "{}", reply.text);
}

/// A SCIM error body without scimType.
fn error_body(status: u16, detail: &str) -> Value {
    json!({"schemas": [ERROR_URN], "status": status.to_string(), "detail": detail})
}

fn assert_list_shape(list: &Value) {
    assert_eq!(list["schemas"], json!([LIST_URN]), "{list}");
    assert!(list["totalResults"].is_u64(), "{list}");
    assert!(list["itemsPerPage"].is_u64(), "{list}");
    assert!(list["startIndex"].is_u64(), "{list}");
    let resources = list.get("Resources").and_then(Value::as_array).map_or(0, Vec::len);
    assert_eq!(list["itemsPerPage"], json!(resources), "{list}");
}

fn resources(list: &Value) -> Vec<Value> {
    list.get("Resources").and_then(Value::as_array).cloned().unwrap_or_default()
}

fn ids(list: &Value) -> Vec<String> {
    resources(list).iter().map(id).collect()
}

fn user_names(list: &Value) -> Vec<String> {
    resources(list).iter().map(|resource| resource["userName"].as_str().unwrap().to_owned()).collect()
}

fn id(resource: &Value) -> String {
    resource["id"].as_str().unwrap_or_else(|| panic!("no id in {resource}")).to_owned()
}

fn version(resource: &Value) -> String {
    resource["meta"]["version"].as_str().unwrap_or_else(|| panic!("no meta.version in {resource}")).to_owned()
}

/// The counter inside a weak ETag `W/"<n>"`.
fn version_number(etag: &str) -> u64 {
    etag.strip_prefix("W/\"").and_then(|rest| rest.strip_suffix('"')).unwrap().parse().unwrap()
}

fn keys(resource: &Value) -> Vec<String> {
    let mut keys: Vec<String> = resource.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn member_ids(group: &Value) -> Vec<String> {
    group.get("members").and_then(Value::as_array).into_iter().flatten().map(id_of_value).collect()
}

fn id_of_value(member: &Value) -> String {
    member["value"].as_str().unwrap().to_owned()
}

fn sorted(mut values: Vec<String>) -> Vec<String> {
    values.sort();
    values
}

/// The member objects the server renders for these user ids, ordered by id (the order of a
/// multi-valued attribute carries no meaning, RFC 7643 §2.4).
fn members(server: &Server, ids: &[&str]) -> Value {
    let mut ids = ids.to_vec();
    ids.sort();
    ids.iter()
        .map(|id| json!({"value": id, "$ref": server.url(&format!("/scim/v2/Users/{id}")), "type": "User"}))
        .collect()
}

/// A group's `members`, ordered by id.
fn sorted_members(group: &Value) -> Value {
    let mut members = group["members"].as_array().unwrap_or_else(|| panic!("no members in {group}")).clone();
    members.sort_by_key(id_of_value);
    Value::Array(members)
}

/// A resource without `meta` (for comparing content across versions).
fn without_meta(resource: &Value) -> Value {
    let mut resource = resource.clone();
    resource.as_object_mut().unwrap().remove("meta");
    resource
}

/// The SOAT id of a SCIM (UUID) id.
fn soat_id(scim_id: &str) -> String {
    format!("usr_{}", Uuid::parse_str(scim_id).unwrap().simple())
}

/// The user Okta's "Create User" sends (Okta's own example, with a userName of ours).
fn okta_user(user_name: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": [USER_URN],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"primary": true, "value": user_name, "type": "work"}],
        "displayName": format!("{given} {family}"),
        "locale": "en-US",
        "externalId": format!("00u{}", &Uuid::new_v4().simple().to_string()[..17]),
        "groups": [],
        "password": "1mz050nq",
        "active": true
    })
}

/// The user Entra ID's provisioning sends (Microsoft's own example, with names of ours).
fn entra_user(user_name: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": [USER_URN, ENTERPRISE_URN],
        "externalId": Uuid::new_v4().to_string(),
        "userName": user_name,
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": user_name}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": format!("{given} {family}"), "familyName": family, "givenName": given},
        "roles": []
    })
}

/// The group Entra ID's provisioning sends.
fn entra_group(display_name: &str) -> Value {
    json!({
        "schemas": [GROUP_URN, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": Uuid::new_v4().to_string(),
        "displayName": display_name,
        "meta": {"resourceType": "Group"}
    })
}

async fn admin_scim_id(idp: &Idp<'_>) -> String {
    let list = idp.list(&format!("/Users?filter={}", enc(r#"userName eq "admin""#))).await;
    assert_eq!(list["totalResults"], 1, "{list}");
    id(&resources(&list)[0])
}

// ---------------------------------------------------------------------------------------------
// Okta

#[tokio::test]
async fn okta_lists_looks_up_creates_and_meets_conflicts() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let okta = Idp::okta(&server, &token);

    // Okta's connectivity check: one user, numeric paging fields (the bootstrap admin is a user).
    let first = okta.list("/Users?count=1&startIndex=1").await;
    assert_eq!(first["totalResults"], json!(1));
    assert_eq!(first["itemsPerPage"], json!(1));
    assert_eq!(first["startIndex"], json!(1));
    assert_eq!(resources(&first)[0]["userName"], "admin");

    // A userName nobody has: 200 with zero results, never 404.
    let random = format!("{}@example.com", Uuid::new_v4());
    let none =
        okta.get(&format!("/Users?filter={}&startIndex=1&count=100", enc(&format!("userName eq \"{random}\"")))).await;
    assert_scim(&none, 200);
    assert_eq!(none.body, json!({"schemas": [LIST_URN], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1}));

    // Create: 201, Location = meta.location, ETag = meta.version, the password never shown.
    let body = okta_user("isaac.brock@example.com", "Isaac", "Brock");
    let created = okta.create("/Users", &body).await;
    let user_id = id(&created);
    assert!(Uuid::parse_str(&user_id).is_ok(), "{created}");
    let meta = &created["meta"];
    assert_eq!(meta["location"], json!(server.url(&format!("/scim/v2/Users/{user_id}"))));
    assert!(version(&created).starts_with("W/\"") && version(&created).ends_with('"'), "{created}");
    assert!(chrono::DateTime::parse_from_rfc3339(meta["created"].as_str().unwrap()).is_ok(), "{meta}");
    assert_eq!(meta["created"], meta["lastModified"]);
    let expected = json!({
        "schemas": [USER_URN],
        "id": user_id,
        "externalId": body["externalId"],
        "userName": "isaac.brock@example.com",
        "name": {"givenName": "Isaac", "familyName": "Brock"},
        "emails": [{"primary": true, "value": "isaac.brock@example.com", "type": "work"}],
        "displayName": "Isaac Brock",
        "locale": "en-US",
        "active": true,
        "meta": {
            "resourceType": "User",
            "created": meta["created"],
            "lastModified": meta["created"],
            "location": meta["location"],
            "version": "W/\"1\""
        }
    });
    assert_eq!(created, expected);

    // The userName is matched case-insensitively, as Okta looks users up before creating them.
    let upper = okta.list(&format!("/Users?filter={}", enc(r#"userName eq "ISAAC.BROCK@EXAMPLE.COM""#))).await;
    assert_eq!(upper["totalResults"], 1);
    assert_eq!(resources(&upper), vec![created.clone()]);
    let got = okta.get(&format!("/Users/{user_id}")).await;
    assert_scim(&got, 200);
    assert_eq!(got.body, created);
    assert_eq!(header(&got, "etag"), "W/\"1\"");

    // Unknown ids are 404 in the error schema (a UUID nobody has, and Okta's own id shape).
    for unknown in [Uuid::new_v4().to_string(), "00ujl29u0le5T6Aj10h7".to_owned()] {
        let missing = okta.get(&format!("/Users/{unknown}")).await;
        assert_error(&missing, 404, None);
        assert_eq!(missing.body, error_body(404, "User not found"));
    }

    // The same POST again, and a userName differing only in case: 409 uniqueness.
    let duplicate = okta.post("/Users", &body).await;
    assert_error(&duplicate, 409, Some("uniqueness"));
    let mut variant = okta_user("Isaac.Brock@EXAMPLE.com", "Isaac", "Brock");
    variant["emails"] = json!([{"primary": true, "value": "isaac.other@example.com", "type": "work"}]);
    let case_variant = okta.post("/Users", &variant).await;
    assert_error(&case_variant, 409, Some("uniqueness"));
    assert_eq!(
        case_variant.body,
        json!({"schemas": [ERROR_URN], "status": "409", "scimType": "uniqueness", "detail": "userName is already in use"})
    );
    assert_eq!(okta.list("/Users?count=0").await["totalResults"], 2, "the conflicts created nobody");
}

#[tokio::test]
async fn okta_deactivates_and_replaces_users() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let okta = Idp::okta(&server, &token);
    let created = okta.create("/Users", &okta_user("test.user@okta.local", "Test", "User")).await;
    let user_id = id(&created);

    // Deactivation: replace without a path.
    let deactivated =
        okta.patch(&format!("/Users/{user_id}"), json!([{"op": "replace", "value": {"active": false}}])).await;
    assert_scim(&deactivated, 200);
    assert_eq!(deactivated.body["active"], json!(false));
    let mut expected = without_meta(&created);
    expected["active"] = json!(false);
    assert_eq!(without_meta(&deactivated.body), expected);
    assert_eq!(header(&deactivated, "etag"), version(&deactivated.body));
    assert_ne!(version(&deactivated.body), version(&created));
    assert_eq!(deactivated.body["meta"]["created"], created["meta"]["created"]);
    assert_eq!(okta.get(&format!("/Users/{user_id}")).await.body, deactivated.body);

    // Okta's PUT (its "Update User" example): the full resource, `middleName: ""` and all.
    let replacement = json!({
        "schemas": [USER_URN],
        "id": user_id,
        "userName": "test.user@okta.local",
        "name": {"givenName": "Another", "middleName": "", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "active": true,
        "groups": [],
        "meta": {"resourceType": "User"}
    });
    let replaced = okta.put(&format!("/Users/{user_id}"), &replacement).await;
    assert_scim(&replaced, 200);
    assert_eq!(header(&replaced, "etag"), version(&replaced.body));
    assert_eq!(
        without_meta(&replaced.body),
        json!({
            "schemas": [USER_URN],
            "id": user_id,
            "userName": "test.user@okta.local",
            "name": {"givenName": "Another", "familyName": "User"},
            "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
            "active": true
        }),
        "a full replace drops what it does not send (displayName, locale, externalId)"
    );
    assert_eq!(okta.get(&format!("/Users/{user_id}")).await.body, replaced.body);

    // An id in a PUT body is readOnly, so ignored (RFC 7644 §3.5.1): the path's resource is
    // replaced and keeps its id.
    let mut moved = replacement.clone();
    moved["id"] = json!(Uuid::new_v4().to_string());
    let ignored = okta.put(&format!("/Users/{user_id}"), &moved).await;
    assert_scim(&ignored, 200);
    assert_eq!(without_meta(&ignored.body), without_meta(&replaced.body));
    assert_eq!(okta.list("/Users?count=0").await["totalResults"], 2, "no second user");
    // PUT on an unknown id is 404.
    let unknown = Uuid::new_v4();
    let mut elsewhere = replacement;
    elsewhere["id"] = json!(unknown.to_string());
    let missing = okta.put(&format!("/Users/{unknown}"), &elsewhere).await;
    assert_eq!(missing.body, error_body(404, "User not found"));
}

#[tokio::test]
async fn okta_manages_group_members() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let okta = Idp::okta(&server, &token);
    let mut users = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let user = okta.create("/Users", &okta_user(&format!("{name}@example.com"), name, "Example")).await;
        users.push(id(&user));
    }
    let (alice, bob, carol) = (users[0].as_str(), users[1].as_str(), users[2].as_str());

    // Okta's "Create Group" with members (display is the server's to fill, so it is dropped).
    let created = okta
        .create(
            "/Groups",
            &json!({
                "schemas": [GROUP_URN],
                "displayName": "Test SCIMv2",
                "members": [{"value": alice, "display": "alice@example.com"}, {"value": bob, "display": "bob@example.com"}]
            }),
        )
        .await;
    let group_id = id(&created);
    let group_path = format!("/Groups/{group_id}");
    let mut created_sorted = created.clone();
    created_sorted["members"] = sorted_members(&created);
    assert_eq!(
        created_sorted,
        json!({
            "schemas": [GROUP_URN],
            "id": group_id,
            "displayName": "Test SCIMv2",
            "members": members(&server, &[alice, bob]),
            "meta": {
                "resourceType": "Group",
                "created": created["meta"]["created"],
                "lastModified": created["meta"]["created"],
                "location": server.url(&format!("/scim/v2/Groups/{group_id}")),
                "version": "W/\"1\""
            }
        })
    );
    // Members see the group.
    let alice_view = okta.get(&format!("/Users/{alice}")).await.body;
    assert_eq!(
        alice_view["groups"],
        json!([{"value": group_id, "$ref": server.url(&format!("/scim/v2/Groups/{group_id}")), "display": "Test SCIMv2", "type": "direct"}])
    );

    // remove members[value eq "id"].
    let removed =
        okta.patch(&group_path, json!([{"op": "remove", "path": format!("members[value eq \"{alice}\"]")}])).await;
    assert_scim(&removed, 200);
    assert_eq!(sorted_members(&removed.body), members(&server, &[bob]));
    assert!(okta.get(&format!("/Users/{alice}")).await.body.get("groups").is_none());

    // add members.
    let added = okta
        .patch(
            &group_path,
            json!([{"op": "add", "path": "members", "value": [{"value": carol, "display": "carol@example.com"}]}]),
        )
        .await;
    assert_scim(&added, 200);
    assert_eq!(sorted_members(&added.body), members(&server, &[bob, carol]));

    // replace members.
    let replaced = okta
        .patch(
            &group_path,
            json!([{"op": "replace", "path": "members", "value": [{"value": alice, "display": "alice@example.com"}]}]),
        )
        .await;
    assert_scim(&replaced, 200);
    assert_eq!(sorted_members(&replaced.body), members(&server, &[alice]));

    // Okta renames a group with replace without path, echoing the id.
    let renamed = okta
        .patch(&group_path, json!([{"op": "replace", "value": {"id": group_id, "displayName": "Renamed SCIMv2"}}]))
        .await;
    assert_scim(&renamed, 200);
    assert_eq!(renamed.body["displayName"], "Renamed SCIMv2");
    assert_eq!(sorted_members(&renamed.body), members(&server, &[alice]));

    // excludedAttributes=members leaves them out.
    let light = okta.get(&format!("{group_path}?excludedAttributes=members")).await;
    assert_scim(&light, 200);
    assert_eq!(keys(&light.body), ["displayName", "id", "meta", "schemas"]);
    assert_eq!(light.body["displayName"], "Renamed SCIMv2");
    let listed = okta.list("/Groups?count=100&startIndex=1").await;
    assert_eq!(listed["totalResults"], 1);
    assert_eq!(resources(&listed), vec![renamed.body.clone()]);

    // Emptying the group.
    let emptied = okta.patch(&group_path, json!([{"op": "replace", "path": "members", "value": []}])).await;
    assert_scim(&emptied, 200);
    assert!(emptied.body.get("members").is_none(), "{}", emptied.text);

    // Delete: 204, then 404.
    let deleted = okta.delete(&group_path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.text.is_empty());
    assert_eq!(okta.get(&group_path).await.body, error_body(404, "Group not found"));
    assert_eq!(okta.delete(&group_path).await.body, error_body(404, "Group not found"));
}

// ---------------------------------------------------------------------------------------------
// Entra ID

#[tokio::test]
async fn entra_filters_by_external_id_and_display_name() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let entra = Idp::entra(&server, &token);

    let body = entra_user("Test_User_ab6490ee@testuser.com", "givenName", "familyName");
    let user = entra.create("/Users", &body).await;
    assert_eq!(user["schemas"], json!([USER_URN]), "an empty enterprise part is not listed");
    assert_eq!(user["externalId"], body["externalId"]);
    assert!(user.get("roles").is_none(), "{user}");
    let external_id = body["externalId"].as_str().unwrap();

    let found = entra.list(&format!("/Users?filter={}", enc(&format!("externalId eq \"{external_id}\"")))).await;
    assert_eq!(found["totalResults"], 1);
    assert_eq!(resources(&found), vec![user.clone()]);
    // externalId is caseExact (RFC 7643 §3.1).
    let upper = external_id.to_uppercase();
    let other_case = entra.list(&format!("/Users?filter={}", enc(&format!("externalId eq \"{upper}\"")))).await;
    assert_eq!(other_case["totalResults"], 0);
    let by_name =
        entra.list(&format!("/Users?filter={}", enc(r#"userName eq "Test_User_ab6490ee@testuser.com""#))).await;
    assert_eq!(ids(&by_name), [id(&user)]);

    let group_body = entra_group("Group1DisplayName");
    let group = entra.create("/Groups", &group_body).await;
    assert_eq!(group["schemas"], json!([GROUP_URN]));
    assert_eq!(group["externalId"], group_body["externalId"]);
    assert!(group.get("members").is_none());
    entra.create("/Groups", &entra_group("Another group")).await;

    // What Entra sends to find a group.
    let query = format!("/Groups?excludedAttributes=members&filter={}", enc(r#"displayName eq "Group1DisplayName""#));
    let by_display = entra.list(&query).await;
    assert_eq!(by_display["totalResults"], 1);
    assert_eq!(resources(&by_display), vec![group.clone()]);
    let group_external = group_body["externalId"].as_str().unwrap();
    let by_external =
        entra.list(&format!("/Groups?filter={}", enc(&format!("externalId eq \"{group_external}\"")))).await;
    assert_eq!(ids(&by_external), [id(&group)]);
    let nobody = entra.list(&format!("/Groups?filter={}", enc(r#"displayName eq "No such group""#))).await;
    assert_eq!(nobody, json!({"schemas": [LIST_URN], "totalResults": 0, "itemsPerPage": 0, "startIndex": 1}));
    // A group's displayName is matched case-insensitively too.
    let lower = entra.list(&format!("/Groups?filter={}", enc(r#"displayName eq "group1displayname""#))).await;
    assert_eq!(ids(&lower), [id(&group)]);
}

#[tokio::test]
async fn entra_pages_through_users_by_index() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let entra = Idp::entra(&server, &token);
    let mut all = vec![admin_scim_id(&entra).await];
    for n in 1..=12 {
        let user = entra.create("/Users", &entra_user(&format!("pager{n:02}@testuser.com"), "Page", "User")).await;
        all.push(id(&user));
    }

    let mut seen = Vec::new();
    for (start, expected_count) in [(1usize, 5usize), (6, 5), (11, 3)] {
        let page = entra.list(&format!("/Users?startIndex={start}&count=5")).await;
        assert_eq!(page["totalResults"], json!(13), "12 users and the admin");
        assert_eq!(page["itemsPerPage"], json!(expected_count));
        assert_eq!(page["startIndex"], json!(start));
        assert_eq!(ids(&page), all[start - 1..start - 1 + expected_count].to_vec(), "page at {start}");
        seen.extend(ids(&page));
    }
    let distinct: HashSet<&String> = seen.iter().collect();
    assert_eq!(distinct.len(), 13, "no duplicates across pages");
    assert_eq!(seen, all);

    // Past the end: an empty page with the total.
    let past = entra.list("/Users?startIndex=14&count=5").await;
    assert_eq!(past, json!({"schemas": [LIST_URN], "totalResults": 13, "itemsPerPage": 0, "startIndex": 14}));
    // Paging a filter: the admin is not a pager.
    let filtered = entra.list(&format!("/Users?startIndex=11&count=5&filter={}", enc(r#"userName sw "pager""#))).await;
    assert_eq!(filtered["totalResults"], 12);
    assert_eq!(ids(&filtered), all[11..13].to_vec());
}

#[tokio::test]
async fn entra_patch_quirks_are_accepted() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let entra = Idp::entra(&server, &token);
    let manager1 = id(&entra.create("/Users", &entra_user("manager1@contoso.test", "Mona", "Manager")).await);
    let manager2 = id(&entra.create("/Users", &entra_user("manager2@contoso.test", "Max", "Manager")).await);
    // A user without a work email.
    let created = entra
        .create(
            "/Users",
            &json!({
                "schemas": [USER_URN, ENTERPRISE_URN],
                "externalId": "e7b1c1b4-3a0c-4b8e-9a51-6f1f5c0b4e21",
                "userName": "quirks@contoso.test",
                "active": true,
                "emails": [{"type": "home", "value": "quirks@home.test"}],
                "meta": {"resourceType": "User"},
                "name": {"formatted": "Quinn Quirk", "familyName": "Quirk", "givenName": "Quinn"}
            }),
        )
        .await;
    let path = format!("/Users/{}", id(&created));

    // Capitalised op names.
    let replaced = entra.patch(&path, json!([{"op": "Replace", "path": "displayName", "value": "Quinn Q."}])).await;
    assert_scim(&replaced, 200);
    assert_eq!(replaced.body["displayName"], "Quinn Q.");
    let added = entra.patch(&path, json!([{"op": "Add", "path": "title", "value": "Engineer"}])).await;
    assert_scim(&added, 200);
    assert_eq!(added.body["title"], "Engineer");
    let removed = entra.patch(&path, json!([{"op": "Remove", "path": "displayName"}])).await;
    assert_scim(&removed, 200);
    assert!(removed.body.get("displayName").is_none(), "{}", removed.text);
    assert_eq!(removed.body["title"], "Engineer");

    // A boolean as a string.
    let inactive = entra.patch(&path, json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_scim(&inactive, 200);
    assert_eq!(inactive.body["active"], json!(false));
    let active = entra.patch(&path, json!([{"op": "Replace", "path": "active", "value": "True"}])).await;
    assert_scim(&active, 200);
    assert_eq!(active.body["active"], json!(true));

    // A filtered path that matches nothing adds the value; then replaces it.
    let work = entra
        .patch(&path, json!([{"op": "Add", "path": "emails[type eq \"work\"].value", "value": "new@x.test"}]))
        .await;
    assert_scim(&work, 200);
    assert_eq!(
        work.body["emails"],
        json!([{"type": "home", "value": "quirks@home.test"}, {"type": "work", "value": "new@x.test"}])
    );
    let rewritten = entra
        .patch(&path, json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "newer@x.test"}]))
        .await;
    assert_scim(&rewritten, 200);
    assert_eq!(
        rewritten.body["emails"],
        json!([{"type": "home", "value": "quirks@home.test"}, {"type": "work", "value": "newer@x.test"}])
    );
    // Microsoft's "Update User [Multi-valued properties]": two operations in one request.
    let both = entra
        .patch(
            &path,
            json!([
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "updatedEmail@microsoft.com"},
                {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"}
            ]),
        )
        .await;
    assert_scim(&both, 200);
    assert_eq!(both.body["emails"][1], json!({"type": "work", "value": "updatedEmail@microsoft.com"}));
    assert_eq!(both.body["name"]["familyName"], "updatedFamilyName");
    let by_email = entra.user_names(r#"emails.value eq "updatedemail@microsoft.com""#).await;
    assert_eq!(by_email, ["quirks@contoso.test"]);

    // Replace without a path, with dotted and URN-qualified keys.
    let dotted = entra
        .patch(
            &path,
            json!([{"op": "Replace", "value": {"name.givenName": "G", format!("{ENTERPRISE_URN}:department"): "D"}}]),
        )
        .await;
    assert_scim(&dotted, 200);
    assert_eq!(dotted.body["name"]["givenName"], "G");
    assert_eq!(dotted.body["name"]["familyName"], "updatedFamilyName", "the other name parts stay");
    assert_eq!(dotted.body["name"]["formatted"], "Quinn Quirk");
    assert_eq!(dotted.body[ENTERPRISE_URN]["department"], "D");
    assert_eq!(dotted.body["schemas"], json!([USER_URN, ENTERPRISE_URN]));

    // "" and null clear.
    let cleared = entra.patch(&path, json!([{"op": "Replace", "path": "title", "value": ""}])).await;
    assert_scim(&cleared, 200);
    assert!(cleared.body.get("title").is_none(), "{}", cleared.text);
    let nick = entra.patch(&path, json!([{"op": "Add", "path": "nickName", "value": "Q"}])).await;
    assert_eq!(nick.body["nickName"], "Q", "{}", nick.text);
    let nulled = entra.patch(&path, json!([{"op": "Replace", "path": "nickName", "value": null}])).await;
    assert_scim(&nulled, 200);
    assert!(nulled.body.get("nickName").is_none(), "{}", nulled.text);

    // Manager: set with a bare id (as Entra sends it), change with {"value"}, remove.
    let manager_path = format!("{ENTERPRISE_URN}:manager");
    let set = entra.patch(&path, json!([{"op": "Add", "path": manager_path, "value": manager1}])).await;
    assert_scim(&set, 200);
    assert_eq!(set.body[ENTERPRISE_URN]["manager"]["value"], json!(manager1), "{}", set.text);
    assert_eq!(set.body[ENTERPRISE_URN]["department"], "D");
    let changed =
        entra.patch(&path, json!([{"op": "Replace", "path": manager_path, "value": {"value": manager2}}])).await;
    assert_scim(&changed, 200);
    assert_eq!(changed.body[ENTERPRISE_URN]["manager"]["value"], json!(manager2), "{}", changed.text);
    assert!(!changed.text.contains(&manager1), "nothing of the old manager stays: {}", changed.text);
    let object_form =
        entra.patch(&path, json!([{"op": "Add", "path": manager_path, "value": {"value": manager1}}])).await;
    assert_scim(&object_form, 200);
    assert_eq!(object_form.body[ENTERPRISE_URN]["manager"]["value"], json!(manager1), "{}", object_form.text);
    let unmanaged = entra.patch(&path, json!([{"op": "Remove", "path": manager_path}])).await;
    assert_scim(&unmanaged, 200);
    assert!(unmanaged.body[ENTERPRISE_URN].get("manager").is_none(), "{}", unmanaged.text);
    assert_eq!(unmanaged.body[ENTERPRISE_URN], json!({"department": "D"}));

    // What was written reads back.
    let read = entra.get(&path).await;
    assert_scim(&read, 200);
    assert_eq!(read.body, unmanaged.body);
}

#[tokio::test]
async fn entra_manages_group_members() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let entra = Idp::entra(&server, &token);
    let mut users = Vec::new();
    for n in 1..=3 {
        users.push(id(&entra.create("/Users", &entra_user(&format!("member{n}@contoso.test"), "M", "Ember")).await));
    }
    let (a, b, c) = (users[0].as_str(), users[1].as_str(), users[2].as_str());
    let group = entra.create("/Groups", &entra_group("Entra members")).await;
    let path = format!("/Groups/{}", id(&group));

    let added = entra
        .patch(&path, json!([{"op": "Add", "path": "members", "value": [{"value": a}, {"value": b}, {"value": c}]}]))
        .await;
    assert_scim(&added, 200);
    assert_eq!(sorted_members(&added.body), members(&server, &[a, b, c]));
    // Adding a present member changes nothing.
    let again = entra.patch(&path, json!([{"op": "Add", "path": "members", "value": [{"value": b}]}])).await;
    assert_scim(&again, 200);
    assert_eq!(sorted_members(&again.body), members(&server, &[a, b, c]));

    // Removal by a value array.
    let removed = entra.patch(&path, json!([{"op": "Remove", "path": "members", "value": [{"value": a}]}])).await;
    assert_scim(&removed, 200);
    assert_eq!(sorted_members(&removed.body), members(&server, &[b, c]));

    // Entra's rename.
    let renamed = entra
        .patch(
            &path,
            json!([{"op": "Replace", "path": "displayName", "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName"}]),
        )
        .await;
    assert_scim(&renamed, 200);
    assert_eq!(renamed.body["displayName"], "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName");
    assert_eq!(sorted_members(&renamed.body), members(&server, &[b, c]));

    // Membership filters on groups: a sub-attribute, a value path (RFC 7644 §3.4.2.2), with id.
    let group_id = id(&group);
    for (filter, found) in [
        (format!("members.value eq \"{b}\""), true),
        (format!("members.value eq \"{a}\""), false),
        (format!("id eq \"{group_id}\" and members.value eq \"{c}\""), true),
        (format!("members[value eq \"{b}\"]"), true),
        (format!("members[value eq \"{a}\"]"), false),
    ] {
        let query = format!("/Groups?excludedAttributes=members&filter={}", enc(&filter));
        let reply = entra.get(&query).await;
        assert_eq!(reply.status, 200, "filter {filter}: {}", reply.text);
        let expected = if found { vec![group_id.clone()] } else { vec![] };
        assert_eq!(ids(&reply.body), expected, "filter {filter}");
        assert!(resources(&reply.body).iter().all(|group| group.get("members").is_none()));
    }
}

// ---------------------------------------------------------------------------------------------
// ETags and concurrent writes

#[tokio::test]
async fn etags_make_reads_and_writes_conditional() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let entra = Idp::entra(&server, &token);
    let created = entra.create("/Users", &entra_user("etag@contoso.test", "E", "Tag")).await;
    let path = format!("/Users/{}", id(&created));
    let first = version(&created);

    // If-None-Match with the current tag: 304 without a body; another tag: the resource.
    let unchanged = entra.request(Method::GET, &path, None, &[("if-none-match", &first)]).await;
    assert_eq!(unchanged.status, StatusCode::NOT_MODIFIED);
    assert!(unchanged.text.is_empty());
    assert_eq!(header(&unchanged, "etag"), first);
    let other = entra.request(Method::GET, &path, None, &[("if-none-match", "W/\"999\"")]).await;
    assert_scim(&other, 200);
    assert_eq!(other.body, created);

    // If-Match with the current tag: 200 and a new tag.
    let operations = patch_op(json!([{"op": "Replace", "path": "title", "value": "First"}]));
    let matched = entra.request(Method::PATCH, &path, Some(&operations), &[("if-match", &first)]).await;
    assert_scim(&matched, 200);
    let second = version(&matched.body);
    assert_ne!(second, first);
    assert_eq!(header(&matched, "etag"), second);
    assert_eq!(matched.body["title"], "First");

    // A stale If-Match: 412, nothing written.
    let operations = patch_op(json!([{"op": "Replace", "path": "title", "value": "Second"}]));
    let stale = entra.request(Method::PATCH, &path, Some(&operations), &[("if-match", &first)]).await;
    assert_error(&stale, 412, None);
    assert_eq!(stale.body, error_body(412, "The resource changed: its version does not match"));
    let put_body = without_meta(&matched.body);
    let stale_put = entra.request(Method::PUT, &path, Some(&put_body), &[("if-match", &first)]).await;
    assert_error(&stale_put, 412, None);
    let stale_delete = entra.request(Method::DELETE, &path, None, &[("if-match", &first)]).await;
    assert_error(&stale_delete, 412, None);
    let now = entra.get(&path).await;
    assert_eq!(now.body, matched.body);
    assert_eq!(header(&now, "etag"), second);

    // The old tag no longer suppresses the body; the new one does. A strong form matches too.
    let old_tag = entra.request(Method::GET, &path, None, &[("if-none-match", &first)]).await;
    assert_scim(&old_tag, 200);
    let strong = second.trim_start_matches("W/").to_owned();
    let new_tag = entra.request(Method::GET, &path, None, &[("if-none-match", &strong)]).await;
    assert_eq!(new_tag.status, StatusCode::NOT_MODIFIED);

    // Groups too.
    let group = entra.create("/Groups", &entra_group("Tagged")).await;
    let group_path = format!("/Groups/{}", id(&group));
    let cached = entra.request(Method::GET, &group_path, None, &[("if-none-match", &version(&group))]).await;
    assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
    let operations = patch_op(json!([{"op": "Replace", "path": "displayName", "value": "Tagged 2"}]));
    let stale_group = entra.request(Method::PATCH, &group_path, Some(&operations), &[("if-match", "W/\"41\"")]).await;
    assert_error(&stale_group, 412, None);

    // A matching If-Match on DELETE deletes.
    let deleted = entra.request(Method::DELETE, &path, None, &[("if-match", &second)]).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn concurrent_patches_lose_no_update_and_if_match_admits_one() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let entra = Idp::entra(&server, &token);
    let mut users = Vec::new();
    for n in 0..16 {
        users.push(id(&entra.create("/Users", &entra_user(&format!("racer{n:02}@contoso.test"), "R", "Acer")).await));
    }
    let group = entra.create("/Groups", &entra_group("Racers")).await;
    let path = format!("/Groups/{}", id(&group));
    let start = version_number(&version(&group));

    // 16 PATCHes at once, each adding a different member, without If-Match: all land.
    let replies = join_all(
        users
            .iter()
            .map(|user| entra.patch(&path, json!([{"op": "Add", "path": "members", "value": [{"value": user}]}]))),
    )
    .await;
    let statuses: Vec<u16> = replies.iter().map(|reply| reply.status.as_u16()).collect();
    let refused: Vec<&str> =
        replies.iter().filter(|reply| reply.status != StatusCode::OK).map(|r| r.text.as_str()).collect();
    assert!(refused.is_empty(), "every PATCH succeeds: {statuses:?} {refused:?}");
    let after = entra.get(&path).await;
    assert_scim(&after, 200);
    assert_eq!(sorted(member_ids(&after.body)), sorted(users.clone()), "no lost update");
    assert_eq!(version_number(&version(&after.body)), start + 16, "one version per write");

    // 8 PATCHes at once with the same If-Match: exactly one wins, the rest are 412.
    let tag = version(&after.body);
    let bodies: Vec<Value> = (0..8)
        .map(|n| patch_op(json!([{"op": "Replace", "path": "displayName", "value": format!("Racers {n}")}])))
        .collect();
    let if_match = [("if-match", tag.as_str())];
    let replies = join_all(bodies.iter().map(|body| entra.request(Method::PATCH, &path, Some(body), &if_match))).await;
    let winners: Vec<&Reply> = replies.iter().filter(|reply| reply.status == StatusCode::OK).collect();
    assert_eq!(winners.len(), 1, "{:?}", replies.iter().map(|reply| reply.status).collect::<Vec<_>>());
    for reply in replies.iter().filter(|reply| reply.status != StatusCode::OK) {
        assert_error(reply, 412, None);
    }
    let last = entra.get(&path).await.body;
    assert_eq!(last["displayName"], winners[0].body["displayName"]);
    assert_eq!(version_number(&version(&last)), version_number(&tag) + 1);
    assert_eq!(sorted(member_ids(&last)), sorted(users));
}

// ---------------------------------------------------------------------------------------------
// Filters, sorting, projection, .search

#[tokio::test]
async fn filters_sorting_and_projection() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let okta = Idp::okta(&server, &token);
    let people = [
        ("ada", "Ada", "Lovelace", json!([{"value": "ada@x.test", "type": "work", "primary": true}]), true),
        (
            "grace",
            "Grace",
            "Hopper",
            json!([{"value": "grace@y.test", "type": "work"}, {"value": "grace@x.test", "type": "home"}]),
            true,
        ),
        ("linus", "Linus", "Torvalds", json!([{"value": "linus@x.test", "type": "home"}]), false),
    ];
    for (user_name, given, family, emails, active) in people {
        let body = json!({
            "schemas": [USER_URN],
            "userName": user_name,
            "name": {"givenName": given, "familyName": family},
            "emails": emails,
            "active": active
        });
        okta.create("/Users", &body).await;
    }
    // A second later, so that its creation second is its own.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let margaret = okta
        .create(
            "/Users",
            &json!({
                "schemas": [USER_URN],
                "userName": "margaret",
                "name": {"givenName": "Margaret", "familyName": "Hamilton"},
                "emails": [{"value": "margaret@x.test", "type": "work"}],
                "active": true
            }),
        )
        .await;
    let margaret_created = margaret["meta"]["created"].as_str().unwrap();

    let cases: Vec<(String, Vec<&str>)> = vec![
        (r#"emails.value eq "GRACE@x.test""#.into(), vec!["grace"]),
        (r#"emails[type eq "work" and value co "@x"]"#.into(), vec!["ada", "margaret"]),
        (r#"name.familyName sw "Ho""#.into(), vec!["grace"]),
        (r#"name.familyName sw "lOVE""#.into(), vec!["ada"]),
        (r#"name.familyName pr"#.into(), vec!["ada", "grace", "linus", "margaret"]),
        (r#"meta.created gt "2000-01-01T00:00:00Z""#.into(), vec!["admin", "ada", "grace", "linus", "margaret"]),
        (r#"meta.created gt "2999-01-01T00:00:00Z""#.into(), vec![]),
        (format!("meta.created ge \"{margaret_created}\""), vec!["margaret"]),
        (format!("meta.created lt \"{margaret_created}\""), vec!["admin", "ada", "grace", "linus"]),
        (r#"active eq false"#.into(), vec!["linus"]),
        (r#"active eq true"#.into(), vec!["admin", "ada", "grace", "margaret"]),
        (r#"not (active eq false)"#.into(), vec!["admin", "ada", "grace", "margaret"]),
        (r#"userName eq "ada" or userName eq "LINUS""#.into(), vec!["ada", "linus"]),
        (r#"emails.value co "@x.test" and not (name.givenName eq "Grace")"#.into(), vec!["ada", "linus", "margaret"]),
        (r#"(userName sw "a" or userName ew "s") and emails pr"#.into(), vec!["ada", "linus"]),
        (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "grace""#.into(), vec!["grace"]),
    ];
    for (filter, expected) in cases {
        assert_eq!(okta.user_names(&filter).await, expected, "filter {filter}");
    }

    // Sorting.
    let descending = okta.list("/Users?sortBy=userName&sortOrder=descending").await;
    assert_eq!(user_names(&descending), ["margaret", "linus", "grace", "admin", "ada"]);
    let ascending = okta.list("/Users?sortBy=userName").await;
    assert_eq!(user_names(&ascending), ["ada", "admin", "grace", "linus", "margaret"]);
    let by_family = okta.list(&format!("/Users?sortBy=name.familyName&filter={}", enc("name.familyName pr"))).await;
    assert_eq!(user_names(&by_family), ["margaret", "grace", "ada", "linus"]);
    let sorted_page = okta.list("/Users?sortBy=userName&sortOrder=descending&startIndex=2&count=2").await;
    assert_eq!(user_names(&sorted_page), ["linus", "grace"]);

    // Malformed filters: 400 invalidFilter.
    let long = format!("userName eq \"{}\"", "x".repeat(5000));
    for filter in [
        "userName eq",
        r#"(userName eq "ada""#,
        r#"userName eq "ada")"#,
        r#"userName eq "ada" and"#,
        r#"userName xx "ada""#,
        long.as_str(),
        r#"nope eq "x""#,
        r#"name.nope eq "x""#,
    ] {
        let reply = okta.get(&format!("/Users?filter={}", enc(filter))).await;
        assert_error(&reply, 400, Some("invalidFilter"));
    }

    // count=0: the total only.
    let count_only = okta.get("/Users?count=0").await;
    assert_scim(&count_only, 200);
    assert_eq!(count_only.body, json!({"schemas": [LIST_URN], "totalResults": 5, "itemsPerPage": 0, "startIndex": 1}));

    // A SearchRequest.
    let search = json!({
        "schemas": [SEARCH_URN],
        "attributes": ["userName", "emails"],
        "filter": "emails[type eq \"work\"]",
        "sortBy": "userName",
        "sortOrder": "descending",
        "startIndex": 1,
        "count": 10
    });
    let searched = okta.post("/Users/.search", &search).await;
    assert_scim(&searched, 200);
    assert_list_shape(&searched.body);
    assert_eq!(searched.body["totalResults"], 3);
    assert_eq!(user_names(&searched.body), ["margaret", "grace", "ada"]);
    for resource in resources(&searched.body) {
        assert_eq!(keys(&resource), ["emails", "id", "schemas", "userName"], "{resource}");
    }
    let searched_count = okta.post("/Users/.search", &json!({"schemas": [SEARCH_URN], "count": 0})).await;
    assert_eq!(searched_count.body["totalResults"], 5);
    let bad_search = okta.post("/Users/.search", &json!({"schemas": [SEARCH_URN], "filter": "userName eq"})).await;
    assert_error(&bad_search, 400, Some("invalidFilter"));

    // attributes=userName: id and schemas come along (returned always), nothing else.
    let projected = okta.list(&format!("/Users?attributes=userName&filter={}", enc(r#"userName eq "ada""#))).await;
    let ada = &resources(&projected)[0];
    assert_eq!(keys(ada), ["id", "schemas", "userName"], "{ada}");
    let single = okta.get(&format!("/Users/{}?attributes=userName", id(ada))).await;
    assert_scim(&single, 200);
    assert_eq!(&single.body, ada);
    let excluded = okta.get(&format!("/Users/{}?excludedAttributes=emails,name", id(ada))).await;
    assert_scim(&excluded, 200);
    assert_eq!(keys(&excluded.body), ["active", "id", "meta", "schemas", "userName"]);
}

// ---------------------------------------------------------------------------------------------
// One record, three dialects

#[tokio::test]
async fn scim_users_are_the_same_records_in_firezone_and_soat() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let okta = Idp::okta(&server, &token);
    let mut body = okta_user("dana", "Dana", "Scully");
    body["emails"] = json!([{"primary": true, "value": "dana@corp.test", "type": "work"}]);
    let dana = okta.create("/Users", &body).await;
    let dana_id = id(&dana);

    // Firezone sees it with its email, under the same UUID.
    let firezone = server.get("/v0/users", Some(&token)).await;
    assert_eq!(firezone.status, 200, "{}", firezone.text);
    let record = firezone.body["data"].as_array().unwrap().iter().find(|user| user["id"] == dana_id.as_str()).cloned();
    let record = record.unwrap_or_else(|| panic!("{dana_id} not in {}", firezone.text));
    assert_eq!(record["email"], "dana@corp.test");
    assert_eq!(record["role"], "unprivileged");
    assert_eq!(record["disabled_at"], Value::Null);
    assert_eq!(server.get(&format!("/v0/users/{dana_id}"), Some(&token)).await.body["data"]["email"], "dana@corp.test");

    // SOAT sees it under its userName.
    let soat = server.get("/api/v1/users", Some(&token)).await;
    assert_eq!(soat.status, 200, "{}", soat.text);
    let soat_record =
        soat.body.as_array().unwrap().iter().find(|user| user["id"] == soat_id(&dana_id).as_str()).cloned();
    let soat_record = soat_record.unwrap_or_else(|| panic!("dana not in {}", soat.text));
    assert_eq!(soat_record["username"], "dana");
    assert_eq!(soat_record["role"], "user");

    // A SOAT user is a SCIM user.
    let erin = server.post("/api/v1/users", Some(&token), json!({"username": "erin", "password": "erinpass"})).await;
    assert_eq!(erin.status, 201, "{}", erin.text);
    let erin_uuid = Uuid::parse_str(&erin.body["id"].as_str().unwrap()["usr_".len()..]).unwrap().to_string();
    let listed = okta.list("/Users").await;
    let erin_scim = resources(&listed).into_iter().find(|user| user["id"] == erin_uuid.as_str());
    let erin_scim = erin_scim.unwrap_or_else(|| panic!("erin not in {listed}"));
    assert_eq!(erin_scim["userName"], "erin");
    assert_eq!(erin_scim["schemas"], json!([USER_URN]));
    assert!(erin_scim.get("emails").is_none() && erin_scim.get("password").is_none(), "{erin_scim}");
    assert_eq!(okta.user_names(r#"userName eq "Erin""#).await, ["erin"]);

    // A Firezone user is a SCIM user with its email.
    let fz = server.post("/v0/users", Some(&token), json!({"user": {"email": "fz@corp.test"}})).await;
    assert_eq!(fz.status, 201, "{}", fz.text);
    let fz_id = fz.body["data"]["id"].as_str().unwrap().to_owned();
    let fz_list = okta.list(&format!("/Users?filter={}", enc(r#"emails.value eq "fz@corp.test""#))).await;
    assert_eq!(ids(&fz_list), [fz_id]);
    assert_eq!(resources(&fz_list)[0]["emails"], json!([{"value": "fz@corp.test", "primary": true}]));

    // Firezone changes the email: SCIM's emails follow, and filters find the new address.
    let changed = server
        .call(
            Method::PATCH,
            &format!("/v0/users/{dana_id}"),
            Some(&token),
            Some(json!({"user": {"email": "dana.new@corp.test"}})),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let seen = okta.get(&format!("/Users/{dana_id}")).await;
    assert_scim(&seen, 200);
    assert_eq!(seen.body["emails"], json!([{"primary": true, "value": "dana.new@corp.test", "type": "work"}]));
    assert_ne!(version(&seen.body), version(&dana), "another dialect's write is a new version");
    assert_eq!(okta.user_names(r#"emails.value eq "dana.new@corp.test""#).await, ["dana"]);
    assert!(okta.user_names(r#"emails.value eq "dana@corp.test""#).await.is_empty());

    // SCIM changes the email: Firezone follows.
    let patched = okta
        .patch(
            &format!("/Users/{dana_id}"),
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "dana3@corp.test"}]),
        )
        .await;
    assert_scim(&patched, 200);
    assert_eq!(
        server.get(&format!("/v0/users/{dana_id}"), Some(&token)).await.body["data"]["email"],
        "dana3@corp.test"
    );

    // SCIM deactivation shows as Firezone's disabled_at.
    okta.patch(&format!("/Users/{dana_id}"), json!([{"op": "replace", "value": {"active": false}}])).await;
    let disabled = server.get(&format!("/v0/users/{dana_id}"), Some(&token)).await;
    assert!(disabled.body["data"]["disabled_at"].is_string(), "{}", disabled.text);
}

// ---------------------------------------------------------------------------------------------
// Lifecycle and credentials

#[tokio::test]
async fn deactivation_locks_the_user_out_and_reactivation_lets_them_back() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let okta = Idp::okta(&server, &admin);
    let frank = okta.create("/Users", &okta_user("frank@example.com", "Frank", "Example")).await;
    let path = format!("/Users/{}", id(&frank));

    // The provisioned password signs in through SOAT, under the userName.
    let session = server.login("frank@example.com", "1mz050nq").await;
    let me = server.get("/api/v1/users/me", Some(&session)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["id"], soat_id(&id(&frank)).as_str());
    let key = server.post("/api/v1/api-keys", Some(&session), json!({"name": "laptop"})).await;
    assert_eq!(key.status, 201, "{}", key.text);
    let key = key.body["key"].as_str().unwrap().to_owned();
    assert_eq!(server.get("/api/v1/users/me", Some(&key)).await.status, 200);

    // Okta deactivates: the session, the key and the password are refused.
    let off = okta.patch(&path, json!([{"op": "replace", "value": {"active": false}}])).await;
    assert_scim(&off, 200);
    // Disabling ends the user's sessions; the key lives on but its user is disabled.
    for (credential, error) in [(&session, "Unauthorized"), (&key, "User is disabled")] {
        let refused = server.get("/api/v1/users/me", Some(credential)).await;
        assert_eq!(refused.status, 401, "{}", refused.text);
        assert_eq!(refused.body, json!({"error": error}));
    }
    let login = server
        .post("/api/v1/users/login", None, json!({"username": "frank@example.com", "password": "1mz050nq"}))
        .await;
    assert_eq!(login.status, 401, "{}", login.text);
    assert_eq!(login.body, json!({"error": "User is disabled"}));

    // Okta reactivates: the password signs in again.
    let on = okta.patch(&path, json!([{"op": "replace", "value": {"active": true}}])).await;
    assert_scim(&on, 200);
    assert_eq!(on.body["active"], json!(true));
    let again = server.login("frank@example.com", "1mz050nq").await;
    assert_eq!(server.get("/api/v1/users/me", Some(&again)).await.status, 200);
    assert_eq!(server.get("/api/v1/users/me", Some(&key)).await.status, 200, "the key works again");
    assert_eq!(server.get("/api/v1/users/me", Some(&session)).await.status, 401, "ended sessions stay ended");

    // Entra's string form does the same.
    let entra = Idp::entra(&server, &admin);
    let off = entra.patch(&path, json!([{"op": "Replace", "path": "active", "value": "False"}])).await;
    assert_scim(&off, 200);
    let login = server
        .post("/api/v1/users/login", None, json!({"username": "frank@example.com", "password": "1mz050nq"}))
        .await;
    assert_eq!(login.status, 401, "{}", login.text);
    assert_eq!(server.get("/api/v1/users/me", Some(&again)).await.status, 401);
    let on = entra.patch(&path, json!([{"op": "Replace", "path": "active", "value": "True"}])).await;
    assert_scim(&on, 200);
    server.login("frank@example.com", "1mz050nq").await;

    // A password set by PATCH is the new password.
    let reset = okta.patch(&path, json!([{"op": "replace", "value": {"password": "n3w-passw0rd"}}])).await;
    assert_scim(&reset, 200);
    assert!(reset.body.get("password").is_none(), "{}", reset.text);
    server.login("frank@example.com", "n3w-passw0rd").await;
    let old = server
        .post("/api/v1/users/login", None, json!({"username": "frank@example.com", "password": "1mz050nq"}))
        .await;
    assert_eq!(old.status, 401);
}

#[tokio::test]
async fn delete_removes_the_user_and_its_memberships() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let okta = Idp::okta(&server, &token);
    let gone = id(&okta.create("/Users", &okta_user("gone@example.com", "Gone", "Soon")).await);
    let stays = id(&okta.create("/Users", &okta_user("stays@example.com", "Stays", "Here")).await);
    let group = okta
        .create("/Groups", &json!({"schemas": [GROUP_URN], "displayName": "Doomed members", "members": [{"value": gone}, {"value": stays}]}))
        .await;
    let token_of_gone = server.login("gone@example.com", "1mz050nq").await;

    let deleted = okta.delete(&format!("/Users/{gone}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(deleted.text.is_empty());
    assert_eq!(okta.get(&format!("/Users/{gone}")).await.body, error_body(404, "User not found"));
    assert_eq!(okta.delete(&format!("/Users/{gone}")).await.body, error_body(404, "User not found"));
    let after = okta.get(&format!("/Groups/{}", id(&group))).await;
    assert_scim(&after, 200);
    assert_eq!(sorted_members(&after.body), members(&server, &[stays.as_str()]));
    assert_eq!(server.get(&format!("/api/v1/users/{}", soat_id(&gone)), Some(&token)).await.status, 404);
    assert_eq!(server.get("/api/v1/users/me", Some(&token_of_gone)).await.status, 401);
    let filter = format!("/Groups?filter={}", enc(&format!("members.value eq \"{gone}\"")));
    assert_eq!(okta.list(&filter).await["totalResults"], 0);
    // The userName is free again.
    okta.create("/Users", &okta_user("gone@example.com", "Gone", "Again")).await;
}

#[tokio::test]
async fn credentials_are_checked_per_tenant_and_policy() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;

    // No credential, or a bad one: 401 with WWW-Authenticate.
    for token in [None, Some("garbage"), Some("sk_0000000000000000000000000000000000000000")] {
        let reply = send(&server, Method::GET, "/scim/v2/Users", token, None, None, &[]).await;
        assert_error(&reply, 401, None);
        assert_eq!(reply.body, error_body(401, "A valid bearer token of this tenant is required"));
        assert_eq!(header(&reply, "www-authenticate"), "Bearer");
    }
    let unauthenticated_write = send(
        &server,
        Method::POST,
        "/scim/v2/Users",
        None,
        Some(SCIM_JSON),
        Some(serde_json::to_vec(&okta_user("x@example.com", "X", "Y")).unwrap()),
        &[],
    )
    .await;
    assert_error(&unauthenticated_write, 401, None);

    // An admin's API key works as the IdP's long-lived bearer.
    let key = server.post("/api/v1/api-keys", Some(&admin), json!({"name": "okta-provisioning"})).await;
    assert_eq!(key.status, 201, "{}", key.text);
    let key = key.body["key"].as_str().unwrap().to_owned();
    let okta_by_key = Idp::okta(&server, &key);
    assert_eq!(okta_by_key.list("/Users").await["totalResults"], 1);

    // A user without scim:* policies: 403.
    let plain = server.post("/api/v1/users", Some(&admin), json!({"username": "plain", "password": "plainpass"})).await;
    assert_eq!(plain.status, 201);
    let plain_id = plain.body["id"].as_str().unwrap().to_owned();
    let plain_token = server.login("plain", "plainpass").await;
    let as_plain = Idp::okta(&server, &plain_token);
    let forbidden = as_plain.get("/Users").await;
    assert_error(&forbidden, 403, None);
    assert_eq!(forbidden.body, error_body(403, "The credential may not do this"));
    assert_error(&as_plain.post("/Users", &okta_user("sneaky@example.com", "S", "N")).await, 403, None);
    assert_error(&as_plain.get("/Groups").await, 403, None);

    // With scim:ListUsers it may list, and still not create.
    let policy = server
        .post(
            "/api/v1/policies",
            Some(&admin),
            json!({"name": "scim-read", "document": {"statement": [{"effect": "Allow", "action": ["scim:ListUsers"]}]}}),
        )
        .await;
    assert_eq!(policy.status, 201, "{}", policy.text);
    let attached = server
        .call(
            Method::PUT,
            &format!("/api/v1/users/{plain_id}/policies"),
            Some(&admin),
            Some(json!({"policy_ids": [policy.body["id"]]})),
        )
        .await;
    assert_eq!(attached.status, 204, "{}", attached.text);
    assert_eq!(as_plain.list("/Users").await["totalResults"], 2);
    assert_error(&as_plain.post("/Users", &okta_user("sneaky@example.com", "S", "N")).await, 403, None);

    // Another tenant's admin is a stranger here, and the reverse.
    let acme_admin = server.admin_token_in("/t/acme").await;
    let stranger = send(&server, Method::GET, "/scim/v2/Users", Some(&acme_admin), None, None, &[]).await;
    assert_error(&stranger, 401, None);
    assert_eq!(header(&stranger, "www-authenticate"), "Bearer");
    let reverse = send(&server, Method::GET, "/t/acme/scim/v2/Users", Some(&admin), None, None, &[]).await;
    assert_error(&reverse, 401, None);

    // Each tenant has its own SCIM root and directory.
    let acme = Idp { root: "/t/acme/scim/v2".to_owned(), ..Idp::okta(&server, &acme_admin) };
    assert_eq!(acme.list("/Users").await["totalResults"], 1);
    let created = acme.create("/Users", &okta_user("wile@acme.test", "Wile", "Coyote")).await;
    assert_eq!(created["meta"]["location"], json!(server.url(&format!("/t/acme/scim/v2/Users/{}", id(&created)))));
    assert_eq!(acme.list("/Users").await["totalResults"], 2);
    let default_view = Idp::okta(&server, &admin);
    assert_error(&default_view.get(&format!("/Users/{}", id(&created))).await, 404, None);
    assert!(default_view.user_names(r#"userName eq "wile@acme.test""#).await.is_empty());
    // The same userName may exist in both tenants.
    default_view.create("/Users", &okta_user("wile@acme.test", "Wile", "Default")).await;
}

// ---------------------------------------------------------------------------------------------
// Wire rules

#[tokio::test]
async fn wire_rules() {
    let server = Server::start().await;
    let token = server.admin_token().await;
    let okta = Idp::okta(&server, &token);

    // Responses are application/scim+json.
    for path in ["/Users", "/Groups", "/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        let reply = okta.get(path).await;
        assert_scim(&reply, 200);
    }

    // Writing a discovery document: 405.
    let not_allowed = okta.post("/ServiceProviderConfig", &json!({})).await;
    assert_error(&not_allowed, 405, None);
    assert_eq!(not_allowed.body, error_body(405, "Method not allowed on this endpoint"));
    // … naming what is allowed (RFC 9110 §15.5.6; it used to be left out).
    assert_eq!(not_allowed.headers["allow"], "GET");
    // An unknown endpoint: 404.
    let nope = okta.get("/Nope").await;
    assert_error(&nope, 404, None);
    assert_eq!(nope.body, error_body(404, "Endpoint not found"));

    // Content types: application/json is accepted, text/plain is 415.
    let plain_json = server.post("/scim/v2/Users", Some(&token), okta_user("json@example.com", "J", "Son")).await;
    assert_scim(&plain_json, 201);
    let body = serde_json::to_vec(&okta_user("text@example.com", "T", "Ext")).unwrap();
    let text = send(&server, Method::POST, "/scim/v2/Users", Some(&token), Some("text/plain"), Some(body), &[]).await;
    assert_error(&text, 415, None);

    // Invalid JSON: 400 invalidSyntax.
    let broken = br#"{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "#.to_vec();
    let invalid = send(&server, Method::POST, "/scim/v2/Users", Some(&token), Some(SCIM_JSON), Some(broken), &[]).await;
    assert_error(&invalid, 400, Some("invalidSyntax"));
    // A body without the User schema: invalidSyntax; without userName: invalidValue.
    let schemaless = okta.post("/Users", &json!({"userName": "noschema@example.com"})).await;
    assert_error(&schemaless, 400, Some("invalidSyntax"));
    let nameless = okta.post("/Users", &json!({"schemas": [USER_URN], "displayName": "No Name"})).await;
    assert_error(&nameless, 400, Some("invalidValue"));
    assert_eq!(okta.list("/Users?count=0").await["totalResults"], 2, "admin and json@example.com only");

    // PATCH on id: 400 mutability; an unknown op: invalidSyntax; a bad path: invalidPath.
    let user = okta.create("/Users", &okta_user("patched@example.com", "P", "Atched")).await;
    let path = format!("/Users/{}", id(&user));
    let moved = okta.patch(&path, json!([{"op": "replace", "path": "id", "value": Uuid::new_v4().to_string()}])).await;
    assert_error(&moved, 400, Some("mutability"));
    let unknown_op = okta.patch(&path, json!([{"op": "move", "path": "title", "value": "x"}])).await;
    assert_error(&unknown_op, 400, Some("invalidSyntax"));
    let bad_path = okta.patch(&path, json!([{"op": "replace", "path": "emails[type eq", "value": "x"}])).await;
    let bad_path_type = bad_path.body["scimType"].as_str().unwrap_or_default().to_owned();
    assert!(["invalidPath", "invalidFilter"].contains(&bad_path_type.as_str()), "{}", bad_path.text);
    assert_error(&bad_path, 400, Some(&bad_path_type));
    let no_target = okta.patch(&path, json!([{"op": "remove"}])).await;
    assert_error(&no_target, 400, Some("noTarget"));
    assert_eq!(okta.get(&path).await.body, user, "failed PATCHes change nothing");

    // A group member that is not a user: 400 invalidValue.
    for member in [json!("not-a-user"), json!(Uuid::new_v4().to_string())] {
        let group =
            json!({"schemas": [GROUP_URN], "displayName": "Bad members", "members": [{"value": member.clone()}]});
        assert_error(&okta.post("/Groups", &group).await, 400, Some("invalidValue"));
    }
    let group = okta.create("/Groups", &json!({"schemas": [GROUP_URN], "displayName": "Good members"})).await;
    let bad_add = okta
        .patch(
            &format!("/Groups/{}", id(&group)),
            json!([{"op": "add", "path": "members", "value": [{"value": "nope"}]}]),
        )
        .await;
    assert_error(&bad_add, 400, Some("invalidValue"));
    let group_in_group = okta
        .patch(
            &format!("/Groups/{}", id(&group)),
            json!([{"op": "add", "path": "members", "value": [{"value": id(&group), "type": "Group"}]}]),
        )
        .await;
    assert_error(&group_in_group, 400, Some("invalidValue"));
    assert_eq!(okta.list("/Groups?count=0").await["totalResults"], 1);
}
