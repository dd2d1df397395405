//! Graceful shutdown: SIGTERM while requests are in flight lets every one of them finish with
//! its real answer, then the process exits 0.

mod common;

use std::time::Duration;

use common::Server;
use serde_json::json;

#[tokio::test]
async fn sigterm_drains_in_flight_requests_then_exits_cleanly() {
    // Password hashing that takes a while, so that 50 requests are in flight.
    let mut server = Server::start_with(&[
        ("TESSERA__AUTH__ARGON2__MEMORY_KIB", "16384"),
        ("TESSERA__AUTH__ARGON2__ITERATIONS", "2"),
    ])
    .await;
    let admin = server.admin_token().await;
    let url = server.url("/api/v1/users");
    // One client for all: building one per request loads the system's root certificates each
    // time, which on a loaded machine kept the requests from being sent before the signal.
    let client = reqwest::Client::new();
    // Each creation hashes its user's password on the hasher pool.
    let creations: Vec<_> = (0..50)
        .map(|index| {
            let (client, url, admin) = (client.clone(), url.clone(), admin.clone());
            tokio::spawn(async move {
                let body = json!({"username": format!("user{index}"), "password": "a user password"});
                let response = client.post(url).bearer_auth(admin).json(&body).send().await;
                response.map(|response| response.status().as_u16()).map_err(|error| error.to_string())
            })
        })
        .collect();
    // The signal goes once the server is answering them: the first creation has finished (the
    // others were sent at the same time and wait for the hasher pool), or after 10 s.
    let waiting = std::time::Instant::now();
    while !creations.iter().any(|creation| creation.is_finished()) && waiting.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(50)).await;
    let finished_before = creations.iter().filter(|creation| creation.is_finished()).count();
    let signalled = std::process::Command::new("kill").arg("-TERM").arg(server.pid().to_string()).status().unwrap();
    assert!(signalled.success());
    assert!(finished_before < 40, "only {} requests were in flight at the signal", 50 - finished_before);

    let mut answers = Vec::new();
    for creation in creations {
        answers.push(creation.await.unwrap());
    }
    assert!(answers.iter().all(|answer| answer == &Ok(201)), "{answers:?}");
    let status = tokio::task::spawn_blocking(move || server.wait_for_exit(Duration::from_secs(30)))
        .await
        .unwrap()
        .expect("tessera exited after SIGTERM");
    assert!(status.success(), "{status}");
}
