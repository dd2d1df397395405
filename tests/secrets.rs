//! The master keys live outside the database: the embedded default creates a key file next to
//! the database (mode 0600), a copy of the database files alone neither verifies a forged token
//! nor opens a sealed secret, and `tessera rotate-secret` / `retire-secrets` rotate the keys
//! without breaking tokens, API keys or sealed secrets.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine;
use common::{run_cli, Server};
use reqwest::Method;
use serde_json::{json, Value};

const IDP_METADATA: &str = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#;

/// Environment for a server and the operator commands on an embedded database at `db`, with
/// no secret configured.
fn embedded_env(db: &Path) -> Vec<(String, String)> {
    vec![
        ("TESSERA__DATABASE__ENDPOINT".into(), format!("surrealkv://{}", db.display())),
        ("TESSERA__AUTH__ARGON2__MEMORY_KIB".into(), "1024".into()),
        ("TESSERA__AUTH__ARGON2__ITERATIONS".into(), "1".into()),
        ("TESSERA__LOG__LEVEL".into(), "warn".into()),
    ]
}

fn refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(key, value)| (key.as_str(), value.as_str())).collect()
}

async fn start(db: &Path) -> Server {
    Server::start_with(&refs(&embedded_env(db))).await
}

fn cli(args: &[&str], db: &Path) -> (bool, String, String) {
    run_cli(args, &refs(&embedded_env(db)), None)
}

/// A provider whose client id is stored in clear and whose client secret must not be.
fn provider(client_id: &str, client_secret: &str) -> Value {
    json!({"id": "okta", "label": "Okta", "client_id": client_id, "client_secret": client_secret,
           "discovery_document_uri": "https://okta.example.com/.well-known/openid-configuration",
           "auto_create_users": false})
}

async fn configure(server: &Server, admin: &str, client_id: &str, client_secret: &str) {
    let configuration = json!({"configuration": {
        "openid_connect_providers": [provider(client_id, client_secret)],
        "saml_identity_providers": [{"id": "corp", "label": "Corp", "metadata": IDP_METADATA, "auto_create_users": false}],
    }});
    let reply = server.call(Method::PATCH, "/v0/configuration", Some(admin), Some(configuration)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
}

/// The OIDC provider's client secret as an admin sees it.
async fn shown_client_secret(server: &Server, admin: &str) -> Value {
    let reply = server.get("/v0/configuration", Some(admin)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["data"]["openid_connect_providers"][0]["client_secret"].clone()
}

/// The SAML SP certificate in the metadata (generated, sealed and stored on first use).
async fn sp_certificate(server: &Server) -> String {
    let response = reqwest::get(server.url("/auth/saml/sp/metadata/corp")).await.unwrap();
    assert_eq!(response.status(), 200);
    let xml = response.text().await.unwrap();
    let start = xml.find("X509Certificate>").expect("a certificate in the metadata") + "X509Certificate>".len();
    xml[start..start + xml[start..].find('<').unwrap()].to_owned()
}

/// The JSON header and claims of a token.
fn token_parts(token: &str) -> (Value, Value) {
    let part = |index: usize| -> Value {
        let encoded = token.split('.').nth(index).unwrap();
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).unwrap()).unwrap()
    };
    (part(0), part(1))
}

/// Every file under `dir`, with its bytes.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(files(&path));
        } else {
            found.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    found
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

/// Which of `needles` occur in some file under `dir`.
fn found_in(dir: &Path, needles: &[&[u8]]) -> Vec<usize> {
    let files = files(dir);
    (0..needles.len()).filter(|&index| files.iter().any(|(_, bytes)| contains(bytes, needles[index]))).collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// The key lines of a key file, decoded.
fn key_file_keys(path: &Path) -> Vec<Vec<u8>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| base64::engine::general_purpose::STANDARD.decode(line.split_whitespace().next().unwrap()).unwrap())
        .collect()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// An HS256 JWT over `claims` with `key`, naming `kid` if given.
fn forge(key: &[u8], kid: Option<&str>, claims: &Value) -> String {
    use hmac::{Hmac, Mac};
    let encode = |value: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value.to_string());
    let header = match kid {
        Some(kid) => json!({"alg": "HS256", "typ": "JWT", "kid": kid}),
        None => json!({"alg": "HS256", "typ": "JWT"}),
    };
    let signing_input = format!("{}.{}", encode(&header), encode(claims));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(signing_input.as_bytes());
    let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{signature}")
}

/// HKDF-SHA256 output as README documents it (salt `tessera master key`).
fn hkdf_key(master: &[u8], info: &[u8], length: usize) -> Vec<u8> {
    let mut derived = vec![0u8; length];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(b"tessera master key"), master).expand(info, &mut derived).unwrap();
    derived
}

/// A master key's kid as README documents it.
fn kid_of(master: &[u8]) -> String {
    hkdf_key(master, b"tessera v2 key id", 8).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Every signing key an attacker holding only the database files could try: each printable
/// run of 32+ bytes taken as a secret, raw, with the pre-kid derivation and with the documented
/// HKDF derivation.
fn keys_derivable_from(dir: &Path) -> Vec<Vec<u8>> {
    use sha2::Digest;
    let mut secrets = BTreeSet::new();
    for (_, bytes) in files(dir) {
        for run in bytes.split(|byte| !(0x21..0x7f).contains(byte)) {
            for piece in run.split(|byte| *byte == b'"' || *byte == b'\'') {
                if (32..=256).contains(&piece.len()) {
                    secrets.insert(piece.to_vec());
                }
            }
        }
    }
    let mut keys = Vec::new();
    for secret in secrets {
        keys.push(secret.clone());
        keys.push(sha2::Sha256::new().chain_update(b"tessera:jwt:v1:").chain_update(&secret).finalize().to_vec());
        keys.push(hkdf_key(&secret, b"tessera v2 jwt hs256", 32));
    }
    keys
}

#[tokio::test]
async fn a_copy_of_the_database_alone_forges_no_token_and_opens_no_secret() {
    let original = tempfile::tempdir().unwrap();
    let db = original.path().join("db");
    let server = start(&db).await;

    // First run: the key file is created next to the database directory, not in it, 0600.
    let key_file = original.path().join("db.key");
    assert!(key_file.is_file() && db.is_dir());
    #[cfg(unix)]
    assert_eq!(mode(&key_file), 0o600);
    let master_keys = key_file_keys(&key_file);
    assert_eq!(master_keys.len(), 1);
    assert!(master_keys[0].len() >= 32);

    let admin = server.admin_token().await;
    let client_id = format!("client-id-{}", uuid::Uuid::new_v4());
    let client_secret = format!("client-secret-{}", uuid::Uuid::new_v4());
    configure(&server, &admin, &client_id, &client_secret).await;
    assert_eq!(shown_client_secret(&server, &admin).await, client_secret);
    sp_certificate(&server).await;
    let (header, claims) = token_parts(&admin);
    let kid = header["kid"].as_str().expect("tokens name their key").to_owned();
    assert_eq!(kid, kid_of(&master_keys[0]));
    server.stop();

    // Only the database directory is copied.
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("db");
    copy_dir(&db, &copy);

    // (a) Neither the key (raw or as written in the key file) nor the client secret nor the SAML
    // private key is in the files; the client id, stored in clear, is (so the scan does see
    // clear text).
    let key_text = base64::engine::general_purpose::STANDARD.encode(&master_keys[0]);
    let needles: [&[u8]; 5] =
        [client_id.as_bytes(), &master_keys[0], key_text.as_bytes(), client_secret.as_bytes(), b"PRIVATE KEY-----"];
    assert_eq!(found_in(&copy, &needles), vec![0], "only the client id may be found in clear");

    // (b) A server on the copy gets a key of its own; the old token is refused, and so is every
    // token forged with a key derivable from the database content.
    let server = start(&copy).await;
    assert!(elsewhere.path().join("db.key").is_file());
    assert_ne!(key_file_keys(&elsewhere.path().join("db.key")), master_keys);
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 401);
    assert_eq!(server.get("/v0/users", Some(&admin)).await.status, 401);
    let mut forged_claims = claims.clone();
    forged_claims["exp"] = json!(chrono::Utc::now().timestamp() + 3600);
    // The forging itself is right: with the key from the copy's own key file (documented HKDF
    // derivation and kid) the same claims are accepted.
    let own_key = &key_file_keys(&elsewhere.path().join("db.key"))[0];
    let control = forge(&hkdf_key(own_key, b"tessera v2 jwt hs256", 32), Some(&kid_of(own_key)), &forged_claims);
    assert_eq!(server.get("/api/v1/users/me", Some(&control)).await.status, 200);
    let candidates = keys_derivable_from(&copy);
    assert!(candidates.len() > 3, "{}", candidates.len());
    eprintln!("trying {} keys derived from the database files", candidates.len());
    let server_ref = &server;
    for chunk in candidates.chunks(64) {
        let tokens: Vec<String> = chunk
            .iter()
            .flat_map(|key| [Some(kid.as_str()), None].map(|kid| forge(key, kid, &forged_claims)))
            .collect();
        let replies = futures::future::join_all(
            tokens.iter().map(|token| async move { server_ref.get("/api/v1/users/me", Some(token)).await.status }),
        )
        .await;
        assert!(replies.iter().all(|status| *status == 401), "a forged token was accepted: {replies:?}");
    }
    // The sealed provider secret stays sealed: the configuration loads without it, no 5xx.
    let admin_on_copy = server.login("admin", "supersecret").await;
    let reply = server.get("/v0/configuration", Some(&admin_on_copy)).await;
    assert!(!reply.status.is_server_error(), "{}: {}", reply.status, reply.text);
    assert!(!reply.text.contains(&client_secret), "{}", reply.text);
    assert_eq!(reply.body["data"]["openid_connect_providers"][0]["client_id"], client_id.as_str());
    // The SAML SP key, sealed under the original key, cannot be opened: SAML is unavailable
    // (503, a page), never a 500, and the rest of the server works.
    let metadata = server.get("/auth/saml/sp/metadata/corp", None).await;
    assert_eq!(metadata.status, 503, "{}", metadata.text);
    assert!(!metadata.text.contains("PRIVATE KEY"), "{}", metadata.text);
    let start = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let started = start.get(server.url("/auth/saml/auth/signin/corp")).send().await.unwrap();
    assert_eq!(started.status(), 503);
    // An unrelated change keeps the sealed secret as it was, rather than losing it.
    let change = json!({"configuration": {"local_auth_enabled": true}});
    let changed = server.call(Method::PATCH, "/v0/configuration", Some(&admin_on_copy), Some(change)).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    server.stop();
}

#[tokio::test]
async fn rotation_keeps_tokens_api_keys_and_sealed_secrets_and_retirement_ends_old_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let key_file = dir.path().join("db.key");
    let server = start(&db).await;
    let admin = server.admin_token().await;
    configure(&server, &admin, "tessera", "s3cret-before-rotation").await;
    let certificate = sp_certificate(&server).await;
    let created = server.post("/api/v1/api-keys", Some(&admin), json!({"name": "before rotation"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let api_key = created.body["key"].as_str().unwrap().to_owned();
    let old_kid = token_parts(&admin).0["kid"].as_str().unwrap().to_owned();
    server.stop();
    let (ok, api_token, stderr) = cli(&["create-api-token", "--email", "admin", "--expires-in", "7"], &db);
    assert!(ok, "{stderr}");
    let api_token = api_token.trim().to_owned();

    let (ok, stdout, stderr) = cli(&["rotate-secret"], &db);
    assert!(ok, "{stderr}");
    let new_kid = stdout
        .lines()
        .find_map(|line| line.strip_prefix("added master key "))
        .and_then(|rest| rest.split(';').next())
        .unwrap_or_else(|| panic!("{stdout}"))
        .to_owned();
    assert_ne!(new_kid, old_kid);
    assert!(stdout.contains("re-sealed 2 stored secrets"), "client secret and SAML key: {stdout}");
    assert_eq!(key_file_keys(&key_file).len(), 2);
    #[cfg(unix)]
    assert_eq!(mode(&key_file), 0o600);
    let sealed_under_new_key = format!("v2:{new_kid}:");
    assert_eq!(found_in(&db, &[sealed_under_new_key.as_bytes()]), vec![0], "values are re-sealed");

    let server = start(&db).await;
    // Made before the rotation, still good.
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 200);
    assert_eq!(server.get("/api/v1/users/me", Some(&api_key)).await.status, 200);
    assert_eq!(server.get("/v0/users", Some(&api_token)).await.status, 200);
    assert_eq!(shown_client_secret(&server, &admin).await, "s3cret-before-rotation");
    assert_eq!(sp_certificate(&server).await, certificate);
    // New tokens carry the new kid.
    let after = server.login("admin", "supersecret").await;
    assert_eq!(token_parts(&after).0["kid"], new_kid.as_str());
    assert_eq!(server.get("/api/v1/users/me", Some(&after)).await.status, 200);
    server.stop();

    // Re-running is harmless.
    let (ok, stdout, stderr) = cli(&["rotate-secret", "--reseal-only"], &db);
    assert!(ok && stdout.contains("re-sealed 0 stored secrets"), "{stdout}{stderr}");
    assert_eq!(key_file_keys(&key_file).len(), 2);

    // The old key still signs live sessions: retiring it is refused unless forced.
    let (ok, _, stderr) = cli(&["retire-secrets"], &db);
    assert!(!ok && stderr.contains("live sessions signed before the newest key"), "{stderr}");
    assert_eq!(key_file_keys(&key_file).len(), 2);
    let (ok, stdout, stderr) = cli(&["retire-secrets", "--force"], &db);
    assert!(ok, "{stderr}");
    assert!(stdout.contains(&format!("retired master keys {old_kid}; {new_kid} stays")), "{stdout}");
    assert_eq!(key_file_keys(&key_file).len(), 1);

    let server = start(&db).await;
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 401, "old-key tokens end");
    assert_eq!(server.get("/api/v1/users/me", Some(&after)).await.status, 200);
    // Used since the rotation, the API key moved to the new key and survives retirement.
    assert_eq!(server.get("/api/v1/users/me", Some(&api_key)).await.status, 200);
    assert_eq!(server.get("/v0/users", Some(&api_token)).await.status, 200);
    assert_eq!(shown_client_secret(&server, &after).await, "s3cret-before-rotation");
    assert_eq!(sp_certificate(&server).await, certificate);
    server.stop();
}

#[tokio::test]
async fn api_keys_unused_since_a_rotation_hold_retirement_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let server = start(&db).await;
    server.admin_token().await;
    server.stop();
    let (ok, _, stderr) = cli(&["create-api-token", "--email", "admin"], &db);
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = cli(&["rotate-secret"], &db);
    assert!(ok, "{stderr}");
    let (ok, _, stderr) = cli(&["retire-secrets"], &db);
    assert!(!ok && stderr.contains("1 live API keys hashed under old keys"), "{stderr}");
}

#[test]
fn keys_are_configured_from_the_environment_or_refused_for_a_shared_database() {
    // A shared database without a configured secret: refused before connecting.
    let (ok, _, stderr) = run_cli(
        &["serve"],
        &[("TESSERA__DATABASE__ENDPOINT", "ws://127.0.0.1:9"), ("TESSERA__LOG__LEVEL", "warn")],
        None,
    );
    assert!(!ok && stderr.contains("auth.secret") && stderr.contains("replicas"), "{stderr}");
    let cases = [
        (vec![("TESSERA__AUTH__SECRET", "short")], "auth.secret"),
        (
            vec![("TESSERA__AUTH__SECRET", "a configured secret of 32+ bytes!!"), ("TESSERA__AUTH__SECRET_FILE", "/k")],
            "not both",
        ),
        (vec![("TESSERA__AUTH__SECRET_FILE", "/nonexistent/dir/tessera.key")], "does not exist"),
    ];
    for (env, expected) in cases {
        let mut env = env.clone();
        env.push(("TESSERA__DATABASE__ENDPOINT", "ws://127.0.0.1:9"));
        let (ok, _, stderr) = run_cli(&["serve"], &env, None);
        assert!(!ok && stderr.contains(expected), "{env:?}: {stderr}");
    }
}

#[tokio::test]
async fn a_configured_secret_creates_no_key_file_and_cannot_be_rotated_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let mut env = embedded_env(&db);
    env.push(("TESSERA__AUTH__SECRET".into(), "a configured secret of 32+ bytes!!".into()));
    let server = Server::start_with(&refs(&env)).await;
    let admin = server.admin_token().await;
    server.stop();
    assert!(!dir.path().join("db.key").exists());
    let (ok, _, stderr) = run_cli(&["rotate-secret"], &refs(&env), None);
    assert!(!ok && stderr.contains("auth.previous_secrets"), "{stderr}");

    // The operator rotates in the configuration: the old secret moves to previous_secrets.
    env.retain(|(key, _)| key != "TESSERA__AUTH__SECRET");
    env.push(("TESSERA__AUTH__SECRET".into(), "the next configured secret, 32+ bytes".into()));
    env.push(("TESSERA__AUTH__PREVIOUS_SECRETS".into(), "a configured secret of 32+ bytes!!".into()));
    let (ok, stdout, stderr) = run_cli(&["rotate-secret", "--reseal-only"], &refs(&env), None);
    assert!(ok, "{stdout}{stderr}");
    let server = Server::start_with(&refs(&env)).await;
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 200);
    let after = server.login("admin", "supersecret").await;
    assert_ne!(token_parts(&after).0["kid"], token_parts(&admin).0["kid"]);
    server.stop();
}
