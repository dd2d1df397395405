//! Unauthenticated work is bounded, against the real npm `oidc-provider` on loopback: the
//! provider's discovery document and JWKS are fetched once per TTL (not per sign-in), again when
//! an ID token names a key we do not know (the provider rotated its keys), but not more often
//! than once per few seconds; and sign-in starts are limited per client address.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use common::oidc::OidcProvider;
use common::Server;
use reqwest::Method;
use serde_json::json;

const CLIENT_ID: &str = "tessera";
const CLIENT_SECRET: &str = "a-client-secret";
const USERS: &str = r#"[{"sub":"u1","email":"alice@idp.test","email_verified":true,"name":"Alice"}]"#;

/// A browser-like client: follows redirects, keeps cookies.
fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).build().unwrap()
}

/// A client from `address` that stops at the first redirect.
fn client_from(address: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(IpAddr::V4(address))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn setup() -> (Server, OidcProvider) {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let redirect = format!("{}/auth/oidc/idp/callback/", server.base);
    let provider = OidcProvider::start(CLIENT_ID, CLIENT_SECRET, &[redirect], USERS, false);
    let configuration = json!({"configuration": {"openid_connect_providers": [{
        "id": "idp", "label": "Test IdP", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "discovery_document_uri": format!("{}/.well-known/openid-configuration", provider.issuer),
        "auto_create_users": true}]}});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(configuration)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    (server, provider)
}

/// Runs the whole browser flow; returns the final status and body.
async fn sign_in(server: &Server, client: &reqwest::Client) -> (u16, String) {
    let response = client.get(server.url("/auth/oidc/idp")).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn metadata_is_fetched_once_and_again_only_for_an_unknown_signing_key() {
    let (server, provider) = setup().await;
    assert_eq!(provider.stats().await, (0, 0), "nothing fetched before the first sign-in");
    let browser = browser();
    for _ in 0..3 {
        let (status, body) = sign_in(&server, &browser).await;
        assert_eq!(status, 200, "{body}");
    }
    assert_eq!(provider.stats().await, (1, 1), "three sign-ins (starts and callbacks), one fetch");

    // The provider rotates its keys: the next ID token names a kid our copy lacks. The callback
    // fetches the metadata again, once, and the sign-in succeeds.
    provider.rotate_keys().await;
    let (status, body) = sign_in(&server, &browser).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(provider.stats().await, (2, 2), "exactly one extra fetch");
    let (status, body) = sign_in(&server, &browser).await;
    assert_eq!(status, 200, "{body}");
    // Sign-out reads end_session_endpoint from the same cache.
    let out = browser.post(server.url("/sign_out")).send().await.unwrap();
    assert!(out.url().as_str().starts_with(&format!("{}/session/end", provider.issuer)), "{}", out.url());
    assert_eq!(provider.stats().await, (2, 2), "the refreshed metadata is used from then on");

    // Unknown key ids cannot make us hammer the provider: a second rotation within seconds of
    // the forced refresh is not fetched at once, so its tokens are refused meanwhile...
    provider.rotate_keys().await;
    let (status, body) = sign_in(&server, &browser).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("ID token is not valid"), "{body}");
    assert_eq!(provider.stats().await, (2, 2), "no fetch within the refresh spacing");
    // ...and accepted once the spacing (10 s) has passed.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (status, body) = sign_in(&server, &browser).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(provider.stats().await, (3, 3));
}

#[tokio::test]
async fn sign_in_starts_are_limited_per_client_address() {
    let (server, provider) = setup().await;
    let here = client_from(Ipv4Addr::new(127, 0, 0, 1));
    let started = Instant::now();
    // 30 starts at once from one address, on a cold cache.
    let starts = (0..30).map(|_| here.get(server.url("/auth/oidc/idp")).send());
    let responses = futures::future::join_all(starts).await;
    let elapsed = started.elapsed();
    let (mut redirected, mut limited) = (0, 0);
    for response in responses {
        let response = response.unwrap();
        match response.status().as_u16() {
            302 => {
                redirected += 1;
                let location = response.headers()["location"].to_str().unwrap();
                assert!(location.starts_with(&format!("{}/auth?", provider.issuer)), "{location}");
            }
            429 => {
                limited += 1;
                let wait: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
                assert!((1..=3).contains(&wait), "Retry-After: {wait}");
                assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
                let body = response.text().await.unwrap();
                assert!(body.contains("Too many sign-ins were started from your address"), "{body}");
            }
            other => panic!("unexpected status {other}: {}", response.text().await.unwrap()),
        }
    }
    // A burst of 10, then one start per 3 s.
    let refilled = elapsed.as_secs() / 3 + 1;
    assert!((10..=10 + refilled).contains(&redirected), "{redirected} redirects in {elapsed:?}");
    assert_eq!(redirected + limited, 30);
    assert_eq!(provider.stats().await, (1, 1), "concurrent starts shared one discovery");

    // The SAML start counts against the same budget (refused before the provider is looked up).
    let saml = here.get(server.url("/auth/saml/auth/signin/corp")).send().await.unwrap();
    assert_eq!(saml.status(), 429);
    assert!(saml.headers().contains_key("retry-after"));

    // Another address has its own budget.
    let elsewhere = client_from(Ipv4Addr::new(127, 0, 0, 2));
    let response = elsewhere.get(server.url("/auth/oidc/idp")).send().await.unwrap();
    assert_eq!(response.status(), 302);
    let saml = elsewhere.get(server.url("/auth/saml/auth/signin/corp")).send().await.unwrap();
    assert_eq!(saml.status(), 404, "not limited there: an unknown provider");
    // Other routes are not limited.
    assert_eq!(here.get(server.url("/sign_in")).send().await.unwrap().status(), 200);
}
