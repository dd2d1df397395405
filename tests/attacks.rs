//! An attack corpus against the public surface, each case asserting the exact refusal:
//! forged and mangled bearer tokens (alg none, an HS256 token keyed with our own public SAML
//! certificate, RS256, truncated, another tenant's, expired), API keys that must be dead, and
//! hostile request shapes (deeply nested or invalid-UTF-8 JSON, huge or many headers), which
//! must get a 4xx, never a 5xx or a hang. Signature-valid tokens with a wrong issuer or
//! algorithm are refused by `TokenKeys::verify` (unit tests in actors/src/tokens.rs).

mod common;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::Server;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims of a real token, to replay under a forged header.
fn claims_of(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn hs256(header: &Value, claims: &Value, key: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let signing_input = format!("{}.{}", b64(header.to_string().as_bytes()), b64(claims.to_string().as_bytes()));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(signing_input.as_bytes());
    format!("{signing_input}.{}", b64(&mac.finalize().into_bytes()))
}

/// SOAT's and Firezone's answers to a refused bearer token.
async fn assert_refused(server: &Server, token: &str, firezone_reason: &str, case: &str) {
    let soat = server.get("/api/v1/users/me", Some(token)).await;
    assert_eq!(
        (soat.status, soat.body.clone()),
        (StatusCode::UNAUTHORIZED, json!({"error": "Unauthorized"})),
        "{case}"
    );
    let firezone = server.get("/v0/users", Some(token)).await;
    assert_eq!(firezone.status, StatusCode::UNAUTHORIZED, "{case}");
    assert_eq!(firezone.body, json!({"errors": {"auth": firezone_reason}}), "{case}");
}

#[tokio::test]
async fn forged_and_mangled_tokens_are_refused() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;
    let claims = claims_of(&admin);
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 200);

    let none = format!("{}.{}.", b64(br#"{"alg":"none","typ":"JWT"}"#), b64(claims.to_string().as_bytes()));
    assert_refused(&server, &none, "invalid_token", "alg none").await;

    // HS/RS confusion: an HS256 token keyed with a public key of ours (the SAML SP certificate
    // anyone can read from its metadata) is no better than any other guess.
    let idp = common::saml::SamlIdp::start(&server.url("/auth/saml/sp/metadata/corp"), "[]").await;
    let configuration = json!({"configuration": {"saml_identity_providers": [{"id": "corp", "label": "Corp",
        "metadata": idp.metadata, "auto_create_users": false}]}});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(configuration)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    let metadata = reqwest::get(server.url("/auth/saml/sp/metadata/corp")).await.unwrap().text().await.unwrap();
    let certificate = metadata.split("X509Certificate>").nth(1).unwrap().trim_end_matches("</ds:").to_owned();
    assert!(certificate.len() > 100, "{metadata}");
    let confused = hs256(&json!({"alg": "HS256", "typ": "JWT"}), &claims, certificate.as_bytes());
    assert_refused(&server, &confused, "invalid_token", "HS256 keyed with the public certificate").await;

    let rs256 = format!(
        "{}.{}.{}",
        b64(br#"{"alg":"RS256","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes()),
        b64(&[7u8; 256])
    );
    assert_refused(&server, &rs256, "invalid_token", "RS256").await;

    let truncated = &admin[..admin.len() - 4];
    assert_refused(&server, truncated, "invalid_token", "truncated").await;
    let header_only = admin.split('.').next().unwrap();
    assert_refused(&server, header_only, "invalid_token", "header only").await;

    // Claims changed under the real signature.
    let mut forged_claims = claims.clone();
    forged_claims["sub"] = json!(uuid_like());
    let parts: Vec<&str> = admin.split('.').collect();
    let resigned = format!("{}.{}.{}", parts[0], b64(forged_claims.to_string().as_bytes()), parts[2]);
    assert_refused(&server, &resigned, "invalid_token", "claims swapped under the signature").await;

    // A good token of the default tenant is nothing in another tenant.
    let other = server.get("/t/acme/api/v1/users/me", Some(&admin)).await;
    assert_eq!((other.status, other.body), (StatusCode::UNAUTHORIZED, json!({"error": "Unauthorized"})));
    let other = server.get("/t/acme/v0/users", Some(&admin)).await;
    assert_eq!(other.body, json!({"errors": {"auth": "invalid_token"}}));
}

fn uuid_like() -> String {
    "00000000-0000-4000-8000-000000000000".to_owned()
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let server = Server::start_with(&[("TESSERA__AUTH__SESSION_LIFETIME_MINUTES", "1")]).await;
    let admin = server.admin_token().await;
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_secs(61)).await;
    assert_refused(&server, &admin, "invalid_token", "expired").await;
}

#[tokio::test]
async fn api_keys_die_with_their_user_and_stay_in_their_tenant() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;
    let reply = server.post("/api/v1/users", Some(&admin), json!({"username": "eve", "password": "evepassword"})).await;
    let eve = reply.body["id"].as_str().unwrap().to_owned();
    let token = server.login("eve", "evepassword").await;
    let key = server.post("/api/v1/api-keys", Some(&token), json!({"name": "k"})).await.body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(server.get("/api/v1/users/me", Some(&key)).await.status, 200);
    // Another tenant does not know the key.
    let other = server.get("/t/acme/api/v1/users/me", Some(&key)).await;
    assert_eq!((other.status, other.body), (StatusCode::UNAUTHORIZED, json!({"error": "Unauthorized"})));
    assert_eq!(server.get("/t/acme/v0/users", Some(&key)).await.body, json!({"errors": {"auth": "no_resource_found"}}));
    // A key one digit off, or of the wrong shape, is unknown.
    let mut off = key.clone();
    let last = off.pop().unwrap();
    off.push(if last == '0' { '1' } else { '0' });
    assert_refused(&server, &off, "no_resource_found", "a neighbouring key").await;
    assert_refused(&server, "sk_short", "no_resource_found", "a malformed key").await;
    // Deleting the user kills the key at once.
    assert_eq!(server.delete(&format!("/api/v1/users/{eve}"), Some(&admin)).await.status, 204);
    assert_refused(&server, &key, "no_resource_found", "a deleted user's key").await;
}

#[tokio::test]
async fn hostile_request_shapes_get_4xx_never_5xx() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let nested = format!("{}{}", "[".repeat(50_000), "]".repeat(50_000));
    let invalid_utf8 = b"{\"username\": \"\xff\xfe\", \"password\": \"whatever1\"}".to_vec();
    for path in ["/api/v1/users", "/v0/users", "/api/v1/users/login", "/api/v1/policies", "/v0/configuration"] {
        for body in [nested.clone().into_bytes(), invalid_utf8.clone()] {
            for method in [Method::POST, Method::PATCH] {
                let reply = server.raw(method.clone(), path, Some(&admin), body.clone()).await;
                assert!(reply.status.is_client_error(), "{method} {path}: {} {}", reply.status, reply.text);
            }
        }
    }
    // One huge header, and very many headers, written as an attacker would, on a raw socket.
    let huge = format!("x-padding: {}\r\n", "a".repeat(1024 * 1024));
    let many: String = (0..1000).map(|i| format!("x-h{i}: {}\r\n", "v".repeat(100))).collect();
    for headers in [huge, many] {
        let status = raw_status(&server, &format!("GET /api/v1/users/me HTTP/1.1\r\nHost: x\r\n{headers}\r\n")).await;
        assert_eq!(status, "431", "oversized headers");
    }
    // A huge bearer token is refused as a credential, not a crash.
    let long = "a".repeat(16 * 1024);
    let reply = server.get("/api/v1/users/me", Some(&long)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    // And the server is still fine.
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 200);
}

/// The status code of the answer to a request written byte for byte.
async fn raw_status(server: &Server, request: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    // The server may answer and close before reading everything; that is fine.
    let _ = stream.write_all(request.as_bytes()).await;
    let mut answer = vec![0u8; 64];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), stream.read(&mut answer))
        .await
        .expect("an answer, not a hang")
        .unwrap();
    let line = String::from_utf8_lossy(&answer[..read]).into_owned();
    line.split(' ').nth(1).unwrap_or_default().to_owned()
}
