//! Validation of the Response the IdP posts to our ACS: signatures first, then every
//! condition, reading values only from signature-covered XML.

use super::*;

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Root {
    Response,
    Assertion,
    Other,
}

/// A namespace-aware pass over a document, counting what matters before and after verification.
#[derive(Debug, Default)]
pub(super) struct XmlScan {
    pub(super) root: Option<Root>,
    pub(super) has_doctype: bool,
    pub(super) has_signature: bool,
    pub(super) assertions: usize,
    pub(super) encrypted_assertions: usize,
}

impl XmlScan {
    pub(super) fn of(xml: &str) -> Result<Self, SamlError> {
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

pub(super) fn check_status(response: &Response) -> Result<(), SamlError> {
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

/// The one email rule of the directory, so an address an administrator provisioned is one
/// the IdP may assert.
pub(super) fn looks_like_email(value: &str) -> bool {
    crate::validate::is_email(value)
}

pub(super) fn email_attribute(assertion: &Assertion) -> Option<String> {
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
