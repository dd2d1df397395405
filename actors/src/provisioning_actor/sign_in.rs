//! Browser sign-in through an upstream provider: start (redirect), finish (verify), and the
//! decision of which account the verified identity belongs to.

use actix::{Context, Handler, Message, ResponseFuture};
use chrono::{Duration, Utc};
use uuid::Uuid;

use super::configuration::load;
use super::ProvisioningActor;
use crate::crypto::Sealer;
use crate::error::{Conflict, DomainError};
use crate::model::{Role, TenantId, User};
use crate::sso::oidc::{self, PendingOidc};
use crate::sso::UpstreamIdentity;
use crate::store::Store;

/// How long a started sign-in may take.
const PENDING_MINUTES: i64 = 10;

/// Begin an OIDC sign-in: returns the provider URL to redirect the browser to.
#[derive(Message)]
#[rtype(result = "Result<String, DomainError>")]
pub struct StartOidcSignIn {
    pub tenant: TenantId,
    pub provider: String,
    /// Base of the tenant's public URLs, for the default redirect URI.
    pub base_url: String,
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
}

impl Handler<StartOidcSignIn> for ProvisioningActor {
    type Result = ResponseFuture<Result<String, DomainError>>;

    fn handle(&mut self, message: StartOidcSignIn, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer) = (self.store.clone(), self.sealer.clone());
        Box::pin(async move {
            let configuration = load(&store, &sealer, &message.tenant).await?;
            let provider = configuration.oidc_provider(&message.provider).ok_or(DomainError::NotFound)?;
            let redirect_uri = provider.effective_redirect_uri(&message.base_url);
            let begun = oidc::begin(provider, &redirect_uri).await.map_err(refused)?;
            let pending =
                serde_json::to_string(&begun.pending).map_err(|error| DomainError::Internal(error.to_string()))?;
            let expires_at = Utc::now() + Duration::minutes(PENDING_MINUTES);
            store
                .put_sign_in_state(&message.tenant, &begun.state, &provider.id, &sealer.seal(&pending), expires_at)
                .await?;
            Ok(begun.url)
        })
    }
}

impl Handler<FinishOidcSignIn> for ProvisioningActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: FinishOidcSignIn, _: &mut Context<Self>) -> Self::Result {
        let (store, sealer) = (self.store.clone(), self.sealer.clone());
        Box::pin(async move {
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
            let identity = oidc::finish(provider, &redirect_uri, &message.code, &pending).await.map_err(refused)?;
            let user = provision(&store, &sealer, tenant, &provider.id, provider.auto_create_users, identity).await?;
            tracing::info!(tenant = %tenant, user = %user.id, provider = %provider.id, "signed in through OIDC");
            Ok(user)
        })
    }
}

fn refused(reason: String) -> DomainError {
    DomainError::SignInRefused(reason)
}

/// Decides the account for a verified upstream identity: an existing link; else an existing
/// user with the same, verified, email (then linked); else a new unprivileged user if the
/// provider auto-creates users; else refused. Disabled users are refused.
async fn provision(
    store: &Store,
    sealer: &Sealer,
    tenant: &TenantId,
    provider: &str,
    auto_create_users: bool,
    identity: UpstreamIdentity,
) -> Result<User, DomainError> {
    let sealed_refresh = identity.refresh_token.as_deref().map(|token| sealer.seal(token));
    let linked = match store.find_identity(tenant, &identity.issuer, &identity.subject).await? {
        Some(id) => store.get_user(tenant, id).await?,
        None => None,
    };
    let user = match linked {
        Some(user) => user,
        None => {
            let verified_email = identity.email.as_deref().filter(|_| identity.email_verified);
            let existing = match verified_email {
                Some(email) => store.find_user_by_email(tenant, email).await?,
                None => None,
            };
            match existing {
                Some(user) => user,
                None if auto_create_users => create(store, tenant, &identity).await?,
                None => {
                    return Err(DomainError::SignInRefused("user not found and auto_create_users disabled".into()));
                }
            }
        }
    };
    if user.is_disabled() {
        return Err(DomainError::SignInRefused("this account is disabled".into()));
    }
    store.link_identity(tenant, user.id, provider, &identity.issuer, &identity.subject, sealed_refresh).await?;
    Ok(user)
}

/// A new unprivileged user, without password, named by the identity's email.
async fn create(store: &Store, tenant: &TenantId, identity: &UpstreamIdentity) -> Result<User, DomainError> {
    let email = identity
        .email
        .clone()
        .filter(|email| crate::validate::email(email).is_empty())
        .ok_or_else(|| DomainError::SignInRefused("the provider did not supply a usable email address".into()))?;
    let now = Utc::now();
    let user = User {
        id: Uuid::new_v4(),
        username: email.clone(),
        email: Some(email),
        role: Role::Unprivileged,
        password_hash: None,
        disabled_at: None,
        last_signed_in_at: None,
        last_signed_in_method: None,
        policy_ids: Vec::new(),
        created_at: now,
        updated_at: now,
    };
    match store.create_user(tenant, &user).await {
        Ok(()) => Ok(user),
        // An account with that (unverified) email exists: never link to it.
        Err(crate::store::StoreError::Conflict(Conflict::EmailTaken | Conflict::UsernameTaken)) => {
            Err(DomainError::SignInRefused(
                "an account with this email exists, and the provider did not verify the email".into(),
            ))
        }
        Err(error) => Err(error.into()),
    }
}
