//! Upstream identities (issuer + subject at an OIDC provider or SAML IdP) linked to a user.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// An upstream identity as a sign-in asserts it or an admin names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityKey {
    /// The provider id of the tenant's configuration it came through (for the refresher).
    pub provider: String,
    pub issuer: String,
    pub subject: String,
}

/// A stored link of an upstream identity to a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkedIdentity {
    pub provider: Option<String>,
    pub issuer: String,
    pub subject: String,
    pub created_at: DateTime<Utc>,
}

impl LinkedIdentity {
    /// The public id (`idn_` + 32 hex digits), derived from issuer and subject, so the link
    /// needs no id of its own and the same identity always has the same id.
    pub fn public_id(&self) -> String {
        identity_id(&self.issuer, &self.subject)
    }
}

/// `idn_` and the first 16 bytes of SHA-256(issuer ‖ NUL ‖ subject), hex.
pub fn identity_id(issuer: &str, subject: &str) -> String {
    let digest = Sha256::new().chain_update(issuer).chain_update([0u8]).chain_update(subject).finalize();
    let hex: String = digest[..16].iter().map(|byte| format!("{byte:02x}")).collect();
    format!("idn_{hex}")
}

#[cfg(test)]
mod tests {
    use super::identity_id;

    #[test]
    fn ids_are_stable_and_separate_issuer_from_subject() {
        let id = identity_id("https://idp", "alice");
        assert_eq!(id, identity_id("https://idp", "alice"));
        assert!(id.starts_with("idn_") && id.len() == 36);
        assert_ne!(identity_id("https://idpa", "lice"), id);
    }
}
