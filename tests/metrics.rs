//! `/metrics`: scraped from a real server and parsed with the reference Prometheus text parser
//! (prometheus_client, run by tests/peers/metrics/parse.py). Checks who may read it, that the
//! series move with the traffic that should move them, that routes are templates (no ids or
//! tenant data in labels), and the dedicated listener of `server.metrics_bind`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{free_port, Server};
use serde_json::{json, Value};

/// One parsed sample.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: serde_json::Map<String, Value>,
    value: f64,
}

/// Parses an exposition with prometheus_client; panics (failing the test) if it is malformed.
fn parse(text: &str) -> Vec<Sample> {
    let mut child = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/metrics/parse.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 runs (scripts/setup --peers installs prometheus_client)");
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the Prometheus parser refused the exposition: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let samples: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    samples
        .into_iter()
        .map(|sample| Sample {
            name: sample["name"].as_str().unwrap().to_owned(),
            labels: sample["labels"].as_object().unwrap().clone(),
            value: sample["value"].as_f64().unwrap(),
        })
        .collect()
}

/// The value of the sample `name` whose labels include `labels` (0 when absent).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|sample| sample.name == name)
        .find(|sample| labels.iter().all(|(key, want)| sample.labels.get(*key).and_then(Value::as_str) == Some(*want)))
        .map_or(0.0, |sample| sample.value)
}

async fn scrape(server: &Server, token: Option<&str>) -> (u16, String, String) {
    let mut request = reqwest::Client::new().get(server.url("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type =
        response.headers().get("content-type").map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, content_type, response.text().await.unwrap())
}

async fn scrape_ok(server: &Server, token: &str) -> Vec<Sample> {
    let (status, content_type, text) = scrape(server, Some(token)).await;
    assert_eq!(status, 200, "{text}");
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    parse(&text)
}

#[tokio::test]
async fn the_operator_scrapes_series_that_follow_the_traffic() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;

    // Who may read: the operator tenant's admins and those its policies allow; nobody else.
    let (status, _, body) = scrape(&server, None).await;
    assert_eq!(status, 401, "{body}");
    let user = json!({"username": "watcher", "password": "watcher-password", "role": "user"});
    assert_eq!(server.post("/api/v1/users", Some(&admin), user).await.status, 201);
    let watcher = server.login_in("", "watcher", "watcher-password").await;
    assert_eq!(scrape(&server, Some(&watcher)).await.0, 403, "a user without metrics:GetMetrics");
    let acme_admin = server.admin_token_in("/t/acme").await;
    // Another tenant's token is not a credential of the operator tenant at all.
    assert_eq!(scrape(&server, Some(&acme_admin)).await.0, 401, "another tenant's admin");
    let policy =
        json!({"name": "scraper", "document": {"statement": [{"effect": "Allow", "action": ["metrics:GetMetrics"]}]}});
    let policy = server.post("/api/v1/policies", Some(&admin), policy).await;
    assert_eq!(policy.status, 201, "{}", policy.text);
    let watcher_id = server.get("/api/v1/users/me", Some(&watcher)).await.body["id"].as_str().unwrap().to_owned();
    let attach = json!({"policy_ids": [policy.body["id"]]});
    let attached = server
        .call(reqwest::Method::PUT, &format!("/api/v1/users/{watcher_id}/policies"), Some(&admin), Some(attach))
        .await;
    assert_eq!(attached.status, 204, "{}", attached.text);
    let key = server.post("/api/v1/api-keys", Some(&watcher), json!({"name": "prometheus"})).await;
    assert_eq!(key.status, 201, "{}", key.text);
    let key = key.body["key"].as_str().unwrap().to_owned();

    let before = scrape_ok(&server, &key).await;
    // Traffic: a wrong password, a right one, a user read by id, a SCIM create, an unknown path.
    let wrong =
        server.post("/api/v1/users/login", None, json!({"username": "watcher", "password": "nope-nope-nope"})).await;
    assert_eq!(wrong.status, 401);
    server.login_in("", "watcher", "watcher-password").await;
    assert_eq!(server.get(&format!("/api/v1/users/{watcher_id}"), Some(&admin)).await.status, 200);
    // Read again, unchanged: answered from the user-record cache.
    assert_eq!(server.get(&format!("/api/v1/users/{watcher_id}"), Some(&admin)).await.status, 200);
    let scim_user =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "provisioned@acme.test"});
    let created = server.post("/scim/v2/Users", Some(&admin), scim_user).await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(server.get("/no/such/usr_0123456789abcdef0123456789abcdef", None).await.status, 404);
    let after = scrape_ok(&server, &key).await;

    let delta = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    let sign_ins = "tessera_sign_ins_total";
    assert_eq!(delta(sign_ins, &[("method", "password"), ("outcome", "invalid_credentials")]), 1.0);
    assert_eq!(delta(sign_ins, &[("method", "password"), ("outcome", "success")]), 1.0);
    let by_id = [("route", "/api/v1/users/{user_id}"), ("method", "GET"), ("status", "200")];
    assert_eq!(delta("tessera_http_requests_total", &by_id), 2.0);
    let login = [("route", "/api/v1/users/login"), ("method", "POST"), ("status", "401")];
    assert_eq!(delta("tessera_http_requests_total", &login), 1.0);
    let unmatched = [("route", "unmatched"), ("method", "GET"), ("status", "404")];
    assert_eq!(delta("tessera_http_requests_total", &unmatched), 1.0);
    let latency = [("route", "/api/v1/users/{user_id}"), ("method", "GET")];
    assert_eq!(delta("tessera_http_request_duration_seconds_count", &latency), 2.0);
    // The watcher signed in just before (a changed record): the first read goes to the store,
    // the second is a hit; the admin's token and the key were checked before, so are hits too.
    let cache = "tessera_cache_lookups_total";
    assert_eq!(delta(cache, &[("cache", "user"), ("outcome", "miss")]), 1.0);
    assert_eq!(delta(cache, &[("cache", "user"), ("outcome", "hit")]), 1.0);
    assert!(delta(cache, &[("cache", "principal"), ("outcome", "hit")]) >= 3.0);
    let scim = [("resource", "User"), ("operation", "create"), ("outcome", "success")];
    assert_eq!(delta("tessera_scim_operations_total", &scim), 1.0);
    assert_eq!(delta("tessera_password_hash_duration_seconds_count", &[("operation", "verify")]), 2.0);
    assert!(delta("tessera_store_query_duration_seconds_count", &[]) > 0.0);
    assert_eq!(value(&after, "tessera_hasher_queue_depth", &[]), 0.0, "nothing is hashing now");
    // Sessions, as counted at the first scrape (recounted at most every 15 s): the admin's and
    // the watcher's in default, acme's admin in acme.
    assert_eq!(value(&before, "tessera_active_sessions", &[("tenant", "default")]), 2.0);
    assert_eq!(value(&before, "tessera_active_sessions", &[("tenant", "acme")]), 1.0);
    assert!(value(&after, "process_resident_memory_bytes", &[]) > 0.0);
    assert!(value(&after, "tessera_store_transaction_conflicts_total", &[]) >= 0.0);

    // Labels are templates and outcomes: no ids, names, emails or paths of records.
    for sample in &after {
        for (key, label) in &sample.labels {
            let label = label.as_str().unwrap();
            assert!(
                !label.contains("usr_")
                    && !label.contains('@')
                    && !label.contains("watcher")
                    && !label.contains("/no/such"),
                "{} has {key}={label}",
                sample.name
            );
        }
    }
}

#[tokio::test]
async fn a_dedicated_listener_serves_metrics_without_a_credential_and_only_there() {
    let metrics_port = free_port();
    let bind = format!("127.0.0.1:{metrics_port}");
    let server = Server::start_with(&[("TESSERA__SERVER__METRICS_BIND", bind.as_str())]).await;
    let admin = server.admin_token().await;
    let (status, _, body) = scrape(&server, Some(&admin)).await;
    assert_eq!(status, 404, "the main listener does not serve it: {body}");
    let client = reqwest::Client::new();
    let response = client.get(format!("http://{bind}/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let samples = parse(&response.text().await.unwrap());
    assert_eq!(value(&samples, "tessera_sign_ins_total", &[("method", "password"), ("outcome", "success")]), 1.0);
    // Nothing else is served there: not the APIs, not the health probes.
    for path in ["/api/v1/users", "/healthz", "/v0/users"] {
        let response = client.get(format!("http://{bind}{path}")).bearer_auth(&admin).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
}

#[tokio::test]
async fn a_bad_metrics_bind_stops_the_start_with_a_clear_message() {
    let output = Command::new(common::binary())
        .arg("serve")
        .env("TESSERA__DATABASE__ENDPOINT", "mem://")
        .env("TESSERA__SERVER__BIND", format!("127.0.0.1:{}", free_port()))
        .env("TESSERA__SERVER__METRICS_BIND", "everywhere")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("server.metrics_bind"), "{stderr}");
}
