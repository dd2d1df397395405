//! Firezone's `/v0/configuration` (firezone-api.md "Configuration"): defaults, partial updates,
//! list replacement, validation messages, secrets shown to admins only, per tenant, persisted.

mod common;

use common::{assert_firezone_timestamp, Server};
use reqwest::Method;
use serde_json::{json, Value};

fn okta(auto_create: bool) -> Value {
    json!({"id": "okta", "label": "Okta", "client_id": "tessera", "client_secret": "s3cret",
           "discovery_document_uri": "https://okta.example.com/.well-known/openid-configuration",
           "auto_create_users": auto_create})
}

const IDP_METADATA: &str = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#;

async fn patch(server: &Server, token: &str, configuration: Value) -> common::Reply {
    server.call(Method::PATCH, "/v0/configuration", Some(token), Some(json!({"configuration": configuration}))).await
}

#[tokio::test]
async fn defaults_then_partial_updates_that_replace_lists() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let initial = server.get("/v0/configuration", Some(&admin)).await;
    assert_eq!(initial.status, 200);
    let data = &initial.body["data"];
    assert_eq!(data["local_auth_enabled"], true);
    assert_eq!(data["disable_vpn_on_oidc_error"], false);
    assert_eq!(data["openid_connect_providers"], json!([]));
    assert_eq!(data["saml_identity_providers"], json!([]));
    assert_eq!(data["default_client_mtu"], 1280);
    assert_eq!(data["logo"], Value::Null);
    assert_firezone_timestamp(&data["inserted_at"]);
    for key in [
        "id",
        "vpn_session_duration",
        "default_client_persistent_keepalive",
        "default_client_dns",
        "default_client_allowed_ips",
        "allow_unprivileged_device_management",
        "allow_unprivileged_device_configuration",
        "default_client_endpoint",
        "updated_at",
    ] {
        assert!(data.get(key).is_some(), "{key} missing");
    }

    let saml = json!({"id": "corp", "label": "Corp SAML", "metadata": IDP_METADATA, "auto_create_users": true});
    let updated = patch(
        &server,
        &admin,
        json!({"local_auth_enabled": false, "openid_connect_providers": [okta(true)],
                                                "saml_identity_providers": [saml]}),
    )
    .await;
    assert_eq!(updated.status, 200, "{}", updated.text);
    let data = &updated.body["data"];
    assert_eq!(data["local_auth_enabled"], false);
    let provider = &data["openid_connect_providers"][0];
    assert_eq!(provider["scope"], "openid email profile");
    assert_eq!(provider["response_type"], "code");
    assert_eq!(provider["client_secret"], "s3cret");
    assert_eq!(provider["redirect_uri"], format!("{}/auth/oidc/okta/callback/", server.base));
    let saml = &data["saml_identity_providers"][0];
    assert_eq!(saml["base_url"], format!("{}/auth/saml", server.base));
    for flag in ["sign_requests", "sign_metadata", "signed_assertion_in_resp", "signed_envelopes_in_resp"] {
        assert_eq!(saml[flag], true, "{flag}");
    }

    // A list sent replaces the whole list; keys not sent stay.
    let google = json!({"id": "google", "label": "Google", "client_id": "g", "client_secret": "gs",
                        "discovery_document_uri": "https://accounts.google.com/.well-known/openid-configuration",
                        "auto_create_users": false, "scope": "openid email"});
    let replaced = server
        .call(
            Method::PUT,
            "/v0/configuration",
            Some(&admin),
            Some(json!({"configuration": {"openid_connect_providers": [google]}})),
        )
        .await;
    assert_eq!(replaced.status, 200, "{}", replaced.text);
    let ids: Vec<&str> = replaced.body["data"]["openid_connect_providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["google"]);
    assert_eq!(replaced.body["data"]["local_auth_enabled"], false);
    assert_eq!(replaced.body["data"]["saml_identity_providers"][0]["id"], "corp");
    // Persisted.
    assert_eq!(server.get("/v0/configuration", Some(&admin)).await.body, replaced.body);
}

#[tokio::test]
async fn validation_messages_match_firezone() {
    let server = Server::start().await;
    let admin = server.admin_token().await;
    let mut bad = okta(false);
    bad["id"] = json!("saml");
    bad["scope"] = json!("openid profile");
    bad.as_object_mut().unwrap().remove("auto_create_users");
    let reply = patch(
        &server,
        &admin,
        json!({"openid_connect_providers": [okta(false), bad],
                                              "default_client_mtu": 9000, "local_auth_enabled": "no"}),
    )
    .await;
    assert_eq!(reply.status, 422);
    assert_eq!(
        reply.body,
        json!({"errors": {
            "openid_connect_providers": [{}, {"id": ["is reserved"], "scope": ["must include email scope"], "auto_create_users": ["can't be blank"]}],
            "default_client_mtu": ["must be less than or equal to 1500"],
            "local_auth_enabled": ["is invalid"],
        }})
    );
    let saml = json!({"saml_identity_providers": [{"id": "corp", "label": "Corp", "metadata": "<nope", "auto_create_users": true}]});
    let reply = patch(&server, &admin, saml).await;
    assert_eq!(reply.status, 422);
    let message = reply.body["errors"]["saml_identity_providers"][0]["metadata"][0].as_str().unwrap();
    assert!(message.starts_with("is invalid. Details: "), "{message}");
    // Nothing was stored by the failed updates.
    assert_eq!(server.get("/v0/configuration", Some(&admin)).await.body["data"]["openid_connect_providers"], json!([]));
    // Wrapper and JSON errors.
    let unwrapped =
        server.call(Method::PATCH, "/v0/configuration", Some(&admin), Some(json!({"local_auth_enabled": false}))).await;
    assert_eq!((unwrapped.status.as_u16(), unwrapped.body), (400, json!({"error": "Bad Request"})));
    let garbage = server.raw(Method::PATCH, "/v0/configuration", Some(&admin), b"{oops".to_vec()).await;
    assert_eq!((garbage.status.as_u16(), garbage.body), (400, json!({"error": "Bad Request"})));
}

#[tokio::test]
async fn secrets_are_for_admins_and_tenants_are_separate() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;
    assert_eq!(patch(&server, &admin, json!({"openid_connect_providers": [okta(true)]})).await.status, 200);

    // An unprivileged user: Firezone's 401; with a read policy, secrets are withheld.
    server.post("/api/v1/users", Some(&admin), json!({"username": "ops", "password": "opspassword"})).await;
    let ops = server.login("ops", "opspassword").await;
    assert_eq!(server.get("/v0/configuration", Some(&ops)).await.body, json!({"error": "Unauthorized"}));
    assert_eq!(server.get("/v0/configuration", None).await.body, json!({"errors": {"auth": "unauthenticated"}}));
    let document = json!({"statement": [{"effect": "Allow", "action": ["identity-providers:GetConfiguration"]}]});
    let policy = server.post("/api/v1/policies", Some(&admin), json!({"name": "idp-read", "document": document})).await;
    let me = server.get("/api/v1/users/me", Some(&ops)).await.body["id"].as_str().unwrap().to_owned();
    server
        .call(
            Method::PUT,
            &format!("/api/v1/users/{me}/policies"),
            Some(&admin),
            Some(json!({"policy_ids": [policy.body["id"]]})),
        )
        .await;
    let seen = server.get("/v0/configuration", Some(&ops)).await;
    assert_eq!(seen.status, 200);
    assert_eq!(seen.body["data"]["openid_connect_providers"][0]["client_secret"], Value::Null);
    assert_eq!(patch(&server, &ops, json!({"local_auth_enabled": false})).await.status, 401);

    // Tenant acme has its own configuration, and its redirect URIs carry the tenant prefix.
    let acme = server.admin_token_in("/t/acme").await;
    let theirs = server.get("/t/acme/v0/configuration", Some(&acme)).await;
    assert_eq!(theirs.body["data"]["openid_connect_providers"], json!([]));
    let set = server
        .call(
            Method::PATCH,
            "/t/acme/v0/configuration",
            Some(&acme),
            Some(json!({"configuration": {"openid_connect_providers": [okta(false)]}})),
        )
        .await;
    assert_eq!(
        set.body["data"]["openid_connect_providers"][0]["redirect_uri"],
        format!("{}/t/acme/auth/oidc/okta/callback/", server.base)
    );
}

#[tokio::test]
async fn the_config_file_seeds_the_default_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("tessera.toml");
    std::fs::write(
        &file,
        r#"
[configuration]
local_auth_enabled = false

[[configuration.openid_connect_providers]]
id = "okta"
label = "Okta"
client_id = "tessera"
client_secret = "from-file"
discovery_document_uri = "https://okta.example.com/.well-known/openid-configuration"
auto_create_users = true
"#,
    )
    .unwrap();
    let server = Server::start_with(&[("TESSERA_CONFIG", file.to_str().unwrap())]).await;
    let admin = server.admin_token().await;
    let data = server.get("/v0/configuration", Some(&admin)).await.body["data"].clone();
    assert_eq!(data["local_auth_enabled"], false);
    assert_eq!(data["openid_connect_providers"][0]["client_secret"], "from-file");

    // An invalid seed stops the start with the validation errors.
    std::fs::write(&file, "[configuration]\ndefault_client_mtu = 1\n").unwrap();
    let (ok, _, stderr) = common::run_cli(
        &["--config", file.to_str().unwrap(), "serve"],
        &[("TESSERA__DATABASE__ENDPOINT", "mem://"), ("TESSERA__SERVER__BIND", "127.0.0.1:0")],
        None,
    );
    assert!(!ok && stderr.contains("default_client_mtu"), "{stderr}");
}
