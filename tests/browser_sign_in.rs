//! One real browser (Debian Chromium driven by npm playwright-core,
//! tests/peers/browser/sign_in.mjs) clicks "Sign in with …" on Tessera's sign-in page, fills the
//! real OpenID provider's login form, and lands on the account page signed in.

mod common;

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::oidc::OidcProvider;
use common::Server;
use reqwest::Method;
use serde_json::{json, Value};

/// Runs the browser script and returns its JSON verdict.
fn drive_browser(start: &str, label: &str, login: &str, expect: &str) -> Value {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("tests/peers/node_modules/playwright-core").exists(),
        "playwright-core is not installed: run scripts/setup --peers"
    );
    let mut child = Command::new("node")
        .arg(root.join("tests/peers/browser/sign_in.mjs"))
        .args(["--start", start, "--provider-label", label, "--login", login, "--expect-text", expect])
        .args(["--timeout-ms", "45000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("node runs the browser script");
    let deadline = Instant::now() + Duration::from_secs(75);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser script did not finish");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    serde_json::from_str(out.trim()).unwrap_or_else(|_| panic!("unexpected browser output: {out:?}"))
}

#[tokio::test]
async fn a_person_clicks_sign_in_with_the_provider_and_lands_signed_in() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let redirect = format!("{}/auth/oidc/corp/callback/", server.base);
    let users = r#"[{"sub":"u1","email":"alice@idp.test","email_verified":true,"name":"Alice"}]"#;
    let provider =
        OidcProvider::start_with("tessera", "a-client-secret", &[redirect], users, false, &["--interactive"]);
    let configuration = json!({"configuration": {"openid_connect_providers": [{
        "id": "corp", "label": "Corp SSO", "client_id": "tessera", "client_secret": "a-client-secret",
        "discovery_document_uri": format!("{}/.well-known/openid-configuration", provider.issuer),
        "auto_create_users": true}]}});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(configuration)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let start = server.url("/sign_in");
    let verdict =
        tokio::task::spawn_blocking(move || drive_browser(&start, "Corp SSO", "alice@idp.test", "Signed in as"))
            .await
            .unwrap();
    assert_eq!(verdict["ok"], true, "{verdict:#}");
    assert_eq!(verdict["url"], server.url("/account"), "{verdict:#}");
    assert!(verdict["text"].as_str().unwrap().contains("alice@idp.test"), "{verdict:#}");
    let cookies = verdict["cookies"].as_array().unwrap();
    assert!(cookies.iter().any(|name| name == "tessera_session"), "{verdict:#}");
    assert!(verdict["blocked"].as_array().unwrap().is_empty(), "no outside requests: {verdict:#}");
    let record = server.get("/v0/users/alice@idp.test", Some(&admin)).await;
    assert_eq!(record.body["data"]["last_signed_in_method"], "corp", "{}", record.text);
}
