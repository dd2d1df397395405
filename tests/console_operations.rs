//! The console's operations sections over HTTP, as a browser without JavaScript uses them: SCIM
//! (base URL, a provisioning token shown once and used against `/scim/v2`, the last provisioning
//! activity, revoke), the audit log (filters, cursor paging, 400 for filters that do not read) and
//! the operator's tenants (create with a first admin, settings, delete after typing the id), each
//! checked against the APIs, with who may use them and the CSRF check.

mod common;

use std::time::{Duration, Instant};

use common::console::{ConsoleBrowser, PageReply};
use common::Server;
use reqwest::Method;
use serde_json::{json, Value};

const ALICE_PASSWORD: &str = "alice-password-1";

/// The admin's console browser and its API token.
async fn admin(server: &Server) -> (ConsoleBrowser<'_>, String) {
    let token = server.admin_token().await;
    (ConsoleBrowser::new(server, "", &token), token)
}

/// An unprivileged `alice` allowed only to read the audit trail; her session token.
async fn alice(server: &Server, admin: &str) -> String {
    let created =
        server.post("/api/v1/users", Some(admin), json!({"username": "alice", "password": ALICE_PASSWORD})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let document = json!({"statement": [{"effect": "Allow", "action": ["audit:ListEvents"], "resource": ["*"]}]});
    let policy = server.post("/api/v1/policies", Some(admin), json!({"name": "auditors", "document": document})).await;
    assert_eq!(policy.status, 201, "{}", policy.text);
    let path = format!("/api/v1/users/{}/policies", created.body["id"].as_str().unwrap());
    let attach = json!({"policy_ids": [policy.body["id"]]});
    assert_eq!(server.call(Method::PUT, &path, Some(admin), Some(attach)).await.status, 204);
    server.login("alice", ALICE_PASSWORD).await
}

/// The text of the element with `id` (no markup inside it).
fn text_of<'a>(page: &'a PageReply, id: &str) -> &'a str {
    let marker = format!("id=\"{id}\">");
    let start = page.html.find(&marker).unwrap_or_else(|| panic!("no #{id}: {}", page.html)) + marker.len();
    &page.html[start..start + page.html[start..].find('<').unwrap()]
}

/// The table rows of a page.
fn rows(page: &PageReply) -> usize {
    page.html.matches("<tr><td>").count()
}

/// The console path (below `/console`) of the page's link marked `rel`.
fn link(browser: &ConsoleBrowser<'_>, page: &PageReply, rel: &str) -> Option<String> {
    let end = page.html.find(&format!("rel=\"{rel}\""))?;
    let start = page.html[..end].rfind("href=\"")? + "href=\"".len();
    let href = page.html[start..end].trim_end().trim_end_matches('"').replace("&amp;", "&");
    Some(href.strip_prefix(&browser.url("")).unwrap_or_else(|| panic!("{href} is not a console link")).to_owned())
}

/// Polls `path` until its page contains `text` (events recorded apart from a write are
/// appended off the request path).
async fn page_with(browser: &ConsoleBrowser<'_>, path: &str, text: &str) -> PageReply {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let page = browser.get(path).await;
        if page.html.contains(text) || Instant::now() > deadline {
            assert!(page.html.contains(text), "{path} never showed {text}: {}", page.html);
            return page;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn scim_tokens_are_issued_once_used_shown_in_the_activity_and_revoked() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;

    let page = console.get("/scim").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert_eq!(text_of(&page, "scim-base-url"), server.url("/scim/v2"));
    assert!(
        page.html.contains(r#"<button class="secondary" type="button" data-copy="scim-base-url">"#),
        "{}",
        page.html
    );
    assert!(page.html.contains("No provisioning token exists."));
    assert!(page.html.contains("No provisioning yet."));

    // Without the form's CSRF token nothing is issued.
    let forged = console.post_raw("/scim/tokens", "expires_in_days=", Some(&server.base)).await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    assert!(console.get("/scim").await.html.contains("No provisioning token exists."));
    let bad = console.submit("/scim", "/scim/tokens", &[("expires_in_days", "many")]).await;
    assert_eq!(bad.status, 422, "{}", bad.html);
    assert!(bad.html.contains("expires_in_days must be a whole number"), "{}", bad.html);
    let too_long = console.submit("/scim", "/scim/tokens", &[("expires_in_days", "9999")]).await;
    assert_eq!(too_long.status, 422, "{}", too_long.html);

    let issued = console.submit("/scim", "/scim/tokens", &[("expires_in_days", "30")]).await;
    assert_eq!(issued.status, 200, "{}", issued.html);
    assert_eq!(issued.headers["cache-control"], "no-store");
    let raw = text_of(&issued, "scim-token").to_owned();
    assert!(raw.starts_with("sk_"), "{raw}");
    assert!(issued.html.contains("not shown again"));
    assert!(issued.html.contains(r#"data-copy="scim-token""#));

    // The token provisions through SCIM, and only that.
    let user = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "dana@example.com"});
    let provisioned = server.post("/scim/v2/Users", Some(&raw), user).await;
    assert_eq!(provisioned.status, 201, "{}", provisioned.text);
    assert_eq!(server.get("/api/v1/users", Some(&raw)).await.status, 403);

    let page = page_with(&console, "/scim", "scim:CreateUser").await;
    assert!(!page.html.contains(&raw), "the token is shown once only");
    assert!(page.html.contains(&raw[..8]), "the list names the token by its prefix");
    assert!(page.html.contains("audit?action=scim%3A*"), "a link to every provisioning event");
    let start = page.html.find("/scim/tokens/key_").expect("a revoke button") + "/scim/tokens/".len();
    let key_id = page.html[start..start + page.html[start..].find('/').unwrap()].to_owned();
    let revoke = format!("/scim/tokens/{key_id}/revoke");
    assert!(page.html.contains(&revoke), "{}", page.html);

    // An unknown id or another key is not revoked here.
    let own_key = server.post("/api/v1/api-keys", Some(&token), json!({"name": "mine"})).await;
    let own_revoke = format!("/scim/tokens/{}/revoke", own_key.body["id"].as_str().unwrap());
    assert_eq!(console.post(&own_revoke, &page.csrf(), &[]).await.status, 404);
    assert_eq!(console.post("/scim/tokens/key_nope/revoke", &page.csrf(), &[]).await.status, 404);
    assert_eq!(console.post_raw(&revoke, "", Some(&server.base)).await.status, 403, "CSRF is checked");

    let revoked = console.post(&revoke, &page.csrf(), &[]).await;
    assert_eq!(revoked.status, 303, "{}", revoked.html);
    assert!(revoked.location().ends_with("/console/scim?done=revoked"), "{}", revoked.location());
    assert!(console.get("/scim?done=revoked").await.html.contains("Revoked."));
    assert_eq!(server.get("/scim/v2/Users", Some(&raw)).await.status, 401, "a revoked token stops at once");
    assert!(console.get("/scim").await.html.contains("No provisioning token exists."));

    // The admin who issued and revoked it is on record.
    let me = server.get("/api/v1/users/me", Some(&token)).await.body["id"].as_str().unwrap().to_owned();
    let query = format!("/api/v1/audit-events?actor={me}&target=srn:default:api-key:{key_id}");
    let events = server.get(&query, Some(&token)).await;
    let actions: Vec<&str> =
        events.body["events"].as_array().unwrap().iter().map(|event| event["action"].as_str().unwrap()).collect();
    assert_eq!(actions, ["api-keys:DeleteApiKey", "api-keys:CreateApiKey"], "{}", events.text);
    // One event for the issuing, naming the admin (not a second one as the system).
    let issued = server
        .get(
            &format!("/api/v1/audit-events?action=api-keys:CreateApiKey&target=srn:default:api-key:{key_id}"),
            Some(&token),
        )
        .await;
    assert_eq!(issued.body["events"].as_array().unwrap().len(), 1, "{}", issued.text);
}

#[tokio::test]
async fn only_admins_issue_provisioning_tokens() {
    let server = Server::start().await;
    let (_, token) = admin(&server).await;
    let alice = ConsoleBrowser::new(&server, "", &alice(&server, &token).await);

    let audit = alice.get("/audit").await;
    assert_eq!(audit.status, 200, "her policy allows the audit log: {}", audit.html);
    assert!(!audit.html.contains("/console/scim\""), "the SCIM section is not offered to her");
    assert_eq!(alice.get("/scim").await.status, 403);
    let refused = alice.post("/scim/tokens", &audit.csrf(), &[("expires_in_days", "")]).await;
    assert_eq!(refused.status, 403, "{}", refused.html);
    let keys = server.get("/api/v1/api-keys", Some(&token)).await;
    assert_eq!(keys.body, json!([]), "nothing was issued: {}", keys.text);
    assert_eq!(alice.get("/tenants").await.status, 403);
}

#[tokio::test]
async fn the_audit_log_filters_and_pages_by_cursor() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    // A write from the console itself, and more events than a page holds.
    let carol_fields = [
        ("username", "carol"),
        ("role", "unprivileged"),
        ("password", "carol-password-1"),
        ("password_confirmation", "carol-password-1"),
    ];
    let created = console.submit("/users", "/users", &carol_fields).await;
    assert_eq!(created.status, 303, "{}", created.html);
    let carol = created.location().rsplit('/').next().unwrap().split('?').next().unwrap().to_owned();
    for index in 0..55 {
        let email = format!("person{index:02}@example.com");
        let user = server.post("/v0/users", Some(&token), json!({"user": {"email": email}})).await;
        assert_eq!(user.status, 201, "{}", user.text);
    }

    let newest = console.get("/audit").await;
    assert_eq!(newest.status, 200, "{}", newest.html);
    assert!(newest.html.contains("users:CreateUser"));
    assert_eq!(rows(&newest), 50, "a page");
    assert!(link(&console, &newest, "prev").is_none());

    // The console's write, found by its target.
    let target = format!("srn:default:user:{carol}");
    let me = server.get("/api/v1/users/me", Some(&token)).await.body["id"].as_str().unwrap().to_owned();
    let by_target = console.get(&format!("/audit?target={target}")).await;
    assert_eq!(rows(&by_target), 1, "{}", by_target.html);
    assert!(by_target.html.contains("users:CreateUser") && by_target.html.contains(&me), "{}", by_target.html);

    // Filtered by action, 57 creations (with the bootstrap) page as 50 + 7, the filter kept on "Older".
    let first = console.get("/audit?action=users:CreateUser").await;
    assert_eq!(rows(&first), 50);
    let older = link(&console, &first, "next").expect("an Older link");
    assert!(older.contains("action=users%3ACreateUser") && older.contains("cursor="), "{older}");
    assert!(first.html.contains(">Older</a>"));
    let second = console.get(&older).await;
    assert_eq!(second.status, 200, "{}", second.html);
    assert_eq!(rows(&second), 7, "{}", second.html);
    assert!(link(&console, &second, "next").is_none(), "no older events");
    assert!(second.html.contains(">Newest</a>"));
    assert!(second.html.contains(&target), "the oldest creations are the bootstrap and carol's");

    // Module filter, actor, outcome, time.
    let modules = console.get("/audit?action=sign-in:*").await;
    assert!(modules.html.contains("sign-in:Password") && !modules.html.contains("users:CreateUser"));
    let alice_token = alice(&server, &token).await;
    assert_eq!(server.get("/api/v1/users", Some(&alice_token)).await.status, 403);
    let denied = page_with(&console, "/audit?outcome=denied", "users:ListUsers").await;
    assert!(!denied.html.contains("users:CreateUser"), "{}", denied.html);
    let mine = console.get(&format!("/audit?actor={me}&action=users:CreateUser")).await;
    assert_eq!(rows(&mine), 50);
    let stranger = console.get("/audit?actor=usr_00000000000000000000000000000000").await;
    assert!(stranger.html.contains("No events match."));
    let before_2000 = console.get("/audit?to=2000-01-01T00:00").await;
    assert_eq!(before_2000.status, 200);
    assert!(before_2000.html.contains("No events match."));
    let since_2000 = console.get("/audit?from=2000-01-01T00:00&to=2999-01-01T00:00:00Z").await;
    assert_eq!(rows(&since_2000), 50);
    assert!(since_2000.html.contains(r#"value="2000-01-01T00:00""#), "the form keeps the filters");

    // Filters that do not read: a 400 page with the message, never a 5xx.
    for (query, message) in [
        ("outcome=maybe", "outcome must be success, denied or failure"),
        ("from=yesterday", "from must be a date and time"),
        ("cursor=nope", "cursor is not a page of this log"),
        ("from=2020-01-02T00:00&to=2020-01-01T00:00", "from must not be after to"),
        ("from=%2B10000-01-01T00:00", "from must be a date and time"),
        ("outcome=a&outcome=b", "malformed"),
    ] {
        let page = console.get(&format!("/audit?{query}")).await;
        assert_eq!(page.status, 400, "{query}: {}", page.html);
        assert!(page.html.contains(message), "{query}: {}", page.html);
    }
    let long = console.get(&format!("/audit?target={}", "x".repeat(600))).await;
    assert_eq!(long.status, 400);

    // Reading the trail is audit:ListEvents.
    let carol_session = server.login("carol", "carol-password-1").await;
    assert_eq!(ConsoleBrowser::new(&server, "", &carol_session).get("/audit").await.status, 403);
}

#[tokio::test]
async fn operators_create_configure_and_delete_tenants_with_a_typed_confirmation() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;

    let list = console.get("/tenants").await;
    assert_eq!(list.status, 200, "{}", list.html);
    assert!(list.html.contains(">default</a>"), "{}", list.html);

    // CSRF first: a forged form creates nothing.
    let forged = console.post_raw("/tenants", "id=forged", Some(&server.base)).await;
    assert_eq!(forged.status, 403, "{}", forged.html);
    assert_eq!(server.get("/api/v1/tenants/forged", Some(&token)).await.status, 404);

    let fields = [
        ("id", "acme"),
        ("display_name", "Acme Corp"),
        ("hostnames", ""),
        ("admin_username", "root"),
        ("admin_password", "acme root password"),
    ];
    let created = console.submit("/tenants", "/tenants", &fields).await;
    assert_eq!(created.status, 303, "{}", created.html);
    assert!(created.location().ends_with("/console/tenants/acme?done=created"), "{}", created.location());
    let acme_admin = server.login_in("/t/acme", "root", "acme root password").await;
    assert_eq!(server.get("/t/acme/api/v1/users/me", Some(&acme_admin)).await.status, 200);

    let taken = console.submit("/tenants", "/tenants", &[("id", "acme")]).await;
    assert_eq!(taken.status, 409, "{}", taken.html);
    assert!(taken.html.contains("tenant already exists"));
    let invalid = console
        .submit("/tenants", "/tenants", &[("id", "Not An Id"), ("admin_username", "root"), ("admin_password", "short")])
        .await;
    assert_eq!(invalid.status, 422, "{}", invalid.html);
    assert!(invalid.html.contains("must be 1 to 63 lowercase letters"), "{}", invalid.html);
    assert!(invalid.html.contains("admin.password"), "{}", invalid.html);
    assert!(invalid.html.contains(r#"value="Not An Id""#), "the form keeps what was typed");
    assert!(!invalid.html.contains(r#"value="short""#), "but never a password");

    // A tenant's own admin is no operator (before the tenant moves to its own hostnames).
    let acme_console = ConsoleBrowser::new(&server, "/t/acme", &acme_admin);
    let acme_users = acme_console.get("/users").await;
    assert_eq!(acme_users.status, 200, "{}", acme_users.html);
    assert!(!acme_users.html.contains("/console/tenants"), "no Tenants section in a tenant's console");
    assert_eq!(acme_console.get("/tenants").await.status, 403);
    assert_eq!(acme_console.get("/tenants/acme").await.status, 403);
    let attempt = acme_console.post("/tenants", &acme_users.csrf(), &[("id", "sneaky")]).await;
    assert_eq!(attempt.status, 403, "{}", attempt.html);
    assert_eq!(server.get("/api/v1/tenants/sneaky", Some(&token)).await.status, 404);

    // The tenant's page: where it is served, and its settings.
    let page = console.get("/tenants/acme?done=created").await;
    assert_eq!(page.status, 200, "{}", page.html);
    assert!(page.html.contains("Created."));
    assert_eq!(text_of(&page, "tenant-scim-url"), server.url("/t/acme/scim/v2"));
    let settings = [
        ("display_name", "Acme"),
        ("hostnames", "ID.Acme.test\nsso.acme.test"),
        ("password_min_length", "12"),
        ("session_lifetime_minutes", ""),
        ("api_key_max_lifetime_days", "30"),
    ];
    let saved = console.submit("/tenants/acme", "/tenants/acme", &settings).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    assert!(saved.location().ends_with("/console/tenants/acme?done=saved"));
    let record = server.get("/api/v1/tenants/acme", Some(&token)).await.body;
    assert_eq!(record["display_name"], "Acme");
    assert_eq!(record["hostnames"], json!(["id.acme.test", "sso.acme.test"]));
    assert_eq!(record["settings"]["password_min_length"], 12);
    assert_eq!(record["settings"]["api_key_max_lifetime_days"], 30);
    assert_eq!(record["settings"]["session_lifetime_minutes"], Value::Null);
    assert_eq!(record["settings"]["local_auth_enabled"], false, "the box was left unchecked");
    let shown = console.get("/tenants/acme").await;
    assert!(
        shown.html.contains("id.acme.test\nsso.acme.test") && shown.html.contains(r#"value="12""#),
        "{}",
        shown.html
    );
    for (field, value, message) in [
        ("password_min_length", "3", "settings.password_min_length must be between 8 and 128"),
        ("session_lifetime_minutes", "soon", "settings.session_lifetime_minutes must be a whole number"),
        ("hostnames", "not a host!", "is not a hostname"),
    ] {
        let refused =
            console.submit("/tenants/acme", "/tenants/acme", &[("display_name", "Acme"), (field, value)]).await;
        assert_eq!(refused.status, 422, "{field}: {}", refused.html);
        assert!(refused.html.contains(message), "{field}: {}", refused.html);
    }
    assert_eq!(server.get("/api/v1/tenants/acme", Some(&token)).await.body["settings"]["password_min_length"], 12);

    // Deleting: the id must be typed; the default tenant is refused by the domain.
    let confirm = console.get("/tenants/acme/delete").await;
    assert_eq!(confirm.status, 200, "{}", confirm.html);
    let mismatch = console.post("/tenants/acme/delete", &confirm.csrf(), &[("confirm", "acme-corp")]).await;
    assert_eq!(mismatch.status, 422, "{}", mismatch.html);
    assert!(mismatch.html.contains("nothing was deleted"));
    assert_eq!(server.get("/api/v1/tenants/acme", Some(&token)).await.body["status"], "active");
    assert_eq!(server.get("/t/acme/api/v1/users/me", Some(&acme_admin)).await.status, 200);
    let without_csrf = console.post_raw("/tenants/acme/delete", "confirm=acme", Some(&server.base)).await;
    assert_eq!(without_csrf.status, 403);
    assert_eq!(server.get("/api/v1/tenants/acme", Some(&token)).await.body["status"], "active");

    let default = console.get("/tenants/default").await;
    assert!(!default.html.contains("/tenants/default/delete"), "no delete offered for the default tenant");
    let refused = console.post("/tenants/default/delete", &confirm.csrf(), &[("confirm", "default")]).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    assert!(refused.html.contains("the default tenant cannot be deleted"), "{}", refused.html);
    assert_eq!(console.get("/tenants/nowhere").await.status, 404);

    let deleted = console.post("/tenants/acme/delete", &confirm.csrf(), &[("confirm", "acme")]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    assert!(deleted.location().ends_with("/console/tenants?done=deleted"));
    assert_ne!(server.get("/t/acme/api/v1/users/me", Some(&acme_admin)).await.status, 200, "served nowhere");
    let listed = console.get("/tenants?done=deleted").await;
    assert!(listed.html.contains("Deleted."));
    let status = server.get("/api/v1/tenants/acme", Some(&token)).await;
    assert!(status.status == 404 || status.body["status"] == "deleting", "{}", status.text);
}
