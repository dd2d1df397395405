//! The SP key pair: generated once, checked before use, and random XML ids.

use super::*;

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

pub(super) fn sp_credentials(sp: &SpSettings) -> Result<(PKey<Private>, CertificateDer), SamlError> {
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
pub(super) fn new_id() -> Result<String, SamlError> {
    let mut bytes = [0u8; 16];
    openssl::rand::rand_bytes(&mut bytes).map_err(|_| SamlError::Internal)?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    Ok(format!("_{hex}"))
}
