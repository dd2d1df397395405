//! `tessera tenant create|list|get|update|delete`: as client verbs against a running server
//! (`TESSERA_URL`), and as operator commands on a stopped server's database, whose result a
//! server started afterwards serves.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{run_cli, Server};
use serde_json::{json, Value};

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|error| panic!("{error}: {text}"))
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|tenant| tenant["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn client_verbs_manage_tenants_on_a_running_server() {
    let server = Server::start().await;
    let operator = server.admin_token().await;
    let env = [
        ("TESSERA_URL", server.base.as_str()),
        ("TESSERA_TOKEN", operator.as_str()),
        ("ACME_ADMIN_PASSWORD", "acme root password"),
        ("TESSERA_TENANT_ADMIN_PASSWORD", "beta root password"),
    ];
    let run = |args: &[&str]| {
        let (ok, out, err) = run_cli(args, &env, None);
        assert!(ok, "{args:?}: {err}");
        parse(&out)
    };

    let acme = run(&[
        "tenant",
        "create",
        "acme",
        "--display-name",
        "Acme Corp",
        "--hostname",
        "ID.Acme.test",
        "--password-min-length",
        "12",
        "--session-lifetime-minutes",
        "90",
        "--admin-username",
        "root",
        "--admin-password-env",
        "ACME_ADMIN_PASSWORD",
    ]);
    assert_eq!(acme["id"], "acme");
    assert_eq!(acme["display_name"], "Acme Corp");
    assert_eq!(acme["hostnames"], json!(["id.acme.test"]));
    assert_eq!(acme["status"], "active");
    assert_eq!(acme["settings"]["password_min_length"], 12);
    assert_eq!(acme["settings"]["session_lifetime_minutes"], 90);
    assert_eq!(acme["settings"]["api_key_max_lifetime_days"], Value::Null);
    assert_eq!(acme["settings"]["local_auth_enabled"], true);
    assert_eq!(acme["urls"]["base_url"], format!("http://id.acme.test:{}", server.port));
    // The first admin, whose password came from the environment, signs in to its tenant.
    let acme_admin = server.login_in("/t/acme", "root", "acme root password").await;
    assert_eq!(server.get("/t/acme/api/v1/users/me", Some(&acme_admin)).await.status, 200);

    // The default variable, and a clear refusal when the named variable is not set.
    let beta = run(&["tenant", "create", "beta", "--admin-username", "root"]);
    assert_eq!(beta["urls"]["base_url"], format!("{}/t/beta", server.base));
    server.login_in("/t/beta", "root", "beta root password").await;
    let (ok, _, err) = run_cli(
        &["tenant", "create", "gamma", "--admin-username", "root", "--admin-password-env", "NO_SUCH_VARIABLE_SET"],
        &env,
        None,
    );
    assert!(!ok && err.contains("NO_SUCH_VARIABLE_SET"), "{err}");
    assert_eq!(server.get("/api/v1/tenants/gamma", Some(&operator)).await.status, 404, "nothing was created");
    // The server's refusals come through as `<status> <body>`.
    let (ok, _, err) = run_cli(&["tenant", "create", "Bad_Id"], &env, None);
    assert!(!ok && err.contains("400") && err.contains("must be 1 to 63"), "{err}");
    let (ok, _, err) = run_cli(&["tenant", "create", "acme"], &env, None);
    assert!(!ok && err.contains("409"), "{err}");

    assert_eq!(ids(&run(&["tenant", "list"])), ["acme", "beta", "default"]);
    let fetched = run(&["tenant", "get", "acme"]);
    assert_eq!(fetched, acme);

    let updated = run(&[
        "tenant",
        "update",
        "acme",
        "--display-name",
        "Acme",
        "--hostname",
        "id.acme.example",
        "--hostname",
        "login.acme.example",
        "--session-lifetime-minutes",
        "default",
        "--api-key-max-lifetime-days",
        "30",
        "--local-auth-enabled",
        "false",
    ]);
    assert_eq!(updated["display_name"], "Acme");
    assert_eq!(updated["hostnames"], json!(["id.acme.example", "login.acme.example"]));
    assert_eq!(updated["urls"]["base_url"], format!("http://id.acme.example:{}", server.port));
    assert_eq!(updated["settings"]["password_min_length"], 12, "settings not named are kept");
    assert_eq!(updated["settings"]["session_lifetime_minutes"], Value::Null, "`default` resets a setting");
    assert_eq!(updated["settings"]["api_key_max_lifetime_days"], 30);
    assert_eq!(updated["settings"]["local_auth_enabled"], false);
    assert_eq!(server.get("/api/v1/tenants/acme", Some(&operator)).await.body, updated, "the server agrees");
    let configuration = server.get("/t/acme/v0/configuration", Some(&acme_admin)).await;
    assert_eq!(configuration.body["data"]["local_auth_enabled"], false, "{}", configuration.text);

    let cleared = run(&["tenant", "update", "acme", "--clear-hostnames"]);
    assert_eq!(cleared["hostnames"], json!([]));
    assert_eq!(cleared["urls"]["base_url"], format!("{}/t/acme", server.base));
    assert_eq!(cleared["display_name"], "Acme", "what is not named is kept");
    let (ok, _, err) = run_cli(&["tenant", "update", "acme", "--password-min-length", "3"], &env, None);
    assert!(!ok && err.contains("400") && err.contains("between 8 and 128"), "{err}");

    // A caller of the operator tenant without the tenants:* actions is refused.
    let user =
        server.post("/api/v1/users", Some(&operator), json!({"username": "ops", "password": "ops password"})).await;
    assert_eq!(user.status, 201);
    let ops = server.login("ops", "ops password").await;
    let as_ops = [("TESSERA_URL", server.base.as_str()), ("TESSERA_TOKEN", ops.as_str())];
    let (ok, out, err) = run_cli(&["tenant", "list"], &as_ops, None);
    assert!(!ok && out.is_empty() && err.starts_with("403"), "{err}");
    let (ok, _, err) = run_cli(&["tenant", "delete", "acme"], &as_ops, None);
    assert!(!ok && err.starts_with("403"), "{err}");
    let (ok, _, err) = run_cli(&["tenant", "list", "--url", &server.base], &[], None);
    assert!(!ok && err.starts_with("401"), "without a token: {err}");
    assert_eq!(server.get("/t/acme/api/v1/users/me", Some(&acme_admin)).await.status, 200, "acme still stands");

    let deleted = run(&["tenant", "delete", "acme"]);
    assert_eq!(deleted["id"], "acme");
    assert_eq!(deleted["status"], "deleting");
    let gone = server.get("/t/acme/api/v1/users/me", Some(&acme_admin)).await;
    assert_eq!(gone.status, 404, "{}", gone.text);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (ok, _, err) = run_cli(&["tenant", "get", "acme"], &env, None);
        if !ok {
            assert!(err.starts_with("404") && err.contains("Tenant not found"), "{err}");
            break;
        }
        assert!(Instant::now() < deadline, "acme was not removed within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(ids(&run(&["tenant", "list"])), ["beta", "default"]);
}

/// Settings of a server (and of the CLI) on an embedded database in `db`.
fn embedded_env(db: &Path) -> Vec<(String, String)> {
    vec![
        ("TESSERA__DATABASE__ENDPOINT".into(), format!("surrealkv://{}", db.display())),
        ("TESSERA__SERVER__EXTERNAL_URL".into(), "https://id.example.test".into()),
        ("TESSERA__AUTH__ARGON2__MEMORY_KIB".into(), "1024".into()),
        ("TESSERA__AUTH__ARGON2__ITERATIONS".into(), "1".into()),
        ("TESSERA__LOG__LEVEL".into(), "warn".into()),
        ("ACME_ADMIN_PASSWORD".into(), "acme root password".into()),
    ]
}

fn refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect()
}

#[tokio::test]
async fn operator_commands_manage_tenants_on_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tessera.db");
    let env = embedded_env(&db);
    let env = refs(&env);
    let run = |args: &[&str]| {
        let (ok, out, err) = run_cli(args, &env, Some(dir.path()));
        assert!(ok, "{args:?}: {err}");
        parse(&out)
    };
    let refused = |args: &[&str]| {
        let (ok, out, err) = run_cli(args, &env, Some(dir.path()));
        assert!(!ok, "{args:?} succeeded: {out}");
        assert!(out.is_empty(), "{out}");
        err
    };

    let acme = run(&[
        "tenant",
        "create",
        "acme",
        "--display-name",
        "Acme Corp",
        "--hostname",
        "login.acme.test",
        "--password-min-length",
        "10",
        "--admin-username",
        "root",
        "--admin-password-env",
        "ACME_ADMIN_PASSWORD",
    ]);
    assert_eq!(acme["id"], "acme");
    assert_eq!(acme["status"], "active");
    assert_eq!(acme["hostnames"], json!(["login.acme.test"]));
    assert_eq!(acme["settings"]["password_min_length"], 10);
    assert_eq!(acme["urls"]["base_url"], "https://login.acme.test", "from server.external_url and the hostname");
    assert_eq!(acme["urls"]["scim_base_url"], "https://login.acme.test/scim/v2");
    let beta = run(&["tenant", "create", "beta"]);
    assert_eq!(beta["display_name"], "beta");
    assert_eq!(beta["urls"]["base_url"], "https://id.example.test/t/beta");

    // Domain refusals, each with its reason.
    let err = refused(&["tenant", "create", "Bad_Id"]);
    assert!(err.contains("id: must be 1 to 63 lowercase letters"), "{err}");
    let err = refused(&["tenant", "create", "default"]);
    assert!(err.contains("id: must be 1 to 63"), "{err}");
    let err = refused(&["tenant", "create", "acme"]);
    assert!(err.contains("tenant already exists"), "{err}");
    let err = refused(&["tenant", "create", "other", "--hostname", "login.acme.test"]);
    assert!(err.contains("hostname already taken"), "{err}");
    let err = refused(&["tenant", "create", "weak", "--password-min-length", "12", "--admin-username", "root"]);
    assert!(err.contains("TESSERA_TENANT_ADMIN_PASSWORD"), "{err}");
    let err = refused(&["tenant", "get", "nope"]);
    assert!(err.contains("not found"), "{err}");
    let err = refused(&["tenant", "update", "acme", "--session-lifetime-minutes", "1"]);
    assert!(err.contains("settings.session_lifetime_minutes: must be between 5 and 43200"), "{err}");
    let err = refused(&["tenant", "delete", "default"]);
    assert!(err.contains("the default tenant cannot be deleted"), "{err}");

    assert_eq!(ids(&run(&["tenant", "list"])), ["acme", "beta", "default"]);
    let updated = run(&[
        "tenant",
        "update",
        "acme",
        "--clear-hostnames",
        "--password-min-length",
        "default",
        "--session-lifetime-minutes",
        "60",
        "--local-auth-enabled",
        "false",
    ]);
    assert_eq!(updated["display_name"], "Acme Corp");
    assert_eq!(updated["hostnames"], json!([]));
    assert_eq!(updated["urls"]["base_url"], "https://id.example.test/t/acme");
    assert_eq!(updated["settings"]["password_min_length"], Value::Null);
    assert_eq!(updated["settings"]["session_lifetime_minutes"], 60);
    assert_eq!(updated["settings"]["local_auth_enabled"], false);
    assert_eq!(run(&["tenant", "get", "acme"]), updated);

    // A deletion on the database finishes before the command returns: the id is free at once
    // and nothing of the old tenant is left.
    let gamma =
        run(&["tenant", "create", "gamma", "--admin-username", "root", "--admin-password-env", "ACME_ADMIN_PASSWORD"]);
    assert_eq!(gamma["status"], "active");
    let started = Instant::now();
    let deleted = run(&["tenant", "delete", "gamma"]);
    assert_eq!(deleted["id"], "gamma");
    assert_eq!(deleted["status"], "deleting");
    assert!(started.elapsed() < Duration::from_secs(60));
    let err = refused(&["tenant", "get", "gamma"]);
    assert!(err.contains("not found"), "{err}");
    let err = refused(&["tenant", "delete", "gamma"]);
    assert!(err.contains("not found"), "{err}");
    let recreated = run(&["tenant", "create", "gamma"]);
    assert_eq!(recreated["status"], "active");
    assert_eq!(ids(&run(&["tenant", "list"])), ["acme", "beta", "default", "gamma"]);

    // A server on that database serves what the CLI left.
    let server = Server::start_with(&env).await;
    let operator = server.admin_token().await;
    let served = server.get("/api/v1/tenants/acme", Some(&operator)).await;
    assert_eq!(served.status, 200, "{}", served.text);
    assert_eq!(served.body, updated);
    let root = server.login_in("/t/acme", "root", "acme root password").await;
    let configuration = server.get("/t/acme/v0/configuration", Some(&root)).await;
    assert_eq!(configuration.body["data"]["local_auth_enabled"], false, "{}", configuration.text);
    let bootstrap = json!({"username": "admin", "password": "supersecret"});
    let beta_bootstrap = server.post("/t/beta/api/v1/users/bootstrap", None, bootstrap.clone()).await;
    assert_eq!(beta_bootstrap.status, 201, "{}", beta_bootstrap.text);
    let gamma_bootstrap = server.post("/t/gamma/api/v1/users/bootstrap", None, bootstrap).await;
    assert_eq!(
        gamma_bootstrap.status, 201,
        "the recreated tenant holds nothing of the deleted one: {}",
        gamma_bootstrap.text
    );
    let listed = server.get("/api/v1/tenants", Some(&operator)).await;
    assert_eq!(ids(&listed.body), ["acme", "beta", "default", "gamma"]);
}

#[test]
fn operator_commands_refuse_an_in_memory_database() {
    let (ok, out, err) = run_cli(&["tenant", "list"], &[("TESSERA__DATABASE__ENDPOINT", "mem://")], None);
    assert!(!ok && out.is_empty(), "{out}");
    assert!(err.contains("mem://") && err.contains("--url"), "{err}");
}
