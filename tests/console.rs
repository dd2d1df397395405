//! The admin console over HTTP, as a browser without JavaScript uses it: the session cookie,
//! CSRF tokens on every form, the security headers, escaping, and the users pages (search,
//! paging, create, edit, password, disable/enable, delete, sessions, identities), each checked
//! against the APIs. The real-browser journeys are in `console_browser.rs`.

mod common;

use common::console::ConsoleBrowser;
use common::Server;
use serde_json::json;

/// The admin's console browser and its API token.
async fn admin(server: &Server) -> (ConsoleBrowser<'_>, String) {
    let token = server.admin_token().await;
    (ConsoleBrowser::new(server, "", &token), token)
}

#[tokio::test]
async fn pages_need_a_browser_session_and_carry_strict_headers() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;

    let anonymous = ConsoleBrowser::new(&server, "", "");
    let refused = anonymous.get("/users").await;
    assert_eq!(refused.status, 401, "{}", refused.html);
    assert!(refused.html.contains("/sign_in"), "{}", refused.html);
    let forged = ConsoleBrowser::new(&server, "", "not-a-token").get("/users").await;
    assert_eq!(forged.status, 401);

    // An API credential is not a browser session.
    let with_bearer =
        reqwest::Client::new().get(server.url("/console/users")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(with_bearer.status(), 403);

    let landing = console.get("").await;
    assert_eq!(landing.status, 303);
    assert!(landing.location().ends_with("/console/users"), "{}", landing.location());

    let page = console.get("/users").await;
    assert_eq!(page.status, 200, "{}", page.html);
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(page.headers["x-frame-options"], "DENY");
    assert_eq!(page.headers["cache-control"], "no-store");
    assert!(!page.html.contains("<script>"), "no inline script");
    assert!(!page.html.contains("style="), "no inline style");
    for asset in ["/assets/tessera.css", "/assets/tessera.js"] {
        let served = reqwest::get(server.url(asset)).await.unwrap();
        assert_eq!(served.status(), 200, "{asset}");
        assert!(page.html.contains(asset), "{asset} is linked");
    }
}

#[tokio::test]
async fn every_form_needs_the_sessions_csrf_token_and_our_origin() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let fields = [("username", "mallory-made"), ("role", "admin")];

    let missing = console.post_raw("/users", "username=mallory-made&role=admin", Some(&server.base)).await;
    assert_eq!(missing.status, 403, "{}", missing.html);
    let wrong = console.post("/users", &"0".repeat(64), &fields).await;
    assert_eq!(wrong.status, 403, "{}", wrong.html);
    // Another session's token does not fit this one.
    let other_session = server.login_in("", "admin", "supersecret").await;
    let other_csrf = ConsoleBrowser::new(&server, "", &other_session).get("/users").await.csrf();
    assert_eq!(console.post("/users", &other_csrf, &fields).await.status, 403);
    // The right token from another site's page: refused by the Origin check.
    let csrf = console.get("/users").await.csrf();
    let body = serde_urlencoded::to_string([("csrf", csrf.as_str()), ("username", "mallory-made")]).unwrap();
    let cross_site = console.post_raw("/users", &body, Some("https://evil.example")).await;
    assert_eq!(cross_site.status, 401, "{}", cross_site.html);

    let users = server.get("/api/v1/users", Some(&token)).await;
    assert!(!users.text.contains("mallory-made"), "no refused form wrote anything: {}", users.text);

    let created = console.post("/users", &csrf, &fields).await;
    assert_eq!(created.status, 303, "{}", created.html);
    assert!(server.get("/api/v1/users", Some(&token)).await.text.contains("mallory-made"));
}

#[tokio::test]
async fn users_are_searched_sorted_and_paged_from_the_store() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    for index in 0..30 {
        let email = format!("person{index:02}@example.com");
        let created = server.post("/v0/users", Some(&token), json!({"user": {"email": email}})).await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let first = console.get("/users?sort=email").await;
    assert_eq!(first.status, 200);
    assert!(first.html.contains("Page 1"), "{}", first.html);
    assert!(first.html.contains("rel=\"next\""), "a next page: {}", first.html);
    assert!(first.html.contains("person00@example.com"));
    assert!(!first.html.contains("person29@example.com"));
    let second = console.get("/users?sort=email&page=2").await;
    assert!(second.html.contains("person29@example.com"), "{}", second.html);
    assert!(!second.html.contains("rel=\"next\""), "the last page: {}", second.html);
    assert!(second.html.contains("rel=\"prev\""));
    let newest = console.get("/users?sort=newest").await;
    assert!(newest.html.contains("person29@example.com"), "{}", newest.html);
    assert!(!newest.html.contains("person00@example.com"));
    let oldest = console.get("/users?sort=oldest").await;
    assert!(oldest.html.contains("person00@example.com") && !oldest.html.contains("person29@example.com"));

    let search = console.get("/users?q=PERSON1").await;
    assert_eq!(search.html.matches("@example.com</td>").count(), 10, "{}", search.html);
    assert!(search.html.contains("person15@example.com"));
    assert!(!search.html.contains("person20@example.com"));
    let none = console.get("/users?q=nobody").await;
    assert!(none.html.contains("No users match."), "{}", none.html);
    let too_long = console.get(&format!("/users?q={}", "x".repeat(300))).await;
    assert_eq!(too_long.status, 422);
    let bad_page = console.get("/users?page=-1").await;
    assert_eq!(bad_page.status, 400, "{}", bad_page.html);
    let too_deep = console.get("/users?page=201").await;
    assert_eq!(too_deep.status, 422, "{}", too_deep.html);
    let unknown = console.get("/users/usr_00000000000000000000000000000000/nothing").await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.headers["content-type"].to_str().unwrap().starts_with("text/html"));
}

#[tokio::test]
async fn a_user_is_created_edited_disabled_enabled_and_deleted() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;

    // Invalid input comes back as the form with messages, and nothing is created.
    let short = console
        .submit(
            "/users",
            "/users",
            &[("email", "ann@example.com"), ("password", "short"), ("password_confirmation", "short")],
        )
        .await;
    assert_eq!(short.status, 422, "{}", short.html);
    assert!(short.html.contains("password"), "{}", short.html);
    assert!(short.html.contains("value=\"ann@example.com\""), "the form keeps what was typed");

    let password = "ann's long password";
    let created = console
        .submit(
            "/users",
            "/users",
            &[("email", "ann@example.com"), ("password", password), ("password_confirmation", password)],
        )
        .await;
    assert_eq!(created.status, 303, "{}", created.html);
    let user_path = created.location().split("/console").nth(1).unwrap().split('?').next().unwrap().to_owned();
    let page = console.get(&format!("{user_path}?done=created")).await;
    assert_eq!(page.status, 200);
    assert!(page.html.contains("Created."), "{}", page.html);

    // Ann signs in; the console shows her session.
    let ann = server.login_in("", "ann@example.com", password).await;
    assert_eq!(server.get("/api/v1/users/me", Some(&ann)).await.status, 200);
    let page = console.get(&user_path).await;
    assert!(page.html.contains("/revoke"), "the session is listed: {}", page.html);

    // Edit the email and role.
    let saved =
        console.submit(&user_path, &user_path, &[("email", "ann.b@example.com"), ("role", "unprivileged")]).await;
    assert_eq!(saved.status, 303, "{}", saved.html);
    let id = user_path.rsplit('/').next().unwrap();
    let record = server.get(&format!("/api/v1/users/{id}"), Some(&token)).await;
    assert_eq!(record.status, 200, "{}", record.text);
    let bad_email = console.submit(&user_path, &user_path, &[("email", "not an email")]).await;
    assert_eq!(bad_email.status, 422, "{}", bad_email.html);

    // Disabling ends her session at once; enabling lets her sign in again.
    let disabled = console.submit(&user_path, &format!("{user_path}/status"), &[("disabled", "true")]).await;
    assert_eq!(disabled.status, 303, "{}", disabled.html);
    assert_eq!(server.get("/api/v1/users/me", Some(&ann)).await.status, 401);
    let refused =
        server.post("/api/v1/users/login", None, json!({"username": "ann.b@example.com", "password": password})).await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    let enabled = console.submit(&user_path, &format!("{user_path}/status"), &[("disabled", "false")]).await;
    assert_eq!(enabled.status, 303);
    let ann = server.login_in("", "ann.b@example.com", password).await;

    // The admin cannot disable or demote themselves.
    let me = server.get("/api/v1/users/me", Some(&token)).await.body["id"].as_str().unwrap().to_owned();
    let own = console.submit(&format!("/users/{me}"), &format!("/users/{me}/status"), &[("disabled", "true")]).await;
    assert_eq!(own.status, 422, "{}", own.html);
    assert_eq!(server.get("/api/v1/users/me", Some(&token)).await.status, 200);

    // A new password ends her sessions.
    let new_password = "another long password";
    let set = console
        .submit(
            &user_path,
            &format!("{user_path}/password"),
            &[("password", new_password), ("password_confirmation", new_password)],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.html);
    assert_eq!(server.get("/api/v1/users/me", Some(&ann)).await.status, 401);
    let mismatch = console
        .submit(
            &user_path,
            &format!("{user_path}/password"),
            &[("password", new_password), ("password_confirmation", "x")],
        )
        .await;
    assert_eq!(mismatch.status, 422, "{}", mismatch.html);

    // Delete asks first, then deletes.
    let confirm = console.get(&format!("{user_path}/delete")).await;
    assert_eq!(confirm.status, 200);
    assert!(confirm.html.contains("cannot be undone"));
    let deleted = console.post(&format!("{user_path}/delete"), &confirm.csrf(), &[]).await;
    assert_eq!(deleted.status, 303, "{}", deleted.html);
    assert_eq!(server.get(&format!("/api/v1/users/{id}"), Some(&token)).await.status, 404);
    assert_eq!(console.get(&user_path).await.status, 404);
}

#[tokio::test]
async fn sessions_are_revoked_and_identities_unlinked_from_the_users_page() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let user = server.post("/api/v1/users", Some(&token), json!({"username": "bea", "password": "bea password"})).await;
    let id = user.body["id"].as_str().unwrap().to_owned();
    let bea = server.login_in("", "bea", "bea password").await;
    let configuration = json!({"configuration": {"openid_connect_providers": [{
        "id": "corp", "label": "Corp", "client_id": "c", "client_secret": "client-secret-corp",
        "discovery_document_uri": "http://127.0.0.1:9/.well-known/openid-configuration", "auto_create_users": false}]}});
    let configured = server.call(reqwest::Method::PATCH, "/v0/configuration", Some(&token), Some(configuration)).await;
    assert_eq!(configured.status, 200, "{}", configured.text);
    let link = json!({"provider": "corp", "subject": "bea-at-corp"});
    assert_eq!(server.post(&format!("/api/v1/users/{id}/identities"), Some(&token), link).await.status, 201);

    let page = console.get(&format!("/users/{id}")).await;
    assert!(page.html.contains("bea-at-corp"), "{}", page.html);
    let revoke = page.html.split("action=\"").find(|part| part.contains("/revoke\"")).unwrap();
    let revoke = revoke.split('"').next().unwrap().split("/console").nth(1).unwrap().to_owned();
    // Another user's session id under this user's page is not found.
    let admin_session = server.get("/api/v1/sessions", Some(&token)).await.body[0]["id"].as_str().unwrap().to_owned();
    let elsewhere = format!("/users/{id}/sessions/{admin_session}/revoke");
    assert_eq!(console.post(&elsewhere, &page.csrf(), &[]).await.status, 404);
    assert_eq!(server.get("/api/v1/users/me", Some(&token)).await.status, 200);

    assert_eq!(console.post(&revoke, &page.csrf(), &[]).await.status, 303);
    assert_eq!(server.get("/api/v1/users/me", Some(&bea)).await.status, 401);

    let page = console.get(&format!("/users/{id}")).await;
    let unlink = page.html.split("action=\"").find(|part| part.contains("/unlink\"")).unwrap();
    let unlink = unlink.split('"').next().unwrap().split("/console").nth(1).unwrap().to_owned();
    assert_eq!(console.post(&unlink, &page.csrf(), &[]).await.status, 303);
    let identities = server.get(&format!("/api/v1/users/{id}/identities"), Some(&token)).await;
    assert_eq!(identities.body, json!([]), "{}", identities.text);
}

#[tokio::test]
async fn output_is_escaped_and_members_see_only_what_their_policies_allow() {
    let server = Server::start().await;
    let (console, token) = admin(&server).await;
    let hostile = "<script>alert(1)</script>";
    let created =
        server.post("/api/v1/users", Some(&token), json!({"username": hostile, "password": "hostile password"})).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let page = console.get("/users").await;
    assert!(page.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "{}", page.html);
    assert!(!page.html.contains(hostile));

    // A member without policies: only their own API keys; the users pages are refused.
    let member =
        server.post("/api/v1/users", Some(&token), json!({"username": "max", "password": "max password"})).await;
    assert_eq!(member.status, 201);
    let max = server.login_in("", "max", "max password").await;
    let max_console = ConsoleBrowser::new(&server, "", &max);
    let landing = max_console.get("").await;
    assert!(landing.location().ends_with("/console/api-keys"), "{}", landing.location());
    assert_eq!(max_console.get("/users").await.status, 403);
    let own_id = member.body["id"].as_str().unwrap();
    let max_csrf = max_console.get(&format!("/users/{own_id}")).await;
    assert_eq!(max_csrf.status, 403, "max may not read users: {}", max_csrf.html);

    // Allowed to list and read users by a policy: the section appears, the edit forms do not.
    let document =
        json!({"statement": [{"effect": "Allow", "action": ["users:ListUsers", "users:GetUser"], "resource": ["*"]}]});
    let policy = server.post("/api/v1/policies", Some(&token), json!({"name": "readers", "document": document})).await;
    let attach = json!({"policy_ids": [policy.body["id"]]});
    let attached = server
        .call(reqwest::Method::PUT, &format!("/api/v1/users/{own_id}/policies"), Some(&token), Some(attach))
        .await;
    assert_eq!(attached.status, 204, "{}", attached.text);
    let users = max_console.get("/users").await;
    assert_eq!(users.status, 200, "{}", users.html);
    assert!(users.html.contains(">Users</a>"));
    assert!(!users.html.contains(">Policies</a>"), "{}", users.html);
    assert!(!users.html.contains("Create user"), "no create form without users:CreateUser");
    let detail = max_console.get(&format!("/users/{own_id}")).await;
    assert_eq!(detail.status, 200);
    assert!(!detail.html.contains("Set password"), "{}", detail.html);
    let posted = max_console.post("/users", &users.csrf(), &[("username", "sneaky")]).await;
    assert_eq!(posted.status, 403, "{}", posted.html);
}

#[tokio::test]
async fn over_https_the_session_cookie_is_host_prefixed_and_secure() {
    let server = Server::start_with(&[("TESSERA__SERVER__EXTERNAL_URL", "https://id.example.test")]).await;
    server.admin_token().await;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let signed_in = client
        .post(server.url("/auth/identity/callback"))
        .form(&[("email", "admin"), ("password", "supersecret")])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 303);
    let cookie = signed_in.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-tessera_session="), "{cookie}");
    for attribute in ["HttpOnly", "Secure", "Path=/", "SameSite=Lax"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(!cookie.contains("Domain="), "{cookie}");
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_owned();

    let page = |name: &'static str| {
        let (client, url, token) = (client.clone(), server.url("/console/users"), token.clone());
        async move { client.get(url).header("cookie", format!("{name}={token}")).send().await.unwrap().status() }
    };
    assert_eq!(page("__Host-tessera_session").await, 200);
    // The unprefixed name, which a sibling host or plain-http page could plant, is not read.
    assert_eq!(page("tessera_session").await, 401);
}
