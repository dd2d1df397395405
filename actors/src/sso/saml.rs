//! SAML 2.0 service-provider core for Tessera: SP credentials and metadata, the HTTP-Redirect
//! `AuthnRequest`, and validation of the HTTP-POST `Response` sent back to the ACS.
//!
//! This module is deliberately free of HTTP-framework and database code: the caller stores the
//! SP key/certificate and the IdP metadata per tenant provider, keeps the pending request ids
//! (one-time, to bind a response to the browser that started the sign-in and to stop replays) and
//! may remember `assertion_id` until `not_on_or_after` (+ [`CLOCK_SKEW_SECONDS`]).
//!
//! XML signatures are checked by `samael` with its `xmlsec` feature (libxmlsec1 + OpenSSL):
//! `reduce_xml_to_signed` verifies every `<ds:Signature>` of the document against the IdP
//! certificates taken from the IdP **metadata** only (a `KeyInfo` certificate in the response is
//! never used as a key) and returns only the content those signatures cover. Every value this
//! module returns is read from that verified output, never from the raw document, which is what
//! defeats XML signature-wrapping attacks.
//!
//! Tessera's safe default: an unsigned response is never accepted, whatever the provider's
//! toggles say. The toggles only add requirements (a signed envelope, a signed assertion).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use flate2::write::DeflateEncoder;
use flate2::Compression;
use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::sign::Signer;
use openssl::x509::extension::BasicConstraints;
use openssl::x509::{X509NameBuilder, X509};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use samael::crypto::{AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode};
use samael::key_info::{KeyInfo, X509Data};
use samael::metadata::{
    EntityDescriptor, EntityDescriptorType, IndexedEndpoint, KeyDescriptor, SpSsoDescriptor, HTTP_POST_BINDING,
    HTTP_REDIRECT_BINDING,
};
use samael::schema::{Assertion, AuthnRequest, Issuer, Response};
use samael::traits::ToXml;
use std::io::Write as _;

/// Largest `SAMLResponse` form value accepted, in base64 characters, checked before decoding so a
/// hostile POST cannot make us decode and parse megabytes of XML. Real responses are 5–30 KiB.
pub const MAX_RESPONSE_BASE64_LEN: usize = 256 * 1024;

/// Tolerated clock difference with the IdP, in seconds, on every time check of a response.
pub const CLOCK_SKEW_SECONDS: i64 = 60;

/// The SAML bindings spec limits RelayState to 80 bytes (saml-bindings-2.0-os 3.4.3).
pub const MAX_RELAY_STATE_LEN: usize = 80;

const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const STATUS_PREFIX: &str = "urn:oasis:names:tc:SAML:2.0:status:";
const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
const NAMEID_ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
const SIG_ALG_RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// Attributes searched, in this order, for the e-mail address when the NameID is not one.
pub const EMAIL_ATTRIBUTES: [&str; 5] = [
    "urn:oid:0.9.2342.19200300.100.1.3",
    "mail",
    "email",
    "emailAddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
];

/// Signature algorithms accepted in responses: SHA-2 family only, so a response signed with
/// RSA-SHA1 (or with SHA-1 digests) is refused as an invalid signature.
const ALLOWED_ALGORITHMS: [AllowedSignatureAlgorithm; 6] = [
    AllowedSignatureAlgorithm::RsaSha256,
    AllowedSignatureAlgorithm::RsaSha384,
    AllowedSignatureAlgorithm::RsaSha512,
    AllowedSignatureAlgorithm::EcdsaSha256,
    AllowedSignatureAlgorithm::EcdsaSha384,
    AllowedSignatureAlgorithm::EcdsaSha512,
];

/// Percent-encoding for the HTTP-Redirect query: everything but RFC 3986 unreserved characters,
/// the same set Python's `quote_plus` (pysaml2, SimpleSAMLphp-like verifiers) produces, so an IdP
/// that re-encodes the parameters to check the signature rebuilds the very string we signed.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Why a SAML operation failed. The `Display` texts are short and safe to show on an error page:
/// they never contain XML, keys or values taken from the message.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SamlError {
    /// The `SAMLResponse` is bigger than [`MAX_RESPONSE_BASE64_LEN`].
    #[error("the SAML response is too large")]
    TooLarge,
    /// Not base64, not UTF-8, not XML, a DTD, or not a `samlp:Response` with the expected parts.
    #[error("the SAML response is malformed")]
    Malformed,
    /// The IdP answered a non-Success status (the top-level status name, e.g. `Responder`).
    #[error("the identity provider refused the sign-in (status {0})")]
    IdpStatus(String),
    /// The assertion is encrypted (`EncryptedAssertion`); Tessera does not advertise an
    /// encryption key, so a conforming IdP does not send one.
    #[error("encrypted SAML assertions are not supported")]
    EncryptedAssertion,
    /// No XML signature at all: never accepted.
    #[error("the SAML response is not signed")]
    NotSigned,
    /// The provider requires a signed Response envelope and it is not signed.
    #[error("the SAML response envelope is not signed")]
    ResponseNotSigned,
    /// The provider requires a signed Assertion and it is not signed.
    #[error("the SAML assertion is not signed")]
    AssertionNotSigned,
    /// A signature does not verify with the IdP metadata certificates, uses a refused
    /// algorithm, or does not cover the assertion.
    #[error("the SAML response signature is invalid")]
    InvalidSignature,
    /// The Response or Assertion `Issuer` is not the IdP metadata `entityID`.
    #[error("the SAML response comes from another identity provider")]
    WrongIssuer,
    /// The Response `Destination` is not our ACS URL.
    #[error("the SAML response was sent to another address")]
    WrongDestination,
    /// No `AudienceRestriction`, or one that does not name our entity id.
    #[error("the SAML response is for another audience")]
    WrongAudience,
    /// No bearer `SubjectConfirmationData` with our ACS URL as `Recipient`.
    #[error("the SAML response is for another recipient")]
    WrongRecipient,
    /// `NotOnOrAfter` (Conditions or SubjectConfirmationData) is past.
    #[error("the SAML response has expired")]
    Expired,
    /// `NotBefore` or `IssueInstant` is in the future.
    #[error("the SAML response is not yet valid (check the clocks)")]
    NotYetValid,
    /// No `InResponseTo`: an IdP-initiated sign-in, refused (no request id to bind it to).
    #[error("unsolicited (IdP-initiated) SAML responses are not accepted")]
    Unsolicited,
    /// The Response and its SubjectConfirmationData answer different requests.
    #[error("the SAML response answers another request")]
    InResponseToMismatch,
    /// No Subject, NameID or bearer SubjectConfirmation with a `NotOnOrAfter`.
    #[error("the SAML assertion has no usable subject")]
    MissingSubject,
    /// The tenant's IdP metadata cannot be used (the reason is ours, never parser output).
    #[error("the identity provider's metadata is invalid: {0}")]
    InvalidIdpMetadata(&'static str),
    /// Our own SP key or certificate cannot be read.
    #[error("the service provider's key or certificate is invalid")]
    InvalidSpCredentials,
    /// `relay_state` is longer than [`MAX_RELAY_STATE_LEN`] bytes.
    #[error("the RelayState is too long")]
    RelayStateTooLong,
    /// An unexpected failure in the crypto or XML libraries.
    #[error("internal SAML error")]
    Internal,
}

/// What Tessera presents as the SP for one tenant's provider.
#[derive(Debug, Clone)]
pub struct SpSettings {
    /// Our entityID, also the Issuer of our requests and the Audience we require.
    pub entity_id: String,
    /// Our Assertion Consumer Service URL (HTTP-POST): Destination and Recipient we require.
    pub acs_url: String,
    /// PEM private key (PKCS#8 or PKCS#1) signing requests and metadata.
    pub key_pem: String,
    /// PEM certificate of that key, published in our metadata.
    pub cert_pem: String,
}

/// The per-provider toggles (from Firezone's `saml_identity_providers` entries) and the IdP
/// metadata they go with.
#[derive(Debug, Clone, Copy)]
pub struct IdpSettings<'a> {
    /// The IdP's SAML metadata XML (`EntityDescriptor`): entityID, SSO URL, signing certs.
    pub metadata_xml: &'a str,
    /// Sign our AuthnRequests (HTTP-Redirect query-string signature).
    pub sign_requests: bool,
    /// Sign our SP metadata document.
    pub sign_metadata: bool,
    /// Require the Assertion itself to be signed.
    pub signed_assertion_in_resp: bool,
    /// Require the Response envelope to be signed.
    pub signed_envelopes_in_resp: bool,
}

/// A new AuthnRequest: where to send the browser, and the id the caller must remember.
#[derive(Debug, Clone)]
pub struct AuthnRequestOut {
    /// The IdP SSO URL with `SAMLRequest`, `RelayState` and, when signed, `SigAlg`/`Signature`.
    pub redirect_url: String,
    /// The request `ID`; a valid response carries it back as `InResponseTo`.
    pub request_id: String,
}

/// The verified facts of an accepted response, all read from signature-covered XML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlAssertion {
    /// The Assertion Issuer (equal to the IdP metadata entityID).
    pub issuer: String,
    /// The Subject NameID value: the stable user identifier at this IdP.
    pub name_id: String,
    /// The NameID if it looks like an e-mail address, else the first value of
    /// [`EMAIL_ATTRIBUTES`] (in that order) found in the assertion.
    pub email: Option<String>,
    /// The request id this answers; the caller must check it is one of its pending ids.
    pub in_response_to: String,
    /// The Assertion ID, for an optional replay cache.
    pub assertion_id: String,
    /// The earliest of the Conditions and bearer SubjectConfirmationData `NotOnOrAfter`: the
    /// assertion is accepted until then plus [`CLOCK_SKEW_SECONDS`].
    pub not_on_or_after: DateTime<Utc>,
}

/// Generates the SP signing credentials of a new provider: an RSA-2048 key and a self-signed
/// SHA-256 certificate valid 10 years (SAML uses certificates as key containers; nobody checks the
/// chain), as `(PKCS#8 key PEM, certificate PEM)`.
pub fn generate_sp_credentials(common_name: &str) -> Result<(String, String), SamlError> {
    fn inner(common_name: &str) -> Result<(Vec<u8>, Vec<u8>), openssl::error::ErrorStack> {
        let key = PKey::from_rsa(Rsa::generate(2048)?)?;
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_text("CN", common_name)?;
        let name = name.build();
        let mut serial = BigNum::new()?;
        serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
        let mut builder = X509::builder()?;
        builder.set_version(2)?;
        let serial = Asn1Integer::from_bn(&serial)?;
        builder.set_serial_number(&serial)?;
        builder.set_subject_name(&name)?;
        builder.set_issuer_name(&name)?;
        builder.set_pubkey(&key)?;
        let not_before = Asn1Time::days_from_now(0)?;
        let not_after = Asn1Time::days_from_now(3650)?;
        builder.set_not_before(&not_before)?;
        builder.set_not_after(&not_after)?;
        builder.append_extension(BasicConstraints::new().critical().build()?)?;
        builder.sign(&key, MessageDigest::sha256())?;
        let cert = builder.build();
        Ok((key.private_key_to_pem_pkcs8()?, cert.to_pem()?))
    }
    if common_name.is_empty() {
        return Err(SamlError::InvalidSpCredentials);
    }
    let (key, cert) = inner(common_name).map_err(|_| SamlError::Internal)?;
    let pem = |v: Vec<u8>| String::from_utf8(v).map_err(|_| SamlError::Internal);
    Ok((pem(key)?, pem(cert)?))
}

/// Builds our SP metadata for the IdP administrator: an `EntityDescriptor` with one
/// `SPSSODescriptor` (the ACS on HTTP-POST, our certificate as `use="signing"`, and
/// `AuthnRequestsSigned`/`WantAssertionsSigned` from the toggles). No encryption key is
/// published, so IdPs do not encrypt assertions. Enveloped-signed (RSA-SHA256, exclusive c14n)
/// when `sign_metadata` is set.
pub fn sp_metadata(sp: &SpSettings, idp: &IdpSettings) -> Result<String, SamlError> {
    let (key, cert) = sp_credentials(sp)?;
    let cert_b64 = BASE64.encode(cert.der_data());
    let descriptor = SpSsoDescriptor {
        protocol_support_enumeration: Some(PROTOCOL_NS.to_string()),
        authn_requests_signed: Some(idp.sign_requests),
        want_assertions_signed: Some(idp.signed_assertion_in_resp),
        key_descriptors: Some(vec![KeyDescriptor {
            key_use: Some("signing".to_string()),
            key_info: KeyInfo { id: None, x509_data: Some(X509Data { certificates: vec![cert_b64.clone()] }) },
            encryption_methods: None,
        }]),
        assertion_consumer_services: vec![IndexedEndpoint {
            binding: HTTP_POST_BINDING.to_string(),
            location: sp.acs_url.clone(),
            response_location: None,
            index: 0,
            is_default: Some(true),
        }],
        ..SpSsoDescriptor::default()
    };
    let entity = EntityDescriptor {
        entity_id: Some(sp.entity_id.clone()),
        sp_sso_descriptors: Some(vec![descriptor]),
        ..EntityDescriptor::default()
    };
    let xml = entity.to_string().map_err(|_| SamlError::Internal)?;
    if !idp.sign_metadata {
        return Ok(xml);
    }
    // samael's EntityDescriptor serializer writes neither `ID` nor `Signature`: add both (the
    // Signature template must be the first child) and let xmlsec fill the template in.
    let id = new_id()?;
    let start = xml.find("<md:EntityDescriptor").ok_or(SamlError::Internal)?;
    let end = start + xml[start..].find('>').ok_or(SamlError::Internal)?;
    let template = signature_template(&id, &cert_b64);
    let unsigned = format!(
        "{}<md:EntityDescriptor ID=\"{id}\"{}>{template}{}",
        &xml[..start],
        &xml[start + "<md:EntityDescriptor".len()..end],
        &xml[end + 1..]
    );
    let key_der = key.private_key_to_der().map_err(|_| SamlError::Internal)?;
    Crypto::sign_xml(unsigned, &key_der).map_err(|_| SamlError::Internal)
}

/// Checks an IdP metadata document when an administrator saves it, so a sign-in never fails
/// later for that reason: it must parse as an `EntityDescriptor` (or an `EntitiesDescriptor`
/// holding exactly one IdP) with an `IDPSSODescriptor`, an HTTP-Redirect SSO endpoint (the only
/// binding [`authn_request`] uses) and at least one valid signing certificate.
pub fn validate_idp_metadata(xml: &str) -> Result<(), SamlError> {
    IdpMetadata::parse(xml).map(|_| ())
}

/// Starts a sign-in: builds an AuthnRequest (128-bit random ID, our ACS, HTTP-POST response
/// binding) for the IdP's HTTP-Redirect SSO endpoint. With `sign_requests`, it carries the
/// query-string signature of the bindings spec (3.4.4.1): RSA-SHA256 over
/// `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as encoded in the URL.
pub fn authn_request(sp: &SpSettings, idp: &IdpSettings, relay_state: &str) -> Result<AuthnRequestOut, SamlError> {
    if relay_state.len() > MAX_RELAY_STATE_LEN {
        return Err(SamlError::RelayStateTooLong);
    }
    let meta = IdpMetadata::parse(idp.metadata_xml)?;
    let id = new_id()?;
    let request = AuthnRequest {
        id: id.clone(),
        version: "2.0".to_string(),
        issue_instant: Utc::now(),
        destination: Some(meta.sso_redirect_url.clone()),
        assertion_consumer_service_url: Some(sp.acs_url.clone()),
        protocol_binding: Some(HTTP_POST_BINDING.to_string()),
        issuer: Some(Issuer {
            format: Some(NAMEID_ENTITY.to_string()),
            value: Some(sp.entity_id.clone()),
            ..Issuer::default()
        }),
        ..AuthnRequest::default()
    };
    let xml = request.to_string().map_err(|_| SamlError::Internal)?;
    let mut deflated = Vec::new();
    {
        let mut encoder = DeflateEncoder::new(&mut deflated, Compression::default());
        encoder.write_all(xml.as_bytes()).map_err(|_| SamlError::Internal)?;
        encoder.finish().map_err(|_| SamlError::Internal)?;
    }
    let mut query = format!("SAMLRequest={}", utf8_percent_encode(&BASE64.encode(&deflated), QUERY_VALUE));
    if !relay_state.is_empty() {
        query.push_str("&RelayState=");
        query.extend(utf8_percent_encode(relay_state, QUERY_VALUE));
    }
    if idp.sign_requests {
        let (key, _) = sp_credentials(sp)?;
        query.push_str("&SigAlg=");
        query.extend(utf8_percent_encode(SIG_ALG_RSA_SHA256, QUERY_VALUE));
        let mut signer = Signer::new(MessageDigest::sha256(), &key).map_err(|_| SamlError::Internal)?;
        let signature = signer
            .update(query.as_bytes())
            .and_then(|()| signer.sign_to_vec())
            .map_err(|_| SamlError::InvalidSpCredentials)?;
        query.push_str("&Signature=");
        query.extend(utf8_percent_encode(&BASE64.encode(signature), QUERY_VALUE));
    }
    let separator = if meta.sso_redirect_url.contains('?') { '&' } else { '?' };
    Ok(AuthnRequestOut { redirect_url: format!("{}{separator}{query}", meta.sso_redirect_url), request_id: id })
}

/// Validates the `SAMLResponse` POSTed to our ACS and returns the verified identity.
///
/// Checks, in order: size, base64/XML shape (no DTD), status Success, no encrypted assertion, at
/// least one signature, every signature valid with the IdP metadata certificates (SHA-2 only),
/// the signatures required by the toggles, Issuer, Destination, Audience, validity times and the
/// bearer SubjectConfirmationData (Recipient, NotOnOrAfter) with [`CLOCK_SKEW_SECONDS`] of skew,
/// and finally that `InResponseTo` is present. Replay protection is the caller's: it must accept
/// `in_response_to` only once, for a request it issued, and may also remember `assertion_id`.
pub fn consume(
    sp: &SpSettings,
    idp: &IdpSettings,
    saml_response_b64: &str,
    now: DateTime<Utc>,
) -> Result<SamlAssertion, SamlError> {
    if saml_response_b64.len() > MAX_RESPONSE_BASE64_LEN {
        return Err(SamlError::TooLarge);
    }
    let compact: Vec<u8> = saml_response_b64.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let bytes = BASE64.decode(compact).map_err(|_| SamlError::Malformed)?;
    let xml = String::from_utf8(bytes).map_err(|_| SamlError::Malformed)?;

    // The raw document: only used to refuse early, never as a source of returned data.
    let raw = XmlScan::of(&xml)?;
    if raw.has_doctype || raw.root != Some(Root::Response) {
        return Err(SamlError::Malformed);
    }
    let outer: Response = xml.parse().map_err(|_| SamlError::Malformed)?;
    check_status(&outer)?;
    if raw.encrypted_assertions > 0 {
        return Err(SamlError::EncryptedAssertion);
    }
    if raw.assertions != 1 {
        return Err(SamlError::Malformed);
    }
    if !raw.has_signature {
        return Err(SamlError::NotSigned);
    }

    let meta = IdpMetadata::parse(idp.metadata_xml)?;
    let reduced = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        &xml,
        &meta.signing_certs,
        ReduceMode::ValidateAndMarkNoAncestors,
        Some(&ALLOWED_ALGORITHMS),
    )
    .map_err(|_| SamlError::InvalidSignature)?;

    // What the verified output is rooted at tells what was signed: the whole Response (its
    // Assertion inside), or only the Assertion (the envelope around it is then untrusted).
    let verified = XmlScan::of(&reduced).map_err(|_| SamlError::InvalidSignature)?;
    let (response, assertion, assertion_signed) = match verified.root {
        Some(Root::Response) => {
            if verified.assertions != 1 || verified.encrypted_assertions != 0 {
                return Err(SamlError::InvalidSignature);
            }
            let response: Response = reduced.parse().map_err(|_| SamlError::Malformed)?;
            let assertion = response.assertion.clone().ok_or(SamlError::Malformed)?;
            // reduce_xml_to_signed verified every Signature in the document, so a Signature in the
            // assertion referencing the assertion's own (unique) ID is a valid assertion signature.
            let own_ref = format!("#{}", assertion.id);
            let signed = assertion
                .signature
                .as_ref()
                .is_some_and(|s| s.signed_info.reference.iter().any(|r| r.uri.as_deref() == Some(own_ref.as_str())));
            (Some(response), assertion, signed)
        }
        Some(Root::Assertion) => {
            if verified.assertions != 1 {
                return Err(SamlError::InvalidSignature);
            }
            let assertion: Assertion = reduced.parse().map_err(|_| SamlError::Malformed)?;
            (None, assertion, true)
        }
        _ => return Err(SamlError::InvalidSignature),
    };
    if idp.signed_envelopes_in_resp && response.is_none() {
        return Err(SamlError::ResponseNotSigned);
    }
    if idp.signed_assertion_in_resp && !assertion_signed {
        return Err(SamlError::AssertionNotSigned);
    }

    // Envelope checks: from the verified Response when signed; otherwise the unsigned envelope
    // can still make us refuse (never accept) the message.
    let envelope = response.as_ref().unwrap_or(&outer);
    if let Some(issuer) = envelope.issuer.as_ref().and_then(|i| i.value.as_deref()) {
        if issuer.trim() != meta.entity_id {
            return Err(SamlError::WrongIssuer);
        }
    }
    if let Some(destination) = &envelope.destination {
        if destination != &sp.acs_url {
            return Err(SamlError::WrongDestination);
        }
    }

    let issuer = assertion.issuer.value.as_deref().map(str::trim).unwrap_or_default();
    if issuer != meta.entity_id {
        return Err(SamlError::WrongIssuer);
    }

    let skew = Duration::seconds(CLOCK_SKEW_SECONDS);
    if assertion.issue_instant > now + skew {
        return Err(SamlError::NotYetValid);
    }
    let conditions = assertion.conditions.as_ref().ok_or(SamlError::WrongAudience)?;
    let restrictions = conditions.audience_restrictions.as_deref().unwrap_or_default();
    if restrictions.is_empty() || !restrictions.iter().all(|r| r.audience.iter().any(|a| a.trim() == sp.entity_id)) {
        return Err(SamlError::WrongAudience);
    }
    if conditions.not_before.is_some_and(|t| now + skew < t) {
        return Err(SamlError::NotYetValid);
    }
    if conditions.not_on_or_after.is_some_and(|t| now - skew >= t) {
        return Err(SamlError::Expired);
    }

    let subject = assertion.subject.as_ref().ok_or(SamlError::MissingSubject)?;
    let name_id = subject
        .name_id
        .as_ref()
        .map(|n| n.value.trim().to_string())
        .filter(|v| !v.is_empty())
        .ok_or(SamlError::MissingSubject)?;
    let bearer: Vec<_> = subject
        .subject_confirmations
        .iter()
        .flatten()
        .filter(|c| c.method.as_deref() == Some(BEARER))
        .filter_map(|c| c.subject_confirmation_data.as_ref())
        .collect();
    if bearer.is_empty() {
        return Err(SamlError::MissingSubject);
    }
    // The first bearer confirmation for our ACS that is currently valid wins; otherwise report
    // the most telling failure.
    let mut failure = SamlError::WrongRecipient;
    let mut confirmed = None;
    for data in bearer {
        if data.recipient.as_deref() != Some(sp.acs_url.as_str()) {
            continue;
        }
        let Some(expiry) = data.not_on_or_after else {
            failure = SamlError::MissingSubject;
            continue;
        };
        if now - skew >= expiry {
            failure = SamlError::Expired;
            continue;
        }
        if data.not_before.is_some_and(|t| now + skew < t) {
            failure = SamlError::NotYetValid;
            continue;
        }
        confirmed = Some(data);
        break;
    }
    let data = confirmed.ok_or(failure)?;

    // InResponseTo: the confirmation's (signed with the assertion) and, when the envelope is
    // signed, the Response's; they must agree, and at least one must be present.
    let envelope_irt = response.as_ref().and_then(|r| r.in_response_to.clone());
    let in_response_to = match (data.in_response_to.clone(), envelope_irt) {
        (Some(a), Some(b)) if a != b => return Err(SamlError::InResponseToMismatch),
        (Some(a), _) | (None, Some(a)) => a,
        (None, None) => return Err(SamlError::Unsolicited),
    };
    if in_response_to.is_empty() {
        return Err(SamlError::Unsolicited);
    }
    // An unsigned envelope naming another request than the signed assertion is refused too.
    if response.is_none() {
        if let Some(irt) = &outer.in_response_to {
            if irt != &in_response_to {
                return Err(SamlError::InResponseToMismatch);
            }
        }
    }

    let not_on_or_after = match (conditions.not_on_or_after, data.not_on_or_after) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b).ok_or(SamlError::MissingSubject)?,
    };
    let email = if looks_like_email(&name_id) { Some(name_id.clone()) } else { email_attribute(&assertion) };
    Ok(SamlAssertion {
        issuer: issuer.to_string(),
        name_id,
        email,
        in_response_to,
        assertion_id: assertion.id.clone(),
        not_on_or_after,
    })
}

/// The parts of the IdP metadata Tessera relies on.
struct IdpMetadata {
    entity_id: String,
    sso_redirect_url: String,
    signing_certs: Vec<CertificateDer>,
}

impl IdpMetadata {
    fn parse(xml: &str) -> Result<Self, SamlError> {
        let scan = XmlScan::of(xml).map_err(|_| SamlError::InvalidIdpMetadata("it is not well-formed XML"))?;
        if scan.has_doctype {
            return Err(SamlError::InvalidIdpMetadata("it contains a DTD"));
        }
        let document: EntityDescriptorType =
            xml.parse().map_err(|_| SamlError::InvalidIdpMetadata("it is not SAML 2.0 metadata"))?;
        let mut idps = document.iter().filter(|e| e.idp_sso_descriptors.as_ref().is_some_and(|d| !d.is_empty()));
        let entity = idps.next().ok_or(SamlError::InvalidIdpMetadata("it has no IDPSSODescriptor"))?;
        if idps.next().is_some() {
            return Err(SamlError::InvalidIdpMetadata("it describes more than one identity provider"));
        }
        let entity_id = entity
            .entity_id
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .ok_or(SamlError::InvalidIdpMetadata("it has no entityID"))?
            .to_string();
        let descriptors = entity.idp_sso_descriptors.as_deref().unwrap_or_default();
        let sso: Vec<_> = descriptors.iter().flat_map(|d| d.single_sign_on_services.iter()).collect();
        if sso.is_empty() {
            return Err(SamlError::InvalidIdpMetadata("it has no single sign-on endpoint"));
        }
        let sso_redirect_url = sso
            .iter()
            .find(|s| s.binding == HTTP_REDIRECT_BINDING)
            .map(|s| s.location.trim().to_string())
            .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
            .ok_or(SamlError::InvalidIdpMetadata("it has no HTTP-Redirect single sign-on endpoint"))?;
        let mut signing_certs = Vec::new();
        for key in descriptors.iter().flat_map(|d| d.key_descriptors.iter()) {
            if !matches!(key.key_use.as_deref(), None | Some("") | Some("signing")) {
                continue;
            }
            for cert in key.key_info.x509_data.iter().flat_map(|x| &x.certificates) {
                let der = samael::crypto::decode_x509_cert(cert)
                    .map_err(|_| SamlError::InvalidIdpMetadata("a signing certificate is not valid base64"))?;
                X509::from_der(der.der_data())
                    .map_err(|_| SamlError::InvalidIdpMetadata("a signing certificate is not valid X.509"))?;
                signing_certs.push(der);
            }
        }
        if signing_certs.is_empty() {
            return Err(SamlError::InvalidIdpMetadata("it has no signing certificate"));
        }
        Ok(Self { entity_id, sso_redirect_url, signing_certs })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Response,
    Assertion,
    Other,
}

/// A namespace-aware pass over a document, counting what matters before and after verification.
#[derive(Debug, Default)]
struct XmlScan {
    root: Option<Root>,
    has_doctype: bool,
    has_signature: bool,
    assertions: usize,
    encrypted_assertions: usize,
}

impl XmlScan {
    fn of(xml: &str) -> Result<Self, SamlError> {
        let mut reader = NsReader::from_str(xml);
        let mut scan = Self::default();
        loop {
            let (ns, event) = reader.read_resolved_event().map_err(|_| SamlError::Malformed)?;
            let start = match event {
                Event::Start(s) | Event::Empty(s) => s,
                Event::DocType(_) => {
                    scan.has_doctype = true;
                    continue;
                }
                Event::Eof => break,
                _ => continue,
            };
            let ns = match ns {
                ResolveResult::Bound(ns) => String::from_utf8_lossy(ns.as_ref()).into_owned(),
                _ => String::new(),
            };
            let local = start.local_name();
            let local = local.as_ref();
            let kind = match (ns.as_str(), local) {
                (PROTOCOL_NS, b"Response") => Root::Response,
                (ASSERTION_NS, b"Assertion") => {
                    scan.assertions += 1;
                    Root::Assertion
                }
                (ASSERTION_NS, b"EncryptedAssertion") => {
                    scan.encrypted_assertions += 1;
                    Root::Other
                }
                (DSIG_NS, b"Signature") => {
                    scan.has_signature = true;
                    Root::Other
                }
                _ => Root::Other,
            };
            scan.root.get_or_insert(kind);
        }
        if scan.root.is_none() {
            return Err(SamlError::Malformed);
        }
        Ok(scan)
    }
}

fn check_status(response: &Response) -> Result<(), SamlError> {
    let code = response.status.as_ref().and_then(|s| s.status_code.value.as_deref()).ok_or(SamlError::Malformed)?;
    if code == STATUS_SUCCESS {
        return Ok(());
    }
    // Only a short, known-shape name is echoed, never arbitrary text from the message.
    let name = code
        .strip_prefix(STATUS_PREFIX)
        .filter(|n| n.len() <= 40 && n.bytes().all(|b| b.is_ascii_alphanumeric()))
        .unwrap_or("unknown");
    Err(SamlError::IdpStatus(name.to_string()))
}

fn looks_like_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
                && !value.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

fn email_attribute(assertion: &Assertion) -> Option<String> {
    let attributes: Vec<_> =
        assertion.attribute_statements.iter().flatten().flat_map(|s| s.attributes.iter()).collect();
    EMAIL_ATTRIBUTES.iter().find_map(|wanted| {
        attributes
            .iter()
            .filter(|a| a.name.as_deref() == Some(wanted))
            .flat_map(|a| a.values.iter())
            .filter_map(|v| v.value.as_deref().map(str::trim))
            .find(|v| looks_like_email(v))
            .map(str::to_string)
    })
}

fn sp_credentials(sp: &SpSettings) -> Result<(PKey<Private>, CertificateDer), SamlError> {
    let key = PKey::private_key_from_pem(sp.key_pem.as_bytes()).map_err(|_| SamlError::InvalidSpCredentials)?;
    let cert = X509::from_pem(sp.cert_pem.as_bytes()).map_err(|_| SamlError::InvalidSpCredentials)?;
    let cert_key = cert.public_key().map_err(|_| SamlError::InvalidSpCredentials)?;
    if !key.public_eq(&cert_key) {
        return Err(SamlError::InvalidSpCredentials);
    }
    let der = cert.to_der().map_err(|_| SamlError::InvalidSpCredentials)?;
    Ok((key, CertificateDer::from(der)))
}

/// A 128-bit random XML ID (an NCName: it must not start with a digit).
fn new_id() -> Result<String, SamlError> {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).map_err(|_| SamlError::Internal)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("_{hex}"))
}

fn signature_template(id: &str, cert_b64: &str) -> String {
    format!(
        concat!(
            "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"><ds:SignedInfo>",
            "<ds:CanonicalizationMethod Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            "<ds:SignatureMethod Algorithm=\"{alg}\"/>",
            "<ds:Reference URI=\"#{id}\"><ds:Transforms>",
            "<ds:Transform Algorithm=\"http://www.w3.org/2000/09/xmldsig#enveloped-signature\"/>",
            "<ds:Transform Algorithm=\"http://www.w3.org/2001/10/xml-exc-c14n#\"/>",
            "</ds:Transforms>",
            "<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>",
            "<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>",
            "<ds:SignatureValue></ds:SignatureValue>",
            "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate>",
            "</ds:X509Data></ds:KeyInfo></ds:Signature>"
        ),
        alg = SIG_ALG_RSA_SHA256,
        id = id,
        cert = cert_b64
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_heuristics() {
        assert!(looks_like_email("alice@idp.test"));
        assert!(!looks_like_email("alice"));
        assert!(!looks_like_email("alice@localhost"));
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
}
