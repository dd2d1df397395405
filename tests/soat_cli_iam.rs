//! The real `@soat/cli@0.7.0` (pinned in tests/peers/package.json) drives Tessera's IAM routes:
//! policies, user policy attachment and API keys; HTTP checks that what it set up really grants.
//!
//! The CLI JSON-parses a flag value that starts with `{` or `[` (parseFlagValue), so documents and
//! id lists are passed as JSON text; a repeated flag keeps only its last value.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::Server;
use serde_json::{json, Value};

fn soat_bin() -> PathBuf {
    let bin = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/node_modules/@soat/cli/bin/soat");
    assert!(bin.exists(), "{} is missing: run `npm ci --prefix tests/peers` (scripts/test does)", bin.display());
    bin
}

/// Runs `soat <args>` with a private HOME, returning (success, stdout, stderr).
fn soat(server: &Server, token: &str, args: &[&str]) -> (bool, String, String) {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new("node");
    command.arg(soat_bin()).args(args).env("HOME", home.path()).env("SOAT_BASE_URL", &server.base);
    command.env_remove("SOAT_PROFILE").env("SOAT_TOKEN", token);
    let output = command.output().expect("node runs the SOAT CLI");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Runs a command that must succeed and returns its JSON output.
fn soat_ok(server: &Server, token: &str, args: &[&str]) -> Value {
    let (ok, out, err) = soat(server, token, args);
    assert!(ok, "soat {args:?} failed: {err}\n{out}");
    parse(&out)
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"))
}

#[test]
fn the_cli_knows_the_iam_commands() {
    let output = Command::new("node").arg(soat_bin()).arg("list-commands").output().expect("node runs the SOAT CLI");
    assert!(output.status.success());
    let listing = String::from_utf8_lossy(&output.stdout);
    for command in [
        "create-policy",
        "list-policies",
        "get-policy",
        "update-policy",
        "delete-policy",
        "attach-user-policies",
        "get-user-policies",
        "create-api-key",
        "list-api-keys",
        "get-api-key",
        "delete-api-key",
    ] {
        assert!(listing.lines().any(|l| l.trim_start().starts_with(&format!("{command} "))), "{command}");
    }
}

#[tokio::test]
async fn the_real_soat_cli_manages_policies_that_really_grant() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let created =
        server.post("/api/v1/users", Some(&admin), json!({"username": "lena", "password": "lenapassword"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let lena_id = created.body["id"].as_str().unwrap().to_owned();
    let lena = server.login("lena", "lenapassword").await;
    assert_eq!(server.get("/api/v1/users", Some(&lena)).await.status, 403);

    // create-policy: the document is passed as JSON text.
    let document = json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"]}]});
    let policy = soat_ok(
        &server,
        &admin,
        &[
            "create-policy",
            "--name",
            "list-users",
            "--description",
            "Can list users",
            "--document",
            &document.to_string(),
        ],
    );
    let policy_id = policy["id"].as_str().unwrap_or_else(|| panic!("{policy}")).to_owned();
    assert!(policy_id.starts_with("pol_") && policy_id.len() == 36, "{policy_id}");
    assert_eq!(policy["name"], "list-users");
    assert_eq!(policy["description"], "Can list users");
    assert_eq!(policy["document"], document);
    assert_eq!(server.get(&format!("/api/v1/policies/{policy_id}"), Some(&admin)).await.body, policy);

    // attach-user-policies: the id list is passed as a JSON array.
    let ids = json!([policy_id]).to_string();
    let (ok, _, err) = soat(&server, &admin, &["attach-user-policies", "--user-id", &lena_id, "--policy-ids", &ids]);
    assert!(ok, "{err}");
    let attached = soat_ok(&server, &admin, &["get-user-policies", "--user-id", &lena_id]);
    assert_eq!(attached, json!([{"id": policy_id, "name": "list-users", "description": "Can list users"}]));

    // The attached policy really grants.
    let listed = server.get("/api/v1/users", Some(&lena)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    assert_eq!(listed.body.as_array().unwrap().len(), 2);
    assert_eq!(server.get(&format!("/api/v1/users/{lena_id}"), Some(&lena)).await.status, 403);

    // list-policies and get-policy.
    let all = soat_ok(&server, &admin, &["list-policies"]);
    assert_eq!(all, json!([policy]));
    let got = soat_ok(&server, &admin, &["get-policy", "--policy-id", &policy_id]);
    assert_eq!(got, policy);

    // update-policy (snake_case flags work as well): name and description kept, document replaced.
    let wider = json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers", "users:GetUser"]}]});
    let updated =
        soat_ok(&server, &admin, &["update-policy", "--policy_id", &policy_id, "--document", &wider.to_string()]);
    assert_eq!(updated["name"], "list-users");
    assert_eq!(updated["description"], "Can list users");
    assert_eq!(updated["document"], wider);
    assert_eq!(server.get(&format!("/api/v1/users/{lena_id}"), Some(&lena)).await.status, 200);

    // An invalid document: the CLI exits non-zero with the server's 400.
    let bad = json!({"statement": [{"effect": "Maybe", "action": ["users:ListUsers"]}]});
    let (ok, _, err) = soat(&server, &admin, &["create-policy", "--name", "bad", "--document", &bad.to_string()]);
    assert!(!ok);
    assert!(
        err.contains("400")
            && err.contains("Invalid policy document")
            && err.contains("statement[0].effect: must be one of Allow, Deny"),
        "{err}"
    );
    // A non-admin without policies is refused.
    let (ok, _, err) = soat(&server, &lena, &["list-policies"]);
    assert!(!ok && err.contains("403") && err.contains("Forbidden"), "{err}");

    // delete-policy: gone, detached, and no longer granting.
    let (ok, _, err) = soat(&server, &admin, &["delete-policy", "--policy-id", &policy_id]);
    assert!(ok, "{err}");
    let (ok, _, err) = soat(&server, &admin, &["get-policy", "--policy-id", &policy_id]);
    assert!(!ok && err.contains("404") && err.contains("Policy not found"), "{err}");
    assert_eq!(soat_ok(&server, &admin, &["get-user-policies", "--user-id", &lena_id]), json!([]));
    assert_eq!(soat_ok(&server, &admin, &["list-policies"]), json!([]));
    assert_eq!(server.get("/api/v1/users", Some(&lena)).await.status, 403);

    // Attaching an unknown policy fails with the server's 404.
    let (ok, _, err) = soat(&server, &admin, &["attach-user-policies", "--user-id", &lena_id, "--policy-ids", &ids]);
    assert!(!ok && err.contains("404") && err.contains("Policy not found"), "{err}");
}

#[tokio::test]
async fn the_real_soat_cli_manages_api_keys() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let admin_id = server.get("/api/v1/users/me", Some(&admin)).await.body["id"].as_str().unwrap().to_owned();
    let list_only = soat_ok(
        &server,
        &admin,
        &[
            "create-policy",
            "--name",
            "list-only",
            "--document",
            &json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers"]}]}).to_string(),
        ],
    );
    let policy_id = list_only["id"].as_str().unwrap().to_owned();

    let created =
        soat_ok(&server, &admin, &["create-api-key", "--name", "ci", "--policy-ids", &json!([policy_id]).to_string()]);
    let key = created["key"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
    let key_id = created["id"].as_str().unwrap().to_owned();
    assert!(key.starts_with("sk_"), "{key}");
    assert!(key_id.starts_with("key_") && key_id.len() == 36, "{key_id}");
    assert_eq!(created["key_prefix"].as_str().unwrap(), &key[..8]);
    assert_eq!(created["user_id"], admin_id.as_str());
    assert_eq!(created["policy_ids"], json!([policy_id]));

    let listed = soat_ok(&server, &admin, &["list-api-keys"]);
    let records = listed.as_array().unwrap_or_else(|| panic!("{listed}"));
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["id"], key_id.as_str());
    assert!(records[0].get("key").is_none(), "{listed}");
    let got = soat_ok(&server, &admin, &["get-api-key", "--api-key-id", &key_id]);
    assert_eq!(&got, &records[0]);

    // The key works, narrowed by its policy, and through the CLI as well.
    assert_eq!(server.get("/api/v1/users", Some(&key)).await.status, 200);
    let refused = server.post("/api/v1/users", Some(&key), json!({"username": "eve", "password": "evepassword"})).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body, json!({"error": "Forbidden"}));
    let via_cli = soat_ok(&server, &key, &["list-users"]);
    assert_eq!(via_cli.as_array().unwrap().len(), 1);
    let (ok, _, err) = soat(&server, &key, &["create-user", "--username", "eve", "--password", "evepassword"]);
    assert!(!ok && err.contains("403"), "{err}");

    // delete-api-key: the key stops at once.
    let (ok, _, err) = soat(&server, &admin, &["delete-api-key", "--api-key-id", &key_id]);
    assert!(ok, "{err}");
    assert_eq!(server.get("/api/v1/users", Some(&key)).await.status, 401);
    assert_eq!(server.get("/v0/users", Some(&key)).await.body, json!({"errors": {"auth": "no_resource_found"}}));
    assert_eq!(soat_ok(&server, &admin, &["list-api-keys"]), json!([]));
    let (ok, _, err) = soat(&server, &admin, &["get-api-key", "--api-key-id", &key_id]);
    assert!(!ok && err.contains("404") && err.contains("API key not found"), "{err}");
}
