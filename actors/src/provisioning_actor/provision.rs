//! Hands a verified upstream identity (OIDC or SAML) to the UserActor, which applies the one
//! linking rule (see `user_actor::identities`) and does every write.

use actix::Addr;

use crate::crypto::Sealer;
use crate::error::DomainError;
use crate::model::{IdentityKey, TenantId, User};
use crate::sso::UpstreamIdentity;
use crate::user_actor::{SignInUpstream, UserActor};

/// How one provider treats first sign-ins.
#[derive(Debug, Clone, Copy)]
pub(super) struct ProviderRules {
    pub auto_create_users: bool,
    pub link_existing_by_email: bool,
}

/// The account a verified upstream identity signs in to (created or linked as the rules allow).
pub(super) async fn provision(
    users: &Addr<UserActor>,
    sealer: &Sealer,
    tenant: &TenantId,
    provider: &str,
    rules: ProviderRules,
    identity: UpstreamIdentity,
) -> Result<User, DomainError> {
    let message = SignInUpstream {
        tenant: tenant.clone(),
        identity: IdentityKey { provider: provider.to_owned(), issuer: identity.issuer, subject: identity.subject },
        email: identity.email,
        email_verified: identity.email_verified,
        sealed_refresh_token: identity.refresh_token.as_deref().map(|token| sealer.seal(token)),
        auto_create_users: rules.auto_create_users,
        link_existing_by_email: rules.link_existing_by_email,
    };
    users.send(message).await.map_err(|error| DomainError::Unavailable(format!("user actor: {error}")))?
}
