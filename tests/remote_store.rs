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

    // Carol signs in on B; deleting her on A makes that token fail on B (and A) at once.
    let carol_b = b.login("carol@test", "carolpass123").await;
    assert_eq!(b.get("/api/v1/users/me", Some(&carol_b)).await.status, 200);
    assert_eq!(a.delete("/v0/users/carol@test", Some(&admin_a)).await.status, 204);
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
    surreal.child.kill().unwrap();
    surreal.child.wait().unwrap();

    let within = |what: &'static str| move |_| panic!("{what} hung while the database was down");
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

    let sql = reqwest::Client::new()
        .post(format!("http://127.0.0.1:{}/sql", surreal.port))
        .basic_auth(ROOT_USER, Some(ROOT_PASS))
        .header("surreal-ns", "tessera")
        .header("surreal-db", "tessera")
        .header("Accept", "application/json")
        .body("UPDATE api_key SET expires_at = time::now() - 1m RETURN NONE;")
        .send()
        .await
        .unwrap();
    let status = sql.status();
    let answer = sql.text().await.unwrap();
    assert!(status.is_success() && answer.contains("\"OK\""), "{status} {answer}");

    let refused = server.get("/api/v1/users/me", Some(&key)).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(server.get("/v0/users", Some(&key)).await.status, 401, "on every dialect");
    assert_eq!(server.get("/scim/v2/Users", Some(&key)).await.status, 401);
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 200, "the session is unaffected");
}
