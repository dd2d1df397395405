//! The real `@soat/cli@0.7.0` from npm (pinned in tests/peers/package.json) against Tessera:
//! the seed's three commands, then list, get and delete. And the same seed commands with
//! `tessera` in place of `soat`.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{run_cli, Server};
use serde_json::Value;

fn soat_bin() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/node_modules/@soat/cli/bin/soat");
    assert!(bin.exists(), "{} is missing: run `npm ci --prefix tests/peers` (scripts/test does)", bin.display());
    bin
}

/// Runs `soat <args>` with a private HOME, returning (success, stdout, stderr).
fn soat(server: &Server, token: Option<&str>, args: &[&str]) -> (bool, String, String) {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new("node");
    command.arg(soat_bin()).args(args).env("HOME", home.path()).env("SOAT_BASE_URL", &server.base);
    command.env_remove("SOAT_TOKEN").env_remove("SOAT_PROFILE");
    if let Some(token) = token {
        command.env("SOAT_TOKEN", token);
    }
    let output = command.output().expect("node runs the SOAT CLI");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"))
}

#[tokio::test]
async fn the_real_soat_cli_runs_the_seed_examples() {
    let server = Server::start().await;

    let (ok, out, err) = soat(&server, None, &["bootstrap-user", "--username", "admin", "--password", "supersecret"]);
    assert!(ok, "{err}");
    let admin = json(&out);
    assert_eq!(admin["username"], "admin");
    assert_eq!(admin["role"], "admin");

    let (ok, out, err) = soat(&server, None, &["login-user", "--username", "admin", "--password", "supersecret"]);
    assert!(ok, "{err}");
    let token = json(&out)["token"].as_str().unwrap().to_owned();

    let (ok, out, err) =
        soat(&server, Some(&token), &["create-user", "--username", "alice", "--password", "alicepass"]);
    assert!(ok, "{err}");
    let alice = json(&out);
    assert_eq!(alice["role"], "user");
    let alice_id = alice["id"].as_str().unwrap().to_owned();

    let (ok, out, err) = soat(&server, Some(&token), &["list-users"]);
    assert!(ok, "{err}");
    let names: Vec<String> =
        json(&out).as_array().unwrap().iter().map(|u| u["username"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["admin", "alice"]);

    let (ok, out, err) = soat(&server, Some(&token), &["get-user", "--user-id", &alice_id]);
    assert!(ok, "{err}");
    assert_eq!(json(&out), alice);

    let (ok, _, err) = soat(&server, Some(&token), &["create-user", "--username", "alice", "--password", "alicepass"]);
    assert!(!ok);
    assert!(err.contains("409") && err.contains("Username already exists"), "{err}");

    let (ok, _, err) = soat(&server, Some(&token), &["delete-user", "--user-id", &alice_id]);
    assert!(ok, "{err}");
    let (ok, _, err) = soat(&server, Some(&token), &["get-user", "--user-id", &alice_id]);
    assert!(!ok && err.contains("404") && err.contains("User not found"), "{err}");

    let (ok, _, err) = soat(&server, Some("not-a-token"), &["list-users"]);
    assert!(!ok && err.contains("401"), "{err}");
}

#[tokio::test]
async fn tessera_client_verbs_mirror_the_soat_cli() {
    let server = Server::start().await;
    let url = server.base.clone();
    let env = [("TESSERA_URL", url.as_str())];
    let (ok, out, err) = run_cli(&["bootstrap-user", "--username", "admin", "--password", "supersecret"], &env, None);
    assert!(ok, "{err}");
    assert_eq!(json(&out)["role"], "admin");
    let (ok, out, err) = run_cli(&["login-user", "--username", "admin", "--password", "supersecret"], &env, None);
    assert!(ok, "{err}");
    let token = json(&out)["token"].as_str().unwrap().to_owned();
    let authed = [("TESSERA_URL", url.as_str()), ("TESSERA_TOKEN", token.as_str())];
    let (ok, out, err) = run_cli(&["create-user", "--username", "alice", "--password", "alicepass"], &authed, None);
    assert!(ok, "{err}");
    let alice_id = json(&out)["id"].as_str().unwrap().to_owned();
    let (ok, out, _) = run_cli(&["list-users"], &authed, None);
    assert!(ok);
    assert_eq!(json(&out).as_array().unwrap().len(), 2);
    let (ok, out, _) = run_cli(&["get-user", "--user-id", &alice_id], &authed, None);
    assert!(ok);
    assert_eq!(json(&out)["username"], "alice");
    let (ok, _, _) = run_cli(&["delete-user", "--user-id", &alice_id], &authed, None);
    assert!(ok);
    let (ok, _, err) = run_cli(&["get-user", "--user-id", &alice_id], &authed, None);
    assert!(!ok && err.contains("404"), "{err}");
    let (ok, out, _) = run_cli(&["list-sessions"], &authed, None);
    assert!(ok);
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn tessera_iam_verbs_mirror_the_soat_cli() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let url = server.base.clone();
    let env = [("TESSERA_URL", url.as_str()), ("TESSERA_TOKEN", admin.as_str())];
    let run = |args: &[&str]| {
        let (ok, out, err) = run_cli(args, &env, None);
        assert!(ok, "{args:?}: {err}");
        out
    };
    let document = r#"{"statement":[{"effect":"Allow","action":["users:ListUsers"]}]}"#;
    let policy = json(&run(&["create-policy", "--name", "readers", "--document", document]));
    let policy_id = policy["id"].as_str().unwrap().to_owned();
    assert_eq!(json(&run(&["list-policies"])).as_array().unwrap().len(), 1);
    assert_eq!(json(&run(&["get-policy", "--policy-id", &policy_id]))["name"], "readers");
    let updated =
        json(&run(&["update-policy", "--policy-id", &policy_id, "--description", "read only", "--document", document]));
    assert_eq!(updated["description"], "read only");
    assert_eq!(updated["name"], "readers");

    let alice = json(&run(&["create-user", "--username", "alice", "--password", "alicepass"]));
    let alice_id = alice["id"].as_str().unwrap().to_owned();
    run(&["attach-user-policies", "--user-id", &alice_id, "--policy-ids", &format!("[\"{policy_id}\"]")]);
    let attached = json(&run(&["get-user-policies", "--user-id", &alice_id]));
    assert_eq!(attached[0]["id"], policy_id.as_str());
    let alice_token = server.login("alice", "alicepass").await;
    assert_eq!(server.get("/api/v1/users", Some(&alice_token)).await.status, 200);

    let key = json(&run(&["create-api-key", "--name", "ci", "--policy-ids", &policy_id, "--expires-in-days", "7"]));
    let raw = key["key"].as_str().unwrap().to_owned();
    assert!(raw.starts_with("sk_"));
    assert_eq!(server.get("/api/v1/users", Some(&raw)).await.status, 200);
    assert_eq!(server.get("/api/v1/policies", Some(&raw)).await.status, 403, "the key is narrowed by its policy");
    assert_eq!(json(&run(&["list-api-keys"])).as_array().unwrap().len(), 1);
    run(&["delete-api-key", "--api-key-id", key["id"].as_str().unwrap()]);
    assert_eq!(server.get("/api/v1/users", Some(&raw)).await.status, 401);

    run(&["delete-policy", "--policy-id", &policy_id]);
    assert_eq!(server.get("/api/v1/users", Some(&alice_token)).await.status, 403);
    let (ok, _, err) = run_cli(&["create-policy", "--name", "x", "--document", "{not json"], &env, None);
    assert!(!ok && err.contains("--document"), "{err}");
    let (ok, _, err) = run_cli(&["create-policy", "--name", "x", "--document", r#"{"statement":[]}"#], &env, None);
    assert!(!ok && err.contains("Invalid policy document"), "{err}");
}
