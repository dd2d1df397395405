//! The configuration record and its providers.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One tenant's identity configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    pub id: Uuid,
    /// Password sign-in; when off, the password form is hidden and password sign-in is refused.
    pub local_auth_enabled: bool,
    /// Disable users whose upstream OIDC refresh fails.
    pub disable_vpn_on_oidc_error: bool,
    pub allow_unprivileged_device_management: bool,
    pub allow_unprivileged_device_configuration: bool,
    pub vpn_session_duration: i64,
    pub default_client_persistent_keepalive: i64,
    pub default_client_mtu: i64,
    pub default_client_endpoint: Option<String>,
    pub default_client_dns: Vec<String>,
    pub default_client_allowed_ips: Vec<String>,
    pub logo: Option<Logo>,
    pub openid_connect_providers: Vec<OidcProvider>,
    pub saml_identity_providers: Vec<SamlProvider>,
    pub inserted_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A logo shown on the sign-in page: a URL, or inline data with its MIME type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Logo {
    pub url: Option<String>,
    pub data: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// An OpenID Connect provider users may sign in through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OidcProvider {
    pub id: String,
    pub label: String,
    pub scope: String,
    pub response_type: String,
    pub client_id: String,
    /// Clear text in memory only; the store encrypts it.
    pub client_secret: String,
    pub discovery_document_uri: String,
    /// Where the provider sends users back; `<external_url>/auth/oidc/<id>/callback/` by default.
    pub redirect_uri: Option<String>,
    /// Create an unprivileged user on first sign-in when no account matches.
    pub auto_create_users: bool,
    /// Let a first sign-in with a verified email attach to an existing account that has a
    /// password or another linked identity (off: only to accounts with neither). Risky: whoever
    /// controls the address at this provider takes that account over.
    #[serde(default)]
    pub link_existing_by_email: bool,
}

/// A SAML 2.0 identity provider users may sign in through.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SamlProvider {
    pub id: String,
    pub label: String,
    /// Base of the SP routes, `<external_url>/auth/saml` by default.
    pub base_url: String,
    /// The IdP's metadata XML.
    pub metadata: String,
    pub sign_requests: bool,
    pub sign_metadata: bool,
    pub signed_assertion_in_resp: bool,
    pub signed_envelopes_in_resp: bool,
    pub auto_create_users: bool,
    /// As for OIDC providers: linking a first sign-in to an account that has a password.
    #[serde(default)]
    pub link_existing_by_email: bool,
}

impl SamlProvider {
    /// Our SP's metadata URL for this provider, which is also our entity id.
    pub fn sp_metadata_url(&self) -> String {
        format!("{}/sp/metadata/{}", self.base_url.trim_end_matches('/'), self.id)
    }

    /// Our SP's assertion consumer service URL for this provider.
    pub fn acs_url(&self) -> String {
        format!("{}/sp/consume/{}", self.base_url.trim_end_matches('/'), self.id)
    }
}

impl Configuration {
    /// Firezone's defaults for a tenant that has stored nothing yet.
    pub fn defaults() -> Self {
        let now = Utc::now();
        Configuration {
            id: Uuid::new_v4(),
            local_auth_enabled: true,
            disable_vpn_on_oidc_error: false,
            allow_unprivileged_device_management: true,
            allow_unprivileged_device_configuration: true,
            vpn_session_duration: 0,
            default_client_persistent_keepalive: 25,
            default_client_mtu: 1280,
            default_client_endpoint: None,
            default_client_dns: vec!["1.1.1.1".into(), "1.0.0.1".into()],
            default_client_allowed_ips: vec!["0.0.0.0/0".into(), "::/0".into()],
            logo: None,
            openid_connect_providers: Vec::new(),
            saml_identity_providers: Vec::new(),
            inserted_at: now,
            updated_at: now,
        }
    }

    /// The OIDC provider with this id.
    pub fn oidc_provider(&self, id: &str) -> Option<&OidcProvider> {
        self.openid_connect_providers.iter().find(|provider| provider.id == id)
    }

    /// The SAML provider with this id.
    pub fn saml_provider(&self, id: &str) -> Option<&SamlProvider> {
        self.saml_identity_providers.iter().find(|provider| provider.id == id)
    }
}

/// Whether a stored configuration document (`None`: nothing stored, the default) allows
/// password sign-in. Reads that one key, opening no provider secret, so password sign-in never
/// depends on them.
pub fn stored_local_auth_enabled(document: Option<&str>) -> Result<bool, serde_json::Error> {
    #[derive(Deserialize)]
    struct LocalAuth {
        local_auth_enabled: bool,
    }
    match document {
        None => Ok(Configuration::defaults().local_auth_enabled),
        Some(document) => serde_json::from_str::<LocalAuth>(document).map(|stored| stored.local_auth_enabled),
    }
}

impl OidcProvider {
    /// The redirect URI the provider must send users back to.
    pub fn effective_redirect_uri(&self, external_url: &str) -> String {
        self.redirect_uri
            .clone()
            .unwrap_or_else(|| format!("{}/auth/oidc/{}/callback/", external_url.trim_end_matches('/'), self.id))
    }
}
