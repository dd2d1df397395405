//! SessionActor: password sign-in, token issue and verification, sessions and API tokens.

use actix::{Actor, Addr, AsyncContext, Context, Handler, Message, ResponseFuture};
use chrono::{Duration, Utc};
use uuid::Uuid;

use crate::error::{AuthFailure, DomainError};
use crate::hasher::{PasswordHasher, VerifyPassword, MAX_PASSWORD_BYTES};
use crate::model::{ApiToken, CredentialKind, Principal, Session, TenantId, User};
use crate::store::{Store, UserPatch};
use crate::tokens::TokenKeys;
use crate::user_actor::{resolve, UserRef};

/// Bounds on Firezone-style API tokens.
pub const MAX_TOKENS_PER_USER: usize = 25;
/// Allowed API token lifetimes, in days.
pub const TOKEN_DAYS: std::ops::RangeInclusive<i64> = 1..=90;

/// Owns sessions and tokens.
pub struct SessionActor {
    store: Store,
    hasher: Addr<PasswordHasher>,
    keys: TokenKeys,
    session_lifetime: Duration,
}

impl SessionActor {
    /// An actor issuing tokens signed with `keys` and sessions lasting `session_lifetime`.
    pub fn new(store: Store, hasher: Addr<PasswordHasher>, keys: TokenKeys, session_lifetime: Duration) -> Self {
        SessionActor { store, hasher, keys, session_lifetime }
    }
}

impl Actor for SessionActor {
    type Context = Context<Self>;

    /// Expired sessions and tokens are already refused; this only keeps the tables small.
    fn started(&mut self, ctx: &mut Context<Self>) {
        ctx.run_interval(std::time::Duration::from_secs(3600), |actor, _| {
            let store = actor.store.clone();
            actix::spawn(async move {
                match store.purge_expired(Utc::now()).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "purged expired sessions and tokens"),
                    Err(error) => tracing::warn!(%error, "purging expired sessions failed"),
                }
            });
        });
    }
}

/// A successful sign-in: the user and a bearer token for its new session.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub user: User,
    pub session: Session,
    pub token: String,
}

/// Sign in with username (or email) and password.
#[derive(Message)]
#[rtype(result = "Result<SignedIn, DomainError>")]
pub struct PasswordLogin {
    pub tenant: TenantId,
    pub username: String,
    pub password: String,
}

/// Resolve a bearer token into the caller, checking every backing record now.
#[derive(Message)]
#[rtype(result = "Result<Principal, AuthFailure>")]
pub struct Authenticate {
    pub tenant: TenantId,
    pub token: String,
}

/// Issue a Firezone-style API token for a user (an operator command, so no caller).
#[derive(Message)]
#[rtype(result = "Result<IssuedApiToken, DomainError>")]
pub struct CreateApiToken {
    pub tenant: TenantId,
    pub email: String,
    pub days: i64,
}

/// A newly issued API token: the bearer value is shown once and not stored.
#[derive(Debug, Clone)]
pub struct IssuedApiToken {
    pub token: String,
    pub record: ApiToken,
}

/// List sessions: the caller's own, or (admins only) another user's or everyone's.
#[derive(Message)]
#[rtype(result = "Result<Vec<Session>, DomainError>")]
pub struct ListSessions {
    pub tenant: TenantId,
    pub by: Principal,
    /// `None`: the caller's own. Admins may name any user, or all with `Some(None)`.
    pub user: Option<Option<Uuid>>,
}

/// Revoke a session at once: the owner or an admin may.
#[derive(Message)]
#[rtype(result = "Result<(), DomainError>")]
pub struct RevokeSession {
    pub tenant: TenantId,
    pub by: Principal,
    pub session: Uuid,
}

impl Handler<PasswordLogin> for SessionActor {
    type Result = ResponseFuture<Result<SignedIn, DomainError>>;

    fn handle(&mut self, message: PasswordLogin, _: &mut Context<Self>) -> Self::Result {
        let (store, hasher, keys, lifetime) =
            (self.store.clone(), self.hasher.clone(), self.keys.clone(), self.session_lifetime);
        Box::pin(async move {
            let invalid = DomainError::Unauthenticated(AuthFailure::InvalidCredentials);
            if message.password.len() > MAX_PASSWORD_BYTES {
                return Err(invalid);
            }
            let tenant = &message.tenant;
            let username = message.username.trim();
            let user = match store.find_user_by_username(tenant, username).await? {
                Some(user) => Some(user),
                None => store.find_user_by_email(tenant, username).await?,
            };
            let hash = user.as_ref().and_then(|user| user.password_hash.clone());
            let verified = hasher
                .send(VerifyPassword { password: message.password, hash })
                .await
                .map_err(|error| DomainError::Internal(format!("hasher unavailable: {error}")))?;
            let user = match user {
                Some(user) if verified => user,
                _ => {
                    tracing::info!(tenant = %tenant, "password sign-in refused");
                    return Err(invalid);
                }
            };
            if user.is_disabled() {
                return Err(DomainError::Unauthenticated(AuthFailure::Disabled));
            }
            let signed_in = open_session(&store, &keys, tenant, user, "email", lifetime).await?;
            tracing::info!(tenant = %tenant, user = %signed_in.user.id, session = %signed_in.session.id, "signed in with password");
            Ok(signed_in)
        })
    }
}

/// Records a session for `user`, stamps its last sign-in and issues the session's token.
pub(crate) async fn open_session(
    store: &Store,
    keys: &TokenKeys,
    tenant: &TenantId,
    user: User,
    method: &str,
    lifetime: Duration,
) -> Result<SignedIn, DomainError> {
    let now = Utc::now();
    let session = Session {
        id: Uuid::new_v4(),
        user_id: user.id,
        method: method.to_owned(),
        created_at: now,
        expires_at: now + lifetime,
    };
    store.create_session(tenant, &session).await?;
    let patch = UserPatch { uid: user.id, last_signed_in: Some((now, method.to_owned())), ..UserPatch::default() };
    let user = store.update_user(tenant, user.id, &patch, crate::store::AdminGuard::None).await?;
    let token = keys
        .issue(tenant, user.id, CredentialKind::Session(session.id), session.expires_at)
        .map_err(DomainError::Internal)?;
    Ok(SignedIn { user, session, token })
}

impl Handler<Authenticate> for SessionActor {
    type Result = ResponseFuture<Result<Principal, AuthFailure>>;

    fn handle(&mut self, message: Authenticate, _: &mut Context<Self>) -> Self::Result {
        let (store, keys) = (self.store.clone(), self.keys.clone());
        Box::pin(async move {
            let subject = keys.verify(&message.tenant, &message.token).ok_or(AuthFailure::InvalidToken)?;
            let tenant = &message.tenant;
            let lookup_failed = |error| {
                tracing::error!(%error, "token lookup failed");
                AuthFailure::NoResource
            };
            let (owner, expires_at) = match subject.credential {
                CredentialKind::Session(id) => {
                    let session = store.get_session(tenant, id).await.map_err(lookup_failed)?;
                    session.map(|s| (s.user_id, s.expires_at)).ok_or(AuthFailure::NoResource)?
                }
                CredentialKind::ApiToken(id) => {
                    let token = store.get_api_token(tenant, id).await.map_err(lookup_failed)?;
                    token.map(|t| (t.user_id, t.expires_at)).ok_or(AuthFailure::NoResource)?
                }
            };
            if owner != subject.user_id {
                return Err(AuthFailure::InvalidToken);
            }
            if expires_at <= Utc::now() {
                return Err(AuthFailure::NoResource);
            }
            let user = store.get_user(tenant, owner).await.map_err(lookup_failed)?.ok_or(AuthFailure::NoResource)?;
            if user.is_disabled() {
                return Err(AuthFailure::Disabled);
            }
            Ok(Principal { tenant: tenant.clone(), user, credential: subject.credential })
        })
    }
}

impl Handler<CreateApiToken> for SessionActor {
    type Result = ResponseFuture<Result<IssuedApiToken, DomainError>>;

    fn handle(&mut self, message: CreateApiToken, _: &mut Context<Self>) -> Self::Result {
        let (store, keys) = (self.store.clone(), self.keys.clone());
        Box::pin(async move {
            if !TOKEN_DAYS.contains(&message.days) {
                return Err(DomainError::field("expires_in", "must be between 1 and 90 days"));
            }
            let user = resolve(&store, &message.tenant, &UserRef::Email(message.email)).await?;
            let now = Utc::now();
            let record = ApiToken {
                id: Uuid::new_v4(),
                user_id: user.id,
                created_at: now,
                expires_at: now + Duration::days(message.days),
            };
            store.create_api_token(&message.tenant, &record, MAX_TOKENS_PER_USER).await?;
            let token = keys
                .issue(&message.tenant, user.id, CredentialKind::ApiToken(record.id), record.expires_at)
                .map_err(DomainError::Internal)?;
            tracing::info!(tenant = %message.tenant, user = %user.id, token = %record.id, "issued API token");
            Ok(IssuedApiToken { token, record })
        })
    }
}

impl Handler<ListSessions> for SessionActor {
    type Result = ResponseFuture<Result<Vec<Session>, DomainError>>;

    fn handle(&mut self, message: ListSessions, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let user = match message.user {
                None => Some(message.by.user.id),
                Some(user) if user == Some(message.by.user.id) => user,
                Some(user) => {
                    crate::auth::require_admin(&message.by)?;
                    user
                }
            };
            Ok(store.list_sessions(&message.tenant, user).await?)
        })
    }
}

impl Handler<RevokeSession> for SessionActor {
    type Result = ResponseFuture<Result<(), DomainError>>;

    fn handle(&mut self, message: RevokeSession, _: &mut Context<Self>) -> Self::Result {
        let store = self.store.clone();
        Box::pin(async move {
            let session = store.get_session(&message.tenant, message.session).await?.ok_or(DomainError::NotFound)?;
            if session.user_id != message.by.user.id && !message.by.is_admin() {
                // Another user's session is reported as absent, so ids cannot be probed.
                return Err(DomainError::NotFound);
            }
            store.delete_session(&message.tenant, session.id).await?;
            tracing::info!(tenant = %message.tenant, session = %session.id, by = %message.by.user.id, "revoked session");
            Ok(())
        })
    }
}
