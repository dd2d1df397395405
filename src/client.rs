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
        Command::CreatePolicy { name, description, document, client } => {
            let body = json!({"name": name, "description": description, "document": parse_document(&document)?});
            (client, Method::POST, "/policies".to_owned(), Some(body))
        }
        Command::ListPolicies(client) => (client, Method::GET, "/policies".to_owned(), None),
        Command::GetPolicy(p) => (p.client, Method::GET, format!("/policies/{}", p.policy_id), None),
        Command::UpdatePolicy { policy, name, description, document } => {
            let mut body = json!({"document": parse_document(&document)?});
            if let Some(name) = name {
                body["name"] = json!(name);
            }
            if let Some(description) = description {
                body["description"] = json!(description);
            }
            (policy.client, Method::PUT, format!("/policies/{}", policy.policy_id), Some(body))
        }
        Command::DeletePolicy(p) => (p.client, Method::DELETE, format!("/policies/{}", p.policy_id), None),
        Command::AttachUserPolicies { user, policy_ids } => {
            let body = json!({"policy_ids": parse_ids(&policy_ids)});
            (user.client, Method::PUT, format!("/users/{}/policies", user.user_id), Some(body))
        }
        Command::GetUserPolicies(u) => (u.client, Method::GET, format!("/users/{}/policies", u.user_id), None),
        Command::CreateApiKey { name, policy_ids, expires_in_days, client } => {
            let mut body = json!({"name": name});
            if let Some(ids) = policy_ids {
                body["policy_ids"] = json!(parse_ids(&ids));
            }
            if let Some(days) = expires_in_days {
                body["expires_in_days"] = json!(days);
            }
            (client, Method::POST, "/api-keys".to_owned(), Some(body))
        }
        Command::ListApiKeys(client) => (client, Method::GET, "/api-keys".to_owned(), None),
        Command::DeleteApiKey { api_key_id, client } => {
            (client, Method::DELETE, format!("/api-keys/{api_key_id}"), None)
        }
        Command::AuditEvents { from, to, actor, action, target, outcome, cursor, limit, client } => {
            let limit = limit.map(|limit| limit.to_string());
            let filters = [
                ("from", from),
                ("to", to),
                ("actor", actor),
                ("action", action),
                ("target", target),
                ("outcome", outcome),
                ("cursor", cursor),
                ("limit", limit),
            ];
            let mut query = reqwest::Url::parse("http://query.invalid/")?;
            for (key, value) in filters {
                if let Some(value) = value {
                    query.query_pairs_mut().append_pair(key, &value);
                }
            }
            (client, Method::GET, format!("/audit-events?{}", query.query().unwrap_or_default()), None)
        }
        Command::ListSessions(client) => (client, Method::GET, "/sessions".to_owned(), None),
        Command::DeleteSession { session_id, client } => {
            (client, Method::DELETE, format!("/sessions/{session_id}"), None)
        }
        other => anyhow::bail!("{other:?} is not a client command"),
    };
    call(&client, method, &path, body).await
}

/// A policy document given on the command line.
fn parse_document(text: &str) -> anyhow::Result<Value> {
    serde_json::from_str(text).map_err(|error| anyhow::anyhow!("--document is not valid JSON: {error}"))
}

/// Ids as a JSON array of strings (the SOAT CLI's form) or a comma-separated list.
fn parse_ids(text: &str) -> Vec<String> {
    match serde_json::from_str::<Vec<String>>(text) {
        Ok(ids) => ids,
        Err(_) => text.split(',').map(str::trim).filter(|id| !id.is_empty()).map(str::to_owned).collect(),
    }
}

/// One call to `<url>[/t/<tenant>]/api/v1<path>`: prints the body (pretty JSON) on success,
/// `<status> <body>` on stderr otherwise (then `Ok(false)`).
pub async fn call(client: &Client, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<bool> {
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

#[cfg(test)]
mod tests {
    use super::parse_ids;

    #[test]
    fn ids_come_as_json_or_commas() {
        assert_eq!(parse_ids(r#"["pol_a","pol_b"]"#), ["pol_a", "pol_b"]);
        assert_eq!(parse_ids("pol_a, pol_b"), ["pol_a", "pol_b"]);
        assert!(parse_ids("").is_empty());
    }
}
