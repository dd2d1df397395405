//! Our SP metadata (optionally signed) and the parts of the IdP metadata we rely on.

use super::*;

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

/// The IdP's entity id: the issuer its assertions carry, and so the issuer of its identities.
pub fn idp_entity_id(xml: &str) -> Result<String, SamlError> {
    IdpMetadata::parse(xml).map(|metadata| metadata.entity_id)
}

/// The parts of the IdP metadata Tessera relies on.
pub(super) struct IdpMetadata {
    pub(super) entity_id: String,
    pub(super) sso_redirect_url: String,
    pub(super) signing_certs: Vec<CertificateDer>,
}

impl IdpMetadata {
    pub(super) fn parse(xml: &str) -> Result<Self, SamlError> {
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
