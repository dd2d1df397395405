//! The client verbs: each is one HTTP call to the SOAT API of a running server; the response
//! body is printed as JSON, errors go to stderr with a non-zero exit.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::cli::{Client, Command};

/// Runs a client verb; `Ok(false)` when the server answered with an error.
pub async fn run(command: Command) -> anyhow::Result<bool> {
    let (client, method, path, body) = match command {
        Command::BootstrapUser(c) => (
            c.client,
            Method::POST,
            "/users/bootstrap".to_owned(),
            Some(json!({"username": c.username, "password": c.password})),
        ),
        Command::LoginUser(c) => (
            c.client,
            Method::POST,
            "/users/login".to_owned(),
            Some(json!({"username": c.username, "password": c.password})),
        ),
        Command::CreateUser { credentials: c, role } => {
            let mut body = json!({"username": c.username, "password": c.password});
            if let Some(role) = role {
                body["role"] = json!(role);
            }
            (c.client, Method::POST, "/users".to_owned(), Some(body))
        }
        Command::ListUsers(client) => (client, Method::GET, "/users".to_owned(), None),
        Command::GetUser(u) => (u.client, Method::GET, format!("/users/{}", u.user_id), None),
        Command::DeleteUser(u) => (u.client, Method::DELETE, format!("/users/{}", u.user_id), None),
        Command::ListSessions(client) => (client, Method::GET, "/sessions".to_owned(), None),
        Command::DeleteSession { session_id, client } => {
            (client, Method::DELETE, format!("/sessions/{session_id}"), None)
        }
        other => anyhow::bail!("{other:?} is not a client command"),
    };
    call(&client, method, &path, body).await
}

async fn call(client: &Client, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<bool> {
    let base = client.url.trim_end_matches('/');
    let prefix = client.tenant.as_deref().map(|tenant| format!("/t/{tenant}")).unwrap_or_default();
    let url = format!("{base}{prefix}/api/v1{path}");
    let mut request = reqwest::Client::new().request(method, &url);
    if let Some(token) = &client.token {
        request = request.bearer_auth(token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.map_err(|error| anyhow::anyhow!("cannot reach {url}: {error}"))?;
    let status = response.status();
    let text = response.text().await?;
    let pretty = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|value| serde_json::to_string_pretty(&value).ok())
        .unwrap_or(text);
    if status.is_success() {
        if status != StatusCode::NO_CONTENT {
            println!("{pretty}");
        }
        Ok(true)
    } else {
        eprintln!("{} {}", status.as_u16(), pretty);
        Ok(false)
    }
}
