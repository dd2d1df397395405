//! The console's API keys and identity providers pages over HTTP, as a browser without
//! JavaScript uses them: a key's secret shown once (and working, then dead once deleted), OIDC
//! and SAML providers added, edited and deleted with the configuration's own validation beside
//! the fields, client secrets never in a page, password sign-in toggled — each checked against
//! the APIs, the sign-in page, and a member's refusals.

mod common;

use common::console::{ConsoleBrowser, PageReply};
use common::Server;
use serde_json::{json, Value};

/// The admin's console browser and its API token.
async fn admin(server: &Server) -> (ConsoleBrowser<'_>, String) {
    let token = server.admin_token().await;
    (ConsoleBrowser::new(server, "", &token), token)
}

/// An unprivileged user made through the API, signed in: its console browser and its id.
async fn member<'a>(server: &'a Server, admin: &str, username: &str) -> (ConsoleBrowser<'a>, String) {
    let body = json!({"username": username, "password": format!("{username} password")});
    let created = server.post("/api/v1/users", Some(admin), body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let token = server.login(username, &format!("{username} password")).await;
    (ConsoleBrowser::new(server, "", &token), created.body["id"].as_str().unwrap().to_owned())
}

/// The text of the element with `id` (a copy button's source).
fn element_text(page: &PageReply, id: &str) -> String {
    let marker = format!("id=\"{id}\">");
    let start = page.html.find(&marker).unwrap_or_else(|| panic!("no #{id} in {}", page.html)) + marker.len();
    let end = page.html[start..].find('<').unwrap() + start;
    page.html[start..end].to_owned()
}

/// Whether the page has a copy button for the element with `id`.
fn copies(page: &PageReply, id: &str) -> bool {
    page.html.contains(&format!("<button class=\"secondary\" type=\"button\" data-copy=\"{id}\">Copy</button>"))
}

/// Asserts that the message of `field` stands right after its input (before the next field).
fn assert_error_beside(page: &PageReply, field: &str, next_field: &str) {
    let input = page.html.find(&format!("name=\"{field}\"")).unwrap_or_else(|| panic!("no {field} in {}", page.html));
    let error = page.html.find(&format!("id=\"error-{field}\"")).unwrap_or_else(|| panic!("no error for {field}"));
    let next = page.html.find(&format!("name=\"{next_field}\"")).unwrap();
    assert!(input < error && error < next, "the {field} message is beside its input: {}", page.html);
}

/// The admin's view of the configuration (`/v0/configuration`, secrets included).
async fn configuration(server: &Server, token: &str) -> Value {
    let reply = server.get("/v0/configuration", Some(token)).await;
    assert_eq!(reply.status, 200, "{}", reply.text);
    reply.body["data"].clone()
}

#[tokio::test]
async fn a_new_key_is_shown_once_works_as_bearer_and_dies_when_deleted() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let readers = json!({"statement": [{"effect": "Allow", "action": ["users:GetUser"], "resource": ["*"]}]});
    let policy = server.post("/api/v1/policies", Some(&token), json!({"name": "readers", "document": readers})).await;
    let policy_id = policy.body["id"].as_str().unwrap().to_owned();

    let page = console.get("/api-keys").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("You have no API keys."), "{}", page.html);
    assert!(page.html.contains(&format!("value=\"{policy_id}\"")), "admins may narrow a key: {}", page.html);

    // The domain's limits, beside their fields; nothing is created.
    let refused = console.post("/api-keys", &page.csrf(), &[("name", " "), ("expires_in_days", "1000")]).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert_error_beside(&refused, "name", "expires_in_days");
    assert!(refused.html.contains("id=\"error-expires_in_days\""), "{}", refused.html);
    assert!(refused.html.contains("value=\"1000\""), "the input is kept: {}", refused.html);
    let not_a_number = console.post("/api-keys", &page.csrf(), &[("name", "x"), ("expires_in_days", "soon")]).await;
    assert_eq!(not_a_number.status, 422, "{}", not_a_number.html);
    assert_eq!(server.get("/api/v1/api-keys", Some(&token)).await.body, json!([]));

    // Created: the secret is on the answer to the POST itself, once, with its copy button.
    let fields = [("name", "deploy bot"), ("expires_in_days", "30")];
    let created = console.post("/api-keys", &page.csrf(), &fields).await;
    assert_eq!(created.status, 201, "{}", created.html);
    assert!(created.headers.get("location").is_none());
    assert_eq!(created.headers["cache-control"], "no-store");
    let secret = element_text(&created, "new-api-key");
    assert!(secret.starts_with("sk_"), "{secret}");
    assert!(copies(&created, "new-api-key"), "{}", created.html);

    let me = server.get("/api/v1/users/me", Some(&secret)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["username"], "admin");

    let listed = console.get("/api-keys").await;
    assert!(listed.html.contains("deploy bot"), "{}", listed.html);
    assert!(!listed.html.contains(&secret), "the secret is shown once");
    assert!(!listed.html.contains("new-api-key"), "{}", listed.html);

    // A key narrowed to a policy picked on the form.
    let narrowed =
        console.post("/api-keys", &page.csrf(), &[("name", "reader key"), ("policy_id", policy_id.as_str())]).await;
    assert_eq!(narrowed.status, 201, "{}", narrowed.html);
    let keys = server.get("/api/v1/api-keys", Some(&token)).await.body;
    let reader = keys.as_array().unwrap().iter().find(|key| key["name"] == "reader key").unwrap();
    assert_eq!(reader["policy_ids"], json!([policy_id]), "{reader}");

    // Delete, after a confirmation page: the key is refused at once.
    let key = keys.as_array().unwrap().iter().find(|key| key["name"] == "deploy bot").unwrap();
    let key_id = key["id"].as_str().unwrap();
    let confirm = console.get(&format!("/api-keys/{key_id}/delete")).await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    assert!(confirm.html.contains("deploy bot"));
    let deleted = console.post(&format!("/api-keys/{key_id}/delete"), &confirm.csrf(), &[]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    assert!(deleted.location().ends_with("/console/api-keys?done=deleted"), "{}", deleted.location());
    assert_eq!(server.get("/api/v1/users/me", Some(&secret)).await.status, 401);
    assert!(!console.get("/api-keys").await.html.contains("deploy bot"));
    assert_eq!(console.get("/api-keys/key_nothex/delete").await.status, 404);
}

#[tokio::test]
async fn everyone_sees_only_their_own_keys_and_forms_need_the_csrf_token() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let (max, _) = member(&server, &token, "max").await;

    let page = max.get("/api-keys").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(!page.html.contains("name=\"policy_id\""), "max may not list policies: {}", page.html);
    let created = max.post("/api-keys", &page.csrf(), &[("name", "max's laptop")]).await;
    assert_eq!(created.status, 201, "{}", created.html);
    let secret = element_text(&created, "new-api-key");
    assert_eq!(server.get("/api/v1/users/me", Some(&secret)).await.body["username"], "max");

    // The admin's page lists the admin's keys only, not every key of the tenant.
    assert!(!console.get("/api-keys").await.html.contains("laptop"));

    // Without the session's CSRF token nothing is created or deleted.
    let missing = max.post_raw("/api-keys", "name=forged", Some(&server.base)).await;
    assert_eq!(missing.status, 403, "{}", missing.html);
    let keys = server.get("/api/v1/api-keys", Some(&secret)).await.body;
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    let key_id = keys[0]["id"].as_str().unwrap();
    let forged = max.post_raw(&format!("/api-keys/{key_id}/delete"), "", Some(&server.base)).await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    assert_eq!(server.get("/api/v1/users/me", Some(&secret)).await.status, 200);
}

/// The form of a valid OIDC provider with `id` and `secret`.
fn oidc_fields<'a>(id: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("id", id),
        ("label", "Okta"),
        ("discovery_document_uri", "https://okta.example.test/.well-known/openid-configuration"),
        ("client_id", "tessera-client"),
        ("client_secret", secret),
        ("auto_create_users", "true"),
    ]
}

#[tokio::test]
async fn an_oidc_provider_is_validated_by_the_domain_listed_edited_and_deleted() {
    const SECRET: &str = "very-secret-client-secret";
    let server = Server::start().await;
    let (console, token) = admin(&server).await;

    let form = console.get("/providers/oidc").await;
    assert_eq!(form.status, 200, "{}", form.html);

    // Invalid: the domain's message beside the field, 422, the input kept but not the secret.
    let mut fields = oidc_fields("okta", SECRET);
    fields[2] = ("discovery_document_uri", "okta.example.test/openid");
    let refused = console.post("/providers/oidc", &form.csrf(), &fields).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert_error_beside(&refused, "discovery_document_uri", "client_id");
    assert!(refused.html.contains("discovery_document_uri is invalid"), "{}", refused.html);
    assert!(refused.html.contains("value=\"okta.example.test/openid\""), "{}", refused.html);
    assert!(refused.html.contains("value=\"tessera-client\""), "{}", refused.html);
    assert!(!refused.html.contains(SECRET), "a secret is not sent back");
    assert_eq!(configuration(&server, &token).await["openid_connect_providers"], json!([]), "nothing stored");

    // Valid: stored, listed with its redirect URI to copy and a test sign-in link.
    let added = console.post("/providers/oidc", &form.csrf(), &oidc_fields("okta", SECRET)).await;
    assert_eq!(added.status, 303, "{}", added.html);
    assert!(added.location().ends_with("/console/providers?done=created"), "{}", added.location());
    let list = console.get("/providers").await;
    assert_eq!(list.status, 200, "{}", list.html);
    let redirect_uri = format!("{}/auth/oidc/okta/callback/", server.base);
    assert_eq!(element_text(&list, "oidc-okta-redirect"), redirect_uri);
    assert!(copies(&list, "oidc-okta-redirect"), "{}", list.html);
    assert!(list.html.contains(&format!("href=\"{}/auth/oidc/okta\"", server.base)), "{}", list.html);
    assert!(list.html.contains("Test sign-in"));
    let stored = configuration(&server, &token).await;
    assert_eq!(stored["openid_connect_providers"][0]["client_secret"], SECRET);
    assert_eq!(stored["openid_connect_providers"][0]["redirect_uri"], redirect_uri);

    let sign_in = reqwest::get(server.url("/sign_in")).await.unwrap().text().await.unwrap();
    assert!(sign_in.contains("Sign in with Okta"), "{sign_in}");

    // The same id again: the domain's duplicate message on the id field.
    let twice = console.post("/providers/oidc", &form.csrf(), &oidc_fields("okta", "other")).await;
    assert_eq!(twice.status, 422, "{}", twice.html);
    assert!(twice.html.contains("id=\"error-id\""), "{}", twice.html);

    // Edit: an empty secret keeps the stored one; a refused edit changes nothing.
    let edit = console.get("/providers/oidc/okta").await;
    assert_eq!(edit.status, 200, "{}", edit.html);
    assert!(edit.html.contains("value=\"tessera-client\""), "{}", edit.html);
    let mut changed = oidc_fields("ignored", "");
    changed[1] = ("label", "Okta Corp");
    let saved = console.post("/providers/oidc/okta", &edit.csrf(), &changed).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let stored = configuration(&server, &token).await["openid_connect_providers"].clone();
    assert_eq!(stored.as_array().unwrap().len(), 1, "{stored}");
    assert_eq!(stored[0]["id"], "okta", "the id stays that of the path");
    assert_eq!(stored[0]["label"], "Okta Corp");
    assert_eq!(stored[0]["client_secret"], SECRET, "an empty secret keeps the stored one");
    let mut bad_scope = oidc_fields("okta", "a-new-secret-typed");
    bad_scope.push(("scope", "profile"));
    let refused = console.post("/providers/oidc/okta", &edit.csrf(), &bad_scope).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("scope must include openid scope"), "{}", refused.html);
    assert!(!refused.html.contains("a-new-secret-typed"));
    assert_eq!(configuration(&server, &token).await["openid_connect_providers"], stored, "unchanged");

    // The secret is in no console page.
    for path in ["/providers", "/providers/oidc/okta", "/providers/oidc/okta/delete", "/providers/oidc"] {
        let page = console.get(path).await;
        assert_eq!(page.status, 200, "{path}: {}", page.html);
        assert!(!page.html.contains(SECRET), "{path} shows the client secret");
    }

    // Delete, after a confirmation page.
    let confirm = console.get("/providers/oidc/okta/delete").await;
    let deleted = console.post("/providers/oidc/okta/delete", &confirm.csrf(), &[]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    assert_eq!(configuration(&server, &token).await["openid_connect_providers"], json!([]));
    assert!(!reqwest::get(server.url("/sign_in")).await.unwrap().text().await.unwrap().contains("Okta"));
    assert_eq!(console.get("/providers/oidc/okta").await.status, 404);
}

/// IdP metadata the domain accepts.
const IDP_METADATA: &str = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.test"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/></md:EntityDescriptor>"#;

#[tokio::test]
async fn a_saml_provider_shows_its_sp_urls_and_password_sign_in_toggles() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let form = console.get("/providers/saml").await;
    assert_eq!(form.status, 200, "{}", form.html);
    assert!(form.html.contains("name=\"sign_requests\" value=\"true\" checked"), "{}", form.html);

    let fields = [("id", "corp"), ("label", "Corp SSO"), ("metadata", "<not xml"), ("auto_create_users", "true")];
    let refused = console.post("/providers/saml", &form.csrf(), &fields).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert_error_beside(&refused, "metadata", "base_url");
    assert!(refused.html.contains("metadata is invalid. Details:"), "{}", refused.html);
    assert_eq!(configuration(&server, &token).await["saml_identity_providers"], json!([]));

    // Unchecked boxes are sent as off, not left to the defaults.
    let fields = [("id", "corp"), ("label", "Corp SSO"), ("metadata", IDP_METADATA), ("sign_requests", "true")];
    let added = console.post("/providers/saml", &form.csrf(), &fields).await;
    assert_eq!(added.status, 303, "{}", added.html);
    let stored = configuration(&server, &token).await["saml_identity_providers"][0].clone();
    assert_eq!((stored["sign_requests"].clone(), stored["sign_metadata"].clone()), (json!(true), json!(false)));
    assert_eq!(stored["auto_create_users"], false);

    let list = console.get("/providers").await;
    let metadata_url = element_text(&list, "saml-corp-metadata");
    assert_eq!(metadata_url, format!("{}/auth/saml/sp/metadata/corp", server.base));
    assert_eq!(element_text(&list, "saml-corp-acs"), format!("{}/auth/saml/sp/consume/corp", server.base));
    assert!(copies(&list, "saml-corp-metadata") && copies(&list, "saml-corp-acs"), "{}", list.html);
    assert!(list.html.contains(&format!("href=\"{}/auth/saml/auth/signin/corp\"", server.base)), "{}", list.html);
    assert_eq!(reqwest::get(&metadata_url).await.unwrap().status(), 200, "the SP metadata is served there");

    // An id the other protocol uses: the domain's message on the id field.
    let clash = console.post("/providers/oidc", &form.csrf(), &oidc_fields("corp", "s")).await;
    assert_eq!(clash.status, 422, "{}", clash.html);
    assert!(clash.html.contains("id=\"error-id\""), "{}", clash.html);

    let edit = console.get("/providers/saml/corp").await;
    assert!(edit.html.contains("https://idp.example.test"), "the metadata is editable: {}", edit.html);
    let deleted = console.post("/providers/saml/corp/delete", &edit.csrf(), &[]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    assert_eq!(configuration(&server, &token).await["saml_identity_providers"], json!([]));

    // Password sign-in off and on again.
    assert!(list.html.contains("Turn password sign-in off"), "{}", list.html);
    let off = console.post("/providers/local-auth", &list.csrf(), &[("enabled", "false")]).await;
    assert_eq!(off.status, 303, "{}", off.html);
    assert_eq!(configuration(&server, &token).await["local_auth_enabled"], false);
    let sign_in = reqwest::get(server.url("/sign_in")).await.unwrap().text().await.unwrap();
    assert!(!sign_in.contains("type=\"password\""), "{sign_in}");
    assert!(console.get("/providers").await.html.contains("Turn password sign-in on"));
    let on = console.post("/providers/local-auth", &list.csrf(), &[("enabled", "true")]).await;
    assert_eq!(on.status, 303, "{}", on.html);
    assert_eq!(configuration(&server, &token).await["local_auth_enabled"], true);
}

#[tokio::test]
async fn providers_need_the_configuration_permissions_and_the_csrf_token() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let (max, max_id) = member(&server, &token, "max").await;

    // Without identity-providers permissions: no section, no page, no form.
    let keys = max.get("/api-keys").await;
    assert!(!keys.html.contains("Identity providers"), "{}", keys.html);
    assert_eq!(max.get("/providers").await.status, 403);
    assert_eq!(max.get("/providers/oidc").await.status, 403);
    let posted = max.post("/providers/oidc", &keys.csrf(), &oidc_fields("sneaky", "s")).await;
    assert_eq!(posted.status, 403, "{}", posted.html);
    assert_eq!(max.post("/providers/local-auth", &keys.csrf(), &[("enabled", "false")]).await.status, 403);

    // Allowed to read the configuration: the list, without the forms.
    let document = json!({"statement": [{"effect": "Allow", "action": ["identity-providers:GetConfiguration"], "resource": ["*"]}]});
    let policy =
        server.post("/api/v1/policies", Some(&token), json!({"name": "idp-readers", "document": document})).await;
    let attach = json!({"policy_ids": [policy.body["id"]]});
    let path = format!("/api/v1/users/{max_id}/policies");
    assert_eq!(server.call(reqwest::Method::PUT, &path, Some(&token), Some(attach)).await.status, 204);
    let added = console.submit("/providers/oidc", "/providers/oidc", &oidc_fields("okta", "s3cr3t-value")).await;
    assert_eq!(added.status, 303, "{}", added.html);
    let read_only = max.get("/providers").await;
    assert_eq!(read_only.status, 200, "{}", read_only.html);
    assert!(read_only.html.contains("/auth/oidc/okta/callback/"), "{}", read_only.html);
    assert!(!read_only.html.contains("Add an OpenID Connect provider"), "{}", read_only.html);
    assert!(!read_only.html.contains("s3cr3t-value"));
    let refused = max.post("/providers/oidc/okta/delete", &read_only.csrf(), &[]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);

    // Without the CSRF token the admin's forms do nothing either.
    let body = serde_urlencoded::to_string(oidc_fields("forged", "s")).unwrap();
    assert_eq!(console.post_raw("/providers/oidc", &body, Some(&server.base)).await.status, 403);
    assert_eq!(console.post_raw("/providers/oidc/okta/delete", "", Some(&server.base)).await.status, 403);
    assert_eq!(console.post_raw("/providers/local-auth", "enabled=false", Some(&server.base)).await.status, 403);
    let stored = configuration(&server, &token).await;
    assert_eq!(stored["openid_connect_providers"].as_array().unwrap().len(), 1, "{stored}");
    assert_eq!(stored["local_auth_enabled"], true);
}

#[tokio::test]
async fn in_a_tenant_keys_and_provider_urls_are_the_tenants() {
    let server = Server::start().await;
    let operator = server.admin_token().await;
    let tenant =
        json!({"id": "acme", "display_name": "Acme", "admin": {"username": "root", "password": "acme root password"}});
    assert_eq!(server.post("/api/v1/tenants", Some(&operator), tenant).await.status, 201);
    let root = server.login_in("/t/acme", "root", "acme root password").await;
    let console = ConsoleBrowser::new(&server, "/t/acme", &root);

    let created = console.submit("/api-keys", "/api-keys", &[("name", "acme key")]).await;
    assert_eq!(created.status, 201, "{}", created.html);
    let secret = element_text(&created, "new-api-key");
    assert_eq!(server.get("/t/acme/api/v1/users/me", Some(&secret)).await.status, 200);
    assert_eq!(server.get("/api/v1/users/me", Some(&secret)).await.status, 401, "a key works in its tenant only");

    let added = console.submit("/providers/oidc", "/providers/oidc", &oidc_fields("okta", "acme-secret")).await;
    assert_eq!(added.status, 303, "{}", added.html);
    assert!(added.location().ends_with("/t/acme/console/providers?done=created"), "{}", added.location());
    let list = console.get("/providers").await;
    let base = format!("{}/t/acme", server.base);
    assert_eq!(element_text(&list, "oidc-okta-redirect"), format!("{base}/auth/oidc/okta/callback/"));
    assert!(list.html.contains(&format!("href=\"{base}/auth/oidc/okta\"")), "{}", list.html);
    assert_eq!(
        configuration(&server, &operator).await["openid_connect_providers"],
        json!([]),
        "not the default tenant's"
    );
}

#[tokio::test]
async fn concurrent_provider_forms_never_lose_each_others_changes() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let csrf = console.get("/providers/oidc").await.csrf();
    let ids: Vec<String> = (0..12).map(|index| format!("idp{index}")).collect();
    // Twelve administrators add a provider each at the same moment.
    let forms: Vec<Vec<(&str, &str)>> = ids.iter().map(|id| oidc_fields(id, "a-client-secret-value")).collect();
    let adds = forms.iter().map(|fields| console.post("/providers/oidc", &csrf, fields));
    for added in futures::future::join_all(adds).await {
        assert_eq!(added.status, 303, "{}", added.html);
    }
    // Then rename half of them while the other half is deleted, all at once.
    let edits = ids.iter().enumerate().map(|(index, id)| {
        let console = &console;
        let csrf = csrf.clone();
        async move {
            if index % 2 == 0 {
                let label = format!("Renamed {id}");
                let mut fields = oidc_fields(id, "");
                fields[1] = ("label", &label);
                console.post(&format!("/providers/oidc/{id}"), &csrf, &fields).await
            } else {
                console.post(&format!("/providers/oidc/{id}/delete"), &csrf, &[]).await
            }
        }
    });
    for changed in futures::future::join_all(edits).await {
        assert_eq!(changed.status, 303, "{}", changed.html);
    }
    let configuration = server.get("/v0/configuration", Some(&token)).await;
    let providers = configuration.body["data"]["openid_connect_providers"].as_array().unwrap().clone();
    let labels: Vec<(String, String)> = providers
        .iter()
        .map(|provider| (provider["id"].as_str().unwrap().to_owned(), provider["label"].as_str().unwrap().to_owned()))
        .collect();
    let expected: Vec<(String, String)> =
        ids.iter().step_by(2).map(|id| (id.clone(), format!("Renamed {id}"))).collect();
    let mut sorted = labels.clone();
    sorted.sort();
    let mut expected_sorted = expected.clone();
    expected_sorted.sort();
    assert_eq!(sorted, expected_sorted, "{}", configuration.text);
}
