//! The real OpenID provider (npm `oidc-provider`, tests/peers/oidc/provider.mjs) on loopback.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running provider, stopped by its PID when dropped.
pub struct OidcProvider {
    child: Child,
    pub issuer: String,
}

impl OidcProvider {
    /// Starts the provider for one client; `users` is its JSON user list; `claims_in_id_token`
    /// puts email in the ID token (otherwise only userinfo has it).
    pub fn start(
        client_id: &str,
        client_secret: &str,
        redirect_uris: &[String],
        users: &str,
        claims_in_id_token: bool,
    ) -> Self {
        Self::start_with(client_id, client_secret, redirect_uris, users, claims_in_id_token, &[])
    }

    /// As `start`, with extra command-line flags (`--interactive`, `--refresh-tokens …`).
    pub fn start_with(
        client_id: &str,
        client_secret: &str,
        redirect_uris: &[String],
        users: &str,
        claims_in_id_token: bool,
        extra: &[&str],
    ) -> Self {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/oidc/provider.mjs");
        assert!(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/peers/node_modules/oidc-provider").exists(),
            "oidc-provider is not installed: run scripts/setup --peers"
        );
        let mut command = Command::new("node");
        command.arg(script).args(["--port", "0", "--client-id", client_id, "--client-secret", client_secret]);
        for uri in redirect_uris {
            command.args(["--redirect-uri", uri]);
        }
        command.args(["--users", users, "--id-token-claims", if claims_in_id_token { "true" } else { "false" }]);
        command.args(extra);
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("node starts the OIDC provider");
        let stdout = child.stdout.take().unwrap();
        // Never wait forever: a provider that does not come up fails the test.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!("the OIDC provider did not print READY within 30 s");
        };
        let issuer = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("unexpected provider output: {line:?}"))
            .to_owned();
        OidcProvider { child, issuer }
    }

    /// Makes the provider sign in as `sub` on the next authorization.
    pub async fn login_as(&self, sub: &str) {
        let response =
            reqwest::Client::new().post(format!("{}/__test/login_as?sub={sub}", self.issuer)).send().await.unwrap();
        assert!(response.status().is_success());
    }

    /// Makes the provider issue ID tokens with these claims overridden (`{}` clears), signed
    /// with its own key: `iss`, `aud`, `nonce`, `exp_offset_seconds`.
    pub async fn id_token_faults(&self, faults: serde_json::Value) {
        let url = format!("{}/__test/id_token", self.issuer);
        let response = reqwest::Client::new().post(url).json(&faults).send().await.unwrap();
        assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    }

    /// How often the discovery document and the JWKS were fetched so far: `(discovery, jwks)`.
    pub async fn stats(&self) -> (u64, u64) {
        let url = format!("{}/__test/stats", self.issuer);
        let stats: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
        (stats["discovery"].as_u64().unwrap(), stats["jwks"].as_u64().unwrap())
    }

    /// Signs with a new key from now on (a new `kid`; the old key leaves the JWKS).
    pub async fn rotate_keys(&self) {
        let url = format!("{}/__test/rotate_keys", self.issuer);
        let response = reqwest::Client::new().post(url).send().await.unwrap();
        assert!(response.status().is_success());
    }

    /// Revokes every grant and token of `sub`: its refresh tokens stop working.
    pub async fn revoke(&self, sub: &str) {
        let url = format!("{}/__test/revoke?sub={sub}", self.issuer);
        let response = reqwest::Client::new().post(url).send().await.unwrap();
        assert!(response.status().is_success());
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
