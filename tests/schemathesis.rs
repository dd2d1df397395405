//! Schemathesis (PyPI `schemathesis`, pinned with its closure in
//! tests/peers/schemathesis-requirements.txt) against the served `/openapi.json` of a real
//! server, with the session token of its admin: every operation of the SOAT, Firezone, SCIM,
//! tenant, sign-in and operational routes, every phase (examples, coverage, fuzzing, stateful),
//! every check, a fixed seed and a bounded number of examples. It must report no failure: no
//! 5xx, no response outside its declared statuses, content type or schema, no schema-violating
//! request accepted, no schema-valid request refused but for the rules the document cannot
//! express (tests/peers/schemathesis/schemathesis.toml lists them), no method answered but the
//! declared ones (405 with `Allow` otherwise), no hang (a 10 s limit per request).
//!
//! The run keeps every route but one in: `/sign_out` (POST and DELETE) is excluded because it
//! ends the session of the bearer token it is called with, the run's only credential (it takes
//! no parameter or body to fuzz). Requests whose path names the admin itself, its session or the
//! `default` tenant the run works in are redirected to an id that does not exist by the hooks
//! (tests/peers/schemathesis/hooks.py), so that the run cannot delete, disable, demote or sign
//! out its own caller, or reconfigure its own tenant, halfway through; the same file lets a
//! tenant under (asynchronous) deletion be read as `deleting` after its DELETE, and nothing else.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Server;
use serde_json::{json, Value};

const PEERS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers");
/// Examples per operation and phase: the run takes about two minutes and a half on 2 cores
/// with a debug build.
const MAX_EXAMPLES: &str = "120";
const SEED: &str = "20261130";
/// The run is killed (and fails) past this.
const DEADLINE: Duration = Duration::from_secs(540);

/// The real interpreter (not a pyenv shim, whose PID is not Python's), and Schemathesis'
/// version there; fails naming the setup step when either is missing.
fn schemathesis_python() -> String {
    let pinned = std::fs::read_to_string(format!("{PEERS}/schemathesis-requirements.txt"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("schemathesis=="))
        .expect("schemathesis is pinned")
        .trim()
        .to_owned();
    let missing = "Schemathesis is not installed: install the test peers with scripts/setup --peers";
    let output = Command::new("python3")
        .args(["-c", "import sys, importlib.metadata as m; print(sys.executable); print(m.version('schemathesis'))"])
        .output()
        .unwrap_or_else(|error| panic!("{missing} (python3: {error})"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{missing}\n{}", String::from_utf8_lossy(&output.stderr));
    let mut lines = stdout.lines();
    let python = lines.next().expect("sys.executable").to_owned();
    let version = lines.next().unwrap_or_default();
    assert_eq!(version, pinned, "Schemathesis {version} is installed, {pinned} is pinned: run scripts/setup --peers");
    python
}

/// Records for the run to find (list answers, ids its links and resource pool reuse): a user,
/// a policy, a group with that user, an API key, a SCIM user and group, a Firezone user and a
/// second tenant.
async fn seed(server: &Server, token: &str) {
    let created = |reply: &common::Reply, what: &str| {
        assert!(reply.status.is_success(), "seeding {what}: {} {}", reply.status, reply.text);
        reply.body["id"].as_str().map(str::to_owned)
    };
    let user = server
        .post("/api/v1/users", Some(token), json!({"username": "seed-user", "password": "seed-password-1"}))
        .await;
    let user_id = created(&user, "a user").expect("user id");
    let document = json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"], "resource": ["*"]}]});
    let policy = server
        .post("/api/v1/policies", Some(token), json!({"name": "seed-policy", "description": "d", "document": document}))
        .await;
    created(&policy, "a policy");
    let group =
        server.post("/api/v1/groups", Some(token), json!({"name": "seed-group", "member_ids": [user_id]})).await;
    created(&group, "a group");
    let key = server.post("/api/v1/api-keys", Some(token), json!({"name": "seed-key"})).await;
    created(&key, "an API key");
    let scim_user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "scim-seed@example.com",
        "name": {"givenName": "Scim", "familyName": "Seed"},
        "emails": [{"value": "scim-seed@example.com", "type": "work", "primary": true}],
    });
    created(&server.post("/scim/v2/Users", Some(token), scim_user).await, "a SCIM user");
    let scim_group = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "scim-seed"});
    created(&server.post("/scim/v2/Groups", Some(token), scim_group).await, "a SCIM group");
    let firezone = server.post("/v0/users", Some(token), json!({"user": {"email": "firezone-seed@example.com"}})).await;
    assert!(firezone.status.is_success(), "seeding a Firezone user: {}", firezone.text);
    created(&server.post("/api/v1/tenants", Some(token), json!({"id": "seed-tenant"})).await, "a tenant");
}

/// What the hooks must keep the run away from: the admin (by its SOAT id, its UUID — the
/// Firezone and SCIM id — and its username), its session, and the `default` tenant.
async fn spared_ids(server: &Server, token: &str) -> String {
    let me = server.get("/api/v1/users/me", Some(token)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let user_id = me.body["id"].as_str().unwrap().to_owned();
    let hex = user_id.strip_prefix("usr_").expect("usr_ id");
    let uuid = uuid::Uuid::parse_str(hex).expect("a UUID").hyphenated().to_string();
    let sessions = server.get("/api/v1/sessions", Some(token)).await;
    let sessions = sessions.body.as_array().expect("the session list").clone();
    assert_eq!(sessions.len(), 1, "{sessions:?}");
    let session_id = sessions[0]["id"].as_str().unwrap().to_owned();
    [user_id, uuid, session_id, "admin".to_owned(), "default".to_owned()].join(",")
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[tokio::test]
async fn schemathesis_finds_nothing_wrong_with_the_served_document() {
    let python = schemathesis_python();
    // Its example database and crash files, and the server's log (thousands of refused
    // requests), go to a directory of their own.
    let workdir = tempfile::tempdir().unwrap();
    let server_log = workdir.path().join("server.log");
    let server = Server::start_logging_to(&[], &server_log).await;
    let token = server.admin_token().await;
    seed(&server, &token).await;
    let spared = spared_ids(&server, &token).await;

    let stdout_path = workdir.path().join("stdout.txt");
    let authorization = format!("Authorization: Bearer {token}");
    let url = server.url("/openapi.json");
    let args = [
        "-m",
        "schemathesis.cli",
        "--config-file",
        &format!("{PEERS}/schemathesis/schemathesis.toml"),
        "run",
        &url,
        "--header",
        &authorization,
        "--seed",
        SEED,
        "--max-examples",
        MAX_EXAMPLES,
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--checks",
        "all",
        "--workers",
        "2",
        "--request-timeout",
        "10",
        "--generation-database",
        "none",
        "--exclude-path",
        "/sign_out",
        "--no-color",
    ];
    let started = Instant::now();
    let mut child = Command::new(&python)
        .args(args)
        .current_dir(workdir.path())
        .env("SCHEMATHESIS_HOOKS", format!("{PEERS}/schemathesis/hooks.py"))
        .env("TESSERA_SPARED_IDS", &spared)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|error| panic!("{python} -m schemathesis.cli: {error}"));
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let elapsed = started.elapsed();
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read;
        let _ = pipe.read_to_string(&mut stderr);
    }
    let report = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    println!("schemathesis ran for {elapsed:?}\n{}", tail(&report, 40));
    let log = || tail(&std::fs::read_to_string(&server_log).unwrap_or_default(), 40);
    let Some(status) = status else {
        panic!("schemathesis did not finish within {DEADLINE:?}:\n{report}\n{stderr}\nserver log:\n{}", log());
    };
    assert!(status.success(), "schemathesis reported failures ({status}):\n{report}\n{stderr}\nserver log:\n{}", log());

    // It really ran: every selected operation was tested, in every phase that applies.
    let selected = report.lines().find_map(|line| line.trim().strip_prefix("Selected: ")).expect("a summary");
    let (selected, total) = selected.split_once('/').expect("Selected: N/M");
    let tested = report.lines().find_map(|line| line.trim().strip_prefix("Tested: ")).expect("a summary");
    assert_eq!(tested, selected, "not every selected operation was tested:\n{report}");
    let (selected, total): (usize, usize) = (selected.parse().unwrap(), total.parse().unwrap());
    assert_eq!(total - selected, 2, "only POST and DELETE /sign_out are left out:\n{report}");
    for phase in ["Coverage", "Fuzzing", "Stateful"] {
        assert!(
            report.lines().any(|line| line.contains('✅') && line.contains(phase)),
            "{phase} did not pass:\n{report}"
        );
    }

    // The admin's session survived the run (the hooks kept it away from it).
    let me: Value = server.get("/api/v1/users/me", Some(&token)).await.body;
    assert_eq!(me["username"], "admin", "the run's credential was lost:\n{report}");
}
