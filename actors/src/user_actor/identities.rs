//! Upstream identities: the one linking rule every sign-in protocol shares (OIDC, SAML; SCIM
//! next), and an administrator's deliberate link and unlink.
//!
//! Which account a verified upstream sign-in belongs to:
//! 1. the account its (issuer, subject) is linked to;
//! 2. else, by a *verified* email, an account that has no password and no linked identity
//!    (provisioned for that person by an administrator or an IdP), linked now;
//! 3. else, only where the provider's `link_existing_by_email` is on, any account with that
//!    verified email, linked now;
//! 4. else, with `auto_create_users`, a new unprivileged account without password, linked;
//! 5. else refused. Never by username, never by an unverified email.

use actix::{Context, Handler, Message, ResponseFuture};
use uuid::Uuid;

use super::UserActor;
use crate::auth::{authorize, require_admin};
use crate::error::{Conflict, DomainError};
use crate::model::{identity_id, IdentityKey, Kind, LinkedIdentity, Principal, Role, TenantId, User};
use crate::store::{EmailLink, Store, StoreError};
use crate::validate;

/// What the sign-in page says when a sign-in may not attach to the account that has its email.
pub const ACCOUNT_EXISTS: &str = "An account with this email already exists; ask an administrator to link it.";

/// A verified upstream sign-in to attach to its account (rules above).
#[derive(Message)]
#[rtype(result = "Result<User, DomainError>")]
pub struct SignInUpstream {
    pub tenant: TenantId,
    pub identity: IdentityKey,
    pub email: Option<String>,
    /// The provider vouches that the person controls `email` (OIDC `email_verified`; a
    /// SAML IdP's signed assertion).
    pub email_verified: bool,
    /// An upstream refresh token, sealed, for the refresher.
    pub sealed_refresh_token: Option<String>,
    pub auto_create_users: bool,
    pub link_existing_by_email: bool,
}

/// The identities linked to a user.
#[derive(Message)]
#[rtype(result = "Result<Vec<LinkedIdentity>, DomainError>")]
pub struct ListUserIdentities {
    pub tenant: TenantId,
    pub by: Principal,
    pub user: Uuid,
}

/// Link an upstream identity to a user deliberately (an administrator vouches for it).
#[derive(Message)]
#[rtype(result = "Result<LinkedIdentity, DomainError>")]
pub struct LinkUserIdentity {
    pub tenant: TenantId,
    pub by: Principal,
    pub user: Uuid,
    pub identity: IdentityKey,
}

/// Remove a link by its public id (`idn_…`).
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct UnlinkUserIdentity {
    pub tenant: TenantId,
    pub by: Principal,
    pub user: Uuid,
    pub identity_id: String,
}

fn refused(reason: &str) -> DomainError {
    DomainError::SignInRefused(reason.to_owned())
}

/// How often a sign-in re-runs the rule after losing a race to a concurrent first sign-in of
/// the same identity (the second run finds the winner's link).
const ATTEMPTS: usize = 3;

async fn sign_in_upstream(store: &Store, message: &SignInUpstream) -> Result<User, DomainError> {
    let tenant = &message.tenant;
    let identity = &message.identity;
    let email = message.email.as_deref().map(str::trim).filter(|email| validate::is_email(email));
    for _ in 0..ATTEMPTS {
        if let Some(uid) = store.find_identity(tenant, &identity.issuer, &identity.subject).await? {
            let user = store.get_user(tenant, uid).await?.ok_or(DomainError::NotFound)?;
            if let Some(sealed) = &message.sealed_refresh_token {
                store.store_refresh_token(tenant, uid, identity, sealed.clone()).await?;
            }
            return Ok(user);
        }
        // An account the IdP provisioned (SCIM) under the id it now signs in with.
        match store.link_by_external_id(tenant, identity, message.sealed_refresh_token.clone()).await {
            Ok(uid) => {
                tracing::info!(target: "audit", tenant = %tenant, user = %uid, issuer = %identity.issuer,
                    provider = %identity.provider, "linked identity by external id");
                return store.get_user(tenant, uid).await?.ok_or(DomainError::NotFound);
            }
            // Claimed accounts fall through to the email rule, which decides.
            Err(StoreError::NotFound | StoreError::Conflict(Conflict::AccountExists)) => {}
            Err(StoreError::Conflict(Conflict::IdentityLinked)) => continue,
            Err(error) => return Err(error.into()),
        }
        if let Some(email) = email {
            if message.email_verified {
                let rule =
                    if message.link_existing_by_email { EmailLink::AnyAccount } else { EmailLink::UnclaimedOnly };
                match store.link_by_email(tenant, email, identity, rule, message.sealed_refresh_token.clone()).await {
                    Ok(uid) => {
                        tracing::info!(target: "audit", tenant = %tenant, user = %uid, issuer = %identity.issuer,
                            provider = %identity.provider, "linked identity by verified email");
                        return store.get_user(tenant, uid).await?.ok_or(DomainError::NotFound);
                    }
                    Err(StoreError::NotFound) => {}
                    Err(StoreError::Conflict(Conflict::IdentityLinked)) => continue,
                    Err(StoreError::Conflict(Conflict::AccountExists)) => return Err(refused(ACCOUNT_EXISTS)),
                    Err(error) => return Err(error.into()),
                }
            } else if store.find_user_by_email_only(tenant, email).await?.is_some() {
                return Err(refused(
                    "An account with this email already exists, and the provider did not verify the email; \
                     ask an administrator to link it.",
                ));
            }
        }
        if !message.auto_create_users {
            return Err(refused("user not found and auto_create_users disabled"));
        }
        let email = email.ok_or_else(|| refused("the provider did not supply a usable email address"))?;
        let user = User::new(email.to_owned(), Some(email.to_owned()), Role::Unprivileged, None);
        match store.create_linked_user(tenant, &user, identity, message.sealed_refresh_token.clone()).await {
            Ok(()) => {
                tracing::info!(target: "audit", tenant = %tenant, user = %user.id, provider = %identity.provider,
                    "created user on first sign-in");
                return Ok(user);
            }
            Err(StoreError::Conflict(Conflict::IdentityLinked)) => continue,
            Err(StoreError::Conflict(Conflict::EmailTaken | Conflict::UsernameTaken)) => {
                return Err(refused(ACCOUNT_EXISTS));
            }
            Err(error) => return Err(error.into()),
        }
    }
    Err(DomainError::Busy)
}

impl Handler<SignInUpstream> for UserActor {
    type Result = ResponseFuture<Result<User, DomainError>>;

    fn handle(&mut self, message: SignInUpstream, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let user = sign_in_upstream(&store, &message).await?;
            if user.is_disabled() {
                return Err(refused("this account is disabled"));
            }
            Ok(user)
        })
    }
}

/// The user a link operation addresses, after the permission check; changing how an admin
/// signs in needs the admin role, as changing its password does.
async fn target(
    store: &Store,
    tenant: &TenantId,
    by: &Principal,
    user: Uuid,
    action: &str,
) -> Result<User, DomainError> {
    let srn = Kind::User.srn(tenant, user);
    authorize(by, action, &srn)?;
    let target = store.get_user(tenant, user).await?.ok_or(DomainError::NotFound)?;
    if target.role == Role::Admin && action != "users:ListUserIdentities" {
        require_admin(by, action, &srn)?;
    }
    Ok(target)
}

impl Handler<ListUserIdentities> for UserActor {
    type Result = ResponseFuture<Result<Vec<LinkedIdentity>, DomainError>>;

    fn handle(&mut self, message: ListUserIdentities, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let user = target(&store, &message.tenant, &message.by, message.user, "users:ListUserIdentities").await?;
            Ok(store.list_identities(&message.tenant, user.id).await?)
        })
    }
}

impl Handler<LinkUserIdentity> for UserActor {
    type Result = ResponseFuture<Result<LinkedIdentity, DomainError>>;

    fn handle(&mut self, message: LinkUserIdentity, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(
            &message.by,
            "users:LinkUserIdentity",
            Kind::User.srn(&message.tenant, message.user),
        );
        let attempt = async move {
            let tenant = &message.tenant;
            let user = target(&store, tenant, &message.by, message.user, "users:LinkUserIdentity").await?;
            store.link_to_user(tenant, user.id, &message.identity).await?;
            let id = identity_id(&message.identity.issuer, &message.identity.subject);
            tracing::info!(target: "audit", tenant = %tenant, user = %user.id, by = %message.by.user.id,
                provider = %message.identity.provider, issuer = %message.identity.issuer,
                identity = %id, "linked identity");
            let links = store.list_identities(tenant, user.id).await?;
            links.into_iter().find(|link| link.public_id() == id).ok_or(DomainError::NotFound)
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}

impl Handler<UnlinkUserIdentity> for UserActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: UnlinkUserIdentity, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        let audit = crate::audit::AuditEvent::by(
            &message.by,
            "users:UnlinkUserIdentity",
            Kind::User.srn(&message.tenant, message.user),
        );
        let attempt = async move {
            let tenant = &message.tenant;
            let user = target(&store, tenant, &message.by, message.user, "users:UnlinkUserIdentity").await?;
            let links = store.list_identities(tenant, user.id).await?;
            let link =
                links.iter().find(|link| link.public_id() == message.identity_id).ok_or(DomainError::NotFound)?;
            store.unlink_identity(tenant, user.id, &link.issuer, &link.subject).await?;
            tracing::info!(target: "audit", tenant = %tenant, user = %user.id, by = %message.by.user.id,
                identity = %message.identity_id, issuer = %link.issuer, "unlinked identity");
            Ok(())
        };
        Box::pin(crate::audit::record(audit, attempt))
    }
}
