//! Tessera against a real SurrealDB server (`database.endpoint = ws://…`): several stateless
//! replicas share one database, so what one writes the others see at once, tokens issued by one
//! are honoured by all (they share the configured master key), and revocation is
//! immediate everywhere. The server is the real one from crates.io, built by
//! `scripts/setup --peers` (tests/peers/surrealdb-server) and started here on loopback.

mod common;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, run_cli, Server};
use serde_json::{json, Value};

const ROOT_USER: &str = "root";
const ROOT_PASS: &str = "root";
/// The master key every replica shares (a shared database needs a configured one).
const SHARED_SECRET: &str = "the master key all replicas share, 32+ bytes";

/// The SurrealDB server binary that `scripts/setup --peers` builds.
fn surrealdb_binary() -> PathBuf {
    let target = match std::env::var_os("TESSERA_PEER_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            Path::new(&home).join(".cache/tessera/peer-target")
        }
    };
    target.join("debug/surrealdb-test-server")
}

/// A SurrealDB server on a loopback port, in memory, killed by its PID when dropped.
struct SurrealServer {
    child: Child,
    port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl SurrealServer {
    async fn start() -> SurrealServer {
        let binary = surrealdb_binary();
        assert!(
            binary.is_file(),
            "the SurrealDB test server is missing at {}: run `scripts/setup --peers` to build it \
             (it lives in tests/peers/surrealdb-server; TESSERA_PEER_TARGET_DIR overrides the \
             target directory)",
            binary.display()
        );
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("surrealdb.log");
        let port = free_port();
        let output = File::create(&log).unwrap();
        let child = Command::new(&binary)
            .args(["start", "--user", ROOT_USER, "--pass", ROOT_PASS, "--bind"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["--log", "warn", "--no-banner", "memory"])
            .stdin(Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start {}: {error}", binary.display()));
        let mut server = SurrealServer { child, port, log, _dir: dir };
        server.wait_ready().await;
        server
    }

    /// Polls `/health` until the server answers 200.
    async fn wait_ready(&mut self) {
        let url = format!("http://127.0.0.1:{}/health", self.port);
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("SurrealDB exited early ({status}):\n{}", self.log_text());
            }
            if let Ok(response) = client.get(&url).send().await {
                if response.status() == 200 {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("SurrealDB did not become ready on port {}:\n{}", self.port, self.log_text());
    }

    fn endpoint(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Runs SurrealQL through the server's own HTTP API (as root, in Tessera's database) and
    /// returns each statement's result; a failed statement fails the test.
    async fn sql(&self, query: &str) -> Vec<Value> {
        let response = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{}/sql", self.port))
            .basic_auth(ROOT_USER, Some(ROOT_PASS))
            .header("surreal-ns", "tessera")
            .header("surreal-db", "tessera")
            .header("Accept", "application/json")
            .body(query.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        let statements = answer.as_array().unwrap_or_else(|| panic!("{status} {answer}"));
        statements
            .iter()
            .map(|statement| {
                assert_eq!(statement["status"], "OK", "{query}: {statement}");
                statement["result"].clone()
            })
            .collect()
    }
}

impl Drop for SurrealServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A Tessera replica on the shared SurrealDB, as root.
async fn replica(endpoint: &str) -> Server {
    Server::start_with(&[
        ("TESSERA__DATABASE__ENDPOINT", endpoint),
        ("TESSERA__DATABASE__USERNAME", ROOT_USER),
        ("TESSERA__DATABASE__PASSWORD", ROOT_PASS),
        ("TESSERA__AUTH__SECRET", SHARED_SECRET),
    ])
    .await
}

/// The emails of the users in a Firezone list.
fn emails(body: &Value) -> Vec<String> {
    body["data"].as_array().unwrap().iter().map(|user| user["email"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn replicas_share_one_surrealdb_server() {
    let surreal = SurrealServer::start().await;
    let endpoint = surreal.endpoint();
    let a = replica(&endpoint).await;
    let b = replica(&endpoint).await;

    // Bootstrap happens once, for every replica.
    let admin_a = a.admin_token().await;
    let again = b.post("/api/v1/users/bootstrap", None, json!({"username": "admin", "password": "supersecret"})).await;
    assert_eq!(again.status, 409, "{:?}", again.body);

    // The same credentials log in on B; tokens from either replica work on both.
    let admin_b = b.login("admin", "supersecret").await;
    for (server, token) in [(&b, &admin_a), (&a, &admin_b), (&a, &admin_a), (&b, &admin_b)] {
        let me = server.get("/api/v1/users/me", Some(token)).await;
        assert_eq!(me.status, 200, "{:?}", me.body);
        assert_eq!(me.body["username"], "admin");
    }

    // A user created on B is listed by A at once, on the Firezone API.
    let created = b
        .post(
            "/v0/users",
            Some(&admin_b),
            json!({"user": {"email": "carol@test", "password": "carolpass123", "password_confirmation": "carolpass123"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let listed = a.get("/v0/users", Some(&admin_a)).await;
    assert_eq!(listed.status, 200, "{:?}", listed.body);
    assert!(emails(&listed.body).contains(&"carol@test".to_owned()), "{:?}", listed.body);
    assert_eq!(a.get("/v0/users/carol@test", Some(&admin_a)).await.body["data"]["id"], created.body["data"]["id"]);

    // Carol signs in on B; deleting her on A makes that token fail on A at once and on B within
    // a second (B's cached principal is dropped by its change feed).
    let carol_b = b.login("carol@test", "carolpass123").await;
    assert_eq!(b.get("/api/v1/users/me", Some(&carol_b)).await.status, 200);
    assert_eq!(a.delete("/v0/users/carol@test", Some(&admin_a)).await.status, 204);
    assert_eq!(a.get("/api/v1/users/me", Some(&carol_b)).await.status, 401);
    refused_within_a_second(&b, "/api/v1/users/me", &carol_b, 401).await;
    for server in [&b, &a] {
        assert_eq!(server.get("/api/v1/users/me", Some(&carol_b)).await.status, 401);
        let reply = server.get("/v0/users", Some(&carol_b)).await;
        assert_eq!(reply.status, 401);
        assert_eq!(reply.body, json!({"errors": {"auth": "no_resource_found"}}));
    }
    assert!(!emails(&b.get("/v0/users", Some(&admin_b)).await.body).contains(&"carol@test".to_owned()));

    // The data outlives every replica: a fresh one sees it, and the old tokens still work.
    a.stop();
    b.stop();
    let c = replica(&endpoint).await;
    assert_eq!(c.get("/api/v1/users/me", Some(&admin_a)).await.status, 200);
    assert_eq!(emails(&c.get("/v0/users", Some(&admin_b)).await.body), vec!["admin".to_owned()]);
}

/// Polls `path` with `token` on `server` until it answers `status`; fails after one second.
async fn refused_within_a_second(server: &Server, path: &str, token: &str, status: u16) {
    let since = Instant::now();
    loop {
        let reply = server.get(path, Some(token)).await;
        if reply.status == status {
            return;
        }
        assert!(since.elapsed() < Duration::from_secs(1), "{path} still answered {} after 1 s", reply.status);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Credentials and permissions are cached per replica (issue #12); a change made through one
/// replica reaches the other's cache within a second: a group member removed, a policy
/// detached, a key deleted, a session revoked, a user disabled.
#[tokio::test]
async fn cached_principals_follow_changes_made_through_another_replica() {
    let surreal = SurrealServer::start().await;
    let endpoint = surreal.endpoint();
    let (a, b) = (replica(&endpoint).await, replica(&endpoint).await);
    let admin = a.admin_token().await;
    let admin_id = a.get("/api/v1/users/me", Some(&admin)).await.body["id"].as_str().unwrap().to_owned();
    let user = json!({"username": "helper", "password": "helper-password", "role": "user"});
    let helper_id = a.post("/api/v1/users", Some(&admin), user).await.body["id"].as_str().unwrap().to_owned();
    let document = json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"]}]});
    let policy = a.post("/api/v1/policies", Some(&admin), json!({"name": "read", "document": document})).await;
    let policy_id = policy.body["id"].as_str().unwrap().to_owned();
    let group = json!({"name": "readers", "member_ids": [helper_id]});
    let group_id = a.post("/api/v1/groups", Some(&admin), group).await.body["id"].as_str().unwrap().to_owned();
    let attach = json!({"policy_ids": [policy_id]});
    let attached = a
        .call(reqwest::Method::PUT, &format!("/api/v1/groups/{group_id}/policies"), Some(&admin), Some(attach.clone()))
        .await;
    assert_eq!(attached.status, 204);
    let token = b.login("helper", "helper-password").await;
    let key =
        b.post("/api/v1/api-keys", Some(&token), json!({"name": "k"})).await.body["key"].as_str().unwrap().to_owned();
    let read_admin = format!("/api/v1/users/{admin_id}");
    // B caches the helper's principal (allowed through the group).
    for _ in 0..3 {
        assert_eq!(b.get(&read_admin, Some(&token)).await.status, 200);
    }
    // A group member removed through A.
    let removed = a
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/groups/{group_id}"),
            Some(&admin),
            Some(json!({"remove_member_ids": [helper_id]})),
        )
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    refused_within_a_second(&b, &read_admin, &token, 403).await;
    // A policy attached to the user and detached again through A.
    let path = format!("/api/v1/users/{helper_id}/policies");
    assert_eq!(a.call(reqwest::Method::PUT, &path, Some(&admin), Some(attach)).await.status, 204);
    let since = Instant::now();
    while b.get(&read_admin, Some(&token)).await.status != 200 {
        assert!(since.elapsed() < Duration::from_secs(1), "the attached policy did not reach B within 1 s");
    }
    assert_eq!(a.call(reqwest::Method::PUT, &path, Some(&admin), Some(json!({"policy_ids": []}))).await.status, 204);
    refused_within_a_second(&b, &read_admin, &token, 403).await;
    // A key deleted through A.
    assert_eq!(b.get("/api/v1/users/me", Some(&key)).await.status, 200);
    let keys = a.get("/api/v1/api-keys", Some(&admin)).await;
    let key_id =
        keys.body.as_array().unwrap().iter().find(|k| k["name"] == "k").unwrap()["id"].as_str().unwrap().to_owned();
    assert_eq!(a.delete(&format!("/api/v1/api-keys/{key_id}"), Some(&admin)).await.status, 204);
    refused_within_a_second(&b, "/api/v1/users/me", &key, 401).await;
    // A session revoked through A.
    let sessions = a.get(&format!("/api/v1/sessions?user_id={helper_id}"), Some(&admin)).await;
    let session_id = sessions.body[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(b.get("/api/v1/users/me", Some(&token)).await.status, 200);
    assert_eq!(a.delete(&format!("/api/v1/sessions/{session_id}"), Some(&admin)).await.status, 204);
    refused_within_a_second(&b, "/api/v1/users/me", &token, 401).await;
    // A user disabled through A (SCIM `active: false`).
    let fresh = b.login("helper", "helper-password").await;
    assert_eq!(b.get("/api/v1/users/me", Some(&fresh)).await.status, 200);
    let scim_id = uuid::Uuid::parse_str(helper_id.trim_start_matches("usr_")).unwrap();
    let disable = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "active", "value": false}]});
    // B's admin reads the helper's record (kept in B's record cache) before the change.
    let record = format!("/v0/users/{scim_id}");
    for _ in 0..3 {
        let read = b.get(&record, Some(&admin)).await;
        assert_eq!(read.status, 200, "{}", read.text);
        assert!(read.body["data"]["disabled_at"].is_null(), "{}", read.text);
    }
    let patched =
        a.call(reqwest::Method::PATCH, &format!("/scim/v2/Users/{scim_id}"), Some(&admin), Some(disable)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    refused_within_a_second(&b, "/api/v1/users/me", &fresh, 401).await;
    // And the record B serves shows the change within a second too.
    let since = Instant::now();
    while b.get(&record, Some(&admin)).await.body["data"]["disabled_at"].is_null() {
        assert!(since.elapsed() < Duration::from_secs(1), "B still served the helper as enabled after 1 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // On the replica that made the changes they applied at once (checked above through A's own
    // calls), and /readyz reports the feed.
    let ready = b.get("/readyz", None).await;
    assert_eq!(ready.body["credential_cache"], "live", "{}", ready.text);
}

/// A SOAT password login.
async fn login(server: &Server, username: &str, password: &str) -> common::Reply {
    server.post("/api/v1/users/login", None, json!({"username": username, "password": password})).await
}

/// The password-guessing brake counts in the database: failures on one replica count on the
/// other, a success on one clears the count for both, and 200 guesses split across both at once
/// still get only five password checks.
#[tokio::test]
async fn replicas_share_the_sign_in_counts() {
    let surreal = SurrealServer::start().await;
    let endpoint = surreal.endpoint();
    // Room for every guess in flight, so that all of them race for the count.
    let env = [
        ("TESSERA__DATABASE__ENDPOINT", endpoint.as_str()),
        ("TESSERA__DATABASE__USERNAME", ROOT_USER),
        ("TESSERA__DATABASE__PASSWORD", ROOT_PASS),
        ("TESSERA__AUTH__MAX_PENDING_LOGINS", "1000"),
        ("TESSERA__AUTH__SECRET", SHARED_SECRET),
    ];
    let a = Server::start_with(&env).await;
    let b = Server::start_with(&env).await;
    let admin = a.admin_token().await;

    for server in [&a, &b, &a] {
        assert_eq!(login(server, "admin", "wrong password").await.status, 401);
    }
    assert_eq!(login(&b, "admin", "supersecret").await.status, 200, "a success on B clears what A counted");
    for server in [&a, &b, &a, &b, &a] {
        assert_eq!(login(server, "admin", "wrong password").await.status, 401);
    }
    for server in [&b, &a] {
        let locked = login(server, "admin", "supersecret").await;
        assert_eq!(locked.status, 429, "five failures across both replicas lock the name on each");
        assert!(locked.headers.contains_key("retry-after"));
    }

    let created = a.post("/api/v1/users", Some(&admin), json!({"username": "bob", "password": "bobs password"})).await;
    assert_eq!(created.status, 201, "{:?}", created.body);
    let guesses = (0..200).map(|index| {
        let server = if index % 2 == 0 { &a } else { &b };
        let password = format!("guess number {index}");
        async move { login(server, "bob", &password).await.status.as_u16() }
    });
    let statuses = futures::future::join_all(guesses).await;
    assert_eq!(statuses.iter().filter(|status| **status == 401).count(), 5, "{statuses:?}");
    assert!(statuses.iter().all(|status| [401, 429].contains(status)), "{statuses:?}");
}

#[tokio::test]
async fn wrong_database_credentials_stop_the_start() {
    let surreal = SurrealServer::start().await;
    let endpoint = surreal.endpoint();
    let bind = format!("127.0.0.1:{}", free_port());
    let wrong_password = "not-the-root-password";
    let (ok, _, stderr) = run_cli(
        &["serve"],
        &[
            ("TESSERA__SERVER__BIND", bind.as_str()),
            ("TESSERA__DATABASE__ENDPOINT", endpoint.as_str()),
            ("TESSERA__DATABASE__USERNAME", ROOT_USER),
            ("TESSERA__DATABASE__PASSWORD", wrong_password),
            ("TESSERA__AUTH__SECRET", SHARED_SECRET),
            ("TESSERA__LOG__LEVEL", "warn"),
        ],
        None,
    );
    assert!(!ok, "tessera started with wrong database credentials:\n{stderr}");
    // Today: "tessera: storage failure: There was a problem with authentication".
    let message = stderr.to_lowercase();
    assert!(
        message.contains("database") || message.contains("storage"),
        "the error does not say the database failed:\n{stderr}"
    );
    assert!(message.contains("authentication"), "the error does not say the sign-in failed:\n{stderr}");
    assert!(!stderr.contains(wrong_password), "the error leaks the password:\n{stderr}");

    // The right credentials work against the same server.
    let good = replica(&endpoint).await;
    assert_eq!(good.get("/healthz", None).await.status, 200);
}

/// When the database goes away, credentials are not blamed: a request with a good token, an
/// API key or a password sign-in gets 503 in its dialect's shape (with Retry-After), never a
/// 401 that would make a client throw its credential away, and never a hang.
#[tokio::test]
async fn a_database_outage_is_503_never_401() {
    let mut surreal = SurrealServer::start().await;
    let server = Server::start_with(&[
        ("TESSERA__DATABASE__ENDPOINT", surreal.endpoint().as_str()),
        ("TESSERA__DATABASE__USERNAME", ROOT_USER),
        ("TESSERA__DATABASE__PASSWORD", ROOT_PASS),
        ("TESSERA__AUTH__SECRET", SHARED_SECRET),
        ("TESSERA__SERVER__REQUEST_TIMEOUT_SECONDS", "3"),
    ])
    .await;
    let admin = server.admin_token().await;
    let key = server.post("/api/v1/api-keys", Some(&admin), json!({"name": "k"})).await.body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(server.get("/api/v1/users/me", Some(&key)).await.status, 200);
    // The change feed connects on its own after the start: ready and live within seconds.
    let since = Instant::now();
    loop {
        let ready = server.get("/readyz", None).await;
        let state = (ready.status.as_u16(), ready.body.clone());
        if state == (200, json!({"status": "ready", "credential_cache": "live"})) {
            break;
        }
        assert!(since.elapsed() < Duration::from_secs(10), "not ready and live after 10 s: {state:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    surreal.child.kill().unwrap();
    surreal.child.wait().unwrap();

    let within = |what: &'static str| move |_| panic!("{what} hung while the database was down");
    // Readiness says so (and why) within its own deadline, while liveness still answers.
    let started = Instant::now();
    let unready = tokio::time::timeout(Duration::from_secs(10), server.get("/readyz", None))
        .await
        .unwrap_or_else(within("GET /readyz"));
    assert_eq!(unready.status, 503, "{}", unready.text);
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    assert_eq!(unready.body["status"], "unavailable");
    assert!(unready.body["problems"][0].as_str().unwrap().starts_with("store: "), "{}", unready.text);
    assert_eq!(server.get("/healthz", None).await.status, 200);
    for credential in [&admin, &key] {
        let soat = tokio::time::timeout(Duration::from_secs(60), server.get("/api/v1/users/me", Some(credential)))
            .await
            .unwrap_or_else(within("GET /api/v1/users/me"));
        assert_eq!(soat.status, 503, "{}", soat.text);
        assert_eq!(soat.body, json!({"error": "Service unavailable, please retry"}));
        assert!(soat.headers.contains_key("retry-after"));
        let firezone = tokio::time::timeout(Duration::from_secs(60), server.get("/v0/users", Some(credential)))
            .await
            .unwrap_or_else(within("GET /v0/users"));
        assert_eq!(firezone.status, 503, "{}", firezone.text);
        assert_eq!(firezone.body, json!({"error": "Service Unavailable"}));
    }
    let login = tokio::time::timeout(
        Duration::from_secs(60),
        server.post("/api/v1/users/login", None, json!({"username": "admin", "password": "supersecret"})),
    )
    .await
    .unwrap_or_else(within("POST /api/v1/users/login"));
    assert_eq!(login.status, 503, "{}", login.text);
}

/// An API key is refused from the moment it expires. Its expiry is moved into the past in the
/// database itself (through the SurrealDB server's own HTTP API), as the passing of time would.
#[tokio::test]
async fn an_expired_api_key_is_refused_at_once() {
    let surreal = SurrealServer::start().await;
    let server = replica(&surreal.endpoint()).await;
    let admin = server.admin_token().await;
    let created = server.post("/api/v1/api-keys", Some(&admin), json!({"name": "ci", "expires_in_days": 1})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let key = created.body["key"].as_str().unwrap().to_owned();
    assert_eq!(server.get("/api/v1/users/me", Some(&key)).await.status, 200);

    surreal.sql("UPDATE api_key SET expires_at = time::now() - 1m RETURN NONE;").await;

    // Changed behind the replica's back: its change feed drops the cached key within a second.
    refused_within_a_second(&server, "/api/v1/users/me", &key, 401).await;
    let refused = server.get("/api/v1/users/me", Some(&key)).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(server.get("/v0/users", Some(&key)).await.status, 401, "on every dialect");
    assert_eq!(server.get("/scim/v2/Users", Some(&key)).await.status, 401);
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 200, "the session is unaffected");
}

/// A tenant created, changed or deleted through one replica is served (or refused) by the
/// other within two seconds, and a deleted tenant leaves no record behind: every table is
/// read directly in SurrealDB afterwards.
#[tokio::test]
async fn tenants_are_live_on_every_replica_and_deletion_leaves_nothing() {
    let surreal = SurrealServer::start().await;
    let endpoint = surreal.endpoint();
    let a = replica(&endpoint).await;
    let b = replica(&endpoint).await;
    let operator = a.admin_token().await;

    let body = json!({"id": "acme", "hostnames": ["id.acme.test"],
                      "admin": {"username": "root", "password": "acme root password"}});
    let created = a.post("/api/v1/tenants", Some(&operator), body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let served = Instant::now();
    let admin = loop {
        let login = b
            .post("/t/acme/api/v1/users/login", None, json!({"username": "root", "password": "acme root password"}))
            .await;
        if login.status == 200 {
            break login.body["token"].as_str().unwrap().to_owned();
        }
        assert_eq!(login.status, 404, "{}", login.text);
        assert!(served.elapsed() < Duration::from_secs(2), "B did not serve the new tenant within 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // Fill every kind of record the tenant can own, through B.
    let prefix = "/t/acme";
    let user = b
        .post(&format!("{prefix}/api/v1/users"), Some(&admin), json!({"username": "bob", "password": "bobs password"}))
        .await;
    assert_eq!(user.status, 201, "{}", user.text);
    let user_id = user.body["id"].as_str().unwrap().to_owned();
    let firezone =
        b.post(&format!("{prefix}/v0/users"), Some(&admin), json!({"user": {"email": "carol@acme.test"}})).await;
    assert_eq!(firezone.status, 201, "{}", firezone.text);
    let document = json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"], "resource": ["*"]}]});
    let policy = b
        .post(&format!("{prefix}/api/v1/policies"), Some(&admin), json!({"name": "readers", "document": document}))
        .await;
    assert_eq!(policy.status, 201, "{}", policy.text);
    let group = json!({"name": "staff", "member_ids": [user_id]});
    assert_eq!(b.post(&format!("{prefix}/api/v1/groups"), Some(&admin), group).await.status, 201);
    assert_eq!(b.post(&format!("{prefix}/api/v1/api-keys"), Some(&admin), json!({"name": "ci"})).await.status, 201);
    let okta = json!({"id": "okta", "label": "Okta", "client_id": "tessera", "client_secret": "s3cret",
                      "discovery_document_uri": "https://okta.acme.test/.well-known/openid-configuration", "auto_create_users": false});
    let configuration = json!({"configuration": {"openid_connect_providers": [okta]}});
    let configured =
        b.call(reqwest::Method::PATCH, &format!("{prefix}/v0/configuration"), Some(&admin), Some(configuration)).await;
    assert_eq!(configured.status, 200, "{}", configured.text);
    let link = json!({"provider": "okta", "subject": "bob-1"});
    let linked = b.post(&format!("{prefix}/api/v1/users/{user_id}/identities"), Some(&admin), link).await;
    assert_eq!(linked.status, 201, "{}", linked.text);
    let scim = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "dave", "externalId": "00u-dave"});
    assert_eq!(b.post(&format!("{prefix}/scim/v2/Users"), Some(&admin), scim).await.status, 201);
    let wrong = json!({"username": "bob", "password": "wrong password"});
    assert_eq!(b.post(&format!("{prefix}/api/v1/users/login"), None, wrong).await.status, 401);
    // More users than the two sweeps of one purge batch (500) each, through SCIM Bulk.
    for request in 0..2 {
        let operations: Vec<Value> = (0..550)
            .map(|i| {
                json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                       "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                                "userName": format!("bulk{request}-{i}@acme.test")}})
            })
            .collect();
        let bulk = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": operations});
        let bulked = b.post(&format!("{prefix}/scim/v2/Bulk"), Some(&admin), bulk).await;
        assert_eq!(bulked.status, 200, "{}", bulked.text);
    }
    let counted = surreal.sql("SELECT count() AS n FROM user WHERE tenant = 'acme' GROUP ALL;").await;
    assert_eq!(counted[0][0]["n"], 1104, "root, bob, carol, dave and 1,100 from Bulk: {counted:?}");

    let tables = [
        "user",
        "identity",
        "session",
        "policy",
        "user_group",
        "api_key",
        "configuration",
        "sign_in_state",
        "login_attempt",
        "tenant_host",
        "tenant_lock",
    ];
    let query: String = tables
        .iter()
        .map(|table| format!("SELECT VALUE id FROM {table} WHERE tenant = 'acme' OR record::id(id) = 'acme' OR (type::is_array(record::id(id)) AND record::id(id)[0] = 'acme');"))
        .chain(["SELECT VALUE id FROM tenant WHERE name = 'acme';".to_owned()])
        .collect();
    // The same query finds the tenant's records in every table it owns now…
    let before = surreal.sql(&query).await;
    for (table, rows) in tables.iter().chain(["tenant"].iter()).zip(&before) {
        let empty_allowed = ["sign_in_state", "tenant_lock"].contains(table);
        assert!(
            empty_allowed || rows.as_array().is_some_and(|rows| !rows.is_empty()),
            "{table} has no records to delete"
        );
    }

    // A hostname moved through A routes on B within 2 s.
    let moved = a
        .call(
            reqwest::Method::PATCH,
            "/api/v1/tenants/acme",
            Some(&operator),
            Some(json!({"hostnames": ["login.acme.test"]})),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.text);
    let changed = Instant::now();
    loop {
        let reply = reqwest::Client::new()
            .get(b.url("/api/v1/users/me"))
            .header("host", "login.acme.test")
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap();
        if reply.status() == 200 {
            break;
        }
        assert!(changed.elapsed() < Duration::from_secs(2), "B did not route the new hostname within 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Deleted through B: A refuses the tenant within 2 s.
    let deleted = b.delete("/api/v1/tenants/acme", Some(&operator)).await;
    assert_eq!(deleted.status, 202, "{}", deleted.text);
    let refused = Instant::now();
    loop {
        let reply = a.get("/t/acme/api/v1/users/me", Some(&admin)).await;
        if reply.status == 404 {
            break;
        }
        assert!(refused.elapsed() < Duration::from_secs(2), "A still served the deleted tenant after 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let finished = Instant::now();
    while a.get("/api/v1/tenants/acme", Some(&operator)).await.status != 404 {
        assert!(finished.elapsed() < Duration::from_secs(30), "the deletion did not finish within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // …and none once the deletion has finished.
    let left = surreal.sql(&query).await;
    for (table, rows) in tables.iter().chain(["tenant"].iter()).zip(&left) {
        let left = rows.as_array().map_or(0, Vec::len);
        assert_eq!(left, 0, "{table} still holds {left} records of the deleted tenant, e.g. {:.300}", rows.to_string());
    }
    // The operator tenant is untouched.
    assert_eq!(a.get("/api/v1/users/me", Some(&operator)).await.status, 200);
}
