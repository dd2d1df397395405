//! Upstream identity protocols: the OpenID Connect relying party and the SAML service
//! provider. These speak to the provider; which account a sign-in belongs to is decided by
//! the ProvisioningActor.

pub mod discovery;
pub mod oidc;
pub mod saml;

/// An identity asserted by an upstream provider, verified.
#[derive(Clone)]
pub struct UpstreamIdentity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    /// For the refresher; sealed before it is stored.
    pub refresh_token: Option<String>,
}
