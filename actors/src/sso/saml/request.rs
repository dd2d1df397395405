//! The AuthnRequest for the HTTP-Redirect binding, with its query-string signature.

use super::*;

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
