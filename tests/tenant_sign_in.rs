//! Two tenants, each with its own OIDC provider entry and `auto_create_users` setting, against
//! the real OpenID provider on loopback: a sign-in creates users only in its own tenant, and a
//! sign-in started in one tenant cannot be finished in the other.

mod common;

use common::oidc::OidcProvider;
use common::Server;
use reqwest::Method;
use serde_json::json;

const CLIENT_ID: &str = "tessera";
const CLIENT_SECRET: &str = "a-client-secret";
const USERS: &str = r#"[{"sub":"u1","email":"alice@idp.test","email_verified":true,"name":"Alice"}]"#;

struct Setup {
    server: Server,
    provider: OidcProvider,
    /// Admin tokens of acme (auto-create on) and globex (auto-create off).
    acme: String,
    globex: String,
    operator: String,
}

async fn setup() -> Setup {
    let server = Server::start().await;
    let operator = server.admin_token().await;
    let redirects: Vec<String> =
        ["acme", "globex"].iter().map(|id| format!("{}/t/{id}/auth/oidc/idp/callback/", server.base)).collect();
    let provider = OidcProvider::start(CLIENT_ID, CLIENT_SECRET, &redirects, USERS, true);
    let mut admins = Vec::new();
    for (id, auto_create) in [("acme", true), ("globex", false)] {
        let body = json!({"id": id, "admin": {"username": "root", "password": format!("{id} root password")}});
        assert_eq!(server.post("/api/v1/tenants", Some(&operator), body).await.status, 201);
        let admin = server.login_in(&format!("/t/{id}"), "root", &format!("{id} root password")).await;
        let configuration = json!({"configuration": {"openid_connect_providers": [{
            "id": "idp", "label": "Test IdP", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "discovery_document_uri": format!("{}/.well-known/openid-configuration", provider.issuer),
            "auto_create_users": auto_create}]}});
        let reply =
            server.call(Method::PATCH, &format!("/t/{id}/v0/configuration"), Some(&admin), Some(configuration)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
        admins.push(admin);
    }
    let globex = admins.pop().unwrap();
    let acme = admins.pop().unwrap();
    Setup { server, provider, acme, globex, operator }
}

/// The usernames of a tenant's users.
async fn usernames(server: &Server, prefix: &str, admin: &str) -> Vec<String> {
    let users = server.get(&format!("{prefix}/api/v1/users"), Some(admin)).await;
    assert_eq!(users.status, 200, "{}", users.text);
    let mut names: Vec<String> =
        users.body.as_array().unwrap().iter().map(|user| user["username"].as_str().unwrap().to_owned()).collect();
    names.sort();
    names
}

#[tokio::test]
async fn a_sign_in_creates_users_only_in_its_own_tenant() {
    let Setup { server, provider, acme, globex, operator } = setup().await;
    let browser = || reqwest::Client::builder().cookie_store(true).build().unwrap();

    provider.login_as("u1").await;
    let refused = browser().get(server.url("/t/globex/auth/oidc/idp")).send().await.unwrap();
    assert_eq!(refused.status(), 403, "globex does not auto-create");
    assert_eq!(usernames(&server, "/t/globex", &globex).await, ["root"]);

    // acme's own session lifetime applies to OIDC sessions too.
    let lifetime = json!({"settings": {"session_lifetime_minutes": 45}});
    let changed = server.call(Method::PATCH, "/api/v1/tenants/acme", Some(&operator), Some(lifetime)).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    provider.login_as("u1").await;
    let alice = browser();
    let signed_in = alice.get(server.url("/t/acme/auth/oidc/idp")).send().await.unwrap();
    assert_eq!(signed_in.status(), 200);
    assert_eq!(signed_in.url().as_str(), server.url("/t/acme/account"));
    let sessions: serde_json::Value =
        alice.get(server.url("/t/acme/api/v1/sessions")).send().await.unwrap().json().await.unwrap();
    let session = &sessions[0];
    let at = |key: &str| chrono::DateTime::parse_from_rfc3339(session[key].as_str().unwrap()).unwrap();
    assert_eq!((at("expires_at") - at("created_at")).num_minutes(), 45, "{sessions}");
    assert_eq!(usernames(&server, "/t/acme", &acme).await, ["alice@idp.test", "root"]);
    assert_eq!(usernames(&server, "/t/globex", &globex).await, ["root"], "nothing was created in globex");
    assert_eq!(usernames(&server, "", &operator).await, ["admin"], "nor in the default tenant");
}

#[tokio::test]
async fn a_sign_in_started_in_one_tenant_cannot_finish_in_another() {
    let Setup { server, provider, acme, globex, .. } = setup().await;
    // Both tenants know alice, so only the tenant boundary can refuse.
    let alice = json!({"user": {"email": "alice@idp.test"}});
    assert_eq!(server.post("/t/globex/v0/users", Some(&globex), alice).await.status, 201);

    // The browser goes to the IdP from acme and is sent back to acme's callback; it is stopped
    // there and goes to globex's callback with acme's code and state instead.
    provider.login_as("u1").await;
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        if attempt.url().path().ends_with("/auth/oidc/idp/callback/") {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    let browser = reqwest::Client::builder().cookie_store(true).redirect(policy).build().unwrap();
    let to_callback = browser.get(server.url("/t/acme/auth/oidc/idp")).send().await.unwrap();
    assert!(to_callback.status().is_redirection(), "{}", to_callback.status());
    let callback = to_callback.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.contains("/t/acme/auth/oidc/idp/callback/?"), "{callback}");
    assert!(callback.contains("state="), "{callback}");
    let crossed = callback.replace("/t/acme/", "/t/globex/");
    let refused = browser.get(&crossed).send().await.unwrap();
    let status = refused.status().as_u16();
    let page = refused.text().await.unwrap();
    assert!([400, 403].contains(&status), "{status} {page}");
    assert!(!page.contains("/account\""), "{page}");
    let sessions = server.get("/t/globex/api/v1/sessions", Some(&globex)).await;
    assert_eq!(sessions.body.as_array().unwrap().len(), 1, "only globex's admin has a session: {}", sessions.text);
    assert_eq!(usernames(&server, "/t/acme", &acme).await, ["root"], "acme created no one either");
}
