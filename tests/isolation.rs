//! The isolation matrix: every route of every dialect, taken from the router itself
//! (`tessera routes`, so a new route cannot be left out), called with each kind of credential of
//! tenant A (admin session token, `sk_` key, session cookie, SCIM provisioning key) against
//! tenant B — by B's path prefix, by B's hostname, and with B's record ids under A's own prefix.
//! No call may succeed on B's records, no answer may contain B's data, and B is unchanged.

mod common;

use common::{run_cli, Server};
use reqwest::Method;
use serde_json::{json, Value};

/// What only tenant B's records contain; no answer to A may.
const MARKER: &str = "beta-secret";

/// B's record ids, to fill the path templates with.
struct Beta {
    user_uuid: String,
    user_id: String,
    policy_id: String,
    group_id: String,
    group_uuid: String,
    api_key_id: String,
    session_id: String,
    identity_id: String,
}

impl Beta {
    /// `template` with every `{param}` filled with B's value for it; a parameter this test
    /// does not know fails it, so a new kind of route gets added here deliberately.
    fn fill(&self, template: &str, tenant: &str) -> String {
        let mut path = String::new();
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            let end = rest[start..].find('}').unwrap() + start;
            path.push_str(&rest[..start]);
            let param = &rest[start + 1..end];
            let before = &rest[..start];
            let value = match param {
                "tenant" => tenant.to_owned(),
                "tenant_id" => "beta".to_owned(),
                "user_id" => self.user_id.clone(),
                "policy_id" => self.policy_id.clone(),
                "group_id" => self.group_id.clone(),
                "api_key_id" => self.api_key_id.clone(),
                "session_id" => self.session_id.clone(),
                "identity_id" => self.identity_id.clone(),
                "provider" => "okta-beta".to_owned(),
                "urn" => "urn:ietf:params:scim:schemas:core:2.0:User".to_owned(),
                "id" if before.ends_with("/Groups/") => self.group_uuid.clone(),
                "id" if before.ends_with("/Users/") || before.ends_with("/users/") => self.user_uuid.clone(),
                "id" if before.ends_with("/ResourceTypes/") => "User".to_owned(),
                other => panic!("the isolation matrix does not know how to fill {{{other}}} in {template}"),
            };
            path.push_str(&value);
            rest = &rest[end + 1..];
        }
        path.push_str(rest);
        path
    }
}

/// A body that parses on every route, so that the refusal is about the tenant, not the shape.
fn body_for(path: &str) -> Value {
    if path.contains("/scim/v2/") {
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations": [{"op": "replace", "path": "displayName", "value": "intruder"}]})
    } else if path.contains("/v0/") {
        json!({"user": {"email": "intruder@alpha.test"}, "configuration": {"local_auth_enabled": false}})
    } else {
        json!({"username": "alpha-root", "password": "alpha root password", "name": "intruder",
               "policy_ids": [], "member_ids": [], "provider": "okta-beta", "subject": "intruder"})
    }
}

/// A credential of tenant A, and how it is presented.
enum Credential {
    Bearer(String),
    Cookie(String),
}

impl Credential {
    fn name(&self) -> &'static str {
        match self {
            Credential::Bearer(token) if token.starts_with("sk_") => "sk_ key",
            Credential::Bearer(_) => "session token",
            Credential::Cookie(_) => "session cookie",
        }
    }
}

async fn send(server: &Server, method: &str, path: &str, host: Option<&str>, credential: &Credential) -> (u16, String) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let method = Method::from_bytes(method.as_bytes()).unwrap();
    let mut request = client.request(method.clone(), server.url(path));
    if let Some(host) = host {
        request = request.header("host", host);
    }
    request = match credential {
        Credential::Bearer(token) => request.bearer_auth(token),
        Credential::Cookie(token) => request.header("cookie", format!("tessera_session={token}")),
    };
    if [Method::POST, Method::PUT, Method::PATCH].contains(&method) {
        if path.ends_with("/auth/identity/callback") || path.contains("/sp/consume/") {
            request =
                request.form(&[("username", "alpha-root"), ("password", "alpha root password"), ("SAMLResponse", "x")]);
        } else {
            request = request.json(&body_for(path));
        }
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Routes anyone may call without a credential (sign-in, public metadata, discovery), and what
/// they may answer a stranger. Every other route must answer A's credentials in B with
/// 401, 403 or 404.
fn public_statuses(method: &str, template: &str) -> Option<&'static [u16]> {
    let path = template.trim_start_matches("/t/{tenant}");
    // The sign-in routes are braked per client address (429), as every stranger's are.
    Some(match (method, path) {
        ("GET", "/healthz" | "/readyz") => &[200],
        // The API description: public, and naming only the tenant's own base URL.
        ("GET", "/openapi.json") => &[200],
        ("POST", "/api/v1/users/bootstrap") => &[409],
        ("POST", "/api/v1/users/login") => &[401, 429],
        ("GET", "/sign_in") => &[200],
        ("POST", "/auth/identity/callback") => &[400, 401, 403, 429],
        ("GET", "/account") => &[401],
        // The pages' stylesheet and script: public, the same for every tenant.
        ("GET", "/assets/tessera.css" | "/assets/tessera.js") => &[200],
        ("POST" | "DELETE", "/sign_out") => &[303],
        // Starting a sign-in with B's provider is public by design; its IdP is unreachable here.
        ("GET", "/auth/oidc/{provider}") => &[302, 303, 403, 429],
        ("GET", "/auth/oidc/{provider}/callback" | "/auth/oidc/{provider}/callback/") => &[400, 403],
        ("GET", "/auth/saml/sp/metadata/{provider}" | "/auth/saml/auth/signin/{provider}") => &[404, 429],
        ("POST", "/auth/saml/sp/consume/{provider}") => &[400, 404],
        ("GET", "/scim/v2/ServiceProviderConfig" | "/scim/v2/ResourceTypes" | "/scim/v2/ResourceTypes/{id}")
        | ("GET", "/scim/v2/Schemas" | "/scim/v2/Schemas/{urn}") => &[200, 401],
        _ => return None,
    })
}

#[tokio::test]
async fn no_credential_of_one_tenant_reaches_another_on_any_route() {
    let (listed, stdout, stderr) = run_cli(&["routes"], &[], None);
    assert!(listed, "tessera routes failed: {stderr}");
    let routes: Vec<(String, String)> = stdout
        .lines()
        .map(|line| {
            let (method, path) = line.split_once(' ').unwrap();
            (method.to_owned(), path.to_owned())
        })
        .collect();
    assert!(routes.len() > 100, "{stdout}");

    let server = Server::start().await;
    let operator = server.admin_token().await;
    for (id, admin, host) in [("alpha", "alpha-root", "alpha.test"), ("beta", "beta-root", "beta.test")] {
        let body = json!({"id": id, "hostnames": [host], "admin": {"username": admin, "password": format!("{id} root password")}});
        assert_eq!(server.post("/api/v1/tenants", Some(&operator), body).await.status, 201);
    }

    // Tenant B: a user, a policy, a group, a key, a session, a provider and a linked identity.
    let beta_admin = server.login_in("/t/beta", "beta-root", "beta root password").await;
    let okta = json!({"id": "okta-beta", "label": "Beta SSO", "client_id": "beta", "client_secret": "beta-secret-client",
                      "discovery_document_uri": "http://127.0.0.1:9/.well-known/openid-configuration", "auto_create_users": false});
    let configuration = json!({"configuration": {"openid_connect_providers": [okta]}});
    let configured =
        server.call(Method::PATCH, "/t/beta/v0/configuration", Some(&beta_admin), Some(configuration)).await;
    assert_eq!(configured.status, 200, "{}", configured.text);
    let user =
        server.post("/t/beta/v0/users", Some(&beta_admin), json!({"user": {"email": "bob@beta-secret.test"}})).await;
    assert_eq!(user.status, 201, "{}", user.text);
    let user_uuid = user.body["data"]["id"].as_str().unwrap().to_owned();
    let user_id = format!("usr_{}", user_uuid.replace('-', ""));
    let document = json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"], "resource": ["*"]}]});
    let policy = server
        .post("/t/beta/api/v1/policies", Some(&beta_admin), json!({"name": "beta-secret-policy", "document": document}))
        .await;
    assert_eq!(policy.status, 201, "{}", policy.text);
    let group = server
        .post("/t/beta/api/v1/groups", Some(&beta_admin), json!({"name": "beta-secret-group", "member_ids": [user_id]}))
        .await;
    assert_eq!(group.status, 201, "{}", group.text);
    let group_id = group.body["id"].as_str().unwrap().to_owned();
    let key = server.post("/t/beta/api/v1/api-keys", Some(&beta_admin), json!({"name": "beta-secret-key"})).await;
    assert_eq!(key.status, 201, "{}", key.text);
    let link = json!({"provider": "okta-beta", "subject": "beta-secret-subject"});
    let linked = server.post(&format!("/t/beta/api/v1/users/{user_id}/identities"), Some(&beta_admin), link).await;
    assert_eq!(linked.status, 201, "{}", linked.text);
    let sessions = server.get("/t/beta/api/v1/sessions", Some(&beta_admin)).await;
    let beta = Beta {
        group_uuid: uuid_of(&group_id),
        user_uuid,
        user_id,
        policy_id: policy.body["id"].as_str().unwrap().to_owned(),
        group_id,
        api_key_id: key.body["id"].as_str().unwrap().to_owned(),
        session_id: sessions.body[0]["id"].as_str().unwrap().to_owned(),
        identity_id: linked.body["id"].as_str().unwrap().to_owned(),
    };
    let snapshot = beta_state(&server, &beta_admin).await;
    assert!(snapshot.contains(MARKER), "B's state carries the marker: {snapshot}");

    // Tenant A's credentials: an admin's session (as a token and as a cookie), its sk_ key,
    // and the key of an account allowed exactly the SCIM actions.
    let alpha_admin = server.login_in("/t/alpha", "alpha-root", "alpha root password").await;
    let alpha_key = server.post("/t/alpha/api/v1/api-keys", Some(&alpha_admin), json!({"name": "ci"})).await;
    let alpha_key = alpha_key.body["key"].as_str().unwrap().to_owned();
    let scim_user = server
        .post(
            "/t/alpha/api/v1/users",
            Some(&alpha_admin),
            json!({"username": "provisioner", "password": "provisioner password"}),
        )
        .await;
    let scim_document = json!({"statement": [{"effect": "Allow", "action": ["scim:*"], "resource": ["*"]}]});
    let scim_policy = server
        .post("/t/alpha/api/v1/policies", Some(&alpha_admin), json!({"name": "scim", "document": scim_document}))
        .await;
    let attach = json!({"policy_ids": [scim_policy.body["id"]]});
    let scim_user_id = scim_user.body["id"].as_str().unwrap();
    server
        .call(Method::PUT, &format!("/t/alpha/api/v1/users/{scim_user_id}/policies"), Some(&alpha_admin), Some(attach))
        .await;
    let provisioner = server.login_in("/t/alpha", "provisioner", "provisioner password").await;
    let scim_key = server.post("/t/alpha/api/v1/api-keys", Some(&provisioner), json!({"name": "scim"})).await;
    let scim_key = scim_key.body["key"].as_str().unwrap().to_owned();
    let credentials = [
        Credential::Bearer(alpha_admin.clone()),
        Credential::Bearer(alpha_key),
        Credential::Cookie(alpha_admin.clone()),
        Credential::Bearer(scim_key),
    ];

    let mut calls = 0;
    let mut failures = Vec::new();
    for (method, template) in &routes {
        let prefixed = template.starts_with("/t/{tenant}");
        // By B's prefix (prefixed routes) or by B's hostname (bare ones).
        let (path, host) = if prefixed {
            (beta.fill(template, "beta"), None)
        } else {
            (beta.fill(template, "beta"), Some("beta.test"))
        };
        for credential in &credentials {
            let (status, text) = send(&server, method, &path, host, credential).await;
            calls += 1;
            let allowed: &[u16] = public_statuses(method, template).unwrap_or(&[401, 403, 404]);
            if !allowed.contains(&status) || text.contains(MARKER) {
                failures.push(format!(
                    "{method} {path} (host {host:?}) with A's {}: {status} {text:.200}",
                    credential.name()
                ));
            }
        }
        // B's record ids under A's own prefix: nothing of B is found there.
        if prefixed
            && template.matches('{').count() > 1
            && !template.contains("{provider}")
            && !template.contains("/Schemas/")
            && !template.contains("/ResourceTypes/")
        {
            let path = beta.fill(template, "alpha");
            for credential in &credentials {
                let (status, text) = send(&server, method, &path, None, credential).await;
                calls += 1;
                if (200..300).contains(&status) || status >= 500 || text.contains(MARKER) {
                    failures.push(format!("{method} {path} with A's {}: {status} {text:.200}", credential.name()));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {calls} calls crossed the tenant boundary:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(calls > 400, "only {calls} calls");
    assert_eq!(beta_state(&server, &beta_admin).await, snapshot, "B's records changed");
}

/// The record uuid behind a public id (`grp_<32 hex>`).
fn uuid_of(public_id: &str) -> String {
    let hex = public_id.split_once('_').unwrap().1;
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// Everything B's admin can read about B, as one text.
async fn beta_state(server: &Server, admin: &str) -> String {
    let mut state = String::new();
    for path in
        ["/api/v1/users", "/api/v1/policies", "/api/v1/groups", "/api/v1/api-keys", "/v0/users", "/v0/configuration"]
    {
        let reply = server.get(&format!("/t/beta{path}"), Some(admin)).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        state.push_str(&reply.text);
    }
    let users: Vec<Value> = server.get("/t/beta/api/v1/users", Some(admin)).await.body.as_array().unwrap().clone();
    for user in users {
        let id = user["id"].as_str().unwrap();
        for suffix in ["identities", "policies"] {
            state.push_str(&server.get(&format!("/t/beta/api/v1/users/{id}/{suffix}"), Some(admin)).await.text);
        }
    }
    state
}
