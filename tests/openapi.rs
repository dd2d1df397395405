//! The OpenAPI document (`/openapi.json`, and per tenant `/t/{tenant}/openapi.json`) against the
//! router itself: every route `tessera routes` lists (the registration's own record) is an
//! operation of the document and the document has no other; every operation declares what it
//! answers (a success, and the 4xx its kind of route really answers, in its dialect's error
//! shape); the security schemes exist; and the real validator (`openapi-spec-validator`, run by
//! tests/peers/openapi/validate.py) accepts it.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::{run_cli, Server};
use serde_json::Value;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];
const TENANT_PREFIX: &str = "/t/{tenant}";

/// The router's routes, as `(METHOD, template)`; `/t/{tenant}/X` is the same operation as `X`
/// (checked: every tenant route has its root twin).
fn router_routes() -> BTreeSet<(String, String)> {
    let (listed, stdout, stderr) = run_cli(&["routes"], &[], None);
    assert!(listed, "tessera routes failed: {stderr}");
    let all: BTreeSet<(String, String)> = stdout
        .lines()
        .map(|line| {
            let (method, path) = line.split_once(' ').expect("METHOD /path");
            (method.to_owned(), path.to_owned())
        })
        .collect();
    assert!(all.len() > 100, "{stdout}");
    let root: BTreeSet<(String, String)> =
        all.iter().filter(|(_, path)| !path.starts_with(TENANT_PREFIX)).cloned().collect();
    for (method, path) in &all {
        if let Some(rest) = path.strip_prefix(TENANT_PREFIX) {
            assert!(root.contains(&(method.clone(), rest.to_owned())), "{method} {path} has no root twin");
        }
    }
    assert!(root.contains(&("GET".to_owned(), "/openapi.json".to_owned())));
    assert!(all.contains(&("GET".to_owned(), "/t/{tenant}/openapi.json".to_owned())));
    // The console's HTML pages are for people, not a machine contract: the document leaves
    // them out (and the test below checks it does).
    assert!(root.iter().any(|(_, path)| is_console(path)), "the router has no console");
    root.into_iter().filter(|(_, path)| !is_console(path)).collect()
}

/// Whether a route is a page of the admin console.
fn is_console(path: &str) -> bool {
    path == "/console" || path.starts_with("/console/")
}

/// Every `(METHOD, template)` the document describes.
fn documented(document: &Value) -> BTreeSet<(String, String)> {
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            if METHODS.contains(&method.as_str()) {
                operations.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    operations
}

/// A `$ref` (`#/components/<kind>/<name>`) resolved, or the value itself.
fn resolve<'a>(document: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local $ref");
            document.pointer(pointer).unwrap_or_else(|| panic!("{reference} resolves"))
        }
        None => value,
    }
}

/// The error schema a dialect's routes answer with, by path.
fn dialect_error_schema(path: &str) -> Option<&'static str> {
    if path.starts_with("/api/") || path == "/metrics" {
        Some("SoatError")
    } else if path.starts_with("/v0/") {
        Some("Firezone")
    } else if path.starts_with("/scim/") {
        Some("ScimError")
    } else {
        None
    }
}

/// What is wrong with one operation's responses, if anything.
fn operation_problems(document: &Value, method: &str, path: &str, operation: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let responses = operation["responses"].as_object().cloned().unwrap_or_default();
    let statuses: BTreeSet<u16> = responses.keys().filter_map(|status| status.parse().ok()).collect();
    let has = |status: u16| statuses.contains(&status);
    if !statuses.iter().any(|status| (200..400).contains(status)) {
        problems.push("no 2xx or 3xx response".to_owned());
    }
    // The effective security: the operation's, else the document's; `{}` among them: anonymous
    // callers are answered too.
    let security = operation.get("security").unwrap_or(&document["security"]);
    let anonymous = security.as_array().is_some_and(|list| list.iter().any(|item| item == &serde_json::json!({})));
    if !anonymous && !has(401) {
        problems.push("needs a credential but does not declare 401".to_owned());
    }
    // A dialect's credential check itself answers 503 when the store is down.
    if !anonymous && dialect_error_schema(path).is_some() && !has(503) {
        problems.push("needs a credential but does not declare 503".to_owned());
    }
    let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
    let declares = |location: &str, name: &str| {
        parameters.iter().any(|parameter| parameter["in"] == location && parameter["name"] == name)
    };
    // Every `{param}` of the template is a declared path parameter; a record's path answers 404.
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}').expect("closing brace") + start;
        let name = &rest[start + 1..end];
        if !declares("path", name) {
            problems.push(format!("path parameter {name} is not declared"));
        }
        rest = &rest[end + 1..];
    }
    if path.contains('{') && !has(404) {
        problems.push("addresses a record but does not declare 404".to_owned());
    }
    if declares("header", "If-Match") && !has(412) {
        problems.push("takes If-Match but does not declare 412".to_owned());
    }
    let json_body = operation["requestBody"]["content"]
        .as_object()
        .is_some_and(|content| content.keys().any(|media| media.contains("json")));
    if json_body && !(has(400) && has(413)) {
        problems.push("takes a JSON body but does not declare 400 and 413".to_owned());
    }
    if json_body && path.starts_with("/scim/") && !has(415) {
        problems.push("SCIM body without 415".to_owned());
    }
    if !anonymous && !statuses.iter().any(|status| (400..500).contains(status)) {
        problems.push("no 4xx response".to_owned());
    }
    // Every error of a dialect's route is in that dialect's shape.
    if let Some(shape) = dialect_error_schema(path) {
        for (status, response) in &responses {
            if !status.starts_with('4') && !status.starts_with('5') {
                continue;
            }
            let response = resolve(document, response);
            let schemas: Vec<String> = response["content"]
                .as_object()
                .map(|content| {
                    content
                        .values()
                        .map(|media| {
                            let schema = resolve(document, &media["schema"]);
                            let named = media["schema"]["$ref"].as_str().unwrap_or_default();
                            format!("{named} {schema}")
                        })
                        .collect()
                })
                .unwrap_or_default();
            if schemas.is_empty() || !schemas.iter().all(|schema| schema.contains(shape)) {
                problems.push(format!("{status} is not in the {shape} shape: {schemas:?}"));
            }
        }
    }
    problems.into_iter().map(|problem| format!("{method} {path}: {problem}")).collect()
}

/// Runs the real validator on `document`; fails naming the setup step when it is missing.
fn validate(document: &Value) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec_pretty(document).unwrap()).unwrap();
    let output = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/openapi/validate.py"))
        .arg(file.path())
        .output()
        .expect("python3 runs (scripts/setup --peers installs it and openapi-spec-validator)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_ne!(
        output.status.code(),
        Some(3),
        "openapi-spec-validator is missing: install the test peers with scripts/setup --peers ({stderr})"
    );
    assert!(output.status.success(), "openapi-spec-validator refused the document:\n{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("valid"));
}

#[tokio::test]
async fn the_document_describes_every_route_of_the_router_and_nothing_else() {
    let routes = router_routes();
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;

    let reply = server.get("/openapi.json", None).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let content_type = reply.headers["content-type"].to_str().unwrap();
    assert!(content_type.starts_with("application/json"), "{content_type}");
    let document = reply.body;
    let version = document["openapi"].as_str().expect("openapi");
    assert!(version.starts_with("3.1."), "OpenAPI {version}");
    assert_eq!(document["servers"], serde_json::json!([{"url": server.base}]));

    // The router and the document name the same operations.
    let described = documented(&document);
    let missing: Vec<_> = routes.difference(&described).collect();
    let unknown: Vec<_> = described.difference(&routes).collect();
    assert!(missing.is_empty(), "routes of the router missing from /openapi.json: {missing:?}");
    assert!(unknown.is_empty(), "operations of /openapi.json the router does not have: {unknown:?}");

    // Each operation says what it answers.
    let mut problems = Vec::new();
    let mut operation_ids = BTreeSet::new();
    for (method, path) in &described {
        let operation = &document["paths"][path][method.to_ascii_lowercase()];
        let id = operation["operationId"].as_str().unwrap_or_default().to_owned();
        if id.is_empty() || !operation_ids.insert(id.clone()) {
            problems.push(format!("{method} {path}: operationId {id:?} is missing or not unique"));
        }
        problems.extend(operation_problems(&document, method, path, operation));
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));

    // The three ways a credential is presented.
    let schemes = &document["components"]["securitySchemes"];
    assert_eq!(schemes["bearer_token"]["type"], "http");
    assert_eq!(schemes["bearer_token"]["scheme"], "bearer");
    assert_eq!(schemes["bearer_token"]["bearerFormat"], "JWT");
    assert_eq!(schemes["api_key"]["type"], "http");
    assert_eq!(schemes["api_key"]["scheme"], "bearer");
    assert!(schemes["api_key"]["description"].as_str().unwrap().contains("sk_"));
    assert_eq!(schemes["session_cookie"]["type"], "apiKey");
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    assert_eq!(schemes["session_cookie"]["name"], "tessera_session");
    let anyone = serde_json::json!([{"bearer_token": []}, {"api_key": []}, {"session_cookie": []}]);
    assert_eq!(document["security"], anyone);

    // The three error shapes, as the dialects write them.
    let schemas = &document["components"]["schemas"];
    assert_eq!(schemas["SoatError"]["required"], serde_json::json!(["error"]));
    assert_eq!(schemas["ScimError"]["properties"]["status"]["type"], "string");
    assert!(schemas["ScimError"]["properties"]["scimType"].is_object());
    assert!(schemas["FirezoneFieldErrors"]["properties"]["errors"].is_object());
    assert!(schemas["FirezoneAuthError"]["properties"]["errors"].is_object());

    validate(&document);

    // A tenant's document is the same but for `servers`: that tenant's base URL.
    let tenant = server.get("/t/acme/openapi.json", None).await;
    assert_eq!(tenant.status, 200, "{}", tenant.text);
    assert_eq!(tenant.body["servers"], serde_json::json!([{"url": format!("{}/t/acme", server.base)}]));
    let mut same = tenant.body.clone();
    same["servers"] = document["servers"].clone();
    assert_eq!(same, document);
    // An unknown tenant has none.
    assert_eq!(server.get("/t/nobody/openapi.json", None).await.status, 404);
}

/// The document describes what the server really answers: a few calls checked against it.
#[tokio::test]
async fn answers_match_the_statuses_the_document_declares() {
    let server = Server::start().await;
    let document = server.get("/openapi.json", None).await.body;
    let declared = |method: &str, path: &str, status: u16| {
        let responses = &document["paths"][path][method]["responses"];
        responses.get(status.to_string()).is_some()
    };
    let admin = server.admin_token().await;
    let calls: [(&str, &str, &str, Option<&str>, u16); 8] = [
        ("get", "/api/v1/users", "/api/v1/users", None, 401),
        ("get", "/api/v1/users", "/api/v1/users", Some(&admin), 200),
        ("get", "/api/v1/users/{user_id}", "/api/v1/users/usr_00000000000000000000000000000000", Some(&admin), 404),
        ("get", "/v0/users", "/v0/users", None, 401),
        ("get", "/v0/users/{id}", "/v0/users/nobody@example.test", Some(&admin), 404),
        ("get", "/scim/v2/Users", "/scim/v2/Users", None, 401),
        ("get", "/scim/v2/Users/{id}", "/scim/v2/Users/00000000-0000-0000-0000-000000000000", Some(&admin), 404),
        ("get", "/api/v1/tenants/{tenant_id}", "/api/v1/tenants/nobody", Some(&admin), 404),
    ];
    for (method, template, path, token, expected) in calls {
        let reply = server.get(path, token).await;
        assert_eq!(reply.status, expected, "{path}: {}", reply.text);
        assert!(declared(method, template, expected), "{method} {template} does not declare {expected}");
    }
}
