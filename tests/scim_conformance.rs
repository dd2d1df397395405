//! SCIM conformance: the real PyPI `scim2-tester` (every tag, via tests/peers/scim/run_tester.py)
//! against the real server, on the default tenant and on a second one, authenticated with the
//! credentials `tessera create-scim-token` issues — which are scoped to their tenant and to the
//! `scim:*` actions.

mod common;

use std::path::Path;
use std::process::Command;

use common::{run_cli, Server};
use reqwest::Method;
use serde_json::json;

fn embedded_env(db: &Path) -> Vec<(String, String)> {
    vec![
        ("TESSERA__DATABASE__ENDPOINT".into(), format!("surrealkv://{}", db.display())),
        ("TESSERA__SERVER__TENANTS".into(), "acme".into()),
        ("TESSERA__AUTH__ARGON2__MEMORY_KIB".into(), "1024".into()),
        ("TESSERA__AUTH__ARGON2__ITERATIONS".into(), "1".into()),
        ("TESSERA__LOG__LEVEL".into(), "warn".into()),
    ]
}

fn refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect()
}

/// Runs `tessera create-scim-token` and returns (printed base URL, token).
fn scim_token(db: &Path, tenant: &str) -> (String, String) {
    let (ok, out, err) = run_cli(&["create-scim-token", "--tenant", tenant], &refs(&embedded_env(db)), None);
    assert!(ok, "create-scim-token --tenant {tenant}: {err}");
    let line = |prefix: &str| {
        out.lines()
            .find_map(|line| line.strip_prefix(prefix))
            .map(|rest| rest.trim().to_owned())
            .unwrap_or_else(|| panic!("no {prefix:?} in {out}"))
    };
    let token = line("Bearer token:");
    assert!(token.starts_with("sk_"), "{out}");
    (line("SCIM base URL:"), token)
}

/// Runs every scim2-tester check against `base`; panics with the tester's report on any failure.
fn run_tester(base: &str, token: &str) {
    let runner = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/scim/run_tester.py");
    let output =
        Command::new("python3").arg(runner).arg(base).arg(token).output().expect("run python3 (scripts/setup --peers)");
    let report = String::from_utf8_lossy(&output.stdout);
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "scim2-tester failed on {base}:\n{report}\n{errors}");
    let summary = report.lines().last().unwrap_or_default();
    assert!(summary.contains(" 0 failed") && summary.contains(" 0 skipped"), "{report}");
    let passed: u32 = summary.split_whitespace().next().and_then(|count| count.parse().ok()).unwrap_or(0);
    assert!(passed >= 130, "only {passed} checks ran on {base}:\n{report}");
}

#[tokio::test]
async fn scim2_tester_passes_every_check_on_two_tenants_with_issued_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tessera.db");
    // An admin first (bootstrap needs an empty tenant), then the operator issues the tokens
    // on the stopped server's database.
    let first = Server::start_with(&refs(&embedded_env(&db))).await;
    let admin = first.admin_token().await;
    first.stop();
    let (default_base, default_token) = scim_token(&db, "default");
    let (acme_base, acme_token) = scim_token(&db, "acme");
    assert!(default_base.ends_with("/scim/v2") && !default_base.contains("/t/"), "{default_base}");
    assert!(acme_base.ends_with("/t/acme/scim/v2"), "{acme_base}");
    let (ok, _, err) = run_cli(&["create-scim-token", "--tenant", "nope"], &refs(&embedded_env(&db)), None);
    assert!(!ok && err.contains("tenant nope does not exist"), "{err}");

    let server = Server::start_with(&refs(&embedded_env(&db))).await;
    run_tester(&server.url("/scim/v2"), &default_token);
    run_tester(&server.url("/t/acme/scim/v2"), &acme_token);

    // A tenant's credential is worthless in another tenant.
    let foreign = server.get("/scim/v2/Users", Some(&acme_token)).await;
    assert_eq!(foreign.status, 401, "{}", foreign.text);
    assert_eq!(foreign.body["schemas"], json!(["urn:ietf:params:scim:api:messages:2.0:Error"]));
    // It provisions and does nothing else: the other APIs refuse it.
    for path in ["/api/v1/users", "/api/v1/policies", "/api/v1/groups"] {
        let refused = server.get(path, Some(&default_token)).await;
        assert_eq!(refused.status, 403, "{path}: {}", refused.text);
    }
    let refused = server.get("/v0/configuration", Some(&default_token)).await;
    assert!(refused.status == 401 || refused.status == 403, "{}", refused.text);
    // …and no admin accounts.
    let me = server.get("/api/v1/users/me", Some(&admin)).await;
    let admin_id = me.body["id"].as_str().unwrap().trim_start_matches("usr_").to_owned();
    let admin_id = uuid::Uuid::parse_str(&admin_id).unwrap();
    let deactivate = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                            "Operations": [{"op": "replace", "value": {"active": false}}]});
    let refused =
        server.call(Method::PATCH, &format!("/scim/v2/Users/{admin_id}"), Some(&default_token), Some(deactivate)).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 200, "the admin is untouched");
    // Issuing another token reuses the account and its policy.
    server.stop();
    let (_, second) = scim_token(&db, "default");
    assert_ne!(second, default_token);
}
