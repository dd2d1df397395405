//! Test harness: starts the real `tessera` binary on a free loopback port and talks HTTP to it.
#![allow(dead_code)]

pub mod console;
pub mod oidc;
pub mod saml;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// A running server process, killed by its PID when dropped.
pub struct Server {
    child: Child,
    pub base: String,
    pub port: u16,
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The binary under test.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tessera"))
}

/// Environment every test server gets: loopback, in-memory store, cheap argon2id.
fn base_env(port: u16) -> Vec<(String, String)> {
    [
        ("TESSERA__SERVER__BIND", format!("127.0.0.1:{port}")),
        ("TESSERA__SERVER__EXTERNAL_URL", format!("http://127.0.0.1:{port}")),
        ("TESSERA__DATABASE__ENDPOINT", "mem://".to_owned()),
        ("TESSERA__AUTH__ARGON2__MEMORY_KIB", "1024".to_owned()),
        ("TESSERA__AUTH__ARGON2__ITERATIONS", "1".to_owned()),
        ("TESSERA__LOG__LEVEL", "warn".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

impl Server {
    /// A fresh server on `mem://`.
    pub async fn start() -> Server {
        Server::start_with(&[]).await
    }

    /// A server with extra environment (overriding the defaults above).
    pub async fn start_with(extra: &[(&str, &str)]) -> Server {
        Server::spawn(extra, Stdio::inherit()).await
    }

    /// A server whose log (stderr) goes to `log`, for tests that read what it wrote.
    pub async fn start_logging_to(extra: &[(&str, &str)], log: &Path) -> Server {
        let file = std::fs::File::create(log).expect("create the log file");
        Server::spawn(extra, Stdio::from(file)).await
    }

    async fn spawn(extra: &[(&str, &str)], stderr: Stdio) -> Server {
        let port = free_port();
        let mut command = Command::new(binary());
        command.arg("serve").env_remove("SOAT_ADMIN_USERNAME").env_remove("SOAT_ADMIN_PASSWORD");
        for (key, value) in base_env(port) {
            command.env(key, value);
        }
        for (key, value) in extra {
            command.env(key, value);
        }
        let child = command.stdout(Stdio::null()).stderr(stderr).spawn().expect("spawn tessera");
        let server = Server { child, base: format!("http://127.0.0.1:{port}"), port };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        while Instant::now() < deadline {
            if let Ok(response) = client.get(format!("{}/healthz", self.base)).send().await {
                if response.status() == StatusCode::OK {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("tessera did not become ready on {}", self.base);
    }

    /// Absolute URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// Sends a request and returns status, headers and the JSON body (`Null` when empty).
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Reply {
        let mut request = reqwest::Client::new().request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Reply::from(request.send().await.expect("request")).await
    }

    /// Sends raw bytes with a JSON content type.
    pub async fn raw(&self, method: Method, path: &str, token: Option<&str>, body: Vec<u8>) -> Reply {
        let mut request = reqwest::Client::new()
            .request(method, self.url(path))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Reply::from(request.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Reply {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::DELETE, path, token, None).await
    }

    /// Bootstraps `admin` (in the tenant prefix given, "" for default) and returns its token.
    pub async fn admin_token_in(&self, prefix: &str) -> String {
        let reply = self
            .post(
                &format!("{prefix}/api/v1/users/bootstrap"),
                None,
                json!({"username": "admin", "password": "supersecret"}),
            )
            .await;
        assert_eq!(reply.status, 201, "{:?}", reply.body);
        self.login_in(prefix, "admin", "supersecret").await
    }

    pub async fn admin_token(&self) -> String {
        self.admin_token_in("").await
    }

    /// Logs in and returns the token.
    pub async fn login_in(&self, prefix: &str, username: &str, password: &str) -> String {
        let reply = self
            .post(&format!("{prefix}/api/v1/users/login"), None, json!({"username": username, "password": password}))
            .await;
        assert_eq!(reply.status, 200, "{:?}", reply.body);
        reply.body["token"].as_str().unwrap().to_owned()
    }

    pub async fn login(&self, username: &str, password: &str) -> String {
        self.login_in("", username, password).await
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit on its own; its status, if it did.
    pub fn wait_for_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// Stops the process and waits for it.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl Reply {
    async fn from(response: reqwest::Response) -> Reply {
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply { status, headers, text, body }
    }
}

/// Runs the `tessera` binary with arguments and environment, returning (success, stdout,
/// stderr); a run that outlives 60 s is killed and counts as a failure.
pub fn run_cli(args: &[&str], env: &[(&str, &str)], dir: Option<&Path>) -> (bool, String, String) {
    let mut command = Command::new(binary());
    command.args(args).env_remove("SOAT_ADMIN_USERNAME").env_remove("SOAT_ADMIN_PASSWORD");
    for (key, value) in env {
        command.env(key, value);
    }
    if let Some(dir) = dir {
        command.current_dir(dir);
    }
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("run tessera");
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut timed_out = false;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            timed_out = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("collect output");
    (
        output.status.success() && !timed_out,
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Asserts that a timestamp has Firezone's shape: six fraction digits and `Z`.
pub fn assert_firezone_timestamp(value: &Value) {
    let text = value.as_str().unwrap_or_else(|| panic!("{value:?} is not a string"));
    let (_, fraction) = text.rsplit_once('.').unwrap();
    assert!(fraction.len() == 7 && fraction.ends_with('Z'), "{text}");
    assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
}
