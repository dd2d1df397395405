//! Every filter form the grammar allows, on every kind of attribute the schemas define, is
//! answered (200, with the right users) or refused as the client's mistake (400) — never a
//! server error — and so is every `sortBy`.

mod common;

use common::Server;
use serde_json::{json, Value};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn encode(filter: &str) -> String {
    filter
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

async fn users(server: &Server, admin: &str, query: &str) -> (u16, Value) {
    let reply = server.get(&format!("/scim/v2/Users?{query}"), Some(admin)).await;
    (reply.status.as_u16(), reply.body)
}

fn names(body: &Value) -> Vec<String> {
    let mut names: Vec<String> = body["Resources"]
        .as_array()
        .map(|list| list.iter().map(|user| user["userName"].as_str().unwrap().to_owned()).collect())
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn every_filter_form_is_answered_or_refused_as_a_client_error() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let ann = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE], "userName": "ann",
        "externalId": "E-1", "title": "Engineer", "active": true,
        "name": {"givenName": "Ann", "familyName": "Archer"},
        "emails": [{"value": "ann@work.test", "type": "work", "primary": true}, {"value": "ann@home.test", "type": "home"}],
        "phoneNumbers": [{"value": "555-0100", "type": "work"}],
        "addresses": [{"type": "work", "postalCode": "90210", "country": "US"}],
        "x509Certificates": [{"value": "RCqiINRUSay/bARel1GwDA=="}],
        ENTERPRISE: {"employeeNumber": "701", "department": "Ops", "manager": {"value": "boss-id"}}});
    let bob = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bob", "active": false,
        "name": {"givenName": "Bob", "familyName": "Baker"}, "emails": [{"value": "bob@work.test", "type": "work"}]});
    for user in [ann, bob] {
        assert_eq!(server.post("/scim/v2/Users", Some(&admin), user).await.status, 201);
    }
    let group = server
        .post(
            "/scim/v2/Groups",
            Some(&admin),
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Ops"}),
        )
        .await;
    let group_id = group.body["id"].as_str().unwrap().to_owned();

    let answered: Vec<(String, Vec<&str>)> = vec![
        ("userName eq \"ANN\"".into(), vec!["ann"]),
        ("userName ne \"ann\" and userName ne \"admin\"".into(), vec!["bob"]),
        ("userName co \"n\" and not (userName eq \"admin\")".into(), vec!["ann"]),
        ("userName sw \"b\" or userName ew \"nn\"".into(), vec!["ann", "bob"]),
        ("userName gt \"b\" and userName lt \"c\"".into(), vec!["bob"]),
        ("externalId eq \"E-1\"".into(), vec!["ann"]),
        ("externalId eq \"e-1\"".into(), vec![]),
        ("externalId pr".into(), vec!["ann"]),
        ("title pr".into(), vec!["ann"]),
        ("title eq \"engineer\"".into(), vec!["ann"]),
        ("active eq false".into(), vec!["bob"]),
        ("active eq true and userName ne \"admin\"".into(), vec!["ann"]),
        ("name.familyName sw \"ar\"".into(), vec!["ann"]),
        ("name.givenName pr and name.familyName ew \"er\"".into(), vec!["ann", "bob"]),
        ("emails.value eq \"ANN@home.test\"".into(), vec!["ann"]),
        ("emails co \"@work\"".into(), vec!["ann", "bob"]),
        ("emails[type eq \"work\" and value sw \"bob\"]".into(), vec!["bob"]),
        ("emails[type eq \"home\"]".into(), vec!["ann"]),
        ("emails.type eq \"home\"".into(), vec!["ann"]),
        ("emails[primary eq true]".into(), vec!["ann"]),
        ("phoneNumbers.value eq \"555-0100\"".into(), vec!["ann"]),
        ("addresses[type eq \"work\" and postalCode sw \"902\"]".into(), vec!["ann"]),
        ("x509Certificates.value pr".into(), vec!["ann"]),
        (format!("{ENTERPRISE}:department eq \"ops\""), vec!["ann"]),
        (format!("{ENTERPRISE}:manager.value eq \"boss-id\""), vec!["ann"]),
        (format!("{ENTERPRISE}:employeeNumber pr"), vec!["ann"]),
        ("urn:ietf:params:scim:schemas:core:2.0:User:userName eq \"bob\"".into(), vec!["bob"]),
        ("meta.created gt \"2000-01-01T00:00:00Z\" and userName ne \"admin\"".into(), vec!["ann", "bob"]),
        ("meta.lastModified lt \"2000-01-01T00:00:00Z\"".into(), vec![]),
        (format!("groups eq \"{group_id}\""), vec![]),
        ("groups pr".into(), vec![]),
        ("not (groups pr) and userName sw \"a\" and userName ne \"admin\"".into(), vec!["ann"]),
        ("nickName pr or (title eq \"x\" or (userName eq \"bob\"))".into(), vec!["bob"]),
    ];
    for (filter, expected) in answered {
        let (status, body) = users(&server, &admin, &format!("filter={}", encode(&filter))).await;
        assert_eq!(status, 200, "{filter}: {body}");
        assert_eq!(names(&body), expected, "{filter}: {body}");
    }

    let refused = [
        "nope eq \"x\"",
        "name eq \"x\"",
        "emails[nope eq \"x\"]",
        "title[value eq \"x\"]",
        "active eq \"true\"",
        "meta.created gt \"not a date\"",
        "userName eq",
        "(userName eq \"x\"",
        "emails[type eq \"work\"",
        "userName eq \"x\" garbage",
    ];
    for filter in refused {
        let (status, body) = users(&server, &admin, &format!("filter={}", encode(filter))).await;
        assert_eq!(status, 400, "{filter}: {body}");
        assert_eq!(body["scimType"], json!("invalidFilter"), "{filter}: {body}");
    }

    for sort in [
        "userName",
        "externalId",
        "name.familyName",
        "title",
        "meta.created",
        "meta.lastModified",
        "emails",
        "active",
        &format!("{ENTERPRISE}:department"),
    ] {
        for order in ["ascending", "descending"] {
            let (status, body) = users(&server, &admin, &format!("sortBy={}&sortOrder={order}", encode(sort))).await;
            assert_eq!(status, 200, "sortBy={sort}: {body}");
            assert_eq!(body["totalResults"], json!(3));
        }
    }
    let (status, body) = users(&server, &admin, "sortBy=userName&sortOrder=descending").await;
    assert_eq!(status, 200);
    let order: Vec<&str> =
        body["Resources"].as_array().unwrap().iter().map(|user| user["userName"].as_str().unwrap()).collect();
    assert_eq!(order, ["bob", "ann", "admin"]);
    for bad in ["sortBy=nope", "sortBy=name", "sortOrder=sideways", "count=many", "startIndex=x"] {
        let (status, body) = users(&server, &admin, bad).await;
        assert_eq!(status, 400, "{bad}: {body}");
    }
}
