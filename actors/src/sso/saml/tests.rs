//! Unit tests of the pure parts: email heuristics, ids, size and shape limits, metadata errors.

use super::*;

#[test]
fn email_heuristics() {
    assert!(looks_like_email("alice@idp.test"));
    assert!(!looks_like_email("alice"));
    // The directory's one email rule: what /v0/users accepts, a NameID may be.
    assert!(looks_like_email("alice@localhost"));
    assert!(looks_like_email("new-user@test"));
    assert!(!looks_like_email("a b@idp.test"));
    assert!(!looks_like_email("@idp.test"));
}

#[test]
fn ids_are_ncnames_and_unique() {
    let (a, b) = (new_id().unwrap(), new_id().unwrap());
    assert_ne!(a, b);
    assert!(a.starts_with('_') && a.len() == 33);
}

#[test]
fn oversized_and_garbage_responses_are_rejected_before_parsing() {
    let sp = SpSettings {
        entity_id: "https://sp.test".into(),
        acs_url: "https://sp.test/acs".into(),
        key_pem: String::new(),
        cert_pem: String::new(),
    };
    let idp = IdpSettings {
        metadata_xml: "",
        sign_requests: false,
        sign_metadata: false,
        signed_assertion_in_resp: true,
        signed_envelopes_in_resp: true,
    };
    let big = "A".repeat(MAX_RESPONSE_BASE64_LEN + 1);
    assert_eq!(consume(&sp, &idp, &big, Utc::now()), Err(SamlError::TooLarge));
    assert_eq!(consume(&sp, &idp, "not base64!", Utc::now()), Err(SamlError::Malformed));
    let doctype = BASE64.encode(
        "<!DOCTYPE x [<!ENTITY a \"b\">]><samlp:Response \
         xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\"/>",
    );
    assert_eq!(consume(&sp, &idp, &doctype, Utc::now()), Err(SamlError::Malformed));
}

#[test]
fn metadata_errors_are_short_and_clean() {
    let err = validate_idp_metadata("<x/>").unwrap_err();
    assert_eq!(err.to_string(), "the identity provider's metadata is invalid: it is not SAML 2.0 metadata");
    assert!(matches!(validate_idp_metadata("not xml <"), Err(SamlError::InvalidIdpMetadata(_))));
}
