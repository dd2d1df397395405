//! End-to-end tests of the SAML SP core (`sso/saml.rs`) against the real pysaml2 IdP peer
//! (`tests/peers/saml/idp.py`): each test starts its own IdP process (killed by PID
//! on drop), writes the SP metadata produced by `sp_metadata` for it, runs the HTTP-Redirect
//! sign-in with `authn_request`, takes the auto-post `SAMLResponse` and feeds it to `consume`.

use chrono::{Duration, Utc};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use tessera_actors::sso::saml::{self, AuthnRequestOut, IdpSettings, SamlAssertion, SamlError, SpSettings};

const IDP_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/peers/saml/idp.py");

/// The real interpreter (not a pyenv shim, whose PID would not be Python's).
fn python() -> String {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let out = Command::new("python3")
                .args(["-c", "import sys, saml2, flask; print(sys.executable)"])
                .output()
                .expect("python3 runs");
            assert!(out.status.success(), "pysaml2 is not installed: run scripts/setup --peers");
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        })
        .clone()
}
const SP_ENTITY_ID: &str = "http://127.0.0.1:4000/saml/sp/metadata";
const SP_ACS_URL: &str = "http://127.0.0.1:4000/saml/sp/acs";

/// One SP key pair for the whole run (RSA key generation is slow-ish in debug builds).
fn sp() -> SpSettings {
    static CREDS: OnceLock<(String, String)> = OnceLock::new();
    let (key_pem, cert_pem) = CREDS.get_or_init(|| saml::generate_sp_credentials("tessera-test-sp").unwrap()).clone();
    SpSettings { entity_id: SP_ENTITY_ID.into(), acs_url: SP_ACS_URL.into(), key_pem, cert_pem }
}

fn settings(metadata: &str, sign_requests: bool, assertion: bool, envelope: bool) -> IdpSettings<'_> {
    IdpSettings {
        metadata_xml: metadata,
        sign_requests,
        sign_metadata: false,
        signed_assertion_in_resp: assertion,
        signed_envelopes_in_resp: envelope,
    }
}

struct Idp {
    child: Child,
    base: String,
    metadata: String,
    sp_metadata_file: PathBuf,
    _dir: tempfile::TempDir,
}

/// One HTTP request without following redirects: (status, body). The async client runs on a
/// throwaway runtime so these tests stay synchronous without reqwest's `blocking` feature.
fn http(method: reqwest::Method, url: &str, json: Option<&Value>) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let mut request = client.request(method, url);
        if let Some(json) = json {
            request = request.json(json);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

impl Idp {
    /// Starts an IdP and waits (up to 30 s) for its READY line; the SP metadata file is written
    /// from `sp_metadata` with the given toggles (the IdP re-reads it at every request).
    fn start(sp_idp_toggles: &IdpSettings) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sp_metadata_file = dir.path().join("sp-metadata.xml");
        std::fs::write(&sp_metadata_file, saml::sp_metadata(&sp(), sp_idp_toggles).unwrap()).unwrap();
        let mut child = Command::new(python())
            .arg(IDP_SCRIPT)
            .args(["--port", "0", "--sp-metadata-file"])
            .arg(&sp_metadata_file)
            .arg("--workdir")
            .arg(dir.path().join("idp"))
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
        let line = match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("idp.py did not print READY within 30 s");
            }
        };
        let base = line.strip_prefix("READY ").unwrap_or_else(|| panic!("unexpected first line {line:?}")).to_string();
        let metadata = http(reqwest::Method::GET, &format!("{base}/metadata"), None).1;
        Idp { child, base, metadata, sp_metadata_file, _dir: dir }
    }

    fn config(&self, body: Value) {
        let (status, _) = http(reqwest::Method::POST, &format!("{}/__test/config", self.base), Some(&body));
        assert_eq!(status, 200, "config {body}");
    }

    /// GETs the redirect URL; answers (HTTP status, SAMLResponse, RelayState).
    fn sso(&self, out: &AuthnRequestOut) -> (u16, Option<String>, Option<String>) {
        let (status, body) = http(reqwest::Method::GET, &out.redirect_url, None);
        (status, hidden_field(&body, "SAMLResponse"), hidden_field(&body, "RelayState"))
    }

    /// A full sign-in: AuthnRequest, SSO, and the response (panics if the IdP refuses).
    fn sign_in(&self, toggles: &IdpSettings) -> (AuthnRequestOut, String) {
        let out = saml::authn_request(&sp(), toggles, "rs-123").unwrap();
        let (status, response, relay_state) = self.sso(&out);
        assert_eq!(status, 200, "the IdP refused the AuthnRequest");
        assert_eq!(relay_state.as_deref(), Some("rs-123"));
        (out, response.expect("no SAMLResponse in the IdP page"))
    }

    fn last_request(&self) -> Value {
        serde_json::from_str(&http(reqwest::Method::GET, &format!("{}/__test/last_request", self.base), None).1)
            .unwrap()
    }
}

impl Drop for Idp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn hidden_field(html: &str, name: &str) -> Option<String> {
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

fn consume(toggles: &IdpSettings, response: &str) -> Result<SamlAssertion, SamlError> {
    saml::consume(&sp(), toggles, response, Utc::now())
}

#[test]
fn success_returns_the_verified_identity() {
    let idp = Idp::start(&settings("", false, true, true));
    let toggles = settings(&idp.metadata, false, true, true);
    saml::validate_idp_metadata(&idp.metadata).unwrap();
    let (out, response) = idp.sign_in(&toggles);
    let a = consume(&toggles, &response).unwrap();
    assert_eq!(a.email.as_deref(), Some("alice@idp.test"));
    assert_eq!(a.name_id, "alice@idp.test");
    assert_eq!(a.in_response_to, out.request_id);
    assert_eq!(a.issuer, format!("{}/metadata", idp.base));
    assert!(!a.assertion_id.is_empty());
    assert!(a.not_on_or_after > Utc::now());
    assert!(a.not_on_or_after <= Utc::now() + Duration::seconds(310));
    // The IdP saw our request as unsigned, for our ACS, with our issuer.
    let req = idp.last_request();
    assert_eq!(req["id"], out.request_id.as_str());
    assert_eq!(req["issuer"], SP_ENTITY_ID);
    assert_eq!(req["acs_url"], SP_ACS_URL);
    assert_eq!(req["binding"], "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect");
}

#[test]
fn success_with_no_toggles_still_needs_and_finds_a_signature() {
    let idp = Idp::start(&settings("", false, false, false));
    let toggles = settings(&idp.metadata, false, false, false);
    let (out, response) = idp.sign_in(&toggles);
    assert_eq!(consume(&toggles, &response).unwrap().in_response_to, out.request_id);
}

#[test]
fn signed_requests_are_accepted_by_an_idp_that_wants_them() {
    let idp = Idp::start(&settings("", true, true, true));
    idp.config(json!({"reset": true, "want_authn_requests_signed": true}));
    let toggles = settings(&idp.metadata, true, true, true);
    assert!(toggles.sign_requests);
    let (out, response) = idp.sign_in(&toggles);
    assert!(out
        .redirect_url
        .contains("&SigAlg=http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256&Signature="));
    let req = idp.last_request();
    assert_eq!(req["redirect_signature_valid"], true);
    assert_eq!(req["sig_alg"], "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256");
    assert_eq!(consume(&toggles, &response).unwrap().in_response_to, out.request_id);

    // The same IdP refuses an unsigned request, and a request whose signature was broken.
    let unsigned = settings(&idp.metadata, false, true, true);
    let out = saml::authn_request(&sp(), &unsigned, "rs").unwrap();
    assert_eq!(idp.sso(&out).0, 400);
    let mut out = saml::authn_request(&sp(), &toggles, "rs").unwrap();
    out.redirect_url = out.redirect_url.replace("RelayState=rs", "RelayState=rt");
    assert_eq!(idp.sso(&out).0, 400);
}

#[test]
fn signed_sp_metadata_is_accepted_by_the_idp_and_verifies_with_xmlsec1() {
    let mut toggles = settings("", true, true, true);
    toggles.sign_metadata = true;
    let idp = Idp::start(&toggles);
    let xml = std::fs::read_to_string(&idp.sp_metadata_file).unwrap();
    assert!(xml.contains("<ds:SignatureValue>") && !xml.contains("<ds:SignatureValue></"));
    assert!(xml.contains("AuthnRequestsSigned=\"true\""));
    assert!(xml.contains("use=\"signing\""));
    assert!(xml.contains(SP_ACS_URL));

    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("sp.crt");
    std::fs::write(&cert, sp().cert_pem).unwrap();
    let verify = |file: &std::path::Path| {
        Command::new("xmlsec1")
            .args(["--verify", "--id-attr:ID", "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor"])
            .arg("--pubkey-cert-pem")
            .arg(&cert)
            .arg(file)
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(verify(&idp.sp_metadata_file), "xmlsec1 rejects our signed metadata");
    let tampered = dir.path().join("tampered.xml");
    std::fs::write(&tampered, xml.replace(SP_ACS_URL, "http://evil.test/acs")).unwrap();
    assert!(!verify(&tampered), "xmlsec1 accepts tampered metadata");

    // And pysaml2 loads it and signs a user in against it.
    idp.config(json!({"reset": true, "want_authn_requests_signed": true}));
    let toggles = IdpSettings { metadata_xml: &idp.metadata, ..toggles };
    let (out, response) = idp.sign_in(&toggles);
    assert_eq!(consume(&toggles, &response).unwrap().in_response_to, out.request_id);
}

#[test]
fn unsigned_response_and_assertion_are_rejected_whatever_the_toggles() {
    let idp = Idp::start(&settings("", false, false, false));
    idp.config(json!({"reset": true, "sign_response": false, "sign_assertion": false}));
    for (assertion, envelope) in [(false, false), (true, false), (false, true), (true, true)] {
        let toggles = settings(&idp.metadata, false, assertion, envelope);
        let (_, response) = idp.sign_in(&toggles);
        assert_eq!(consume(&toggles, &response), Err(SamlError::NotSigned));
    }
    assert_eq!(SamlError::NotSigned.to_string(), "the SAML response is not signed");
}

#[test]
fn only_assertion_signed_needs_signed_envelopes_off() {
    let idp = Idp::start(&settings("", false, true, false));
    idp.config(json!({"reset": true, "sign_response": false}));
    let toggles = settings(&idp.metadata, false, true, false);
    let (out, response) = idp.sign_in(&toggles);
    let a = consume(&toggles, &response).unwrap();
    assert_eq!(a.in_response_to, out.request_id);
    assert_eq!(a.email.as_deref(), Some("alice@idp.test"));
    let neither = settings(&idp.metadata, false, false, false);
    assert!(consume(&neither, &response).is_ok());
    let strict = settings(&idp.metadata, false, true, true);
    assert_eq!(consume(&strict, &response), Err(SamlError::ResponseNotSigned));
}

#[test]
fn only_response_signed_needs_signed_assertions_off() {
    let idp = Idp::start(&settings("", false, false, true));
    idp.config(json!({"reset": true, "sign_assertion": false}));
    let toggles = settings(&idp.metadata, false, false, true);
    let (out, response) = idp.sign_in(&toggles);
    assert_eq!(consume(&toggles, &response).unwrap().in_response_to, out.request_id);
    let strict = settings(&idp.metadata, false, true, true);
    assert_eq!(consume(&strict, &response), Err(SamlError::AssertionNotSigned));
}

#[test]
fn tampered_name_id_is_rejected() {
    let idp = Idp::start(&settings("", false, false, false));
    idp.config(json!({"reset": true, "tamper_nameid": "mallory@idp.test"}));
    let toggles = settings(&idp.metadata, false, false, false);
    let (_, response) = idp.sign_in(&toggles);
    assert_eq!(consume(&toggles, &response), Err(SamlError::InvalidSignature));
    // Also when only the assertion is signed (the response signature cannot hide the change).
    idp.config(json!({"reset": true, "sign_response": false, "tamper_nameid": "mallory@idp.test"}));
    let (_, response) = idp.sign_in(&toggles);
    assert_eq!(consume(&toggles, &response), Err(SamlError::InvalidSignature));
}

#[test]
fn wrapped_second_assertion_is_rejected() {
    // Signature wrapping: a genuine response (only the assertion signed) with a forged, unsigned
    // assertion added before the signed one. Nothing from the forged copy may be returned.
    let idp = Idp::start(&settings("", false, true, false));
    idp.config(json!({"reset": true, "sign_response": false}));
    let toggles = settings(&idp.metadata, false, true, false);
    let (_, response) = idp.sign_in(&toggles);
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let xml = String::from_utf8(b64.decode(&response).unwrap()).unwrap();
    let start = xml.find("<ns1:Assertion").expect("assertion prefix");
    let end = xml.find("</ns1:Assertion>").unwrap() + "</ns1:Assertion>".len();
    let genuine = &xml[start..end];
    let sig_start = genuine.find("<ns2:Signature").unwrap();
    let sig_end = genuine.find("</ns2:Signature>").unwrap() + "</ns2:Signature>".len();
    let forged = format!("{}{}", &genuine[..sig_start], &genuine[sig_end..])
        .replace("alice@idp.test", "mallory@idp.test")
        .replacen("ID=\"", "ID=\"forged", 1);
    let wrapped = format!("{}{}{}", &xml[..start], forged, &xml[start..]);
    let result = consume(&toggles, &b64.encode(wrapped));
    assert_eq!(result, Err(SamlError::Malformed));
    // The genuine assertion hidden in an Extensions element, the forged one in its place.
    let hidden = format!("{}<ns0:Extensions>{genuine}</ns0:Extensions>{forged}{}", &xml[..start], &xml[end..]);
    let result = consume(&toggles, &b64.encode(hidden));
    assert!(result.is_err(), "wrapped response accepted: {result:?}");
    // Sanity: the untouched response is accepted.
    assert!(consume(&toggles, &response).is_ok());
}

#[test]
fn wrong_audience_is_rejected() {
    let idp = Idp::start(&settings("", false, true, true));
    idp.config(json!({"reset": true, "audience": "https://other-sp.test/metadata"}));
    let toggles = settings(&idp.metadata, false, true, true);
    let (_, response) = idp.sign_in(&toggles);
    let err = consume(&toggles, &response).unwrap_err();
    assert_eq!(err, SamlError::WrongAudience);
    assert_eq!(err.to_string(), "the SAML response is for another audience");
}

#[test]
fn wrong_destination_is_rejected() {
    let idp = Idp::start(&settings("", false, true, true));
    let toggles = settings(&idp.metadata, false, true, true);
    let (_, response) = idp.sign_in(&toggles);
    let other = SpSettings { acs_url: "http://127.0.0.1:4000/other/acs".into(), ..sp() };
    assert_eq!(saml::consume(&other, &toggles, &response, Utc::now()), Err(SamlError::WrongDestination));
}

#[test]
fn expired_response_is_rejected() {
    let idp = Idp::start(&settings("", false, true, true));
    idp.config(json!({"reset": true, "not_on_or_after_offset_seconds": -600}));
    let toggles = settings(&idp.metadata, false, true, true);
    let (_, response) = idp.sign_in(&toggles);
    let err = consume(&toggles, &response).unwrap_err();
    assert_eq!(err, SamlError::Expired);
    assert_eq!(err.to_string(), "the SAML response has expired");

    // A fresh response is refused once `now` passes NotOnOrAfter + 60 s, and before NotBefore.
    idp.config(json!({"reset": true}));
    let (_, response) = idp.sign_in(&toggles);
    let later = Utc::now() + Duration::seconds(300 + 61);
    assert_eq!(saml::consume(&sp(), &toggles, &response, later), Err(SamlError::Expired));
    let within_skew = Utc::now() + Duration::seconds(300 + 30);
    assert!(saml::consume(&sp(), &toggles, &response, within_skew).is_ok());
    let earlier = Utc::now() - Duration::seconds(600);
    assert_eq!(saml::consume(&sp(), &toggles, &response, earlier), Err(SamlError::NotYetValid));
}

#[test]
fn idp_initiated_response_is_rejected_as_unsolicited() {
    let idp = Idp::start(&settings("", false, true, true));
    let toggles = settings(&idp.metadata, false, true, true);
    let url = format!("{}/__test/idp_initiated?user=alice", idp.base);
    let r: Value = serde_json::from_str(&http(reqwest::Method::POST, &url, None).1).unwrap();
    let response = r["saml_response"].as_str().unwrap();
    let err = consume(&toggles, response).unwrap_err();
    assert_eq!(err, SamlError::Unsolicited);
    assert_eq!(err.to_string(), "unsolicited (IdP-initiated) SAML responses are not accepted");
}

#[test]
fn response_signed_by_another_idp_key_is_rejected() {
    let first = Idp::start(&settings("", false, true, true));
    let second = Idp::start(&settings("", false, true, true));
    let second_toggles = settings(&second.metadata, false, true, true);
    let (_, response) = second.sign_in(&second_toggles);
    assert!(consume(&second_toggles, &response).is_ok());
    // Fed to the first IdP's metadata: the KeyInfo certificate in the response is the second
    // IdP's, and it must not be trusted.
    for (assertion, envelope) in [(false, false), (true, true)] {
        let first_toggles = settings(&first.metadata, false, assertion, envelope);
        assert_eq!(consume(&first_toggles, &response), Err(SamlError::InvalidSignature));
    }
}

#[test]
fn consume_is_safe_from_many_threads() {
    let idp = Idp::start(&settings("", false, true, true));
    let toggles = settings(&idp.metadata, false, true, true);
    let (out, response) = idp.sign_in(&toggles);
    idp.config(json!({"reset": true, "tamper_nameid": "mallory@idp.test"}));
    let (_, tampered) = idp.sign_in(&toggles);
    std::thread::scope(|s| {
        for _ in 0..8 {
            s.spawn(|| {
                for _ in 0..25 {
                    let a = consume(&toggles, &response).unwrap();
                    assert_eq!(a.in_response_to, out.request_id);
                    assert_eq!(consume(&toggles, &tampered), Err(SamlError::InvalidSignature));
                }
            });
        }
    });
}

#[test]
fn sso_endpoint_and_metadata_checks() {
    let idp = Idp::start(&settings("", false, true, true));
    let toggles = settings(&idp.metadata, false, true, true);
    let out = saml::authn_request(&sp(), &toggles, "").unwrap();
    assert!(out.redirect_url.starts_with(&format!("{}/sso/redirect?SAMLRequest=", idp.base)));
    assert!(!out.redirect_url.contains("RelayState"));
    assert_eq!(saml::authn_request(&sp(), &toggles, &"x".repeat(81)).unwrap_err(), SamlError::RelayStateTooLong);
    // An EntitiesDescriptor holding the one IdP is accepted too.
    let body = idp.metadata.trim_start();
    let body = match body.strip_prefix("<?xml") {
        Some(rest) => &rest[rest.find("?>").unwrap() + 2..],
        None => body,
    };
    let wrapped = format!(
        "<md:EntitiesDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\">{body}</md:EntitiesDescriptor>"
    );
    saml::validate_idp_metadata(&wrapped).unwrap();
    let two = wrapped.replace("</md:EntitiesDescriptor>", &format!("{body}</md:EntitiesDescriptor>"));
    assert!(saml::validate_idp_metadata(&two).is_err());
    let no_cert = idp.metadata.replace("KeyDescriptor", "KeyDescriptorX");
    assert_eq!(
        saml::validate_idp_metadata(&no_cert),
        Err(SamlError::InvalidIdpMetadata("it has no signing certificate"))
    );
    let no_sso = idp.metadata.replace("SingleSignOnService", "ArtifactResolutionServiceX");
    assert!(matches!(saml::validate_idp_metadata(&no_sso), Err(SamlError::InvalidIdpMetadata(_))));
}
