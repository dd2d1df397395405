//! Browser sign-in through an upstream provider: start (redirect), finish (verify), and the
//! decision of which account the verified identity belongs to.

use actix::{Context, Handler, Message, ResponseFuture};
use chrono::{Duration, Utc};

use super::configuration::load;
use super::provision::{provision, ProviderRules};
use super::ProvisioningActor;
use crate::error::DomainError;
use crate::model::{TenantId, User};
use crate::sso::oidc::{self, PendingOidc};

/// How long a started sign-in may take.
const PENDING_MINUTES: i64 = 10;

/// Begin an OIDC sign-in: where to send the browser, and the state it must come back with.
#[derive(Message)]
#[rtype(result = "Result<UpstreamRedirect, DomainError>")]
pub struct StartOidcSignIn {
    pub tenant: TenantId,
    pub provider: String,
    /// Base of the tenant's public URLs, for the default redirect URI.
    pub base_url: String,
}

/// A started upstream sign-in (OIDC or SAML).
#[derive(Debug, Clone)]
pub struct UpstreamRedirect {
    /// The provider's authorization or SSO URL.
    pub url: String,
    /// What the provider's answer must carry back (the OIDC `state`, the SAML request id);
    /// the shell binds it to the browser with a cookie.
    pub binding: String,
}

/// Finish an OIDC sign-in from the provider's callback: the account signed in to.
#[derive(Message)]
#[rtype(result = "Result<User, DomainError>")]
pub struct FinishOidcSignIn {
    pub tenant: TenantId,
    pub provider: String,
    pub code: String,
    pub state: String,
    pub base_url: String,
    /// Where the browser came from, for the audit trail.
    pub origin: crate::audit::RequestOrigin,
}

impl Handler<StartOidcSignIn> for ProvisioningActor {
    type Result = ResponseFuture<Result<UpstreamRedirect, DomainError>>;

    fn handle(&mut self, message: StartOidcSignIn, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer, discovery) = (self.store.clone(), self.sealer.clone(), self.discovery.clone());
        Box::pin(async move {
            let configuration = load(&store, &sealer, &message.tenant).await?;
            let provider = configuration.oidc_provider(&message.provider).ok_or(DomainError::NotFound)?;
            let redirect_uri = provider.effective_redirect_uri(&message.base_url);
            let begun = oidc::begin(&discovery, provider, &redirect_uri).await.map_err(refused)?;
            let pending =
                serde_json::to_string(&begun.pending).map_err(|error| DomainError::Internal(error.to_string()))?;
            let expires_at = Utc::now() + Duration::minutes(PENDING_MINUTES);
            store
                .put_sign_in_state(&message.tenant, &begun.state, &provider.id, &sealer.seal(&pending), expires_at)
                .await?;
            Ok(UpstreamRedirect { url: begun.url, binding: begun.state })
        })
    }
}

impl Handler<FinishOidcSignIn> for ProvisioningActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: FinishOidcSignIn, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer, users) = (self.store.clone(), self.sealer.clone(), self.users.clone());
        let discovery = self.discovery.clone();
        let (tenant, origin) = (message.tenant.clone(), message.origin.clone());
        let attempt = async move {
            let tenant = &message.tenant;
            let invalid_state = || DomainError::SignInRefused("the sign-in state is invalid or has expired".into());
            let (provider_id, sealed) =
                store.take_sign_in_state(tenant, &message.state).await?.ok_or_else(invalid_state)?;
            let pending: PendingOidc =
                sealer.open(&sealed).and_then(|json| serde_json::from_str(&json).ok()).ok_or_else(invalid_state)?;
            if provider_id != message.provider || pending.provider != message.provider {
                return Err(invalid_state());
            }
            let configuration = load(&store, &sealer, tenant).await?;
            let provider = configuration.oidc_provider(&message.provider).ok_or(DomainError::NotFound)?;
            let redirect_uri = provider.effective_redirect_uri(&message.base_url);
            let identity =
                oidc::finish(&discovery, provider, &redirect_uri, &message.code, &pending).await.map_err(refused)?;
            let rules = ProviderRules {
                auto_create_users: provider.auto_create_users,
                link_existing_by_email: provider.link_existing_by_email,
            };
            let user = provision(&users, &sealer, tenant, &provider.id, rules, identity).await?;
            tracing::info!(tenant = %tenant, user = %user.id, provider = %provider.id, "signed in through OIDC");
            Ok(user)
        };
        Box::pin(crate::metrics::observe(attempt, move |result| {
            crate::metrics::sign_in("oidc", result);
            let user = result.as_ref().ok().map(|user| user.id);
            crate::audit::sign_in(&tenant, "sign-in:OIDC", &origin, user, result);
        }))
    }
}

fn refused(reason: String) -> DomainError {
    DomainError::SignInRefused(reason)
}
