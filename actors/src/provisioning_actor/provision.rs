//! The decision of which account a verified upstream identity (OIDC or SAML) belongs to.

use crate::crypto::Sealer;
use crate::error::{Conflict, DomainError};
use crate::model::{Role, TenantId, User};
use crate::sso::UpstreamIdentity;
use crate::store::Store;

/// Decides the account for a verified upstream identity: an existing link; else an existing
/// user with the same, verified, email (then linked); else a new unprivileged user if the
/// provider auto-creates users; else refused. Disabled users are refused.
pub(super) async fn provision(
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
    let user = User::new(email.clone(), Some(email), Role::Unprivileged, None);
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
