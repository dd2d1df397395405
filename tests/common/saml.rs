//! The real SAML IdP (pysaml2 + Flask, tests/peers/saml/idp.py) on loopback.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::Server;
use serde_json::Value;

/// A running IdP, stopped by its PID when dropped.
pub struct SamlIdp {
    child: Child,
    pub base: String,
    /// The IdP's metadata XML, for Tessera's provider configuration.
    pub metadata: String,
    _dir: tempfile::TempDir,
}

/// The real interpreter (a pyenv shim's PID would not be Python's).
fn python() -> String {
    let out = Command::new("python3")
        .args(["-c", "import sys, saml2, flask; print(sys.executable)"])
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "pysaml2 is not installed: run scripts/setup --peers");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl SamlIdp {
    /// Starts an IdP that reads the SP metadata from `sp_metadata_url` at each request;
    /// `users` is its JSON user list.
    pub async fn start(sp_metadata_url: &str, users: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/saml/idp.py");
        let mut child = Command::new(python())
            .arg(script)
            .args(["--port", "0", "--sp-metadata-url", sp_metadata_url, "--users", users, "--workdir"])
            .arg(dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start idp.py");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            for _ in lines {}
        });
        let Ok(line) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!("idp.py did not print READY within 30 s");
        };
        let base = line.strip_prefix("READY ").unwrap_or_else(|| panic!("unexpected line {line:?}")).to_owned();
        let metadata = reqwest::get(format!("{base}/metadata")).await.unwrap().text().await.unwrap();
        SamlIdp { child, base, metadata, _dir: dir }
    }

    /// Sets the IdP's test toggles (see tests/peers/README.md), resetting the others.
    pub async fn configure(&self, mut toggles: Value) {
        toggles["reset"] = Value::Bool(true);
        let url = format!("{}/__test/config", self.base);
        let response = reqwest::Client::new().post(url).json(&toggles).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    }

    /// An unsolicited (IdP-initiated) response for `user`, as `{saml_response, acs_url, …}`.
    pub async fn idp_initiated(&self, user: &str) -> Value {
        let url = format!("{}/__test/idp_initiated?user={user}", self.base);
        let response = reqwest::Client::new().post(url).send().await.unwrap();
        assert!(response.status().is_success());
        response.json().await.unwrap()
    }
}

impl Drop for SamlIdp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of a hidden form field in the IdP's auto-post page.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#x27;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Starts a sign-in at Tessera and lets the IdP answer: the `SAMLResponse` it posts back.
pub async fn idp_response(server: &Server, browser: &reqwest::Client, user: &str) -> String {
    let start = browser.get(server.url("/auth/saml/auth/signin/corp")).send().await.unwrap();
    assert_eq!(start.status(), 302, "{}", start.text().await.unwrap());
    let location = start.headers()["location"].to_str().unwrap().to_owned();
    let page = browser.get(format!("{location}&user={user}")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains(&format!("action=\"{}\"", server.url("/auth/saml/sp/consume/corp"))), "{html}");
    hidden_field(&html, "SAMLResponse").expect("an auto-post SAMLResponse")
}

/// Posts a response to the ACS: (status, Location or body).
pub async fn post_acs(server: &Server, browser: &reqwest::Client, response: &str) -> (u16, String) {
    let reply = browser
        .post(server.url("/auth/saml/sp/consume/corp"))
        .form(&[("SAMLResponse", response)])
        .send()
        .await
        .unwrap();
    let status = reply.status().as_u16();
    match reply.headers().get("location") {
        Some(location) => (status, location.to_str().unwrap().to_owned()),
        None => (status, reply.text().await.unwrap()),
    }
}
