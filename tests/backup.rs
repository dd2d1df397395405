//! `tessera backup` and `tessera restore` on the embedded store: a directory with two tenants
//! is exported, restored into an empty database beside its key file, and served again — the
//! same accounts, passwords, tokens, keys and audit trail. A restore never merges into a
//! database that holds data, and without the key file the old tokens are worthless.

mod common;

use std::path::Path;

use common::{run_cli, Server};
use serde_json::json;

fn env_for(db: &Path) -> Vec<(String, String)> {
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

#[tokio::test]
async fn a_backup_restores_into_an_empty_database_with_everything_working() {
    let dir = tempfile::tempdir().unwrap();
    let (db_a, db_b, db_c) = (dir.path().join("a.db"), dir.path().join("b.db"), dir.path().join("c.db"));
    let env_a = env_for(&db_a);
    let server = Server::start_with(&refs(&env_a)).await;
    let admin = server.admin_token().await;
    let alice = json!({"username": "alice", "password": "alice-password-1", "role": "user"});
    assert_eq!(server.post("/api/v1/users", Some(&admin), alice).await.status, 201);
    let key = server.post("/api/v1/api-keys", Some(&admin), json!({"name": "backup-test"})).await;
    assert_eq!(key.status, 201);
    let key = key.body["key"].as_str().unwrap().to_owned();
    assert_eq!(server.post("/api/v1/groups", Some(&admin), json!({"name": "staff"})).await.status, 201);
    let acme_admin = server.admin_token_in("/t/acme").await;
    let bob = json!({"username": "bob", "password": "bob-password-12", "role": "user"});
    assert_eq!(server.post("/t/acme/api/v1/users", Some(&acme_admin), bob).await.status, 201);
    server.stop();

    let backup = dir.path().join("tessera.surql");
    let backup_arg = backup.to_str().unwrap();
    let (ok, out, err) = run_cli(&["backup", "--file", backup_arg], &refs(&env_a), None);
    assert!(ok, "{err}");
    assert!(out.contains("master key"), "the operator is told to keep the key: {out}");
    let text = std::fs::read_to_string(&backup).unwrap();
    assert!(text.contains("alice") && text.contains("bob"), "both tenants are in the export");
    assert!(!text.contains("alice-password-1") && !text.contains(&key), "no clear secret in a backup");

    // Restored beside a copy of the key file, the directory works as before.
    std::fs::copy(dir.path().join("a.db.key"), dir.path().join("b.db.key")).unwrap();
    let env_b = env_for(&db_b);
    let (ok, _, err) = run_cli(&["restore", "--file", backup_arg], &refs(&env_b), None);
    assert!(ok, "{err}");
    let (ok, _, err) = run_cli(&["restore", "--file", backup_arg], &refs(&env_b), None);
    assert!(!ok && err.contains("restore only into an empty one"), "a second restore must not merge: {err}");
    let restored = Server::start_with(&refs(&env_b)).await;
    assert_eq!(restored.get("/api/v1/users/me", Some(&admin)).await.status, 200, "tokens issued before the backup");
    assert_eq!(restored.get("/api/v1/users/me", Some(&key)).await.status, 200, "API keys");
    restored.login_in("", "alice", "alice-password-1").await;
    restored.login_in("/t/acme", "bob", "bob-password-12").await;
    let groups = restored.get("/api/v1/groups", Some(&admin)).await;
    assert_eq!(groups.body[0]["name"], "staff");
    let trail = restored.get("/api/v1/audit-events?action=groups:CreateGroup", Some(&admin)).await;
    assert_eq!(trail.body["events"].as_array().unwrap().len(), 1, "the audit trail came along: {}", trail.text);
    restored.stop();

    // Without the key file the data is there, but nothing issued before can be used.
    let env_c = env_for(&db_c);
    let (ok, _, err) = run_cli(&["restore", "--file", backup_arg], &refs(&env_c), None);
    assert!(ok, "{err}");
    let keyless = Server::start_with(&refs(&env_c)).await;
    assert_eq!(keyless.get("/api/v1/users/me", Some(&admin)).await.status, 401);
    keyless.login_in("", "alice", "alice-password-1").await;
    keyless.stop();

    // A missing file is a clear error.
    let (ok, _, err) = run_cli(&["restore", "--file", "/nonexistent/backup.surql"], &refs(&env_c), None);
    assert!(!ok && err.contains("is not a file"), "{err}");
}
