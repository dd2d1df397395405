//! The tenant lifecycle API (`/api/v1/tenants`), host routing and per-tenant settings,
//! through the public HTTP surface of a real server.

mod common;

use std::time::{Duration, Instant};

use common::Server;
use reqwest::Method;
use serde_json::{json, Value};

async fn patch(server: &Server, path: &str, token: &str, body: Value) -> common::Reply {
    server.call(Method::PATCH, path, Some(token), Some(body)).await
}

/// Sends `path` to the server with the given `Host` header.
async fn on_host(server: &Server, host: &str, method: Method, path: &str, token: Option<&str>) -> common::Reply {
    let client = reqwest::Client::new();
    let mut request = client.request(method, server.url(path)).header("host", host);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    common::Reply { status, headers, text, body }
}

/// Polls until `check` holds or five seconds pass.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within 5 s");
}

#[tokio::test]
async fn operators_create_read_change_and_delete_tenants() {
    let server = Server::start().await;
    let operator = server.admin_token().await;

    let created = server
        .post(
            "/api/v1/tenants",
            Some(&operator),
            json!({"id": "acme", "display_name": "Acme Corp", "hostnames": ["ID.Acme.test"],
                   "settings": {"password_min_length": 12, "session_lifetime_minutes": 90},
                   "admin": {"username": "root", "password": "acme root password"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let tenant = &created.body;
    assert_eq!(tenant["id"], "acme");
    assert_eq!(tenant["display_name"], "Acme Corp");
    assert_eq!(tenant["hostnames"], json!(["id.acme.test"]));
    assert_eq!(tenant["status"], "active");
    assert_eq!(tenant["settings"]["password_min_length"], 12);
    assert_eq!(tenant["settings"]["session_lifetime_minutes"], 90);
    assert_eq!(tenant["settings"]["api_key_max_lifetime_days"], Value::Null);
    assert_eq!(tenant["settings"]["local_auth_enabled"], true);
    let base = format!("http://id.acme.test:{}", server.port);
    assert_eq!(tenant["urls"]["base_url"], base);
    assert_eq!(tenant["urls"]["scim_base_url"], format!("{base}/scim/v2"));
    assert_eq!(tenant["urls"]["oidc_redirect_uri"], format!("{base}/auth/oidc/{{provider}}/callback/"));
    assert_eq!(tenant["urls"]["saml_acs_url"], format!("{base}/auth/saml/sp/consume/{{provider}}"));

    // The first admin signs in to its own tenant, and only there.
    let acme_admin = server.login_in("/t/acme", "root", "acme root password").await;
    assert_eq!(server.get("/t/acme/api/v1/users/me", Some(&acme_admin)).await.status, 200);
    assert_eq!(server.get("/api/v1/users/me", Some(&acme_admin)).await.status, 401);

    let listed = server.get("/api/v1/tenants", Some(&operator)).await;
    assert_eq!(listed.status, 200);
    let ids: Vec<&str> = listed.body.as_array().unwrap().iter().map(|t| t["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["acme", "default"]);
    let fetched = server.get("/api/v1/tenants/acme", Some(&operator)).await;
    assert_eq!(fetched.status, 200);
    assert_eq!(fetched.body["display_name"], "Acme Corp");

    let changed = patch(
        &server,
        "/api/v1/tenants/acme",
        &operator,
        json!({"display_name": "Acme", "settings": {"session_lifetime_minutes": null, "local_auth_enabled": false}}),
    )
    .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    assert_eq!(changed.body["display_name"], "Acme");
    assert_eq!(changed.body["hostnames"], json!(["id.acme.test"]), "hostnames not named are kept");
    assert_eq!(changed.body["settings"]["session_lifetime_minutes"], Value::Null);
    assert_eq!(changed.body["settings"]["password_min_length"], 12, "settings not named are kept");
    assert_eq!(changed.body["settings"]["local_auth_enabled"], false);
    let configuration = server.get("/t/acme/v0/configuration", Some(&acme_admin)).await;
    assert_eq!(configuration.body["data"]["local_auth_enabled"], false, "{}", configuration.text);
    // The list shows each tenant's own configuration too.
    let listed = server.get("/api/v1/tenants", Some(&operator)).await;
    let local_auth: Vec<(&str, bool)> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["settings"]["local_auth_enabled"].as_bool().unwrap()))
        .collect();
    assert_eq!(local_auth, [("acme", false), ("default", true)]);

    let deleted = server.delete("/api/v1/tenants/acme", Some(&operator)).await;
    assert_eq!(deleted.status, 202, "{}", deleted.text);
    assert_eq!(deleted.body["status"], "deleting");
    // Served nowhere from the moment the deletion starts.
    let gone = server.get("/t/acme/api/v1/users/me", Some(&acme_admin)).await;
    assert_eq!(gone.status, 404);
    assert_eq!(gone.body, json!({"error": "Tenant not found"}));
    assert_eq!(on_host(&server, "id.acme.test", Method::GET, "/api/v1/users/me", None).await.status, 404);
    assert_eq!(server.delete("/api/v1/tenants/acme", Some(&operator)).await.status, 404);
    let again = server.post("/api/v1/tenants", Some(&operator), json!({"id": "acme"})).await;
    assert_eq!(again.status, 409, "an id is not reused while its deletion runs");
    eventually("the deleted tenant disappearing", || async {
        server.get("/api/v1/tenants/acme", Some(&operator)).await.status == 404
    })
    .await;
    let reused =
        server.post("/api/v1/tenants", Some(&operator), json!({"id": "acme", "hostnames": ["id.acme.test"]})).await;
    assert_eq!(reused.status, 201, "{}", reused.text);
    let bootstrap = json!({"username": "admin", "password": "supersecret"});
    let fresh = server.post("/t/acme/api/v1/users/bootstrap", None, bootstrap).await;
    assert_eq!(fresh.status, 201, "a recreated tenant starts empty: {}", fresh.text);
}

#[tokio::test]
async fn bad_requests_and_conflicts_are_clear_400s_and_409s() {
    let server = Server::start().await;
    let operator = server.admin_token().await;
    let cases = [
        (json!({}), "id: can't be blank"),
        (json!({"id": "Acme"}), "id: must be 1 to 63"),
        (json!({"id": "default"}), "id: must be 1 to 63"),
        (json!({"id": "x".repeat(64)}), "id: must be 1 to 63"),
        (json!({"id": "acme", "hostnames": ["a b"]}), "hostnames: \"a b\" is not a hostname"),
        (json!({"id": "acme", "hostnames": "acme.test"}), "hostnames must be an array of strings"),
        (json!({"id": "acme", "display_name": ""}), "display_name: must be 1 to 200"),
        (
            json!({"id": "acme", "settings": {"password_min_length": 4}}),
            "settings.password_min_length: must be between 8 and 128",
        ),
        (
            json!({"id": "acme", "settings": {"session_lifetime_minutes": -1}}),
            "settings.session_lifetime_minutes must be a positive integer",
        ),
        (
            json!({"id": "acme", "settings": {"api_key_max_lifetime_days": 400}}),
            "settings.api_key_max_lifetime_days: must be between 1 and 365",
        ),
        (json!({"id": "acme", "settings": {"colour": "red"}}), "settings.colour is not a setting"),
        (
            json!({"id": "acme", "settings": {"local_auth_enabled": "yes"}}),
            "settings.local_auth_enabled must be a boolean",
        ),
        (
            json!({"id": "acme", "admin": {"username": "root", "password": "short"}}),
            "admin.password: should be at least 8",
        ),
        (json!({"id": "acme", "admin": "root"}), "admin must be an object"),
    ];
    for (body, message) in cases {
        let reply = server.post("/api/v1/tenants", Some(&operator), body.clone()).await;
        assert_eq!(reply.status, 400, "{body}: {}", reply.text);
        let error = reply.body["error"].as_str().unwrap_or_default();
        assert!(error.contains(message), "{body}: {error:?} does not say {message:?}");
    }
    assert_eq!(server.get("/api/v1/tenants/acme", Some(&operator)).await.status, 404, "nothing was created");
    let not_json = server.raw(Method::POST, "/api/v1/tenants", Some(&operator), b"{".to_vec()).await;
    assert_eq!(not_json.status, 400);

    let first =
        server.post("/api/v1/tenants", Some(&operator), json!({"id": "acme", "hostnames": ["acme.test"]})).await;
    assert_eq!(first.status, 201);
    let same_id = server.post("/api/v1/tenants", Some(&operator), json!({"id": "acme"})).await;
    assert_eq!((same_id.status.as_u16(), same_id.body.clone()), (409, json!({"error": "Tenant already exists"})));
    let same_host =
        server.post("/api/v1/tenants", Some(&operator), json!({"id": "other", "hostnames": ["ACME.test"]})).await;
    assert_eq!(same_host.status, 409, "{}", same_host.text);
    assert_eq!(same_host.body["error"], "Hostname already taken by another tenant");
    let other = server.post("/api/v1/tenants", Some(&operator), json!({"id": "other"})).await;
    assert_eq!(other.status, 201);
    let steal = patch(&server, "/api/v1/tenants/other", &operator, json!({"hostnames": ["acme.test"]})).await;
    assert_eq!(steal.status, 409);

    let default = server.delete("/api/v1/tenants/default", Some(&operator)).await;
    assert_eq!(default.status, 400);
    assert_eq!(default.body["error"], "id: the default tenant cannot be deleted");
    for missing in ["/api/v1/tenants/nope", "/api/v1/tenants/NOT%20AN%20ID"] {
        assert_eq!(server.get(missing, Some(&operator)).await.status, 404);
        assert_eq!(patch(&server, missing, &operator, json!({"display_name": "x"})).await.status, 404);
        assert_eq!(server.delete(missing, Some(&operator)).await.status, 404);
    }
}

#[tokio::test]
async fn only_the_operator_tenant_manages_tenants() {
    let server = Server::start().await;
    let operator = server.admin_token().await;
    assert_eq!(server.get("/api/v1/tenants", None).await.status, 401);
    assert_eq!(server.post("/api/v1/tenants", None, json!({"id": "acme"})).await.status, 401);

    let acme = json!({"id": "acme", "admin": {"username": "root", "password": "acme root password"}});
    assert_eq!(server.post("/api/v1/tenants", Some(&operator), acme).await.status, 201);
    let acme_admin = server.login_in("/t/acme", "root", "acme root password").await;
    for path in ["/t/acme/api/v1/tenants", "/t/acme/api/v1/tenants/acme"] {
        assert_eq!(server.get(path, Some(&acme_admin)).await.status, 403, "{path}");
    }
    let sneaky = server.post("/t/acme/api/v1/tenants", Some(&acme_admin), json!({"id": "mine"})).await;
    assert_eq!(sneaky.status, 403);
    assert_eq!(server.delete("/t/acme/api/v1/tenants/acme", Some(&acme_admin)).await.status, 403);
    // A token of another tenant is no credential here at all.
    assert_eq!(server.get("/api/v1/tenants", Some(&acme_admin)).await.status, 401);

    // An unprivileged user of the operator tenant needs the tenants:* actions.
    let user =
        server.post("/api/v1/users", Some(&operator), json!({"username": "ops", "password": "ops password"})).await;
    assert_eq!(user.status, 201);
    let ops = server.login("ops", "ops password").await;
    assert_eq!(server.get("/api/v1/tenants", Some(&ops)).await.status, 403);
    let document = json!({"statement": [{"effect": "Allow", "action": ["tenants:ListTenants", "tenants:GetTenant"], "resource": ["*"]}]});
    let policy =
        server.post("/api/v1/policies", Some(&operator), json!({"name": "tenant-readers", "document": document})).await;
    assert_eq!(policy.status, 201, "{}", policy.text);
    let user_id = user.body["id"].as_str().unwrap();
    let attach = json!({"policy_ids": [policy.body["id"]]});
    let attached =
        server.call(Method::PUT, &format!("/api/v1/users/{user_id}/policies"), Some(&operator), Some(attach)).await;
    assert!(attached.status.is_success(), "{}", attached.text);
    assert_eq!(server.get("/api/v1/tenants", Some(&ops)).await.status, 200);
    assert_eq!(server.get("/api/v1/tenants/acme", Some(&ops)).await.status, 200);
    assert_eq!(server.post("/api/v1/tenants", Some(&ops), json!({"id": "mine"})).await.status, 403);
    assert_eq!(server.delete("/api/v1/tenants/acme", Some(&ops)).await.status, 403);
}

#[tokio::test]
async fn a_tenant_without_an_admin_is_bootstrapped_once() {
    let server = Server::start().await;
    let operator = server.admin_token().await;
    assert_eq!(server.post("/api/v1/tenants", Some(&operator), json!({"id": "acme"})).await.status, 201);
    let attempts = (0..8).map(|index| {
        let body = json!({"username": format!("admin{index}"), "password": "supersecret"});
        let server = &server;
        async move { server.post("/t/acme/api/v1/users/bootstrap", None, body).await.status.as_u16() }
    });
    let mut statuses = futures::future::join_all(attempts).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409, 409, 409, 409, 409, 409, 409]);
}

#[tokio::test]
async fn hostnames_route_to_their_tenant_in_every_dialect() {
    let server = Server::start().await;
    let operator = server.admin_token().await;
    let body = json!({"id": "acme", "hostnames": ["id.acme.test"],
                      "admin": {"username": "root", "password": "acme root password"}});
    assert_eq!(server.post("/api/v1/tenants", Some(&operator), body).await.status, 201);
    let acme_admin = server.login_in("/t/acme", "root", "acme root password").await;

    let me = on_host(&server, "id.acme.test", Method::GET, "/api/v1/users/me", Some(&acme_admin)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert_eq!(me.body["username"], "root");
    let with_port = format!("ID.ACME.test:{}", server.port);
    assert_eq!(on_host(&server, &with_port, Method::GET, "/api/v1/users/me", Some(&acme_admin)).await.status, 200);
    let firezone = on_host(&server, "id.acme.test", Method::GET, "/v0/users", Some(&acme_admin)).await;
    assert_eq!(firezone.status, 200, "{}", firezone.text);
    let scim = on_host(&server, "id.acme.test", Method::GET, "/scim/v2/Users", Some(&acme_admin)).await;
    assert_eq!(scim.status, 200, "{}", scim.text);
    assert_eq!(scim.body["totalResults"], 1);
    let page = on_host(&server, "id.acme.test", Method::GET, "/sign_in", None).await;
    assert_eq!(page.status, 200);
    assert!(page.text.contains("http://id.acme.test:"), "the page links to the tenant's own host");
    // The operator's token is not a credential on acme's host, nor acme's on the default one.
    assert_eq!(on_host(&server, "id.acme.test", Method::GET, "/api/v1/users/me", Some(&operator)).await.status, 401);
    assert_eq!(on_host(&server, "other.test", Method::GET, "/api/v1/users/me", Some(&acme_admin)).await.status, 401);
    assert_eq!(on_host(&server, "other.test", Method::GET, "/api/v1/users/me", Some(&operator)).await.status, 200);
    // Forwarded host headers do not route.
    let client = reqwest::Client::new();
    let forwarded = client
        .get(server.url("/api/v1/users/me"))
        .header("x-forwarded-host", "id.acme.test")
        .header("forwarded", "host=id.acme.test")
        .bearer_auth(&operator)
        .send()
        .await
        .unwrap();
    assert_eq!(forwarded.status(), 200);

    // A cookie-carried write on acme's host is accepted only from acme's own origin: not from
    // another site, nor from the server's default origin.
    let no_redirects = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let cookie_write = |origin: String| {
        no_redirects
            .post(server.url("/api/v1/api-keys"))
            .header("host", "id.acme.test")
            .header("origin", origin)
            .header("cookie", format!("tessera_session={acme_admin}"))
            .json(&json!({"name": "from a page"}))
            .send()
    };
    let foreign = cookie_write("http://evil.test".to_owned()).await.unwrap();
    assert_eq!(foreign.status(), 401, "a cross-site write rides on no cookie");
    let default_origin = cookie_write(server.base.clone()).await.unwrap();
    assert_eq!(default_origin.status(), 401, "the default tenant's origin is another origin");
    let own = cookie_write(format!("http://id.acme.test:{}", server.port)).await.unwrap();
    assert_eq!(own.status(), 201, "acme's own pages may write");

    // Moving the hostname moves the routing at once.
    let moved = patch(&server, "/api/v1/tenants/acme", &operator, json!({"hostnames": ["login.acme.test"]})).await;
    assert_eq!(moved.status, 200);
    assert_eq!(
        on_host(&server, "login.acme.test", Method::GET, "/api/v1/users/me", Some(&acme_admin)).await.status,
        200
    );
    assert_eq!(on_host(&server, "id.acme.test", Method::GET, "/api/v1/users/me", Some(&acme_admin)).await.status, 401);
}

#[tokio::test]
async fn settings_govern_passwords_sessions_and_keys_on_every_dialect() {
    let server = Server::start().await;
    let operator = server.admin_token().await;
    let body = json!({"id": "acme", "settings": {"password_min_length": 16, "session_lifetime_minutes": 30,
                      "api_key_max_lifetime_days": 7},
                      "admin": {"username": "root", "password": "sixteen chars ok"}});
    let created = server.post("/api/v1/tenants", Some(&operator), body).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let too_short = json!({"username": "root", "password": "fifteen chars!!"});
    let refused = server
        .post(
            "/api/v1/tenants",
            Some(&operator),
            json!({"id": "beta", "settings": {"password_min_length": 16}, "admin": too_short}),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);

    let admin = server.login_in("/t/acme", "root", "sixteen chars ok").await;
    // SOAT and Firezone both apply the tenant's minimum, in their own error shapes.
    let soat = server
        .post("/t/acme/api/v1/users", Some(&admin), json!({"username": "bob", "password": "fifteen chars!!"}))
        .await;
    assert_eq!(soat.status, 400, "{}", soat.text);
    assert!(soat.body["error"].as_str().unwrap().contains("at least 16"), "{}", soat.text);
    let firezone = server
        .post("/t/acme/v0/users", Some(&admin), json!({"user": {"email": "bob@acme.test", "password": "fifteen chars!!", "password_confirmation": "fifteen chars!!"}}))
        .await;
    assert_eq!(firezone.status, 422, "{}", firezone.text);
    assert!(firezone.text.contains("at least 16"), "{}", firezone.text);
    let scim = json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "carol", "password": "fifteen chars!!"});
    let scim = server.post("/t/acme/scim/v2/Users", Some(&admin), scim).await;
    assert_eq!(scim.status, 400, "{}", scim.text);
    let ok = server
        .post("/t/acme/api/v1/users", Some(&admin), json!({"username": "bob", "password": "sixteen chars ok"}))
        .await;
    assert_eq!(ok.status, 201);
    // And on a password change.
    let short = json!({"user": {"password": "fifteen chars!!", "password_confirmation": "fifteen chars!!"}});
    let change = server.call(Method::PATCH, "/t/acme/v0/users/bob", Some(&admin), Some(short)).await;
    assert_eq!(change.status, 422, "{}", change.text);
    assert!(change.text.contains("at least 16"), "{}", change.text);
    // The default tenant keeps SOAT's own minimum.
    let default =
        server.post("/api/v1/users", Some(&operator), json!({"username": "bob", "password": "nine char"})).await;
    assert_eq!(default.status, 201, "{}", default.text);

    // Sessions last the tenant's 30 minutes.
    let sessions = server.get("/t/acme/api/v1/sessions", Some(&admin)).await;
    assert_eq!(sessions.status, 200, "{}", sessions.text);
    let session = &sessions.body.as_array().unwrap()[0];
    let lifetime = chrono::DateTime::parse_from_rfc3339(session["expires_at"].as_str().unwrap()).unwrap()
        - chrono::DateTime::parse_from_rfc3339(session["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(lifetime.num_minutes(), 30, "{session}");

    // Keys live at most 7 days; one asked for without a lifetime gets the limit.
    let long =
        server.post("/t/acme/api/v1/api-keys", Some(&admin), json!({"name": "long", "expires_in_days": 30})).await;
    assert_eq!(long.status, 400, "{}", long.text);
    assert!(long.body["error"].as_str().unwrap().contains("at most 7 days"), "{}", long.text);
    let key = server.post("/t/acme/api/v1/api-keys", Some(&admin), json!({"name": "default"})).await;
    assert_eq!(key.status, 201, "{}", key.text);
    let expires = chrono::DateTime::parse_from_rfc3339(key.body["expires_at"].as_str().unwrap()).unwrap();
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "expires in {days} hours");

    // A change applies to the next request.
    let relaxed =
        patch(&server, "/api/v1/tenants/acme", &operator, json!({"settings": {"password_min_length": null}})).await;
    assert_eq!(relaxed.status, 200);
    let now_ok =
        server.post("/t/acme/api/v1/users", Some(&admin), json!({"username": "dave", "password": "nine char"})).await;
    assert_eq!(now_ok.status, 201, "{}", now_ok.text);
}
