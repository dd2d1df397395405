//! The admin console in a real browser: Debian Chromium driven by npm playwright-core
//! (tests/peers/browser/console.mjs) walks the main journeys end to end against a Tessera server
//! and the real OpenID provider peer, runs axe-core on every page (no serious or critical
//! violation allowed) and writes a screenshot of every page to docs/console/.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::oidc::OidcProvider;
use common::Server;
use serde_json::Value;

/// The journeys console.mjs must report, each passed: one missing is a failure too.
const JOURNEYS: &[&str] = &[
    "sign-in",
    "create-user",
    "disable-user",
    "revoke-session",
    "delete-user",
    "group-policy",
    "api-key",
    "oidc-provider",
    "scim",
    "audit",
    "tenants",
];

/// The OpenID client the console registers, and the provider's one user.
const CLIENT_ID: &str = "tessera";
const CLIENT_SECRET: &str = "a-client-secret";
const OIDC_USERS: &str = r#"[{"sub":"u1","email":"alice@idp.test","email_verified":true,"name":"Alice"}]"#;

/// How long the browser script may take, and how long the test waits for it beyond that.
const SCRIPT_TIMEOUT_MS: u64 = 50_000;
const GRACE: Duration = Duration::from_secs(20);

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Fails (never skips) when a piece the run needs is not installed.
fn assert_installed() {
    let chromium = std::env::var("TESSERA_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".to_owned());
    assert!(Path::new(&chromium).exists(), "{chromium} is missing: run scripts/setup --peers");
    for package in ["playwright-core", "axe-core/axe.min.js"] {
        assert!(
            root().join("tests/peers/node_modules").join(package).exists(),
            "tests/peers/node_modules/{package} is missing: run scripts/setup --peers"
        );
    }
}

/// Where the screenshots go: `TESSERA_CONSOLE_SCREENSHOTS`, else docs/console (linked from the README).
fn screenshots() -> PathBuf {
    std::env::var_os("TESSERA_CONSOLE_SCREENSHOTS").map(PathBuf::from).unwrap_or_else(|| root().join("docs/console"))
}

/// Reads a child's pipe to the end on its own thread, so neither pipe can fill up and block it.
fn drain(pipe: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = String::new();
        let _ = { pipe }.read_to_string(&mut text);
        text
    })
}

/// Waits for the child, killing it past `deadline`; whether it exited 0 within the time.
fn wait(child: &mut Child, deadline: Instant) -> Option<bool> {
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status.success());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Runs console.mjs with `args`; its verdict (the JSON line), panicking with its whole output
/// when it failed, timed out or printed something else.
fn run_browser(args: Vec<String>) -> Value {
    let mut child = Command::new("node")
        .arg(root().join("tests/peers/browser/console.mjs"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs the browser script (scripts/setup --peers installs it)");
    let (stdout, stderr) = (drain(child.stdout.take().unwrap()), drain(child.stderr.take().unwrap()));
    let exited = wait(&mut child, Instant::now() + Duration::from_millis(SCRIPT_TIMEOUT_MS) + GRACE);
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let verdict: Option<Value> = serde_json::from_str(stdout.trim()).ok();
    match (exited, verdict) {
        (Some(true), Some(verdict)) => verdict,
        (exited, verdict) => {
            let pretty = verdict.map(|v| format!("{v:#}")).unwrap_or(stdout);
            panic!(
                "the browser run failed (exited 0: {exited:?})\n--- verdict ---\n{pretty}\n--- progress ---\n{stderr}"
            )
        }
    }
}

#[tokio::test]
async fn an_administrator_walks_the_console_in_a_real_browser() {
    assert_installed();
    let server = Server::start().await;
    let token = server.admin_token().await;
    let redirect = format!("{}/auth/oidc/corp/callback/", server.base);
    let provider =
        OidcProvider::start_with(CLIENT_ID, CLIENT_SECRET, &[redirect], OIDC_USERS, false, &["--interactive"]);

    let args = [
        ("--base", server.base.clone()),
        ("--admin", "admin".to_owned()),
        ("--admin-password", "supersecret".to_owned()),
        ("--admin-token", token.clone()),
        ("--oidc-issuer", provider.issuer.clone()),
        ("--oidc-client-id", CLIENT_ID.to_owned()),
        ("--oidc-client-secret", CLIENT_SECRET.to_owned()),
        ("--oidc-login", "alice@idp.test".to_owned()),
        ("--screenshots", screenshots().display().to_string()),
        ("--timeout-ms", SCRIPT_TIMEOUT_MS.to_string()),
    ];
    let args = args.into_iter().flat_map(|(flag, value)| [flag.to_owned(), value]).collect();
    let verdict = tokio::task::spawn_blocking(move || run_browser(args)).await.unwrap();

    assert_eq!(verdict["ok"], true, "{verdict:#}");
    let walked: Vec<&str> = verdict["journeys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|journey| journey["ok"] == true)
        .filter_map(|journey| journey["name"].as_str())
        .collect();
    for journey in JOURNEYS {
        assert!(walked.contains(journey), "journey {journey} did not pass: {verdict:#}");
    }
    assert_eq!(verdict["violations"], Value::Array(vec![]), "{verdict:#}");
    assert_eq!(verdict["blocked"], Value::Array(vec![]), "no outside requests: {verdict:#}");
    let pages = verdict["pages"].as_array().unwrap();
    for page in pages {
        let shot = std::fs::read_dir(screenshots())
            .unwrap()
            .filter_map(Result::ok)
            .any(|file| file.file_name().to_string_lossy().ends_with(&format!("-{}.png", page.as_str().unwrap())));
        assert!(shot, "no screenshot of {page}");
    }
}
