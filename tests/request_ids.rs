//! Request ids and the access log: an `X-Request-Id` a client sends comes back in the response
//! and names the request's log line, with its tenant, route, status and latency; without one
//! (or with one that is not a plain token) the server makes one up.

mod common;

use common::Server;
use serde_json::Value;

#[tokio::test]
async fn request_ids_come_back_and_name_the_log_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("tessera.log");
    let server = Server::start_logging_to(
        &[
            ("TESSERA__LOG__FORMAT", "json"),
            ("TESSERA__LOG__LEVEL", "info,tessera=debug"),
            ("TESSERA__SERVER__TENANTS", "acme"),
        ],
        &log,
    )
    .await;
    let client = reqwest::Client::new();
    let sent =
        client.get(server.url("/t/acme/api/v1/users/me")).header("x-request-id", "test-req-42").send().await.unwrap();
    assert_eq!(sent.status(), 401);
    assert_eq!(sent.headers()["x-request-id"], "test-req-42");

    let made = client.get(server.url("/healthz")).send().await.unwrap();
    let made = made.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    let hostile = client.get(server.url("/healthz")).header("x-request-id", "a\"b {x}").send().await.unwrap();
    let replaced = hostile.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&replaced).is_ok(), "{replaced}");

    // The access line of the first request carries its id, tenant, route, status and latency.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let line = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let found = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .find(|line| line["fields"]["message"] == "served" && line["span"]["request_id"] == "test-req-42");
        if let Some(found) = found {
            break found;
        }
        assert!(std::time::Instant::now() < deadline, "no access line for test-req-42 in:\n{text}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let span = &line["span"];
    assert_eq!(span["tenant"], "acme", "{line}");
    assert_eq!(span["http.route"], "/t/{tenant}/api/v1/users/me", "{line}");
    assert_eq!(line["fields"]["status"], 401, "{line}");
    assert!(span["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
}
