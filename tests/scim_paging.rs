//! SCIM paging through the real server: RFC 9865 cursors (every page but the last has a
//! `nextCursor`, every page but the first a `previousCursor`; forged, foreign-query and
//! changed-count cursors refused with their scimType) beside index paging over the same set.

mod common;

use std::collections::BTreeSet;

use common::Server;
use serde_json::{json, Value};

async fn provision(server: &Server, admin: &str, count: usize) {
    for i in 0..count {
        let body =
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("pager{i:02}")});
        let reply = server.post("/scim/v2/Users", Some(admin), body).await;
        assert_eq!(reply.status, 201, "{}", reply.text);
    }
}

fn ids(page: &Value) -> Vec<String> {
    page["Resources"].as_array().map_or_else(Vec::new, |resources| {
        resources.iter().map(|resource| resource["id"].as_str().unwrap().to_owned()).collect()
    })
}

#[tokio::test]
async fn cursors_walk_the_whole_set_forwards_and_back() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    provision(&server, &admin, 12).await;
    let config = server.get("/scim/v2/ServiceProviderConfig", Some(&admin)).await.body;
    assert_eq!(config["pagination"]["cursor"], json!(true));

    let first = server.get("/scim/v2/Users?cursor&count=5", Some(&admin)).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!((first.body["totalResults"].clone(), first.body["itemsPerPage"].clone()), (json!(13), json!(5)));
    assert!(first.body.get("previousCursor").is_none() && first.body.get("startIndex").is_none(), "{}", first.text);
    let mut seen: Vec<String> = ids(&first.body);
    let mut pages = vec![first.body.clone()];
    let mut next = first.body["nextCursor"].as_str().map(str::to_owned);
    while let Some(cursor) = next {
        assert!(cursor.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b)), "{cursor}");
        let page = server.get(&format!("/scim/v2/Users?count=5&cursor={cursor}"), Some(&admin)).await;
        assert_eq!(page.status, 200, "{}", page.text);
        assert!(page.body["previousCursor"].is_string(), "every later page has a previous cursor");
        seen.extend(ids(&page.body));
        next = page.body["nextCursor"].as_str().map(str::to_owned);
        pages.push(page.body);
    }
    assert_eq!(pages.len(), 3);
    assert_eq!(ids(&pages[2]).len(), 3, "the last page has the rest and no nextCursor");
    let distinct: BTreeSet<&String> = seen.iter().collect();
    assert_eq!((seen.len(), distinct.len()), (13, 13), "every user exactly once");
    // Index paging over the same set gives the same order.
    let mut by_index = Vec::new();
    for start in [1, 6, 11] {
        by_index
            .extend(ids(&server.get(&format!("/scim/v2/Users?startIndex={start}&count=5"), Some(&admin)).await.body));
    }
    assert_eq!(by_index, seen);
    // Back from the second page to the first.
    let previous = pages[1]["previousCursor"].as_str().unwrap();
    let back = server.get(&format!("/scim/v2/Users?count=5&cursor={previous}"), Some(&admin)).await;
    assert_eq!(ids(&back.body), ids(&pages[0]));
    // The same through POST /.search.
    let search = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "cursor": "", "count": 5,
                        "filter": "userName sw \"pager\""});
    let searched = server.post("/scim/v2/Users/.search", Some(&admin), search).await;
    assert_eq!(
        (searched.status.as_u16(), searched.body["totalResults"].clone()),
        (200, json!(12)),
        "{}",
        searched.text
    );
    assert!(searched.body["nextCursor"].is_string());
}

#[tokio::test]
async fn foreign_forged_and_changed_cursors_are_refused() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    provision(&server, &admin, 6).await;
    let first = server.get("/scim/v2/Users?cursor=&count=2&filter=userName%20sw%20%22pager%22", Some(&admin)).await;
    let cursor = first.body["nextCursor"].as_str().unwrap().to_owned();
    let refused = |path: String| {
        let server = &server;
        let admin = &admin;
        async move {
            let reply = server.get(&path, Some(admin)).await;
            assert_eq!(reply.status, 400, "{path}: {}", reply.text);
            assert_eq!(reply.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
            reply.body["scimType"].as_str().unwrap_or_default().to_owned()
        }
    };
    // Another query (no filter) cannot use it.
    assert_eq!(refused(format!("/scim/v2/Users?count=2&cursor={cursor}")).await, "invalidCursor");
    // Nor another page size.
    let other_count = format!("/scim/v2/Users?count=3&cursor={cursor}&filter=userName%20sw%20%22pager%22");
    assert_eq!(refused(other_count).await, "invalidCount");
    // A tampered cursor.
    let mut tampered = cursor.clone().into_bytes();
    let middle = tampered.len() / 2;
    tampered[middle] = if tampered[middle] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let path = format!("/scim/v2/Users?count=2&cursor={tampered}&filter=userName%20sw%20%22pager%22");
    assert_eq!(refused(path).await, "invalidCursor");
    assert_eq!(refused("/scim/v2/Users?count=2&cursor=%25%25not-ours".to_owned()).await, "invalidCursor");
    // Cursor and index together.
    assert_eq!(refused(format!("/scim/v2/Users?startIndex=2&cursor={cursor}")).await, "invalidValue");
    // And it is good for its own query.
    let own = server
        .get(&format!("/scim/v2/Users?count=2&cursor={cursor}&filter=userName%20sw%20%22pager%22"), Some(&admin))
        .await;
    assert_eq!(own.status, 200, "{}", own.text);
}
