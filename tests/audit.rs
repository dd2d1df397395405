//! The audit trail through the public surface: administrative writes, sign-ins, revocations and
//! denials are recorded with actor, action, target, outcome, client address and request id;
//! `GET /api/v1/audit-events` filters and pages them per tenant; nothing secret is recorded;
//! `tessera audit-events` reads it; `audit.stdout` streams JSON lines.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, Server};
use reqwest::Method;
use serde_json::{json, Value};

const ADMIN_PASSWORD: &str = "supersecret";
const ALICE_PASSWORD: &str = "alice-password-1";

async fn events(server: &Server, prefix: &str, token: &str, query: &str) -> Value {
    let reply = server.get(&format!("{prefix}/api/v1/audit-events?{query}"), Some(token)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body
}

/// Waits (up to 5 s) for an event matching `query` to be listed; events recorded apart from a
/// write are appended off the request path.
async fn eventually(server: &Server, prefix: &str, token: &str, query: &str) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let found = events(server, prefix, token, query).await["events"].as_array().unwrap().clone();
        if !found.is_empty() || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn writes_sign_ins_and_denials_are_recorded_and_paged_per_tenant() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;
    let admin_id = server.get("/api/v1/users/me", Some(&admin)).await.body["id"].as_str().unwrap().to_owned();
    let client = reqwest::Client::new();

    // A write with a request id of the client's choosing.
    let created = client
        .post(server.url("/api/v1/users"))
        .bearer_auth(&admin)
        .header("x-request-id", "req-create-alice")
        .json(&json!({"username": "alice", "password": ALICE_PASSWORD, "role": "user"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let alice_id = created.json::<Value>().await.unwrap()["id"].as_str().unwrap().to_owned();
    let alice_srn = format!("srn:default:user:{alice_id}");
    // A refused write (the name is taken), a sign-in that fails and one that succeeds, a denial.
    let again = json!({"username": "alice", "password": ALICE_PASSWORD});
    assert_eq!(server.post("/api/v1/users", Some(&admin), again).await.status, 409);
    let wrong = json!({"username": "alice", "password": "not-her-password"});
    assert_eq!(server.post("/api/v1/users/login", None, wrong).await.status, 401);
    let alice = server.login_in("", "alice", ALICE_PASSWORD).await;
    assert_eq!(server.get("/api/v1/users", Some(&alice)).await.status, 403);
    assert_eq!(
        server.get("/api/v1/audit-events", Some(&alice)).await.status,
        403,
        "reading the trail is audit:ListEvents"
    );
    // More kinds of writes: a policy attached, a group, an API key, a session revoked, SCIM.
    let policy =
        json!({"name": "readers", "document": {"statement": [{"effect": "Allow", "action": ["users:GetUser"]}]}});
    let policy = server.post("/api/v1/policies", Some(&admin), policy).await;
    assert_eq!(policy.status, 201);
    let attach = json!({"policy_ids": [policy.body["id"]]});
    let attached =
        server.call(Method::PUT, &format!("/api/v1/users/{alice_id}/policies"), Some(&admin), Some(attach)).await;
    assert_eq!(attached.status, 204);
    assert_eq!(server.post("/api/v1/groups", Some(&admin), json!({"name": "staff"})).await.status, 201);
    let key = server.post("/api/v1/api-keys", Some(&admin), json!({"name": "ci"})).await;
    assert_eq!(key.status, 201);
    let secret_key = key.body["key"].as_str().unwrap().to_owned();
    let sessions = server.get(&format!("/api/v1/sessions?user_id={alice_id}"), Some(&admin)).await;
    let session_id = sessions.body[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(server.delete(&format!("/api/v1/sessions/{session_id}"), Some(&admin)).await.status, 204);
    let scim = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "bob@example.test"});
    assert_eq!(server.post("/scim/v2/Users", Some(&secret_key), scim).await.status, 201);

    // The write's event, exactly.
    let created =
        events(&server, "", &admin, &format!("action=users:CreateUser&outcome=success&actor={admin_id}")).await;
    let created = created["events"].as_array().unwrap();
    assert_eq!(created.len(), 1, "{created:?}");
    let event = &created[0];
    assert_eq!(event["tenant"], "default");
    assert_eq!(event["actor"], json!({"type": "user", "user_id": admin_id}));
    assert_eq!(event["target"], alice_srn.as_str());
    assert_eq!(event["client"], "127.0.0.1");
    assert_eq!(event["request_id"], "req-create-alice");
    // The refused one, the sign-ins, the denial, the revocation, the key-authenticated SCIM write.
    let refused = eventually(&server, "", &admin, "action=users:CreateUser&outcome=failure").await;
    assert_eq!(refused.len(), 1, "the conflict is recorded as a failure");
    let failed = eventually(&server, "", &admin, "action=sign-in:Password&outcome=failure").await;
    assert_eq!(failed[0]["actor"], json!({"type": "anonymous"}));
    let signed_in =
        eventually(&server, "", &admin, &format!("action=sign-in:Password&outcome=success&actor={alice_id}")).await;
    assert_eq!(signed_in[0]["target"], alice_srn.as_str());
    let denied = eventually(&server, "", &admin, "outcome=denied").await;
    let denied_actions: Vec<&str> = denied.iter().map(|event| event["action"].as_str().unwrap()).collect();
    assert!(denied_actions.contains(&"users:ListUsers") && denied_actions.contains(&"audit:ListEvents"), "{denied:?}");
    assert!(denied.iter().all(|event| event["actor"]["user_id"] == alice_id.as_str()));
    let revoked = events(&server, "", &admin, "action=sessions:RevokeSession").await;
    assert_eq!(revoked["events"][0]["target"], format!("srn:default:session:{session_id}"));
    let provisioned = events(&server, "", &admin, "action=scim:CreateUser").await;
    let by_key = &provisioned["events"][0]["actor"];
    assert_eq!(by_key["type"], "api_key");
    assert_eq!(by_key["api_key_id"], key.body["id"]);
    for action in ["users:AttachUserPolicies", "policies:CreatePolicy", "groups:CreateGroup", "api-keys:CreateApiKey"] {
        let found = events(&server, "", &admin, &format!("action={action}")).await;
        assert_eq!(found["events"].as_array().unwrap().len(), 1, "{action}");
    }
    let module = events(&server, "", &admin, "action=users:*").await;
    assert!(module["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|event| event["action"].as_str().unwrap().starts_with("users:")));

    // Nothing secret, anywhere in the trail.
    let everything = events(&server, "", &admin, "limit=500").await.to_string();
    for secret in
        [ADMIN_PASSWORD, ALICE_PASSWORD, "not-her-password", admin.as_str(), alice.as_str(), secret_key.as_str()]
    {
        assert!(!everything.contains(secret), "the trail contains a secret");
    }

    // Pages: newest first, each event once, the last page without a cursor.
    let all: Vec<Value> = events(&server, "", &admin, "limit=500").await["events"].as_array().unwrap().clone();
    assert!(all.len() >= 12, "{}", all.len());
    let mut paged = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(cursor) => format!("limit=3&cursor={cursor}"),
            None => "limit=3".to_owned(),
        };
        let page = events(&server, "", &admin, &query).await;
        paged.extend(page["events"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let ids =
        |events: &[Value]| events.iter().map(|event| event["id"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    // Events recorded while paging (the reads are not audited) would change nothing here.
    assert_eq!(ids(&paged), ids(&all));
    let times: Vec<&str> = all.iter().map(|event| event["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|pair| pair[0] >= pair[1]), "newest first");
    // A time window.
    let oldest = all.last().unwrap()["at"].as_str().unwrap();
    let window = events(&server, "", &admin, &format!("to={}", urlencode(oldest))).await;
    assert!(window["events"].as_array().unwrap().is_empty(), "`to` is exclusive");

    // Bad queries are 400 in SOAT's shape; a cursor is exactly what `next_cursor` hands out
    // (the document's pattern), not anything that happens to parse: no uppercase hex, no sign,
    // no braced or hyphenated id.
    let first_page = events(&server, "", &admin, "limit=1").await;
    let good = first_page["next_cursor"].as_str().unwrap().to_owned();
    let (micros, id) = good.split_once('_').unwrap();
    let hyphenated = uuid::Uuid::parse_str(id).unwrap().hyphenated().to_string();
    let reshaped = [
        format!("{micros}_{}", id.to_uppercase()),
        format!("+{good}"),
        format!("{micros}_{hyphenated}"),
        format!("{good}_"),
    ];
    for cursor in &reshaped {
        let reply = server.get(&format!("/api/v1/audit-events?cursor={}", urlencode(cursor)), Some(&admin)).await;
        assert_eq!(
            (reply.status.as_u16(), reply.body["error"].as_str()),
            (400, Some("cursor: is not a page of this log")),
            "{cursor}"
        );
    }
    for query in ["limit=0", "limit=501", "cursor=nonsense", "outcome=maybe", "from=yesterday", "to=", "colour=red"] {
        let reply = server.get(&format!("/api/v1/audit-events?{query}"), Some(&admin)).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.text);
        assert!(reply.body["error"].is_string(), "{query}");
    }

    // Another tenant sees its own trail only.
    let acme_admin = server.admin_token_in("/t/acme").await;
    assert_eq!(
        server.post("/t/acme/api/v1/groups", Some(&acme_admin), json!({"name": "acme-staff"})).await.status,
        201
    );
    let acme = events(&server, "/t/acme", &acme_admin, "limit=500").await;
    let acme = acme["events"].as_array().unwrap();
    assert!(acme.iter().all(|event| event["tenant"] == "acme"));
    assert!(acme.iter().any(|event| event["action"] == "groups:CreateGroup"));
    assert!(!acme.iter().any(|event| event["target"].as_str().unwrap().starts_with("srn:default:")));

    // The CLI reads the same trail.
    let output = Command::new(common::binary())
        .args([
            "audit-events",
            "--url",
            &server.base,
            "--token",
            &admin,
            "--action",
            "groups:CreateGroup",
            "--limit",
            "1",
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let page: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(page["events"].as_array().unwrap().len(), 1);
    assert_eq!(page["events"][0]["action"], "groups:CreateGroup");
    assert!(page["next_cursor"].is_string(), "a full page names the next");
}

fn urlencode(text: &str) -> String {
    text.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn events_stream_to_stdout_as_json_lines_when_asked() {
    let port = free_port();
    let mut child = Command::new(common::binary())
        .arg("serve")
        .env("TESSERA__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("TESSERA__SERVER__EXTERNAL_URL", format!("http://127.0.0.1:{port}"))
        .env("TESSERA__DATABASE__ENDPOINT", "mem://")
        .env("TESSERA__AUTH__ARGON2__MEMORY_KIB", "1024")
        .env("TESSERA__AUTH__ARGON2__ITERATIONS", "1")
        .env("TESSERA__LOG__LEVEL", "warn")
        .env("TESSERA__AUDIT__STDOUT", "true")
        .env_remove("SOAT_ADMIN_USERNAME")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let bootstrap = json!({"username": "admin", "password": ADMIN_PASSWORD});
    assert_eq!(
        http.post(format!("{base}/api/v1/users/bootstrap")).json(&bootstrap).send().await.unwrap().status(),
        201
    );
    let login = http.post(format!("{base}/api/v1/users/login")).json(&bootstrap).send().await.unwrap();
    assert_eq!(login.status(), 200);
    let stdout = child.stdout.take().unwrap();
    // The bootstrap's event, then the sign-in's, each one JSON object on its own line.
    let lines = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout).lines().take(2).map(|line| line.unwrap()).collect::<Vec<_>>()
    });
    let lines = tokio::time::timeout(Duration::from_secs(10), lines).await.expect("two event lines").unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let events: Vec<Value> =
        lines.iter().map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"))).collect();
    assert_eq!(
        (events[0]["action"].as_str(), events[0]["actor"]["type"].as_str()),
        (Some("users:CreateUser"), Some("anonymous"))
    );
    assert_eq!(
        (events[1]["action"].as_str(), events[1]["outcome"].as_str()),
        (Some("sign-in:Password"), Some("success"))
    );
    assert!(lines.iter().all(|line| !line.contains(ADMIN_PASSWORD)));
}

#[tokio::test]
async fn a_bulk_batch_records_one_event_per_account_and_creates_name_what_they_made() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let operations: Vec<Value> = (0..3)
        .map(|i| {
            json!({"method": "POST", "path": "/Users", "bulkId": format!("b{i}"),
                   "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": format!("bulk{i}@example.test")}})
        })
        .collect();
    let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations});
    let reply = server.post("/scim/v2/Bulk", Some(&admin), bulk).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let created: Vec<String> = reply.body["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|operation| {
            let location = operation["location"].as_str().unwrap();
            let id = uuid::Uuid::parse_str(location.rsplit('/').next().unwrap()).unwrap();
            format!("srn:default:user:usr_{}", id.simple())
        })
        .collect();
    let provisioned = events(&server, "", &admin, "action=scim:CreateUser").await;
    let mut targets: Vec<String> = provisioned["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["target"].as_str().unwrap().to_owned())
        .collect();
    targets.sort();
    let mut expected = created.clone();
    expected.sort();
    assert_eq!(targets, expected, "one event per provisioned account, each naming it");
    let group = server.post("/api/v1/groups", Some(&admin), json!({"name": "named"})).await;
    let group_srn = format!("srn:default:group:{}", group.body["id"].as_str().unwrap());
    let made = events(&server, "", &admin, "action=groups:CreateGroup").await;
    assert_eq!(made["events"][0]["target"], group_srn.as_str());
}
