//! What the sign-in page offers, and where sign-out continues upstream.

use actix::{Context, Handler, Message, ResponseFuture};

use super::configuration::load;
use super::ProvisioningActor;
use crate::error::DomainError;
use crate::model::TenantId;
use crate::sso::oidc;

/// The tenant's sign-in choices (for the sign-in page; no secrets).
#[derive(Message)]
#[rtype(result = "Result<SignInChoices, DomainError>")]
pub struct GetSignInChoices {
    pub tenant: TenantId,
}

/// Which ways a person may sign in to a tenant.
#[derive(Debug, Clone)]
pub struct SignInChoices {
    /// The password form is offered (and password sign-in accepted).
    pub local_auth_enabled: bool,
    pub providers: Vec<ProviderChoice>,
}

/// One "Sign in with …" button.
#[derive(Debug, Clone)]
pub struct ProviderChoice {
    pub protocol: Protocol,
    pub id: String,
    pub label: String,
}

/// The upstream protocol of a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Oidc,
    Saml,
}

/// Where to send the browser after a local sign-out: the OIDC provider's RP-initiated logout
/// URL when the session came from a provider that has one.
#[derive(Message)]
#[rtype(result = "Result<Option<String>, DomainError>")]
pub struct UpstreamSignOut {
    pub tenant: TenantId,
    /// The session's sign-in method: `"email"` or a provider id.
    pub method: String,
}

/// The issuer of the identities a configured provider asserts, so an administrator can link
/// one by provider id and subject.
#[derive(Message)]
#[rtype(result = "Result<String, DomainError>")]
pub struct ProviderIssuer {
    pub tenant: TenantId,
    pub provider: String,
}

impl Handler<ProviderIssuer> for ProvisioningActor {
    type Result = ResponseFuture<Result<String, DomainError>>;

    fn handle(&mut self, message: ProviderIssuer, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer) = (self.store.clone(), self.sealer.clone());
        Box::pin(async move {
            let configuration = load(&store, &sealer, &message.tenant).await?;
            let unknown = || DomainError::field("provider", "is not a configured provider");
            if let Some(provider) = configuration.oidc_provider(&message.provider) {
                return oidc::issuer(provider).map_err(|_| unknown());
            }
            let provider = configuration.saml_provider(&message.provider).ok_or_else(unknown)?;
            crate::sso::saml::idp_entity_id(&provider.metadata).map_err(|_| unknown())
        })
    }
}

impl Handler<GetSignInChoices> for ProvisioningActor {
    type Result = ResponseFuture<Result<SignInChoices, DomainError>>;

    fn handle(&mut self, message: GetSignInChoices, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer) = (self.store.clone(), self.sealer.clone());
        Box::pin(async move {
            let configuration = load(&store, &sealer, &message.tenant).await?;
            let oidc = configuration.openid_connect_providers.iter().map(|provider| ProviderChoice {
                protocol: Protocol::Oidc,
                id: provider.id.clone(),
                label: provider.label.clone(),
            });
            let saml = configuration.saml_identity_providers.iter().map(|provider| ProviderChoice {
                protocol: Protocol::Saml,
                id: provider.id.clone(),
                label: provider.label.clone(),
            });
            Ok(SignInChoices {
                local_auth_enabled: configuration.local_auth_enabled,
                providers: oidc.chain(saml).collect(),
            })
        })
    }
}

impl Handler<UpstreamSignOut> for ProvisioningActor {
    type Result = ResponseFuture<Result<Option<String>, DomainError>>;

    fn handle(&mut self, message: UpstreamSignOut, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer, discovery) = (self.store.clone(), self.sealer.clone(), self.discovery.clone());
        Box::pin(async move {
            let configuration = load(&store, &sealer, &message.tenant).await?;
            Ok(match configuration.oidc_provider(&message.method) {
                Some(provider) => oidc::end_session_url(&discovery, provider).await,
                None => None,
            })
        })
    }
}
