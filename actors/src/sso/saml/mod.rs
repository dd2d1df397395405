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

mod credentials;
mod metadata;
mod request;
mod response;
#[cfg(test)]
mod tests;

pub use credentials::generate_sp_credentials;
pub use metadata::{idp_entity_id, sp_metadata, validate_idp_metadata};
pub use request::authn_request;
pub use response::consume;

use credentials::{new_id, sp_credentials};
use metadata::IdpMetadata;
use response::*;

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
