//! Every console route, walked as a signed-in admin with hostile input: ids that name nothing,
//! ids that are not ids, and forms that are empty, malformed, oversized or of the wrong type.
//! Each answer must be a deliberate HTML page (a 2xx, a redirect or a 4xx), never a 5xx.

mod common;

use common::console::ConsoleBrowser;
use common::{run_cli, Server};

/// Values for a route's id segments: absent records, and values that are no ids at all.
const IDS: [&str; 5] = [
    "00000000000000000000000000000000",
    "usr_00000000000000000000000000000000",
    "..%2F..%2Fetc",
    "%00%ff",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
];

/// The console's routes, as `(METHOD, template)` below `/console`.
fn console_routes() -> Vec<(String, String)> {
    let (listed, stdout, stderr) = run_cli(&["routes"], &[], None);
    assert!(listed, "tessera routes failed: {stderr}");
    let routes: Vec<(String, String)> = stdout
        .lines()
        .filter_map(|line| line.split_once(' '))
        .filter(|(_, path)| path.starts_with("/console"))
        .map(|(method, path)| (method.to_owned(), path.trim_start_matches("/console").to_owned()))
        .collect();
    assert!(routes.len() > 50, "{stdout}");
    routes
}

/// `template` with every `{…}` segment replaced by `value`.
fn fill(template: &str, value: &str) -> String {
    template
        .split('/')
        .map(|segment| if segment.starts_with('{') { value } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn no_console_route_answers_a_5xx_to_hostile_input() {
    let server = Server::start_with(&[("TESSERA__SERVER__TENANTS", "acme")]).await;
    let token = server.admin_token().await;
    let console = ConsoleBrowser::new(&server, "", &token);
    let csrf = console.get("/users").await.csrf();
    let huge = "a".repeat(70 * 1024);
    let forms: Vec<String> = vec![
        String::new(),
        "%%%zz=%".to_owned(),
        "version=notanumber&disabled=maybe&expires_in_days=1e99&limit=-1".to_owned(),
        "name=%00%01&id=..%2F&document=%7B%22statement%22%3A".to_owned(),
        format!("name={huge}"),
    ];
    let mut failures = Vec::new();
    let mut calls = 0;
    for (method, template) in console_routes() {
        // Ids name no record, so no form here can reach the admin's own account or session.
        let values: Vec<&str> = if template.contains('{') { IDS.to_vec() } else { vec![""] };
        for value in values {
            let path = fill(&template, value);
            let answers = if method == "GET" {
                vec![console.get(&path).await]
            } else {
                let mut answers = Vec::new();
                for form in &forms {
                    let body = if form.is_empty() { format!("csrf={csrf}") } else { format!("csrf={csrf}&{form}") };
                    answers.push(console.post_raw(&path, &body, Some(&server.base)).await);
                }
                answers
            };
            for answer in answers {
                calls += 1;
                let html = answer.headers.get("content-type").and_then(|value| value.to_str().ok()).unwrap_or("");
                let deliberate = answer.status < 500 && (answer.status == 303 || html.starts_with("text/html"));
                if !deliberate {
                    failures.push(format!("{method} /console{path}: {} {html} {:.200}", answer.status, answer.html));
                }
            }
        }
    }
    assert!(calls > 500, "only {calls} calls");
    assert!(
        failures.is_empty(),
        "{} of {calls} answers were not deliberate pages:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The admin is still signed in and the directory still works.
    assert_eq!(server.get("/api/v1/users/me", Some(&token)).await.status, 200);
}
