//! Password guessing is braked: every attempt is counted before its password is checked, per
//! login name (five attempts, then a lock of 30 s that doubles) and per client address (a larger
//! budget, after which the address is refused outright). Refusals are 429 with Retry-After, even
//! with the right password; other names, tenants and tokens are unaffected. Sign-ins beyond the
//! hashing queue's bound get 503 with Retry-After, while authenticated requests go on.

mod common;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::Server;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn attempt(server: &Server, prefix: &str, username: &str, password: &str) -> common::Reply {
    let body = json!({"username": username, "password": password});
    server.post(&format!("{prefix}/api/v1/users/login"), None, body).await
}

/// A client whose connections come from `source` (any 127.x.y.z reaches the server on Linux).
fn client_from(source: &str) -> reqwest::Client {
    let source: IpAddr = source.parse().unwrap();
    reqwest::Client::builder().local_address(source).build().unwrap()
}

/// A SOAT login through `client`: status, `Retry-After` (if any) and the JSON body.
async fn login_via(
    client: &reqwest::Client,
    server: &Server,
    username: &str,
    password: &str,
) -> (u16, Option<u64>, Value) {
    let response = client
        .post(server.url("/api/v1/users/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("request");
    let status = response.status().as_u16();
    let retry_after = response.headers().get("retry-after").map(|value| value.to_str().unwrap().parse().unwrap());
    let body = response.json().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

#[tokio::test]
async fn five_failures_lock_the_name_for_a_while() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let admin = server.admin_token().await;
    server.admin_token_in("/t/acme").await;
    let created =
        server.post("/api/v1/users", Some(&admin), json!({"username": "carol", "password": "carols password"})).await;
    assert_eq!(created.status, 201, "{}", created.text);

    for _ in 0..5 {
        let reply = attempt(&server, "", "admin", "not-the-password").await;
        assert_eq!(reply.status, 401, "{}", reply.text);
        assert_eq!(reply.body, json!({"error": "Invalid credentials"}));
    }
    let locked = attempt(&server, "", "ADMIN", "supersecret").await;
    assert_eq!(locked.status, 429, "{}", locked.text);
    assert!(locked.body["error"].as_str().unwrap().starts_with("Too many failed sign-ins"), "{}", locked.text);
    let wait: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=30).contains(&wait), "{wait}");

    // The browser form is braked the same way, with a readable page.
    let form = [("email", "admin"), ("password", "supersecret")];
    let page = reqwest::Client::new().post(server.url("/auth/identity/callback")).form(&form).send().await.unwrap();
    assert_eq!(page.status(), 429);
    assert!(page.headers().contains_key("retry-after"));
    assert!(page.text().await.unwrap().contains("Too many failed sign-ins"));

    // Other names, other tenants, and existing tokens are unaffected.
    assert_eq!(attempt(&server, "", "carol", "carols password").await.status, 200);
    assert_eq!(attempt(&server, "/t/acme", "admin", "supersecret").await.status, 200);
    assert_eq!(server.get("/api/v1/users/me", Some(&admin)).await.status, 200);
}

#[tokio::test]
async fn a_success_resets_the_count() {
    let server = Server::start().await;
    server.admin_token().await;
    for _ in 0..3 {
        assert_eq!(attempt(&server, "", "admin", "wrong password!").await.status, 401);
    }
    assert_eq!(attempt(&server, "", "admin", "supersecret").await.status, 200);
    for _ in 0..4 {
        assert_eq!(attempt(&server, "", "admin", "wrong password!").await.status, 401);
    }
    assert_eq!(attempt(&server, "", "admin", "supersecret").await.status, 200, "4 fresh failures do not lock");
}

/// 200 wrong passwords for one name at once: each is counted before its password is checked,
/// so only five are checked (401); every other one is refused unchecked (429).
#[tokio::test]
async fn parallel_guesses_get_five_checks_at_most() {
    // A queue bound above 200, so that all of them race for the count.
    let server = Server::start_with(&[("TESSERA__AUTH__MAX_PENDING_LOGINS", "1000")]).await;
    server.admin_token().await;
    let client = client_from("127.0.0.1");
    let guesses = (0..200).map(|index| {
        let client = client.clone();
        let server = &server;
        async move { login_via(&client, server, "admin", &format!("guess number {index}")).await }
    });
    let answers = futures::future::join_all(guesses).await;
    let checked = answers.iter().filter(|(status, _, _)| *status == 401).count();
    let refused = answers.iter().filter(|(status, retry, _)| *status == 429 && retry.is_some()).count();
    assert_eq!(checked, 5, "{answers:?}");
    assert_eq!(refused, 195, "{answers:?}");
    for (status, _, body) in &answers {
        let expected = if *status == 401 { "Invalid credentials" } else { "Too many failed sign-ins" };
        assert!(body["error"].as_str().unwrap().starts_with(expected), "{status} {body}");
    }
    // The name is locked for everyone, right password or not.
    let (status, _, _) = login_via(&client_from("127.0.0.2"), &server, "admin", "supersecret").await;
    assert_eq!(status, 429);
}

/// An attacker hammering one name from one address cannot keep its owner out: the attacker's
/// address runs out of attempts while the name's first lock holds, its later attempts are
/// refused without touching the name, the lock passes, and the owner signs in from elsewhere.
#[tokio::test]
async fn a_locked_out_user_signs_in_from_elsewhere_while_the_attacker_keeps_trying() {
    let server = Arc::new(Server::start().await);
    let admin = server.admin_token().await;
    let created =
        server.post("/api/v1/users", Some(&admin), json!({"username": "alice", "password": "alices password"})).await;
    assert_eq!(created.status, 201, "{}", created.text);

    let stop = Arc::new(AtomicBool::new(false));
    let tried = Arc::new(AtomicUsize::new(0));
    let attacker = tokio::spawn({
        let (server, stop, tried) = (server.clone(), stop.clone(), tried.clone());
        async move {
            let client = client_from("127.0.0.1");
            let mut answers = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                answers.push(login_via(&client, &server, "alice", "password123").await);
                tried.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            answers
        }
    });
    // Until the attacker has spent its address budget (30) and then some.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while tried.load(Ordering::SeqCst) < 40 {
        assert!(std::time::Instant::now() < deadline && !attacker.is_finished(), "the attacker stalled");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let user = client_from("127.0.0.2");
    let (status, retry_after, _) = login_via(&user, &server, "alice", "alices password").await;
    assert_eq!(status, 429, "the name is locked by the attacker's failures");
    let wait = retry_after.expect("Retry-After");
    assert!((1..=30).contains(&wait), "{wait}");
    tokio::time::sleep(Duration::from_secs(wait + 1)).await;
    let (status, _, body) = login_via(&user, &server, "alice", "alices password").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["token"].is_string());

    stop.store(true, Ordering::SeqCst);
    let answers = attacker.await.unwrap();
    assert!(answers.len() > 100, "the attacker kept trying: {}", answers.len());
    assert_eq!(answers.iter().filter(|(status, _, _)| *status == 401).count(), 5, "{answers:?}");
    assert!(answers.iter().all(|(status, _, _)| *status == 401 || *status == 429), "{answers:?}");
    // By the end the attacker's address itself is refused, for longer than the name's lock.
    let (_, last_wait, _) = answers.last().unwrap();
    assert!(last_wait.unwrap() > 60, "{last_wait:?}");
}

#[tokio::test]
async fn overlong_names_and_passwords_are_refused_and_not_counted() {
    let server = Server::start().await;
    server.admin_token().await;
    let long_name = "n".repeat(255);
    let reply = attempt(&server, "", &long_name, "whatever password").await;
    assert_eq!(reply.status, 400, "{}", reply.text);
    assert_eq!(reply.body, json!({"error": "username: should be at most 254 byte(s)"}));
    assert_eq!(attempt(&server, "", &"n".repeat(254), "whatever password").await.status, 401, "254 bytes is a name");
    for _ in 0..6 {
        let reply = attempt(&server, "", "admin", &"p".repeat(1025)).await;
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert_eq!(reply.body, json!({"error": "password: should be at most 1024 byte(s)"}));
    }
    let form = [("email", long_name.as_str()), ("password", "whatever password")];
    let page = reqwest::Client::new().post(server.url("/auth/identity/callback")).form(&form).send().await.unwrap();
    assert_eq!(page.status(), 400);
    assert!(page.text().await.unwrap().contains("too long"));
    assert_eq!(attempt(&server, "", "admin", "supersecret").await.status, 200, "none of them counted");
}

/// With one hashing thread and room for four sign-ins in flight, a fifth is refused at once
/// (503, Retry-After) instead of queueing; bearer-token requests never hash and go on meanwhile.
#[tokio::test]
async fn sign_ins_beyond_the_queue_get_503_while_tokens_still_work() {
    let server = Arc::new(
        Server::start_with(&[
            ("TESSERA__AUTH__HASHER_THREADS", "1"),
            ("TESSERA__AUTH__MAX_PENDING_LOGINS", "4"),
            // A deliberately slow hash, so that four sign-ins keep the one thread busy for a while.
            ("TESSERA__AUTH__ARGON2__MEMORY_KIB", "65536"),
            ("TESSERA__AUTH__ARGON2__ITERATIONS", "40"),
        ])
        .await,
    );
    let admin = server.admin_token().await;
    let slow = |name: &'static str| {
        let server = server.clone();
        tokio::spawn(async move { attempt(&server, "", name, "some password").await.status })
    };
    let pending = [slow("nobody-1"), slow("nobody-2"), slow("nobody-3"), slow("nobody-4")];
    tokio::time::sleep(Duration::from_millis(400)).await;

    for _ in 0..5 {
        let busy = attempt(&server, "", "admin", "wrong password").await;
        assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE, "{}", busy.text);
        assert_eq!(busy.body, json!({"error": "Too many sign-ins in progress, retry in 2 seconds"}));
        assert_eq!(busy.headers["retry-after"], "2");
    }
    let form = [("email", "admin"), ("password", "supersecret")];
    let page = reqwest::Client::new().post(server.url("/auth/identity/callback")).form(&form).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(page.headers()["retry-after"], "2");

    let me = server.get("/api/v1/users/me", Some(&admin)).await;
    assert_eq!(me.status, 200, "{}", me.text);
    assert!(
        !pending.iter().all(tokio::task::JoinHandle::is_finished),
        "the token was honoured while the hashing thread was still busy"
    );
    for login in pending {
        assert_eq!(login.await.unwrap(), 401);
    }
    // Six refused attempts for admin, none counted: the name is not locked.
    assert_eq!(attempt(&server, "", "admin", "supersecret").await.status, 200);
}

/// Once a tenant has users, `POST /users/bootstrap` (open to anyone) is refused before its
/// password is even validated, let alone hashed, so it cannot be used to queue hashing work:
/// a password that would fail validation still gets the 409, not the 400.
#[tokio::test]
async fn a_spent_bootstrap_queues_no_hashing() {
    let server = Server::start().await;
    let short = json!({"username": "late", "password": "x"});
    assert_eq!(server.post("/api/v1/users/bootstrap", None, short.clone()).await.status, StatusCode::BAD_REQUEST);
    server.admin_token().await;
    let reply = server.post("/api/v1/users/bootstrap", None, short).await;
    assert_eq!((reply.status, reply.body), (StatusCode::CONFLICT, json!({"error": "Users already exist"})));
}

/// Behind a reverse proxy (`server.trusted_proxies`), each client's own address — from the
/// proxy's `X-Forwarded-For` — has its own budget; without that setting the header is ignored,
/// so a client cannot escape its budget by naming another address.
#[tokio::test]
async fn clients_behind_a_trusted_proxy_have_their_own_address_budgets() {
    async fn failure(server: &Server, name: &str, forwarded_for: &str) -> u16 {
        reqwest::Client::new()
            .post(server.url("/api/v1/users/login"))
            .header("X-Forwarded-For", forwarded_for)
            .json(&json!({"username": name, "password": "wrong password"}))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
    let proxied = Server::start_with(&[("TESSERA__SERVER__TRUSTED_PROXIES", "127.0.0.0/8")]).await;
    let direct = Server::start().await;
    for server in [&proxied, &direct] {
        // One client spends its address's budget (a fresh name each time, so no name locks).
        for attempt in 0..30 {
            assert_eq!(failure(server, &format!("nobody{attempt}"), "203.0.113.7").await, 401);
        }
        assert_eq!(failure(server, "nobody-more", "203.0.113.7").await, 429, "the budget is spent");
    }
    // Behind the proxy, another client still has its own budget…
    assert_eq!(failure(&proxied, "somebody", "203.0.113.8").await, 401);
    // …and without a trusted proxy, naming another address changes nothing.
    assert_eq!(failure(&direct, "somebody", "203.0.113.8").await, 429);
}
