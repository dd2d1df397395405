//! OIDC ID-token checks, the refresher, and browser sessions (list, revoke, sign-out with
//! RP-initiated logout) against the real npm `oidc-provider`, started on loopback.

mod common;

use std::time::{Duration, Instant};

use common::oidc::OidcProvider;
use common::Server;
use reqwest::Method;
use serde_json::{json, Value};

const CLIENT_ID: &str = "tessera";
const CLIENT_SECRET: &str = "a-client-secret";
const USERS: &str = r#"[{"sub":"u1","email":"alice@idp.test","email_verified":true,"name":"Alice"}]"#;

/// A browser-like client: follows redirects, keeps cookies.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

/// A client that stops at every redirect.
fn manual() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

struct Setup {
    server: Server,
    provider: OidcProvider,
    admin: String,
}

/// A server refreshing every second, and a provider issuing refresh tokens for
/// `offline_access`; `disable_on_error` is the tenant's `disable_vpn_on_oidc_error`.
async fn setup(disable_on_error: bool) -> Setup {
    let server = Server::start_with(&[("TESSERA__SSO__REFRESH_INTERVAL_SECONDS", "1")]).await;
    let admin = server.admin_token().await;
    let redirect = format!("{}/auth/oidc/idp/callback/", server.base);
    let provider = OidcProvider::start(CLIENT_ID, CLIENT_SECRET, &[redirect], USERS, false);
    let configuration = json!({"configuration": {
        "disable_vpn_on_oidc_error": disable_on_error,
        "openid_connect_providers": [{
            "id": "idp", "label": "Test IdP", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
            "scope": "openid email offline_access",
            "discovery_document_uri": format!("{}/.well-known/openid-configuration", provider.issuer),
            "auto_create_users": true}]}});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(configuration)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    Setup { server, provider, admin }
}

/// Runs the whole browser flow; returns the final status and body.
async fn sign_in(server: &Server, client: &reqwest::Client) -> (u16, String) {
    let response = client.get(server.url("/auth/oidc/idp")).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn me_status(server: &Server, client: &reqwest::Client) -> u16 {
    client.get(server.url("/api/v1/users/me")).send().await.unwrap().status().as_u16()
}

async fn alice(server: &Server, admin: &str) -> Value {
    let reply = server.get("/v0/users/alice@idp.test", Some(admin)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["data"].clone()
}

#[tokio::test]
async fn id_tokens_with_wrong_claims_are_refused() {
    let Setup { server, provider, admin } = setup(false).await;
    let faults = [
        (json!({"iss": "http://127.0.0.1:1"}), "wrong issuer"),
        (json!({"aud": "someone-else"}), "wrong audience"),
        (json!({"nonce": "not-the-nonce"}), "wrong nonce"),
        (json!({"exp_offset_seconds": -600}), "expired"),
    ];
    for (fault, what) in faults {
        provider.id_token_faults(fault).await;
        let (status, body) = sign_in(&server, &browser()).await;
        assert_eq!(status, 403, "{what}: {body}");
        assert!(body.contains("ID token is not valid"), "{what}: {body}");
    }
    let users = server.get("/v0/users", Some(&admin)).await.body["data"].as_array().unwrap().len();
    assert_eq!(users, 1, "no account was created from a bad token");
    // The same provider with honest tokens signs in.
    provider.id_token_faults(json!({})).await;
    let (status, body) = sign_in(&server, &browser()).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_refused_refresh_disables_the_user_and_ends_its_sessions() {
    let Setup { server, provider, admin } = setup(true).await;
    let browser = browser();
    assert_eq!(sign_in(&server, &browser).await.0, 200);
    // Rounds that succeed leave the user alone.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(alice(&server, &admin).await["disabled_at"], Value::Null);
    assert_eq!(me_status(&server, &browser).await, 200);

    provider.revoke("u1").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while alice(&server, &admin).await["disabled_at"].is_null() {
        assert!(Instant::now() < deadline, "the refresher never disabled the user");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(me_status(&server, &browser).await, 401, "the session ended");
    // A disabled user is refused at sign-in, even though the provider still vouches for it.
    let (status, body) = sign_in(&server, &reqwest::Client::builder().cookie_store(true).build().unwrap()).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("disabled"), "{body}");
}

#[tokio::test]
async fn without_disable_on_error_or_when_unreachable_no_one_is_disabled() {
    let Setup { server, provider, admin } = setup(false).await;
    assert_eq!(sign_in(&server, &browser()).await.0, 200);
    provider.revoke("u1").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(alice(&server, &admin).await["disabled_at"], Value::Null, "the tenant did not ask for it");

    let Setup { server, provider, admin } = setup(true).await;
    assert_eq!(sign_in(&server, &browser()).await.0, 200);
    drop(provider);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(alice(&server, &admin).await["disabled_at"], Value::Null, "an outage disables no one");
}

#[tokio::test]
async fn browser_sessions_are_listed_and_revoked_through_the_api() {
    let Setup { server, admin, provider: _provider } = setup(false).await;
    let browser = browser();
    assert_eq!(sign_in(&server, &browser).await.0, 200);
    let own: Value = browser.get(server.url("/api/v1/sessions")).send().await.unwrap().json().await.unwrap();
    let own = own.as_array().unwrap();
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(own[0]["method"], "idp");
    let user_id = own[0]["user_id"].as_str().unwrap();
    let by_admin = server.get(&format!("/api/v1/sessions?user_id={user_id}"), Some(&admin)).await;
    assert_eq!(by_admin.body.as_array().unwrap().len(), 1, "{}", by_admin.text);

    let session = own[0]["id"].as_str().unwrap();
    // The cookie does not authorize unsafe requests made by another site's pages.
    let url = server.url(&format!("/api/v1/sessions/{session}"));
    let forged = browser.delete(&url).header("Origin", "https://evil.example").send().await.unwrap();
    assert_eq!(forged.status(), 401);
    let sibling = browser.delete(&url).header("Sec-Fetch-Site", "same-site").send().await.unwrap();
    assert_eq!(sibling.status(), 401);
    assert_eq!(me_status(&server, &browser).await, 200, "still signed in");
    assert_eq!(server.delete(&format!("/api/v1/sessions/{session}"), Some(&admin)).await.status, 204);
    assert_eq!(me_status(&server, &browser).await, 401, "revoked at once");
    let page = browser.get(server.url("/account")).send().await.unwrap();
    assert_eq!(page.status(), 401);
}

#[tokio::test]
async fn sign_out_ends_the_session_and_continues_to_the_providers_logout() {
    let Setup { server, provider, admin } = setup(false).await;
    let browser = manual();
    // Walk the redirects by hand to keep the cookie jar of one browser.
    let mut url = server.url("/auth/oidc/idp");
    loop {
        let response = browser.get(&url).send().await.unwrap();
        let Some(location) = response.headers().get("location") else { break };
        let location = location.to_str().unwrap().to_owned();
        url = if location.starts_with("http") { location } else { format!("{}{location}", provider.issuer) };
    }
    assert_eq!(url, server.url("/account"));
    assert_eq!(me_status(&server, &browser).await, 200);

    let out = browser.post(server.url("/sign_out")).send().await.unwrap();
    assert_eq!(out.status(), 303);
    let location = out.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&format!("{}/session/end", provider.issuer)), "{location}");
    assert!(location.contains("client_id=tessera"), "{location}");
    let cleared = out.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cleared.starts_with("tessera_session=;") && cleared.contains("Max-Age=0"), "{cleared}");
    assert_eq!(me_status(&server, &browser).await, 401);
    // The sign-out is in the audit trail as the session's revocation by its own user.
    let trail = server.get("/api/v1/audit-events?action=sessions:RevokeSession", Some(&admin)).await;
    let revoked = &trail.body["events"][0];
    assert_eq!(
        (revoked["actor"]["type"].as_str(), revoked["outcome"].as_str()),
        (Some("user"), Some("success")),
        "{}",
        trail.text
    );
    assert!(revoked["target"].as_str().unwrap().starts_with("srn:default:session:"));
    // The provider's logout page is there to follow.
    assert_eq!(reqwest::get(&location).await.unwrap().status(), 200);

    // A sign-out form posted from another site is refused.
    let forged = reqwest::Client::new()
        .post(server.url("/sign_out"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
}
