//! SAML sign-in against a real pysaml2 IdP started on loopback: SP metadata, auto-create on
//! and off, an existing user, and every refusal (tampered, unsigned, replayed, wrong audience,
//! expired, IdP-initiated, disabled user) through Tessera's own routes.

mod common;

use common::saml::{hidden_field, idp_response, post_acs, SamlIdp};
use common::Server;
use reqwest::Method;
use serde_json::{json, Value};

const USERS: &str = r#"[{"id":"alice","email":"alice@idp.test","givenName":"Alice","sn":"Liddell"},
  {"id":"bob","email":"bob@idp.test"}]"#;

struct Setup {
    server: Server,
    idp: SamlIdp,
    admin: String,
}

/// A server with one SAML provider `corp` for the IdP; `extra` adds provider fields.
async fn setup(auto_create: bool, extra: Value) -> Setup {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let idp = SamlIdp::start(&server.url("/auth/saml/sp/metadata/corp"), USERS).await;
    let mut provider =
        json!({"id": "corp", "label": "Corp", "metadata": idp.metadata, "auto_create_users": auto_create});
    for (key, value) in extra.as_object().unwrap() {
        provider[key] = value.clone();
    }
    let configuration = json!({"configuration": {"saml_identity_providers": [provider]}});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(configuration)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    Setup { server, idp, admin }
}

fn manual() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

async fn users(server: &Server, admin: &str) -> usize {
    server.get("/v0/users", Some(admin)).await.body["data"].as_array().unwrap().len()
}

#[tokio::test]
async fn sp_metadata_names_the_acs_and_is_signed() {
    let Setup { server, .. } = setup(false, json!({})).await;
    let reply = reqwest::get(server.url("/auth/saml/sp/metadata/corp")).await.unwrap();
    assert_eq!(reply.status(), 200);
    assert!(reply.headers()["content-type"].to_str().unwrap().contains("samlmetadata+xml"));
    let xml = reply.text().await.unwrap();
    assert!(xml.contains(&format!("entityID=\"{}\"", server.url("/auth/saml/sp/metadata/corp"))), "{xml}");
    assert!(xml.contains(&format!("Location=\"{}\"", server.url("/auth/saml/sp/consume/corp"))), "{xml}");
    assert!(xml.contains("SignatureValue"), "sign_metadata defaults to true: {xml}");
    assert_eq!(reqwest::get(server.url("/auth/saml/sp/metadata/nope")).await.unwrap().status(), 404);
}

#[tokio::test]
async fn auto_create_on_creates_the_user_and_signs_in() {
    let Setup { server, idp: _idp, admin } = setup(true, json!({})).await;
    let browser = manual();
    let response = idp_response(&server, &browser, "alice").await;
    let (status, location) = post_acs(&server, &browser, &response).await;
    assert_eq!((status, location.as_str()), (303, server.url("/account").as_str()));
    let me: Value = browser.get(server.url("/api/v1/users/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["username"], "alice@idp.test");
    assert_eq!(me["role"], "user");
    let record = server.get("/v0/users/alice@idp.test", Some(&admin)).await.body["data"].clone();
    assert_eq!(record["last_signed_in_method"], "corp");
    // The same response again is a replay.
    let (status, body) = post_acs(&server, &manual(), &response).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("replayed"), "{body}");
    // Signing in again finds the same account.
    let again = manual();
    let response = idp_response(&server, &again, "alice").await;
    assert_eq!(post_acs(&server, &again, &response).await.0, 303);
    assert_eq!(users(&server, &admin).await, 2);
}

#[tokio::test]
async fn auto_create_off_refuses_unknown_users_and_admits_existing_ones() {
    let Setup { server, idp: _idp, admin } = setup(false, json!({})).await;
    let browser = manual();
    let response = idp_response(&server, &browser, "bob").await;
    let (status, body) = post_acs(&server, &browser, &response).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("user not found and auto_create_users disabled"), "{body}");
    assert_eq!(users(&server, &admin).await, 1);

    server.post("/v0/users", Some(&admin), json!({"user": {"email": "Bob@IdP.test"}})).await;
    let response = idp_response(&server, &browser, "bob").await;
    let (status, location) = post_acs(&server, &browser, &response).await;
    assert_eq!((status, location.as_str()), (303, server.url("/account").as_str()));
}

#[tokio::test]
async fn forged_and_stale_responses_are_refused() {
    let Setup { server, idp, admin } = setup(true, json!({})).await;
    let cases = [
        (json!({"tamper_nameid": "admin@idp.test"}), "signature"),
        (json!({"sign_response": false, "sign_assertion": false}), "not signed"),
        (json!({"sign_response": false}), "not signed"),
        (json!({"audience": "https://someone-else.example"}), "audience"),
        (json!({"not_on_or_after_offset_seconds": -600}), "expired"),
        (json!({"in_response_to": "_not-a-request-we-made"}), "pending sign-in"),
    ];
    for (toggles, expected) in cases {
        idp.configure(toggles.clone()).await;
        let browser = manual();
        let response = idp_response(&server, &browser, "alice").await;
        let (status, body) = post_acs(&server, &browser, &response).await;
        assert_eq!(status, 403, "{toggles}: {body}");
        assert!(body.contains(expected), "{toggles}: {body}");
        assert!(body.to_ascii_lowercase().starts_with("<!doctype html>"), "a readable page: {body}");
    }
    // IdP-initiated sign-in is rejected.
    idp.configure(json!({})).await;
    let unsolicited = idp.idp_initiated("alice").await;
    let response = unsolicited["saml_response"].as_str().unwrap();
    let (status, body) = post_acs(&server, &manual(), response).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("unsolicited"), "{body}");
    // Garbage, and no response at all.
    assert_eq!(post_acs(&server, &manual(), "not base64 at all!").await.0, 403);
    let empty = manual().post(server.url("/auth/saml/sp/consume/corp")).send().await.unwrap();
    assert_eq!(empty.status(), 403);
    assert_eq!(users(&server, &admin).await, 1, "no account came from a refused response");
}

#[tokio::test]
async fn only_the_assertion_signed_is_accepted_unless_envelopes_must_be_signed() {
    let Setup { server, idp, .. } = setup(true, json!({"signed_envelopes_in_resp": false})).await;
    idp.configure(json!({"sign_response": false})).await;
    let browser = manual();
    let response = idp_response(&server, &browser, "alice").await;
    assert_eq!(post_acs(&server, &browser, &response).await.0, 303);
}

#[tokio::test]
async fn a_response_for_another_tenant_is_refused() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;
    let idp = SamlIdp::start(&server.url("/auth/saml/sp/metadata/corp"), USERS).await;
    for prefix in ["", "/t/acme"] {
        let token = if prefix.is_empty() { admin.clone() } else { server.admin_token_in(prefix).await };
        let provider = json!({"id": "corp", "label": "Corp", "metadata": idp.metadata, "auto_create_users": true});
        let configuration = json!({"configuration": {"saml_identity_providers": [provider]}});
        let path = format!("{prefix}/v0/configuration");
        let reply = server.call(Method::PATCH, &path, Some(&token), Some(configuration)).await;
        assert_eq!(reply.status, 200, "{}", reply.text);
    }
    // A response the IdP issued for the default tenant's request, posted to acme's ACS.
    let browser = manual();
    let response = idp_response(&server, &browser, "alice").await;
    let stolen = browser
        .post(server.url("/t/acme/auth/saml/sp/consume/corp"))
        .form(&[("SAMLResponse", response.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 403);
}

/// The `name=value` of a Set-Cookie header with that name.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

#[tokio::test]
async fn over_https_a_response_is_accepted_only_in_the_browser_that_started_it() {
    let server = Server::start_with(&[("TESSERA__SERVER__EXTERNAL_URL", "https://sso.example.test")]).await;
    let admin = server.admin_token().await;
    let idp = SamlIdp::start(&server.url("/auth/saml/sp/metadata/corp"), USERS).await;
    let provider = json!({"id": "corp", "label": "Corp", "metadata": idp.metadata, "auto_create_users": true});
    let configuration = json!({"configuration": {"saml_identity_providers": [provider]}});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(configuration)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);

    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let start = |client: reqwest::Client| {
        let url = server.url("/auth/saml/auth/signin/corp");
        async move {
            let response = client.get(url).send().await.unwrap();
            assert_eq!(response.status(), 302);
            let cookie = set_cookie(&response, "tessera_saml_request").expect("a binding cookie");
            assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=None"));
            let location = response.headers()["location"].to_str().unwrap().to_owned();
            (cookie.split(';').next().unwrap().to_owned(), location)
        }
    };
    let (cookie, location) = start(client.clone()).await;
    let (other_cookie, _) = start(client.clone()).await;
    let html = client.get(format!("{location}&user=alice")).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("action=\"https://sso.example.test/auth/saml/sp/consume/corp\""), "{html}");
    let response = hidden_field(&html, "SAMLResponse").unwrap();
    let acs = server.url("/auth/saml/sp/consume/corp");
    let post = |cookie: Option<String>| {
        let mut request = client.post(&acs).form(&[("SAMLResponse", response.as_str())]);
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        request.send()
    };
    // Posted in a browser that did not start it (login forgery): refused, and not spent.
    let elsewhere = post(None).await.unwrap();
    assert_eq!(elsewhere.status(), 403);
    assert!(elsewhere.text().await.unwrap().contains("another browser"));
    assert_eq!(post(Some(other_cookie)).await.unwrap().status(), 403);
    let signed_in = post(Some(cookie)).await.unwrap();
    assert_eq!(signed_in.status(), 303);
    assert_eq!(signed_in.headers()["location"], "https://sso.example.test/account");
    assert!(set_cookie(&signed_in, "__Host-tessera_session").unwrap().contains("Secure"));
}
